"""Benchmark: the SLA sweep costs what is coming due, not what is open.

    python bench/sla_sweep.py [--database URL] [--backlog 100000] [--due 200]

Builds two databases in the same run, each holding the same `--due` tickets whose next SLA moment
(`sla_next_at`) has just come, among a backlog of open tickets that are not due: a small one
(`--small`, 1,000 by default: the baseline) and a large one (`--backlog`). It times
`workflows.sla.sweep` on both, each repetition in a transaction that is rolled back, so every
repetition does the same work, and prints the medians and their ratio (large / small): close to 1
when the sweep reads only what is due through `ix_tickets_sla_next_at`. For contrast it also times
the same sweep with that index dropped (inside the rolled-back transaction) and a naive load of
every open ticket, and prints the plan of the sweep's query.

Every ticket's SLA fields are computed by the desk's own planning (`update_clock`, `settle`) from a
made-up but plausible history (opened, claimed, answered, waiting on the requester, escalated), and
the alerts already said for it are in `sla_alerts`; each ticket also has its events and its card's
outbox rows, so every table the sweep reads or writes grows with the backlog.

Without `--database`, both databases are SQLite files in a temporary directory. With a SQLite URL,
its file name is the prefix of the two files (`x.db` -> `x-small.db`, `x-large.db`). With a
PostgreSQL URL, two databases named `supportbot_bench_<pid>_small` and `..._large` are created next
to the URL's (which is only used to create and drop them) and dropped at the end.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy
from sqlalchemy import Engine, event, insert, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from bot.config import parse_config
from storage.db import SessionFactory, create_db_engine, create_session_factory
from storage.migrate import upgrade_schema
from storage.models import OutboxMessage, SlaAlert, Ticket, TicketEvent
from storage.repositories import SlaRepository
from workflows.clock import ManualClock, datetime_to_slack_ts
from workflows.desk import Desk
from workflows.sla import SWEEP_LIMIT, calendar_of, sweep, target_of, update_clock
from workflows.sla_state import Threshold, settle, thresholds
from workflows.vocabulary import (
    ACTIVE_STATUSES,
    AlertLevel,
    EventKind,
    IntakeSource,
    SlaTarget,
)

# A Wednesday, 11:00 in New York: inside business hours, so warnings and breaches come due now.
NOW = datetime(2026, 11, 18, 16, 0, tzinfo=UTC)
INDEX = "ix_tickets_sla_next_at"
CHUNK = 5000

AGENTS = ["U0AGENT1", "U0AGENT2", "U0AGENT3", "U0AGENT4", "U0AGENT5", "U0AGENT6"]
CONFIG: dict[str, Any] = {
    "timezone": "America/New_York",
    "agents": AGENTS,
    "intake": [
        {"channel": "C0HELP", "queue": "general"},
        {"channel": "C0BILLING", "queue": "billing"},
    ],
    "triage_channel": "C0TRIAGE",
    "customer_channels": [{"channel": "C0ACME", "customer": "Acme Corp", "tier": "enterprise"}],
    "engineering": [{"product": "default", "channel": "C0ENG"}],
    "default_priority": "medium",
    "business_hours": {
        "days": ["mon", "tue", "wed", "thu", "fri"],
        "start": "09:00",
        "end": "17:00",
    },
    "holidays": ["2026-11-26", "2026-12-25"],
    "sla": {
        "urgent": {"first_response": "15m", "resolution": "4h", "around_the_clock": True},
        "high": {"first_response": "1h", "resolution": "8h"},
        "medium": {"first_response": "4h", "resolution": "24h"},
        "low": {"first_response": "8h", "resolution": "72h"},
        "alert_channel": "C0SLA",
    },
}

PRIORITIES = (["low"] * 25) + (["medium"] * 50) + (["high"] * 20) + (["urgent"] * 5)
STATUSES = (
    (["open"] * 35) + (["claimed"] * 35) + (["waiting_on_customer"] * 20) + (["escalated"] * 10)
)
INTAKE = (
    ([IntakeSource.MESSAGE] * 60)
    + ([IntakeSource.REACTION] * 15)
    + ([IntakeSource.MODAL] * 15)
    + ([IntakeSource.MENTION] * 5)
    + ([IntakeSource.SHORTCUT] * 5)
)
QUESTIONS = [
    "Invoice {n} shows the wrong VAT rate for our German entity, can someone check?",
    "Since this morning the export to CSV times out after about a minute ({n} rows).",
    "How do I add a second admin to our workspace? The settings page only lets me add viewers.",
    "Customer says the webhook for order {n} fired twice; we refunded once, please look.",
    "SSO login loops back to the sign-in page for everyone in the EU region.",
    "Can we get the renewal quote for contract {n} before Friday? Procurement is asking.",
    "The API returns 502 on /v2/reports intermittently, roughly one call in twenty.",
    "Please move the Acme sandbox to the new plan, the old one expires at the end of the month.",
]


# --- databases ------------------------------------------------------------------------------------


@dataclass
class BenchDb:
    label: str
    url: URL
    engine: Engine
    session_factory: SessionFactory
    drop: Callable[[], None]
    tickets: int = 0
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name


@contextmanager
def bench_databases(url: str | None, *, keep: bool) -> Iterator[Callable[[str], BenchDb]]:
    """Makes fresh, migrated databases on request; removes them all at the end."""
    made: list[BenchDb] = []
    temp: str | None = None
    admin: Engine | None = None
    base = make_url(url) if url else None
    if base is None or base.get_backend_name() == "sqlite":
        if base is None or not base.database or base.database == ":memory:":
            temp = tempfile.mkdtemp(prefix="supportbot-bench-")
            prefix = Path(temp) / "sla"
        else:
            prefix = Path(base.database).with_suffix("")
    elif base.get_backend_name() == "postgresql":
        admin = create_db_engine(base.render_as_string(hide_password=False))
        admin = admin.execution_options(isolation_level="AUTOCOMMIT")
    else:
        raise SystemExit(f"unsupported database: {base.get_backend_name()} (sqlite, postgresql)")

    def make(label: str) -> BenchDb:
        if admin is None:
            path = prefix.parent / f"{prefix.name}-{label}.db"
            if path.exists():
                raise SystemExit(f"{path} exists; remove it or pick another --database")
            db_url = make_url(f"sqlite:///{path}")

            def drop() -> None:
                if not keep:
                    for suffix in ("", "-wal", "-shm"):
                        Path(f"{path}{suffix}").unlink(missing_ok=True)

        else:
            assert base is not None
            name = f"supportbot_bench_{os.getpid()}_{label}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            db_url = base.set(database=name)

            def drop() -> None:
                if not keep:
                    with admin.connect() as conn:
                        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

        engine = create_db_engine(db_url.render_as_string(hide_password=False))
        db = BenchDb(label, db_url, engine, create_session_factory(engine), drop)
        made.append(db)
        upgrade_schema(engine)
        return db

    try:
        yield make
    finally:
        for db in made:
            db.engine.dispose()
            db.drop()
        if admin is not None:
            admin.dispose()
        if temp is not None and not keep:
            shutil.rmtree(temp, ignore_errors=True)
        if keep:
            for db in made:
                print(f"kept {db.url.render_as_string(hide_password=True)}", file=sys.stderr)


# --- tickets with plausible SLA fields ------------------------------------------------------------


@dataclass
class Rows:
    tickets: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)


TICKET_COLUMNS = [column.key for column in Ticket.__table__.columns]


def new_ticket(rng: random.Random, tid: int, start: datetime, priority: str) -> Ticket:
    """A ticket as intake leaves it: opened at `start`, in its queue, not yet planned."""
    customer = rng.random() < 0.15
    channel = "C0ACME" if customer else rng.choice(["C0HELP", "C0HELP", "C0BILLING"])
    queue = "billing" if channel == "C0BILLING" else "general"
    ts = f"{int(start.timestamp())}.{tid % 1_000_000:06d}"
    card_ts = f"{int(start.timestamp()) + 1}.{tid % 1_000_000:06d}"
    technical = rng.random() < 0.5
    return Ticket(
        id=tid,
        source_channel=channel,
        source_ts=ts,
        source_thread_ts=None,
        intake_source=rng.choice(INTAKE).value,
        requester=f"U{rng.randrange(36**8):08X}"[:11],
        requester_team="T0EXTERNAL" if customer else "T0HOME",
        requester_is_external=customer,
        reporter=None,
        queue=queue,
        customer="Acme Corp" if customer else None,
        status="open",
        priority=priority,
        issue_type="technical_issue" if technical else "question",
        product=rng.choice(["Billing", "API", "Dashboard", None]),
        customer_tier="enterprise" if customer else None,
        internal_priority=None,
        support_type=None,
        client_priority=None,
        departments=[],
        users_affected=rng.choice([1, 5, 50, 500]) if technical else None,
        site_down=(priority == "urgent") if technical else None,
        description=rng.choice(QUESTIONS).format(n=rng.randrange(10_000, 99_999)),
        assignee=None,
        escalated=False,
        bridged=customer,
        merged_into_id=None,
        csat=None,
        card_channel="C0TRIAGE" if customer else channel,
        card_ts=card_ts,
        permalink=f"https://example.slack.com/archives/{channel}/p{ts.replace('.', '')}",
        created_at=start,
        updated_at=start,
        first_response_at=None,
        claimed_at=None,
        resolved_at=None,
        closed_at=None,
        first_response_due_at=None,
        resolution_due_at=None,
        sla_state=None,
        sla_started_at=start,
        first_response_warn_at=None,
        resolution_warn_at=None,
        sla_next_at=None,
        sla_paused_at=None,
        sla_paused=None,
        first_response_seconds=None,
        resolution_seconds=None,
    )


def live(
    rng: random.Random, desk: Desk, ticket: Ticket, status: str, until: datetime, rows: Rows
) -> None:
    """Give the ticket a history up to `until` that ends in `status`, planning its SLA fields
    after each step as the desk does."""
    start = ticket.created_at
    span = until - start
    update_clock(desk, ticket, at=start)
    rows.events.append(_event(ticket, EventKind.OPENED, start, ticket.requester))
    if status == "open":
        return
    agent = rng.choice(AGENTS)
    claimed = start + span * rng.uniform(0.01, 0.2)
    ticket.status, ticket.assignee, ticket.claimed_at = "claimed", agent, claimed
    update_clock(desk, ticket, at=claimed)
    rows.events.append(_event(ticket, EventKind.CLAIMED, claimed, agent))
    last = claimed
    if status != "claimed" or rng.random() < 0.8:
        answered = claimed + (until - claimed) * rng.uniform(0.01, 0.2)
        ticket.first_response_at = answered
        update_clock(desk, ticket, at=answered)
        rows.events.append(_event(ticket, EventKind.FIRST_RESPONSE, answered, agent))
        last = answered
    if status in ("waiting_on_customer", "escalated"):
        moment = last + (until - last) * rng.uniform(0.05, 0.9)
        ticket.status = status
        ticket.escalated = status == "escalated"
        update_clock(desk, ticket, at=moment)
        kind = EventKind.ESCALATED if ticket.escalated else EventKind.WAITING_ON_CUSTOMER
        rows.events.append(_event(ticket, kind, moment, agent))
        last = moment
    ticket.updated_at = last


def add_backlog_ticket(rng: random.Random, desk: Desk, tid: int, rows: Rows) -> None:
    """An open ticket that is not due: opened in the last few days (its next warning or breach
    is ahead), or weeks ago (everything said already: `sla_next_at` is NULL)."""
    recent = rng.random() < 0.85
    age = timedelta(days=rng.uniform(0.02, 3) if recent else rng.uniform(3, 120))
    start = (NOW - age).replace(microsecond=0)
    ticket = new_ticket(rng, tid, start, rng.choice(PRIORITIES))
    live(rng, desk, ticket, rng.choice(STATUSES), NOW - timedelta(minutes=1), rows)
    said = [t for t in thresholds(ticket) if t.at <= NOW]  # earlier sweeps said these
    settle(ticket, {_key(t) for t in said}, now=NOW)
    assert ticket.sla_next_at is None or ticket.sla_next_at > NOW
    _add(rng, ticket, said, rows)


def add_due_ticket(rng: random.Random, desk: Desk, tid: int, rows: Rows) -> int:
    """A ticket one of whose warnings or breaches came due in the last minute (the sweep has not
    seen it yet): the alerts it will make."""
    priority = rng.choice(PRIORITIES)
    target, level = rng.choice([(t, lv) for t in SlaTarget for lv in AlertLevel])
    moment = NOW - timedelta(seconds=rng.uniform(1, 55))
    probe = new_ticket(rng, tid, NOW, priority)
    config = target_of(desk, probe)
    amount = config.first_response if target == SlaTarget.FIRST_RESPONSE else config.resolution
    if level == AlertLevel.WARNING:
        amount *= desk.config.sla.warning_at
    calendar = calendar_of(desk, config)
    start = _latest_start(lambda s: calendar.add(s, amount), moment)
    ticket = new_ticket(rng, tid, start, priority)
    ticket.customer, ticket.customer_tier = probe.customer, probe.customer_tier
    if target == SlaTarget.FIRST_RESPONSE:
        status = rng.choice(["open", "open", "claimed"])
        live(rng, desk, ticket, status, start + (moment - start) * 0.5, rows)
        ticket.first_response_at = None  # claimed, not answered yet
        update_clock(desk, ticket, at=ticket.updated_at)
    else:
        live(rng, desk, ticket, rng.choice(["claimed", "escalated"]), moment, rows)
        if ticket.first_response_at is None:
            ticket.first_response_at = ticket.claimed_at
            update_clock(desk, ticket, at=ticket.updated_at)
    chosen = next(t for t in thresholds(ticket) if (t.target, t.level) == (target, level))
    assert NOW - timedelta(minutes=1) < chosen.at <= NOW, (chosen, NOW)
    said = [t for t in thresholds(ticket) if t.at < chosen.at]
    settle(ticket, {_key(t) for t in said}, now=chosen.at - timedelta(seconds=1))
    assert ticket.sla_next_at == chosen.at
    _add(rng, ticket, said, rows)
    return sum(1 for t in thresholds(ticket) if chosen.at <= t.at <= NOW)


def _latest_start(due: Callable[[datetime], datetime], moment: datetime) -> datetime:
    """The latest opening time (to the second) whose threshold `due(start)` is at or before
    `moment`: the calendar's `add` only moves forward, so bisect."""
    low, high = moment - timedelta(days=60), moment
    while high - low > timedelta(seconds=1):
        middle = (low + (high - low) / 2).replace(microsecond=0)
        if middle <= low:
            break
        if due(middle) <= moment:
            low = middle
        else:
            high = middle
    return low


