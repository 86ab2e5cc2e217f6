"""Working a ticket: claim, unclaim, reassign, wait on the customer, resolve, reopen, close.

Every status change is here and nowhere else. Each is one conditional `UPDATE … WHERE` on the
ticket's current status and assignee, so two agents pressing Claim together (on SQLite or on
PostgreSQL, in one process or in several) leave exactly one winner, and a retried or doubled
request finds its work done and changes nothing. Each change is written to the ticket's event log
with the Slack event's own time, updates the card and tells the requester what they need to know.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.orm import Session

from storage.models import Ticket, TicketEvent, TicketNote
from storage.repositories import EscalationRepository, NoteRepository, TicketRepository
from workflows.agents import is_agent, pick_assignee
from workflows.csat import ask_for_feedback
from workflows.delivery import (
    Notice,
    Wording,
    post_in_engineering_thread,
    post_thread_notice,
    publish_home,
    refresh_card,
    tell_privately,
)
from workflows.desk import Desk
from workflows.sla import plan as plan_sla
from workflows.vocabulary import (
    ACTIVE_STATUSES,
    LIVE_ESCALATION_STATES,
    EscalationKind,
    EscalationState,
    EventKind,
    TicketStatus,
    Via,
)

MAX_NOTE = 3000


class ActionKind(StrEnum):
    CLAIM = "claim"
    UNCLAIM = "unclaim"
    REASSIGN = "reassign"
    WAIT = "wait"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    NOTE = "note"


class Refusal(StrEnum):
    """Why an action changed nothing; each has its own private explanation."""

    NO_TICKET = "no_ticket"
    NOT_AGENT = "not_agent"
    EXTERNAL = "external"
    ALREADY_CLAIMED = "already_claimed"
    NOT_CLAIMED = "not_claimed"
    TARGET_NOT_AGENT = "target_not_agent"
    ALREADY_ASSIGNED = "already_assigned"
    ALREADY_RESOLVED = "already_resolved"
    CLOSED = "closed"
    NOT_RESOLVED = "not_resolved"
    ALREADY_WAITING = "already_waiting"
    EMPTY_NOTE = "empty_note"
    NOT_CUSTOMER_TICKET = "not_customer_ticket"
    MERGED = "merged"
    NOTE_TOO_LONG = "note_too_long"
    NO_ESCALATION_TARGETS = "no_escalation_targets"
    NOT_ESCALATED = "not_escalated"
    NO_ESCALATION = "no_escalation"  # an escalation card whose escalation is gone
    ESCALATION_OVER = "escalation_over"  # withdrawn or passed back: nothing left to do there


@dataclass(frozen=True)
class TicketAction:
    """An agent's action on a ticket, however it arrived (button, emoji, App Home, command)."""

    kind: ActionKind
    ticket_id: int
    actor: str
    at: datetime  # the Slack event's time: `action_ts`, a reaction's `event_ts`
    via: Via
    actor_is_external: bool = False
    target: str | None = None  # reassign: the new assignee
    text: str | None = None  # note: what it says
    # Where to answer the actor privately; without it (App Home) the answer is a DM.
    reply_channel: str | None = None
    reply_thread_ts: str | None = None


@dataclass(frozen=True)
class ActionResult:
    done: bool
    ticket_id: int | None = None
    refusal: Refusal | None = None


# --- the entry point ---------------------------------------------------------------------------


def perform(session: Session, desk: Desk, action: TicketAction) -> ActionResult:
    """Check who is asking, make the change, and say what happened to whom it concerns."""
    ticket = TicketRepository(session).get(action.ticket_id)
    if ticket is None:
        return _refuse(session, desk, action, None, Refusal.NO_TICKET)
    if action.actor_is_external:
        return _refuse(session, desk, action, ticket, Refusal.EXTERNAL)
    if not is_agent(session, desk, action.actor):
        return _refuse(session, desk, action, ticket, Refusal.NOT_AGENT)
    change = _CHANGES[action.kind]
    refusal = change(session, desk, ticket, action)
    if refusal is not None:
        return _refuse(session, desk, action, ticket, refusal)
    if action.via == Via.HOME:
        publish_home(session, action.actor, now=desk.clock.now())
    return ActionResult(True, ticket.id)


