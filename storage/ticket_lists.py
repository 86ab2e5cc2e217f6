"""Named list queries for what agents and requesters look at: App Home, `/support mine|queue`, the
ticket details modal. Read-only; every list is bounded by a `limit` so a view stays within Slack's
block limits however big the desk grows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from storage.models import Ticket, TicketEvent, TicketNote


class TicketListRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def assigned_to(
        self, user: str, statuses: Iterable[str], *, limit: int
    ) -> tuple[Sequence[Ticket], int]:
        """`user`'s tickets in `statuses`, oldest first, and how many there are in all."""
        where = [Ticket.assignee == user, Ticket.status.in_(list(statuses))]
        query = select(Ticket).where(*where).order_by(Ticket.created_at, Ticket.id).limit(limit)
        return self.session.scalars(query).all(), self._count(where)

    def in_statuses(self, statuses: Iterable[str], *, limit: int) -> tuple[Sequence[Ticket], int]:
        """Tickets in `statuses`, unclaimed first, then oldest first; and how many in all."""
        where = [Ticket.status.in_(list(statuses))]
        unclaimed_first = case((Ticket.assignee.is_(None), 0), else_=1)
        query = (
            select(Ticket)
            .where(*where)
            .order_by(unclaimed_first, Ticket.created_at, Ticket.id)
            .limit(limit)
        )
        return self.session.scalars(query).all(), self._count(where)

    def due_by(
        self, statuses: Iterable[str], *, until: datetime, limit: int
    ) -> tuple[Sequence[Ticket], int]:
        """Tickets in `statuses` with a deadline at or before `until` (overdue ones included),
        soonest deadline first: the first response's while nobody has answered and it comes
        first, else the resolution's. Tickets without deadlines never appear."""
        due = self.next_due()
        where = [Ticket.status.in_(list(statuses)), due <= until]
        query = select(Ticket).where(*where).order_by(due, Ticket.id).limit(limit)
        return self.session.scalars(query).all(), self._count(where)

    @staticmethod
    def next_due() -> Any:
        """The deadline a ticket must meet next, as an SQL expression (NULL when it has none)."""
        first_response_pending = and_(
            Ticket.first_response_at.is_(None),
            Ticket.first_response_due_at.is_not(None),
            or_(
                Ticket.resolution_due_at.is_(None),
                Ticket.first_response_due_at <= Ticket.resolution_due_at,
            ),
        )
        return case(
            (first_response_pending, Ticket.first_response_due_at),
            else_=Ticket.resolution_due_at,
        )

    def requested_by(self, user: str, *, limit: int) -> tuple[Sequence[Ticket], int]:
        """Tickets `user` asked for, newest first, and how many there are in all."""
        where = [Ticket.requester == user]
        query = (
            select(Ticket).where(*where).order_by(Ticket.created_at.desc(), Ticket.id.desc())
        ).limit(limit)
        return self.session.scalars(query).all(), self._count(where)

    def recent_events(self, ticket_id: int, *, limit: int) -> Sequence[TicketEvent]:
        """The ticket's last `limit` event-log entries, oldest of them first."""
        query = (
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket_id)
            .order_by(TicketEvent.id.desc())
            .limit(limit)
        )
        return list(reversed(self.session.scalars(query).all()))

    def recent_notes(self, ticket_id: int, *, limit: int) -> tuple[Sequence[TicketNote], int]:
        """The ticket's last `limit` internal notes, oldest of them first, and how many in all."""
        where = [TicketNote.ticket_id == ticket_id]
        query = select(TicketNote).where(*where).order_by(TicketNote.id.desc()).limit(limit)
        notes = list(reversed(self.session.scalars(query).all()))
        total = self.session.scalar(select(func.count()).select_from(TicketNote).where(*where))
        return notes, int(total or 0)

    def _count(self, where: list[Any]) -> int:
        total = self.session.scalar(select(func.count()).select_from(Ticket).where(*where))
        return int(total or 0)