def _key(threshold: Threshold) -> tuple[str, str]:
    return threshold.target.value, threshold.level.value


def _event(ticket: Ticket, kind: EventKind, at: datetime, actor: str | None) -> dict[str, Any]:
    return {"ticket_id": ticket.id, "kind": kind.value, "actor": actor, "at": at, "data": {}}


def _add(rng: random.Random, ticket: Ticket, said: list[Threshold], rows: Rows) -> None:
    rows.tickets.append({key: getattr(ticket, key) for key in TICKET_COLUMNS})
    for threshold in said:
        due = (
            ticket.first_response_due_at
            if threshold.target == SlaTarget.FIRST_RESPONSE
            else ticket.resolution_due_at
        )
        fired = min(NOW, threshold.at + timedelta(seconds=rng.uniform(0, 60)))
        rows.alerts.append(
            {
                "ticket_id": ticket.id,
                "target": threshold.target.value,
                "level": threshold.level.value,
                "due_at": due,
                "fired_at": fired,
                "sent": True,
            }
        )
    # The card as posted, and its last update (both delivered long ago).
    posted = ticket.created_at + timedelta(seconds=1)
    for method, key, at in (
        ("chat.postMessage", None, posted),
        ("chat.update", f"card:{ticket.id}", ticket.updated_at),
    ):
        rows.outbox.append(
            {
                "method": method,
                "payload": {"channel": ticket.card_channel},
                "purpose": "ticket_card" if key is None else "card_update",
                "coalesce_key": key,
                "ticket_id": ticket.id,
                "status": "sent",
                "attempts": 1,
                "next_attempt_at": at,
                "lease_owner": None,
                "lease_until": None,
                "last_error": None,
                "created_at": at,
                "sent_at": at + timedelta(seconds=1),
                "response": {"ok": True, "ts": datetime_to_slack_ts(at)},
            }
        )


