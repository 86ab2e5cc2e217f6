"""The SLA digest over a hand-made week: attainment per priority, the playbook's first-response
buckets (business time), what is breached or at risk now, the half-open period, the empty period,
the rendered message, and where `post_digest` sends it.

Every figure below is worked out by hand from the timeline in `seed_week` (business hours are
Mon-Fri 09:00-17:00 America/New_York, EST in November 2026; targets are TEST_CONFIG's) and written
as a literal: the test never asks the code under test what the answer should be.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import Engine, select, update

from bot.config import DeskConfig, parse_config
from bot.standin import SlackStandin
from storage.db import SessionFactory, create_db_engine, create_session_factory
from storage.models import OutboxMessage, Ticket
from templates.sla import sla_digest_message
from tests.conftest import TEST_CONFIG
from workflows.clock import ManualClock
from workflows.delivery import Purpose
from workflows.desk import Desk
from workflows.sla import first_response, plan
from workflows.sla_digest import (
    BUCKET_EDGES,
    BUCKET_LABELS,
    Attainment,
    SlaDigest,
    build_sla_digest,
    post_digest,
)
from workflows.triage import ActionKind, TicketAction, perform
from workflows.vocabulary import TicketStatus, Via

NY = ZoneInfo("America/New_York")
AGENT1, AGENT2 = "U0AGENT1", "U0AGENT2"
REQUESTER = "U0REQ1"
CHANNEL = "C0HELP"


def ny(day: int, hour: int, minute: int = 0, *, month: int = 11) -> datetime:
    """A wall-clock time at the desk (2026, America/New_York), as the UTC instant it is."""
    return datetime(2026, month, day, hour, minute, tzinfo=NY).astimezone(UTC)


# The digest's week: Monday 16 Nov 09:00 to Monday 23 Nov 09:00 (the digest time), read at 09:50.
SINCE = ny(16, 9)
UNTIL = ny(23, 9)
NOW = ny(23, 9, 50)


# --- seeding: tickets opened, answered, claimed, waiting and resolved at chosen times ------------


@dataclass
class Seeder:
    """Opens tickets straight in the database (planned by the SLA engine) and works them through
    the real workflows, each step with the desk's clock set to the step's own time."""

    sf: SessionFactory
    desk: Desk
    clock: ManualClock
    ids: dict[str, int] = field(default_factory=dict)
    _serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def open(self, name: str, priority: str, created: datetime, *, queue: str = "general") -> int:
        self.clock.set(created)
        ts = f"{int(created.timestamp())}.{next(self._serial):06d}"
        with self.sf.begin() as session:
            ticket = Ticket(
                source_channel=CHANNEL,
                source_ts=ts,
                intake_source="message",
                requester=REQUESTER,
                reporter=REQUESTER,
                queue=queue,
                status=TicketStatus.OPEN.value,
                priority=priority,
                description=f"ticket {name}",
                created_at=created,
                updated_at=created,
            )
            session.add(ticket)
            session.flush()
            plan(session, self.desk, ticket, at=created, retarget=True)
            self.ids[name] = ticket.id
            return ticket.id

    def answer(self, name: str, when: datetime, *, by: str = AGENT1) -> None:
        self.clock.set(when)
        with self.sf.begin() as session:
            ticket = session.get(Ticket, self.ids[name])
            assert ticket is not None
            first_response(session, self.desk, ticket, by=by, at=when)

    def act(self, name: str, kind: ActionKind, when: datetime, *, by: str = AGENT1) -> None:
        self.clock.set(when)
        with self.sf.begin() as session:
            action = TicketAction(
                kind=kind, ticket_id=self.ids[name], actor=by, at=when, via=Via.HOME
            )
            assert perform(session, self.desk, action).done, (name, kind)

    def merge_away(self, name: str, into: str, when: datetime) -> None:
        """Closed as merged into another ticket (what `workflows.merging` leaves behind)."""
        with self.sf.begin() as session:
            session.execute(
                update(Ticket)
                .where(Ticket.id == self.ids[name])
                .values(
                    status=TicketStatus.CLOSED.value,
                    closed_at=when,
                    merged_into_id=self.ids[into],
                )
            )

    def ref(self, name: str) -> str:
        return f"#{self.ids[name]}"


def settle_outbox(sf: SessionFactory) -> None:
    """Pretend everything the seeding owed Slack went out, so tests see only what comes next."""
    with sf.begin() as session:
        session.execute(
            update(OutboxMessage).where(OutboxMessage.status == "pending").values(status="sent")
        )


def seed_week(seeder: Seeder) -> None:
    """The week, ticket by ticket, with what each contributes (FR: first response, R:
    resolution; business time unless said otherwise).

    Targets: urgent 15m/4h, high 1h/8h, medium 4h/24h, low 8h/72h; warnings at 75 %.
    """
    s, K = seeder, ActionKind
    # U0 - urgent, Mon 08:59: one minute before the period: counts nowhere.
    s.open("U0", "urgent", ny(16, 8, 59))
    s.answer("U0", ny(16, 9))
    s.act("U0", K.RESOLVE, ny(16, 9, 30))
    # U1 - urgent, Mon 10:00. FR 10:10 (600 s, due 10:15: met); resolved 12:00 (due 14:00: met).
    s.open("U1", "urgent", ny(16, 10))
    s.answer("U1", ny(16, 10, 10))
    s.act("U1", K.RESOLVE, ny(16, 12))
    # U2 - urgent, Tue 10:00. FR 10:30 (1800 s, due 10:15: missed); resolved 15:00 (due 14:00:
    # missed).
    s.open("U2", "urgent", ny(17, 10))
    s.answer("U2", ny(17, 10, 30))
    s.act("U2", K.RESOLVE, ny(17, 15))
    # U3 - urgent, opened exactly at `since` (Mon 09:00): counts. FR 09:05 (300 s: met); still
    # claimed, R due Mon 13:00 < until: missed, and breached now.
    s.open("U3", "urgent", SINCE)
    s.answer("U3", ny(16, 9, 5))
    s.act("U3", K.CLAIM, ny(16, 9, 5))
    # U4 - urgent, Thu 09:00. FR 09:10 (600 s: met); waiting on the customer from 14:00, after R
    # was due (13:00): the pause does not undo the breach, missed and breached now.
    s.open("U4", "urgent", ny(19, 9))
    s.answer("U4", ny(19, 9, 10))
    s.act("U4", K.CLAIM, ny(19, 9, 10))
    s.act("U4", K.WAIT, ny(19, 14))
    # H1 - high, Wed 09:00. FR 11:00 (7200 s, due 10:00: missed); resolved 16:00 (due 17:00: met).
    s.open("H1", "high", ny(18, 9))
    s.answer("H1", ny(18, 11))
    s.act("H1", K.RESOLVE, ny(18, 16))
    # H2 - high, Fri 16:00, unanswered. FR due Fri 17:00 < until: missed, breached now; 1 h of
    # business time by until: not overdue. R due Mon 16:00 >= until: neither.
    s.open("H2", "high", ny(20, 16))
    # M1 - medium, Mon 14:00. FR exactly at its due time, Tue 10:00 (3 h + 1 h = 14400 s: met);
    # resolved Wed 12:00 (due Thu 14:00: met).
    s.open("M1", "medium", ny(16, 14))
    s.answer("M1", ny(17, 10))
    s.act("M1", K.RESOLVE, ny(18, 12))
    # M2 - medium, Tue 09:00. FR Wed 11:00 (8 h + 2 h = 36000 s, due Tue 13:00: missed);
    # resolved Wed 15:00 (due Thu 17:00: met).
    s.open("M2", "medium", ny(17, 9))
    s.answer("M2", ny(18, 11))
    s.act("M2", K.RESOLVE, ny(18, 15))
    # M3 - medium, Wed 09:00. FR Thu 16:00 (8 h + 7 h = 54000 s: missed); resolved Fri 10:00
    # (due Fri 17:00: met).
    s.open("M3", "medium", ny(18, 9))
    s.answer("M3", ny(19, 16))
    s.act("M3", K.RESOLVE, ny(20, 10))
    # M4 - medium, Thu 16:00, unanswered. FR due Fri 12:00: missed, breached now; 9 h by until:
    # not overdue. R due Tue 24 16:00: neither.
    s.open("M4", "medium", ny(19, 16))
    # M5 - medium, Mon 15:00. FR 16:00 (exactly 1 h = 3600 s: the 1-6 h bucket; met); waiting on
    # the customer from 16:00, before R was due (Thu 15:00): paused, neither, not listed.
    s.open("M5", "medium", ny(16, 15))
    s.answer("M5", ny(16, 16))
    s.act("M5", K.CLAIM, ny(16, 16))
    s.act("M5", K.WAIT, ny(16, 16))
    # M6 - medium, Tue 12:00, answered in 30 m, then merged into M1: counts nowhere.
    s.open("M6", "medium", ny(17, 12))
    s.answer("M6", ny(17, 12, 30))
    s.merge_away("M6", "M1", ny(17, 13))
    # L1 - low, Mon 10:00, unanswered. FR due Tue 10:00: missed, breached now; 7 h + 4 x 8 h =
    # 39 h by until: overdue.
    s.open("L1", "low", ny(16, 10))
    # L2 - low, Wed 10:00. FR Mon 23 08:00, before hours (7 + 8 + 8 = 23 h = 82800 s: 12-24 h;
    # due Thu 10:00: missed). Claimed; R due Tue 1 Dec: neither.
    s.open("L2", "low", ny(18, 10))
    s.answer("L2", ny(23, 8))
    s.act("L2", K.CLAIM, ny(23, 8))
    # L3 - low, Friday 18:00 (after hours), answered Monday 08:30 before hours: 0 s, the
    # playbook's all-star answer; met.
    s.open("L3", "low", ny(20, 18))
    s.answer("L3", ny(23, 8, 30))
    s.act("L3", K.CLAIM, ny(23, 8, 30))
    # L4 - low, Tue 09:00. FR Thu 17:00, exactly 3 x 8 h = 86400 s: overdue (24 h+); missed.
    s.open("L4", "low", ny(17, 9))
    s.answer("L4", ny(19, 17))
    s.act("L4", K.CLAIM, ny(19, 17))
    # B - high, opened exactly at `until` (Mon 23 09:00): outside the period, but at risk now
    # (FR warning at 09:45, due 10:00).
    s.open("B", "high", UNTIL)
    s.clock.set(NOW)


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def sf(engine: Engine) -> SessionFactory:
    return create_session_factory(engine)


@pytest.fixture
def desk(desk_config: DeskConfig, clock: ManualClock) -> Desk:
    clock.set(NOW)
    return Desk(desk_config, clock)


@pytest.fixture
def week(sf: SessionFactory, desk: Desk, clock: ManualClock) -> Seeder:
    seeder = Seeder(sf, desk, clock)
    seed_week(seeder)
    return seeder


def digest_of(sf: SessionFactory, desk: Desk, since: datetime, until: datetime) -> SlaDigest:
    with sf.begin() as session:
        return build_sla_digest(session, desk, since=since, until=until, now=NOW)


def config_without_digests() -> DeskConfig:
    return parse_config({k: v for k, v in TEST_CONFIG.items() if k != "digests"})


def lines(items: list[Any]) -> list[tuple[str, str, str, str, str, str | None]]:
    return [(a.ref, a.state, a.target, a.when, a.priority, a.assignee) for a in items]


# --- the figures ---------------------------------------------------------------------------------


def test_the_playbook_buckets_are_as_documented() -> None:
    assert BUCKET_EDGES == (3600, 21600, 43200, 86400)
    assert BUCKET_LABELS == (
        "Under 1 h (all-star)",
        "1–6 h",
        "6–12 h",
        "12–24 h",
        "Overdue (24 h+)",
    )


def test_attainment_per_priority_is_what_the_week_adds_up_to(
    sf: SessionFactory, desk: Desk, week: Seeder
) -> None:
    digest = digest_of(sf, desk, SINCE, UNTIL)
    assert digest.since == SINCE and digest.until == UNTIL
    assert digest.attainment == [
        # priority, label, opened, FR met, FR missed, R met, R missed
        Attainment("urgent", "Urgent", 4, 3, 1, 1, 3),  # U1-U4
        Attainment("high", "High", 2, 0, 2, 1, 0),  # H1, H2 (B is outside)
        Attainment("medium", "Medium", 5, 2, 3, 3, 0),  # M1-M5 (M6 merged away)
        Attainment("low", "Low", 4, 1, 3, 0, 0),  # L1-L4
    ]
    pcts = [(a.first_pct, a.resolution_pct) for a in digest.attainment]
    assert pcts == [(75.0, 25.0), (0.0, 100.0), (40.0, 100.0), (25.0, None)]
    assert digest.opened == 15
    assert digest.first_pct == 40.0  # 6 of 15
    assert digest.resolution_pct == 62.5  # 5 of 8


def test_first_response_buckets_count_business_time_and_the_unanswered(
    sf: SessionFactory, desk: Desk, week: Seeder
) -> None:
    digest = digest_of(sf, desk, SINCE, UNTIL)
    assert digest.buckets == [
        ("Under 1 h (all-star)", 5),  # U1 600 s, U2 1800 s, U3 300 s, U4 600 s, L3 0 s
        ("1–6 h", 3),  # M5 exactly 3600 s, H1 7200 s, M1 14400 s
        ("6–12 h", 1),  # M2 36000 s
        ("12–24 h", 2),  # M3 54000 s, L2 82800 s
        ("Overdue (24 h+)", 2),  # L4 answered after exactly 86400 s; L1 unanswered for 39 h
    ]
    with sf.begin() as session:
        seconds = {
            name: session.get(Ticket, week.ids[name]).first_response_seconds  # type: ignore[union-attr]
            for name in ("L3", "M5", "M1", "L2", "L4", "H2")
        }
    assert seconds == {"L3": 0, "M5": 3600, "M1": 14400, "L2": 82800, "L4": 86400, "H2": None}


def test_breached_and_at_risk_now(sf: SessionFactory, desk: Desk, week: Seeder) -> None:
    """Active tickets past a due time (NOW is Mon 23 Nov 09:50), in ticket order; a paused
    resolution clock (M5) is neither; B opened after the period is at risk all the same."""
    digest = digest_of(sf, desk, SINCE, UNTIL)
    r = week.ref
    assert lines(digest.breached) == [
        (r("U3"), "breached", "Resolution", "6d 20h ago", "Urgent", AGENT1),  # due Mon 16 13:00
        (r("U4"), "breached", "Resolution", "3d 20h ago", "Urgent", AGENT1),  # due Thu 19 13:00
        (r("H2"), "breached", "First response", "2d 16h ago", "High", None),  # due Fri 20 17:00
        (r("M4"), "breached", "First response", "2d 21h ago", "Medium", None),  # Fri 20 12:00
        (r("L1"), "breached", "First response", "5d 23h ago", "Low", None),  # due Tue 17 10:00
    ]
    assert lines(digest.at_risk) == [
        (r("B"), "warning", "First response", "in 10m", "High", None),
    ]
    u3 = digest.breached[0]
    assert u3.ticket_id == week.ids["U3"]
    assert u3.due == {"ts": int(ny(16, 13).timestamp()), "fallback": "Mon 16 Nov 13:00 EST"}


def test_the_period_is_half_open(sf: SessionFactory, desk: Desk, week: Seeder) -> None:
    """`[since, until)`: a ticket opened exactly at `since` counts, one opened exactly at `until`
    belongs to the next period."""
    just_since = digest_of(sf, desk, SINCE, SINCE + timedelta(minutes=1))
    assert just_since.opened == 1  # U3, opened at 09:00:00
    assert [a.opened for a in just_since.attainment] == [1, 0, 0, 0]
    before = digest_of(sf, desk, SINCE - timedelta(minutes=1), SINCE)
    assert before.opened == 1  # U0 at 08:59; U3 (at `until` of this one) is not in it
    assert before.buckets[0] == ("Under 1 h (all-star)", 1)
    after = digest_of(sf, desk, UNTIL, UNTIL + timedelta(hours=1))
    assert after.opened == 1  # B
    assert [a.opened for a in after.attainment] == [0, 1, 0, 0]
    # ...and B is not in the week's 15 (test_attainment_per_priority), nor U0.


def test_an_empty_period_says_no_tickets(sf: SessionFactory, desk: Desk, week: Seeder) -> None:
    digest = digest_of(sf, desk, ny(2, 9), ny(9, 9))
    assert digest.opened == 0
    assert all(a.opened == 0 and a.first_pct is None for a in digest.attainment)
    assert digest.first_pct is None and digest.resolution_pct is None
    assert [count for _, count in digest.buckets] == [0, 0, 0, 0, 0]
    # What is breached or at risk is about now, whatever the period.
    assert len(digest.breached) == 5 and len(digest.at_risk) == 1
    message = sla_digest_message(digest, tz=NY)
    assert message["text"] == (
        "SLA digest, Mon 02 Nov – Mon 09 Nov 2026: 0 tickets opened; first response on time: "
        "no tickets; resolution on time: no tickets; 5 breached and 1 at risk now."
    )
    attainment = next(
        b for b in message["blocks"] if "Attainment" in b.get("text", {}).get("text", "")
    )
    assert attainment["text"]["text"].count("no tickets") == 4


def test_an_empty_desk_has_nothing_to_divide(sf: SessionFactory, desk: Desk) -> None:
    digest = digest_of(sf, desk, SINCE, UNTIL)
    assert digest.opened == 0 and digest.breached == [] and digest.at_risk == []
    text = sla_digest_message(digest, tz=NY)["text"]
    assert "0 tickets opened" in text and "first response on time: no tickets" in text
    assert "0 breached and 0 at risk now" in text


def test_the_message_carries_the_key_numbers(sf: SessionFactory, desk: Desk, week: Seeder) -> None:
    message = sla_digest_message(digest_of(sf, desk, SINCE, UNTIL), tz=NY)
    assert message["text"] == (
        "SLA digest, Mon 16 Nov – Mon 23 Nov 2026: 15 tickets opened; first response on time: "
        "40%; resolution on time: 62.5%; 5 breached and 1 at risk now."
    )
    body = "\n".join(b["text"]["text"] for b in message["blocks"] if b["type"] == "section")
    for expected in (
        "*Mon 16 Nov – Mon 23 Nov 2026* · 15 tickets opened",
        "First response on time: *40%* · Resolution on time: *62.5%*",
        "*Breached now* (5)",
        "*At risk* (1)",
        "• *Urgent*: 75% (3/4) · 25% (1/4) of 4 opened",
        "• *High*: 0% (0/2) · 100% (1/1) of 2 opened",
        "• *Medium*: 40% (2/5) · 100% (3/3) of 5 opened",
        "• *Low*: 25% (1/4) · no tickets (0/0) of 4 opened",
        "• Under 1 h (all-star): 5",
        "• 1–6 h: 3",
        "• 6–12 h: 1",
        "• 12–24 h: 2",
        "• Overdue (24 h+): 2",
        f"*{week.ref('U3')}* Resolution breached 6d 20h ago",
        f"*{week.ref('B')}* First response due in 10m",
        f"<@{AGENT1}>",
    ):
        assert expected in body, expected
    assert "unassigned" in body  # H2, M4, L1, B


def test_an_around_the_clock_priority_counts_every_hour(
    sf: SessionFactory, clock: ManualClock
) -> None:
    """A priority whose targets run around the clock is measured in wall-clock time: a Friday
    16:50 question answered Saturday 10:00 took 17 h 10 m (not the 10 business minutes)."""
    config = dict(TEST_CONFIG)
    config["sla"] = {
        **TEST_CONFIG["sla"],
        "urgent": {"first_response": "15m", "resolution": "4h", "around_the_clock": True},
    }
    desk = Desk(parse_config(config), clock)
    s = Seeder(sf, desk, clock)
    s.open("X", "urgent", ny(20, 16, 50))
    s.answer("X", ny(21, 10))
    s.open("Y", "urgent", ny(20, 16))  # unanswered for 65 h by until (1 business hour)
    digest = digest_of(sf, desk, SINCE, UNTIL)
    assert digest.buckets == [
        ("Under 1 h (all-star)", 0),
        ("1–6 h", 0),
        ("6–12 h", 0),
        ("12–24 h", 1),
        ("Overdue (24 h+)", 1),
    ]
    assert digest.attainment[0] == Attainment("urgent", "Urgent", 2, 0, 2, 0, 2)


# --- posting -------------------------------------------------------------------------------------


def test_post_digest_owes_the_digests_channel_one_message(
    sf: SessionFactory, desk: Desk, week: Seeder
) -> None:
    settle_outbox(sf)
    digest = digest_of(sf, desk, SINCE, UNTIL)
    with sf.begin() as session:
        assert post_digest(session, desk, digest, now=NOW) is True
    with sf.begin() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending")).all()
        assert len(rows) == 1
        row = rows[0]
        assert (row.method, row.purpose, row.ticket_id) == ("chat.postMessage", "digest", None)
        assert row.purpose == Purpose.DIGEST
        assert row.payload["channel"] == "C0MGRS"
        assert row.payload["unfurl_links"] is False
        assert row.payload["text"].startswith(
            "SLA digest, Mon 16 Nov – Mon 23 Nov 2026: 15 tickets"
        )
        assert row.payload["blocks"][0]["type"] == "header"
        assert row.next_attempt_at == NOW


def test_post_digest_without_a_digests_channel_owes_nothing(
    sf: SessionFactory, clock: ManualClock
) -> None:
    desk = Desk(config_without_digests(), clock)
    digest = digest_of(sf, desk, SINCE, UNTIL)
    with sf.begin() as session:
        assert post_digest(session, desk, digest, now=NOW) is False
    with sf.begin() as session:
        assert session.scalars(select(OutboxMessage)).all() == []


# --- what "breached now" means for a ticket answered late ----------------------------------------


def _answered_late(seeder: Seeder) -> None:
    """Medium, Fri 20 09:00; first response Fri 14:00 (due 13:00: late); claimed. Resolution due
    Tue 24 17:00 (8 + 8 + 8 h), its warning at 18 h: Tue 24 11:00."""
    seeder.open("X", "medium", ny(20, 9))
    seeder.answer("X", ny(20, 14))
    seeder.act("X", ActionKind.CLAIM, ny(20, 14))


def test_a_late_first_response_is_history_not_breached_now(
    sf: SessionFactory, desk: Desk, clock: ManualClock
) -> None:
    """Monday noon, resolution well within its target: nothing about X needs attention now."""
    _answered_late(Seeder(sf, desk, clock))
    with sf.begin() as session:
        digest = build_sla_digest(session, desk, since=SINCE, until=UNTIL, now=ny(23, 12))
    assert digest.breached == [] and digest.at_risk == []
    assert digest.attainment[2] == Attainment("medium", "Medium", 1, 0, 1, 0, 0)


@pytest.mark.parametrize(
    ("now", "breached", "at_risk"),
    [
        # Tuesday noon: the resolution passed its warning (11:00) and is due at 17:00.
        (ny(24, 12), [], [("warning", "Resolution", "in 5h")]),
        # Wednesday 10:00: the resolution was due Tuesday 17:00.
        (ny(25, 10), [("breached", "Resolution", "17h ago")], []),
    ],
    ids=["resolution-at-risk", "resolution-breached"],
)
def test_the_resolution_is_what_is_late_after_a_late_first_response(
    sf: SessionFactory,
    desk: Desk,
    clock: ManualClock,
    now: datetime,
    breached: list[tuple[str, str, str]],
    at_risk: list[tuple[str, str, str]],
) -> None:
    """What the managers must hear about is X's resolution: the first response is history (and
    counted as missed in the attainment). Today the line says "First response breached 3d 23h
    ago" (Tuesday) or "4d 21h ago" (Wednesday), in the breached list both times."""
    seeder = Seeder(sf, desk, clock)
    _answered_late(seeder)
    with sf.begin() as session:
        digest = build_sla_digest(session, desk, since=SINCE, until=UNTIL, now=now)
    x = (seeder.ref("X"),)
    tail = ("Medium", AGENT1)
    assert lines(digest.breached) == [x + line + tail for line in breached]
    assert lines(digest.at_risk) == [x + line + tail for line in at_risk]


