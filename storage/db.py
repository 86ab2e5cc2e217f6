"""Engines and sessions.

One unit of work per request or job: `with session_factory.begin() as session:` at the edge.
SQLite is
configured for several threads (HTTP workers, dispatcher, scheduler) writing one file: WAL, a busy
timeout, and `BEGIN IMMEDIATE` so a transaction takes the write lock up front instead of failing to
upgrade a read lock halfway through. The threads of one process take turns at that lock in Python
(`WriteTurns`), acks first, rather than in SQLite's busy handler.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SessionFactory = sessionmaker[Session]
# Execution option of a connection that only reads (see `read_only`).
READ_ONLY = "supportbot_read_only"
# Execution option of a write Slack is waiting for (the inbox's ack): it goes first on SQLite.
URGENT = "supportbot_urgent"


class WriteTurns:
    """SQLite's one write lock, taken in turns by the threads of one process.

    Without it a thread that finds the lock taken waits in SQLite's busy handler, which sleeps in
    growing steps (up to 100 ms) and lets whichever thread wakes first in: under a burst an ack
    waited 800 ms behind the workers. Here a waiting thread is woken as soon as the lock is free,
    and urgent writers (acks) go before the others, who wait at most `patience` for them.
    Other processes still meet in SQLite's busy handler."""

    def __init__(self, *, patience: float = 0.25, longest_wait: float = 30.0) -> None:
        self._changed = threading.Condition()
        self._held = False
        self._urgent_waiting = 0
        self._overdue_waiting = 0
        self.patience = patience
        self.longest_wait = longest_wait

    def take(self, *, urgent: bool) -> bool:
        """Wait for the turn; False after `longest_wait` (SQLite's own busy timeout takes over).
        A writer that gave way for `patience` is overdue: then the acks wait for it."""
        started = time.monotonic()
        give_way_until = started + (0.0 if urgent else self.patience)
        overdue = False
        with self._changed:
            if urgent:
                self._urgent_waiting += 1
            try:
                while True:
                    now = time.monotonic()
                    if not urgent and not overdue and now >= give_way_until:
                        overdue = True
                        self._overdue_waiting += 1
                    if urgent:
                        may_take = not self._overdue_waiting
                    else:
                        may_take = overdue or not self._urgent_waiting
                    if not self._held and may_take:
                        self._held = True
                        return True
                    if now - started >= self.longest_wait:
                        return False
                    wait = 0.05 if overdue or urgent else min(0.05, give_way_until - now)
                    self._changed.wait(timeout=max(wait, 0.0005))
            finally:
                if urgent:
                    self._urgent_waiting -= 1
                if overdue:
                    self._overdue_waiting -= 1
                    self._changed.notify_all()

    def give_back(self) -> None:
        with self._changed:
            self._held = False
            self._changed.notify_all()


def _turn_taking_connection(turns: WriteTurns) -> type[sqlite3.Connection]:
    """A sqlite3 connection that gives its turn back once its COMMIT or ROLLBACK is done (an
    engine event fires before the DBAPI call, too early: the next writer would meet the lock)."""

    class TurnTakingConnection(sqlite3.Connection):
        has_turn = False

        def take_turn(self, *, urgent: bool) -> None:
            self.has_turn = turns.take(urgent=urgent)

        def give_back_turn(self) -> None:
            if self.has_turn:
                self.has_turn = False
                turns.give_back()

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                self.give_back_turn()

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                self.give_back_turn()

        def close(self) -> None:
            try:
                super().close()
            finally:
                self.give_back_turn()

    return TurnTakingConnection


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, **kwargs)

    turns = WriteTurns()
    engine = create_engine(
        url,
        connect_args={
            "check_same_thread": False,
            "timeout": 30,
            "factory": _turn_taking_connection(turns),
        },
        **kwargs,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself (see below) instead of pysqlite's deferred BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if parsed.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL syncs at checkpoints, not at every commit: a process killed at
            # any moment loses nothing committed (only a power cut can take the last commits),
            # and an ack's commit costs no fsync.
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        if options.get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
            return
        dbapi_connection = conn.connection.dbapi_connection
        dbapi_connection.take_turn(urgent=bool(options.get(URGENT)))
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            dbapi_connection.give_back_turn()
            raise

    return engine


def create_session_factory(engine: Engine) -> SessionFactory:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def read_only(session_factory: SessionFactory) -> Iterator[Session]:
    """A unit of work that only reads (the digests' figures, `/support stats`): on SQLite its
    BEGIN is deferred, so it takes no write lock and, in WAL mode, neither waits for writers nor
    holds them up for the seconds a digest's aggregates take. Nothing it does is committed."""
    with session_factory() as session:
        session.connection(execution_options={READ_ONLY: True})
        try:
            yield session
        finally:
            session.rollback()


def database_is_reachable(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        return False
    return True