def populate(db: BenchDb, desk: Desk, *, backlog: int, due: int, seed: int) -> int:
    """`backlog` tickets that are not due and `due` that are, interleaved by id; returns the
    alerts the sweep should make."""
    started = time.perf_counter()
    total = backlog + due
    due_ids = set(random.Random(f"{seed}-{total}-ids").sample(range(1, total + 1), due))
    due_rng = random.Random(f"{seed}-due")  # the same due tickets in every database
    backlog_rng = random.Random(f"{seed}-backlog-{backlog}")
    rows = Rows()
    expected = 0
    print(f"building the {db.label} database: {total:,} tickets", file=sys.stderr)
    with db.engine.begin() as conn:
        for tid in range(1, total + 1):
            if tid in due_ids:
                expected += add_due_ticket(due_rng, desk, tid, rows)
            else:
                add_backlog_ticket(backlog_rng, desk, tid, rows)
            if len(rows.tickets) >= CHUNK or tid == total:
                _flush(conn, rows, db.stats)
        if db.dialect == "postgresql":
            conn.execute(text("SELECT setval('tickets_id_seq', (SELECT max(id) FROM tickets))"))
    if db.dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        raw = db.engine.raw_connection()  # outside a transaction: fold the WAL into the file
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    db.tickets = total
    db.stats["build_s"] = time.perf_counter() - started
    return expected