# --- the `digest sla` command --------------------------------------------------------------------


def cli_env(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    *,
    api_url: str,
    config: dict[str, Any] | None = None,
    token: str | None = "xoxb-standin",
) -> str:
    """The operator's environment for an in-process `app.main`: a temporary SQLite file, a
    config file, the stand-in as Slack; returns the database URL. No `.env` is read."""
    import app

    path = tmp_path / "supportbot.yml"
    path.write_text(yaml.safe_dump(TEST_CONFIG if config is None else config))
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    for key in list(os.environ):
        if key.startswith("SLACK_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SUPPORTBOT_CONFIG", str(path))
    monkeypatch.setenv("SLACK_API_URL", api_url)
    if token:
        monkeypatch.setenv("SLACK_BOT_TOKEN", token)
    monkeypatch.setattr(app, "load_dotenv", lambda **_: False)
    return url


@contextlib.contextmanager
def cli_database(url: str, clock: ManualClock) -> Iterator[Seeder]:
    """Seed the command's database (migrated by `supportbot migrate`) the same way as above."""
    engine = create_db_engine(url)
    try:
        sf = create_session_factory(engine)
        seeder = Seeder(sf, Desk(parse_config(TEST_CONFIG), clock), clock)
        yield seeder
        settle_outbox(sf)
    finally:
        engine.dispose()


