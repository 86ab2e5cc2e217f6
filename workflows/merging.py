"""Merging two tickets into one, and splitting a message off a ticket into a new one.

Merge: two tickets from one customer (or, internally, one requester) about the same thing. The
merged ticket is closed with `merged_into_id` set, so replies in its thread join the ticket it was
merged into (`TicketRepository.get_by_thread` follows merges). Never across customers, nor between
a customer ticket and an internal one: replies would then reach the wrong people.

Split: a thread that turned into a second problem. One message of the conversation becomes a new
ticket with its own thread: for an internal ticket its card is a new top-level message in the
channel (its thread is the new conversation, as for /support); for a customer ticket the bot opens
a new top-level message in the customer channel to host it, and its card goes to triage.

Each runs in one transaction with the tickets' rows locked first and the merge's close done as a
conditional UPDATE, so a concurrent merge, close or retried submission never does the work twice
or leaves a ticket half merged. Only agents may do either; the modals are checked again on submit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from storage.models import Ticket, TicketMessage
from storage.repositories import EscalationRepository, TicketRepository
from workflows.agents import is_agent
from workflows.delivery import (
    open_customer_thread,
    post_room_notice,
    post_thread_notice,
    post_ticket_card,
    refresh_card,
)
from workflows.desk import Desk
from workflows.editing import Form, ModalRequest, refusal_for
from workflows.intake import MAX_DESCRIPTION
from workflows.merge_forms import (
    MAX_OPTIONS,
    MergeCandidate,
    MergeForm,
    SplitCandidate,
    SplitForm,
    merge_error,
    split_error,
)
from workflows.rules import add_tags, route_ticket
from workflows.sla import plan as plan_sla
from workflows.triage import Refusal, mark_escalated
from workflows.vocabulary import (
    LIVE_ESCALATION_STATES,
    STATUS_LABELS,
    EventKind,
    IntakeSource,
    Priority,
    TicketStatus,
    Via,
)

MAX_LOGGED_DESCRIPTION = 500  # the merged ticket's question, as kept in the target's event log


@dataclass(frozen=True)
class MergeResult:
    done: bool
    ticket_id: int
    target_id: int | None = None
    refusal: Refusal | None = None  # the agent may not merge this ticket (any more)
    error: str | None = None  # the chosen ticket won't do: shown under the select


@dataclass(frozen=True)
class SplitResult:
    done: bool
    ticket_id: int
    new_ticket_id: int | None = None
    refusal: Refusal | None = None
    error: str | None = None  # the chosen message won't do: shown under the select


# --- the modals' content ------------------------------------------------------------------------


def merge_form_for(session: Session, desk: Desk, request: ModalRequest) -> MergeForm | None:
    """What the Merge modal offers an agent; None for anyone the press was refused to."""
    tickets = TicketRepository(session)
    ticket = tickets.get(request.ticket_id)
    if ticket is None or _refused(session, desk, request, Form.MERGE):
        return None
    candidates = tickets.merge_candidates(
        ticket, closed_status=TicketStatus.CLOSED.value, limit=MAX_OPTIONS
    )
    return MergeForm(
        ticket_id=ticket.id,
        ref=ticket.ref,
        candidates=tuple(
            MergeCandidate(
                ticket_id=t.id,
                ref=t.ref,
                status=STATUS_LABELS[TicketStatus(t.status)],
                description=t.description or "",
            )
            for t in candidates
        ),
        customer=ticket.customer,
        requester=ticket.requester,
    )


def split_form_for(session: Session, desk: Desk, request: ModalRequest) -> SplitForm | None:
    """What the Split modal offers an agent: the conversation's messages still there and not
    split off already, newest first; None for anyone the press was refused to."""
    tickets = TicketRepository(session)
    ticket = tickets.get(request.ticket_id)
    if ticket is None or _refused(session, desk, request, Form.SPLIT):
        return None
    skipped = [*split_off(tickets, ticket.id), *([ticket.source_ts] if ticket.source_ts else [])]
    messages = tickets.latest_messages(ticket.id, excluding=skipped, limit=MAX_OPTIONS)
    roles: dict[tuple[str | None, bool], str] = {}
    candidates = []
    for message in messages:
        key = (message.author, message.author_is_external)
        if key not in roles:
            roles[key] = _role(session, desk, ticket, message)
        candidates.append(
            SplitCandidate(
                ts=message.ts, posted_at=message.posted_at, role=roles[key], text=message.text
            )
        )
    return SplitForm(ticket_id=ticket.id, ref=ticket.ref, candidates=tuple(candidates))


def split_off(tickets: TicketRepository, ticket_id: int) -> dict[str, int]:
    """The messages of a ticket already split off: their `ts` -> the ticket each became."""
    return {
        str(event.data.get("ts")): int(event.data.get("ticket", 0))
        for event in tickets.events_of_kind(ticket_id, EventKind.SPLIT)
    }


# --- merging -----------------------------------------------------------------------------------


def submit_merge(
    session: Session,
    desk: Desk,
    *,
    ticket_id: int,
    target: str | None,
    agent: str,
    at: datetime,
    agent_is_external: bool = False,
) -> MergeResult:
    """The Merge modal's submission: check again who asks and what was chosen, then merge. The
    same submission twice (a retry) finds its work done and changes nothing."""
    target_id = _ticket_id(target)
    tickets = TicketRepository(session)
    locked = tickets.lock(ticket_id, *([target_id] if target_id else []))
    ticket = locked.get(ticket_id)
    refusal = refusal_for(
        session, desk, ticket_id, agent, user_is_external=agent_is_external, form=Form.MERGE
    )
    if refusal == Refusal.MERGED and ticket is not None and ticket.merged_into_id == target_id:
        return MergeResult(True, ticket_id, target_id)  # already done: a retried submission
    if ticket is None or refusal is not None:
        return MergeResult(False, ticket_id, refusal=refusal or Refusal.NO_TICKET)
    if target_id is None:
        return MergeResult(False, ticket_id, error=merge_error("missing", ref=ticket.ref))
    chosen = locked.get(target_id)
    problem = merge_problem(ticket, chosen)
    if problem is not None or chosen is None:
        error = merge_error(problem or "no_target", ref=ticket.ref, target=f"#{target_id}")
        return MergeResult(False, ticket_id, target_id, error=error)
    return merge_ticket(session, desk, ticket, chosen, agent=agent, at=at)


def merge_problem(ticket: Ticket, target: Ticket | None) -> str | None:
    """Why `ticket` can't go into `target` (a key of the merge errors), or None."""
    if target is None:
        return "no_target"
    if target.id == ticket.id:
        return "itself"
    if target.merged_into_id is not None:
        return "target_merged"
    if target.status == TicketStatus.CLOSED:
        return "target_closed"
    if target.bridged != ticket.bridged or (target.customer is None) != (ticket.customer is None):
        return "customer_and_internal"
    if ticket.customer is not None and target.customer != ticket.customer:
        return "other_customer"
    if ticket.customer is None and target.requester != ticket.requester:
        return "other_requester"
    return None