def _flush(conn: sqlalchemy.Connection, rows: Rows, stats: dict[str, Any]) -> None:
    for row in rows.tickets:
        next_at = row["sla_next_at"]
        if next_at is None:
            stats["next_null"] = stats.get("next_null", 0) + 1
        elif next_at > NOW:
            stats["next_future"] = stats.get("next_future", 0) + 1
            stats["next_max"] = max(stats.get("next_max", next_at), next_at)
        else:
            stats["next_due"] = stats.get("next_due", 0) + 1
    for model, batch in (
        (Ticket, rows.tickets),
        (SlaAlert, rows.alerts),
        (TicketEvent, rows.events),
        (OutboxMessage, rows.outbox),
    ):
        if batch:
            conn.execute(insert(model), batch)
            stats[model.__tablename__] = stats.get(model.__tablename__, 0) + len(batch)
    rows.tickets.clear()
    rows.alerts.clear()
    rows.events.clear()
    rows.outbox.clear()


# --- measuring ------------------------------------------------------------------------------------


@dataclass
class Sample:
    seconds: list[float] = field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def min_ms(self) -> float:
        return min(self.seconds) * 1000


def rolled_back(
    db: BenchDb, work: Callable[[Session], Any], *, drop_index: bool = False
) -> tuple[float, Any]:
    """Time `work` (and the flush of what it changed) in a transaction that is then rolled back,
    so the next run finds the same tickets due. `drop_index`: without `ix_tickets_sla_next_at`
    (dropped inside that transaction, so the rollback brings it back)."""
    session = db.session_factory()
    session.begin()
    try:
        session.connection()  # BEGIN (IMMEDIATE, on SQLite) before the clock starts
        if drop_index:
            session.execute(text(f"DROP INDEX {INDEX}"))
        began = time.perf_counter()
        result = work(session)
        session.flush()
        return time.perf_counter() - began, result
    finally:
        session.rollback()
        session.close()