CLI_PERIOD = ["--since", "2026-11-16T14:00:00Z", "--until", "2026-11-23T14:00:00Z"]


@pytest.fixture
def cli_week(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    standin: SlackStandin,
    capsys: pytest.CaptureFixture[str],
) -> str:
    """A migrated database holding one high ticket of the week, answered and resolved in time."""
    import app

    url = cli_env(monkeypatch, tmp_path, api_url=standin.url)
    assert app.main(["migrate"]) == 0
    with cli_database(url, ManualClock(NOW)) as seeder:
        seeder.open("H", "high", ny(18, 10))
        seeder.answer("H", ny(18, 10, 30))
        seeder.act("H", ActionKind.RESOLVE, ny(18, 12))
    capsys.readouterr()
    return url


def test_cli_digest_dry_run_prints_the_summary(
    cli_week: str, standin: SlackStandin, capsys: pytest.CaptureFixture[str]
) -> None:
    import app

    code = app.main(["digest", "sla", "--dry-run", *CLI_PERIOD])
    out = capsys.readouterr()
    assert code == 0, out.err
    printed = out.out
    assert "Mon 16 Nov – Mon 23 Nov 2026" in printed and "1 ticket opened" in printed, printed
    assert re.search(r"first response on time: \*?100%", printed, re.IGNORECASE), printed
    assert re.search(r"resolution on time: \*?100%", printed, re.IGNORECASE), printed
    assert out.err == ""
    assert standin.calls("chat.postMessage") == []


