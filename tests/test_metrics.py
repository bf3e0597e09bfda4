"""Metrics: apps built in one process count apart; processes that count into one directory
(``oor-bot serve --workers N``) are summed by whichever of them is scraped."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from bot.metrics import Metrics, count_in_files


def _webhooks(text: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "oor_webhook_events_total" and sample.labels["outcome"] == "opened"
    )


def _in_child(work: Callable[[], object]) -> object:
    """``work()``'s result, run in a forked process (which may switch prometheus_client to
    counting in files without touching this test process)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.close(read)
            os.write(write, json.dumps(work()).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    with os.fdopen(read) as out:
        result = json.loads(out.read() or "null")
    _, wait_status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(wait_status) == 0
    return result


def test_two_apps_in_one_process_count_apart() -> None:
    first, second = Metrics(), Metrics()
    first.webhook_events.labels(source="native", outcome="opened").inc(3)
    second.webhook_events.labels(source="native", outcome="opened").inc()
    assert _webhooks(generate_latest(first.exposition).decode()) == 3
    assert _webhooks(generate_latest(second.exposition).decode()) == 1


def test_processes_counting_in_one_directory_are_summed_by_any_of_them(tmp_path: Path) -> None:
    def count(n: int) -> Callable[[], float]:
        def work() -> float:
            count_in_files(tmp_path)
            metrics = Metrics()
            metrics.webhook_events.labels(source="native", outcome="opened").inc(n)
            return _webhooks(generate_latest(metrics.exposition).decode())

        return work

    assert _in_child(count(2)) == 2
    # The second process sees the first one's count beside its own, after it exited too.
    assert _in_child(count(5)) == 7
    assert _in_child(count(0)) == 7
    # This process never switched: its apps still count on their own.
    assert _webhooks(generate_latest(Metrics().exposition).decode()) == 0
