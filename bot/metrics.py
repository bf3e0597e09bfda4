"""Prometheus metrics, one registry per app (no process-wide globals), so tests can build
many apps in one process and each ``/metrics`` shows only its own app."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
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
        """Report the outbox backlog at scrape time, read from the database."""
        self.registry.register(_PendingJobsCollector(count_pending))


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