def react(
    session: Session,
    desk: Desk,
    *,
    reaction: str,
    channel: str,
    ts: str,
    user: str,
    at: datetime,
    user_is_external: bool = False,
    removed: bool = False,
) -> ActionResult | None:
    """An emoji on a ticket's message or card: the claim emoji claims, the resolve emoji
    resolves; taking the claim emoji back unclaims, if it was the assignee's. Emoji on other
    messages are none of the desk's business (None). Reaction events don't carry the reactor's
    team, so someone is external when the event says so or when they wrote to us from another
    workspace before."""
    reactions = desk.config.reactions
    kinds = {reactions.claim: ActionKind.CLAIM, reactions.resolve: ActionKind.RESOLVE}
    kind = kinds.get(reaction)
    if kind is None:
        return None
    ticket = ticket_for_message(session, channel, ts)
    if ticket is None:
        return None
    if user_is_external or TicketRepository(session).is_known_external(user):
        # A customer's emoji is a customer's emoji (their ✅ may mean "works now"): it changes
        # nothing, and is not answered either.
        return ActionResult(False, ticket.id, Refusal.EXTERNAL)
    if removed:
        if kind != ActionKind.CLAIM or ticket.assignee != user:
            return None
        kind = ActionKind.UNCLAIM
    action = TicketAction(
        kind=kind,
        ticket_id=ticket.id,
        actor=user,
        at=at,
        via=Via.REACTION,
        actor_is_external=user_is_external,
        reply_channel=channel,
        reply_thread_ts=ticket.thread_ts if ticket.source_channel == channel else ticket.card_ts,
    )
    return perform(session, desk, action)


def ticket_for_message(session: Session, channel: str, ts: str) -> Ticket | None:
    """The ticket a message stands for: the one it opened, or the one whose card it is."""
    tickets = TicketRepository(session)
    return tickets.get_by_source(channel, ts) or tickets.get_by_card(channel, ts)


# --- the changes -------------------------------------------------------------------------------


def _claim(session: Session, desk: Desk, ticket: Ticket, action: TicketAction) -> Refusal | None:
    changed = _transition(
        session,
        desk,
        ticket,
        at=action.at,
        where=[Ticket.assignee.is_(None), Ticket.status.in_(ACTIVE_STATUSES)],
        assignee=action.actor,
        claimed_at=action.at,
        status=_claimed_unless_further(),
    )
    if not changed:
        if ticket.assignee == action.actor and ticket.status in ACTIVE_STATUSES:
            return None  # a double click or a retried request: it is already theirs
        return _why_not_open(ticket) or Refusal.ALREADY_CLAIMED
    _log(session, ticket, EventKind.CLAIMED, action)
    post_thread_notice(session, ticket, "claimed", now=desk.clock.now(), actor=action.actor)
    refresh_card(session, ticket, now=desk.clock.now())
    return None


def _unclaim(session: Session, desk: Desk, ticket: Ticket, action: TicketAction) -> Refusal | None:
    previous = ticket.assignee
    changed = _transition(
        session,
        desk,
        ticket,
        at=action.at,
        where=[Ticket.assignee.is_not(None), Ticket.status.in_(ACTIVE_STATUSES)],
        assignee=None,
        claimed_at=None,
        status=case(
            (Ticket.status == TicketStatus.CLAIMED, TicketStatus.OPEN.value),
            else_=Ticket.status,
        ),
    )
    if not changed:
        return _why_not_open(ticket) or Refusal.NOT_CLAIMED
    _log(session, ticket, EventKind.UNCLAIMED, action, previous=previous)
    refresh_card(session, ticket, now=desk.clock.now())
    return None


def _reassign(session: Session, desk: Desk, ticket: Ticket, action: TicketAction) -> Refusal | None:
    target = action.target
    if not target or not is_agent(session, desk, target):
        return Refusal.TARGET_NOT_AGENT
    return assign_ticket(
        session, desk, ticket, target, at=action.at, by=action.actor, via=action.via
    )


