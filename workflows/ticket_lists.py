"""The desk's ticket lists, as plain data: an agent's open tickets, the team queue, tickets close
to their SLA, a requester's own requests. App Home and `/support mine|queue` show the same lists,
so both read them from here; templates turn them into words and Block Kit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from storage.models import Ticket
from storage.ticket_lists import TicketListRepository
from workflows.vocabulary import ACTIVE_STATUSES

# How far ahead "close to SLA" looks: a deadline within the hour, or already missed.
SLA_HORIZON = timedelta(hours=1)


@dataclass(frozen=True)
class TicketLine:
    """One ticket in a list: what an agent needs to decide whether to pick it up."""

    id: int
    ref: str
    status: str  # a TicketStatus value
    priority: str  # a Priority value
    queue: str
    requester: str
    assignee: str | None
    customer: str | None
    customer_tier: str | None
    created_at: datetime
    description: str
    active: bool
    # The deadline the ticket must meet next ("first_response" or "resolution"), if any.
    due_kind: str | None = None
    due_at: datetime | None = None

    @property
    def can_claim(self) -> bool:
        return self.active and self.assignee is None


@dataclass(frozen=True)
class TicketList:
    """The first tickets of a list and how many the list holds in all."""

    lines: tuple[TicketLine, ...]
    total: int

    @property
    def more(self) -> int:
        return max(self.total - len(self.lines), 0)


def ticket_line(ticket: Ticket) -> TicketLine:
    due_kind, due_at = next_deadline(ticket)
    return TicketLine(
        id=ticket.id,
        ref=ticket.ref,
        status=ticket.status,
        priority=ticket.priority,
        queue=ticket.queue,
        requester=ticket.requester,
        assignee=ticket.assignee,
        customer=ticket.customer,
        customer_tier=ticket.customer_tier,
        created_at=ticket.created_at,
        description=ticket.description or "",
        active=ticket.status in ACTIVE_STATUSES,
        due_kind=due_kind,
        due_at=due_at,
    )


def next_deadline(ticket: Ticket) -> tuple[str | None, datetime | None]:
    """The SLA deadline the ticket must meet next (the same rule as the "close to SLA" query)."""
    first, resolution = ticket.first_response_due_at, ticket.resolution_due_at
    answered = ticket.first_response_at is not None
    if first is not None and not answered and (resolution is None or first <= resolution):
        return "first_response", first
    if resolution is not None:
        return "resolution", resolution
    return None, None


def _listed(found: tuple[Sequence[Ticket], int]) -> TicketList:
    tickets, total = found
    return TicketList(tuple(ticket_line(t) for t in tickets), total)


def open_tickets_of(session: Session, agent: str, *, limit: int) -> TicketList:
    """The agent's tickets still being worked, oldest first."""
    return _listed(TicketListRepository(session).assigned_to(agent, ACTIVE_STATUSES, limit=limit))


def team_queue(session: Session, *, limit: int) -> TicketList:
    """Every ticket still being worked: unclaimed first, then oldest first."""
    return _listed(TicketListRepository(session).in_statuses(ACTIVE_STATUSES, limit=limit))


def close_to_sla(
    session: Session, *, now: datetime, limit: int, horizon: timedelta = SLA_HORIZON
) -> TicketList:
    """Tickets still being worked whose next deadline is within `horizon` or already missed,
    soonest first."""
    repository = TicketListRepository(session)
    return _listed(repository.due_by(ACTIVE_STATUSES, until=now + horizon, limit=limit))


def requests_of(session: Session, user: str, *, limit: int) -> TicketList:
    """Tickets `user` asked for, newest first, whatever their status."""
    return _listed(TicketListRepository(session).requested_by(user, limit=limit))
