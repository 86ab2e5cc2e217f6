"""Escalation: handing a ticket to engineering or to the second line, and the answers coming back.

An escalation to engineering is a card in the product's engineering channel; its thread is where
engineers answer, and every reply there is copied to the ticket's internal thread (its own thread
for an internal ticket, the triage thread for a customer's), never to a customer channel. Agents
answer back with Reply to engineering. An escalation to the second line moves the ticket to that
queue; the second line passes it back to first line with a note.

Threads are linked in storage: the card's `(channel, card_ts)` finds the escalation in one
indexed lookup, and a relayed message's `(channel, ts)` is unique, so Slack's retries relay once.
Times are kept for the digests: escalated_at, engineering's first response, fixed_at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.orm import Session

from storage.models import Escalation, EscalationMessage, Ticket, TicketNote
from storage.repositories import EscalationRepository, NoteRepository, TicketRepository
from workflows.agents import is_agent, pick_assignee, queue_agents
from workflows.clock import slack_ts_to_datetime
from workflows.customers import ReplyResult
from workflows.delivery import (
    Notice,
    Wording,
    post_escalation_card,
    post_in_engineering_thread,
    refresh_card,
    refresh_escalation_card,
    tell_privately,
    tell_room_about_escalation,
)
from workflows.desk import Desk
from workflows.editing import Form, ModalRequest, may_open, refusal_for
from workflows.escalation_forms import (
    Choice,
    DeEscalateForm,
    EngineeringReplyForm,
    EscalationForm,
    describe_scale,
    target_label,
)
from workflows.intake import SlackMessage
from workflows.triage import (
    Refusal,
    end_escalation,
    mark_escalated,
    move_to_queue,
    ticket_for_message,
)
from workflows.vocabulary import (
    ACTIVE_STATUSES,
    LIVE_ESCALATION_STATES,
    SEVERITY_FOR_PRIORITY,
    EscalationKind,
    EscalationState,
    EventKind,
    Severity,
    TicketStatus,
    Via,
)

MAX_SUMMARY = 150
MAX_STEPS = 2700  # what the card quotes
MAX_SCALE = 200
MAX_TRIED = 2700
MAX_REPLY = 2800
MAX_CLOSE_NOTE = 2000
LIMITS = {"summary": MAX_SUMMARY, "steps": MAX_STEPS, "scale": MAX_SCALE, "tried": MAX_TRIED}
# A second Need info within this long is the same press (a double click), not a second ping.
NEED_INFO_DEBOUNCE = timedelta(seconds=60)


# --- escalating ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EscalationAnswers:
    """The Escalate modal's answers as Slack sends them (None: left empty)."""

    target: str | None = None  # "engineering:API", "second_line:tier2"
    severity: str | None = None
    summary: str | None = None
    steps: str | None = None
    scale: str | None = None
    tried: str | None = None


@dataclass(frozen=True)
class EscalationResult:
    done: bool
    ticket_id: int | None = None
    escalation_id: int | None = None
    refusal: Refusal | None = None
    errors: dict[str, str] = field(default_factory=dict)


def target_value(kind: str, target: str) -> str:
    return f"{kind}:{target}"


def escalation_form_for(
    session: Session, desk: Desk, request: ModalRequest
) -> EscalationForm | None:
    """The Escalate modal pre-filled from the ticket; None for whoever may not escalate (they
    were told by `refuse_if_not_allowed`)."""
    if not may_open(session, desk, request):
        return None
    ticket = TicketRepository(session).get(request.ticket_id)
    assert ticket is not None
    live = _live(session, ticket)
    answers = prefilled(session, desk, ticket)
    return EscalationForm(
        ticket_id=ticket.id,
        ref=ticket.ref,
        targets=[
            Choice(target_value(kind, target), target_label(kind, target))
            for kind, target in desk.config.escalation_targets()
        ],
        target=answers.target,
        severity=answers.severity or Severity.SEV3.value,
        summary=answers.summary or "",
        steps=answers.steps or "",
        scale=answers.scale or "",
        tried=answers.tried or "",
        live=[target_label(e.kind, e.target) for e in live],
    )