def assign_ticket(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    agent: str,
    *,
    at: datetime,
    by: str | None,
    via: Via,
    only_if_unassigned: bool = False,
) -> Refusal | None:
    """Give the ticket to `agent` (Reassign, a rule's `assign`, auto-assignment) and tell them in
    the thread, which notifies them. Automatic assignment (`only_if_unassigned`) never takes a
    ticket from someone who claimed it meanwhile."""
    previous = ticket.assignee
    unassigned = Ticket.assignee.is_(None)
    changed = _transition(
        session,
        desk,
        ticket,
        at=at,
        where=[
            Ticket.status.in_(ACTIVE_STATUSES),
            unassigned if only_if_unassigned else or_(unassigned, Ticket.assignee != agent),
        ],
        assignee=agent,
        claimed_at=at,
        status=_claimed_unless_further(),
    )
    if not changed:
        if ticket.assignee == agent and ticket.status in ACTIVE_STATUSES:
            return Refusal.ALREADY_ASSIGNED
        return _why_not_open(ticket) or Refusal.ALREADY_ASSIGNED
    TicketRepository(session).log(
        ticket,
        EventKind.ASSIGNED,
        at=at,
        actor=by,
        data={"via": via.value, "assignee": agent, "previous": previous},
    )
    post_thread_notice(session, ticket, "assigned", now=desk.clock.now(), assignee=agent)
    refresh_card(session, ticket, now=desk.clock.now())
    return None


def auto_assign(session: Session, desk: Desk, ticket: Ticket, *, at: datetime) -> str | None:
    """Hand a new, unassigned ticket to its queue's next agent, when the queue says so."""
    if ticket.assignee is not None or ticket.status != TicketStatus.OPEN:
        return None
    agent = pick_assignee(session, desk, ticket.queue, at=at)
    if agent is None:
        return None
    refusal = assign_ticket(
        session, desk, ticket, agent, at=at, by=None, via=Via.AUTO_ASSIGN, only_if_unassigned=True
    )
    if refusal is None:
        return agent
    return None


def _wait(session: Session, desk: Desk, ticket: Ticket, action: TicketAction) -> Refusal | None:
    changed = _transition(
        session,
        desk,
        ticket,
        at=action.at,
        where=[
            Ticket.status.in_([TicketStatus.OPEN, TicketStatus.CLAIMED, TicketStatus.ESCALATED])
        ],
        status=TicketStatus.WAITING_ON_CUSTOMER.value,
        assignee=func.coalesce(Ticket.assignee, action.actor),
        claimed_at=func.coalesce(Ticket.claimed_at, action.at),
    )
    if not changed:
        if ticket.status == TicketStatus.WAITING_ON_CUSTOMER:
            return Refusal.ALREADY_WAITING
        return _why_not_open(ticket) or Refusal.ALREADY_WAITING
    _log(session, ticket, EventKind.WAITING_ON_CUSTOMER, action)
    refresh_card(session, ticket, now=desk.clock.now())
    return None


def wait_on_requester(
    session: Session, desk: Desk, ticket: Ticket, *, by: str, at: datetime, via: Via
) -> Refusal | None:
    """The ticket waits on the requester's answer (Ask customer); its resolution clock pauses."""
    action = TicketAction(kind=ActionKind.WAIT, ticket_id=ticket.id, actor=by, at=at, via=via)
    return _wait(session, desk, ticket, action)


def _resolve(session: Session, desk: Desk, ticket: Ticket, action: TicketAction) -> Refusal | None:
    return _mark_resolved(
        session,
        desk,
        ticket,
        by=action.actor,
        at=action.at,
        data={"via": action.via.value},
        takes_it=True,
    )


def resolve_by_requester(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    *,
    by: str,
    at: datetime,
    via: Via = Via.SELF_SERVE,
    data: dict[str, Any] | None = None,
) -> Refusal | None:
    """The requester says they have their answer (a knowledge-base article solved it). The ticket
    is resolved like any other, but it is nobody's work: the requester never becomes its
    assignee, and they were told in their own thread already, so no "resolved" notice."""
    return _mark_resolved(
        session,
        desk,
        ticket,
        by=by,
        at=at,
        data={"via": via.value, **(data or {})},
        takes_it=False,
    )


