"""The SLA engine: due times, the pause while the requester is asked, and the sweep that warns
before a breach and alerts on one.

Each ticket is held to a target (first response, resolution) from its priority, queue and tier.
Targets count business time (`workflows.business_time`) unless the priority runs around the clock.
The clock starts when the ticket opens (`sla_started_at`: the message, the :ticket: reaction, the
form). The resolution clock stands still while the ticket waits on the requester and while it is
resolved; the business time it stood still before its target was reached moves the due time out.
Once a due time has passed, it is history: a pause afterwards does not undo the breach.

`plan` brings a ticket's SLA fields up to date after anything that changes them (it opened, its
priority, queue or tier changed, its status changed, it got its first response). It also sets
`sla_next_at`, the next moment one of its thresholds (a warning at `sla.warning_at` of a target,
the breach at its due time) comes due: the sweep reads only tickets whose `sla_next_at` has come,
through one index, so its cost follows the tickets coming due, not the backlog.

The sweep records each alert in `sla_alerts`, unique per (ticket, target, level): however many
sweeps run on however many replicas, each warning and each breach goes out once. Alerts found in
one sweep are grouped: one message in the alert channel, one DM per person.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from storage.models import SlaAlert, Ticket
from storage.repositories import AgentRepository, OutboxRepository, SlaRepository, TicketRepository
from workflows.agents import queue_agents
from workflows.business_time import AROUND_THE_CLOCK, BusinessCalendar
from workflows.delivery import Notice, Purpose, Wording, refresh_card, said
from workflows.desk import Desk
from workflows.sla_state import STOPPED_STATUSES, settle, thresholds
from workflows.vocabulary import SLA_RUNNING_STATUSES, AlertLevel, EventKind, SlaTarget

if TYPE_CHECKING:
    from bot.config import SlaTarget as TargetConfig

ZERO = timedelta(0)
# The most tickets one sweep looks at; the rest are next minute's (they stay due). About a
# second of work on SQLite, whose write lock the sweep holds meanwhile (bench/sla_sweep.py).
SWEEP_LIMIT = 500


@dataclass(frozen=True)
class Alert:
    """One warning or breach, as the alert messages tell it."""

    ticket_id: int
    ref: str
    target: SlaTarget
    level: AlertLevel
    due_at: datetime
    priority: str
    queue: str
    assignee: str | None
    customer: str | None
    link: str | None  # the ticket's thread (its permalink), when known


@dataclass
class SweepResult:
    looked_at: int = 0
    alerts: list[Alert] = field(default_factory=list)
    messages: int = 0  # grouped channel posts and DMs enqueued


# --- targets and clocks -------------------------------------------------------------------------


def target_of(desk: Desk, ticket: Ticket) -> TargetConfig:
    return desk.config.sla_target(ticket.priority, tier=ticket.customer_tier, queue=ticket.queue)


def calendar_of(desk: Desk, target: TargetConfig) -> BusinessCalendar:
    return AROUND_THE_CLOCK if target.around_the_clock else desk.business_calendar


def ticket_calendar(desk: Desk, ticket: Ticket) -> BusinessCalendar:
    return calendar_of(desk, target_of(desk, ticket))


# --- planning -----------------------------------------------------------------------------------


def plan(
    session: Session, desk: Desk, ticket: Ticket, *, at: datetime, retarget: bool = False
) -> None:
    """Bring the ticket's SLA fields up to date after a change at `at` (the Slack event's time).
    `retarget`: its priority, queue or tier may have changed, so due times are computed afresh."""
    fired = SlaRepository(session).fired([ticket.id])[ticket.id]
    update_clock(desk, ticket, at=at, retarget=retarget)
    settle(ticket, fired, now=desk.clock.now())


def first_response(session: Session, desk: Desk, ticket: Ticket, *, by: str, at: datetime) -> None:
    """An agent's first words the requester can read: the first-response clock stops."""
    if ticket.first_response_at is not None:
        return
    ticket.first_response_at = at
    TicketRepository(session).log(ticket, EventKind.FIRST_RESPONSE, at=at, actor=by)
    plan(session, desk, ticket, at=at)
    refresh_card(session, ticket, now=desk.clock.now())