def prefilled(session: Session, desk: Desk, ticket: Ticket) -> EscalationAnswers:
    """What an escalation says unless the agent changes it: the product's engineering (else the
    second line), a severity from the priority, the question, its scale, the agents' notes."""
    config = desk.config
    engineering = config.engineering_for(ticket.product)
    if engineering is not None:
        target = target_value(EscalationKind.ENGINEERING, engineering.product)
    elif config.second_line is not None:
        target = target_value(EscalationKind.SECOND_LINE, config.second_line)
    else:
        target = None
    description = (ticket.description or "").strip()
    first_line = next((line.strip() for line in description.splitlines() if line.strip()), "")
    summary = _fit(first_line, MAX_SUMMARY)
    notes = NoteRepository(session).for_ticket(ticket.id)
    tried = "\n".join(f"• {note.text.strip()}" for note in notes if note.text.strip())
    return EscalationAnswers(
        target=target,
        severity=SEVERITY_FOR_PRIORITY.get(ticket.priority, Severity.SEV3).value,
        summary=summary or f"Ticket {ticket.ref}",
        steps=_fit(description, MAX_STEPS) if description != first_line else "",
        scale=describe_scale(ticket.users_affected, ticket.site_down) or "",
        tried=_fit(tried, MAX_TRIED),
    )


@dataclass(frozen=True)
class _Checked:
    kind: EscalationKind
    target: str
    severity: Severity
    summary: str
    steps: str
    scale: str
    tried: str


def check_escalation(
    answers: EscalationAnswers, desk: Desk, *, ticket: Ticket, live: list[Escalation]
) -> tuple[dict[str, str], _Checked | None]:
    """Errors by field (the modal's block ids), or the escalation to make."""
    errors: dict[str, str] = {}
    kind_value, _, target = (answers.target or "").partition(":")
    known = {target_value(k, t) for k, t in desk.config.escalation_targets()}
    if not answers.target:
        errors["target"] = "Choose where to escalate."
    elif answers.target not in known:
        errors["target"] = "That team is no longer in the desk's config; choose another."
    elif any(target_value(e.kind, e.target) == answers.target for e in live):
        errors["target"] = (
            f"{ticket.ref} is already with {target_label(kind_value, target)}: "
            "use Reply to engineering, or choose another team."
            if kind_value == EscalationKind.ENGINEERING
            else f"{ticket.ref} is already with the second line."
        )
    elif kind_value == EscalationKind.SECOND_LINE and ticket.queue == target:
        errors["target"] = f"{ticket.ref} is already in the {target} queue."
    try:
        severity = Severity(answers.severity or "")
    except ValueError:
        errors["severity"] = "Choose a severity."
        severity = Severity.SEV3
    summary = " ".join((answers.summary or "").split())
    if not summary:
        errors["summary"] = "Say in a line what engineering should look at."
    elif len(summary) > MAX_SUMMARY:
        errors["summary"] = f"Keep the summary under {MAX_SUMMARY} characters."
    texts: dict[str, str] = {}
    for name, limit in (("steps", MAX_STEPS), ("scale", MAX_SCALE), ("tried", MAX_TRIED)):
        texts[name] = (getattr(answers, name) or "").strip()
        if len(texts[name]) > limit:
            errors[name] = f"Keep this under {limit} characters."
    if errors:
        return errors, None
    return {}, _Checked(
        kind=EscalationKind(kind_value),
        target=target,
        severity=severity,
        summary=summary,
        steps=texts["steps"],
        scale=texts["scale"],
        tried=texts["tried"],
    )


