"""Fixtures: a database per backend, the Slack stand-in, and the real app served over HTTP.

Set SUPPORTBOT_TEST_POSTGRES_URL (`.ci/run` does) and every database test also runs on PostgreSQL.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Engine, text

from bot.config import DeskConfig, parse_config
from bot.delivery import as_sent
from bot.runtime import Runtime, build_runtime
from bot.server import create_http_server
from bot.slack_driver import SlackDriver
from bot.standin import SlackStandin
from storage.db import create_db_engine
from storage.migrate import upgrade_schema
from storage.models import Base, OutboxMessage
from workflows.clock import ManualClock

SIGNING_SECRET = "test-signing-secret"
POSTGRES_URL = os.environ.get("SUPPORTBOT_TEST_POSTGRES_URL")

BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])

TEST_CONFIG: dict[str, Any] = {
    "timezone": "America/New_York",
    "agents": ["U0AGENT1", "U0AGENT2"],
    "intake": [
        {"channel": "C0HELP", "queue": "general"},
        {"channel": "C0BILLING", "queue": "billing"},
    ],
    "triage_channel": "C0TRIAGE",
    "customer_channels": [{"channel": "C0ACME", "customer": "Acme Corp", "tier": "enterprise"}],
    "engineering": [
        {"product": "default", "channel": "C0ENG"},
        {"product": "Billing", "channel": "C0ENGBILL"},
        {"product": "API", "channel": "C0ENGAPI"},
    ],
    "digests": {"channel": "C0MGRS"},
    "default_priority": "medium",
    "business_hours": {
        "days": ["mon", "tue", "wed", "thu", "fri"],
        "start": "09:00",
        "end": "17:00",
    },
    "holidays": ["2026-12-25"],
    "sla": {
        "urgent": {"first_response": "15m", "resolution": "4h"},
        "high": {"first_response": "1h", "resolution": "8h"},
        "medium": {"first_response": "4h", "resolution": "24h"},
        "low": {"first_response": "8h", "resolution": "72h"},
    },
}


@pytest.fixture
def desk_config() -> DeskConfig:
    return parse_config(TEST_CONFIG)


@pytest.fixture(scope="session", params=BACKENDS)
def migrated_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'desk.db'}"
    else:
        assert POSTGRES_URL is not None
        url = POSTGRES_URL
        admin = create_db_engine(url)
        with admin.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        admin.dispose()
    engine = create_db_engine(url)
    upgrade_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(migrated_engine: Engine) -> Iterator[Engine]:
    """A migrated database, emptied after each test (the app runs on other threads, so an outer
    rolled-back transaction can't isolate tests)."""
    yield migrated_engine
    with migrated_engine.begin() as conn:
        if migrated_engine.dialect.name == "postgresql":
            names = ", ".join(table.name for table in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())


# Where every test's clock starts unless the test sets it: a Wednesday at 10:00 in New York, inside
# the test config's business hours. The desk, the stand-in and the driver share the one clock, so
# nothing in a test reads the wall clock but the request signatures (`.ci/run` proves it by running
# the suite with the wall clock moved to other dates).
SUITE_NOW = datetime(2026, 3, 11, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(SUITE_NOW)


@pytest.fixture
def standin(clock: ManualClock) -> Iterator[SlackStandin]:
    with SlackStandin(clock=clock) as server:
        yield server


@dataclass
class DeskUnderTest:
    runtime: Runtime
    standin: SlackStandin
    slack: SlackDriver
    clock: ManualClock

    def deliver(self) -> int:
        """Process the events Slack was answered for, then send what the outbox owes, until both
        are idle (tests run the inbox worker and the dispatcher by hand, deterministically)."""
        return self.runtime.settle()

    def process_events(self) -> int:
        """Only process the inbox: what the events changed, before anything is sent."""
        return self.runtime.inbox.drain()

    def session(self) -> Any:
        return self.runtime.session_factory.begin()


def serve(runtime: Runtime) -> tuple[Any, str]:
    server = create_http_server(runtime.wsgi(), host="127.0.0.1", port=0, threads=4)

    def run() -> None:
        # The test closes the sockets under the loop: that is how it stops.
        with contextlib.suppress(OSError):
            server.run()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return server, f"http://127.0.0.1:{server.effective_port}"


@contextlib.contextmanager
def running_desk(
    engine: Engine,
    standin: SlackStandin,
    clock: ManualClock,
    config: DeskConfig,
    *,
    process_events: bool = True,
) -> Iterator[DeskUnderTest]:
    """The real app with `config`, served over HTTP against the stand-in, until the block ends.
    `process_events`: the inbox is worked right after each event's ack (else only by hand)."""
    runtime = build_runtime(
        config=config,
        database_url=str(engine.url),
        api_url=standin.url,
        bot_token="xoxb-standin",
        signing_secret=SIGNING_SECRET,
        clock=clock,
        engine=engine,
    )
    server, base = serve(runtime)
    driver = SlackDriver(
        f"{base}/slack/events", SIGNING_SECRET, clock=clock, next_ts=standin.next_ts
    )
    if process_events:
        driver.after_event = runtime.inbox.drain
    try:
        yield DeskUnderTest(runtime, standin, driver, clock)
    finally:
        server.close()
        runtime.inbox.stop()
        runtime.dispatcher.stop()


@pytest.fixture
def desk(
    engine: Engine, standin: SlackStandin, clock: ManualClock, desk_config: DeskConfig
) -> Iterator[DeskUnderTest]:
    with running_desk(engine, standin, clock, desk_config) as running:
        yield running


def run_together(*calls: Callable[[], Any]) -> list[Any]:
    """Run each call on its own thread, all released at the same moment; their results."""
    barrier = threading.Barrier(len(calls), timeout=30)
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except BaseException as exc:  # re-raised on the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a call never finished"
    if errors:
        raise errors[0]
    return results


def new_id() -> str:
    return uuid.uuid4().hex[:8]


PROJECT_ROOT = Path(__file__).resolve().parent.parent


def as_told(rows: Sequence[OutboxMessage]) -> list[SimpleNamespace]:
    """Outbox rows as their people read them: a private notice keeps its facts until
    `bot.delivery` words it as it is sent."""
    columns = [column.key for column in OutboxMessage.__mapper__.column_attrs]
    return [
        SimpleNamespace(
            **{key: getattr(row, key) for key in columns if key != "payload"},
            payload=as_sent(row.payload),
        )
        for row in rows
    ]
