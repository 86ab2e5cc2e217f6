"""Builders of the ticket card: turn a ticket and the desk's config into a message payload."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from templates.ids import ActionId, BlockId, MoreOption
from templates.render import render_message
from templates.sla import clock_lines
from templates.wording import format_days, format_duration, format_hours
from workflows.escalation_forms import describe_scale, target_label
from workflows.sla_state import target_state
from workflows.vocabulary import (
    ACTIVE_STATUSES,
    ISSUE_TYPE_LABELS,
    LIVE_ESCALATION_STATES,
    PRIORITY_LABELS,
    STATUS_LABELS,
    EscalationKind,
    IssueType,
    Priority,
    SlaTarget,
    TicketStatus,
)

if TYPE_CHECKING:
    from bot.config import DeskConfig
    from storage.models import Ticket


@dataclass(frozen=True)
class TicketCard:
    ticket_id: str
    ref: str
    status: str
    status_is_open: bool
    state: str  # the status value, for the template to pick buttons and wording
    priority: str
    requester: str
    queue: str
    assignee: str | None
    issue_type: str | None
    product: str | None
    customer: str | None
    tier: str | None
    bridged: bool  # a customer ticket: this card is in triage, the customer's thread elsewhere
    customer_thread: str | None  # link to the customer's thread
    merged_into: str | None
    scale: str | None
    description: str | None
    first_response: str | None
    business_hours: str | None
    tags: list[str]
    departments: list[str]
    can_claim: bool
    can_unclaim: bool
    can_wait: bool
    can_resolve: bool
    can_reopen: bool
    can_edit: bool
    can_reply: bool
    can_ask: bool  # Ask customer: a question to the requester, then wait on them
    can_merge: bool
    can_split: bool
    can_escalate: bool
    can_reply_to_engineering: bool
    can_de_escalate: bool
    passes_back: bool  # a live escalation is the second line's: de-escalating passes it back
    can_suggest_article: bool  # a knowledge base is configured: send an article into the thread
    can_save_article: bool  # resolved, with a knowledge base: draft an article from the ticket
    can_mark_feature_request: bool  # a board is configured and the ticket isn't one yet
    escalations: list[dict[str, str | None]]  # the live ones: where, to whom
    reopen_window: str
    clocks: list[dict[str, Any]]  # the SLA time-left line, per target


def describe_business_hours(config: DeskConfig) -> str | None:
    hours = config.business_hours
    if hours is None:
        return None
    days, span = format_days(hours.days), format_hours(hours.start, hours.end)
    return f"business hours, {days} {span} {config.timezone}"


def live_escalations(ticket: Ticket) -> list[dict[str, str | None]]:
    """Where the ticket is escalated now, for its card: target, channel, who took it."""
    return [
        {
            "target": target_label(e.kind, e.target),
            "kind": e.kind,
            "channel": e.channel,
            "taken_by": e.taken_by,
        }
        for e in ticket.escalations
        if e.state in LIVE_ESCALATION_STATES
    ]


def ticket_card_model(
    ticket: Ticket, config: DeskConfig, *, show_description: bool, now: datetime | None = None
) -> TicketCard:
    priority = Priority(ticket.priority)
    escalations = live_escalations(ticket)
    target = config.sla_target(priority, tier=ticket.customer_tier, queue=ticket.queue)
    states = {t: target_state(ticket, t, now=now) for t in SlaTarget} if now is not None else {}
    status = TicketStatus(ticket.status)
    active = status in ACTIVE_STATUSES
    return TicketCard(
        ticket_id=str(ticket.id),
        ref=ticket.ref,
        status=STATUS_LABELS[status],
        status_is_open=status == TicketStatus.OPEN,
        state=status.value,
        priority=PRIORITY_LABELS[priority],
        requester=ticket.requester,
        queue=ticket.queue,
        assignee=ticket.assignee,
        issue_type=ISSUE_TYPE_LABELS[IssueType(ticket.issue_type)] if ticket.issue_type else None,
        product=ticket.product,
        customer=ticket.customer,
        tier=ticket.customer_tier,
        bridged=ticket.bridged,
        customer_thread=ticket.permalink if ticket.bridged else None,
        merged_into=f"#{ticket.merged_into_id}" if ticket.merged_into_id else None,
        scale=describe_scale(ticket.users_affected, ticket.site_down),
        description=ticket.description if show_description else None,
        first_response=format_duration(target.first_response) if target.first_response else None,
        business_hours=None if target.around_the_clock else describe_business_hours(config),
        tags=[t.tag for t in ticket.tags],
        departments=list(ticket.departments or []),
        can_claim=active and ticket.assignee is None,
        can_unclaim=active and ticket.assignee is not None,
        can_wait=status in (TicketStatus.OPEN, TicketStatus.CLAIMED, TicketStatus.ESCALATED),
        can_resolve=active,
        can_reopen=status == TicketStatus.RESOLVED,
        can_edit=status != TicketStatus.CLOSED,
        can_reply=ticket.bridged and status != TicketStatus.CLOSED,
        can_ask=active and ticket.merged_into_id is None,
        can_merge=status != TicketStatus.CLOSED,
        can_split=status != TicketStatus.CLOSED,
        can_escalate=active and bool(config.escalation_targets()),
        can_reply_to_engineering=active
        and any(e["kind"] == EscalationKind.ENGINEERING for e in escalations),
        can_de_escalate=active and bool(escalations),
        passes_back=any(e["kind"] == EscalationKind.SECOND_LINE for e in escalations),
        can_suggest_article=active and config.knowledge_base is not None,
        can_save_article=status == TicketStatus.RESOLVED and config.knowledge_base is not None,
        can_mark_feature_request=active
        and config.feature_requests is not None
        and ticket.issue_type != IssueType.FEATURE_REQUEST
        and ticket.merged_into_id is None,
        escalations=escalations,
        reopen_window=format_duration(config.reopen_window),
        clocks=clock_lines(ticket, states, now=now, tz=config.tz) if now is not None else [],
    )


def build_ticket_card(
    ticket: Ticket, config: DeskConfig, *, show_description: bool, now: datetime | None = None
) -> dict[str, Any]:
    """The card; with `now`, it also says where the ticket stands against its SLA."""
    card = ticket_card_model(ticket, config, show_description=show_description, now=now)
    return render_message(
        "ticket_card.json.j2", card=asdict(card), ids=ActionId, blocks=BlockId, more=MoreOption
    )
