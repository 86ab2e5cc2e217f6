"""The inbox's queries: store a request once, lease due rows in order per channel, settle them.

Rows move `pending` -> `leased` -> `done`, or back to `pending` with a later `next_attempt_at`
after a failure, or to `failed` (parked) when retrying can't help. A lease that runs out (the
worker died) makes the row due again; processing is idempotent by Slack's event id, so a row done
twice changes nothing the second time.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from storage.db import URGENT
from storage.models import InboxEvent, OutboxMessage

PENDING, LEASED, DONE, FAILED = "pending", "leased", "done", "failed"


@dataclass(frozen=True)
class QueueDepth:
    """What `/metrics` says of a queue: rows waiting and the age of the oldest."""

    pending: int
    failed: int
    oldest_pending_at: datetime | None


@dataclass
class _Waiting:
    """One ack's row, waiting for the commit that stores it (or to lead that commit)."""

    values: dict[str, object]
    done: threading.Event = field(default_factory=threading.Event)
    leads: bool = False
    stored: bool = False
    error: BaseException | None = None


class InboxIntake:
    """The ack path's one write: insert a request unless its key is already stored.

    Group commit: the acks that arrive while a commit is under way are stored together by the
    next one, in one INSERT and one COMMIT, so a burst costs a commit per batch rather than per
    event, and on SQLite the threads don't queue one by one for the write lock. Alone, an ack
    writes at once. Core on a connection of its own, the statement built once: no session's
    bookkeeping."""

    def __init__(self, engine: Engine, *, batch_limit: int = 100) -> None:
        self.engine = engine
        self.batch_limit = batch_limit
        table = InboxEvent.__table__
        insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        # RETURNING, not rowcount: psycopg counts a skipped insert as a row written.
        self._insert = (
            insert(table)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(table.c.dedupe_key)
        )
        self._lock = threading.Lock()
        self._waiting: list[_Waiting] = []
        self._writing = False

    def store(
        self,
        *,
        dedupe_key: str,
        kind: str,
        event_type: str | None,
        ordering_key: str | None,
        body: str,
        now: datetime,
        parked_because: str | None = None,
    ) -> bool:
        """False for a duplicate. A request that can never be processed (`parked_because`) is
        stored parked, for `supportbot inbox`. A database error is raised to every ack of the
        batch (Slack retries each)."""
        mine = _Waiting(
            {
                "dedupe_key": dedupe_key,
                "kind": kind,
                "event_type": event_type,
                "ordering_key": ordering_key,
                "body": body,
                "status": FAILED if parked_because else PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "lease_owner": None,
                "lease_until": None,
                "last_error": parked_because,
                "received_at": now,
                "processed_at": None,
            }
        )
        with self._lock:
            self._waiting.append(mine)
            if not self._writing:
                self._writing = mine.leads = True
        if not mine.leads:
            mine.done.wait()  # stored by another ack's commit, or handed the lead
        if mine.leads:
            self._lead()
        if mine.error is not None:
            raise mine.error
        return mine.stored

    def _lead(self) -> None:
        """Write what waits (this ack's row first among them), then hand the lead on."""
        with self._lock:
            batch = self._waiting[: self.batch_limit]
            del self._waiting[: self.batch_limit]
        try:
            self._write(batch)
        finally:
            with self._lock:
                if self._waiting:
                    self._waiting[0].leads = True
                    self._waiting[0].done.set()
                else:
                    self._writing = False
            for waiting in batch:
                waiting.done.set()

    def _write(self, batch: list[_Waiting]) -> None:
        try:
            stored = self._insert_rows([waiting.values for waiting in batch])
        except (OperationalError, InterfaceError) as exc:  # the database is away: all retry
            for waiting in batch:
                waiting.error = exc
            return
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error = exc
                return
            for waiting in batch:  # one row the database refuses fails alone
                self._write([waiting])
            return
        for waiting in batch:
            key = waiting.values["dedupe_key"]
            waiting.stored = key in stored
            stored.discard(key)  # the same event twice in one batch: the second is a duplicate

    def _insert_rows(self, rows: list[dict[str, object]]) -> set[object]:
        connection = self.engine.connect().execution_options(**{URGENT: True})
        with connection, connection.begin():
            return set(connection.execute(self._insert, rows).scalars())


class InboxRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, row_id: int) -> InboxEvent | None:
        return self.session.get(InboxEvent, row_id)

    def due_ids(self, *, now: datetime, limit: int) -> list[int]:
        """Rows to process now, oldest first, at most one per ordering key: a row waits while an
        earlier row of its channel has not had its first try (a reply waits for its question).
        A row that failed once steps out of line, so it never holds up the rows behind it."""
        waiting = InboxEvent.status.in_((PENDING, LEASED))
        due = or_(
            and_(InboxEvent.status == PENDING, InboxEvent.next_attempt_at <= now),
            and_(InboxEvent.status == LEASED, InboxEvent.lease_until < now),
        )
        # The first waiting row of each channel (ix_inbox_waiting: one entry per waiting row,
        # so this costs what waits, not what the inbox has done).
        heads = (
            select(func.min(InboxEvent.id))
            .where(waiting, InboxEvent.ordering_key.is_not(None), InboxEvent.attempts == 0)
            .group_by(InboxEvent.ordering_key)
        )
        in_turn = or_(
            InboxEvent.attempts > 0, InboxEvent.ordering_key.is_(None), InboxEvent.id.in_(heads)
        )
        query = select(InboxEvent.id).where(due, in_turn).order_by(InboxEvent.id).limit(limit)
        if self.session.get_bind().dialect.name == "postgresql":
            # Another replica's lease in progress: skip its rows rather than wait for them.
            query = query.with_for_update(skip_locked=True, of=InboxEvent)
        return list(self.session.scalars(query))

    def lease(self, row_id: int, *, owner: str, now: datetime, for_: timedelta) -> bool:
        """Take the row for `for_`; False when another worker took it first."""
        result = self.session.execute(
            update(InboxEvent)
            .where(
                InboxEvent.id == row_id,
                or_(
                    InboxEvent.status == PENDING,
                    and_(InboxEvent.status == LEASED, InboxEvent.lease_until < now),
                ),
            )
            .values(status=LEASED, lease_owner=owner, lease_until=now + for_)
        )
        return bool(getattr(result, "rowcount", 0))

    def finish(self, row_ids: Sequence[int], *, owner: str, now: datetime) -> None:
        """Mark processed rows done, in one statement for a worker's whole pass."""
        self.session.execute(
            update(InboxEvent)
            .where(InboxEvent.id.in_(row_ids), InboxEvent.lease_owner == owner)
            .values(
                status=DONE,
                processed_at=now,
                lease_owner=None,
                lease_until=None,
                last_error=None,
            )
        )

    def retry_later(
        self, row_id: int, *, owner: str, error: str, at: datetime, count: bool = True
    ) -> None:
        """Due again `at`; `count=False` for a failure that wasn't the row's (the database)."""
        self.session.execute(
            update(InboxEvent)
            .where(InboxEvent.id == row_id, InboxEvent.lease_owner == owner)
            .values(
                status=PENDING,
                attempts=InboxEvent.attempts + (1 if count else 0),
                next_attempt_at=at,
                lease_owner=None,
                lease_until=None,
                last_error=error,
            )
        )

    def park(self, row_id: int, *, owner: str | None, error: str, now: datetime) -> None:
        conditions = [InboxEvent.id == row_id]
        if owner is not None:
            conditions.append(InboxEvent.lease_owner == owner)
        self.session.execute(
            update(InboxEvent)
            .where(*conditions)
            .values(
                status=FAILED,
                attempts=InboxEvent.attempts + 1,
                processed_at=now,
                lease_owner=None,
                lease_until=None,
                last_error=error,
            )
        )

    def parked(self, *, limit: int = 100) -> Sequence[InboxEvent]:
        return self.session.scalars(
            select(InboxEvent)
            .where(InboxEvent.status == FAILED)
            .order_by(InboxEvent.id)
            .limit(limit)
        ).all()

    def requeue(self, row_id: int, *, now: datetime) -> bool:
        """A parked row, due again with fresh attempts (`supportbot inbox retry ID`)."""
        result = self.session.execute(
            update(InboxEvent)
            .where(InboxEvent.id == row_id, InboxEvent.status == FAILED)
            .values(status=PENDING, attempts=0, next_attempt_at=now, processed_at=None)
        )
        return bool(getattr(result, "rowcount", 0))

    def forget_done_older_than(self, cutoff: datetime) -> int:
        """Done rows only matter while Slack may still retry them (minutes); parked rows stay."""
        result = self.session.execute(
            delete(InboxEvent).where(InboxEvent.status == DONE, InboxEvent.processed_at < cutoff)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def depth(self) -> QueueDepth:
        waiting = InboxEvent.status.in_((PENDING, LEASED))
        pending, oldest = self.session.execute(
            select(func.count(), func.min(InboxEvent.received_at)).where(waiting)
        ).one()
        failed = self.session.scalar(
            select(func.count()).select_from(InboxEvent).where(InboxEvent.status == FAILED)
        )
        return QueueDepth(int(pending or 0), int(failed or 0), _aware(oldest))


def outbox_depth(session: Session) -> QueueDepth:
    """The outbox's rows still owed to Slack, and the oldest one's age."""
    waiting = OutboxMessage.status == "pending"  # a leased row stays pending until settled
    pending, oldest = session.execute(
        select(func.count(), func.min(OutboxMessage.created_at)).where(waiting)
    ).one()
    failed = session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "failed")
    )
    return QueueDepth(int(pending or 0), int(failed or 0), _aware(oldest))


def _aware(moment: datetime | None) -> datetime | None:
    """Aggregates skip the column type, so SQLite hands back a naive (UTC) string or datetime."""
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
