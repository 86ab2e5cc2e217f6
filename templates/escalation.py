"""Escalation's messages and modals: the card engineers work from, what is said in their thread
for support, what the ticket's room is told, and the Escalate, Reply to engineering and
De-escalate modals. Everything copied from a ticket or a person is escaped by the templates."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from templates.ids import ActionId, BlockId, CallbackId
from templates.render import render_message, render_view
from workflows.escalation_forms import (
    Choice,
    DeEscalateForm,
    EngineeringReplyForm,
    EscalationForm,
    target_label,
)
from workflows.vocabulary import (
    LIVE_ESCALATION_STATES,
    PRIORITY_LABELS,
    SEVERITY_LABELS,
    EscalationState,
    Priority,
    Severity,
)

if TYPE_CHECKING:
    from bot.config import DeskConfig
    from storage.models import Escalation, Ticket

MAX_RELAYED = 2800  # a section holds 3000 characters; leave room for the attribution

STATE_LABELS: dict[EscalationState, str] = {
    EscalationState.OPEN: "Open",
    EscalationState.TAKEN: "Taken",
    EscalationState.FIXED: "Fixed",
    EscalationState.WITHDRAWN: "Withdrawn",
    EscalationState.PASSED_BACK: "Passed back",
}


@dataclass(frozen=True)
class EscalationView:
    """An escalation as its card and notices show it."""

    id: str
    ref: str
    kind: str
    target: str
    channel: str | None
    state: str
    state_label: str
    live: bool
    severity: str
    summary: str
    steps: str
    scale: str
    tried: str
    priority: str
    customer: str | None
    tier: str | None
    requester: str
    departments: list[str]
    room_link: str | None
    escalated_by: str
    assignee: str | None
    taken_by: str | None
    fixed_by: str | None
    closed_by: str | None
    close_note: str | None


def escalation_view(escalation: Escalation, ticket: Ticket) -> EscalationView:
    state = EscalationState(escalation.state)
    return EscalationView(
        id=str(escalation.id),
        ref=ticket.ref,
        kind=escalation.kind,
        target=target_label(escalation.kind, escalation.target),
        channel=escalation.channel,
        state=state.value,
        state_label=STATE_LABELS[state],
        live=state in LIVE_ESCALATION_STATES,
        severity=SEVERITY_LABELS[Severity(escalation.severity)],
        summary=escalation.summary,
        steps=escalation.steps,
        scale=escalation.scale,
        tried=escalation.tried,
        priority=PRIORITY_LABELS[Priority(ticket.priority)],
        customer=ticket.customer,
        tier=ticket.customer_tier,
        requester=ticket.requester,
        departments=list(ticket.departments or []),
        room_link=escalation.room_link,
        escalated_by=escalation.escalated_by,
        assignee=ticket.assignee,
        taken_by=escalation.taken_by,
        fixed_by=escalation.fixed_by,
        closed_by=escalation.closed_by,
        close_note=escalation.close_note,
    )


def escalation_card(
    escalation: Escalation, *, ticket: Ticket, config: DeskConfig
) -> dict[str, Any]:
    """The card in the engineering channel; its thread is where engineers answer."""
    return render_message(
        "escalation_card.json.j2",
        e=asdict(escalation_view(escalation, ticket)),
        ids=ActionId,
        blocks=BlockId,
        requester_is_external=ticket.requester_is_external,
    )


def escalation_room_message(
    kind: str, *, escalation: Escalation, ticket: Ticket, **data: Any
) -> dict[str, Any]:
    """What the ticket's internal thread is told about an escalation (kinds in the template),
    including the copies of engineers' replies."""
    return render_message(
        "escalation_room.json.j2",
        kind=kind,
        e=asdict(escalation_view(escalation, ticket)),
        limit=MAX_RELAYED,
        **_data(data),
    )


def engineering_thread_message(
    kind: str, *, escalation: Escalation, ticket: Ticket, **data: Any
) -> dict[str, Any]:
    """What is said in the engineering thread for support (kinds in the template)."""
    return render_message(
        "engineering_thread.json.j2",
        kind=kind,
        e=asdict(escalation_view(escalation, ticket)),
        limit=MAX_RELAYED,
        **_data(data),
    )


def _data(data: dict[str, Any]) -> dict[str, Any]:
    """The optional values the templates read, present (None) even when not given."""
    names = ("author", "text", "error", "agents", "note", "previous")
    return {name: data.get(name) for name in names}


SEVERITY_CHOICES = tuple(Choice(s.value, SEVERITY_LABELS[s]) for s in Severity)


def build_escalation_modal(
    form: EscalationForm, *, private_metadata: str, limits: dict[str, int]
) -> dict[str, Any]:
    return render_view(
        "escalation_modal.json.j2",
        form=asdict(form),
        severities=[asdict(c) for c in SEVERITY_CHOICES],
        limits=limits,
        private_metadata=private_metadata,
        callback=str(CallbackId.ESCALATE_MODAL),
        ids=ActionId,
        blocks=BlockId,
    )


def build_engineering_reply_modal(
    form: EngineeringReplyForm, *, private_metadata: str, initial: str, max_reply: int
) -> dict[str, Any]:
    return render_view(
        "engineering_reply_modal.json.j2",
        form=asdict(form),
        initial=initial,
        max_reply=max_reply,
        private_metadata=private_metadata,
        callback=str(CallbackId.ENGINEERING_REPLY_MODAL),
        ids=ActionId,
        blocks=BlockId,
    )


def build_de_escalate_modal(
    form: DeEscalateForm, *, private_metadata: str, max_note: int
) -> dict[str, Any]:
    return render_view(
        "de_escalate_modal.json.j2",
        form=asdict(form),
        max_note=max_note,
        private_metadata=private_metadata,
        callback=str(CallbackId.DE_ESCALATE_MODAL),
        ids=ActionId,
        blocks=BlockId,
    )


def escalation_refusal(notice: str, **context: Any) -> dict[str, Any]:
    """What someone pressing an escalation card's button is told privately."""
    return render_message("escalation_refusal.json.j2", notice=notice, **context)