def update_clock(desk: Desk, ticket: Ticket, *, at: datetime, retarget: bool = False) -> None:
    """The due times, warnings, pause and measurements; pure on the ticket's fields."""
    if ticket.sla_started_at is None:
        ticket.sla_started_at = at
    target = target_of(desk, ticket)
    calendar = calendar_of(desk, target)
    start = ticket.sla_started_at
    share = desk.config.sla.warning_at
    # Whether the resolution target was already reached when the clock last ran: then its due
    # time is history, and neither a pause nor a resume moves it.
    last_ran = ticket.sla_paused_at or at
    reached = ticket.resolution_due_at is not None and ticket.resolution_due_at <= last_ran
    _pause_or_resume(ticket, calendar, at=at, credit=not reached)

    first = target.first_response or None
    ticket.first_response_due_at = calendar.add(start, first) if first else None
    ticket.first_response_warn_at = calendar.add(start, first * share) if first and share else None
    resolution = target.resolution or None
    if resolution is None:
        ticket.resolution_due_at = ticket.resolution_warn_at = None
    elif retarget or not reached:
        paused = ticket.sla_paused or ZERO
        ticket.resolution_due_at = calendar.add(start, resolution + paused)
        ticket.resolution_warn_at = (
            calendar.add(start, resolution * share + paused) if share else None
        )

    ticket.first_response_seconds = (
        int(calendar.between(start, ticket.first_response_at).total_seconds())
        if ticket.first_response_at is not None
        else None
    )
    if ticket.status in STOPPED_STATUSES and ticket.resolved_at is not None:
        running = calendar.between(start, ticket.resolved_at) - (ticket.sla_paused or ZERO)
        ticket.resolution_seconds = max(0, int(running.total_seconds()))
    else:
        ticket.resolution_seconds = None


def _pause_or_resume(
    ticket: Ticket, calendar: BusinessCalendar, *, at: datetime, credit: bool
) -> None:
    """Start, end or carry on a pause. `credit`: the pause began before the resolution target
    was reached, so the time it stood still moves the due time out (and is not counted as
    time spent); a pause after the breach changes nothing."""
    running = ticket.status in SLA_RUNNING_STATUSES
    stopped = ticket.resolved_at if ticket.status in STOPPED_STATUSES else None
    paused_at = ticket.sla_paused_at
    if running and paused_at is not None:
        if credit:
            ticket.sla_paused = (ticket.sla_paused or ZERO) + calendar.between(paused_at, at)
        ticket.sla_paused_at = None
    elif not running and paused_at is None:
        ticket.sla_paused_at = stopped or at
    elif stopped is not None and paused_at is not None and paused_at < stopped:
        # Resolved while waiting on the requester: the wait stood still too, up to the resolve.
        if credit:
            ticket.sla_paused = (ticket.sla_paused or ZERO) + calendar.between(paused_at, stopped)
        ticket.sla_paused_at = stopped


# --- the sweep ----------------------------------------------------------------------------------


def sweep(session: Session, desk: Desk, *, now: datetime, limit: int = SWEEP_LIMIT) -> SweepResult:
    """Say every warning and breach that has come due, once, grouped per channel and person."""
    repository = SlaRepository(session)
    tickets = repository.coming_due(now=now, limit=limit)
    fired = repository.fired(ticket.id for ticket in tickets)
    result = SweepResult(looked_at=len(tickets))
    for ticket in tickets:
        if ticket.first_response_due_at is None and ticket.resolution_due_at is None:
            # Opened before the SLA engine (or under targets switched off): plan it first.
            update_clock(desk, ticket, at=ticket.sla_started_at or ticket.created_at)
        before = ticket.sla_state
        result.alerts += _fire(session, ticket, fired[ticket.id], now=now)
        settle(ticket, fired[ticket.id], now=now)
        if ticket.sla_state != before:
            refresh_card(session, ticket, now=now)
    result.messages = _announce(session, desk, result.alerts, now=now)
    return result


