"""The daily SLA digest: what is breached or at risk now, attainment per priority over the period
(by default the last 7 days), and the playbook's first-response buckets.

Figures count tickets opened in the half-open period `[since, until)` (merged-away tickets are
the surviving ticket's). A target is *met* when done by its due time and *missed* when done late
or still not done when its due time passed; tickets still within their targets count in
neither, so attainment = met / (met + missed), and a period with neither says "no tickets"
rather than 0 % or 100 %. Response times are business time of each ticket's own SLA clock (an
around-the-clock priority counts every hour), so a Friday-evening question answered first thing
Monday is an all-star answer, as the team's playbook means it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from storage.repositories import OutboxRepository, SlaRepository
from templates.sla import date_parts, relative, sla_digest_message
from workflows.delivery import Purpose
from workflows.desk import Desk
from workflows.sla import ticket_calendar
from workflows.sla_state import STOPPED_STATUSES, target_state
from workflows.vocabulary import (
    ACTIVE_STATUSES,
    PRIORITY_LABELS,
    SLA_TARGET_LABELS,
    Priority,
    SlaState,
    SlaTarget,
)

DEFAULT_PERIOD = timedelta(days=7)
# The playbook's first-response buckets: under 1 h ("all-star"), 1-6 h, 6-12 h, 12-24 h, overdue.
BUCKET_EDGES = (3600, 6 * 3600, 12 * 3600, 24 * 3600)
BUCKET_LABELS = ("Under 1 h (all-star)", "1–6 h", "6–12 h", "12–24 h", "Overdue (24 h+)")
_NONE = {
    "opened": 0,
    "first_met": 0,
    "first_missed": 0,
    "resolution_met": 0,
    "resolution_missed": 0,
}


@dataclass(frozen=True)
class Attainment:
    priority: str
    label: str
    opened: int
    first_met: int
    first_missed: int
    resolution_met: int
    resolution_missed: int

    @property
    def first_pct(self) -> float | None:
        return _pct(self.first_met, self.first_missed)

    @property
    def resolution_pct(self) -> float | None:
        return _pct(self.resolution_met, self.resolution_missed)


def _pct(met: int, missed: int) -> float | None:
    return None if met + missed == 0 else round(100 * met / (met + missed), 1)


@dataclass(frozen=True)
class AttentionLine:
    ref: str
    ticket_id: int
    state: str  # breached | warning
    target: str  # what is (nearly) late
    when: str  # "2h ago", "in 18m"
    due: dict[str, object]
    priority: str
    assignee: str | None
    link: str | None


@dataclass(frozen=True)
class SlaDigest:
    since: datetime
    until: datetime
    opened: int
    attainment: list[Attainment]
    buckets: list[tuple[str, int]]
    breached: list[AttentionLine] = field(default_factory=list)
    at_risk: list[AttentionLine] = field(default_factory=list)

    @property
    def first_pct(self) -> float | None:
        return _pct(
            sum(a.first_met for a in self.attainment), sum(a.first_missed for a in self.attainment)
        )

    @property
    def resolution_pct(self) -> float | None:
        return _pct(
            sum(a.resolution_met for a in self.attainment),
            sum(a.resolution_missed for a in self.attainment),
        )


def build_sla_digest(
    session: Session, desk: Desk, *, since: datetime, until: datetime, now: datetime
) -> SlaDigest:
    repository = SlaRepository(session)
    rows = repository.attainment(since, until, active=ACTIVE_STATUSES, stopped=STOPPED_STATUSES)
    by_priority = {row.pop("priority"): row for row in rows}
    attainment = [
        Attainment(
            priority=p.value,
            label=PRIORITY_LABELS[p],
            **{key: int(value) for key, value in by_priority.get(p.value, _NONE).items()},
        )
        for p in reversed(list(Priority))
    ]
    counts = repository.first_response_buckets(since, until, BUCKET_EDGES)
    # Unanswered tickets already past the last edge of business time are overdue too.
    overdue_after = timedelta(seconds=BUCKET_EDGES[-1])
    for ticket in repository.unanswered(since, until, active=ACTIVE_STATUSES):
        start = ticket.sla_started_at or ticket.created_at
        if ticket_calendar(desk, ticket).between(start, until) >= overdue_after:
            counts[-1] += 1
    breached: list[AttentionLine] = []
    at_risk: list[AttentionLine] = []
    for ticket in repository.needing_attention(now=now, limit=500, active=ACTIVE_STATUSES):
        # Only targets still to meet: an answered first response is done, late or not.
        pending = [
            (state, target)
            for target in SlaTarget
            if not (target == SlaTarget.FIRST_RESPONSE and ticket.first_response_at)
            for state in [target_state(ticket, target, now=now)]
            if state in (SlaState.BREACHED, SlaState.WARNING)
        ]
        if not pending:
            continue
        state, target = min(
            pending, key=lambda p: (p[0] != SlaState.BREACHED, list(SlaTarget).index(p[1]))
        )
        due = (
            ticket.first_response_due_at
            if target == SlaTarget.FIRST_RESPONSE
            else ticket.resolution_due_at
        )
        assert due is not None
        line = AttentionLine(
            ref=ticket.ref,
            ticket_id=ticket.id,
            state=state.value,
            target=SLA_TARGET_LABELS[target],
            when=relative(due, now),
            due=date_parts(due, desk.config.tz),
            priority=PRIORITY_LABELS[Priority(ticket.priority)],
            assignee=ticket.assignee,
            link=ticket.permalink,
        )
        (breached if state == SlaState.BREACHED else at_risk).append(line)
    return SlaDigest(
        since=since,
        until=until,
        opened=sum(a.opened for a in attainment),
        attainment=attainment,
        buckets=list(zip(BUCKET_LABELS, counts, strict=True)),
        breached=breached,
        at_risk=at_risk,
    )


def post_digest(session: Session, desk: Desk, digest: SlaDigest, *, now: datetime) -> bool:
    """Owe the digests channel the digest; False when no channel is configured."""
    if desk.config.digests is None:
        return False
    message = sla_digest_message(digest, tz=desk.config.tz)
    OutboxRepository(session).enqueue(
        "chat.postMessage",
        {"channel": desk.config.digests.channel, **message, "unfurl_links": False},
        now=now,
        purpose=Purpose.DIGEST,
    )
    return True
