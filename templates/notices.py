"""Short messages the desk says to one person (ephemeral) or in a thread."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from templates.render import render_message
from templates.wording import format_duration
from workflows.vocabulary import ISSUE_TYPE_LABELS, PRIORITY_LABELS, IssueType, Priority

if TYPE_CHECKING:
    from bot.config import DeskConfig
    from storage.models import Ticket


def already_a_ticket(ref: str) -> dict[str, Any]:
    return render_message("already_a_ticket.json.j2", ref=ref)


def cannot_ticket_bot_message() -> dict[str, Any]:
    return render_message("cannot_ticket_bot_message.json.j2")


def card_moved(
    *, ref: str, asked_in: str, landed: str, in_dm: bool, because: str
) -> dict[str, Any]:
    """A ticket's card went elsewhere than asked (kinds of `because` in card_moved.json.j2)."""
    return render_message(
        "card_moved.json.j2",
        ref=ref,
        asked_in=asked_in,
        landed=landed,
        in_dm=in_dm,
        because=because,
    )


def support_help(command: str, *, reaction: str) -> dict[str, Any]:
    return render_message("support_help.json.j2", command=command, reaction=reaction)


def ticket_notice(
    notice: str,
    *,
    ticket: Ticket,
    config: DeskConfig,
    customer_facing: bool = False,
    **data: Any,
) -> dict[str, Any]:
    """A message about `ticket` (kinds in ticket_notice.json.j2), from its state when sent.
    `customer_facing` ones are read by a customer: no queue names, nobody's internal doings."""
    return render_message(
        "ticket_notice.json.j2",
        notice=notice,
        customer_facing=customer_facing,
        acknowledgement=_acknowledgement(ticket, config) if notice == "acknowledged" else None,
        into=data.get("into"),
        ref=ticket.ref,
        actor=data.get("actor"),
        assignee=data.get("assignee", ticket.assignee),
        queue=ticket.queue,
        window=format_duration(config.reopen_window),
        priority=PRIORITY_LABELS[Priority(ticket.priority)],
        issue_type=ISSUE_TYPE_LABELS[IssueType(ticket.issue_type)] if ticket.issue_type else None,
        customer=ticket.customer,
        requester=ticket.requester,
        permalink=ticket.permalink,
        excerpt=ticket.description,
    )


def refusal_notice(notice: str, **context: Any) -> dict[str, Any]:
    """What an actor is told privately about their action (kinds in refusal_notice.json.j2)."""
    return render_message("refusal_notice.json.j2", notice=notice, **context)


def _acknowledgement(ticket: Ticket, config: DeskConfig) -> str:
    """The operator's acknowledgement text with the ref and customer filled in (escaped, with the
    rest, by the template: it is read in a customer channel)."""
    text = config.acknowledgement_for(ticket.source_channel or "")
    return (text or config.customer_acknowledgement).format(
        ref=ticket.ref, customer=ticket.customer or ""
    )
