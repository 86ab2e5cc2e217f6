"""The managers' figures (weekly digest, CSAT digest, `/support stats`) over a hand-made week.

The week is Mon 26 Oct – Sun 1 Nov 2026 in America/New_York: New York leaves daylight saving
time on Sunday 1 Nov at 02:00 (EDT, UTC-4, becomes EST, UTC-5), so that local day is 25 hours
and the period `[SINCE, UNTIL)` is 169 hours. The previous period is Mon 19 – Sun 25 Oct.

Tickets are written straight into the database with chosen times and chosen business seconds
(`first_response_seconds`, `resolution_seconds`: business hours are Mon–Fri 09:00–17:00), so
every figure below is worked out by hand from the timeline in `seed_week` and written as a
literal: the test never asks the code under test what the answer should be.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from bot.config import DeskConfig
from storage.db import SessionFactory, create_session_factory
from storage.models import CsatSurvey, Escalation, Ticket, TicketEvent, TicketTag
from storage.reports import ReportRepository, Spread
from templates.render import MAX_MESSAGE_BLOCKS, MAX_SECTION_TEXT
from templates.reports import csat_digest_message, stats_answer, weekly_digest_message
from workflows.clock import ManualClock
from workflows.desk import Desk
from workflows.reports import (
    AgentRow,
    Comment,
    CsatDigest,
    CsatGroup,
    Day,
    Figures,
    Period,
    Ranked,
    Stats,
    WeeklyDigest,
    build_csat_digest,
    build_stats,
    build_weekly_digest,
    due_week,
    last_week,
    week_ending,
)

NY = ZoneInfo("America/New_York")
AGENT1, AGENT2 = "U0AGENT1", "U0AGENT2"
REQUESTER = "U0REQ1"
LINK_B = "https://example.slack.com/archives/C0HELP/p1761573600000100"
ES, S, U, EU = "extremely_satisfied", "satisfied", "unsatisfied", "extremely_unsatisfied"


def ny(month: int, day: int, hour: int = 0, minute: int = 0, *, fold: int = 0) -> datetime:
    """A wall-clock time at the desk in 2026, as the UTC instant it is (`fold=1`: the second
    01:xx of Sunday 1 Nov, in EST)."""
    return datetime(2026, month, day, hour, minute, tzinfo=NY, fold=fold).astimezone(UTC)


SINCE = ny(10, 26)  # Mon 26 Oct 00:00 EDT = 04:00 UTC
UNTIL = ny(11, 2)  # Mon 2 Nov 00:00 EST = 05:00 UTC
PREVIOUS_SINCE = ny(10, 19)  # Mon 19 Oct 00:00 EDT
WEEK = Period(SINCE, UNTIL)
PREVIOUS = Period(PREVIOUS_SINCE, SINCE)
AFTER = ny(11, 3, 12)  # when the figures are read: everything below has happened


# --- seeding --------------------------------------------------------------------------------------


@dataclass
class Seeder:
    """Writes named tickets and what happened to them, exactly as the workflows leave them."""

    session: Session
    ids: dict[str, int] = field(default_factory=dict)

    def ticket(
        self,
        name: str,
        created: datetime,
        *,
        queue: str = "general",
        product: str | None = None,
        customer: str | None = None,
        issue_type: str = "technical_issue",
        tags: tuple[str, ...] = (),
        priority: str = "medium",
        status: str = "resolved",
        assignee: str | None = None,
        first_response: tuple[datetime, int] | None = None,
        first_due: datetime | None = None,
        resolved: tuple[datetime, int] | None = None,
        resolution_due: datetime | None = None,
        merged_into: str | None = None,
        closed_at: datetime | None = None,
        paused_at: datetime | None = None,
        permalink: str | None = None,
    ) -> None:
        ticket = Ticket(
            source_channel="C0BILLING" if queue == "billing" else "C0HELP",
            source_ts=f"{created.timestamp():.0f}.{len(self.ids):06d}",
            intake_source="message",
            requester=REQUESTER,
            queue=queue,
            customer=customer,
            status=status,
            priority=priority,
            issue_type=issue_type,
            product=product,
            description=f"ticket {name}",
            assignee=assignee,
            merged_into_id=self.ids[merged_into] if merged_into else None,
            permalink=permalink,
            created_at=created,
            updated_at=created,
            first_response_at=first_response[0] if first_response else None,
            first_response_seconds=first_response[1] if first_response else None,
            first_response_due_at=first_due,
            resolved_at=resolved[0] if resolved else None,
            resolution_seconds=resolved[1] if resolved else None,
            resolution_due_at=resolution_due,
            closed_at=closed_at,
            sla_paused_at=paused_at,
            sla_started_at=created,
        )
        self.session.add(ticket)
        self.session.flush()
        self.ids[name] = ticket.id
        for tag in tags:
            self.session.add(TicketTag(ticket_id=ticket.id, tag=tag))
        self.session.flush()

    def event(self, name: str, kind: str, at: datetime, *, by: str | None = None) -> None:
        self.session.add(TicketEvent(ticket_id=self.ids[name], kind=kind, actor=by, at=at))

    def claim(self, name: str, by: str, at: datetime) -> None:
        self.event(name, "claimed", at, by=by)

    def escalate(
        self,
        name: str,
        kind: str,
        at: datetime,
        *,
        state: str,
        fixed_at: datetime | None = None,
        closed_at: datetime | None = None,
    ) -> None:
        self.session.add(
            Escalation(
                ticket_id=self.ids[name],
                kind=kind,
                target="tier2" if kind == "second_line" else "API",
                state=state,
                severity="sev3",
                summary=f"escalated {name}",
                escalated_by=AGENT1,
                escalated_at=at,
                fixed_at=fixed_at,
                closed_at=closed_at,
            )
        )

    def survey(
        self,
        name: str,
        asked: datetime,
        *,
        rating: str | None = None,
        answered: datetime | None = None,
        comment: str | None = None,
    ) -> None:
        ticket = self.session.get(Ticket, self.ids[name])
        assert ticket is not None
        self.session.add(
            CsatSurvey(
                ticket_id=ticket.id,
                requester=ticket.requester,
                queue=ticket.queue,
                customer=ticket.customer,
                assignee=ticket.assignee,
                asked_at=asked,
                rating=rating,
                comment=comment,
                answered_at=answered,
            )
        )

    def ref(self, name: str) -> str:
        return f"#{self.ids[name]}"


def seed_week(s: Seeder) -> None:
    """The timeline (New York wall-clock times; FR: first response, R: resolution, in business
    seconds; "met"/"missed" against the due time given; survey ratings ES, S, U, EU).

    Before both periods:
      OLD    Tue 29 Sep, still open, no SLA times: in every backlog.
    The previous period, Mon 19 – Sun 25 Oct:
      Q1     Tue 20 10:00 billing/Billing/Acme Corp [invoice]. FR 10:10 (600, met); R Wed 21 10:00
             (28800, met); closed. Survey S, "fine", Wed 21 12:00.
      H      Wed 21 09:00 general, low. FR Mon 26 10:00 (90000, due Wed 21 17:00: missed), in the
             week; waiting on the customer since (paused); R due Mon 2 Nov 17:00.
      Q2     Thu 22 11:00 general/API [sso], feature request, low. FR 11:30 (1800, met); R 15:00
             (14400, met); closed. Survey U, no comment, Thu 22 16:00.
      CARRY  Fri 23 14:00 billing/Billing [invoice, refund]. FR 14:15 (900, met); escalated to
             engineering Fri 23 15:00, fixed Mon 26 10:00 (67 h = 241200 s wall clock); R Tue 27
             10:00 (43200, met), in the week. Survey asked, never answered.
    The week, Mon 26 Oct – Sun 1 Nov:
      A      exactly at SINCE (Mon 00:00) general/API [login]. FR 09:01 (60, met); R 11:00 (7200,
             met). Survey ES with an empty comment, Mon 12:00.
      B      Tue 27 10:00 general/API/Acme Corp [login, sso], high. Claimed, unclaimed and claimed
             again by AGENT1. FR 10:02 (120, met); to the second line 12:00, passed back 15:00;
             R 16:00 (21600, met). Survey U with pings in its comment, Wed 28 09:00.
      M      Tue 27 10:30 general/API/Acme Corp [login], feature request: FR 10:31 (60), merged
             into B at 11:00. Left out everywhere.
      C      Tue 27 13:00 billing/Billing/Acme Corp [invoice]. FR 13:05 (300, met); resolved Wed
             12:00 and reopened Thu 09:00: claimed, not resolved, R due Fri 30 13:00: missed.
             Survey S, "Fixed, *great* help", Wed 28 16:00.
      D      Wed 28 09:00 general/API [sso], feature request, low. FR 09:15 (900, met); escalated
             to engineering 09:30, withdrawn 09:45 (900 s); R 10:00 (3600, met); closed. Survey
             ES with a comment, answered exactly at UNTIL (next week's).
      E      Wed 28 10:00 billing/Billing/Globex [invoice, refund], urgent. FR 11:00 (3600, due
             10:15: missed); to engineering 11:30, fixed Thu 29 09:30 (22 h = 79200 s); R Thu 29
             10:00 (28800, due Wed 14:00: missed). Survey EU with "&" in its comment, Thu 12:00.
      F      Thu 29 09:00 general/Globex, high. FR 14:00 (18000, due 10:00: missed); R Fri 30 16:00
             (54000, due Thu 17:00: missed). Survey ES, no comment, Sun 1 Nov 01:30 EST.
      G      Thu 29 11:00 general/API [api, outage], high. Claimed by AGENT2 11:30, taken over by
             AGENT1 Fri 13:00. FR Fri 13:00 (36000, due Thu 12:00: missed); to engineering Fri
             14:00, still open; R due Fri 11:00: missed.
      K      Sun 1 Nov 01:30 EDT general, feature request, low, open, nothing due yet. Escalated
             to engineering 01:45 EDT, fixed 01:15 EST: 30 minutes (1800 s) across the change.
      I      Sun 1 Nov 23:30 EST general/Mobile/Initech (in the 25-hour Sunday). FR Mon 2 Nov
             09:30 (met) and R 11:00 (met), after UNTIL; claimed exactly at UNTIL.
      AT     exactly at UNTIL: general/API [sso], feature request: next week's.
    """
    s.ticket("OLD", ny(9, 29, 10), priority="low", status="open")
    # --- the previous period ---
    s.ticket(
        "Q1",
        ny(10, 20, 10),
        queue="billing",
        product="Billing",
        customer="Acme Corp",
        tags=("invoice",),
        status="closed",
        assignee=AGENT1,
        first_response=(ny(10, 20, 10, 10), 600),
        first_due=ny(10, 20, 14),
        resolved=(ny(10, 21, 10), 28800),
        resolution_due=ny(10, 22, 10),
        closed_at=ny(10, 24, 10),
    )
    s.survey("Q1", ny(10, 21, 10), rating=S, answered=ny(10, 21, 12), comment="fine")
    s.ticket(
        "H",
        ny(10, 21, 9),
        priority="low",
        status="waiting_on_customer",
        assignee=AGENT2,
        first_response=(ny(10, 26, 10), 90000),
        first_due=ny(10, 21, 17),
        resolution_due=ny(11, 2, 17),
        paused_at=ny(10, 26, 10),
    )
    s.claim("H", AGENT2, ny(10, 26, 10))
    s.ticket(
        "Q2",
        ny(10, 22, 11),
        product="API",
        tags=("sso",),
        issue_type="feature_request",
        priority="low",
        status="closed",
        assignee=AGENT2,
        first_response=(ny(10, 22, 11, 30), 1800),
        first_due=ny(10, 23, 11),
        resolved=(ny(10, 22, 15), 14400),
        resolution_due=ny(11, 3, 11),
        closed_at=ny(10, 25, 15),
    )
    s.survey("Q2", ny(10, 22, 15), rating=U, answered=ny(10, 22, 16))
    s.ticket(
        "CARRY",
        ny(10, 23, 14),
        queue="billing",
        product="Billing",
        tags=("invoice", "refund"),
        assignee=AGENT1,
        first_response=(ny(10, 23, 14, 15), 900),
        first_due=ny(10, 26, 10),
        resolved=(ny(10, 27, 10), 43200),
        resolution_due=ny(10, 29, 10),
    )
    s.claim("CARRY", AGENT1, ny(10, 23, 14, 15))
    s.escalate("CARRY", "engineering", ny(10, 23, 15), state="fixed", fixed_at=ny(10, 26, 10))
    s.survey("CARRY", ny(10, 27, 10))  # never answered
    # --- the week ---
    s.ticket(
        "A",
        SINCE,
        product="API",
        tags=("login",),
        assignee=AGENT1,
        first_response=(ny(10, 26, 9, 1), 60),
        first_due=ny(10, 26, 13),
        resolved=(ny(10, 26, 11), 7200),
        resolution_due=ny(10, 28, 17),
    )
    s.claim("A", AGENT1, ny(10, 26, 9))
    s.survey("A", ny(10, 26, 11), rating=ES, answered=ny(10, 26, 12), comment="")
    s.ticket(
        "B",
        ny(10, 27, 10),
        product="API",
        customer="Acme Corp",
        tags=("login", "sso"),
        priority="high",
        assignee=AGENT1,
        first_response=(ny(10, 27, 10, 2), 120),
        first_due=ny(10, 27, 11),
        resolved=(ny(10, 27, 16), 21600),
        resolution_due=ny(10, 28, 10),
        permalink=LINK_B,
    )
    s.claim("B", AGENT1, ny(10, 27, 10, 2))
    s.event("B", "unclaimed", ny(10, 27, 10, 30), by=AGENT1)
    s.claim("B", AGENT1, ny(10, 27, 11))
    s.escalate("B", "second_line", ny(10, 27, 12), state="passed_back", closed_at=ny(10, 27, 15))
    s.survey(
        "B",
        ny(10, 27, 16),
        rating=U,
        answered=ny(10, 28, 9),
        comment="Took all day. <!channel> ask <@U0BOSS> why, *now*",
    )
    s.ticket(
        "M",
        ny(10, 27, 10, 30),
        product="API",
        customer="Acme Corp",
        tags=("login",),
        issue_type="feature_request",
        status="closed",
        first_response=(ny(10, 27, 10, 31), 60),
        first_due=ny(10, 27, 14, 30),
        merged_into="B",
        closed_at=ny(10, 27, 11),
    )
    s.ticket(
        "C",
        ny(10, 27, 13),
        queue="billing",
        product="Billing",
        customer="Acme Corp",
        tags=("invoice",),
        status="claimed",
        assignee=AGENT2,
        first_response=(ny(10, 27, 13, 5), 300),
        first_due=ny(10, 27, 17),
        resolution_due=ny(10, 30, 13),
    )
    s.claim("C", AGENT2, ny(10, 27, 13, 5))
    s.event("C", "resolved", ny(10, 28, 12), by=AGENT2)
    s.event("C", "reopened", ny(10, 29, 9), by=REQUESTER)
    s.survey("C", ny(10, 28, 12), rating=S, answered=ny(10, 28, 16), comment="Fixed, *great* help")
    s.ticket(
        "D",
        ny(10, 28, 9),
        product="API",
        tags=("sso",),
        issue_type="feature_request",
        priority="low",
        status="closed",
        assignee=AGENT2,
        first_response=(ny(10, 28, 9, 15), 900),
        first_due=ny(10, 28, 17),
        resolved=(ny(10, 28, 10), 3600),
        resolution_due=ny(11, 9, 9),
        closed_at=ny(10, 30, 10),
    )
    s.claim("D", AGENT2, ny(10, 28, 9, 15))
    s.escalate(
        "D", "engineering", ny(10, 28, 9, 30), state="withdrawn", closed_at=ny(10, 28, 9, 45)
    )
    s.survey("D", ny(10, 28, 10), rating=ES, answered=UNTIL, comment="Late but kind")
    s.ticket(
        "E",
        ny(10, 28, 10),
        queue="billing",
        product="Billing",
        customer="Globex",
        tags=("invoice", "refund"),
        priority="urgent",
        assignee=AGENT1,
        first_response=(ny(10, 28, 11), 3600),
        first_due=ny(10, 28, 10, 15),
        resolved=(ny(10, 29, 10), 28800),
        resolution_due=ny(10, 28, 14),
    )
    s.claim("E", AGENT1, ny(10, 28, 10, 30))
    s.escalate("E", "engineering", ny(10, 28, 11, 30), state="fixed", fixed_at=ny(10, 29, 9, 30))
    s.survey(
        "E",
        ny(10, 29, 10),
        rating=EU,
        answered=ny(10, 29, 12),
        comment="Invoice wrong for me & my team",
    )
    s.ticket(
        "F",
        ny(10, 29, 9),
        customer="Globex",
        priority="high",
        assignee=AGENT2,
        first_response=(ny(10, 29, 14), 18000),
        first_due=ny(10, 29, 10),
        resolved=(ny(10, 30, 16), 54000),
        resolution_due=ny(10, 29, 17),
    )
    s.claim("F", AGENT2, ny(10, 29, 14))
    s.survey("F", ny(10, 30, 16), rating=ES, answered=ny(11, 1, 1, 30, fold=1))
    s.ticket(
        "G",
        ny(10, 29, 11),
        product="API",
        tags=("api", "outage"),
        priority="high",
        status="escalated",
        assignee=AGENT1,
        first_response=(ny(10, 30, 13), 36000),
        first_due=ny(10, 29, 12),
        resolution_due=ny(10, 30, 11),
    )
    s.claim("G", AGENT2, ny(10, 29, 11, 30))
    s.claim("G", AGENT1, ny(10, 30, 13))
    s.escalate("G", "engineering", ny(10, 30, 14), state="open")
    s.ticket(
        "K",
        ny(11, 1, 1, 30),
        issue_type="feature_request",
        priority="low",
        status="open",
        first_due=ny(11, 2, 17),
        resolution_due=ny(11, 12, 17),
    )
    s.escalate(
        "K",
        "engineering",
        ny(11, 1, 1, 45),
        state="fixed",
        fixed_at=ny(11, 1, 1, 15, fold=1),
    )
    s.ticket(
        "I",
        ny(11, 1, 23, 30),
        product="Mobile",
        customer="Initech",
        assignee=AGENT1,
        first_response=(ny(11, 2, 9, 30), 1800),
        first_due=ny(11, 2, 13),
        resolved=(ny(11, 2, 11), 7200),
        resolution_due=ny(11, 4, 17),
    )
    s.claim("I", AGENT1, UNTIL)
    s.ticket(
        "AT",
        UNTIL,
        product="API",
        tags=("sso",),
        issue_type="feature_request",
        status="open",
        first_due=ny(11, 2, 13),
    )
    s.session.flush()


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def sf(engine: Engine) -> SessionFactory:
    return create_session_factory(engine)


@pytest.fixture
def desk(desk_config: DeskConfig, clock: ManualClock) -> Desk:
    clock.set(AFTER)
    return Desk(desk_config, clock)


@pytest.fixture
def week(sf: SessionFactory) -> dict[str, int]:
    with sf.begin() as session:
        seeder = Seeder(session)
        seed_week(seeder)
        return seeder.ids


@pytest.fixture
def digest(sf: SessionFactory, desk: Desk, week: dict[str, int]) -> WeeklyDigest:
    with sf.begin() as session:
        return build_weekly_digest(session, desk, WEEK)


def ref(week: dict[str, int], name: str) -> str:
    return f"#{week[name]}"


def spread(s: Spread) -> tuple[int, float | None, float | None, float | None]:
    return (s.count, s.median, s.p90, s.average)


def approx(*values: float) -> Any:
    return pytest.approx(values, rel=1e-9, abs=1e-6)


# --- periods --------------------------------------------------------------------------------------


def test_the_week_is_seven_local_days_and_169_hours_across_the_change() -> None:
    assert week_ending(date(2026, 11, 2), NY) == WEEK
    assert WEEK.until - WEEK.since == timedelta(hours=169)
    assert WEEK.previous(NY) == PREVIOUS  # seven local days: 168 hours, all in EDT
    # The week after: all EST; its previous period is the 169-hour one.
    after = week_ending(date(2026, 11, 9), NY)
    assert after == Period(ny(11, 2), ny(11, 9))
    assert after.previous(NY) == WEEK
    # Whole local days, not seven: as many days just before (48 hours before 49).
    weekend = Period(ny(10, 31), ny(11, 2))
    assert weekend.previous(NY) == Period(ny(10, 29), ny(10, 31))
    # Not at midnight: the same length just before.
    noon = Period(ny(10, 31, 12), ny(11, 1, 12))  # 25 hours
    assert noon.previous(NY) == Period(ny(10, 30, 11), ny(10, 31, 12))


def hours(bounds: list[datetime]) -> list[float]:
    """Each day's length in real hours (aware datetimes of one zone subtract as wall clocks)."""
    return [
        (b.astimezone(UTC) - a.astimezone(UTC)) / timedelta(hours=1) for a, b in pairwise(bounds)
    ]


def test_days_are_local_midnights_so_a_day_is_23_or_25_hours() -> None:
    bounds = WEEK.days(NY)
    assert bounds == [ny(10, d) for d in range(26, 32)] + [ny(11, 1), ny(11, 2)]
    assert hours(bounds) == [24, 24, 24, 24, 24, 24, 25]
    spring = week_ending(date(2026, 3, 9), NY).days(NY)  # New York enters DST Sun 8 Mar
    assert hours(spring) == [24, 24, 24, 24, 24, 24, 23]
    # A period that does not start at midnight: its first day is the rest of that day.
    assert Period(ny(10, 30, 18), ny(11, 1, 6)).days(NY) == [
        ny(10, 30, 18),
        ny(10, 31),
        ny(11, 1),
        ny(11, 1, 6),
    ]


@pytest.mark.parametrize(
    ("now", "week_of"),
    [
        (ny(11, 2, 8), date(2026, 11, 2)),  # Monday morning: the week just ended
        (ny(11, 4, 15), date(2026, 11, 2)),  # Wednesday: still that week
        (ny(11, 1, 23, 30), date(2026, 10, 26)),  # Sunday 23:30 EST is Monday 04:30 UTC
        (ny(11, 2), date(2026, 11, 2)),  # the very first instant of Monday
    ],
)
def test_last_week_is_the_seven_days_before_the_latest_monday(now: datetime, week_of: date) -> None:
    assert last_week(now, NY, 0) == week_ending(week_of, NY)


GRACE = timedelta(hours=12)


@pytest.mark.parametrize(
    ("now", "grace", "due"),
    [
        (ny(11, 2, 8, 59), GRACE, None),  # before the moment: last week's is 7 days old
        (ny(11, 2, 8, 59), timedelta(days=8), PREVIOUS),  # ... unless the grace is that long
        (ny(11, 2, 9), GRACE, WEEK),  # at the moment
        (ny(11, 2, 20, 59), GRACE, WEEK),  # within the grace: a replica started late
        (ny(11, 2, 21), GRACE, None),  # exactly 12 hours on: too late
        (ny(11, 3, 9), GRACE, None),
        (ny(11, 9, 9), GRACE, Period(ny(11, 2), ny(11, 9))),  # the following Monday
    ],
    ids=["before", "before-long-grace", "moment", "in-grace", "grace-over", "tuesday", "next"],
)
def test_due_week(now: datetime, grace: timedelta, due: Period | None) -> None:
    assert due_week(now, NY, 0, time(9), grace=grace) == due


# --- the weekly digest's figures ------------------------------------------------------------------


def test_volume_and_backlog(digest: WeeklyDigest) -> None:
    """Opened: A (at SINCE), B, C, D, E, F, G, K, I (M merged, AT at UNTIL). Resolved: A, B,
    CARRY, D, E, F (C reopened, I after UNTIL). Backlog at SINCE: OLD, H and CARRY (resolved
    since); at UNTIL: OLD, H, C, G, K and I (resolved since)."""
    now, before = digest.current, digest.previous
    assert now.period == WEEK
    assert (now.opened, now.resolved, now.backlog_start, now.backlog_end) == (9, 6, 3, 6)
    assert now.net_change == 3
    assert now.backlog_end - now.backlog_start == now.opened - now.resolved
    # Before: Q1, H, Q2, CARRY opened; Q1, Q2 resolved; OLD in the backlog at its start.
    assert before.period == PREVIOUS
    assert (before.opened, before.resolved, before.backlog_start, before.backlog_end) == (
        4,
        2,
        1,
        3,
    )
    assert before.net_change == 2
    assert before.backlog_end == now.backlog_start


def test_first_response_and_resolution_times(digest: WeeklyDigest) -> None:
    """First responses given in the week: 60 120 300 900 3600 18000 36000 90000 (A B C D E F G
    H; M's 60 is merged away, I's is after UNTIL). Median (900 + 3600) / 2; p90 at rank 1 + 6.3:
    36000 + 0.3 × 54000; average 148980 / 8. Resolutions in the week: 3600 7200 21600 28800
    43200 54000 (D A B E CARRY F): median (21600 + 28800) / 2, p90 43200 + 0.5 × 10800, average
    158400 / 6."""
    now, before = digest.current, digest.previous
    assert spread(now.first_response) == approx(8, 2250, 52200, 18622.5)
    assert spread(now.resolution) == approx(6, 25200, 48600, 26400)
    # Before: 600 900 1800 (Q1 CARRY Q2); resolutions 14400 28800 (Q2 Q1).
    assert spread(before.first_response) == approx(3, 900, 1620, 1100)
    assert spread(before.resolution) == approx(2, 21600, 27360, 21600)


def test_sla_attainment_of_the_tickets_opened(digest: WeeklyDigest) -> None:
    """Of those opened in the week: first response met A B C D I, missed E F G, K not yet due;
    resolution met A B D I, missed C (reopened, past due) E F G. I's were met after UNTIL: the
    figures are as known when the digest is built."""
    now, before = digest.current, digest.previous
    assert (now.sla_first_met, now.sla_first_missed, now.sla_first_pct) == (5, 3, 62.5)
    assert (now.sla_resolution_met, now.sla_resolution_missed, now.sla_resolution_pct) == (
        4,
        4,
        50.0,
    )
    # Before: met Q1 Q2 CARRY, missed H (answered in the week); resolutions met Q1 Q2 CARRY,
    # H paused and not due by then.
    assert (before.sla_first_met, before.sla_first_missed, before.sla_first_pct) == (3, 1, 75.0)
    assert (
        before.sla_resolution_met,
        before.sla_resolution_missed,
        before.sla_resolution_pct,
    ) == (3, 0, 100.0)


def test_csat_of_the_answers_given(digest: WeeklyDigest) -> None:
    """Answered in the week: A ES, B U, C S, E EU, F ES (D's at UNTIL is next week's, CARRY's
    never came): 3 satisfied of 5. Before: Q1 S, Q2 U."""
    now, before = digest.current, digest.previous
    assert (now.csat_answers, now.csat_satisfied, now.csat_pct) == (5, 3, 60.0)
    assert (before.csat_answers, before.csat_satisfied, before.csat_pct) == (2, 1, 50.0)


def test_escalations_and_time_in_engineering(digest: WeeklyDigest) -> None:
    """Made in the week: B to the second line; D, E, G, K to engineering. Back from engineering
    in the week (wall clock): D 900, K 1800 (30 minutes though the clock went back), E 79200,
    CARRY 241200 (escalated before): median (1800 + 79200) / 2, p90 79200 + 0.7 × 162000,
    average 323100 / 4. G is still there; B's second line does not count."""
    now, before = digest.current, digest.previous
    assert now.escalations == {"engineering": 4, "second_line": 1}
    assert now.escalated == 5
    assert spread(now.time_in_engineering) == approx(4, 40500, 192600, 80775)
    assert before.escalations == {"engineering": 1}
    assert before.time_in_engineering == Spread(0, None, None, None)


def test_feature_requests(digest: WeeklyDigest) -> None:
    """D and K (M merged away, AT next week's); before: Q2."""
    assert (digest.current.feature_requests, digest.previous.feature_requests) == (2, 1)


def test_busiest_queues_products_tags_and_customers(digest: WeeklyDigest) -> None:
    """Counted over the tickets opened (M left out), each beside the previous period's count;
    ties by name, five at most (refund, tied with api and outage, is sixth)."""
    assert digest.queues == [Ranked("general", 7, 2), Ranked("billing", 2, 2)]
    assert digest.products == [Ranked("API", 4, 1), Ranked("Billing", 2, 2), Ranked("Mobile", 1, 0)]
    assert digest.tags == [
        Ranked("invoice", 2, 2),
        Ranked("login", 2, 0),
        Ranked("sso", 2, 1),
        Ranked("api", 1, 0),
        Ranked("outage", 1, 0),
    ]
    assert digest.customers == [
        Ranked("Acme Corp", 2, 1),
        Ranked("Globex", 2, 0),
        Ranked("Initech", 1, 0),
    ]


def test_per_agent_rows(digest: WeeklyDigest) -> None:
    """Claimed in the week: AGENT1 A, B (twice: once), E, G; AGENT2 H, C, D, F, G (I's claim is
    at UNTIL). Resolved as assignee: AGENT1 A, B, CARRY, E; AGENT2 D, F. First responses of their
    tickets: AGENT1 60 120 3600 36000, AGENT2 300 900 18000 90000. CSAT of the surveys they
    owned: AGENT1 A ES, B U, E EU; AGENT2 C S, F ES. Most resolved first."""
    rows = [
        (r.agent, r.claimed, r.resolved, r.csat_answers, r.csat_satisfied, r.csat_pct)
        for r in digest.agents
    ]
    assert rows == [(AGENT1, 4, 4, 3, 1, 33.3), (AGENT2, 5, 2, 2, 2, 100.0)]
    first = {r.agent: spread(r.first_response) for r in digest.agents}
    assert first[AGENT1] == approx(4, 1860, 26280, 9945)
    assert first[AGENT2] == approx(4, 9450, 68400, 27300)


def test_comments_worst_first(digest: WeeklyDigest, week: dict[str, int]) -> None:
    """Answers with a comment (A's is empty, F has none, D's is next week's), unhappiest first."""
    assert digest.comments == [
        Comment(
            ref(week, "E"),
            week["E"],
            EU,
            "Invoice wrong for me & my team",
            AGENT1,
            "billing",
            None,
        ),
        Comment(
            ref(week, "B"),
            week["B"],
            U,
            "Took all day. <!channel> ask <@U0BOSS> why, *now*",
            AGENT1,
            "general",
            LINK_B,
        ),
        Comment(ref(week, "C"), week["C"], S, "Fixed, *great* help", AGENT2, "billing", None),
    ]


def test_daily_series_over_local_days(digest: WeeklyDigest) -> None:
    """Per local day: opened, resolved and the backlog at the day's end (from 3). Saturday has
    nothing; the 25-hour Sunday has K (01:30 EDT) and I (23:30 EST)."""
    assert digest.days == [
        Day(date(2026, 10, 26), 1, 1, 3),  # A; A
        Day(date(2026, 10, 27), 2, 2, 3),  # B C; B CARRY
        Day(date(2026, 10, 28), 2, 1, 4),  # D E; D
        Day(date(2026, 10, 29), 2, 1, 5),  # F G; E
        Day(date(2026, 10, 30), 0, 1, 4),  # F
        Day(date(2026, 10, 31), 0, 0, 4),
        Day(date(2026, 11, 1), 2, 0, 6),  # K I
    ]
    assert digest.days[-1].backlog == digest.current.backlog_end


def test_first_response_histogram(digest: WeeklyDigest) -> None:
    """Buckets < 15m, 15m–1h, 1–4h, 4–8h, 8–24h, 24h+ (lower edge included): A B C met; D 900
    met; E 3600, F 18000, G 36000, H 90000 missed."""
    assert digest.response_labels == ("< 15m", "15m–1h", "1–4h", "4–8h", "8–24h", "24h+")
    assert digest.response_met == [3, 1, 0, 0, 0, 0]
    assert digest.response_missed == [0, 0, 1, 1, 1, 1]


def test_a_merged_away_tickets_claim_is_left_out(sf: SessionFactory, desk: Desk) -> None:
    with sf.begin() as session:
        s = Seeder(session)
        s.ticket("B", ny(10, 27, 10), status="claimed", assignee=AGENT1)
        s.ticket("M", ny(10, 27, 10, 30), status="closed", merged_into="B")
        s.claim("B", AGENT1, ny(10, 27, 10, 5))
        s.claim("M", AGENT2, ny(10, 27, 10, 35))  # claimed, then found to be B again
    with sf.begin() as session:
        digest = build_weekly_digest(session, desk, WEEK)
    assert [(r.agent, r.claimed) for r in digest.agents] == [(AGENT1, 1)]


# --- the empty week -------------------------------------------------------------------------------


EMPTY = week_ending(date(2026, 6, 1), NY)  # Mon 25 – Sun 31 May


def test_the_empty_week_says_zero_or_none(sf: SessionFactory, desk: Desk) -> None:
    with sf.begin() as session:
        digest = build_weekly_digest(session, desk, EMPTY)
    for figures in (digest.current, digest.previous):
        assert figures == Figures(
            period=figures.period,
            opened=0,
            resolved=0,
            backlog_start=0,
            backlog_end=0,
            first_response=Spread(0, None, None, None),
            resolution=Spread(0, None, None, None),
            sla_first_met=0,
            sla_first_missed=0,
            sla_resolution_met=0,
            sla_resolution_missed=0,
            csat_answers=0,
            csat_satisfied=0,
            escalations={},
            time_in_engineering=Spread(0, None, None, None),
            feature_requests=0,
        )
        assert figures.net_change == 0 and figures.escalated == 0
        assert (figures.sla_first_pct, figures.sla_resolution_pct, figures.csat_pct) == (
            None,
            None,
            None,
        )
    assert digest.days == [
        Day(date(2026, 5, 25 + d), 0, 0, 0)
        for d in range(7)  # Mon 25 – Sun 31 May
    ]
    assert (digest.queues, digest.products, digest.tags, digest.customers) == ([], [], [], [])
    assert (digest.agents, digest.comments) == ([], [])
    assert (digest.response_met, digest.response_missed) == ([0] * 6, [0] * 6)

    message = weekly_digest_message(digest, tz=NY)
    assert message["text"] == (
        "Weekly digest, Mon 25 – Sun 31 May 2026: 0 opened, 0 resolved, backlog 0 (+0); first "
        "response median —, 90th percentile —; SLA first response met no tickets; CSAT no answers."
    )
    flat = json.dumps(message, ensure_ascii=False)
    assert "%" not in flat  # never "0%" of nothing
    assert "No tickets this period." in flat and "No agent activity." in flat
    assert_block_kit(message)


def test_the_empty_csat_digest_and_stats(sf: SessionFactory, desk: Desk) -> None:
    with sf.begin() as session:
        csat = build_csat_digest(session, desk, EMPTY)
        stats = build_stats(session, desk, "week")
    assert csat == CsatDigest(EMPTY, 0, 0, 0, 0, {}, [], [], [])
    assert csat.pct is None and csat.previous_pct is None
    message = csat_digest_message(csat, tz=NY)
    assert (
        message["text"]
        == "CSAT digest, Mon 25 – Sun 31 May 2026: no answers satisfied (before: no answers)."
    )
    assert "%" not in json.dumps(message, ensure_ascii=False)
    assert_block_kit(message)
    answer = stats_answer(stats, tz=NY)
    flat = json.dumps(answer, ensure_ascii=False)
    assert "%" not in flat and "no tickets" in flat and "no answers" in flat
    assert_block_kit(answer)


# --- the CSAT digest ------------------------------------------------------------------------------


def test_csat_digest(sf: SessionFactory, desk: Desk, week: dict[str, int]) -> None:
    """The week's answers (A ES, B U, C S, E EU, F ES) by queue (the survey's: general A B F,
    billing C E) and by agent; the previous week's Q1 S, Q2 U; CARRY's unanswered survey and D's
    answer at UNTIL count nowhere; comments worst first."""
    with sf.begin() as session:
        csat = build_csat_digest(session, desk, WEEK)
    assert csat.period == WEEK
    assert (csat.answers, csat.satisfied, csat.pct) == (5, 3, 60.0)
    assert (csat.previous_answers, csat.previous_satisfied, csat.previous_pct) == (2, 1, 50.0)
    assert csat.ratings == {ES: 2, S: 1, U: 1, EU: 1}
    assert csat.queues == [CsatGroup("general", 3, 2), CsatGroup("billing", 2, 1)]
    assert [(g.name, g.pct) for g in csat.queues] == [("general", 66.7), ("billing", 50.0)]
    assert csat.agents == [CsatGroup(AGENT1, 3, 1), CsatGroup(AGENT2, 2, 2)]
    assert [(c.ref, c.rating) for c in csat.answered] == [
        (ref(week, "E"), EU),
        (ref(week, "B"), U),
        (ref(week, "C"), S),
    ]


def test_the_csat_digest_lists_the_worst_comments_when_there_are_many(
    sf: SessionFactory, desk: Desk
) -> None:
    with sf.begin() as session:
        s = Seeder(session)
        s.ticket("T", ny(10, 26, 9), assignee=AGENT1, resolved=(ny(10, 26, 10), 3600))
        for n in range(30):  # thirty happy comments early in the week...
            asked = ny(10, 26, 10) + timedelta(minutes=n)
            s.survey("T", asked, rating=S, answered=asked, comment=f"thanks {n}")
        # ...and the one that matters, on Friday
        s.survey("T", ny(10, 30, 9), rating=EU, answered=ny(10, 30, 10), comment="awful")
    with sf.begin() as session:
        csat = build_csat_digest(session, desk, WEEK)
    assert csat.answers == 31
    assert csat.answered[0].comment == "awful"


# --- /support stats -------------------------------------------------------------------------------


def stats_now(sf: SessionFactory, desk: Desk, clock: ManualClock, span: str) -> Stats:
    clock.set(UNTIL)
    with sf.begin() as session:
        return build_stats(session, desk, span)


def test_stats_week_is_the_last_168_hours(
    sf: SessionFactory, desk: Desk, clock: ManualClock, week: dict[str, int]
) -> None:
    """Read at UNTIL, the rolling week is [UNTIL − 168 h, UNTIL): it starts at 01:00 EDT on Monday
    26 Oct (the week had 169 hours), so A (00:00) falls in the period before, which is the 168
    hours just before that."""
    stats = stats_now(sf, desk, clock, "week")
    now, before = stats.current, stats.previous
    assert stats.label == "last 7 days"
    assert now.period == Period(ny(10, 26, 1), UNTIL)
    assert before.period == Period(ny(10, 19, 1), ny(10, 26, 1))
    # Opened: the week's nine but A; A's resolution (11:00) is in. Backlog at 01:00 Monday:
    # OLD, H, CARRY and A.
    assert (now.opened, now.resolved, now.backlog_start, now.backlog_end) == (8, 6, 4, 6)
    assert spread(now.first_response) == approx(8, 2250, 52200, 18622.5)
    assert (now.sla_first_met, now.sla_first_missed, now.sla_first_pct) == (4, 3, 57.1)
    assert (now.sla_resolution_met, now.sla_resolution_missed, now.sla_resolution_pct) == (
        3,
        4,
        42.9,
    )
    assert (now.csat_answers, now.csat_satisfied, now.csat_pct) == (5, 3, 60.0)
    assert now.escalations == {"engineering": 4, "second_line": 1}
    assert now.feature_requests == 2
    # Before: Q1, H, Q2, CARRY and A opened; Q1 and Q2 resolved; A's SLA met both.
    assert (before.opened, before.resolved, before.backlog_start, before.backlog_end) == (
        5,
        2,
        1,
        4,
    )
    assert (before.sla_first_met, before.sla_first_missed, before.sla_first_pct) == (4, 1, 80.0)
    assert (before.sla_resolution_met, before.sla_resolution_missed) == (4, 0)


def test_stats_month_is_the_last_30_days(
    sf: SessionFactory, desk: Desk, clock: ManualClock, week: dict[str, int]
) -> None:
    """[UNTIL − 30 × 24 h, UNTIL) starts Sat 3 Oct 01:00 EDT: both weeks, not OLD (29 Sep)."""
    stats = stats_now(sf, desk, clock, "month")
    now, before = stats.current, stats.previous
    assert stats.label == "last 30 days"
    assert now.period == Period(ny(10, 3, 1), UNTIL)
    assert (now.opened, now.resolved, now.backlog_start, now.backlog_end) == (13, 8, 1, 6)
    # 60 120 300 600 900 900 1800 3600 18000 36000 90000: the 6th, and rank 1 + 9 exactly.
    assert (now.first_response.count, now.first_response.median, now.first_response.p90) == (
        11,
        900,
        36000,
    )
    assert (now.resolution.count, now.resolution.median) == (8, 25200)
    assert (now.sla_first_met, now.sla_first_missed, now.sla_first_pct) == (8, 4, 66.7)
    assert (now.sla_resolution_met, now.sla_resolution_missed, now.sla_resolution_pct) == (
        7,
        4,
        63.6,
    )
    assert (now.csat_answers, now.csat_satisfied, now.csat_pct) == (7, 4, 57.1)
    assert now.escalations == {"engineering": 5, "second_line": 1}
    assert now.feature_requests == 3
    assert before.period == Period(ny(9, 3, 1), ny(10, 3, 1))
    assert (before.opened, before.resolved, before.backlog_start, before.backlog_end) == (
        1,
        0,
        0,
        1,
    )


# --- rendering ------------------------------------------------------------------------------------


def assert_block_kit(message: dict[str, Any]) -> None:
    """A message Slack accepts: a notification text, at most 50 known blocks, a section's text
    at most 3,000 characters and its fields at most 10 of 2,000, a header at most 150."""
    json.dumps(message)
    assert isinstance(message["text"], str) and message["text"].strip()
    blocks = message["blocks"]
    assert 0 < len(blocks) <= MAX_MESSAGE_BLOCKS
    for block in blocks:
        kind = block["type"]
        assert kind in {"header", "section", "context", "divider"}, block
        if kind == "header":
            assert block["text"]["type"] == "plain_text"
            assert 0 < len(block["text"]["text"]) <= 150
        elif kind == "section":
            assert "text" in block or "fields" in block
            if "text" in block:
                assert block["text"]["type"] in {"mrkdwn", "plain_text"}
                assert 0 < len(block["text"]["text"]) <= MAX_SECTION_TEXT
            fields = block.get("fields", [])
            assert len(fields) <= 10
            assert all(0 < len(f["text"]) <= 2000 for f in fields)
        elif kind == "context":
            assert 0 < len(block["elements"]) <= 10
            assert all(len(e["text"]) <= 2000 for e in block["elements"])


def sections(message: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]


def fields(message: dict[str, Any]) -> list[str]:
    return [f["text"] for b in message["blocks"] for f in b.get("fields", [])]


def test_weekly_digest_message(digest: WeeklyDigest, week: dict[str, int]) -> None:
    message = weekly_digest_message(digest, tz=NY)
    assert_block_kit(message)
    assert message["text"] == (
        "Weekly digest, Mon 26 Oct – Sun 1 Nov 2026: 9 opened, 6 resolved, backlog 6 (+3, "
        "growing); first response median 37m, 90th percentile 14h 30m; SLA first response met "
        "62.5%; CSAT 60% of 5 answers."
    )
    assert message["blocks"][1]["elements"][0]["text"] == (
        "*Mon 26 Oct – Sun 1 Nov 2026* · _before_ is Mon 19 – Sun 25 Oct 2026 · "
        ":small_red_triangle: worse than before · :bar_chart: charts in the thread"
    )
    assert fields(message) == [
        "*Opened*\n9 :small_red_triangle: · _before: 4_",
        "*Resolved*\n6 · _before: 2_",
        "*Backlog at end*\n6 :small_red_triangle: · _before: 3_",
        "*Net change*\n+3 :small_red_triangle: · _before: +2_",
        "*First response, median*\n37m :small_red_triangle: · _before: 15m_",
        "*First response, 90th percentile*\n14h 30m :small_red_triangle: · _before: 27m_",
        "*Resolution, median*\n7h :small_red_triangle: · _before: 6h_",
        "*Resolution, average*\n7h 20m :small_red_triangle: · _before: 6h_",
        "*SLA met, first response*\n62.5% :small_red_triangle: · _before: 75%_",
        "*SLA met, resolution*\n50% :small_red_triangle: · _before: 100%_",
        "*CSAT*\n60% of 5 answers · _before: 50% of 2 answers_",
    ]
    e, b, c = ref(week, "E"), ref(week, "B"), ref(week, "C")
    assert sections(message) == [
        ":warning: *The backlog grew by 3*: more tickets were opened than resolved.",
        "*Speed* (business hours)",
        "*Quality*",
        "*Escalations*: 5 · _before: 1_ (4 to engineering, 1 to the second line)\n"
        "Time in engineering: median 11h 15m, average 22h 26m\n"
        "*Feature requests received*: 2 · _before: 1_ · *shipped*: 0 · _before: 0_",
        "*Self-serve answers*: 0 of 9 questions solved by a knowledge-base article, *0% "
        "deflected* · _before: 0%_\n"
        'Answers offered: 0 · *"I still need help"*: 0 · _before: 0_',
        "*Busiest* (tickets opened · before)\n"
        "*Queues*: general 7 · 2, billing 2 · 2\n"
        "*Products*: API 4 · 1, Billing 2 · 2, Mobile 1 · 0\n"
        "*Tags*: invoice 2 · 2, login 2 · 0, sso 2 · 1, api 1 · 0, outage 1 · 0\n"
        "*Customers*: Acme Corp 2 · 1, Globex 2 · 0, Initech 1 · 0\n",
        "*Agents* (claimed · resolved · first response median · CSAT)\n"
        "• <@U0AGENT1>: 4 · 4 · 31m · 33.3% of 3 answers\n"
        "• <@U0AGENT2>: 5 · 2 · 2h 37m · 100% of 2 answers\n",
        "*What requesters said*\n"
        f":angry: *{e}* Extremely unsatisfied · <@U0AGENT1>\n"
        ">Invoice wrong for me &amp; my team\n"
        f":slightly_frowning_face: <{LINK_B}|*{b}*> Unsatisfied · <@U0AGENT1>\n"
        ">Took all day. &lt;!channel&gt; ask &lt;@U0BOSS&gt; why, *now*\n"
        f":slightly_smiling_face: *{c}* Satisfied · <@U0AGENT2>\n"
        ">Fixed, *great* help\n",
    ]


def test_requesters_comments_never_ping(
    digest: WeeklyDigest, sf: SessionFactory, desk: Desk
) -> None:
    """`&`, `<` and `>` are escaped, so `<!channel>` and `<@U0BOSS>` show as text; `*bold*` is
    left as the requester typed it (the mrkdwn filter touches those three characters only)."""
    with sf.begin() as session:
        csat = build_csat_digest(session, desk, WEEK)
    for message in (weekly_digest_message(digest, tz=NY), csat_digest_message(csat, tz=NY)):
        flat = json.dumps(message, ensure_ascii=False)
        assert "<!channel>" not in flat and "<@U0BOSS>" not in flat and "<!" not in flat
        assert "&lt;!channel&gt; ask &lt;@U0BOSS&gt; why, *now*" in flat
        assert "me &amp; my team" in flat and "me & my" not in flat


def test_csat_digest_message(sf: SessionFactory, desk: Desk, week: dict[str, int]) -> None:
    with sf.begin() as session:
        csat = build_csat_digest(session, desk, WEEK)
    message = csat_digest_message(csat, tz=NY)
    assert_block_kit(message)
    assert message["text"] == (
        "CSAT digest, Mon 26 Oct – Sun 1 Nov 2026: 60% of 5 answers satisfied "
        "(before: 50% of 2 answers)."
    )
    e, b, c = ref(week, "E"), ref(week, "B"), ref(week, "C")
    assert sections(message) == [
        "*Mon 26 Oct – Sun 1 Nov 2026*\n"
        "Satisfied: *60% of 5 answers* · _before: 50% of 2 answers_\n"
        ":star-struck: Extremely satisfied: 2 · :slightly_smiling_face: Satisfied: 1 · "
        ":slightly_frowning_face: Unsatisfied: 1 · :angry: Extremely unsatisfied: 1",
        "*By queue*\n• general: 66.7% of 3 answers\n• billing: 50% of 2 answers\n",
        "*By agent*\n• <@U0AGENT1>: 33.3% of 3 answers\n• <@U0AGENT2>: 100% of 2 answers\n",
        f":angry: *{e}* Extremely unsatisfied · billing · <@U0AGENT1>\n"
        ">Invoice wrong for me &amp; my team",
        f":slightly_frowning_face: <{LINK_B}|*{b}*> Unsatisfied · general · <@U0AGENT1>\n"
        ">Took all day. &lt;!channel&gt; ask &lt;@U0BOSS&gt; why, *now*",
        f":slightly_smiling_face: *{c}* Satisfied · billing · <@U0AGENT2>\n>Fixed, *great* help",
    ]
    assert message["blocks"][-1]["type"] == "section"  # every comment is listed: no "more" line


def test_stats_answer(
    sf: SessionFactory, desk: Desk, clock: ManualClock, week: dict[str, int]
) -> None:
    answer = stats_answer(stats_now(sf, desk, clock, "week"), tz=NY)
    assert_block_kit(answer)
    assert answer["response_type"] == "ephemeral"
    assert sections(answer) == [
        "*Support figures, last 7 days* (before: the last 7 days before that)\n"
        "• Opened: *8* :small_red_triangle: · _before: 5_\n"
        "• Resolved: *6* · _before: 2_\n"
        "• Backlog at end: *6* :small_red_triangle: · _before: 4_\n"
        "• Net change: *+2* · _before: +3_\n"
        "• First response, median: *37m* :small_red_triangle: · _before: 15m_\n"
        "• First response, 90th percentile: *14h 30m* :small_red_triangle: · _before: 27m_\n"
        "• Resolution, median: *7h* :small_red_triangle: · _before: 6h_\n"
        "• Resolution, average: *7h 20m* :small_red_triangle: · _before: 6h_\n"
        "• SLA met, first response: *57.1%* :small_red_triangle: · _before: 80%_\n"
        "• SLA met, resolution: *42.9%* :small_red_triangle: · _before: 100%_\n"
        "• CSAT: *60% of 5 answers* · _before: 50% of 2 answers_\n"
        "• Escalations: *5* · Feature requests: *2*"
    ]


def test_stats_answer_text_carries_the_key_numbers(
    sf: SessionFactory, desk: Desk, clock: ManualClock, week: dict[str, int]
) -> None:
    text = stats_answer(stats_now(sf, desk, clock, "week"), tz=NY)["text"]
    for number in ("8 opened", "6 resolved", "backlog 6", "+2", "37m", "14h 30m", "60%"):
        assert number in text


def _loud_digest() -> WeeklyDigest:
    """As much as a week can hold: 15 agents, five rankings of long names, five comments of 2,000
    characters that all need escaping."""
    empty = Figures(
        WEEK, 0, 0, 0, 0, *(Spread.empty(),) * 2, 0, 0, 0, 0, 0, 0, {}, Spread.empty(), 0
    )
    ranked = [Ranked("<!here> " + "x" * 192, 999, 999) for _ in range(5)]
    return WeeklyDigest(
        current=empty,
        previous=empty,
        days=[],
        queues=ranked,
        products=ranked,
        tags=ranked,
        customers=ranked,
        agents=[
            AgentRow(f"U0AGENT{n:02d}", 999, 999, Spread(9, 99999, 99999, 99999), 999, 998)
            for n in range(15)
        ],
        comments=[
            Comment(f"#{n}", n, EU, "<!channel> & " * 160, "U0AGENT1", "general", LINK_B)
            for n in range(5)
        ],
    )


def test_the_loudest_digest_stays_within_slack_limits() -> None:
    message = weekly_digest_message(_loud_digest(), tz=NY)
    assert_block_kit(message)
    assert sections(message)[-1].endswith("…")  # the comments were cut to fit
    assert "<!" not in json.dumps(message)
    csat = CsatDigest(
        WEEK,
        9999,
        5000,
        9999,
        5000,
        {EU: 9999},
        [CsatGroup("q" * 64, 999, 1) for _ in range(40)],
        [CsatGroup(f"U0AGENT{n:02d}", 999, 1) for n in range(40)],
        [
            Comment(f"#{n}", n, EU, "<!channel> & " * 400, "U0AGENT1", "general", LINK_B)
            for n in range(30)
        ],
        more_comments=9969,
    )
    csat_message = csat_digest_message(csat, tz=NY)
    assert_block_kit(csat_message)
    assert len(csat_message["blocks"]) == 35  # header, totals, queues, agents, 30 answers, more
    assert csat_message["blocks"][-1]["elements"][0]["text"] == (
        "…and 9969 more comments, kinder than these."
    )
    assert "<!" not in json.dumps(csat_message)


# --- the percentile definition --------------------------------------------------------------------


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(values=st.lists(st.integers(min_value=0, max_value=10**6), min_size=2, max_size=25))
def test_spread_is_statistics_inclusive_quantiles(engine: Engine, values: list[int]) -> None:
    """Median and p90 in SQL equal Python's `statistics` (method="inclusive", PostgreSQL's
    `percentile_cont`) for any list; each example's rows are rolled back."""
    created = ny(10, 26, 9)
    with engine.connect() as conn, conn.begin() as outer:
        session = Session(bind=conn)
        session.execute(
            insert(Ticket),
            [
                {
                    "intake_source": "message",
                    "requester": REQUESTER,
                    "queue": "general",
                    "status": "open",
                    "priority": "medium",
                    "created_at": created,
                    "updated_at": created,
                    "first_response_seconds": value,
                    "departments": [],
                    "description": "",
                }
                for value in values
            ],
        )
        got = ReportRepository(session).spread(Ticket.first_response_seconds)
        session.close()
        outer.rollback()
    assert got.count == len(values)
    assert got.median == pytest.approx(statistics.median(values), rel=1e-12, abs=1e-9)
    p90 = statistics.quantiles(values, n=10, method="inclusive")[8]
    assert got.p90 == pytest.approx(p90, rel=1e-12, abs=1e-9)
    assert got.average == pytest.approx(statistics.fmean(values), rel=1e-9)


def test_spread_of_one_value_and_of_none(sf: SessionFactory) -> None:
    with sf.begin() as session:
        Seeder(session).ticket("T", SINCE, first_response=(ny(10, 26, 9), 42))
        reports = ReportRepository(session)
        assert reports.spread(Ticket.first_response_seconds) == Spread(1, 42.0, 42.0, 42.0)
        assert reports.spread(Ticket.resolution_seconds) == Spread(0, None, None, None)