def run_scan(db: BenchDb) -> tuple[float, int]:
    """The naive sweep's read: load every open ticket."""
    with db.session_factory() as session:
        began = time.perf_counter()
        loaded = session.scalars(select(Ticket).where(Ticket.status.in_(ACTIVE_STATUSES))).all()
        elapsed = time.perf_counter() - began
        session.rollback()
    assert len(loaded) == db.tickets, (len(loaded), db.tickets)
    return elapsed, len(loaded)


def measure(
    dbs: list[BenchDb], runs: dict[str, tuple[Callable[[BenchDb], float], int]]
) -> dict[str, list[Sample]]:
    """Each run `repeat` times on each database after one warm-up, in rounds that take every run
    on every database in turn, so that drift (caches, other work on the machine) weighs on all of
    them alike. No garbage collection while the clock runs."""
    samples = {key: [Sample() for _ in dbs] for key in runs}
    rounds = max(repeat for _run, repeat in runs.values())
    for attempt in range(rounds + 1):
        print(f"  round {attempt}/{rounds}{' (warm-up)' if not attempt else ''}", file=sys.stderr)
        for key, (run, repeat) in runs.items():
            if attempt > repeat:
                continue
            for db, sample in zip(dbs, samples[key], strict=True):
                gc.collect()
                gc.disable()
                try:
                    elapsed = run(db)
                finally:
                    gc.enable()
                if attempt:
                    sample.seconds.append(elapsed)
    return samples