def escalate(
    session: Session,
    desk: Desk,
    answers: EscalationAnswers,
    *,
    ticket_id: int,
    agent: str,
    at: datetime,
    via: Via,
    agent_is_external: bool = False,
) -> EscalationResult:
    """Escalate a ticket as the modal (or the emoji's defaults) says. Who may, and whether the
    ticket can still be escalated there, is checked now: a modal may have been open a while."""
    refusal = refusal_for(
        session, desk, ticket_id, agent, user_is_external=agent_is_external, form=Form.ESCALATE
    )
    if refusal is not None:
        return EscalationResult(False, ticket_id, refusal=refusal)
    tickets = TicketRepository(session)
    ticket = tickets.lock(ticket_id)[ticket_id]  # two escalations at once: one after the other
    if ticket.status not in ACTIVE_STATUSES:  # resolved or closed while the form was open
        closed = ticket.status == TicketStatus.CLOSED
        refusal = Refusal.CLOSED if closed else Refusal.ALREADY_RESOLVED
        return EscalationResult(False, ticket.id, refusal=refusal)
    live = _live(session, ticket)
    errors, checked = check_escalation(answers, desk, ticket=ticket, live=live)
    if checked is None:
        return EscalationResult(False, ticket.id, errors=errors)
    escalation = EscalationRepository(session).add(
        Escalation(
            ticket_id=ticket.id,
            kind=checked.kind.value,
            target=checked.target,
            channel=_channel_of(desk, checked),
            state=EscalationState.OPEN.value,
            severity=checked.severity.value,
            summary=checked.summary,
            steps=checked.steps,
            scale=checked.scale,
            tried=checked.tried,
            escalated_by=agent,
            escalated_at=at,
            from_queue=ticket.queue if checked.kind == EscalationKind.SECOND_LINE else None,
            from_assignee=(ticket.assignee or agent)
            if checked.kind == EscalationKind.SECOND_LINE
            else None,
        )
    )
    now = desk.clock.now()
    if checked.kind == EscalationKind.SECOND_LINE:
        _to_second_line(session, desk, ticket, escalation, at=at)
    else:
        # Whoever escalates an unassigned ticket holds it, unless the second line has it.
        with_second_line = any(e.kind == EscalationKind.SECOND_LINE for e in live)
        mark_escalated(session, desk, ticket, owner=None if with_second_line else agent, at=at)
        post_escalation_card(session, escalation, now=now)
        tell_room_about_escalation(session, ticket, escalation, "escalated", now=now)
    tickets.log(
        ticket,
        EventKind.ESCALATED,
        at=at,
        actor=agent,
        data={
            "via": via.value,
            "escalation": escalation.id,
            "kind": escalation.kind,
            "target": escalation.target,
            "severity": escalation.severity,
        },
    )
    refresh_card(session, ticket, now=now)
    return EscalationResult(True, ticket.id, escalation_id=escalation.id)


def _to_second_line(
    session: Session, desk: Desk, ticket: Ticket, escalation: Escalation, *, at: datetime
) -> None:
    """The ticket joins the second-line queue: its next agent gets it when the queue hands
    tickets out, else its agents are asked (in the ticket's room) to claim it."""
    queue = escalation.target
    picked = pick_assignee(session, desk, queue, at=at)
    move_to_queue(session, desk, ticket, queue=queue, assignee=picked, at=at)
    mark_escalated(session, desk, ticket, owner=None, at=at)
    if picked is not None:
        escalation.taken_by, escalation.taken_at = picked, at
        escalation.state = EscalationState.TAKEN.value
    agents = [] if picked else queue_agents(session, desk, queue)[:10]
    entry = desk.config.queue(queue)
    if not picked and entry is not None and entry.lead:
        agents = [entry.lead]
    tell_room_about_escalation(
        session, ticket, escalation, "escalated_second_line", now=desk.clock.now(), agents=agents
    )


