"""Builders of the Merge and Split modals, their options' labels and error wording, and the
customer-facing message that hosts a ticket split off a customer thread.

Option labels are plain_text (Slack shows them as typed, never as mrkdwn), at most 75 characters,
and a select holds at most 100 options: both limits are kept here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from templates.ids import ActionId, BlockId, CallbackId
from templates.render import ELLIPSIS, render_message, render_view

if TYPE_CHECKING:
    from storage.models import Ticket

MAX_OPTIONS = 100  # Slack's limit for a static_select
MAX_LABEL = 75  # Slack's limit for an option's text


@dataclass(frozen=True)
class MergeCandidate:
    """A ticket the merged one may go into, as the select shows it."""

    ticket_id: int
    ref: str
    status: str  # the status label ("Claimed")
    description: str


@dataclass(frozen=True)
class MergeForm:
    ticket_id: int
    ref: str
    candidates: tuple[MergeCandidate, ...]
    customer: str | None  # whose tickets were looked at: a customer, else the requester
    requester: str


@dataclass(frozen=True)
class SplitCandidate:
    """A message of the ticket's conversation, as the select shows it."""

    ts: str
    posted_at: datetime
    role: str  # "customer", "requester", "agent" or "colleague": plain_text can't show a name
    text: str


@dataclass(frozen=True)
class SplitForm:
    ticket_id: int
    ref: str
    candidates: tuple[SplitCandidate, ...]


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


# Shown under the select when a submission can't be carried out (plain text: a modal's errors
# are not mrkdwn).
_MERGE_ERRORS = {
    "missing": "Choose the ticket to merge {ref} into.",
    "no_target": "{target} doesn't exist (any more). Choose another ticket.",
    "itself": "A ticket can't be merged into itself. Choose another ticket.",
    "target_closed": "{target} is closed. Choose a ticket that is still open.",
    "target_merged": "{target} was merged into another ticket. Choose that one instead.",
    "other_customer": (
        "{target} is another customer's ticket. Tickets are only merged within one customer, "
        "so that replies reach the right people."
    ),
    "customer_and_internal": (
        "{target} and {ref} aren't both customer tickets or both internal ones, so they can't "
        "be merged: replies would reach the wrong people."
    ),
    "other_requester": (
        "{target} was asked by someone else. Only tickets from the same requester are merged."
    ),
}
_SPLIT_ERRORS = {
    "missing": "Choose the message to split off {ref}.",
    "not_in_conversation": "That message is no longer part of {ref}'s conversation.",
    "opening_message": "That message opened {ref}, so it can't be split off. Choose a reply.",
    "already_split": "That message is already its own ticket: {target}.",
    "no_triage": "No triage channel is configured, so a customer ticket can't be split now.",
}


def merge_error(problem: str, *, ref: str, target: str | None = None) -> str:
    return _MERGE_ERRORS[problem].format(ref=ref, target=target or "That ticket")


def split_error(problem: str, *, ref: str, target: str | None = None) -> str:
    return _SPLIT_ERRORS[problem].format(ref=ref, target=target or "another ticket")


def customer_thread_message(ticket: Ticket) -> dict[str, Any]:
    """The top-level message in a customer channel whose thread hosts a ticket split off another
    customer thread: the ref and the customer's own question, escaped; nothing internal."""
    return render_message(
        "customer_thread.json.j2",
        ref=ticket.ref,
        requester=ticket.requester,
        question=ticket.description,
    )
