"""What people see of the desk outside a ticket's thread: App Home, a ticket's details (App Home's
Open button), and the private answers to `/support mine|queue|away|note`.

An agent's home is their work: their open tickets, the team queue and what is close to its SLA.
Anyone else's home lists their own requests. Homes are rendered when the outbox sends them
(`home_for`, worded by `bot.delivery`), from the database as it is then; everything here only
reads, except `toggle_away` and `note_by_command`. No Slack imports: handlers turn Slack payloads
into these calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from storage.repositories import TicketRepository
from storage.ticket_lists import TicketListRepository
from workflows.agents import is_agent, is_away, set_away
from workflows.delivery import Notice, Wording, post_direct, publish_home
from workflows.desk import Desk
from workflows.ticket_lists import (
    TicketLine,
    TicketList,
    close_to_sla,
    open_tickets_of,
    requests_of,
    team_queue,
    ticket_line,
)
from workflows.triage import ActionKind, TicketAction, perform
from workflows.vocabulary import Via

if TYPE_CHECKING:
    pass

# Each ticket in App Home is two blocks (its line and its buttons): these limits keep an agent's
# home near 70 blocks, well inside Slack's 100 per view.
HOME_MINE_LIMIT = 10
HOME_QUEUE_LIMIT = 15
HOME_SLA_LIMIT = 5
REQUESTS_LIMIT = 20
# Command answers are one block a ticket, and an ack body should stay small.
COMMAND_LIST_LIMIT = 20
DETAILS_NOTES_LIMIT = 15
DETAILS_EVENTS_LIMIT = 10
# Ticket ids are 32-bit on PostgreSQL: a typed ref beyond that names no ticket (and must not
# reach the database, which would refuse the query).
MAX_TICKET_ID = 2**31 - 1


# --- App Home ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentHome:
    user: str
    now: datetime
    away: bool
    mine: TicketList
    queue: TicketList
    near_sla: TicketList


@dataclass(frozen=True)
class RequesterHome:
    user: str
    now: datetime
    requests: TicketList


def home_for(session: Session, desk: Desk, user: str) -> AgentHome | RequesterHome:
    now = desk.clock.now()
    if not is_agent(session, desk, user):
        return RequesterHome(user, now, requests_of(session, user, limit=REQUESTS_LIMIT))
    return AgentHome(
        user=user,
        now=now,
        away=is_away(session, user),
        mine=open_tickets_of(session, user, limit=HOME_MINE_LIMIT),
        queue=team_queue(session, limit=HOME_QUEUE_LIMIT),
        near_sla=close_to_sla(session, now=now, limit=HOME_SLA_LIMIT),
    )


def home_opened(session: Session, desk: Desk, user: str) -> None:
    """`user` opened the app's Home tab: owe them a fresh one."""
    publish_home(session, user, now=desk.clock.now())


# --- a ticket's details ------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteLine:
    author: str
    text: str
    at: datetime


@dataclass(frozen=True)
class EventLine:
    kind: str  # an EventKind value
    actor: str | None
    at: datetime


@dataclass(frozen=True)
class TicketDetails:
    """Everything the details modal shows; for agents' eyes only (internal notes)."""

    line: TicketLine
    now: datetime
    issue_type: str | None
    product: str | None
    tags: tuple[str, ...]
    internal_priority: str | None
    support_type: str | None
    client_priority: str | None
    departments: tuple[str, ...]
    permalink: str | None
    notes: tuple[NoteLine, ...]
    notes_total: int
    events: tuple[EventLine, ...]