def escalate_by_reaction(
    session: Session,
    desk: Desk,
    *,
    channel: str,
    ts: str,
    user: str,
    at: datetime,
    user_is_external: bool = False,
) -> EscalationResult | None:
    """The escalate emoji on a ticket's message or card: the default escalation (the product's
    engineering, else the second line) with the ticket's own details, at once; a reaction
    carries no trigger for a modal. None for emoji on anything that is no ticket."""
    ticket = ticket_for_message(session, channel, ts)
    if ticket is None:
        return None
    if user_is_external or TicketRepository(session).is_known_external(user):
        return EscalationResult(False, ticket.id, refusal=Refusal.EXTERNAL)  # not answered
    if not is_agent(session, desk, user):
        facts = {"ref": ticket.ref, "form": Form.ESCALATE.value}
        _tell(
            session,
            desk,
            user,
            Notice(Wording.EDIT, Refusal.NOT_AGENT.value, facts),
            ticket,
            channel=channel,
        )
        return EscalationResult(False, ticket.id, refusal=Refusal.NOT_AGENT)
    answers = prefilled(session, desk, ticket)
    if any(target_value(e.kind, e.target) == answers.target for e in _live(session, ticket)):
        return EscalationResult(False, ticket.id)  # already there: a second emoji changes nothing
    result = escalate(
        session, desk, answers, ticket_id=ticket.id, agent=user, at=at, via=Via.REACTION
    )
    if result.refusal is not None:
        _tell(
            session,
            desk,
            user,
            Notice(
                Wording.EDIT, result.refusal.value, {"ref": ticket.ref, "form": Form.ESCALATE.value}
            ),
            ticket,
            channel=channel,
        )
    elif result.errors:
        problem = " ".join(result.errors.values())
        _tell(
            session,
            desk,
            user,
            Notice(Wording.ESCALATION, "not_escalated", {"ref": ticket.ref, "error": problem}),
            ticket,
            channel=channel,
        )
    return result


# --- engineering's side: Take, Need info, Fixed, and replies in the thread ------------------------


class EngineeringStep(StrEnum):
    TAKE = "take"
    NEED_INFO = "need_info"
    FIXED = "fixed"


@dataclass(frozen=True)
class StepResult:
    done: bool
    escalation_id: int | None = None
    refusal: Refusal | None = None


def work_escalation(
    session: Session,
    desk: Desk,
    step: EngineeringStep,
    *,
    escalation_id: int,
    user: str,
    at: datetime,
    user_is_external: bool = False,
    reply_channel: str | None = None,
) -> StepResult:
    """An engineer pressed Take, Need info or Fixed on the escalation card. Anyone of this
    workspace may: engineers aren't the desk's agents."""
    repository = EscalationRepository(session)
    escalation = repository.get(escalation_id)
    if escalation is None:
        return _refuse_step(session, desk, user, Refusal.NO_ESCALATION, None, reply_channel)
    if user_is_external:
        return _refuse_step(session, desk, user, Refusal.EXTERNAL, escalation, reply_channel)
    ticket = _lock_for(session, escalation)
    if escalation.state in (EscalationState.WITHDRAWN, EscalationState.PASSED_BACK):
        return _refuse_step(session, desk, user, Refusal.ESCALATION_OVER, escalation, reply_channel)
    now = desk.clock.now()
    changed = _STEPS[step](session, desk, escalation, ticket, user=user, at=at)
    if not changed:
        return StepResult(True, escalation.id)  # a double click, or already so
    _responded(session, escalation, ticket, user=user, at=at)
    refresh_escalation_card(session, escalation, now=now)
    refresh_card(session, ticket, now=now)
    return StepResult(True, escalation.id)


def _take(
    session: Session, desk: Desk, escalation: Escalation, ticket: Ticket, *, user: str, at: datetime
) -> bool:
    if escalation.taken_by == user or escalation.state == EscalationState.FIXED:
        return False
    previous = escalation.taken_by
    escalation.taken_by, escalation.taken_at = user, at
    escalation.state = EscalationState.TAKEN.value
    _log(
        session, ticket, EventKind.ESCALATION_TAKEN, escalation, user=user, at=at, previous=previous
    )
    tell_room_about_escalation(
        session, ticket, escalation, "taken", now=desk.clock.now(), previous=previous
    )
    return True


def _need_info(
    session: Session, desk: Desk, escalation: Escalation, ticket: Ticket, *, user: str, at: datetime
) -> bool:
    if escalation.state == EscalationState.FIXED:
        return False  # a stale card: engineering is done here
    last = escalation.info_requested_at
    if last is not None and last <= at < last + NEED_INFO_DEBOUNCE:
        return False
    escalation.info_requested_at = at
    _log(session, ticket, EventKind.INFO_REQUESTED, escalation, user=user, at=at)
    tell_room_about_escalation(
        session, ticket, escalation, "info_requested", now=desk.clock.now(), author=user
    )
    return True