def sweep_query(db: BenchDb, desk: Desk) -> tuple[str, Any]:
    """The SQL the sweep sends for the tickets coming due, as sent (statement, parameters)."""
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if "sla_next_at <=" in statement and "FROM tickets" in statement:
            captured.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        session = db.session_factory()
        session.begin()
        try:
            sweep(session, desk, now=NOW)
        finally:
            session.rollback()
            session.close()
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    assert len(captured) == 1, captured
    return captured[0]


def query_plans(db: BenchDb, desk: Desk) -> list[tuple[str, list[str]]]:
    statement, parameters = sweep_query(db, desk)
    plans: list[tuple[str, list[str]]] = []
    with db.engine.connect() as conn:
        if db.dialect == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            plans.append(("EXPLAIN QUERY PLAN", [row[3] for row in rows]))
        else:
            rows = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters)
            plans.append(("EXPLAIN (ANALYZE, BUFFERS)", [row[0] for row in rows]))
            conn.rollback()
            # Prepared and reused (psycopg prepares a query run 5 times on a connection), the
            # server may switch to a generic plan, one that does not know `now` and the limit.
            names: list[str] = []

            def number(match: re.Match[str]) -> str:
                names.append(match.group(1))
                return f"${len(names)}"

            generic = re.sub(r"%\((\w+)\)s", number, statement)
            values = ", ".join(_literal(parameters[name]) for name in names)
            conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            conn.exec_driver_sql(f"PREPARE bench_due AS {generic}")
            rows = conn.exec_driver_sql(f"EXPLAIN EXECUTE bench_due({values})")
            plans.append(("EXPLAIN, generic plan (prepared)", [row[0] for row in rows]))
            conn.exec_driver_sql("DEALLOCATE bench_due")
            conn.exec_driver_sql("RESET plan_cache_mode")
            conn.rollback()
    return plans


def _literal(value: Any) -> str:
    if isinstance(value, datetime):
        return f"'{value.isoformat()}'::timestamptz"
    if isinstance(value, int):
        return str(value)
    raise TypeError(f"no literal for {value!r}")


# --- the report -----------------------------------------------------------------------------------