def open_ticket_details(
    session: Session, desk: Desk, *, ticket_id: int, viewer: str, viewer_is_external: bool = False
) -> TicketDetails | None:
    """The ticket's details for an agent. Anyone else, or a ticket that is gone, gets a private
    message through the outbox instead, and None."""
    now = desk.clock.now()
    if not is_agent(session, desk, viewer, is_external=viewer_is_external):
        notice = Notice(Wording.DESK, "details_not_agent")
        post_direct(session, user=viewer, message=notice, now=now)
        return None
    ticket = TicketRepository(session).get(ticket_id) if ticket_id <= MAX_TICKET_ID else None
    if ticket is None:
        notice = Notice(Wording.DESK, "no_ticket", {"ref": f"#{ticket_id}"})
        post_direct(session, user=viewer, message=notice, now=now)
        return None
    lists = TicketListRepository(session)
    notes, notes_total = lists.recent_notes(ticket.id, limit=DETAILS_NOTES_LIMIT)
    events = lists.recent_events(ticket.id, limit=DETAILS_EVENTS_LIMIT)
    return TicketDetails(
        line=ticket_line(ticket),
        now=now,
        issue_type=ticket.issue_type,
        product=ticket.product,
        tags=tuple(t.tag for t in ticket.tags),
        internal_priority=ticket.internal_priority,
        support_type=ticket.support_type,
        client_priority=ticket.client_priority,
        departments=tuple(ticket.departments or ()),
        permalink=ticket.permalink,
        notes=tuple(NoteLine(n.author, n.text, n.created_at) for n in notes),
        notes_total=notes_total,
        events=tuple(EventLine(e.kind, e.actor, e.at) for e in events),
    )


# --- /support mine, queue, away, note ----------------------------------------------------------


class ListKind(StrEnum):
    MINE = "mine"  # an agent's open tickets
    REQUESTS = "requests"  # anyone's own requests
    QUEUE = "queue"  # the team queue


@dataclass(frozen=True)
class ListAnswer:
    kind: ListKind
    tickets: TicketList
    now: datetime


def list_mine(session: Session, desk: Desk, user: str, *, is_external: bool = False) -> ListAnswer:
    """An agent's own open tickets; for anyone else, the tickets they asked for."""
    now = desk.clock.now()
    if is_agent(session, desk, user, is_external=is_external):
        tickets = open_tickets_of(session, user, limit=COMMAND_LIST_LIMIT)
        return ListAnswer(ListKind.MINE, tickets, now)
    return ListAnswer(ListKind.REQUESTS, requests_of(session, user, limit=COMMAND_LIST_LIMIT), now)


def list_queue(
    session: Session, desk: Desk, user: str, *, is_external: bool = False
) -> ListAnswer | None:
    """The team queue, for agents only (None for anyone else)."""
    if not is_agent(session, desk, user, is_external=is_external):
        return None
    tickets = team_queue(session, limit=COMMAND_LIST_LIMIT)
    return ListAnswer(ListKind.QUEUE, tickets, desk.clock.now())


def toggle_away(
    session: Session, desk: Desk, user: str, *, at: datetime, is_external: bool = False
) -> bool | None:
    """Flip the agent's away status and return the new one (None: not an agent, nothing
    changed). Their App Home shows the status, so it is republished."""
    if not is_agent(session, desk, user, is_external=is_external):
        return None
    away = not is_away(session, user)
    set_away(session, desk, user, away, at=at)
    publish_home(session, user, now=desk.clock.now())
    return away


class NoteOutcome(StrEnum):
    DONE = "done"  # saved, or refused by the triage rules; the outbox tells the agent either way
    NO_TICKET = "no_ticket"  # the ref names no ticket, or the thread is not a ticket's


def note_by_command(
    session: Session,
    desk: Desk,
    *,
    actor: str,
    text: str,
    at: datetime,
    channel: str,
    ticket_id: int | None = None,
    thread_ts: str | None = None,
    actor_is_external: bool = False,
) -> NoteOutcome:
    """`/support note #42 <text>`, or without a ref when typed in a ticket's thread. The note
    is added by the triage rules (agents only), which answer the actor privately."""
    tickets = TicketRepository(session)
    if ticket_id is not None:
        ticket = tickets.get(ticket_id) if ticket_id <= MAX_TICKET_ID else None
    elif thread_ts is not None:
        ticket = tickets.get_by_thread(channel, thread_ts)
    else:
        ticket = None
    if ticket is None:
        return NoteOutcome.NO_TICKET
    perform(
        session,
        desk,
        TicketAction(
            kind=ActionKind.NOTE,
            ticket_id=ticket.id,
            actor=actor,
            at=at,
            via=Via.COMMAND,
            actor_is_external=actor_is_external,
            text=text,
            reply_channel=channel,
            reply_thread_ts=thread_ts,
        ),
    )
    return NoteOutcome.DONE
