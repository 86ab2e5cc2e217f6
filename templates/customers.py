"""Messages of customer channels: what the bot says to a customer for an agent, and the copies of
the customer thread kept in the agents' triage thread. Customer text is escaped like any other."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from templates.ids import ActionId, BlockId, CallbackId
from templates.render import render_message, render_view

if TYPE_CHECKING:
    from storage.models import Ticket
    from workflows.delivery import Mirror

MAX_MIRRORED = 2800  # a section's text holds 3000 characters; leave room for the attribution


def customer_reply(text: str, *, agent: str, attributed: bool = False) -> dict[str, Any]:
    """An agent's answer as the customer reads it: their words, escaped, nothing internal.
    `attributed` (an internal ticket's requester, a colleague): it says which agent asks."""
    return render_message("customer_reply.json.j2", text=text, agent=agent, attributed=attributed)


def mirror_message(
    kind: Mirror, *, ticket: Ticket, author: str, text: str, **data: Any
) -> dict[str, Any]:
    """A copy, in the triage thread, of something said in (or sent to) the customer thread."""
    return render_message(
        "mirror.json.j2",
        kind=kind.value,
        ref=ticket.ref,
        customer=ticket.customer,
        author=author,
        text=text,
        limit=MAX_MIRRORED,
        error=data.get("error"),
    )


def build_reply_modal(
    *,
    ref: str,
    customer: str | None,
    private_metadata: str,
    initial: str,
    max_reply: int,
    asking: bool = False,
    bridged: bool = True,
) -> dict[str, Any]:
    """The Reply to customer modal, pre-filled with the triage message it was opened from; with
    `asking`, the Ask customer modal (the ticket then waits on the requester)."""
    return render_view(
        "reply_modal.json.j2",
        ref=ref,
        customer=customer,
        initial=initial,
        max_reply=max_reply,
        private_metadata=private_metadata,
        asking=asking,
        bridged=bridged,
        ids={
            "callback": str(CallbackId.ASK_MODAL if asking else CallbackId.REPLY_MODAL),
            "block": str(BlockId.REPLY),
            "action": str(ActionId.REPLY_INPUT),
        },
    )


def room_only(ref: str | None) -> dict[str, Any]:
    """Why the Reply to customer shortcut did nothing on this message."""
    return render_message("reply_refusal.json.j2", ref=ref)
