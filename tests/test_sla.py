"""The SLA engine (workflows/sla.py, workflows/sla_state.py) straight on the database: due times
and warnings at open in business time, around the clock and over holidays; tier and queue
overrides; recomputing after a priority or queue change; the pause while the ticket waits on the
requester or is resolved; first responses; the sweep's alerts (each once, grouped, to whom); two
sweeps at once; and what the card and the export say.

Every expected time is worked out by hand. The desk is TEST_CONFIG's: America/New_York, Mon-Fri
09:00-17:00. In late November and December 2026 New York is on EST (UTC-5): `ny(11, 23, 10)` is
Monday 23 Nov 10:00 in New York, 15:00 UTC. Where it matters the UTC value is also spelled out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from bot.config import DeskConfig, parse_config
from storage.db import SessionFactory, create_session_factory
from storage.models import OutboxMessage, SlaAlert, Ticket, TicketEvent
from templates.cards import build_ticket_card
from tests.conftest import TEST_CONFIG, as_told, run_together
from workflows.agents import set_away
from workflows.clock import ManualClock, datetime_to_slack_ts
from workflows.delivery import Purpose
from workflows.desk import Desk
from workflows.editing import TicketEdit, edit_ticket
from workflows.export import export_records
from workflows.intake import (
    IntakeRequest,
    Outcome,
    SlackMessage,
    open_from_modal,
    receive_message,
)
from workflows.merging import submit_merge
from workflows.rules import route_ticket
from workflows.sla import SweepResult, sweep
from workflows.sla_state import sla_state, target_state
from workflows.triage import ActionKind, ActionResult, TicketAction, move_to_queue, perform
from workflows.vocabulary import (
    AlertLevel,
    EventKind,
    IssueType,
    Priority,
    SlaState,
    SlaTarget,
    TicketStatus,
    Via,
)

REQUESTER = "U0REQ1"
CUSTOMER = "U0CUST1"  # someone of Acme's, in the shared channel
AGENT1, AGENT2, AGENT3 = "U0AGENT1", "U0AGENT2", "U0AGENT3"
NOT_AGENT = "U0BOB"
HELP, BILLING, ACME, TRIAGE = "C0HELP", "C0BILLING", "C0ACME", "C0TRIAGE"
H = timedelta(hours=1)


def ny(month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A New York wall time in Nov/Dec 2026 (EST, UTC-5), as the UTC instant."""
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC) + timedelta(hours=5)


def utc(month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


MON = (11, 23)  # Monday 23 November 2026; Thursday 26 is Thanksgiving (a US public holiday)


def mon(hour: int, minute: int = 0) -> datetime:
    return ny(*MON, hour, minute)


# --- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture
def session_factory(engine: Engine) -> SessionFactory:
    return create_session_factory(engine)


@pytest.fixture
def desk(desk_config: DeskConfig, clock: ManualClock) -> Desk:
    clock.set(mon(9))
    return Desk(desk_config, clock)


def desk_with(clock: ManualClock, **overrides: Any) -> Desk:
    """A desk whose config is TEST_CONFIG with top-level keys replaced."""
    clock.set(mon(9))
    return Desk(parse_config({**TEST_CONFIG, **overrides}), clock)


def sla_with(**entries: Any) -> dict[str, Any]:
    """TEST_CONFIG's `sla:` section with entries added or replaced."""
    return {**TEST_CONFIG["sla"], **entries}


def at(desk: Desk, when: datetime) -> datetime:
    """Move the desk's clock to `when` (every event below happens "now")."""
    assert isinstance(desk.clock, ManualClock)
    desk.clock.set(when)
    return when


def open_ticket(
    sf: SessionFactory,
    desk: Desk,
    when: datetime,
    *,
    channel: str = HELP,
    user: str = REQUESTER,
    external: bool = False,
    text: str = "The export fails",
) -> tuple[int, str]:
    """A requester's message opens a ticket; its id and the thread's ts."""
    at(desk, when)
    ts = datetime_to_slack_ts(when)
    message = SlackMessage(channel=channel, ts=ts, user=user, text=text, is_external=external)
    with sf.begin() as session:
        result = receive_message(session, desk, message)
    assert result.outcome == Outcome.OPENED and result.ticket_id is not None
    return result.ticket_id, ts


def reply(
    sf: SessionFactory,
    desk: Desk,
    thread_ts: str,
    when: datetime,
    *,
    user: str,
    channel: str = HELP,
    external: bool = False,
    text: str = "Hello",
) -> Outcome:
    at(desk, when)
    message = SlackMessage(
        channel=channel,
        ts=datetime_to_slack_ts(when),
        user=user,
        text=text,
        thread_ts=thread_ts,
        is_external=external,
    )
    with sf.begin() as session:
        return receive_message(session, desk, message).outcome


def act(
    sf: SessionFactory,
    desk: Desk,
    kind: ActionKind,
    ticket_id: int,
    when: datetime,
    actor: str = AGENT1,
) -> ActionResult:
    at(desk, when)
    with sf.begin() as session:
        action = TicketAction(kind=kind, ticket_id=ticket_id, actor=actor, at=when, via=Via.BUTTON)
        result = perform(session, desk, action)
    assert result.done, result
    return result


def load(sf: SessionFactory, ticket_id: int) -> Ticket:
    with sf.begin() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket


def sweep_at(sf: SessionFactory, desk: Desk, when: datetime) -> SweepResult:
    at(desk, when)
    with sf.begin() as session:
        return sweep(session, desk, now=when)


@dataclass(frozen=True)
class Due:
    """A ticket's SLA fields, compared as one."""

    first_response_warn_at: datetime | None
    first_response_due_at: datetime | None
    resolution_warn_at: datetime | None
    resolution_due_at: datetime | None


def due(ticket: Ticket) -> Due:
    return Due(
        ticket.first_response_warn_at,
        ticket.first_response_due_at,
        ticket.resolution_warn_at,
        ticket.resolution_due_at,
    )


def recorded(sf: SessionFactory) -> list[tuple[int, str, str, bool, datetime, datetime]]:
    """SlaAlert rows: (ticket, target, level, sent, due_at, fired_at)."""
    with sf.begin() as session:
        rows = session.scalars(select(SlaAlert).order_by(SlaAlert.id)).all()
        return [(r.ticket_id, r.target, r.level, r.sent, r.due_at, r.fired_at) for r in rows]


def said(sf: SessionFactory) -> list[tuple[str, str]]:
    """The sweep's outbox rows, in order: (channel or user, text)."""
    with sf.begin() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.purpose == Purpose.SLA_ALERT)
            .order_by(OutboxMessage.id)
        ).all()
        for row in rows:
            assert row.method == "chat.postMessage"
        return [(row.payload["channel"], row.payload["text"]) for row in as_told(rows)]


def refs(text: str) -> list[int]:
    """The ticket numbers a grouped alert lists, in order."""
    return [int(number) for number in re.findall(r"#(\d+)", text)]


def sla_events(sf: SessionFactory, ticket_id: int) -> list[tuple[str, datetime, dict]]:
    with sf.begin() as session:
        rows = session.scalars(
            select(TicketEvent)
            .where(
                TicketEvent.ticket_id == ticket_id,
                TicketEvent.kind.in_([EventKind.SLA_WARNING, EventKind.SLA_BREACHED]),
            )
            .order_by(TicketEvent.id)
        ).all()
        return [(e.kind, e.at, e.data) for e in rows]