def _ms(sample: Sample) -> str:
    return (
        f"{sample.median_ms:10.2f} ms" if sample.median_ms < 10 else f"{sample.median_ms:10.1f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="SQLAlchemy URL (default: temporary SQLite files)")
    parser.add_argument("--backlog", type=int, default=100_000, help="open tickets, not due")
    parser.add_argument("--small", type=int, default=1_000, help="the baseline's backlog")
    parser.add_argument("--due", type=int, default=200, help="tickets coming due now")
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per database")
    parser.add_argument("--scan-repeat", type=int, default=3, help="timed naive loads per database")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    args = parser.parse_args(argv)
    if not 0 < args.due <= SWEEP_LIMIT:
        parser.error(f"--due must be between 1 and the sweep's limit ({SWEEP_LIMIT})")

    desk = Desk(config=parse_config(CONFIG), clock=ManualClock(NOW))
    with bench_databases(args.database, keep=args.keep) as make:
        dbs = []
        for label, backlog in (("small", args.small), ("large", args.backlog)):
            db = make(label)
            expected = populate(db, desk, backlog=backlog, due=args.due, seed=args.seed)
            dbs.append((db, backlog))
        bases = [db for db, _backlog in dbs]
        outcomes: set[tuple[str, int, int, int]] = set()

        def swept(drop_index: bool) -> Callable[[BenchDb], float]:
            def run(db: BenchDb) -> float:
                elapsed, result = rolled_back(
                    db, lambda session: sweep(session, desk, now=NOW), drop_index=drop_index
                )
                outcomes.add((db.label, result.looked_at, len(result.alerts), result.messages))
                return elapsed

            return run

        def queried(drop_index: bool) -> Callable[[BenchDb], float]:
            def run(db: BenchDb) -> float:
                elapsed, due = rolled_back(
                    db,
                    lambda session: SlaRepository(session).coming_due(now=NOW, limit=SWEEP_LIMIT),
                    drop_index=drop_index,
                )
                assert len(due) == args.due, len(due)
                return elapsed

            return run

        print("timing", file=sys.stderr)
        results = measure(
            bases,
            {
                "sweep": (swept(False), args.repeat),
                "sweep_unindexed": (swept(True), args.repeat),
                "query": (queried(False), args.repeat),
                "query_unindexed": (queried(True), args.repeat),
                "scan": (lambda db: run_scan(db)[0], args.scan_repeat),
            },
        )
        # Every run, on either database, with or without the index, did the same work.
        looked = {outcome[1:] for outcome in outcomes}
        assert len(looked) == 1, outcomes
        looked_at, alerts, messages = looked.pop()
        assert looked_at == args.due and alerts == expected, (looked_at, alerts, expected)
        plans = query_plans(dbs[1][0], desk)
        _report(args, dbs, results, plans, (looked_at, alerts, messages))
    return 0


def _report(
    args: argparse.Namespace,
    dbs: list[tuple[BenchDb, int]],
    results: dict[str, list[Sample]],
    plans: list[tuple[str, list[str]]],
    outcome: tuple[int, int, int],
) -> None:
    (_small, small_backlog), (large, large_backlog) = dbs
    server = ""
    with large.engine.connect() as conn:
        if large.dialect == "postgresql":
            server = " " + str(conn.exec_driver_sql("SHOW server_version").scalar())
        else:
            server = " " + str(conn.exec_driver_sql("SELECT sqlite_version()").scalar())
    print()
    print(
        f"SLA sweep benchmark: {large.dialect}{server}, SQLAlchemy {sqlalchemy.__version__}, "
        f"now {NOW:%Y-%m-%d %H:%M}Z"
    )
    print(
        f"{args.due} tickets coming due; every sweep looked at {outcome[0]} tickets, made "
        f"{outcome[1]} alerts and enqueued {outcome[2]} messages"
    )
    for db, backlog in dbs:
        stats = db.stats
        horizon = stats.get("next_max")
        spread = f", next one up to {(horizon - NOW).days} days ahead" if horizon else ""
        print(
            f"{db.label} database: {backlog:,} open tickets not due + {args.due} due "
            f"(backlog: {stats.get('next_future', 0):,} with a warning or breach ahead{spread}, "
            f"{stats.get('next_null', 0):,} with all said); {stats.get('sla_alerts', 0):,} "
            f"alerts, {stats.get('ticket_events', 0):,} events, {stats.get('outbox', 0):,} "
            f"outbox rows; built in {stats['build_s']:.0f} s"
        )
    print()
    head_small = f"backlog {small_backlog:,}"
    head_large = f"backlog {large_backlog:,}"
    print(
        f"{'median of repetitions':36} {head_small:>16} {head_large:>16} {'large/small':>12}"
        f" {'(of minima)':>12}"
    )
    rows = (
        ("sweep (index on sla_next_at)", "sweep", args.repeat),
        ("sweep, index dropped", "sweep_unindexed", args.repeat),
        ("due query alone (coming_due)", "query", args.repeat),
        ("due query alone, index dropped", "query_unindexed", args.repeat),
        ("naive: load every open ticket", "scan", args.scan_repeat),
    )
    for label, key, repeat in rows:
        low, high = results[key]
        ratio = high.median_ms / low.median_ms
        floor = high.min_ms / low.min_ms
        print(
            f"{label + f' (x{repeat})':36} {_ms(low):>16} {_ms(high):>16} {ratio:11.2f}x"
            f" {floor:11.2f}x"
        )
    print()
    for title, lines in plans:
        print(f"{title} of the sweep's query ({large.label} database):")
        for line in lines:
            print(f"  {line}")
    print()
    ratio = results["sweep"][1].median_ms / results["sweep"][0].median_ms
    query = results["query"][1].median_ms / results["query"][0].median_ms
    verdict = (
        "flat: its cost follows the tickets coming due, not the backlog"
        if ratio < 1.5
        else "NOT flat: check the plan above and the noise on this machine"
    )
    print(
        f"Sweep, {large_backlog:,} vs {small_backlog:,} open tickets: {ratio:.2f}x "
        f"(the due query alone: {query:.2f}x); {verdict}."
    )


if __name__ == "__main__":
    raise SystemExit(main())
