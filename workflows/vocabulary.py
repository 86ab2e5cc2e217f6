"""The words of the support desk, shared by config, storage, workflows and templates.

Values are the strings stored in the database and shown in `supportbot export`; they are part of the
operator contract, so never rename one.
"""

from __future__ import annotations

import re
from enum import StrEnum


class TicketStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Priority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


class IssueType(StrEnum):
    TECHNICAL_ISSUE = "technical_issue"
    QUESTION = "question"
    FEATURE_REQUEST = "feature_request"


class IntakeSource(StrEnum):
    """How a ticket came to be."""

    MESSAGE = "message"
    MENTION = "mention"
    REACTION = "reaction"
    SHORTCUT = "shortcut"
    MODAL = "modal"
    SPLIT = "split"  # a message of another ticket's conversation, split off by an agent


class EventKind(StrEnum):
    """Entries of a ticket's append-only event log; later capabilities add their own."""

    OPENED = "opened"
    DESCRIPTION_EDITED = "description_edited"
    SOURCE_DELETED = "source_deleted"
    MESSAGE_ADDED = "message_added"
    MESSAGE_EDITED = "message_edited"
    MESSAGE_DELETED = "message_deleted"
    CARD_POSTED = "card_posted"
    CARD_DELIVERY_FAILED = "card_delivery_failed"
    ALSO_REQUESTED = "also_requested"
    CLAIMED = "claimed"
    UNCLAIMED = "unclaimed"
    ASSIGNED = "assigned"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    CUSTOMER_REPLIED = "customer_replied"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"
    FOLLOW_UP = "follow_up"
    EDITED = "edited"
    NOTE_ADDED = "note_added"
    RULE_APPLIED = "rule_applied"
    FIRST_RESPONSE = "first_response"
    GROUPED = "grouped"  # another message of the burst that opened the ticket
    REPLIED_TO_CUSTOMER = "replied_to_customer"
    MERGED = "merged"  # on the ticket that lives on: another was merged into it
    MERGED_INTO = "merged_into"  # on the ticket merged away
    SPLIT = "split"  # on the original: a message of it became a new ticket
    SPLIT_FROM = "split_from"  # on the new ticket


class Via(StrEnum):
    """Where an agent's action came from, kept in the event log."""

    BUTTON = "button"
    REACTION = "reaction"
    HOME = "home"
    COMMAND = "command"
    MODAL = "modal"
    RULE = "rule"
    AUTO_ASSIGN = "auto_assign"
    REPLY = "reply"
    SCHEDULE = "schedule"
    SHORTCUT = "shortcut"


# Statuses in which a ticket still needs work; resolved and closed ones are done.
ACTIVE_STATUSES = (
    TicketStatus.OPEN,
    TicketStatus.CLAIMED,
    TicketStatus.WAITING_ON_CUSTOMER,
    TicketStatus.ESCALATED,
)


PRIORITY_LABELS: dict[Priority, str] = {
    Priority.LOW: "Low",
    Priority.MEDIUM: "Medium",
    Priority.HIGH: "High",
    Priority.URGENT: "Urgent",
}

ISSUE_TYPE_LABELS: dict[IssueType, str] = {
    IssueType.TECHNICAL_ISSUE: "Technical issue",
    IssueType.QUESTION: "Question or guidance",
    IssueType.FEATURE_REQUEST: "Feature request",
}

STATUS_LABELS: dict[TicketStatus, str] = {
    TicketStatus.OPEN: "Open",
    TicketStatus.CLAIMED: "Claimed",
    TicketStatus.WAITING_ON_CUSTOMER: "Waiting on customer",
    TicketStatus.ESCALATED: "Escalated",
    TicketStatus.RESOLVED: "Resolved",
    TicketStatus.CLOSED: "Closed",
}


def normalize_tag(text: str) -> str:
    """Tags are lower-case words joined by hyphens: "Billing Export" -> "billing-export"."""
    words = re.findall(r"[\w.+/-]+", text.lower())
    return "-".join(words)[:64].strip("-")
