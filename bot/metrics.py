"""What `GET /metrics` says, in Prometheus' text format (`prometheus_client`).

One registry per runtime (no module-level collectors), so tests and several apps in one process
never share counters. Queue depths are read from the database when scraped: every replica reports
the same shared inbox and outbox, and an operator alerts on the age of the oldest pending row the
way they alert on a queue's lag.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from storage.db import SessionFactory, read_only
from storage.inbox import InboxRepository, QueueDepth, outbox_depth

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Slack wants its 200 within 3 s; the buckets resolve the milliseconds an ack should take.
ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 3.0, 5.0)


class DeskMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events_acknowledged = Counter(
            "supportbot_events_acknowledged",
            "Slack events stored in the inbox and acknowledged (not counting their retries)",
            registry=self.registry,
        )
        self.events_refused = Counter(
            "supportbot_events_refused",
            "Requests answered without processing: not JSON (400) or unusable (parked, 200)",
            registry=self.registry,
        )
        self.events_processed = Counter(
            "supportbot_events_processed",
            "Inbox rows processed, by outcome: done, retry (failed, runs again), failed (parked)",
            ["outcome"],
            registry=self.registry,
        )
        self.slack_calls = Counter(
            "supportbot_slack_api_calls",
            "Slack Web API calls by method and result (ok, or Slack's error code)",
            ["method", "result"],
            registry=self.registry,
        )
        self.ack_seconds = Histogram(
            "supportbot_ack_seconds",
            "Time from a Slack request's arrival to its answer, for events and interactions",
            ["kind"],
            buckets=ACK_BUCKETS,
            registry=self.registry,
        )
        self.processing_seconds = Histogram(
            "supportbot_event_processing_seconds",
            "Time a worker spent processing one inbox row",
            registry=self.registry,
        )
        self.event_lag_seconds = Histogram(
            "supportbot_event_lag_seconds",
            "Time from an event's ack to the end of its processing",
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900),
            registry=self.registry,
        )

    def watch_queues(self, session_factory: SessionFactory, now: Callable[[], datetime]) -> None:
        """Report the inbox's and the outbox's depth, read from the database at each scrape."""
        self.registry.register(_QueueCollector(session_factory, now))

    def count_slack_call(self, method: str, result: str) -> None:
        self.slack_calls.labels(method=method, result=result[:64]).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _QueueCollector(Collector):
    def __init__(self, session_factory: SessionFactory, now: Callable[[], datetime]) -> None:
        self.session_factory = session_factory
        self.now = now

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            with read_only(self.session_factory) as session:
                inbox, outbox = InboxRepository(session).depth(), outbox_depth(session)
        except Exception:  # the database is away: /healthz says so; the counters still answer
            return
        pending = GaugeMetricFamily(
            "supportbot_queue_pending", "Rows waiting to be processed or sent", labels=["queue"]
        )
        failed = GaugeMetricFamily(
            "supportbot_queue_failed", "Rows parked as failed", labels=["queue"]
        )
        age = GaugeMetricFamily(
            "supportbot_queue_oldest_pending_age_seconds",
            "Age of the oldest row still waiting (0 when none is)",
            labels=["queue"],
        )
        for name, depth in (("inbox", inbox), ("outbox", outbox)):
            pending.add_metric([name], depth.pending)
            failed.add_metric([name], depth.failed)
            age.add_metric([name], self._age(depth))
        yield pending
        yield failed
        yield age

    def _age(self, depth: QueueDepth) -> float:
        if depth.oldest_pending_at is None:
            return 0.0
        return max((self.now() - depth.oldest_pending_at).total_seconds(), 0.0)
