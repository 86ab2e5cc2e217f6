"""Builders of App Home, the ticket details modal and the private answers of `/support`
subcommands: plain data from `workflows.home` in, Block Kit out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from templates.ids import ActionId, CallbackId
from templates.render import render_message, render_view
from workflows.vocabulary import (
    ISSUE_TYPE_LABELS,
    PRIORITY_LABELS,
    STATUS_LABELS,
    IssueType,
    Priority,
    TicketStatus,
)

if TYPE_CHECKING:
    from workflows.home import AgentHome, ListAnswer, RequesterHome, TicketDetails
    from workflows.ticket_lists import TicketLine, TicketList

EXCERPT_CHARS = 120
DUE_WORDS = {"first_response": "first response", "resolution": "resolution"}


def build_home_view(home: AgentHome | RequesterHome) -> dict[str, Any]:
    from workflows.home import AgentHome

    if isinstance(home, AgentHome):
        sections = [
            _section("mine", home.mine, home.now, show_assignee=False, show_due=True),
            _section("near_sla", home.near_sla, home.now, show_due=True),
            _section("queue", home.queue, home.now),
        ]
        return render_view(
            "home.json.j2", agent=True, away=home.away, sections=sections, ids=ActionId
        )
    sections = [_section("requests", home.requests, home.now, show_requester=False, buttons=False)]
    return render_view("home.json.j2", agent=False, away=False, sections=sections, ids=ActionId)


def build_ticket_details_modal(details: TicketDetails) -> dict[str, Any]:
    line = _line(details.line, details.now)
    issue_type = details.issue_type
    return render_view(
        "ticket_details.json.j2",
        callback_id=CallbackId.DETAILS_MODAL,
        ticket=line,
        private_metadata=line["id"],
        issue_type=ISSUE_TYPE_LABELS[IssueType(issue_type)] if issue_type else None,
        product=details.product,
        tags=list(details.tags),
        internal_priority=details.internal_priority,
        support_type=details.support_type,
        client_priority=details.client_priority,
        departments=list(details.departments),
        description=details.line.description,
        permalink=details.permalink,
        notes=[{"author": n.author, "text": n.text, "at": _date(n.at)} for n in details.notes],
        earlier_notes=details.notes_total - len(details.notes),
        events=[
            {"what": e.kind.replace("_", " "), "actor": e.actor, "at": _date(e.at)}
            for e in details.events
        ],
    )


def build_list_answer(answer: ListAnswer, *, command: str) -> dict[str, Any]:
    """`/support mine` or `/support queue`, answered privately in the command's ack."""
    message = render_message(
        "ticket_list_answer.json.j2",
        kind=answer.kind.value,
        tickets=_list(answer.tickets, answer.now),
        command=command,
    )
    message["response_type"] = "ephemeral"
    return message


def desk_answer(notice: str, **context: Any) -> dict[str, Any]:
    """A short private answer (kinds in desk_answer.json.j2): an ack body or a DM."""
    values: dict[str, Any] = {"command": "/support", "ref": None}
    values.update(context)
    message = render_message("desk_answer.json.j2", notice=notice, **values)
    message["response_type"] = "ephemeral"
    return message


# --- pieces ------------------------------------------------------------------------------------


def _list(tickets: TicketList, now: datetime) -> dict[str, Any]:
    return {"lines": [_line(line, now) for line in tickets.lines], "more": tickets.more}


def _section(
    key: str,
    tickets: TicketList,
    now: datetime,
    *,
    show_assignee: bool = True,
    show_due: bool = False,
    show_requester: bool = True,
    buttons: bool = True,
) -> dict[str, Any]:
    return {
        "key": key,
        **_list(tickets, now),
        "show_assignee": show_assignee,
        "show_due": show_due,
        "show_requester": show_requester,
        "buttons": buttons,
    }


def _line(line: TicketLine, now: datetime) -> dict[str, Any]:
    return {
        "id": str(line.id),
        "ref": line.ref,
        "status": STATUS_LABELS[TicketStatus(line.status)],
        "priority": PRIORITY_LABELS[Priority(line.priority)],
        "queue": line.queue,
        "requester": line.requester,
        "assignee": line.assignee,
        "customer": line.customer,
        "tier": line.customer_tier,
        "age": format_age(now - line.created_at),
        "excerpt": " ".join(line.description.split()),
        "excerpt_chars": EXCERPT_CHARS,
        "can_claim": line.can_claim,
        "due": _due(line, now),
        "overdue": line.due_at is not None and line.due_at <= now,
    }


def _due(line: TicketLine, now: datetime) -> str | None:
    if line.due_at is None or line.due_kind is None:
        return None
    what = DUE_WORDS.get(line.due_kind, line.due_kind)
    if line.due_at <= now:
        return f"{what} overdue by {format_age(now - line.due_at)}"
    return f"{what} due in {format_age(line.due_at - now)}"


def format_age(delta: timedelta) -> str:
    """A short span for lists: "under 1m", "12m", "5h", "3d" (hours up to two days)."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "under 1m"
    if minutes < 60:
        return f"{minutes}m"
    if minutes < 48 * 60:
        return f"{minutes // 60}h"
    return f"{minutes // (24 * 60)}d"


def _date(moment: datetime) -> dict[str, Any]:
    """A time Slack shows in the reader's own time zone, with a UTC fallback."""
    return {
        "epoch": int(moment.timestamp()),
        "fallback": moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
