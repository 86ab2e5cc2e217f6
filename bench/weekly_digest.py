"""Benchmark: the weekly digest over 1,000,000 tickets computes in seconds.

    python bench/weekly_digest.py [--backend sqlite|postgresql|both] [--tickets 1000000]
                                  [--runs 7] [--reseed]

Seeds, once per backend, a desk's two years of history (`--tickets`, ~99% resolved or closed, a
small active backlog, their events, tags, escalations and CSAT surveys) into the product's own
migrated schema, and the same history with 100x fewer tickets (the baseline, from the same
generator). Then times, on both, the managers' figures as the desk computes them:
`build_weekly_digest` for a week in the middle of the data (the requirement) and for the latest
week, `/support stats week` (`build_stats`) and the CSAT digest, `--runs` times each after a
warm-up, and prints the medians and their ratio (large / baseline). Then where the digest's time
goes (each `ReportRepository` call, timed), the plans of its heaviest queries (`EXPLAIN QUERY
PLAN` on SQLite, `EXPLAIN (ANALYZE, BUFFERS)` on PostgreSQL) with the reads that grow with the
table rather than the period flagged (full scans, open-ended ranges, all-time value lookups), and
the two charts' rendering time (independent of the table's size).

Seeded databases are kept and reused while they hold the seed (a `bench_seed` marker row):
SQLite files in `<tmp>/supportbot-bench-weekly-digest/` (`--sqlite-dir`), PostgreSQL schemas
`bench_weekly_digest_<tickets>` in the database of `--postgres-url` (or
`SUPPORTBOT_BENCH_POSTGRES_URL`). `--reseed` drops and builds them again.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import math
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url

from bot.config import parse_config
from storage.db import SessionFactory, create_db_engine, create_session_factory
from storage.migrate import MIGRATIONS, upgrade_schema
from storage.models import CsatSurvey, Escalation, Ticket, TicketEvent, TicketTag
from storage.reports import ReportRepository
from storage.repositories import SlaRepository
from workflows.clock import ManualClock
from workflows.desk import Desk
from workflows.reports import (
    build_csat_digest,
    build_stats,
    build_weekly_digest,
    week_ending,
)

GENERATOR = "weekly-digest-2"  # bump when the data changes: seeded databases are rebuilt
TZ_NAME = "America/New_York"
# The data ends on a Monday at midnight in New York: its last full week is the latest digest's.
END = datetime(2026, 11, 16, 5, 0, tzinfo=UTC)
WEEKS = 104
START = END - timedelta(weeks=WEEKS)
MIDDLE_WEEK_END = date(2025, 11, 17)  # a Monday, 52 weeks before END: the middle of the data
LATEST_WEEK_END = date(2026, 11, 16)
CHUNK = 20_000  # tickets per batch of inserts
SCHEMA_PREFIX = "bench_weekly_digest"
BIG_TABLES = ("tickets", "ticket_events", "csat_surveys", "ticket_tags", "escalations")

AGENTS = [f"U0AGENT{n:02d}" for n in range(1, 26)]
CONFIG: dict[str, Any] = {
    "timezone": TZ_NAME,
    "agents": AGENTS,
    "intake": [
        {"channel": "C0HELP", "queue": "general"},
        {"channel": "C0BILLING", "queue": "billing"},
    ],
    "triage_channel": "C0TRIAGE",
    "customer_channels": [{"channel": "C0ACME", "customer": "Acme Corp", "tier": "enterprise"}],
    "engineering": [{"product": "default", "channel": "C0ENG"}],
    "digests": {"channel": "C0MGRS"},
    "default_priority": "medium",
    "business_hours": {
        "days": ["mon", "tue", "wed", "thu", "fri"],
        "start": "09:00",
        "end": "17:00",
    },
    "holidays": ["2025-12-25", "2026-11-26", "2026-12-25"],
    "sla": {
        "urgent": {"first_response": "15m", "resolution": "4h", "around_the_clock": True},
        "high": {"first_response": "1h", "resolution": "8h"},
        "medium": {"first_response": "4h", "resolution": "24h"},
        "low": {"first_response": "8h", "resolution": "72h"},
        "alert_channel": "C0SLA",
    },
}

# --- the generator ---------------------------------------------------------------------------

QUEUES = {
    "general": 40,
    "billing": 18,
    "it": 12,
    "access": 9,
    "integrations": 8,
    "security": 5,
    "hardware": 5,
    "onboarding": 3,
}
PRODUCTS = [
    "Billing", "API", "Dashboard", "Mobile app", "SSO", "Reports", "Exports", "Webhooks",
    "Search", "Notifications", "Payments", "Admin console", "Data warehouse", "CLI", "Sandbox",
]  # fmt: skip
TAGS = [
    "bug", "how-to", "invoice", "login", "sso", "export", "api", "webhook", "performance",
    "outage", "refund", "vat", "permissions", "onboarding", "mobile", "android", "ios", "email",
    "notifications", "search", "dashboard", "csv", "timeout", "502", "rate-limit", "billing",
    "renewal", "contract", "sandbox", "data-loss", "security", "gdpr", "audit", "integration",
    "slack", "jira", "salesforce", "urgent-customer", "vip", "regression",
]  # fmt: skip
TAG_WEIGHTS = [1 / (rank + 1) ** 0.9 for rank in range(len(TAGS))]
TAG_COUNTS = [0, 1, 1, 1, 2, 2, 2, 3, 3, 0, 1, 2, 1, 2, 2, 3, 2, 1, 1, 0]  # mean 1.5
CUSTOMERS = [f"Customer {n:03d}" for n in range(400)]
CUSTOMER_WEIGHTS = [1 / (rank + 1) ** 0.8 for rank in range(len(CUSTOMERS))]
TIERS = ["enterprise", "business", "starter"]
PRIORITIES = {"low": 25, "medium": 50, "high": 20, "urgent": 5}
ISSUE_TYPES = {"technical_issue": 55, "question": 35, "feature_request": 10}
INTAKE = {"message": 60, "reaction": 15, "modal": 15, "mention": 5, "shortcut": 5}
CHANNELS = ["C0HELP", "C0BILLING", "C0ACME", "C0ITHELP", "C0ACCESS"]
RATINGS = {
    "extremely_satisfied": 45,
    "satisfied": 35,
    "unsatisfied": 12,
    "extremely_unsatisfied": 8,
}
COMMENTS = [
    "Quick and clear, thanks!",
    "Took three days to get a first answer.",
    "Solved, but I had to explain the problem twice.",
    "Great help from the team as always.",
    "The workaround is fine for now, please fix the real bug.",
    "Nobody told me it was waiting on me.",
]
DESCRIPTIONS = [
    "Invoice {n} shows the wrong VAT rate for our German entity, can someone check?",
    "Since this morning the export to CSV times out after about a minute ({n} rows).",
    "How do I add a second admin to our workspace? The settings page only lets me add viewers.",
    "Customer says the webhook for order {n} fired twice; we refunded once, please look.",
    "SSO login loops back to the sign-in page for everyone in the EU region.",
    "Can we get the renewal quote for contract {n} before Friday? Procurement is asking.",
    "The API returns 502 on /v2/reports intermittently, roughly one call in twenty.",
    "Please move the Acme sandbox to the new plan, the old one expires at the end of the month.",
]
# Wall-clock medians (seconds) of the time to a first response and from it to the resolution,
# and the SLA targets in wall-clock time (business hours stretch 8 h over 24, more at weekends).
FIRST_MEDIAN = {"urgent": 600, "high": 1800, "medium": 5400, "low": 10800}
RESOLVE_MEDIAN = {"urgent": 3 * 3600, "high": 10 * 3600, "medium": 36 * 3600, "low": 72 * 3600}
FIRST_TARGET = {"urgent": 900, "high": 3 * 3600, "medium": 12 * 3600, "low": 24 * 3600}
RESOLVE_TARGET = {"urgent": 4 * 3600, "high": 24 * 3600, "medium": 72 * 3600, "low": 9 * 86400}
# Business seconds per wall-clock second, roughly (urgent runs around the clock).
BUSINESS = {"urgent": 1.0, "high": 0.3, "medium": 0.3, "low": 0.3}
HOUR_WEIGHT = (
    [0.05] * 7 + [0.3, 0.7] + [1.0] * 3 + [0.8] + [1.0] * 4 + [0.6] + [0.3] * 3 + [0.1] * 3
)
DAY_WEIGHT = [1.0, 1.0, 1.0, 1.0, 0.95, 0.12, 0.1]  # Monday first
RECLOSE = 7 * 86400  # the reopen window: resolved tickets close a week later
END_S = END.timestamp()


def _cumulative(weights: dict[str, int] | list[float]) -> tuple[list[Any], list[float]]:
    items = list(weights) if isinstance(weights, dict) else list(range(len(weights)))
    values = list(weights.values()) if isinstance(weights, dict) else list(weights)
    total, cum = 0.0, []
    for value in values:
        total += value
        cum.append(total)
    return items, cum


@dataclass
class Chunk:
    tickets: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    escalations: list[dict[str, Any]] = field(default_factory=list)
    surveys: list[dict[str, Any]] = field(default_factory=list)


class Generator:
    """A desk's `tickets` over the 104 weeks before END, deterministic for a (seed, tickets).
    The baseline and the large database come from the same distributions; only the count
    differs, so both have the same shape (per week, per status, per day of the week)."""

    def __init__(self, tickets: int, seed: int) -> None:
        self.n = tickets
        self.rng = random.Random(f"{seed}-{tickets}")
        self.event_id = self.escalation_id = self.survey_id = 0
        self.merged: set[int] = set()
        self.pick = {
            name: _cumulative(weights)
            for name, weights in (
                ("priority", PRIORITIES),
                ("queue", QUEUES),
                ("issue", ISSUE_TYPES),
                ("intake", INTAKE),
                ("rating", RATINGS),
                ("tag", TAG_WEIGHTS),
                ("customer", CUSTOMER_WEIGHTS),
            )
        }

    def _choose(self, name: str) -> Any:
        items, cum = self.pick[name]
        return self.rng.choices(items, cum_weights=cum)[0]

    def created_times(self) -> list[float]:
        """Opening times, busier on weekdays in business hours (New York, as UTC-5), sorted:
        ids grow with time as they do in the desk."""
        rng, span, start = self.rng, END_S - START.timestamp(), START.timestamp()
        out: list[float] = []
        while len(out) < self.n:
            t = start + rng.random() * span
            local = t - 5 * 3600
            hour = int(local // 3600) % 24
            weekday = (int(local // 86400) + 3) % 7  # 1970-01-01 was a Thursday
            if rng.random() < HOUR_WEIGHT[hour] * DAY_WEIGHT[weekday]:
                out.append(float(int(t)))
        out.sort()
        return out

    def chunks(self) -> Iterator[Chunk]:
        times = self.created_times()
        chunk = Chunk()
        for index, created in enumerate(times):
            self.ticket(index + 1, created, chunk)
            if len(chunk.tickets) >= CHUNK:
                yield chunk
                chunk = Chunk()
        if chunk.tickets:
            yield chunk

    def _event(
        self, chunk: Chunk, tid: int, kind: str, at: float, actor: str | None, **data: Any
    ) -> None:
        if at >= END_S:
            return
        self.event_id += 1
        chunk.events.append(
            {
                "id": self.event_id,
                "ticket_id": tid,
                "kind": kind,
                "actor": actor,
                "at": _dt(at),
                "data": data,
            }
        )

    def ticket(self, tid: int, created: float, chunk: Chunk) -> None:
        rng = self.rng
        priority = self._choose("priority")
        queue = self._choose("queue")
        channel = CHANNELS[tid % len(CHANNELS)]
        requester = f"U{rng.randrange(20_000):08d}"
        customer = tier = None
        if rng.random() < 0.4:
            customer = CUSTOMERS[self._choose("customer")]
            tier = TIERS[hash(customer) % 3]
        agent = rng.choice(AGENTS)
        source_ts = f"{int(created)}.{tid:06d}"
        row: dict[str, Any] = {
            "id": tid,
            "source_channel": channel,
            "source_ts": source_ts,
            "source_thread_ts": None,
            "intake_source": self._choose("intake"),
            "requester": requester,
            "requester_team": None,
            "requester_is_external": customer is not None and rng.random() < 0.5,
            "reporter": None,
            "queue": queue,
            "customer": customer,
            "status": "open",
            "priority": priority,
            "issue_type": self._choose("issue"),
            "product": rng.choice(PRODUCTS) if rng.random() < 0.7 else None,
            "customer_tier": tier,
            "internal_priority": None,
            "support_type": None,
            "client_priority": None,
            "departments": [],
            "users_affected": None,
            "site_down": None,
            "description": rng.choice(DESCRIPTIONS).format(n=tid),
            "assignee": None,
            "escalated": False,
            "bridged": customer is not None and channel == "C0ACME",
            "merged_into_id": None,
            "csat": None,
            "card_channel": "C0TRIAGE",
            "card_ts": f"{int(created) + 1}.{tid:06d}",
            "permalink": f"https://acme.slack.com/archives/{channel}/p{source_ts.replace('.', '')}",
            "created_at": _dt(created),
            "updated_at": _dt(created),
            "first_response_at": None,
            "claimed_at": None,
            "resolved_at": None,
            "closed_at": None,
            "first_response_due_at": _dt(created + FIRST_TARGET[priority]),
            "resolution_due_at": _dt(created + RESOLVE_TARGET[priority]),
            "sla_state": "ok",
            "sla_started_at": _dt(created),
            "first_response_warn_at": _dt(created + 0.75 * FIRST_TARGET[priority]),
            "resolution_warn_at": _dt(created + 0.75 * RESOLVE_TARGET[priority]),
            "sla_next_at": None,
            "sla_paused_at": None,
            "sla_paused": None,
            "first_response_seconds": None,
            "resolution_seconds": None,
        }
        chunk.tickets.append(row)
        self._event(chunk, tid, "opened", created, requester, via=row["intake_source"])
        self._event(chunk, tid, "card_posted", created + 1, None)
        if rng.random() < 0.25:
            self._event(chunk, tid, "rule_applied", created + 1, None, rule="route")
        for tag in self._tags():
            chunk.tags.append({"ticket_id": tid, "tag": tag})

        # A few tickets are merged into one opened just before (the same request twice).
        if tid > 100 and rng.random() < 0.005:
            into = tid - rng.randint(1, 40)
            while into in self.merged:
                into -= 1
            at = created + rng.uniform(120, 4 * 3600)
            if at < END_S:
                self.merged.add(tid)
                row.update(status="closed", merged_into_id=into, closed_at=_dt(at))
                row["updated_at"] = _dt(at)
                row["sla_state"] = None
                self._event(chunk, tid, "merged_into", at, agent, into=into)
                self._event(chunk, into, "merged", at, agent, merged=tid)
                return

        first = created + rng.lognormvariate(math.log(FIRST_MEDIAN[priority]), 1.0)
        claimed = created + (first - created) * rng.uniform(0.3, 1.0)
        resolved = first + rng.lognormvariate(math.log(RESOLVE_MEDIAN[priority]), 1.2)
        stale = rng.random() < 0.003  # forgotten: still open months later
        escalation = rng.random() < 0.05
        waited = rng.random() < 0.25
        last = created
        if claimed < END_S:
            row.update(assignee=agent, claimed_at=_dt(claimed), status="claimed")
            if rng.random() < 0.08:  # taken by someone else first, then handed over
                other = rng.choice(AGENTS)
                self._event(chunk, tid, "claimed", claimed - 60, other, via="button")
                self._event(chunk, tid, "unclaimed", claimed - 30, other)
            self._event(chunk, tid, "claimed", claimed, agent, via="button")
            last = claimed
        if first < END_S:
            seconds = int((first - created) * BUSINESS[priority])
            row.update(first_response_at=_dt(first), first_response_seconds=seconds)
            self._event(chunk, tid, "first_response", first, agent)
            last = first
        done = not stale and resolved < END_S
        until = resolved if done else END_S
        for _ in range(rng.choice((0, 0, 1, 1, 1, 2, 3))):
            self._event(chunk, tid, "message_added", rng.uniform(created, until), requester)
        if rng.random() < 0.12:
            self._event(chunk, tid, "note_added", rng.uniform(created, until), agent)
        if waited and first < END_S:
            asked = first + (until - first) * rng.uniform(0.1, 0.5)
            answered = asked + (until - asked) * rng.uniform(0.2, 0.8)
            if not done and rng.random() < 0.6:
                answered = END_S  # still waiting on the requester
            self._event(chunk, tid, "waiting_on_customer", asked, agent)
            self._event(chunk, tid, "customer_replied", answered, requester)
            if answered < END_S:
                row["sla_paused"] = timedelta(seconds=int((answered - asked) * 0.3))
            else:
                row.update(status="waiting_on_customer", sla_paused_at=_dt(asked))
            last = max(last, min(answered, END_S - 1))
        if first >= END_S or (first - created) > FIRST_TARGET[priority]:
            self._event(chunk, tid, "sla_breached", created + FIRST_TARGET[priority], None)
        if escalation and first < END_S:
            self._escalate(chunk, row, first, until if done else None)
        if done:
            late = (resolved - created) > RESOLVE_TARGET[priority]
            row.update(
                status="resolved",
                resolved_at=_dt(resolved),
                resolution_seconds=int((resolved - created) * BUSINESS[priority]),
                sla_state="breached" if late else "ok",
            )
            if late:
                self._event(chunk, tid, "sla_breached", created + RESOLVE_TARGET[priority], None)
            self._event(chunk, tid, "resolved", resolved, agent)
            last = resolved
            if resolved + RECLOSE < END_S:
                row.update(status="closed", closed_at=_dt(resolved + RECLOSE))
                self._event(chunk, tid, "closed", resolved + RECLOSE, None, via="schedule")
                last = resolved + RECLOSE
            self._survey(chunk, row, resolved)
        else:  # still active: where its SLA clock stands at END
            due = created + RESOLVE_TARGET[priority]
            warn = created + 0.75 * RESOLVE_TARGET[priority]
            if row["status"] == "waiting_on_customer":
                row["sla_state"] = "paused"
            elif due <= END_S:
                row["sla_state"] = "breached"
            elif warn <= END_S:
                row.update(sla_state="warning", sla_next_at=_dt(due))
            else:
                row["sla_next_at"] = _dt(warn)
        row["updated_at"] = _dt(min(last, END_S - 1))

    def _tags(self) -> set[str]:
        count = self.rng.choice(TAG_COUNTS)
        tags: set[str] = set()
        while len(tags) < count:
            tags.add(TAGS[self._choose("tag")])
        return tags

    def _escalate(self, chunk: Chunk, row: dict[str, Any], first: float, end: float | None) -> None:
        rng, tid = self.rng, row["id"]
        stop = end if end is not None else END_S
        at = first + (stop - first) * rng.uniform(0.05, 0.4)
        if at >= END_S:
            return
        self.escalation_id += 1
        engineering = rng.random() < 0.7
        by = row["assignee"] or rng.choice(AGENTS)
        record: dict[str, Any] = {
            "id": self.escalation_id,
            "ticket_id": tid,
            "kind": "engineering" if engineering else "second_line",
            "target": (row["product"] or "default") if engineering else "tier2",
            "channel": "C0ENG" if engineering else "C0TIER2",
            "card_ts": f"{int(at)}.{self.escalation_id:06d}",
            "room_link": None,
            "state": "open",
            "severity": rng.choice(("sev1", "sev2", "sev2", "sev3", "sev3", "sev3", "sev4")),
            "summary": row["description"][:120],
            "steps": "1. Open the page\n2. Click export\n3. Wait",
            "scale": "one customer",
            "tried": "Cleared the cache, tried another browser.",
            "escalated_by": by,
            "escalated_at": _dt(at),
            "from_queue": None if engineering else row["queue"],
            "from_assignee": None if engineering else row["assignee"],
            "taken_by": None,
            "taken_at": None,
            "first_response_at": None,
            "info_requested_at": None,
            "fixed_by": None,
            "fixed_at": None,
            "closed_by": None,
            "closed_at": None,
            "close_note": None,
        }
        chunk.escalations.append(record)
        row["escalated"] = end is None
        if end is None:
            row["status"] = "escalated"
        self._event(chunk, tid, "escalated", at, by, escalation=self.escalation_id)
        taken = at + (stop - at) * rng.uniform(0.05, 0.3)
        if taken < END_S:
            engineer = f"U0ENG{rng.randrange(12):02d}"
            record.update(
                state="taken", taken_by=engineer, taken_at=_dt(taken), first_response_at=_dt(taken)
            )
            self._event(chunk, tid, "escalation_taken", taken, engineer)
            if end is not None:
                back = taken + (end - taken) * rng.uniform(0.3, 0.9)
                if engineering and rng.random() < 0.75:
                    record.update(state="fixed", fixed_by=engineer, fixed_at=_dt(back))
                    self._event(chunk, tid, "escalation_fixed", back, engineer)
                else:
                    state = "withdrawn" if engineering else "passed_back"
                    record.update(state=state, closed_by=by, closed_at=_dt(back))
                    self._event(
                        chunk, tid, "de_escalated" if engineering else "passed_back", back, by
                    )

    def _survey(self, chunk: Chunk, row: dict[str, Any], resolved: float) -> None:
        rng = self.rng
        if rng.random() >= 0.3:
            return
        asked = resolved + 3
        if asked >= END_S:
            return
        self.survey_id += 1
        survey: dict[str, Any] = {
            "id": self.survey_id,
            "ticket_id": row["id"],
            "requester": row["requester"],
            "queue": row["queue"],
            "customer": row["customer"],
            "assignee": row["assignee"],
            "asked_at": _dt(asked),
            "channel": row["source_channel"],
            "ts": f"{int(asked)}.{self.survey_id:06d}",
            "rating": None,
            "comment": None,
            "answered_at": None,
        }
        if rng.random() < 0.75:
            answered = asked + min(rng.lognormvariate(math.log(3600), 1.5), 7 * 86400)
            if answered < END_S:
                rating = self._choose("rating")
                comment = rng.choice(COMMENTS) if rng.random() < 0.2 else None
                survey.update(rating=rating, comment=comment, answered_at=_dt(answered))
                row["csat"] = rating
        chunk.surveys.append(survey)


def _dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


# --- the databases ---------------------------------------------------------------------------


@dataclass
class Store:
    """One seeded database: `tickets` tickets on one backend."""

    backend: str
    tickets: int
    engine: Engine
    session_factory: SessionFactory
    where: str
    counts: dict[str, int] = field(default_factory=dict)
    seed_s: float | None = None  # seeded in this run, in seconds
    seeded_before: str | None = None  # reused: when and how long it took then

    @property
    def label(self) -> str:
        return f"{self.tickets:,}"


def open_sqlite(folder: Path, tickets: int, *, reseed: bool, seed: int) -> Store:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"digest-{tickets}.db"
    if reseed:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = create_db_engine(f"sqlite:///{path}")
    store = Store("sqlite", tickets, engine, create_session_factory(engine), str(path))
    if not _has_seed(store, seed):
        engine.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        engine = create_db_engine(f"sqlite:///{path}")
        store = Store("sqlite", tickets, engine, create_session_factory(engine), str(path))
        _seed(store, seed)
    else:
        _upgrade(store)
    return store


def open_postgres(url: str, tickets: int, *, reseed: bool, seed: int) -> Store:
    schema = f"{SCHEMA_PREFIX}_{tickets}"
    admin = create_db_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if reseed:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))

    def connect() -> Engine:
        return create_db_engine(url, connect_args={"options": f"-csearch_path={schema}"})

    engine = connect()
    where = f"{make_url(url).render_as_string(hide_password=True)} schema {schema}"
    store = Store("postgresql", tickets, engine, create_session_factory(engine), where)
    if not _has_seed(store, seed):
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = connect()
        store = Store("postgresql", tickets, engine, create_session_factory(engine), where)
        _seed(store, seed)
    else:
        _upgrade(store)
    admin.dispose()
    return store


def _upgrade(store: Store) -> None:
    """A reused database gets the migrations written since it was seeded (new indexes are built
    over the seeded rows, as a deploy would), then fresh statistics on PostgreSQL."""

    def revision() -> str | None:
        with store.engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()

    before = revision()
    upgrade_schema(store.engine)
    after = revision()
    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE bench_seed SET migrations = :m"), {"m": json.dumps(_migrations())}
        )
    if after != before:
        print(f"  {store.where}: schema upgraded {before} -> {after}", file=sys.stderr)
        store.seeded_before = f"{store.seeded_before}; schema upgraded {before} -> {after}"
        if store.backend == "postgresql":
            with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))


def _marker(seed: int) -> str:
    return f"{GENERATOR} seed={seed} end={END.isoformat()}"


def _migrations() -> dict[str, str]:
    """Each migration file's hash: a migration edited in place (same revision, other indexes)
    makes a seeded database stale, which `upgrade_schema` alone would not notice."""
    folder = MIGRATIONS / "versions"
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        for path in sorted(folder.glob("*.py"))
    }


def _has_seed(store: Store, seed: int) -> bool:
    with store.engine.connect() as conn:
        names = sqlalchemy.inspect(conn).get_table_names()
        if "bench_seed" not in names:
            return False
        found = conn.execute(text("SELECT * FROM bench_seed")).first()
    row = dict(found._mapping) if found is not None else {}
    if row.get("tickets") != store.tickets or row.get("generator") != _marker(seed):
        return False
    if not row.get("migrations"):
        return False  # seeded by an earlier version of this bench: its schema is unknown
    seeded_with, now = json.loads(row["migrations"]), _migrations()
    if changed := sorted(name for name, digest in seeded_with.items() if now.get(name) != digest):
        print(
            f"  {store.where}: {', '.join(changed)} changed since seeding: seeding again",
            file=sys.stderr,
        )
        return False
    store.counts = json.loads(row["counts"])
    store.seeded_before = f"seeded {row['seeded_at']} in {row['seconds']:.0f} s"
    return True


TABLES: list[tuple[str, Any]] = [
    ("tickets", Ticket.__table__),
    ("tags", TicketTag.__table__),
    ("escalations", Escalation.__table__),
    ("surveys", CsatSurvey.__table__),
    ("events", TicketEvent.__table__),
]


def _seed(store: Store, seed: int) -> None:
    """The product's schema (`upgrade_schema`, so its indexes), then the generated rows in
    batches: `executemany` on SQLite, `COPY` on PostgreSQL, each value turned into what the
    column stores by the column's own SQLAlchemy type."""
    print(f"seeding {store.backend}: {store.tickets:,} tickets into {store.where}", file=sys.stderr)
    began = time.perf_counter()
    upgrade_schema(store.engine)
    dialect = store.engine.dialect
    columns = {key: [c.name for c in table.columns] for key, table in TABLES}
    processors = {
        key: [c.type.dialect_impl(dialect).bind_processor(dialect) for c in table.columns]
        for key, table in TABLES
    }
    counts: dict[str, int] = defaultdict(int)
    raw = store.engine.raw_connection()
    try:
        dbapi: Any = raw.driver_connection
        cursor = dbapi.cursor()
        if store.backend == "sqlite":
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA cache_size=-1000000")
        generator = Generator(store.tickets, seed)
        for number, chunk in enumerate(generator.chunks()):
            if store.backend == "sqlite":
                cursor.execute("BEGIN")
            for key, table in TABLES:
                rows = getattr(chunk, key)
                if not rows:
                    continue
                names, procs = columns[key], processors[key]
                values = [
                    tuple(p(r[n]) if p else r[n] for n, p in zip(names, procs, strict=True))
                    for r in rows
                ]
                if store.backend == "sqlite":
                    marks = ", ".join("?" * len(names))
                    cursor.executemany(
                        f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})", values
                    )
                else:
                    with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
                        for value in values:
                            copy.write_row(value)
                counts[table.name] += len(rows)
            dbapi.commit()
            if number % 10 == 0:
                done = counts["tickets"]
                print(
                    f"  {done:,} tickets, {counts['ticket_events']:,} events "
                    f"({time.perf_counter() - began:.0f} s)",
                    file=sys.stderr,
                )
        if store.backend == "postgresql":
            for table in ("tickets", "ticket_events", "escalations", "csat_surveys"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"
                )
            dbapi.commit()
    finally:
        raw.close()
    if store.backend == "postgresql":
        # What autovacuum would have done by the time anyone reads a digest.
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        # No ANALYZE: the desk never runs it, so its SQLite plans are made without statistics.
        raw = store.engine.raw_connection()
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    store.seed_s = time.perf_counter() - began
    store.counts = dict(counts)
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE bench_seed (tickets INTEGER, generator VARCHAR(200), "
                "seconds FLOAT, seeded_at VARCHAR(40), counts TEXT, migrations TEXT)"
            )
        )
        conn.execute(
            text("INSERT INTO bench_seed VALUES (:n, :g, :s, :at, :c, :m)"),
            {
                "n": store.tickets,
                "g": _marker(seed),
                "s": store.seed_s,
                "at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "c": json.dumps(store.counts),
                "m": json.dumps(_migrations()),
            },
        )
    print(f"  seeded in {store.seed_s:.0f} s: {store.counts}", file=sys.stderr)