def merge_ticket(
    session: Session, desk: Desk, ticket: Ticket, target: Ticket, *, agent: str, at: datetime
) -> MergeResult:
    """Close `ticket` as merged into `target`; `target` takes the higher priority and both
    tickets' tags. The caller holds both rows (`TicketRepository.lock`) and checked the pair."""
    tickets = TicketRepository(session)
    if not tickets.close_as_merged(ticket, target, closed_status=TicketStatus.CLOSED, at=at):
        session.refresh(target)
        refusal = _refusal_now(ticket)
        if refusal is not None:
            return MergeResult(False, ticket.id, refusal=refusal)
        problem = merge_problem(ticket, target) or "target_closed"
        error = merge_error(problem, ref=ticket.ref, target=target.ref)
        return MergeResult(False, ticket.id, target.id, error=error)
    plan_sla(session, desk, ticket, at=at)  # its clock stops: the surviving ticket's runs on
    changes: dict[str, Any] = {}
    priority = _higher(ticket.priority, target.priority)
    if priority != target.priority:
        changes["priority"] = {"from": target.priority, "to": priority}
        target.priority = priority
    added = add_tags(session, target, [tag.tag for tag in ticket.tags])
    if added:
        changes["tags"] = added
    target.updated_at = max(target.updated_at, at)
    session.flush()
    tickets.log(
        target,
        EventKind.MERGED,
        at=at,
        actor=agent,
        data={
            "via": Via.MODAL.value,
            "ticket": ticket.id,
            "description": (ticket.description or "")[:MAX_LOGGED_DESCRIPTION],
            "changes": changes,
        },
    )
    tickets.log(
        ticket,
        EventKind.MERGED_INTO,
        at=at,
        actor=agent,
        data={"via": Via.MODAL.value, "into": target.id},
    )
    if EscalationRepository(session).move(ticket.id, target.id):
        # Engineering carries on with the ticket that lives on: its answers land in that room.
        session.expire(target, ["escalations"])
        if any(e.state in LIVE_ESCALATION_STATES for e in target.escalations):
            mark_escalated(session, desk, target, owner=agent, at=at)
    now = desk.clock.now()
    post_thread_notice(session, ticket, "merged", now=now, into=target.ref, actor=agent)
    post_room_notice(session, target, "merged_here", now=now, actor=agent, into=_about(ticket))
    refresh_card(session, ticket, now=now)
    refresh_card(session, target, now=now)
    if changes:
        route_ticket(session, desk, target, at=at)  # as after an edit: rules see the new values
    return MergeResult(True, ticket.id, target.id)


