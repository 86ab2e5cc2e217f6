"""Repositories: named queries per aggregate. They `flush()`, never `commit()`: the edge commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, selectinload

from storage.models import (
    OutboxMessage,
    ProcessedEvent,
    Ticket,
    TicketEvent,
    TicketMessage,
)


class TicketRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, ticket_id: int) -> Ticket | None:
        return self.session.get(Ticket, ticket_id)

    def get_by_source(self, channel: str, ts: str) -> Ticket | None:
        return self.session.scalars(
            select(Ticket).where(Ticket.source_channel == channel, Ticket.source_ts == ts)
        ).one_or_none()

    def get_by_card(self, channel: str, ts: str) -> Ticket | None:
        return self.session.scalars(
            select(Ticket).where(Ticket.card_channel == channel, Ticket.card_ts == ts)
        ).first()

    def get_by_thread(self, channel: str, thread_ts: str) -> Ticket | None:
        """The ticket a thread belongs to: the one opened by the thread's root, else the first one
        opened from a reply in it, else the one whose card is that thread's root."""
        ticket = self.get_by_source(channel, thread_ts)
        if ticket is not None:
            return ticket
        return self.session.scalars(
            select(Ticket)
            .where(
                Ticket.source_channel == channel,
                or_(Ticket.source_thread_ts == thread_ts, Ticket.card_ts == thread_ts),
            )
            .order_by(Ticket.id)
        ).first()

    def add(self, ticket: Ticket) -> Ticket | None:
        """Insert, or return None when a ticket already exists for the same source message.

        The savepoint keeps the caller's transaction usable after the unique-constraint race that
        two concurrent deliveries of the same message (retry, message + app_mention) can cause.
        """
        try:
            with self.session.begin_nested():
                self.session.add(ticket)
                self.session.flush()
        except IntegrityError:
            return None
        return ticket

    def list_created_between(
        self, since: datetime | None, until: datetime | None
    ) -> Sequence[Ticket]:
        query = select(Ticket).options(selectinload(Ticket.tags)).order_by(Ticket.id)
        if since is not None:
            query = query.where(Ticket.created_at >= since)
        if until is not None:
            query = query.where(Ticket.created_at < until)
        return self.session.scalars(query).all()

    def log(
        self,
        ticket: Ticket,
        kind: str,
        *,
        at: datetime,
        actor: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> TicketEvent:
        entry = TicketEvent(ticket_id=ticket.id, kind=kind, actor=actor, at=at, data=data or {})
        self.session.add(entry)
        self.session.flush()
        return entry

    def events(self, ticket_id: int) -> Sequence[TicketEvent]:
        return self.session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
        ).all()

    def conversation(self, ticket_id: int) -> Sequence[TicketMessage]:
        return self.session.scalars(
            select(TicketMessage)
            .where(TicketMessage.ticket_id == ticket_id)
            .order_by(TicketMessage.ts)
        ).all()

    def get_message(self, channel: str, ts: str) -> TicketMessage | None:
        return self.session.scalars(
            select(TicketMessage).where(TicketMessage.channel == channel, TicketMessage.ts == ts)
        ).one_or_none()

    def add_message(self, message: TicketMessage) -> TicketMessage | None:
        """Insert a conversation message unless that Slack message is already kept."""
        try:
            with self.session.begin_nested():
                self.session.add(message)
                self.session.flush()
        except IntegrityError:
            return None
        return message


class ProcessedEventRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def remember(self, event_id: str, *, at: datetime) -> bool:
        """Record an event id; False when it was seen before (a Slack retry or a duplicate)."""
        try:
            with self.session.begin_nested():
                self.session.add(ProcessedEvent(event_id=event_id, received_at=at))
                self.session.flush()
        except IntegrityError:
            return False
        return True

    def forget_older_than(self, cutoff: datetime) -> int:
        result = self.session.execute(
            delete(ProcessedEvent).where(ProcessedEvent.received_at < cutoff)
        )
        return int(getattr(result, "rowcount", 0) or 0)


class OutboxRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def enqueue(
        self,
        method: str,
        payload: dict[str, Any],
        *,
        now: datetime,
        purpose: str | None = None,
        ticket_id: int | None = None,
    ) -> OutboxMessage:
        row = OutboxMessage(
            method=method,
            payload=payload,
            purpose=purpose,
            ticket_id=ticket_id,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        self.session.add(row)
        self.session.flush()
        return row

    @staticmethod
    def _is_due(now: datetime) -> list[Any]:
        """Ready to send: pending, due, not leased, and no earlier pending row of its ticket (a
        ticket's rows go one at a time, in order). Both listing and leasing check all of it, as
        another dispatcher may have rescheduled a row between the two."""
        earlier = aliased(OutboxMessage)
        blocked_by_earlier = exists().where(
            earlier.ticket_id == OutboxMessage.ticket_id,
            earlier.id < OutboxMessage.id,
            earlier.status == "pending",
        )
        return [
            OutboxMessage.status == "pending",
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now),
            or_(OutboxMessage.ticket_id.is_(None), ~blocked_by_earlier),
        ]

    def due_ids(self, *, now: datetime, limit: int) -> list[int]:
        """Ids of rows ready to send, oldest first."""
        query = (
            select(OutboxMessage.id)
            .where(*self._is_due(now))
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        return list(self.session.scalars(query).all())

    def lease(self, row_id: int, *, owner: str, now: datetime, for_: timedelta) -> bool:
        """Take a row for sending; False when another dispatcher got it or it is no longer due."""
        result = self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, *self._is_due(now))
            .values(lease_owner=owner, lease_until=now + for_)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    def get(self, row_id: int) -> OutboxMessage | None:
        return self.session.get(OutboxMessage, row_id)

    def pending(self) -> Sequence[OutboxMessage]:
        return self.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == "pending")
            .order_by(OutboxMessage.id)
        ).all()

    def count_by_status(self) -> dict[str, int]:
        rows = self.session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).all()
        return {status: int(count) for status, count in rows}