def _mark_resolved(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    *,
    by: str,
    at: datetime,
    data: dict[str, Any],
    takes_it: bool,
) -> Refusal | None:
    """Every resolution: the SLA clock stops, the card shows it, CSAT is asked (when it is),
    engineering hears the requester has an answer. `takes_it`: an agent resolving an unassigned
    ticket did the work, so it counts as theirs (and the requester is told in the thread)."""
    values: dict[str, Any] = {"status": TicketStatus.RESOLVED.value, "resolved_at": at}
    if takes_it:
        values["assignee"] = func.coalesce(Ticket.assignee, by)
        values["claimed_at"] = func.coalesce(Ticket.claimed_at, at)
    changed = _transition(
        session, desk, ticket, at=at, where=[Ticket.status.in_(ACTIVE_STATUSES)], **values
    )
    if not changed:
        return _why_not_open(ticket) or Refusal.ALREADY_RESOLVED
    TicketRepository(session).log(ticket, EventKind.RESOLVED, at=at, actor=by, data=data)
    if takes_it:
        post_thread_notice(session, ticket, "resolved", now=desk.clock.now(), actor=by)
    refresh_card(session, ticket, now=desk.clock.now())
    ask_for_feedback(session, desk, ticket, resolved_by=by, at=at)
    for escalation in EscalationRepository(session).for_ticket(
        ticket.id, states=LIVE_ESCALATION_STATES
    ):
        if escalation.kind == EscalationKind.ENGINEERING:
            # Engineering may still be on the bug: they hear the requester has an answer.
            post_in_engineering_thread(
                session, escalation, "ticket_resolved", now=desk.clock.now(), author=by
            )
        else:
            # The second line works in the ticket itself: resolving it is the second line's fix.
            escalation.state = EscalationState.FIXED.value
            escalation.fixed_by, escalation.fixed_at = by, at
    return None


def _reopen(session: Session, desk: Desk, ticket: Ticket, action: TicketAction) -> Refusal | None:
    return reopen_ticket(session, desk, ticket, by=action.actor, at=action.at, via=action.via)


def reopen_ticket(
    session: Session, desk: Desk, ticket: Ticket, *, by: str, at: datetime, via: Via
) -> Refusal | None:
    changed = _transition(
        session,
        desk,
        ticket,
        at=at,
        where=[Ticket.status == TicketStatus.RESOLVED],
        status=_worked_status(session, ticket),
        resolved_at=None,
    )
    if not changed:
        if ticket.status == TicketStatus.CLOSED:
            return Refusal.CLOSED
        return Refusal.NOT_RESOLVED
    TicketRepository(session).log(
        ticket, EventKind.REOPENED, at=at, actor=by, data={"via": via.value}
    )
    post_thread_notice(session, ticket, "reopened", now=desk.clock.now())
    refresh_card(session, ticket, now=desk.clock.now())
    return None


def _note(session: Session, desk: Desk, ticket: Ticket, action: TicketAction) -> Refusal | None:
    text = (action.text or "").strip()
    if not text:
        return Refusal.EMPTY_NOTE
    if len(text) > MAX_NOTE:
        return Refusal.NOTE_TOO_LONG
    NoteRepository(session).add(
        TicketNote(ticket_id=ticket.id, author=action.actor, text=text, created_at=action.at)
    )
    _log(session, ticket, EventKind.NOTE_ADDED, action)
    _tell_actor(session, desk, action, "note_saved", ticket)
    return None


_CHANGES = {
    ActionKind.CLAIM: _claim,
    ActionKind.UNCLAIM: _unclaim,
    ActionKind.REASSIGN: _reassign,
    ActionKind.WAIT: _wait,
    ActionKind.RESOLVE: _resolve,
    ActionKind.REOPEN: _reopen,
    ActionKind.NOTE: _note,
}


# --- escalation (workflows/escalation.py decides; the status changes are made here) -----------