def test_ny_is_est_in_late_2026() -> None:
    """The hand-computed times below rely on New York being UTC-5 then (DST ended 1 Nov)."""
    tz = ZoneInfo("America/New_York")
    for moment in (mon(10), ny(11, 20, 15), ny(12, 24, 16), ny(12, 4, 10)):
        assert moment.astimezone(tz).utcoffset() == timedelta(hours=-5)
    assert mon(10) == utc(11, 23, 15) == datetime(2026, 11, 23, 10, tzinfo=tz)


# --- 1. due times at open ----------------------------------------------------------------------


def test_medium_ticket_opened_friday_afternoon_counts_business_hours(
    session_factory: SessionFactory, desk: Desk
) -> None:
    # Friday 20 Nov 15:00 New York: two business hours are left that day.
    ticket_id, _ = open_ticket(session_factory, desk, ny(11, 20, 15))
    ticket = load(session_factory, ticket_id)

    assert ticket.priority == Priority.MEDIUM
    assert ticket.sla_started_at == utc(11, 20, 20) == ticket.created_at
    assert due(ticket) == Due(
        # 3h (75% of 4h): Fri 15-17 (2h) + Mon 09-10 (1h) -> Mon 10:00 NY.
        first_response_warn_at=utc(11, 23, 15),
        # 4h: Fri 2h + Mon 09-11 -> Mon 11:00 NY.
        first_response_due_at=utc(11, 23, 16),
        # 18h (75% of 24h): Fri 2 + Mon 8 + Tue 8 -> the end of Tuesday, 17:00 NY.
        resolution_warn_at=utc(11, 24, 22),
        # 24h = three business days: Fri 2 + Mon 8 + Tue 8 + Wed 09-15 -> Wed 15:00 NY.
        resolution_due_at=utc(11, 25, 20),
    )
    assert ticket.sla_next_at == utc(11, 23, 15)  # the first threshold: the first warning
    assert ticket.sla_state == SlaState.OK
    assert (ticket.sla_paused_at, ticket.sla_paused) == (None, None)
    assert (ticket.first_response_seconds, ticket.resolution_seconds) == (None, None)


def test_business_hours_follow_the_wall_clock_across_the_dst_change(
    session_factory: SessionFactory, desk: Desk
) -> None:
    """Friday 30 Oct 16:00 EDT (UTC-4); clocks go back on Sunday 1 Nov; Monday opens 09:00 EST."""
    opened = datetime(2026, 10, 30, 20, 0, tzinfo=UTC)
    ticket_id, _ = open_ticket(session_factory, desk, opened)
    ticket = load(session_factory, ticket_id)
    assert ticket.first_response_warn_at == utc(11, 2, 16)  # Fri 1h + Mon 09-11 EST
    assert ticket.first_response_due_at == utc(11, 2, 17)  # Fri 1h + Mon 09-12 EST


def urgent_request() -> IntakeRequest:
    return IntakeRequest(
        requester=REQUESTER,
        channel=HELP,
        issue_type=IssueType.QUESTION,
        priority=Priority.URGENT,
        description="Checkout is down",
    )


def open_urgent(sf: SessionFactory, desk: Desk, when: datetime) -> Ticket:
    at(desk, when)
    with sf.begin() as session:
        result = open_from_modal(session, desk, urgent_request())
    assert result.ticket_id is not None
    return load(sf, result.ticket_id)