# --- splitting ---------------------------------------------------------------------------------


def submit_split(
    session: Session,
    desk: Desk,
    *,
    ticket_id: int,
    ts: str | None,
    agent: str,
    at: datetime,
    agent_is_external: bool = False,
) -> SplitResult:
    """The Split modal's submission: check again who asks and which message was chosen, then
    open the new ticket. A message is split off once: the same submission twice is refused."""
    tickets = TicketRepository(session)
    ticket = tickets.lock(ticket_id).get(ticket_id)  # one split of this ticket at a time
    refusal = refusal_for(
        session, desk, ticket_id, agent, user_is_external=agent_is_external, form=Form.SPLIT
    )
    if ticket is None or refusal is not None:
        return SplitResult(False, ticket_id, refusal=refusal or Refusal.NO_TICKET)
    problem, target = _split_problem(tickets, desk, ticket, ts)
    if problem is not None or ts is None:
        error = split_error(problem or "missing", ref=ticket.ref, target=target)
        return SplitResult(False, ticket_id, error=error)
    message = tickets.conversation_message(ticket.id, ts)
    assert message is not None  # _split_problem checked
    return split_ticket(session, desk, ticket, message, agent=agent, at=at)


def split_ticket(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    message: TicketMessage,
    *,
    agent: str,
    at: datetime,
) -> SplitResult:
    """Open a new ticket from `message` of `ticket`'s conversation. The caller holds `ticket`'s
    row and checked the message."""
    tickets = TicketRepository(session)
    author_is_agent = is_agent(
        session, desk, message.author, is_external=message.author_is_external
    )
    requester = message.author if message.author and not author_is_agent else ticket.requester
    new = Ticket(
        intake_source=IntakeSource.SPLIT,
        requester=requester,
        requester_team=ticket.requester_team if requester == ticket.requester else None,
        requester_is_external=ticket.requester_is_external,
        reporter=agent,
        queue=ticket.queue,
        customer=ticket.customer,
        customer_tier=ticket.customer_tier,
        status=TicketStatus.OPEN,
        priority=desk.config.default_priority,
        description=message.text[: MAX_DESCRIPTION * 4],
        escalated=False,
        bridged=ticket.bridged,
        created_at=message.posted_at,
        updated_at=max(message.posted_at, at),
    )
    if ticket.bridged:
        # Anchored where the message was said until its own customer thread exists (the
        # delivery of that thread moves it there): the triage card, delivered later, must never
        # become a customer ticket's source. The unique source also makes the split once-only.
        new.source_channel = message.channel
        new.source_ts = message.ts
        new.source_thread_ts = ticket.thread_ts
    if tickets.add(new) is None:
        existing = tickets.get_by_source(message.channel, message.ts)
        error = split_error(
            "already_split", ref=ticket.ref, target=existing.ref if existing else None
        )
        return SplitResult(False, ticket.id, error=error)
    tickets.log(new, EventKind.OPENED, at=new.created_at, actor=agent, data={"via": "split"})
    tickets.log(
        new,
        EventKind.SPLIT_FROM,
        at=at,
        actor=agent,
        data={"via": Via.MODAL.value, "ticket": ticket.id, "ts": message.ts},
    )
    tickets.log(
        ticket,
        EventKind.SPLIT,
        at=at,
        actor=agent,
        data={"via": Via.MODAL.value, "ticket": new.id, "ts": message.ts},
    )
    now = desk.clock.now()
    about = _about(new)
    if ticket.bridged:
        assert desk.config.triage_channel is not None  # _split_problem checked
        open_customer_thread(session, new, channel=message.channel, split_from=ticket, now=now)
        post_ticket_card(
            session,
            new,
            channel=desk.config.triage_channel,
            thread_ts=None,
            fallback_user=None,
            now=now,
        )
        post_room_notice(session, ticket, "split_off", now=now, actor=agent, into=about)
    else:
        # A new top-level card, like a /support ticket's: its thread is the new conversation.
        post_ticket_card(
            session,
            new,
            channel=message.channel,
            thread_ts=None,
            fallback_user=new.requester,
            now=now,
        )
    post_thread_notice(session, ticket, "split", now=now, actor=agent, into=about)
    route_ticket(session, desk, new, at=at)
    return SplitResult(True, ticket.id, new.id)


