"""What the Merge and Split modals offer as they open, as data (the templates render them), and
the plain-text errors shown under their select when a submission can't be carried out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

MAX_OPTIONS = 100  # Slack's limit for a static_select


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
