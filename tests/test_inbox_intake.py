"""The ack path's write under load: acks that arrive together are stored together (group commit),
each told truly whether its event was new, and on SQLite the threads of one process take turns
at the write lock, acks first."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import OperationalError

from storage.db import URGENT, WriteTurns
from storage.inbox import InboxIntake
from storage.models import InboxEvent

NOW = datetime(2026, 3, 11, 15, 0, tzinfo=UTC)


def store(intake: InboxIntake, key: str, *, channel: str = "C0HELP") -> bool:
    return intake.store(
        dedupe_key=key,
        kind="event",
        event_type="message",
        ordering_key=channel,
        body=json.dumps({"event_id": key}),
        now=NOW,
    )


def stored_keys(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(select(InboxEvent.dedupe_key).order_by(InboxEvent.id)))


def run_threads(count: int, target: Any) -> list[Any]:
    results: list[Any] = [None] * count
    start = threading.Barrier(count)

    def run(index: int) -> None:
        start.wait()
        try:
            results[index] = target(index)
        except BaseException as exc:  # handed back to the test
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_concurrent_acks_are_each_stored_once_and_told_so(engine: Engine) -> None:
    intake = InboxIntake(engine, batch_limit=7)
    # 40 threads, 20 event ids: each id sent twice at the same moment (Slack's retry racing it).
    results = run_threads(40, lambda i: store(intake, f"Ev{i % 20:04d}"))
    assert all(isinstance(result, bool) for result in results), results
    assert sum(results) == 20  # exactly one of each pair was stored, the other is a duplicate
    assert sorted(stored_keys(engine)) == sorted(f"Ev{i:04d}" for i in range(20))
    assert store(intake, "Ev0003") is False  # and later retries stay duplicates


def test_a_batch_keeps_the_order_the_acks_arrived_in(engine: Engine) -> None:
    intake = InboxIntake(engine)
    real_insert = intake._insert_rows
    batches: list[int] = []

    def slow_insert(rows: list[dict[str, object]]) -> set[object]:
        batches.append(len(rows))
        time.sleep(0.3)  # the others queue behind the first commit
        return real_insert(rows)

    intake._insert_rows = slow_insert  # type: ignore[method-assign]
    threads = [
        threading.Thread(target=store, args=(intake, f"Ev{index:04d}")) for index in range(6)
    ]
    for thread in threads:
        thread.start()
        time.sleep(0.02)  # each joins the queue after the one before
    for thread in threads:
        thread.join(timeout=30)
    assert batches == [1, 5]  # the first alone, the five that waited in one commit
    assert stored_keys(engine) == [f"Ev{index:04d}" for index in range(6)]


def test_a_row_the_database_refuses_fails_alone(engine: Engine) -> None:
    intake = InboxIntake(engine)
    real_insert = intake._insert_rows
    calls: list[int] = []

    def picky_insert(rows: list[dict[str, object]]) -> set[object]:
        calls.append(len(rows))
        if any(row["dedupe_key"] == "EvBAD" for row in rows):
            raise ValueError("refused")
        return real_insert(rows)

    intake._insert_rows = picky_insert  # type: ignore[method-assign]
    from storage.inbox import _Waiting

    batch = [
        _Waiting({**_values("EvGOOD1")}),
        _Waiting({**_values("EvBAD")}),
        _Waiting({**_values("EvGOOD2")}),
    ]
    intake._write(batch)
    assert [w.stored for w in batch] == [True, False, True]
    assert isinstance(batch[1].error, ValueError)
    assert batch[0].error is None and batch[2].error is None
    assert calls == [3, 1, 1, 1]
    assert stored_keys(engine) == ["EvGOOD1", "EvGOOD2"]


def test_a_database_away_fails_every_ack_of_the_batch_for_slack_to_retry(engine: Engine) -> None:
    intake = InboxIntake(engine)

    def away(rows: list[dict[str, object]]) -> set[object]:
        raise OperationalError("INSERT", {}, Exception("connection refused"))

    intake._insert_rows = away  # type: ignore[method-assign]
    results = run_threads(5, lambda i: store(intake, f"Ev{i:04d}"))
    assert all(isinstance(result, OperationalError) for result in results)
    intake._insert_rows = InboxIntake(engine)._insert_rows  # type: ignore[method-assign]
    assert store(intake, "Ev0000") is True  # the lead was handed back: the next ack writes


def _values(key: str) -> dict[str, object]:
    return {
        "dedupe_key": key,
        "kind": "event",
        "event_type": "message",
        "ordering_key": "C0HELP",
        "body": "{}",
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": NOW,
        "lease_owner": None,
        "lease_until": None,
        "last_error": None,
        "received_at": NOW,
        "processed_at": None,
    }


def test_an_ack_goes_before_a_waiting_worker_transaction() -> None:
    turns = WriteTurns(patience=5.0)
    assert turns.take(urgent=False)  # a worker holds the lock
    order: list[str] = []

    def worker() -> None:
        turns.take(urgent=False)
        order.append("worker")
        turns.give_back()

    def ack() -> None:
        turns.take(urgent=True)
        order.append("ack")
        turns.give_back()

    waiting_worker = threading.Thread(target=worker)
    waiting_worker.start()
    time.sleep(0.05)
    waiting_ack = threading.Thread(target=ack)
    waiting_ack.start()
    time.sleep(0.05)
    turns.give_back()
    waiting_worker.join(timeout=10)
    waiting_ack.join(timeout=10)
    assert order == ["ack", "worker"]


def test_a_worker_waits_for_acks_only_so_long() -> None:
    turns = WriteTurns(patience=0.05)
    stop = threading.Event()

    def acks() -> None:  # a steady stream of acks
        while not stop.is_set():
            turns.take(urgent=True)
            time.sleep(0.001)
            turns.give_back()

    streams = [threading.Thread(target=acks) for _ in range(3)]
    for stream in streams:
        stream.start()
    try:
        started = time.monotonic()
        assert turns.take(urgent=False)
        waited = time.monotonic() - started
        turns.give_back()
    finally:
        stop.set()
        for stream in streams:
            stream.join(timeout=10)
    assert waited < 2.0


@pytest.mark.parametrize("urgent", [True, False])
def test_sqlite_transactions_take_and_give_back_their_turn(engine: Engine, urgent: bool) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the turns are SQLite's")
    for _ in range(3):  # a turn not given back would make the second one wait 30 s
        connection = engine.connect().execution_options(**{URGENT: urgent})
        with connection, connection.begin():
            connection.execute(text("SELECT 1"))
        with engine.connect() as failing, pytest.raises(OperationalError), failing.begin():
            failing.execute(text("SELECT * FROM no_such_table"))
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(InboxEvent)) == 0