def test_cli_digest_posts_to_the_digests_channel(
    cli_week: str, standin: SlackStandin, capsys: pytest.CaptureFixture[str]
) -> None:
    import app

    code = app.main(["digest", "sla", *CLI_PERIOD])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert out.out.strip() == (
        "SLA digest for 2026-11-16T14:00:00+00:00 – 2026-11-23T14:00:00+00:00 posted"
    )
    posted = [c.args for c in standin.calls("chat.postMessage") if not c.failed]
    assert [p["channel"] for p in posted] == ["C0MGRS"]
    assert posted[0]["text"].startswith("SLA digest, Mon 16 Nov – Mon 23 Nov 2026: 1 ticket opened")


def test_cli_digest_without_a_digests_channel_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    standin: SlackStandin,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import app

    config = {k: v for k, v in TEST_CONFIG.items() if k != "digests"}
    cli_env(monkeypatch, tmp_path, api_url=standin.url, config=config)
    assert app.main(["digest", "sla", *CLI_PERIOD]) == 2
    out = capsys.readouterr()
    lines_ = out.err.strip().splitlines()
    assert len(lines_) == 1 and "no digests channel" in lines_[0], out.err
    assert "Traceback" not in out.err and out.out == ""
    # A dry run needs no channel: it prints the digest instead.
    assert app.main(["digest", "sla", "--dry-run", *CLI_PERIOD]) == 0
    printed = capsys.readouterr().out
    assert "Mon 16 Nov – Mon 23 Nov 2026" in printed and "0 tickets opened" in printed, printed
    assert re.search(r"first response on time: \*?no tickets", printed, re.IGNORECASE), printed
    assert standin.calls("chat.postMessage") == []


def test_cli_digest_refuses_an_empty_period(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    standin: SlackStandin,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import app

    cli_env(monkeypatch, tmp_path, api_url=standin.url)
    since, until = "2026-11-23T14:00:00Z", "2026-11-16T14:00:00Z"
    assert app.main(["digest", "sla", "--dry-run", "--since", since, "--until", until]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --since must be before --until"]