def _fixed(
    session: Session, desk: Desk, escalation: Escalation, ticket: Ticket, *, user: str, at: datetime
) -> bool:
    if escalation.state == EscalationState.FIXED:
        return False
    escalation.state = EscalationState.FIXED.value
    escalation.fixed_by, escalation.fixed_at = user, at
    _log(session, ticket, EventKind.ESCALATION_FIXED, escalation, user=user, at=at)
    session.flush()
    _back_with_agent(session, desk, ticket, escalation, at=at)
    tell_room_about_escalation(session, ticket, escalation, "fixed", now=desk.clock.now())
    return True


_STEPS = {
    EngineeringStep.TAKE: _take,
    EngineeringStep.NEED_INFO: _need_info,
    EngineeringStep.FIXED: _fixed,
}


def relay_from_engineering(session: Session, desk: Desk, message: SlackMessage) -> int | None:
    """A reply in an escalation's thread: copied to the ticket's internal thread, once. Returns
    the escalation's id, or None when the message is in no escalation's thread."""
    if not message.is_reply or message.thread_ts is None:
        return None
    repository = EscalationRepository(session)
    escalation = repository.by_thread(message.channel, message.thread_ts)
    if escalation is None:
        return None
    at = slack_ts_to_datetime(message.ts)
    user, text = message.user, message.text
    kept = repository.add_message(
        EscalationMessage(
            escalation_id=escalation.id,
            direction="from_engineering",
            channel=message.channel,
            ts=message.ts,
            author=user,
            text=text,
            at=at,
        )
    )
    if kept is None:
        return escalation.id  # a retry: relayed already
    ticket = _lock_for(session, escalation)
    _log(
        session, ticket, EventKind.ENGINEERING_REPLIED, escalation, user=user, at=at, ts=message.ts
    )
    if not is_agent(session, desk, user, is_external=message.is_external):
        _responded(session, escalation, ticket, user=user, at=at)  # support's words aren't
    tell_room_about_escalation(
        session,
        ticket,
        escalation,
        "engineer_replied",
        now=desk.clock.now(),
        author=user,
        text=text,
    )
    return escalation.id


def _responded(
    session: Session, escalation: Escalation, ticket: Ticket, *, user: str, at: datetime
) -> None:
    """Engineering's first response: its first reply or button, whichever came first."""
    if escalation.first_response_at is None or at < escalation.first_response_at:
        first = escalation.first_response_at is None
        escalation.first_response_at = at
        if first:
            _log(session, ticket, EventKind.ENGINEERING_RESPONDED, escalation, user=user, at=at)


# --- support's side: Reply to engineering, De-escalate, Pass back ---------------------------------


def engineering_reply_form_for(
    session: Session, desk: Desk, request: ModalRequest
) -> EngineeringReplyForm | None:
    if not may_open(session, desk, request):
        return None
    ticket = TicketRepository(session).get(request.ticket_id)
    assert ticket is not None
    return EngineeringReplyForm(
        ticket_id=ticket.id,
        ref=ticket.ref,
        escalations=[_choice(e) for e in _live(session, ticket, EscalationKind.ENGINEERING)],
    )


def check_engineering_reply(text: str | None) -> dict[str, str]:
    cleaned = (text or "").strip()
    if not cleaned:
        return {"reply": "Write what engineering should read."}
    if len(cleaned) > MAX_REPLY:
        return {"reply": f"Keep it under {MAX_REPLY} characters."}
    return {}


def reply_to_engineering(
    session: Session,
    desk: Desk,
    *,
    ticket_id: int,
    escalation_id: int | None,
    agent: str,
    text: str | None,
    at: datetime,
    agent_is_external: bool = False,
) -> ReplyResult:
    """Post an agent's words in the escalation's thread (and a copy in the ticket's room)."""
    refusal = refusal_for(
        session,
        desk,
        ticket_id,
        agent,
        user_is_external=agent_is_external,
        form=Form.ENGINEERING_REPLY,
    )
    if refusal is not None:
        return ReplyResult(False, ticket_id, refusal=refusal)
    errors = check_engineering_reply(text)
    if errors:
        return ReplyResult(False, ticket_id, errors=errors)
    ticket = TicketRepository(session).get(ticket_id)
    assert ticket is not None
    live = _live(session, ticket, EscalationKind.ENGINEERING)
    escalation = next((e for e in live if e.id == escalation_id), None) if escalation_id else None
    if escalation is None and escalation_id is None and len(live) == 1:
        escalation = live[0]
    if escalation is None:
        return ReplyResult(False, ticket_id, errors={"escalation": "Choose an open escalation."})
    words = (text or "").strip()
    EscalationRepository(session).add_message(
        EscalationMessage(
            escalation_id=escalation.id, direction="to_engineering", author=agent, text=words, at=at
        )
    )
    now = desk.clock.now()
    # The room's copy ("Sent to …") follows once Slack took it (see DeliveryHooks.delivered).
    post_in_engineering_thread(
        session, escalation, "agent_reply", now=now, author=agent, text=words
    )
    _log(session, ticket, EventKind.REPLIED_TO_ENGINEERING, escalation, user=agent, at=at)
    return ReplyResult(True, ticket.id)


