"""Prometheus metrics, one registry per app (no process-wide globals), so tests can build
many apps in one process and each ``/metrics`` shows only its own app.

Under ``oor-bot serve --workers N`` each server process counts into its own files in a
directory the supervisor made for this start (prometheus_client's multiprocess mode), and
``/metrics`` — whichever process answers it — reads and sums the files of all of them, so
a scrape sees the whole server rather than one process's share.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

# prometheus_client's own switch: read when its values are made, and by the collector.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def count_in_files(directory: Path) -> None:
    """Make this process's metrics count into ``directory`` (shared with its siblings).

    Called in a freshly forked server process before it builds its app. prometheus_client
    picks where values live once, from the environment at import; the supervisor's parent
    imported it long before the directory existed, so the choice is made again here, for
    this process only (it builds one app, so nothing else is affected).
    """
    os.environ[MULTIPROC_ENV] = str(directory)
    values.ValueClass = values.MultiProcessValue()


def forget_process(directory: Path, pid: int) -> None:
    """A server process exited: its live gauges stop counting (its counters stay summed,
    as totals must not go backwards when a process is replaced)."""
    mark_process_dead(pid, str(directory))


def _shared_directory() -> Path | None:
    """The directory this process counts into, if it shares its metrics with siblings."""
    if not getattr(values.ValueClass, "_multiprocess", False):
        return None
    return Path(os.environ[MULTIPROC_ENV])


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        shared = _shared_directory()
        # What ``/metrics`` serves: this app's registry, or with several processes the
        # sum of every process's files (never both, or each series would show twice).
        self.exposition = self.registry
        if shared is not None:
            self.exposition = CollectorRegistry()
            MultiProcessCollector(self.exposition, path=str(shared))
        self.webhook_events = Counter(
            "oor_webhook_events",
            "Webhook deliveries by source and outcome",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.http_request_seconds = Histogram(
            "oor_http_request_duration_seconds",
            "HTTP request duration by route",
            ["route", "method", "status"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.slack_calls = Counter(
            "oor_slack_api_calls",
            "Slack Web API calls by method and result (ok, an error code, http_429, ...)",
            ["method", "status"],
            registry=self.registry,
        )
        self.jobs_finished = Counter(
            "oor_outbox_jobs_finished",
            "Outbox jobs by kind and how the attempt ended",
            ["kind", "result"],
            registry=self.registry,
        )

    def watch_pending_jobs(self, count_pending: Callable[[], dict[str, int]]) -> None:
        """Report the outbox backlog at scrape time, read from the database (the whole
        server's backlog, whichever process reads it: nothing to sum)."""
        self.exposition.register(_PendingJobsCollector(count_pending))


class _PendingJobsCollector(Collector):
    def __init__(self, count_pending: Callable[[], dict[str, int]]) -> None:
        self._count_pending = count_pending

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "oor_outbox_pending_jobs", "Slack side effects waiting to run", labels=["kind"]
        )
        try:
            for kind, n in self._count_pending().items():
                gauge.add_metric([kind], n)
        except Exception:  # a scrape must not fail because the database is down
            pass
        yield gauge

    def describe(self) -> list[GaugeMetricFamily]:
        return []
