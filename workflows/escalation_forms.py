"""What the escalation forms show as they open, as data (the templates render them), and the
words for an escalation's target and a ticket's scale, which the forms pre-fill and the cards
show."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from workflows.vocabulary import EscalationKind


def target_label(kind: str, target: str) -> str:
    """How an escalation target reads: "API engineering", "Engineering", "Second line (tier2)"."""
    if kind == EscalationKind.SECOND_LINE:
        return f"Second line ({target})"
    return "Engineering" if target == "default" else f"{target} engineering"


def describe_scale(users_affected: int | None, site_down: bool | None) -> str | None:
    parts = []
    if users_affected is not None:
        parts.append(f"{users_affected:,} user{'s' if users_affected != 1 else ''} affected")
    if site_down is not None:
        parts.append("site down" if site_down else "site up")
    return ", ".join(parts) or None


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class EscalationForm:
    """The Escalate modal as it opens: the targets, and answers pre-filled from the ticket."""

    ticket_id: int
    ref: str
    targets: Sequence[Choice]
    target: str | None
    severity: str
    summary: str
    steps: str
    scale: str
    tried: str
    live: Sequence[str]  # where it is escalated already (labels)


@dataclass(frozen=True)
class EngineeringReplyForm:
    ticket_id: int
    ref: str
    escalations: Sequence[Choice]  # the live engineering escalations


@dataclass(frozen=True)
class DeEscalateForm:
    ticket_id: int
    ref: str
    escalations: Sequence[Choice]  # the live escalations, all chosen at first
    second_line: bool  # one of them is the second line: the note is what first line reads
    checked: Sequence[str]  # the values ticked when the form opens
