"""Where a ticket stands against its SLA targets, from its fields alone (pure): the thresholds
still to say, its state, and the next moment the sweep must look at it. Shared by the engine
(`workflows.sla`), the card and the export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.models import Ticket
from workflows.vocabulary import ACTIVE_STATUSES, AlertLevel, SlaState, SlaTarget, TicketStatus

STOPPED_STATUSES = (TicketStatus.RESOLVED.value, TicketStatus.CLOSED.value)


@dataclass(frozen=True)
class Threshold:
    """A moment a ticket's target asks for attention: its warning or its breach."""

    target: SlaTarget
    level: AlertLevel
    at: datetime


def thresholds(ticket: Ticket) -> list[Threshold]:
    """The ticket's warnings and breaches that may still need saying, whenever they fall: none
    for an answered first response, none for a resolution clock that stopped before them."""
    if ticket.status not in ACTIVE_STATUSES or ticket.merged_into_id is not None:
        return []
    out: list[Threshold] = []
    if ticket.first_response_at is None:
        out += _pair(
            SlaTarget.FIRST_RESPONSE, ticket.first_response_warn_at, ticket.first_response_due_at
        )
    if ticket.resolution_due_at is not None:
        found = _pair(SlaTarget.RESOLUTION, ticket.resolution_warn_at, ticket.resolution_due_at)
        stopped = ticket.sla_paused_at
        out += [t for t in found if stopped is None or t.at <= stopped]
    return out


def _pair(target: SlaTarget, warn_at: datetime | None, due_at: datetime | None) -> list[Threshold]:
    if due_at is None:
        return []
    pair = [Threshold(target, AlertLevel.BREACH, due_at)]
    if warn_at is not None and warn_at < due_at:
        pair.insert(0, Threshold(target, AlertLevel.WARNING, warn_at))
    return pair


def settle(ticket: Ticket, fired: set[tuple[str, str]], *, now: datetime) -> None:
    """The next moment the sweep must look at the ticket, and its state as of `now`."""
    waiting = [t.at for t in thresholds(ticket) if (t.target.value, t.level.value) not in fired]
    ticket.sla_next_at = min(waiting) if waiting else None
    state = sla_state(ticket, now=now)
    ticket.sla_state = state.value if state else None


# --- where a ticket stands ------------------------------------------------------------------------


def target_state(ticket: Ticket, target: SlaTarget, *, now: datetime) -> SlaState | None:
    """One target's state: ok (met, or running in time), warning, breached, paused; None when
    no target applies."""
    if target == SlaTarget.FIRST_RESPONSE:
        due, warn = ticket.first_response_due_at, ticket.first_response_warn_at
        if due is None:
            return None
        if ticket.first_response_at is not None:
            return SlaState.OK if ticket.first_response_at <= due else SlaState.BREACHED
        if ticket.status in STOPPED_STATUSES:
            return SlaState.OK  # resolved without a reply (a duplicate, a deflection)
        return _running_state(due, warn, now)
    due, warn = ticket.resolution_due_at, ticket.resolution_warn_at
    if due is None:
        return None
    if ticket.status in STOPPED_STATUSES:
        # A ticket merged away was closed without being resolved: its clock stopped then.
        resolved = ticket.resolved_at or ticket.closed_at or now
        return SlaState.OK if resolved <= due else SlaState.BREACHED
    if ticket.sla_paused_at is not None:
        return SlaState.BREACHED if due <= ticket.sla_paused_at else SlaState.PAUSED
    return _running_state(due, warn, now)


def _running_state(due: datetime, warn: datetime | None, now: datetime) -> SlaState:
    if now >= due:
        return SlaState.BREACHED
    if warn is not None and now >= warn:
        return SlaState.WARNING
    return SlaState.OK


def sla_state(ticket: Ticket, *, now: datetime) -> SlaState | None:
    """The ticket's state: breached if any target is, else warning, else paused, else ok; None
    when no target applies (the `sla_state` export field)."""
    states = [target_state(ticket, target, now=now) for target in SlaTarget]
    found = [state for state in states if state is not None]
    for state in (SlaState.BREACHED, SlaState.WARNING, SlaState.PAUSED):
        if state in found:
            return state
    return SlaState.OK if found else None