def ticket_for_thread_message(
    session: Session, *, channel: str, ts: str, thread_ts: str | None
) -> Ticket | None:
    """The ticket whose thread (or triage thread) a message is in, for the Reply to engineering
    shortcut."""
    return TicketRepository(session).get_by_thread(channel, thread_ts or ts)


def de_escalate_form_for(
    session: Session, desk: Desk, request: ModalRequest
) -> DeEscalateForm | None:
    if not may_open(session, desk, request):
        return None
    ticket = TicketRepository(session).get(request.ticket_id)
    assert ticket is not None
    live = _live(session, ticket)
    second_line = any(e.kind == EscalationKind.SECOND_LINE for e in live)
    return DeEscalateForm(
        ticket_id=ticket.id,
        ref=ticket.ref,
        escalations=[_choice(e) for e in live],
        second_line=second_line,
        # Passing back ends the second line's part; engineering carries on unless also ticked.
        checked=[
            str(e.id) for e in live if not second_line or e.kind == EscalationKind.SECOND_LINE
        ],
    )


def de_escalate(
    session: Session,
    desk: Desk,
    *,
    ticket_id: int,
    escalation_ids: list[int],
    note: str | None,
    agent: str,
    at: datetime,
    agent_is_external: bool = False,
) -> ReplyResult:
    """Withdraw escalations (engineering is told in its thread), or pass a ticket back from the
    second line to first line with a note (its queue and agent are restored)."""
    refusal = refusal_for(
        session, desk, ticket_id, agent, user_is_external=agent_is_external, form=Form.DE_ESCALATE
    )
    if refusal is not None:
        return ReplyResult(False, ticket_id, refusal=refusal)
    tickets = TicketRepository(session)
    ticket = tickets.lock(ticket_id)[ticket_id]
    chosen = [e for e in _live(session, ticket) if e.id in set(escalation_ids)]
    words = (note or "").strip()
    if not chosen:
        return ReplyResult(False, ticket_id, errors={"escalations": "Choose an open escalation."})
    if len(words) > MAX_CLOSE_NOTE:
        return ReplyResult(
            False, ticket_id, errors={"note": f"Keep the note under {MAX_CLOSE_NOTE} characters."}
        )
    if not words and any(e.kind == EscalationKind.SECOND_LINE for e in chosen):
        return ReplyResult(
            False,
            ticket_id,
            errors={"note": "Say what the second line found: first line answers the requester."},
        )
    now = desk.clock.now()
    for escalation in chosen:
        escalation.closed_by, escalation.closed_at = agent, at
        escalation.close_note = words or None
        if escalation.kind == EscalationKind.SECOND_LINE:
            escalation.state = EscalationState.PASSED_BACK.value
            _pass_back(session, desk, ticket, escalation, at=at)
            _log(session, ticket, EventKind.PASSED_BACK, escalation, user=agent, at=at, note=words)
            tell_room_about_escalation(session, ticket, escalation, "passed_back", now=now)
        else:
            escalation.state = EscalationState.WITHDRAWN.value
            _log(session, ticket, EventKind.DE_ESCALATED, escalation, user=agent, at=at)
            post_in_engineering_thread(session, escalation, "withdrawn", now=now)
            refresh_escalation_card(session, escalation, now=now)
            tell_room_about_escalation(session, ticket, escalation, "de_escalated", now=now)
    if words:
        NoteRepository(session).add(
            TicketNote(ticket_id=ticket.id, author=agent, text=words, created_at=at)
        )
    session.flush()
    _back_with_agent(session, desk, ticket, None, at=at)
    refresh_card(session, ticket, now=now)
    return ReplyResult(True, ticket.id)