def mark_escalated(
    session: Session, desk: Desk, ticket: Ticket, *, owner: str | None, at: datetime
) -> bool:
    """The ticket went to engineering or the second line. Whoever escalated an unassigned ticket
    owns it (`owner`): engineering's answers come back to them."""
    return _transition(
        session,
        desk,
        ticket,
        at=at,
        where=[Ticket.status.in_(ACTIVE_STATUSES)],
        status=TicketStatus.ESCALATED.value,
        escalated=True,
        assignee=func.coalesce(Ticket.assignee, owner),
        claimed_at=func.coalesce(Ticket.claimed_at, at) if owner else Ticket.claimed_at,
    )


def move_to_queue(
    session: Session, desk: Desk, ticket: Ticket, *, queue: str, assignee: str | None, at: datetime
) -> bool:
    """Hand an active ticket to another queue (the second line, or back to the first)."""
    return _transition(
        session,
        desk,
        ticket,
        at=at,
        where=[Ticket.status.in_(ACTIVE_STATUSES)],
        queue=queue,
        assignee=assignee,
        claimed_at=at if assignee else None,
    )


def end_escalation(
    session: Session, desk: Desk, ticket: Ticket, *, at: datetime, fixed: bool = False
) -> bool:
    """No escalation of the ticket is live any more: it is back with its agent (claimed), or
    with its queue (open) when nobody holds it. A fix brings back a ticket waiting on the
    requester too: the agent has news for them."""
    statuses = [TicketStatus.ESCALATED]
    if fixed:
        statuses.append(TicketStatus.WAITING_ON_CUSTOMER)
    return _transition(
        session,
        desk,
        ticket,
        at=at,
        where=[Ticket.status.in_(statuses)],
        status=case(
            (Ticket.assignee.is_(None), TicketStatus.OPEN.value),
            else_=TicketStatus.CLAIMED.value,
        ),
    )


def _worked_status(session: Session, ticket: Ticket) -> Any:
    """The status of a ticket being worked again (reopened, or the requester answered): still
    `escalated` while an escalation is live, else claimed by its agent or open in its queue."""
    if EscalationRepository(session).for_ticket(ticket.id, states=LIVE_ESCALATION_STATES):
        return TicketStatus.ESCALATED.value
    return case(
        (Ticket.assignee.is_(None), TicketStatus.OPEN.value),
        else_=TicketStatus.CLAIMED.value,
    )


# --- what the requester's replies do ------------------------------------------------------------


def requester_replied(
    session: Session, desk: Desk, ticket: Ticket, *, user: str, at: datetime
) -> None:
    """The requester answered in the thread: a ticket waiting on them is back with its agent, a
    resolved one within the reopen window is open again."""
    # A reply written before the change but delivered after it (a Slack retry, a backlog)
    # answers what came before: it neither reopens nor ends the wait.
    if ticket.status == TicketStatus.WAITING_ON_CUSTOMER and at > _waiting_since(session, ticket):
        changed = _transition(
            session,
            desk,
            ticket,
            at=at,
            where=[Ticket.status == TicketStatus.WAITING_ON_CUSTOMER],
            status=_worked_status(session, ticket),
        )
        if changed:
            TicketRepository(session).log(ticket, EventKind.CUSTOMER_REPLIED, at=at, actor=user)
            refresh_card(session, ticket, now=desk.clock.now())
    elif ticket.status == TicketStatus.RESOLVED and within_reopen_window(desk, ticket, at):
        reopen_ticket(session, desk, ticket, by=user, at=at, via=Via.REPLY)


def _waiting_since(session: Session, ticket: Ticket) -> datetime:
    since = session.scalar(
        select(func.max(TicketEvent.at)).where(
            TicketEvent.ticket_id == ticket.id,
            TicketEvent.kind == EventKind.WAITING_ON_CUSTOMER,
        )
    )
    return since if since is not None else ticket.created_at


def within_reopen_window(desk: Desk, ticket: Ticket, at: datetime) -> bool:
    resolved = ticket.resolved_at
    return resolved is not None and resolved <= at < resolved + desk.config.reopen_window