# --- what is timed -----------------------------------------------------------------------------


def desk_at(now: datetime) -> Desk:
    return Desk(config=parse_config(CONFIG), clock=ManualClock(now))


DESK = desk_at(END)
TZ = DESK.config.tz
MIDDLE = week_ending(MIDDLE_WEEK_END, TZ)
LATEST = week_ending(LATEST_WEEK_END, TZ)
# `/support stats week` asked on the Monday morning after each week.
MIDDLE_DESK = desk_at(
    datetime.combine(MIDDLE_WEEK_END, datetime.min.time(), TZ) + timedelta(hours=9)
)
LATEST_DESK = desk_at(
    datetime.combine(LATEST_WEEK_END, datetime.min.time(), TZ) + timedelta(hours=9)
)


@dataclass(frozen=True)
class Job:
    key: str
    label: str
    run: Callable[[Any], Any]


JOBS = [
    Job("digest", "weekly digest, middle week", lambda s: build_weekly_digest(s, DESK, MIDDLE)),
    Job(
        "digest_latest",
        "weekly digest, latest week",
        lambda s: build_weekly_digest(s, DESK, LATEST),
    ),
    Job("stats", "/support stats week (middle)", lambda s: build_stats(s, MIDDLE_DESK, "week")),
    Job("stats_latest", "/support stats week (latest)", lambda s: build_stats(s, LATEST_DESK)),
    Job("csat", "CSAT digest, middle week", lambda s: build_csat_digest(s, DESK, MIDDLE)),
]


