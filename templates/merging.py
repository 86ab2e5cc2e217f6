"""Builders of the Merge and Split modals, their options' labels and error wording, and the
customer-facing message that hosts a ticket split off a customer thread.

Option labels are plain_text (Slack shows them as typed, never as mrkdwn), at most 75 characters,
and a select holds at most 100 options: both limits are kept here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from templates.ids import ActionId, BlockId, CallbackId
from templates.render import ELLIPSIS, render_message, render_view
from workflows.merge_forms import (
    MAX_OPTIONS,
    MergeCandidate,
    MergeForm,
    SplitCandidate,
    SplitForm,
)

if TYPE_CHECKING:
    from storage.models import Ticket

MAX_LABEL = 75  # Slack's limit for an option's text


def first_words(text: str, limit: int) -> str:
    """The text on one line, cut after a whole word to fit `limit` characters."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if " " in cut and not flat[limit - 1].isspace():
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip() + ELLIPSIS


def _label(prefix: str, text: str) -> str:
    room = MAX_LABEL - len(prefix)
    words = first_words(text, room) if text.strip() else "(no text)"
    return (prefix + words)[:MAX_LABEL]


def merge_option_label(candidate: MergeCandidate) -> str:
    """ "#41 · Claimed · The export button is greyed…"."""
    return _label(f"{candidate.ref} · {candidate.status} · ", candidate.description)


def split_option_label(candidate: SplitCandidate, *, tz: ZoneInfo) -> str:
    """ "14:05 customer · And the invoices are wrong too…", in the desk's time zone."""
    at = candidate.posted_at.astimezone(tz)
    return _label(f"{at:%H:%M} {candidate.role} · ", candidate.text)


def build_merge_modal(form: MergeForm, *, private_metadata: str) -> dict[str, Any]:
    """The Merge modal: a select of the tickets this one can go into, or, when there is none,
    a modal without a submit button that says so."""
    options = [
        {"value": str(c.ticket_id), "label": merge_option_label(c)}
        for c in form.candidates[:MAX_OPTIONS]
    ]
    return render_view(
        "merge_modal.json.j2",
        ref=form.ref,
        options=options,
        customer=form.customer,
        requester=form.requester,
        ids={
            "callback": str(CallbackId.MERGE_MODAL),
            "block": str(BlockId.MERGE_TARGET),
            "action": str(ActionId.MERGE_TARGET),
        },
        private_metadata=private_metadata,
    )


def build_split_modal(form: SplitForm, *, tz: ZoneInfo, private_metadata: str) -> dict[str, Any]:
    """The Split modal: a select of the conversation's messages, newest first, or, when there is
    none, a modal without a submit button that says there is nothing to split."""
    options = [
        {"value": c.ts, "label": split_option_label(c, tz=tz)}
        for c in form.candidates[:MAX_OPTIONS]
    ]
    return render_view(
        "split_modal.json.j2",
        ref=form.ref,
        options=options,
        ids={
            "callback": str(CallbackId.SPLIT_MODAL),
            "block": str(BlockId.SPLIT_MESSAGE),
            "action": str(ActionId.SPLIT_MESSAGE),
        },
        private_metadata=private_metadata,
    )


def customer_thread_message(ticket: Ticket) -> dict[str, Any]:
    """The top-level message in a customer channel whose thread hosts a ticket split off another
    customer thread: the ref and the customer's own question, escaped; nothing internal."""
    return render_message(
        "customer_thread.json.j2",
        ref=ticket.ref,
        requester=ticket.requester,
        question=ticket.description,
    )