# --- internals ---------------------------------------------------------------------------------


def _split_problem(
    tickets: TicketRepository, desk: Desk, ticket: Ticket, ts: str | None
) -> tuple[str | None, str | None]:
    """Why the message `ts` can't be split off `ticket` (a key of the split errors, and the
    ticket it already is), or (None, None)."""
    if not ts:
        return "missing", None
    done = split_off(tickets, ticket.id)
    if ts in done:
        return "already_split", f"#{done[ts]}"
    if ts == ticket.source_ts:
        return "opening_message", None
    message = tickets.conversation_message(ticket.id, ts)
    if message is None or message.deleted_at is not None:
        return "not_in_conversation", None
    existing = tickets.get_by_source(message.channel, ts)
    if existing is not None:
        return "already_split", existing.ref  # someone made it a ticket (a :ticket: reaction)
    if ticket.bridged and desk.config.triage_channel is None:
        return "no_triage", None
    return None, None


def _refused(session: Session, desk: Desk, request: ModalRequest, form: Form) -> bool:
    refusal = refusal_for(
        session,
        desk,
        request.ticket_id,
        request.user,
        user_is_external=request.user_is_external,
        form=form,
    )
    return refusal is not None


def _refusal_now(ticket: Ticket) -> Refusal | None:
    if ticket.merged_into_id is not None:
        return Refusal.MERGED
    if ticket.status == TicketStatus.CLOSED:
        return Refusal.CLOSED
    return None


def _role(session: Session, desk: Desk, ticket: Ticket, message: TicketMessage) -> str:
    """Who wrote a message, in words a plain_text label can show (it can't show a name)."""
    if message.author_is_external:
        return "customer"
    if message.author == ticket.requester:
        return "requester"
    if is_agent(session, desk, message.author):
        return "agent"
    return "colleague"


def _about(ticket: Ticket) -> dict[str, str]:
    """The other ticket of a merge or split, as notices about it need it (see ticket_notice)."""
    return {"ref": ticket.ref, "requester": ticket.requester, "question": ticket.description}


def _higher(first: str, second: str) -> str:
    order = list(Priority)
    return max(first, second, key=lambda p: order.index(Priority(p)))


def _ticket_id(raw: str | None) -> int | None:
    # Digits only, short enough for an INTEGER column ("²".isdigit() is True, so no isdigit).
    return int(raw) if raw and re.fullmatch(r"[0-9]{1,9}", raw) else None