def timed(store: Store, job: Job) -> tuple[float, Any]:
    """One run in its own session (rolled back), the clock running from the first query to the
    last, with no garbage collection meanwhile."""
    session = store.session_factory()
    try:
        session.connection()  # BEGIN before the clock starts
        gc.collect()
        gc.disable()
        try:
            began = time.perf_counter()
            result = job.run(session)
            return time.perf_counter() - began, result
        finally:
            gc.enable()
    finally:
        session.rollback()
        session.close()


def measure(stores: list[Store], runs: int) -> dict[tuple[str, int], list[float]]:
    """Every job on every database in rounds, after one warm-up round, so drift (caches, other
    work on the machine) weighs on all of them alike."""
    samples: dict[tuple[str, int], list[float]] = defaultdict(list)
    for attempt in range(runs + 1):
        print(f"  round {attempt}/{runs}{' (warm-up)' if not attempt else ''}", file=sys.stderr)
        for job in JOBS:
            for store in stores:
                elapsed, _ = timed(store, job)
                if attempt:
                    samples[job.key, store.tickets].append(elapsed)
    return samples


# --- where the time goes -----------------------------------------------------------------------


@dataclass
class Statement:
    method: str
    sql: str
    parameters: Any
    seconds: float


@dataclass
class RunProfile:
    """One profiled run: per repository call (the outermost only: `first_response` is not
    counted again inside `spread`) its calls and seconds; every SQL statement and its time."""

    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    statements: list[Statement] = field(default_factory=list)


