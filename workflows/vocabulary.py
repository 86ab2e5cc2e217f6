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
    ESCALATED = "escalated"  # to engineering or to the second line
    ESCALATION_TAKEN = "escalation_taken"  # an engineer took it
    INFO_REQUESTED = "info_requested"  # engineering needs more from support
    ENGINEERING_RESPONDED = "engineering_responded"  # engineering's first response
    ENGINEERING_REPLIED = "engineering_replied"  # an engineer wrote in the escalation thread
    REPLIED_TO_ENGINEERING = "replied_to_engineering"
    ESCALATION_FIXED = "escalation_fixed"
    DE_ESCALATED = "de_escalated"  # support withdrew an escalation
    PASSED_BACK = "passed_back"  # the second line handed the ticket back to the first
    SLA_WARNING = "sla_warning"  # a target is close (the sweep's warning went out)
    SLA_BREACHED = "sla_breached"  # a target passed
    ASKED_CUSTOMER = "asked_customer"  # Ask customer: the agent's question went to the requester
    ARTICLES_SUGGESTED = "articles_suggested"  # knowledge-base answers offered in the thread
    SUGGESTION_SOLVED = "suggestion_solved"  # the requester said an article solved it
    SUGGESTION_UNHELPFUL = "suggestion_unhelpful"  # "I still need help"
    ARTICLE_SAVED = "article_saved"  # Save as article wrote a draft from the ticket
    FEATURE_REQUEST_FILED = "feature_request_filed"  # on the board (a new card, or linked)
    FEATURE_REQUEST_OFFERED = "feature_request_offered"  # look-alikes offered to the agents
    FEATURE_REQUEST_SHIPPED = "feature_request_shipped"  # its request shipped; requester told


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
    SELF_SERVE = "self_serve"  # the requester, with a knowledge-base answer


class SlaState(StrEnum):
    """Where a ticket stands against its targets (exported as `sla_state`)."""

    OK = "ok"
    WARNING = "warning"
    BREACHED = "breached"
    PAUSED = "paused"  # the resolution clock waits on the requester


class SlaTarget(StrEnum):
    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"


class AlertLevel(StrEnum):
    WARNING = "warning"
    BREACH = "breach"


SLA_TARGET_LABELS: dict[SlaTarget, str] = {
    SlaTarget.FIRST_RESPONSE: "First response",
    SlaTarget.RESOLUTION: "Resolution",
}

# The resolution clock runs in these statuses; waiting on the requester pauses it, resolving
# stops it.
SLA_RUNNING_STATUSES = ("open", "claimed", "escalated")


class CsatRating(StrEnum):
    """The requester's answer to "How did we do?", best first (the export's `csat` values)."""

    EXTREMELY_SATISFIED = "extremely_satisfied"
    SATISFIED = "satisfied"
    UNSATISFIED = "unsatisfied"
    EXTREMELY_UNSATISFIED = "extremely_unsatisfied"


CSAT_LABELS: dict[CsatRating, str] = {
    CsatRating.EXTREMELY_SATISFIED: "Extremely satisfied",
    CsatRating.SATISFIED: "Satisfied",
    CsatRating.UNSATISFIED: "Unsatisfied",
    CsatRating.EXTREMELY_UNSATISFIED: "Extremely unsatisfied",
}
# CSAT % is the share of these among all answers.
CSAT_SATISFIED = (CsatRating.EXTREMELY_SATISFIED, CsatRating.SATISFIED)


class EscalationKind(StrEnum):
    ENGINEERING = "engineering"  # a product's engineering channel
    SECOND_LINE = "second_line"  # the second-line queue (tier 2)


class EscalationState(StrEnum):
    OPEN = "open"  # waiting for someone to take it
    TAKEN = "taken"  # an engineer (or a second-line agent) is on it
    FIXED = "fixed"  # engineering says it is fixed; back with the agent
    WITHDRAWN = "withdrawn"  # support de-escalated it
    PASSED_BACK = "passed_back"  # the second line handed it back to the first, with a note


# Escalations still being worked: the ticket stays `escalated` while it has one.
LIVE_ESCALATION_STATES = (EscalationState.OPEN, EscalationState.TAKEN)


class Severity(StrEnum):
    SEV1 = "sev1"
    SEV2 = "sev2"
    SEV3 = "sev3"
    SEV4 = "sev4"


SEVERITY_LABELS: dict[Severity, str] = {
    Severity.SEV1: "SEV1 · critical, many users blocked",
    Severity.SEV2: "SEV2 · major, a workaround is hard",
    Severity.SEV3: "SEV3 · minor, a workaround exists",
    Severity.SEV4: "SEV4 · cosmetic or a question",
}

# An escalation's severity starts from the ticket's priority.
SEVERITY_FOR_PRIORITY: dict[str, Severity] = {
    "urgent": Severity.SEV1,
    "high": Severity.SEV2,
    "medium": Severity.SEV3,
    "low": Severity.SEV4,
}


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


class SuggestionOutcome(StrEnum):
    """What the requester said of knowledge-base answers offered in their thread."""

    SOLVED = "solved"  # "This solved it": resolved, no agent needed (deflected)
    UNHELPFUL = "unhelpful"  # "I still need help"


class FeatureRequestStatus(StrEnum):
    """Where a feature request stands on the board, set by product people on its card."""

    UNDER_REVIEW = "under_review"
    PLANNED = "planned"
    SHIPPED = "shipped"
    DECLINED = "declined"


FEATURE_REQUEST_STATUS_LABELS: dict[FeatureRequestStatus, str] = {
    FeatureRequestStatus.UNDER_REVIEW: "Under review",
    FeatureRequestStatus.PLANNED: "Planned",
    FeatureRequestStatus.SHIPPED: "Shipped",
    FeatureRequestStatus.DECLINED: "Declined",
}