def close_expired(session: Session, desk: Desk, *, now: datetime) -> list[int]:
    """Close resolved tickets whose reopen window has passed (the scheduled job; safe to run on
    every replica at once: each ticket closes in one conditional UPDATE)."""
    cutoff = now - desk.config.reopen_window
    ids = session.scalars(
        select(Ticket.id)
        .where(Ticket.status == TicketStatus.RESOLVED, Ticket.resolved_at <= cutoff)
        .order_by(Ticket.id)
    ).all()
    closed: list[int] = []
    tickets = TicketRepository(session)
    for ticket_id in ids:
        ticket = tickets.get(ticket_id)
        if ticket is not None and close_if_expired(session, desk, ticket, now=now):
            closed.append(ticket.id)
    return closed


def close_if_expired(session: Session, desk: Desk, ticket: Ticket, *, now: datetime) -> bool:
    """Close one resolved ticket whose reopen window has passed by `now`."""
    if ticket.resolved_at is None:
        return False
    cutoff = now - desk.config.reopen_window
    closed_at = ticket.resolved_at + desk.config.reopen_window
    if not _transition(
        session,
        desk,
        ticket,
        at=closed_at,
        where=[Ticket.status == TicketStatus.RESOLVED, Ticket.resolved_at <= cutoff],
        status=TicketStatus.CLOSED.value,
        closed_at=closed_at,
    ):
        return False
    TicketRepository(session).log(
        ticket, EventKind.CLOSED, at=closed_at, data={"via": Via.SCHEDULE.value}
    )
    refresh_card(session, ticket, now=desk.clock.now())
    return True


# --- internals ---------------------------------------------------------------------------------


def _transition(
    session: Session, desk: Desk, ticket: Ticket, *, at: datetime, where: list[Any], **values: Any
) -> bool:
    """One conditional UPDATE; afterwards `ticket` shows what is now true, changed or not. A
    change brings the SLA clock along: it pauses, resumes, stops, or (new queue) retargets."""
    values["updated_at"] = max(ticket.updated_at, at)
    result = session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, *where)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(ticket)
    changed = bool(getattr(result, "rowcount", 0))
    if changed:
        plan_sla(session, desk, ticket, at=at, retarget="queue" in values)
    return changed


def _claimed_unless_further() -> Any:
    """Taking a ticket makes an open one claimed; waiting or escalated ones stay where they are."""
    return case(
        (Ticket.status == TicketStatus.OPEN, TicketStatus.CLAIMED.value), else_=Ticket.status
    )


def _why_not_open(ticket: Ticket) -> Refusal | None:
    if ticket.status == TicketStatus.CLOSED:
        return Refusal.CLOSED
    if ticket.status == TicketStatus.RESOLVED:
        return Refusal.ALREADY_RESOLVED
    return None


def _log(
    session: Session, ticket: Ticket, kind: EventKind, action: TicketAction, **data: Any
) -> None:
    TicketRepository(session).log(
        ticket, kind, at=action.at, actor=action.actor, data={"via": action.via.value, **data}
    )


def _refuse(
    session: Session, desk: Desk, action: TicketAction, ticket: Ticket | None, refusal: Refusal
) -> ActionResult:
    _tell_actor(session, desk, action, refusal.value, ticket)
    if action.via == Via.HOME:
        publish_home(session, action.actor, now=desk.clock.now())  # drop the stale button
    return ActionResult(False, ticket.id if ticket else None, refusal)


def _tell_actor(
    session: Session, desk: Desk, action: TicketAction, notice: str, ticket: Ticket | None
) -> None:
    message = Notice(
        Wording.REFUSAL,
        notice,
        {
            "ref": ticket.ref if ticket else f"#{action.ticket_id}",
            "assignee": ticket.assignee if ticket else None,
            "action": action.kind.value,
            "target": action.target,
            "max_note": MAX_NOTE,
        },
    )
    tell_privately(
        session,
        user=action.actor,
        message=message,
        now=desk.clock.now(),
        channel=action.reply_channel,
        thread_ts=action.reply_thread_ts,
    )