_current: list[str] = []


@contextmanager
def profiling(store: Store) -> Iterator[RunProfile]:
    """Wraps every public `ReportRepository` method and `SlaRepository.attainment` with a timer,
    and times each statement sent (cursor events), for the duration."""
    profile = RunProfile()
    originals: list[tuple[type, str, Any]] = []

    def wrap(owner: type, name: str) -> None:
        original = getattr(owner, name)
        label = f"{owner.__name__.removesuffix('Repository')}.{name}"

        @wraps(original)
        def timed_method(self: Any, *args: Any, **kwargs: Any) -> Any:
            if _current:
                return original(self, *args, **kwargs)
            _current.append(label)
            began = time.perf_counter()
            try:
                return original(self, *args, **kwargs)
            finally:
                profile.seconds[label] += time.perf_counter() - began
                profile.calls[label] += 1
                _current.pop()

        originals.append((owner, name, original))
        setattr(owner, name, timed_method)

    for name, member in list(vars(ReportRepository).items()):
        if callable(member) and not name.startswith("_"):
            wrap(ReportRepository, name)
    wrap(SlaRepository, "attainment")

    def before(conn: Any, *_args: Any) -> None:
        conn.info.setdefault("bench_began", []).append(time.perf_counter())

    def after(conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        began = conn.info["bench_began"].pop()
        method = _current[-1] if _current else "(other)"
        profile.statements.append(
            Statement(method, statement, parameters, time.perf_counter() - began)
        )

    event.listen(store.engine, "before_cursor_execute", before)
    event.listen(store.engine, "after_cursor_execute", after)
    try:
        yield profile
    finally:
        event.remove(store.engine, "before_cursor_execute", before)
        event.remove(store.engine, "after_cursor_execute", after)
        for owner, name, original in reversed(originals):
            setattr(owner, name, original)


def profile_digest(store: Store, runs: int) -> list[RunProfile]:
    out = []
    for _ in range(runs):
        with profiling(store) as profile:
            timed(store, JOBS[0])
        out.append(profile)
    return out


SCAN = re.compile(rf"^SCAN ({'|'.join(BIG_TABLES)})\b(.*)$")
OPEN_RANGE = re.compile(rf"^SEARCH ({'|'.join(BIG_TABLES)}) USING .*\((\w+)[<>]=?\?\)$")
# An index search on values alone (`queue=?`, `tag=?`), no time bound: every such row, all time.
VALUE_ONLY = re.compile(
    rf"^SEARCH ({'|'.join(BIG_TABLES)}) USING (?:COVERING )?INDEX (\w+) "
    r"\(((?:\w+=\? AND )*\w+=\?)\)$"
)
LOOKUP_COLUMNS = {"id", "ticket_id", "rowid", "escalation_id"}
PG_SCAN = re.compile(rf"Seq Scan on ({'|'.join(BIG_TABLES)})\b")
PG_NODE = re.compile(
    rf"Scan (?:Backward )?(?:using \w+ )?on ({'|'.join(BIG_TABLES)})\b.*"
    r"actual time=\S+ rows=(\d+) loops=(\d+)"
)
PG_REMOVED = re.compile(r"Rows Removed by Filter: (\d+)")


def explain(store: Store, statement: Statement) -> tuple[list[str], list[str]]:
    """The plan (and ANALYZE figures on PostgreSQL) of a statement as the digest sent it, and
    the flags: full scans of a big table, and on SQLite open-ended ranges over one (a `col > ?`
    with no upper bound reads everything after the moment, not one period)."""
    flags: list[str] = []
    with store.engine.connect() as conn:
        if store.backend == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement.sql}", statement.parameters)
            lines = []
            for *_ids, detail in rows:
                lines.append(detail)
                if match := SCAN.match(detail):
                    how = "full index scan" if "INDEX" in match.group(2) else "full table scan"
                    flags.append(f"{how} of {match.group(1)}: {detail}")
                elif match := OPEN_RANGE.match(detail):
                    flags.append(f"open-ended range on {match.group(1)}.{match.group(2)}: {detail}")
                elif (match := VALUE_ONLY.match(detail)) and not {
                    term.split("=")[0] for term in match.group(3).split(" AND ")
                } & LOOKUP_COLUMNS:
                    flags.append(
                        f"every {match.group(1)} row of the value(s), all time, no time bound: "
                        f"{detail}"
                    )
        else:
            rows = conn.exec_driver_sql(
                f"EXPLAIN (ANALYZE, BUFFERS) {statement.sql}", statement.parameters
            )
            lines = [row[0] for row in rows]
            node: tuple[str, int, int] | None = None  # the last scan of a big table: rows, loops
            for line in lines:
                if match := PG_SCAN.search(line):
                    flags.append(f"full table scan of {match.group(1)}: {line.strip()}")
                if match := PG_NODE.search(line):
                    node = (match.group(1), int(match.group(2)), int(match.group(3)))
                elif "->" in line:
                    node = None
                if (match := PG_REMOVED.search(line)) and node is not None:
                    table, kept, loops = node
                    removed = int(match.group(1))
                    if removed * loops > 10_000 and removed > 10 * max(kept, 1):
                        flags.append(
                            f"reads {removed * loops:,} rows of {table} to keep {kept * loops:,} "
                            "(an index range much wider than the answer)"
                        )
        conn.rollback()
    return lines, flags