def _pass_back(
    session: Session, desk: Desk, ticket: Ticket, escalation: Escalation, *, at: datetime
) -> None:
    """First line gets the ticket back: its queue, and the agent who escalated it (if still an
    agent; else the queue)."""
    agent = escalation.from_assignee
    if agent is not None and not is_agent(session, desk, agent):
        agent = None
    move_to_queue(
        session,
        desk,
        ticket,
        queue=escalation.from_queue or desk.config.default_queue,
        assignee=agent,
        at=at,
    )


def _back_with_agent(
    session: Session, desk: Desk, ticket: Ticket, fixed: Escalation | None, *, at: datetime
) -> None:
    """With no escalation live any more, an escalated ticket is back with its agent (claimed),
    the one who escalated it if nobody holds it."""
    if _live(session, ticket):
        return
    if ticket.status == TicketStatus.ESCALATED and ticket.assignee is None and fixed is not None:
        move_to_queue(session, desk, ticket, queue=ticket.queue, assignee=fixed.escalated_by, at=at)
    end_escalation(session, desk, ticket, at=at, fixed=fixed is not None)


# --- helpers -------------------------------------------------------------------------------------


def _live(session: Session, ticket: Ticket, kind: EscalationKind | None = None) -> list[Escalation]:
    live = EscalationRepository(session).for_ticket(ticket.id, states=LIVE_ESCALATION_STATES)
    return [e for e in live if kind is None or e.kind == kind]


def _lock_for(session: Session, escalation: Escalation) -> Ticket:
    """The escalation's (surviving) ticket, its row locked until commit, and the escalation
    re-read: two engineers pressing at once, or Fixed racing a withdrawal, go one after the
    other and the second sees what the first did."""
    tickets = TicketRepository(session)
    ticket = tickets.surviving(escalation.ticket)
    locked = tickets.lock(ticket.id)[ticket.id]
    session.refresh(escalation)
    return locked


def _fit(text: str, limit: int) -> str:
    """Pre-filled text cut to what its field takes."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _choice(escalation: Escalation) -> Choice:
    label = target_label(escalation.kind, escalation.target)
    return Choice(str(escalation.id), f"{label}: {escalation.summary}")


def _channel_of(desk: Desk, checked: _Checked) -> str | None:
    if checked.kind != EscalationKind.ENGINEERING:
        return None
    entry = next(e for e in desk.config.engineering if e.product == checked.target)
    return entry.channel


def _log(
    session: Session,
    ticket: Ticket,
    kind: EventKind,
    escalation: Escalation,
    *,
    user: str,
    at: datetime,
    **data: object,
) -> None:
    TicketRepository(session).log(
        ticket,
        kind,
        at=at,
        actor=user,
        data={"escalation": escalation.id, "target": escalation.target, **data},
    )


def _tell(
    session: Session,
    desk: Desk,
    user: str,
    message: Notice,
    ticket: Ticket,
    *,
    channel: str | None,
) -> None:
    """Answer whoever reacted, privately, where they reacted."""
    thread_ts = ticket.thread_ts if ticket.source_channel == channel else ticket.card_ts
    tell_privately(
        session,
        user=user,
        message=message,
        now=desk.clock.now(),
        channel=channel,
        thread_ts=thread_ts,
    )


def _refuse_step(
    session: Session,
    desk: Desk,
    user: str,
    refusal: Refusal,
    escalation: Escalation | None,
    channel: str | None,
) -> StepResult:
    ref = escalation.ticket.ref if escalation else ""
    message = Notice(Wording.ESCALATION, refusal.value, {"ref": ref})
    thread_ts = escalation.card_ts if escalation else None
    tell_privately(
        session,
        user=user,
        message=message,
        now=desk.clock.now(),
        channel=channel,
        thread_ts=thread_ts,
    )
    return StepResult(False, escalation.id if escalation else None, refusal)