def _fire(
    session: Session, ticket: Ticket, fired: set[tuple[str, str]], *, now: datetime
) -> list[Alert]:
    """Record the thresholds that have come; a warning overtaken by its breach (the sweep was
    down a while) is recorded unsaid."""
    come = [
        t
        for t in thresholds(ticket)
        if t.at <= now and (t.target.value, t.level.value) not in fired
    ]
    breached = {t.target for t in come if t.level == AlertLevel.BREACH}
    repository = SlaRepository(session)
    alerts: list[Alert] = []
    for threshold in come:
        say = threshold.level == AlertLevel.BREACH or threshold.target not in breached
        due = ticket.first_response_due_at
        if threshold.target == SlaTarget.RESOLUTION:
            due = ticket.resolution_due_at
        assert due is not None
        row = repository.record(
            SlaAlert(
                ticket_id=ticket.id,
                target=threshold.target.value,
                level=threshold.level.value,
                due_at=due,
                fired_at=now,
                sent=say,
            )
        )
        fired.add((threshold.target.value, threshold.level.value))
        if row is None or not say:
            continue  # another sweep said it
        kind = (
            EventKind.SLA_BREACHED
            if threshold.level == AlertLevel.BREACH
            else EventKind.SLA_WARNING
        )
        TicketRepository(session).log(
            ticket,
            kind,
            at=threshold.at,
            data={"target": threshold.target.value, "due_at": due.isoformat()},
        )
        alerts.append(
            Alert(
                ticket_id=ticket.id,
                ref=ticket.ref,
                target=threshold.target,
                level=threshold.level,
                due_at=due,
                priority=ticket.priority,
                queue=ticket.queue,
                assignee=ticket.assignee,
                customer=ticket.customer,
                link=ticket.permalink,
            )
        )
    return alerts


def _announce(session: Session, desk: Desk, alerts: list[Alert], *, now: datetime) -> int:
    """One message in the alert channel, and one DM per person: the assignee, or the queue's
    agents who are not away (all of them when everyone is)."""
    if not alerts:
        return 0
    outbox = OutboxRepository(session)
    sent = 0
    channel = desk.config.sla_alert_channel
    if channel:
        outbox.enqueue(
            "chat.postMessage",
            {"channel": channel, **_alert_notice(alerts, now=now, desk=desk, personal=False)},
            now=now,
            purpose=Purpose.SLA_ALERT,
        )
        sent += 1
    away = AgentRepository(session).away_users()
    by_person: dict[str, list[Alert]] = defaultdict(list)
    queues: dict[str, list[str]] = {}
    for alert in alerts:
        if alert.assignee:
            people = [alert.assignee]
        else:
            if alert.queue not in queues:
                agents = queue_agents(session, desk, alert.queue)
                queues[alert.queue] = [a for a in agents if a not in away] or agents
            people = queues[alert.queue]
        for person in people:
            by_person[person].append(alert)
    for person, theirs in by_person.items():
        outbox.enqueue(
            "chat.postMessage",
            {"channel": person, **_alert_notice(theirs, now=now, desk=desk, personal=True)},
            now=now,
            purpose=Purpose.SLA_ALERT,
        )
        sent += 1
    return sent


def _alert_notice(
    alerts: Sequence[Alert], *, now: datetime, desk: Desk, personal: bool
) -> dict[str, Any]:
    """A sweep's alerts as facts, worded when sent, as of the sweep (`now`)."""
    facts = {
        "alerts": [{**asdict(alert), "due_at": alert.due_at.isoformat()} for alert in alerts],
        "now": now.isoformat(),
        "timezone": desk.config.timezone,
        "personal": personal,
    }
    return said(Notice(Wording.SLA_ALERT, facts=facts))