def _sql_for_humans(statement: Statement) -> str:
    return " ".join(statement.sql.split())


# --- charts ------------------------------------------------------------------------------------


def time_charts(digest: Any, runs: int) -> dict[str, float] | str:
    try:
        from templates import charts
    except ImportError as error:
        return f"templates.charts not importable: {error}"
    out: dict[str, float] = {}
    days = [d.day for d in digest.days]
    drawers: dict[str, Callable[[], bytes]] = {}
    if hasattr(charts, "volume_chart"):
        drawers["volume_chart"] = lambda: charts.volume_chart(
            days,
            [d.opened for d in digest.days],
            [d.resolved for d in digest.days],
            [d.backlog for d in digest.days],
            title="Tickets per day, Mon 10 – Sun 16 Nov",
        )
    if hasattr(charts, "first_response_chart"):
        drawers["first_response_chart"] = lambda: charts.first_response_chart(
            list(digest.response_labels),
            digest.response_met,
            digest.response_missed,
            title="Time to first response, Mon 10 – Sun 16 Nov",
        )
    if not drawers:
        return "templates.charts has neither volume_chart nor first_response_chart"
    for name, draw in drawers.items():
        draw()  # warm-up: the first draw imports matplotlib and loads the font
        seconds = []
        for _ in range(runs):
            began = time.perf_counter()
            draw()
            seconds.append(time.perf_counter() - began)
        out[name] = statistics.median(seconds)
    return out