def test_around_the_clock_targets_count_wall_clock_time_at_night_and_weekends(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    late_saturday = ny(11, 21, 23, 30)  # Saturday 23:30 NY = Sunday 04:30 UTC
    assert late_saturday == utc(11, 22, 4, 30)
    nonstop = desk_with(
        clock,
        sla=sla_with(
            urgent={"first_response": "15m", "resolution": "4h", "around_the_clock": True}
        ),
    )
    ticket = open_urgent(session_factory, nonstop, late_saturday)
    assert ticket.sla_started_at == late_saturday
    assert due(ticket) == Due(
        first_response_warn_at=utc(11, 22, 4, 41, 15),  # 75% of 15m = 11m15s
        first_response_due_at=utc(11, 22, 4, 45),  # Saturday 23:45 NY
        resolution_warn_at=utc(11, 22, 7, 30),  # 3h
        resolution_due_at=utc(11, 22, 8, 30),  # Sunday 03:30 NY
    )

    # The same ticket on business hours waits for Monday 09:00.
    office = desk_with(clock)
    ticket = open_urgent(session_factory, office, ny(11, 21, 23, 31))
    assert due(ticket) == Due(
        first_response_warn_at=mon(9, 11) + timedelta(seconds=15),
        first_response_due_at=mon(9, 15),
        resolution_warn_at=mon(12),
        resolution_due_at=mon(13),
    )


def test_an_explicit_holiday_is_skipped(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    """Thursday 24 Dec 16:00; Friday 25 Dec is TEST_CONFIG's holiday."""
    desk = desk_with(clock)
    ticket_id, _ = open_ticket(session_factory, desk, ny(12, 24, 16))
    assert due(load(session_factory, ticket_id)) == Due(
        first_response_warn_at=ny(12, 28, 11),  # 3h: Thu 16-17 + Mon 28 Dec 09-11
        first_response_due_at=utc(12, 28, 17),  # 4h: Thu 1h + Mon 09-12 -> Monday 12:00 NY
        resolution_warn_at=ny(12, 30, 10),  # 18h: Thu 1 + Mon 8 + Tue 8 + Wed 09-10
        resolution_due_at=utc(12, 30, 21),  # 24h: Thu 1 + Mon 8 + Tue 8 + Wed 09-16
    )

    # Without the holiday the first response is due on Christmas Day itself.
    open_desk = desk_with(clock, holidays=[])
    other_id, _ = open_ticket(session_factory, open_desk, ny(12, 24, 16, 1), user="U0REQ2")
    assert load(session_factory, other_id).first_response_due_at == ny(12, 25, 12, 1)


def test_public_holidays_skip_thanksgiving(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    """Wednesday 25 Nov 15:00; Thursday 26 Nov 2026 is Thanksgiving (Friday 27 is not)."""
    us = desk_with(clock, public_holidays="US")
    ticket_id, _ = open_ticket(session_factory, us, ny(11, 25, 15))
    assert due(load(session_factory, ticket_id)) == Due(
        first_response_warn_at=ny(11, 27, 10),  # Wed 2h + Fri 09-10
        first_response_due_at=utc(11, 27, 16),  # Wed 2h + Fri 09-11 -> Friday 11:00 NY
        resolution_warn_at=ny(11, 30, 17),  # Wed 2 + Fri 8 + Mon 8 = 18h: Monday 30 Nov 17:00
        resolution_due_at=utc(12, 1, 20),  # ... + Tue 1 Dec 09-15 -> Tuesday 15:00 NY
    )

    plain = desk_with(clock)
    other_id, _ = open_ticket(session_factory, plain, ny(11, 25, 15, 1), user="U0REQ2")
    assert load(session_factory, other_id).first_response_due_at == ny(11, 26, 11, 1)


def test_warnings_switched_off(session_factory: SessionFactory, clock: ManualClock) -> None:
    desk = desk_with(clock, sla=sla_with(warning_at="off"))
    ticket_id, _ = open_ticket(session_factory, desk, mon(10))
    ticket = load(session_factory, ticket_id)
    assert due(ticket) == Due(None, mon(14), None, ny(11, 26, 10))
    assert ticket.sla_next_at == mon(14)
    assert sweep_at(session_factory, desk, mon(13, 59)).alerts == []
    assert [a.level for a in sweep_at(session_factory, desk, mon(14)).alerts] == [AlertLevel.BREACH]
    assert [(r[1], r[2], r[3]) for r in recorded(session_factory)] == [
        ("first_response", "breach", True)
    ]


# --- 2. tier and queue overrides ---------------------------------------------------------------


def test_a_tier_override_applies_to_the_customers_tickets_only(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    desk = desk_with(
        clock,
        default_priority="high",
        sla=sla_with(tiers={"enterprise": {"high": {"first_response": "30m", "resolution": "4h"}}}),
    )
    acme_id, _ = open_ticket(
        session_factory, desk, mon(10), channel=ACME, user=CUSTOMER, external=True
    )
    internal_id, _ = open_ticket(session_factory, desk, mon(10))

    acme = load(session_factory, acme_id)
    assert (acme.customer, acme.customer_tier, acme.priority) == ("Acme Corp", "enterprise", "high")
    assert due(acme) == Due(
        first_response_warn_at=mon(10, 22) + timedelta(seconds=30),  # 75% of 30m = 22m30s
        first_response_due_at=utc(11, 23, 15, 30),  # 10:30 NY
        resolution_warn_at=mon(13),  # 3h
        resolution_due_at=utc(11, 23, 19),  # 14:00 NY
    )
    internal = load(session_factory, internal_id)
    assert (internal.customer_tier, internal.priority) == (None, "high")
    assert due(internal) == Due(
        first_response_warn_at=mon(10, 45),
        first_response_due_at=mon(11),
        resolution_warn_at=mon(16),  # 6h
        resolution_due_at=utc(11, 24, 15),  # 8h: Mon 10-17 (7h) + Tue 09-10 -> Tue 10:00 NY
    )


def test_queue_override_and_tier_wins_over_queue_key_by_key(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    desk = desk_with(
        clock,
        sla=sla_with(
            queues={"billing": {"medium": {"first_response": "2h", "resolution": "16h"}}},
            tiers={"enterprise": {"medium": {"first_response": "1h"}}},
        ),
        rules=[{"if": {"customer": "Acme Corp"}, "then": {"queue": "billing"}}],
    )
    billing_id, _ = open_ticket(session_factory, desk, mon(10), channel=BILLING)
    general_id, _ = open_ticket(session_factory, desk, mon(10))
    acme_id, _ = open_ticket(
        session_factory, desk, mon(10), channel=ACME, user=CUSTOMER, external=True
    )

    billing = load(session_factory, billing_id)
    assert (billing.queue, billing.priority) == ("billing", "medium")
    assert due(billing) == Due(
        first_response_warn_at=mon(11, 30),  # 90m
        first_response_due_at=mon(12),  # 2h
        resolution_warn_at=ny(11, 24, 14),  # 75% of 16h = 12h: Mon 7 + Tue 09-14
        resolution_due_at=ny(11, 25, 10),  # 16h: Mon 7 + Tue 8 + Wed 09-10
    )
    general = load(session_factory, general_id)
    assert (general.first_response_due_at, general.resolution_due_at) == (mon(14), ny(11, 26, 10))

    acme = load(session_factory, acme_id)
    assert (acme.queue, acme.customer_tier) == ("billing", "enterprise")
    # First response from the tier (1h), resolution from the queue (16h): key by key.
    assert (acme.first_response_due_at, acme.resolution_due_at) == (mon(11), ny(11, 25, 10))


def test_targets_switched_off(session_factory: SessionFactory, clock: ManualClock) -> None:
    desk = desk_with(
        clock,
        sla=sla_with(
            medium={"first_response": "off", "resolution": "off"},
            low={"first_response": "off", "resolution": "72h"},
        ),
    )
    ticket_id, _ = open_ticket(session_factory, desk, mon(10))
    ticket = load(session_factory, ticket_id)
    assert due(ticket) == Due(None, None, None, None)
    assert (ticket.sla_state, ticket.sla_next_at) == (None, None)
    assert ticket.sla_started_at == mon(10)
    assert sla_state(ticket, now=ny(12, 31, 12)) is None
    # Nothing ever comes due for a ticket without targets.
    result = sweep_at(session_factory, desk, ny(12, 31, 12))
    assert (result.looked_at, result.alerts) == (0, [])

    # Only the first response off (low): the resolution clock still runs.
    at(desk, mon(10, 30))
    with session_factory.begin() as session:
        row = session.get(Ticket, ticket_id)
        assert row is not None
        row.priority = Priority.LOW.value
        route_ticket(session, desk, row, at=mon(10, 30))
    ticket = load(session_factory, ticket_id)
    # 72h from Mon 10:00: Mon 7 + Tue-Fri 32 + Mon 30 Nov-Thu 3 Dec 32 = 71h, + Fri 4 Dec 09-10.
    # 54h (75%): Mon 7 + Tue-Fri 32 + Mon 30 Nov 8 = 47h, + Tue 1 Dec 09-16.
    assert due(ticket) == Due(None, None, ny(12, 1, 16), ny(12, 4, 10))
    assert ticket.sla_state == SlaState.OK
    assert ticket.sla_next_at == ny(12, 1, 16)


# --- 3. recomputing after a change -------------------------------------------------------------


def test_a_priority_edit_recomputes_from_the_original_start(
    session_factory: SessionFactory, desk: Desk
) -> None:
    ticket_id, _ = open_ticket(session_factory, desk, mon(10))
    assert due(load(session_factory, ticket_id)) == Due(
        mon(13), mon(14), ny(11, 25, 12), ny(11, 26, 10)
    )

    def edit(priority: Priority, when: datetime) -> None:
        at(desk, when)
        with session_factory.begin() as session:
            result = edit_ticket(
                session,
                desk,
                TicketEdit(ticket_id=ticket_id, priority=priority),
                editor=AGENT1,
                at=when,
            )
        assert result.done and "priority" in result.changes

    edit(Priority.HIGH, mon(10, 30))
    ticket = load(session_factory, ticket_id)
    assert ticket.sla_started_at == mon(10)
    assert due(ticket) == Due(
        first_response_warn_at=mon(10, 45),
        first_response_due_at=mon(11),
        resolution_warn_at=mon(16),
        resolution_due_at=ny(11, 24, 10),
    )
    assert ticket.sla_next_at == mon(10, 45)

    edit(Priority.LOW, mon(12))
    ticket = load(session_factory, ticket_id)
    assert ticket.sla_started_at == mon(10)
    assert due(ticket) == Due(
        first_response_warn_at=mon(16),  # 6h
        first_response_due_at=ny(11, 24, 10),  # 8h: Mon 7 + Tue 1
        resolution_warn_at=ny(12, 1, 16),  # 54h: Mon 7 + Tue-Fri 32 + Mon 8 + Tue 1 Dec 09-16
        resolution_due_at=ny(12, 4, 10),  # 72h: Mon 7 + Tue-Fri 32 + Mon-Thu 32 + Fri 09-10
    )
    assert ticket.sla_state == SlaState.OK  # the high target's 11:00 no longer applies


def test_route_ticket_after_a_priority_change_retargets(
    session_factory: SessionFactory, desk: Desk
) -> None:
    ticket_id, _ = open_ticket(session_factory, desk, mon(10))
    at(desk, mon(10, 5))
    with session_factory.begin() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        ticket.priority = Priority.URGENT.value
        route_ticket(session, desk, ticket, at=mon(10, 5))
    ticket = load(session_factory, ticket_id)
    assert due(ticket) == Due(
        first_response_warn_at=mon(10, 11) + timedelta(seconds=15),
        first_response_due_at=mon(10, 15),
        resolution_warn_at=mon(13),
        resolution_due_at=mon(14),
    )


def test_a_queue_change_retargets(session_factory: SessionFactory, clock: ManualClock) -> None:
    desk = desk_with(
        clock,
        sla=sla_with(queues={"billing": {"medium": {"first_response": "2h", "resolution": "16h"}}}),
    )
    ticket_id, _ = open_ticket(session_factory, desk, mon(10))
    assert load(session_factory, ticket_id).first_response_due_at == mon(14)
    at(desk, mon(10, 30))
    with session_factory.begin() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        assert move_to_queue(session, desk, ticket, queue="billing", assignee=None, at=mon(10, 30))
    ticket = load(session_factory, ticket_id)
    assert ticket.queue == "billing"
    assert due(ticket) == Due(mon(11, 30), mon(12), ny(11, 24, 14), ny(11, 25, 10))


# --- 4. pause and resume -----------------------------------------------------------------------


def answered_ticket(sf: SessionFactory, desk: Desk) -> tuple[int, str]:
    """Medium, opened Monday 10:00 NY, claimed at 10:10, answered in the thread at 10:20.
    Its resolution is due Thursday 26 Nov 10:00 NY (24h: Mon 7 + Tue 8 + Wed 8 + Thu 1)."""
    ticket_id, ts = open_ticket(sf, desk, mon(10))
    act(sf, desk, ActionKind.CLAIM, ticket_id, mon(10, 10))
    assert reply(sf, desk, ts, mon(10, 20), user=AGENT1, text="Which file?") == Outcome.ATTACHED
    ticket = load(sf, ticket_id)
    assert ticket.first_response_at == mon(10, 20)
    assert ticket.resolution_due_at == utc(11, 26, 15)
    return ticket_id, ts


def test_waiting_on_the_requester_moves_the_resolution_due_time_out(
    session_factory: SessionFactory, desk: Desk
) -> None:
    sf = session_factory
    ticket_id, ts = answered_ticket(sf, desk)

    act(sf, desk, ActionKind.WAIT, ticket_id, mon(13))
    ticket = load(sf, ticket_id)
    assert ticket.status == TicketStatus.WAITING_ON_CUSTOMER
    assert ticket.sla_paused_at == mon(13)
    assert ticket.resolution_due_at == ny(11, 26, 10), "a pause moves nothing until it ends"
    assert ticket.sla_state == SlaState.PAUSED
    assert ticket.sla_next_at is None, "nothing to say while the clock stands still"

    # Thursday noon, two hours past the original due time: still paused, nothing said.
    result = sweep_at(sf, desk, ny(11, 26, 12))
    assert (result.looked_at, result.alerts, result.messages) == (0, [], 0)
    assert recorded(sf) == [] and said(sf) == []
    with sf.begin() as session:
        [record] = export_records(session, now=ny(11, 26, 12))
    assert record["sla_state"] == "paused"

    # The requester answers then: Mon 13-17 (4h) + Tue 8 + Wed 8 + Thu 09-12 (3h) = 23h paused.
    assert reply(sf, desk, ts, ny(11, 26, 12), user=REQUESTER, text="This one") == Outcome.ATTACHED
    ticket = load(sf, ticket_id)
    assert ticket.status == TicketStatus.CLAIMED
    assert (ticket.sla_paused_at, ticket.sla_paused) == (None, 23 * H)
    # 24h + 23h = 47h from Mon 10:00: Mon 7 + Tue-Fri 32 + Mon 30 Nov 8 -> Monday 17:00 NY.
    assert ticket.resolution_due_at == utc(11, 30, 22)
    # 18h + 23h = 41h: ... Fri 39 + Mon 09-11.
    assert ticket.resolution_warn_at == utc(11, 30, 16)
    assert ticket.sla_state == SlaState.OK
    assert ticket.sla_next_at == utc(11, 30, 16)
    assert ticket.first_response_due_at == mon(14), "the first response clock never pauses"

    # A second wait adds to the first: Monday 30 Nov 09:00 to 10:00.
    act(sf, desk, ActionKind.WAIT, ticket_id, ny(11, 30, 9))
    assert reply(sf, desk, ts, ny(11, 30, 10), user=REQUESTER, text="Also") == Outcome.ATTACHED
    ticket = load(sf, ticket_id)
    assert ticket.sla_paused == 24 * H
    assert ticket.resolution_due_at == ny(12, 1, 10)  # 48h: ... Mon 8 + Tue 09-10
    assert ticket.resolution_warn_at == ny(11, 30, 12)  # 42h
    assert recorded(sf) == [], "the resolution target was never at risk"


def test_a_pause_after_the_due_time_does_not_undo_the_breach(
    session_factory: SessionFactory, desk: Desk
) -> None:
    sf = session_factory
    ticket_id, ts = answered_ticket(sf, desk)
    act(sf, desk, ActionKind.WAIT, ticket_id, ny(11, 26, 12))  # two hours after the due time
    ticket = load(sf, ticket_id)
    assert ticket.resolution_due_at == ny(11, 26, 10)
    assert ticket.sla_state == SlaState.BREACHED
    assert target_state(ticket, SlaTarget.RESOLUTION, now=ny(11, 27, 9)) == SlaState.BREACHED

    # The breach (and its overtaken warning) is still said, once.
    result = sweep_at(sf, desk, ny(11, 26, 12, 1))
    assert [(a.target, a.level) for a in result.alerts] == [
        (SlaTarget.RESOLUTION, AlertLevel.BREACH)
    ]

    reply(sf, desk, ts, ny(11, 27, 10), user=REQUESTER, text="Here")
    ticket = load(sf, ticket_id)
    assert ticket.status == TicketStatus.CLAIMED
    assert ticket.resolution_due_at == ny(11, 26, 10), "history: the resume moves nothing"
    assert ticket.sla_paused is None  # a pause after the breach is not credited
    assert ticket.sla_state == SlaState.BREACHED
    assert ticket.sla_next_at is None
    assert sweep_at(sf, desk, ny(11, 27, 10, 1)).alerts == []


def test_an_edit_after_a_late_pause_keeps_the_breached_due_time(
    session_factory: SessionFactory, desk: Desk
) -> None:
    sf = session_factory
    ticket_id, ts = answered_ticket(sf, desk)
    act(sf, desk, ActionKind.WAIT, ticket_id, ny(11, 26, 12))
    reply(sf, desk, ts, ny(11, 27, 10), user=REQUESTER, text="Here")
    at(desk, ny(11, 27, 11))
    with sf.begin() as session:
        result = edit_ticket(
            session,
            desk,
            TicketEdit(ticket_id=ticket_id, priority=Priority.MEDIUM, tags=("export",)),
            editor=AGENT1,
            at=ny(11, 27, 11),
        )
    assert result.done and list(result.changes) == ["tags"]
    # Nothing about the target changed: the breached due time stays Thursday 10:00.
    assert load(sf, ticket_id).resolution_due_at == ny(11, 26, 10)


def test_resolve_then_reopen_credits_the_resolved_time(
    session_factory: SessionFactory, desk: Desk
) -> None:
    sf = session_factory
    ticket_id, ts = answered_ticket(sf, desk)
    act(sf, desk, ActionKind.RESOLVE, ticket_id, mon(15))
    ticket = load(sf, ticket_id)
    assert ticket.resolved_at == mon(15)
    assert ticket.sla_paused_at == mon(15)
    assert ticket.resolution_seconds == 5 * 3600  # Mon 10-15
    assert ticket.first_response_seconds == 20 * 60
    assert (ticket.sla_state, ticket.sla_next_at) == (SlaState.OK, None)

    # The requester writes back on Tuesday 11:00: reopened, 4h resolved (Mon 15-17, Tue 09-11).
    reply(sf, desk, ts, ny(11, 24, 11), user=REQUESTER, text="Still broken")
    ticket = load(sf, ticket_id)
    assert (ticket.status, ticket.resolved_at) == (TicketStatus.CLAIMED, None)
    assert (ticket.sla_paused_at, ticket.sla_paused) == (None, 4 * H)
    assert ticket.resolution_due_at == utc(11, 26, 19)  # 28h -> Thursday 14:00 NY
    assert ticket.resolution_warn_at == utc(11, 25, 21)  # 22h -> Wednesday 16:00 NY
    assert ticket.resolution_seconds is None
    assert ticket.sla_next_at == utc(11, 25, 21)

    act(sf, desk, ActionKind.RESOLVE, ticket_id, ny(11, 25, 10))
    ticket = load(sf, ticket_id)
    # Mon 10-17 (7h) + Tue 8h + Wed 1h = 16h, less the 4h resolved: 12h of running clock.
    assert ticket.resolution_seconds == 12 * 3600
    assert ticket.sla_state == SlaState.OK


def test_resolving_after_the_due_time_is_late_and_a_reopen_keeps_it(
    session_factory: SessionFactory, desk: Desk
) -> None:
    sf = session_factory
    ticket_id, ts = answered_ticket(sf, desk)
    act(sf, desk, ActionKind.RESOLVE, ticket_id, ny(11, 26, 11))  # an hour late
    ticket = load(sf, ticket_id)
    assert ticket.sla_state == SlaState.BREACHED
    assert ticket.resolution_seconds == 25 * 3600
    reply(sf, desk, ts, ny(11, 26, 12), user=REQUESTER, text="Nope")
    ticket = load(sf, ticket_id)
    assert ticket.resolution_due_at == ny(11, 26, 10)
    assert ticket.sla_state == SlaState.BREACHED


def test_resolving_a_waiting_ticket_does_not_count_the_wait(
    session_factory: SessionFactory, desk: Desk
) -> None:
    """Asked Monday 13:00, no answer; the agent resolves it on Friday 11:00. The clock stood still
    from Monday 13:00 on (waiting, then resolved): 3h of running clock, well within 24h."""
    sf = session_factory
    ticket_id, _ = answered_ticket(sf, desk)
    act(sf, desk, ActionKind.WAIT, ticket_id, mon(13))
    act(sf, desk, ActionKind.RESOLVE, ticket_id, ny(11, 27, 11))
    ticket = load(sf, ticket_id)
    # Actual: 33h (all of Mon 10:00 to Fri 11:00) and breached (resolved after Thu 10:00).
    assert (ticket.resolution_seconds, ticket.sla_state) == (3 * 3600, SlaState.OK)


def merged_pair(sf: SessionFactory, desk: Desk) -> tuple[int, int]:
    """Two tickets of one requester (Monday 10:00 and 10:05); the second is merged into the
    first at 11:00, long before either is due."""
    kept, _ = open_ticket(sf, desk, mon(10))
    duplicate, _ = open_ticket(sf, desk, mon(10, 5), text="The export still fails")
    at(desk, mon(11))
    with sf.begin() as session:
        result = submit_merge(
            session, desk, ticket_id=duplicate, target=str(kept), agent=AGENT1, at=mon(11)
        )
    assert result.done, result
    return kept, duplicate


def test_a_merged_ticket_is_never_alerted(session_factory: SessionFactory, desk: Desk) -> None:
    sf = session_factory
    kept, duplicate = merged_pair(sf, desk)
    merged = load(sf, duplicate)
    assert (merged.status, merged.merged_into_id) == (TicketStatus.CLOSED, kept)
    result = sweep_at(sf, desk, ny(11, 27, 12))
    assert {a.ticket_id for a in result.alerts} == {kept}
    assert sla_events(sf, duplicate) == []
    assert load(sf, duplicate).sla_next_at is None


def test_a_merged_tickets_sla_state_does_not_change_after_the_merge(
    session_factory: SessionFactory, desk: Desk
) -> None:
    sf = session_factory
    _, duplicate = merged_pair(sf, desk)

    def state(now: datetime) -> str:
        with sf.begin() as session:
            return {r["id"]: r for r in export_records(session, now=now)}[duplicate]["sla_state"]

    assert state(mon(11, 30)) == "ok"
    # Its resolution target (Thursday 10:00) stopped mattering at the merge on Monday 11:00.
    assert state(ny(11, 27, 12)) == "ok"  # actual: "breached"


# --- 5. first response -------------------------------------------------------------------------


def test_only_an_agents_reply_in_the_thread_is_the_first_response(
    session_factory: SessionFactory, desk: Desk
) -> None:
    sf = session_factory
    ticket_id, ts = open_ticket(sf, desk, mon(10))
    reply(sf, desk, ts, mon(10, 5), user=REQUESTER, text="Any news?")
    reply(sf, desk, ts, mon(10, 6), user=NOT_AGENT, text="Same here")
    reply(sf, desk, ts, mon(10, 7), user=AGENT1, external=True, text="From another workspace")
    act(sf, desk, ActionKind.CLAIM, ticket_id, mon(10, 8))
    ticket = load(sf, ticket_id)
    assert (ticket.first_response_at, ticket.first_response_seconds) == (None, None)
    assert ticket.assignee == AGENT1

    reply(sf, desk, ts, mon(10, 30), user=AGENT2, text="Looking")
    reply(sf, desk, ts, mon(10, 40), user=AGENT1, text="Me too")
    ticket = load(sf, ticket_id)
    assert ticket.first_response_at == mon(10, 30)
    assert ticket.first_response_seconds == 30 * 60
    assert target_state(ticket, SlaTarget.FIRST_RESPONSE, now=mon(15)) == SlaState.OK
    assert ticket.sla_next_at == ny(11, 25, 12), "next: the resolution warning"

    # Its first-response thresholds are never said.
    result = sweep_at(sf, desk, mon(14, 30))
    assert (result.looked_at, result.alerts) == (0, [])
    assert recorded(sf) == []


def test_first_response_seconds_are_business_seconds(
    session_factory: SessionFactory, desk: Desk
) -> None:
    sf = session_factory
    ticket_id, ts = open_ticket(sf, desk, ny(11, 20, 16, 30))  # Friday 16:30
    reply(sf, desk, ts, mon(9, 15), user=AGENT1, text="Morning!")
    ticket = load(sf, ticket_id)
    assert ticket.first_response_at == mon(9, 15)
    assert ticket.first_response_seconds == 45 * 60  # Fri 16:30-17:00 + Mon 09:00-09:15

    # A late answer: 4h 30m of business time against a 4h target.
    late_id, late_ts = open_ticket(sf, desk, mon(10))
    reply(sf, desk, late_ts, mon(14, 30), user=AGENT2, text="Sorry for the wait")
    late = load(sf, late_id)
    assert late.first_response_seconds == 4 * 3600 + 30 * 60
    assert target_state(late, SlaTarget.FIRST_RESPONSE, now=mon(15)) == SlaState.BREACHED
    assert late.sla_state == SlaState.BREACHED


def test_a_claim_alone_does_not_stop_the_first_response_clock(
    session_factory: SessionFactory, desk: Desk
) -> None:
    sf = session_factory
    ticket_id, _ = open_ticket(sf, desk, mon(10))
    act(sf, desk, ActionKind.CLAIM, ticket_id, mon(10, 5))

    warning = sweep_at(sf, desk, mon(13))
    breach = sweep_at(sf, desk, mon(14))
    assert [
        (a.ticket_id, a.target, a.level, a.assignee) for a in warning.alerts + breach.alerts
    ] == [
        (ticket_id, SlaTarget.FIRST_RESPONSE, AlertLevel.WARNING, AGENT1),
        (ticket_id, SlaTarget.FIRST_RESPONSE, AlertLevel.BREACH, AGENT1),
    ]
    # The assigned ticket's alerts go to the channel and to its assignee alone.
    assert [channel for channel, _ in said(sf)] == [TRIAGE, AGENT1, TRIAGE, AGENT1]
    assert load(sf, ticket_id).sla_state == SlaState.BREACHED


def test_in_a_customer_thread_only_the_reply_the_customer_reads_counts(
    session_factory: SessionFactory, desk: Desk
) -> None:
    sf = session_factory
    ticket_id, ts = open_ticket(sf, desk, mon(10), channel=ACME, user=CUSTOMER, external=True)
    with sf.begin() as session:  # the triage card was delivered
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.bridged
        ticket.card_channel, ticket.card_ts = (
            TRIAGE,
            datetime_to_slack_ts(mon(10) + timedelta(seconds=1)),
        )
        card_ts = ticket.card_ts

    # Said among agents in the triage thread: an internal note, not a response.
    assert reply(sf, desk, card_ts, mon(10, 5), user=AGENT1, channel=TRIAGE) == Outcome.NOTED
    assert load(sf, ticket_id).first_response_at is None
    assert reply(sf, desk, ts, mon(10, 9), user=AGENT1, channel=ACME) == Outcome.ATTACHED
    ticket = load(sf, ticket_id)
    assert (ticket.first_response_at, ticket.first_response_seconds) == (mon(10, 9), 9 * 60)


# --- 6. the sweep ------------------------------------------------------------------------------


def test_each_warning_and_breach_is_said_once(session_factory: SessionFactory, desk: Desk) -> None:
    sf = session_factory
    ticket_id, _ = open_ticket(sf, desk, mon(10))  # first response warns 13:00, due 14:00
    assert load(sf, ticket_id).sla_next_at == utc(11, 23, 18)

    early = sweep_at(sf, desk, mon(12, 59))
    assert (early.looked_at, early.alerts, early.messages) == (0, [], 0)

    warned = sweep_at(sf, desk, mon(13))
    assert warned.looked_at == 1
    [alert] = warned.alerts
    assert (alert.ticket_id, alert.target, alert.level, alert.due_at) == (
        ticket_id,
        SlaTarget.FIRST_RESPONSE,
        AlertLevel.WARNING,
        utc(11, 23, 19),
    )
    assert (alert.assignee, alert.queue, alert.priority) == (None, "general", "medium")
    # The alert channel, and (unassigned) each of the queue's agents.
    assert warned.messages == 3
    assert [channel for channel, _ in said(sf)] == [TRIAGE, AGENT1, AGENT2]
    assert said(sf)[0][1] == f"SLA: 1 warning: #{ticket_id} first response due in 1h"
    assert recorded(sf) == [
        (ticket_id, "first_response", "warning", True, utc(11, 23, 19), utc(11, 23, 18))
    ]
    ticket = load(sf, ticket_id)
    assert (ticket.sla_state, ticket.sla_next_at) == (SlaState.WARNING, mon(14))
    assert sla_events(sf, ticket_id) == [
        (
            EventKind.SLA_WARNING,
            mon(13),
            {"target": "first_response", "due_at": mon(14).isoformat()},
        )
    ]

    for again in (mon(13), mon(13, 0) + timedelta(seconds=30), mon(13, 1), mon(13, 59)):
        result = sweep_at(sf, desk, again)
        assert (result.looked_at, result.alerts, result.messages) == (0, [], 0)
    assert len(said(sf)) == 3

    breached = sweep_at(sf, desk, mon(14))
    assert [(a.target, a.level) for a in breached.alerts] == [
        (SlaTarget.FIRST_RESPONSE, AlertLevel.BREACH)
    ]
    assert [channel for channel, _ in said(sf)][3:] == [TRIAGE, AGENT1, AGENT2]
    assert said(sf)[3][1] == f"SLA: 1 breach: #{ticket_id} first response breached"
    ticket = load(sf, ticket_id)
    assert ticket.sla_state == SlaState.BREACHED
    assert ticket.sla_next_at == utc(11, 25, 17), "next: the resolution warning, Wed 12:00 NY"

    for again in (mon(14), mon(14, 1), mon(16, 59)):
        assert sweep_at(sf, desk, again).alerts == []
    assert len(recorded(sf)) == 2 and len(said(sf)) == 6

    # Later the resolution's warning and breach, once each too.
    assert [a.level for a in sweep_at(sf, desk, ny(11, 25, 12)).alerts] == [AlertLevel.WARNING]
    assert [a.level for a in sweep_at(sf, desk, ny(11, 26, 10)).alerts] == [AlertLevel.BREACH]
    assert sweep_at(sf, desk, ny(11, 26, 10, 1)).alerts == []
    assert [(r[1], r[2], r[3]) for r in recorded(sf)] == [
        ("first_response", "warning", True),
        ("first_response", "breach", True),
        ("resolution", "warning", True),
        ("resolution", "breach", True),
    ]
    assert load(sf, ticket_id).sla_next_at is None
    assert len(sla_events(sf, ticket_id)) == 4


def test_a_warning_overtaken_by_its_breach_is_recorded_unsaid(
    session_factory: SessionFactory, desk: Desk
) -> None:
    sf = session_factory
    ticket_id, _ = open_ticket(sf, desk, mon(10))
    # The sweep was down until Thursday 11:00: both targets' warnings and breaches have come.
    result = sweep_at(sf, desk, ny(11, 26, 11))
    assert [(a.target, a.level) for a in result.alerts] == [
        (SlaTarget.FIRST_RESPONSE, AlertLevel.BREACH),
        (SlaTarget.RESOLUTION, AlertLevel.BREACH),
    ]
    fired = ny(11, 26, 11)
    assert recorded(sf) == [
        (ticket_id, "first_response", "warning", False, mon(14), fired),
        (ticket_id, "first_response", "breach", True, mon(14), fired),
        (ticket_id, "resolution", "warning", False, ny(11, 26, 10), fired),
        (ticket_id, "resolution", "breach", True, ny(11, 26, 10), fired),
    ]
    channel_text = said(sf)[0][1]
    assert channel_text == (
        f"SLA: 2 breaches: #{ticket_id} first response breached; #{ticket_id} resolution breached"
    )
    assert "warning" not in channel_text
    assert [kind for kind, _, _ in sla_events(sf, ticket_id)] == [
        EventKind.SLA_BREACHED,
        EventKind.SLA_BREACHED,
    ]
    assert sweep_at(sf, desk, ny(11, 26, 12)).alerts == []

    # Just the first response's pair at once (14:30): only the breach is said.
    other_id, _ = open_ticket(sf, desk, ny(11, 27, 10))
    result = sweep_at(sf, desk, ny(11, 27, 14, 30))
    assert [(a.ticket_id, a.level) for a in result.alerts] == [(other_id, AlertLevel.BREACH)]
    assert [(r[2], r[3]) for r in recorded(sf) if r[0] == other_id] == [
        ("warning", False),
        ("breach", True),
    ]


def test_a_stale_next_moment_says_nothing_twice(
    session_factory: SessionFactory, desk: Desk
) -> None:
    """A writer that planned from an old view may set `sla_next_at` back to a threshold already
    said: the sweep looks, records nothing new, and moves it on."""
    sf = session_factory
    ticket_id, _ = open_ticket(sf, desk, mon(10))
    assert len(sweep_at(sf, desk, mon(13)).alerts) == 1
    with sf.begin() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        ticket.sla_next_at = mon(13)
    result = sweep_at(sf, desk, mon(13, 30))
    assert (result.looked_at, result.alerts, result.messages) == (1, [], 0)
    assert load(sf, ticket_id).sla_next_at == mon(14)
    assert len(recorded(sf)) == 1 and len(said(sf)) == 3


def grouping_desk(clock: ManualClock, **overrides: Any) -> Desk:
    return desk_with(
        clock,
        agents=[AGENT1, AGENT2, AGENT3],
        queues=[{"name": "billing", "agents": [AGENT2, AGENT3]}],
        **overrides,
    )


def test_alerts_of_one_sweep_are_grouped_per_channel_and_person(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    sf = session_factory
    desk = grouping_desk(clock)
    with sf.begin() as session:
        set_away(session, desk, AGENT3, True, at=mon(9))
    claimed, _ = open_ticket(sf, desk, mon(10))
    act(sf, desk, ActionKind.CLAIM, claimed, mon(10, 3), actor=AGENT1)
    unassigned, _ = open_ticket(sf, desk, mon(10, 1), user="U0REQ2")
    billing, _ = open_ticket(sf, desk, mon(10, 2), channel=BILLING, user="U0REQ3")

    result = sweep_at(sf, desk, mon(13, 5))
    assert sorted(a.ticket_id for a in result.alerts) == [claimed, unassigned, billing]
    assert {a.level for a in result.alerts} == {AlertLevel.WARNING}
    assert result.messages == 3
    rows = said(sf)
    assert [channel for channel, _ in rows] == [TRIAGE, AGENT1, AGENT2]
    by_channel = {channel: refs(text) for channel, text in rows}
    # Soonest due first.
    assert by_channel == {
        TRIAGE: [claimed, unassigned, billing],
        AGENT1: [claimed, unassigned],  # their own ticket, and general's unassigned one
        AGENT2: [unassigned, billing],  # AGENT3, away, is spared billing's
    }
    assert rows[0][1].startswith("SLA: 3 warnings: ")
    assert rows[1][1].startswith(f"SLA: 2 warnings: #{claimed} first response due in ")
    with sf.begin() as session:
        payloads = [
            row.payload
            for row in as_told(
                session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.purpose == Purpose.SLA_ALERT)
                    .order_by(OutboxMessage.id)
                ).all()
            )
        ]
    # The header and one section per ticket; the channel hears "SLA alerts", people "Your
    # tickets need attention".
    assert [len(p["blocks"]) for p in payloads] == [4, 3, 3]
    headers = [p["blocks"][0]["text"]["text"] for p in payloads]
    assert headers[0] == ":alarm_clock: *SLA alerts*: 3 warnings"
    assert headers[1:] == [":alarm_clock: *Your tickets need attention*: 2 warnings"] * 2
    assert all(p["unfurl_links"] is False for p in payloads)


def test_a_queue_whose_agents_are_all_away_still_hears_and_alert_channel_overrides(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    sf = session_factory
    desk = grouping_desk(clock, sla=sla_with(alert_channel="C0SLAALERTS"))
    assert desk.config.sla_alert_channel == "C0SLAALERTS"
    with sf.begin() as session:
        set_away(session, desk, AGENT2, True, at=mon(9))
        set_away(session, desk, AGENT3, True, at=mon(9))
    billing, _ = open_ticket(sf, desk, mon(10), channel=BILLING)
    result = sweep_at(sf, desk, mon(13))
    assert [a.ticket_id for a in result.alerts] == [billing]
    assert [(channel, refs(text)) for channel, text in said(sf)] == [
        ("C0SLAALERTS", [billing]),
        (AGENT2, [billing]),
        (AGENT3, [billing]),
    ]


def test_the_sweep_reads_only_tickets_coming_due(
    session_factory: SessionFactory, desk: Desk
) -> None:
    sf = session_factory
    due_now = [open_ticket(sf, desk, mon(10, m), user=f"U0REQ{m}")[0] for m in range(3)]
    later = [open_ticket(sf, desk, when, user="U0LATER")[0] for when in (mon(11), mon(11, 30))]
    answered, ts = open_ticket(sf, desk, mon(9, 30), user="U0ANSWERED")
    reply(sf, desk, ts, mon(9, 40), user=AGENT1)
    resolved, _ = open_ticket(sf, desk, mon(9, 31), user="U0DONE")
    act(sf, desk, ActionKind.RESOLVE, resolved, mon(9, 45))

    with sf.begin() as session:
        next_at = {row[0]: row[1] for row in session.execute(select(Ticket.id, Ticket.sla_next_at))}
    assert next_at == {
        due_now[0]: mon(13),
        due_now[1]: mon(13, 1),
        due_now[2]: mon(13, 2),
        later[0]: mon(14),
        later[1]: mon(14, 30),
        answered: ny(11, 25, 11, 30),  # the resolution warning: 18h from Mon 09:30
        resolved: None,
    }

    result = sweep_at(sf, desk, mon(13, 5))
    assert result.looked_at == 3
    assert sorted(a.ticket_id for a in result.alerts) == due_now
    assert sweep_at(sf, desk, mon(13, 6)).looked_at == 0
    assert sweep_at(sf, desk, mon(14)).looked_at == 2  # first breaches of due_now[0], later[0]

    # More coming due than one sweep takes: the rest stay due for the next one.
    at(desk, mon(14, 2))
    with sf.begin() as session:
        first = sweep(session, desk, now=mon(14, 2), limit=1)
    with sf.begin() as session:
        rest = sweep(session, desk, now=mon(14, 2), limit=1)
    assert (first.looked_at, rest.looked_at) == (1, 1)
    assert [a.ticket_id for a in first.alerts + rest.alerts] == due_now[1:]  # soonest first


# --- 7. two sweeps at once ---------------------------------------------------------------------


def test_two_sweeps_at_once_say_each_alert_once(
    session_factory: SessionFactory, desk: Desk
) -> None:
    sf = session_factory
    tickets = [open_ticket(sf, desk, mon(10, m), user=f"U0REQ{m}")[0] for m in range(6)]

    def sweep_now(now: datetime) -> SweepResult:
        with sf.begin() as session:
            return sweep(session, desk, now=now)

    for now, level in ((mon(13, 30), AlertLevel.WARNING), (mon(14, 30), AlertLevel.BREACH)):
        at(desk, now)
        before = len(said(sf))
        results = run_together(lambda now=now: sweep_now(now), lambda now=now: sweep_now(now))
        alerts = [alert for result in results for alert in result.alerts]
        assert sorted(a.ticket_id for a in alerts) == tickets
        assert {a.level for a in alerts} == {level}
        # Each ticket is listed in exactly one channel message, and each sweep that said
        # something posted one.
        posted = [refs(text) for channel, text in said(sf)[before:] if channel == TRIAGE]
        assert sorted(ref for listed in posted for ref in listed) == tickets
        assert len(posted) == sum(1 for result in results if result.alerts)

    rows = recorded(sf)
    assert len(rows) == 2 * len(tickets)
    assert len({(r[0], r[1], r[2]) for r in rows}) == len(rows)
    assert all(r[3] for r in rows)


# --- 8. the card and the export ----------------------------------------------------------------


def clock_text(sf: SessionFactory, desk: Desk, ticket_id: int, now: datetime) -> str:
    """The card's SLA line (its context block naming a target), as of `now`."""
    with sf.begin() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        card = build_ticket_card(ticket, desk.config, show_description=True, now=now)
    found = [
        element["text"]
        for block in card["blocks"]
        if block["type"] == "context"
        for element in block["elements"]
        if "First response" in element.get("text", "") or "Resolution" in element.get("text", "")
    ]
    assert len(found) == 1, card["blocks"]
    return found[0]


def slack_date(moment: datetime, fallback: str) -> str:
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


FR_DUE = slack_date(mon(14), "Mon 23 Nov 14:00 EST")
RES_DUE = slack_date(ny(11, 26, 10), "Thu 26 Nov 10:00 EST")


def test_the_card_says_where_the_ticket_stands(session_factory: SessionFactory, desk: Desk) -> None:
    sf = session_factory
    ticket_id, ts = open_ticket(sf, desk, mon(10))
    assert clock_text(sf, desk, ticket_id, mon(11)) == (
        f":stopwatch: First response due in 3h ({FR_DUE})   "
        f":stopwatch: Resolution due in 2d 23h ({RES_DUE})"
    )
    assert clock_text(sf, desk, ticket_id, mon(13, 30)) == (
        f":large_orange_circle: First response due *in 30m* ({FR_DUE})   "
        f":stopwatch: Resolution due in 2d 20h ({RES_DUE})"  # 68h 30m: two units
    )
    assert clock_text(sf, desk, ticket_id, mon(14, 30)).startswith(
        f":red_circle: First response *breached 30m ago* ({FR_DUE})   "
    )

    reply(sf, desk, ts, mon(14, 45), user=AGENT1, text="Sorry")
    assert clock_text(sf, desk, ticket_id, mon(15)).startswith(
        ":red_circle: First response late: took 4h 45m   "
    )

    act(sf, desk, ActionKind.WAIT, ticket_id, mon(15))
    assert clock_text(sf, desk, ticket_id, mon(16)) == (
        ":red_circle: First response late: took 4h 45m   "
        ":double_vertical_bar: Resolution clock paused while waiting on the requester"
    )


def test_the_card_says_met_and_resolved_in_time(
    session_factory: SessionFactory, desk: Desk
) -> None:
    sf = session_factory
    ticket_id, ts = open_ticket(sf, desk, mon(10))
    reply(sf, desk, ts, mon(10, 30), user=AGENT1, text="Hi")
    assert clock_text(sf, desk, ticket_id, mon(11)) == (
        f":white_check_mark: First response met in 30m   "
        f":stopwatch: Resolution due in 2d 23h ({RES_DUE})"
    )
    act(sf, desk, ActionKind.RESOLVE, ticket_id, mon(15))
    assert clock_text(sf, desk, ticket_id, mon(16)) == (
        ":white_check_mark: First response met in 30m   :white_check_mark: Resolution met in 5h"
    )


def test_export_gives_due_times_in_utc_and_the_state(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    sf = session_factory
    desk = desk_with(clock)
    ticket_id, _ = open_ticket(sf, desk, ny(11, 20, 15))
    off_desk = desk_with(clock, sla=sla_with(medium={"first_response": "off", "resolution": "off"}))
    untimed, _ = open_ticket(sf, off_desk, mon(10), user="U0REQ2")
    waiting, waiting_ts = open_ticket(sf, desk, mon(10, 1), user="U0REQ3")
    reply(sf, desk, waiting_ts, mon(10, 2), user=AGENT1, text="Which one?")
    act(sf, desk, ActionKind.WAIT, waiting, mon(10, 3))

    def exported(now: datetime | None) -> dict[int, dict[str, Any]]:
        with sf.begin() as session:
            return {r["id"]: r for r in export_records(session, now=now)}

    records = exported(mon(10, 30))
    record = records[ticket_id]
    assert record["first_response_due_at"] == "2026-11-23T16:00:00Z"
    assert record["resolution_due_at"] == "2026-11-25T20:00:00Z"
    assert record["created_at"] == "2026-11-20T20:00:00Z"
    assert record["sla_state"] == "warning"  # 10:30: past the 10:00 warning, before 11:00
    assert exported(mon(11))[ticket_id]["sla_state"] == "breached"
    assert exported(ny(11, 20, 16))[ticket_id]["sla_state"] == "ok"

    assert (
        records[untimed]["first_response_due_at"],
        records[untimed]["resolution_due_at"],
        records[untimed]["sla_state"],
    ) == ("", "", "")
    assert records[waiting]["sla_state"] == "paused"
    assert records[waiting]["first_response_at"] == "2026-11-23T15:02:00Z"
    # Without `now`: the state as last stored.
    assert exported(None)[ticket_id]["sla_state"] == load(sf, ticket_id).sla_state