# --- the report --------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:9.2f} ms" if ms < 10 else f"{ms:9.1f} ms" if ms < 1000 else f"{ms:9.0f} ms"


def server_version(store: Store) -> str:
    with store.engine.connect() as conn:
        if store.backend == "postgresql":
            return "PostgreSQL " + str(conn.exec_driver_sql("SHOW server_version").scalar())
        return "SQLite " + str(conn.exec_driver_sql("SELECT sqlite_version()").scalar())


def report_backend(args: argparse.Namespace, small: Store, large: Store) -> None:
    print(
        f"\n=== {server_version(large)}, SQLAlchemy {sqlalchemy.__version__}, "
        f"nproc {os.cpu_count()}"
    )
    for store in (small, large):
        c = store.counts
        how = (
            f"seeded in this run in {store.seed_s:.0f} s"
            if store.seed_s is not None
            else f"reused ({store.seeded_before})"
        )
        print(
            f"{store.label:>10} tickets: {c.get('ticket_events', 0):,} events, "
            f"{c.get('ticket_tags', 0):,} tags, {c.get('escalations', 0):,} escalations, "
            f"{c.get('csat_surveys', 0):,} CSAT surveys; {how}"
        )
        print(f"{'':>10}   {store.where}")
    # What the data looks like in the middle week (the same generator, 100x the tickets).
    print()
    for store in (small, large):
        _, digest = timed(store, JOBS[0])
        cur = digest.current
        fr = cur.first_response
        print(
            f"middle week {MIDDLE.since.date()}..{MIDDLE.until.date()}, {store.label:>9} tickets: "
            f"opened {cur.opened:,}, resolved {cur.resolved:,}, backlog {cur.backlog_start:,}"
            f"->{cur.backlog_end:,}, first response median {fr.median or 0:.0f} s "
            f"(n={fr.count:,}), "
            f"SLA first {cur.sla_first_pct}%, CSAT {cur.csat_pct}% of {cur.csat_answers:,}, "
            f"escalated {cur.escalated:,}, agents {len(digest.agents)}"
        )

    print(f"\ntiming: {args.runs} runs each after a warm-up", file=sys.stderr)
    samples = measure([small, large], args.runs)
    print()
    print(
        f"{'median of ' + str(args.runs) + ' runs':34} {small.label + ' (base)':>14} "
        f"{large.label:>14} {'ratio':>8} {'(of minima)':>12}"
    )
    for job in JOBS:
        low, high = samples[job.key, small.tickets], samples[job.key, large.tickets]
        ratio = statistics.median(high) / statistics.median(low)
        floor = min(high) / min(low)
        print(
            f"{job.label:34} {_ms(statistics.median(low)):>14} {_ms(statistics.median(high)):>14}"
            f" {ratio:7.1f}x {floor:11.1f}x"
        )

    runs = max(3, args.runs // 2)
    print(f"profiling the middle-week digest: {runs} runs each", file=sys.stderr)
    profiles = {store.tickets: profile_digest(store, runs) for store in (small, large)}
    big, base = profiles[large.tickets], profiles[small.tickets]

    def median_of(profiles: list[RunProfile], label: str) -> float:
        return statistics.median(p.seconds.get(label, 0.0) for p in profiles)

    total = statistics.median(samples["digest", large.tickets])
    rows = sorted(
        ((label, median_of(big, label)) for label in big[0].seconds), key=lambda row: -row[1]
    )
    print(
        f"\nmiddle-week digest, per repository call (median of {runs} profiled runs; "
        f"{len(big[-1].statements)} statements per digest):"
    )
    print(
        f"  {'call':32} {'calls':>5} {small.label:>12} {large.label:>12} {'ratio':>8} {'share':>6}"
    )
    for label, seconds in rows[: args.top]:
        baseline_s = median_of(base, label) or 1e-9
        print(
            f"  {label:32} {big[0].calls[label]:5d} {_ms(baseline_s):>12} {_ms(seconds):>12}"
            f" {seconds / baseline_s:7.1f}x {100 * seconds / total:5.0f}%"
        )
    rest = sum(s for _, s in rows[args.top :])
    others = f"(the other {len(rows) - args.top} calls)"
    print(f"  {others:32} {'':5} {'':>12} {_ms(rest):>12}")

    # The heaviest statements (the same SQL sent several times counts once, at its worst).
    worst: dict[str, Statement] = {}
    for st in big[-1].statements:
        if st.sql not in worst or st.seconds > worst[st.sql].seconds:
            worst[st.sql] = st
    heaviest = sorted(worst.values(), key=lambda st: -st.seconds)[: args.plans]
    print(f"\nplans of the {len(heaviest)} heaviest statements ({large.label} tickets):")
    all_flags: list[str] = []
    for number, st in enumerate(heaviest, 1):
        lines, flags = explain(large, st)
        print(f"\n[{number}] {st.method}: {_ms(st.seconds).strip()}")
        sql = _sql_for_humans(st)
        print(f"    SQL: {sql[:600]}{' ...' if len(sql) > 600 else ''}")
        print(f"    params: {st.parameters}")
        for line in lines:
            print(f"    | {line}")
        for flag in flags:
            print(f"    !! {flag}")
            all_flags.append(f"[{number}] {st.method}: {flag}")
    if all_flags:
        print("\nflagged (reads that grow with the table, not the period):")
        for flag in all_flags:
            print(f"  {flag}")
    else:
        print(f"\nnothing flagged on {', '.join(BIG_TABLES)}")
    digest_s = statistics.median(samples["digest", large.tickets])
    verdict = "in seconds" if digest_s < 10 else "NOT in seconds"
    base_s = statistics.median(samples["digest", small.tickets])
    print(
        f"\n{large.backend}: weekly digest over {large.label} tickets: {digest_s:.2f} s "
        f"({verdict}); {digest_s / base_s:.0f}x the {small.label}-ticket baseline"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=int, help="the baseline's tickets (default tickets/100)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per job and database")
    parser.add_argument("--reseed", action="store_true", help="drop the seeded data, seed again")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument(
        "--sqlite-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "supportbot-bench-weekly-digest",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("SUPPORTBOT_BENCH_POSTGRES_URL"),
        help="PostgreSQL URL (default: $SUPPORTBOT_BENCH_POSTGRES_URL)",
    )
    parser.add_argument("--top", type=int, default=5, help="repository calls listed")
    parser.add_argument("--plans", type=int, default=5, help="heaviest statements explained")
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    baseline = args.baseline or max(1, args.tickets // 100)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in backends and not args.postgres_url:
        parser.error("PostgreSQL needs --postgres-url or SUPPORTBOT_BENCH_POSTGRES_URL")

    chart_digest = None
    for backend in backends:
        if backend == "sqlite":
            stores = [
                open_sqlite(args.sqlite_dir, n, reseed=args.reseed, seed=args.seed)
                for n in (baseline, args.tickets)
            ]
        else:
            stores = [
                open_postgres(args.postgres_url, n, reseed=args.reseed, seed=args.seed)
                for n in (baseline, args.tickets)
            ]
        try:
            report_backend(args, *stores)
            if chart_digest is None:
                chart_digest = timed(stores[1], JOBS[0])[1]
        finally:
            for store in stores:
                store.engine.dispose()

    if chart_digest is not None:
        charts = time_charts(chart_digest, args.runs)
        print(
            "\ncharts (independent of the table's size; median of "
            f"{args.runs} renders after a warm-up):"
        )
        if isinstance(charts, str):
            print(f"  {charts}")
        else:
            for name, seconds in charts.items():
                print(f"  {name:24} {_ms(seconds)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
