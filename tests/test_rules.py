"""Routing rules: what each test matches, the order rules run in, what their actions do to the
ticket (attributes, queue, tags, assignment, channel notices) and what they leave alone."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.config import ConfigInvalid, DeskConfig, Rule, parse_config
from bot.delivery import DeliveryHooks
from storage.db import SessionFactory, create_session_factory
from storage.models import OutboxMessage, Ticket, TicketTag
from storage.repositories import TicketRepository
from templates.cards import build_ticket_card
from tests.conftest import TEST_CONFIG
from workflows.clock import ManualClock, datetime_to_slack_ts
from workflows.delivery import Purpose
from workflows.desk import Desk
from workflows.intake import (
    IntakeRequest,
    Outcome,
    SlackMessage,
    edit_message,
    open_from_modal,
    receive_message,
)
from workflows.rules import (
    MAX_TAGS,
    add_tags,
    apply_rules,
    normalize_tag,
    route_ticket,
    rule_matches,
)
from workflows.triage import ActionKind, TicketAction, perform
from workflows.vocabulary import EventKind, IssueType, Priority, TicketStatus, Via

T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
REQUESTER = "U0REQ1"
AGENT1, AGENT2 = "U0AGENT1", "U0AGENT2"


@pytest.fixture
def session_factory(engine: Engine) -> SessionFactory:
    return create_session_factory(engine)


def config_with(**extra: Any) -> DeskConfig:
    return parse_config({**TEST_CONFIG, **extra})


def make_desk(clock: ManualClock, **extra: Any) -> Desk:
    clock.set(T0)
    return Desk(config_with(**extra), clock)


def rule(when: dict[str, Any], then: dict[str, Any] | None = None) -> Rule:
    """One rule, validated as the config file's would be."""
    return config_with(rules=[{"if": when, "then": then or {"priority": "urgent"}}]).rules[0]


def open_ticket(
    sf: SessionFactory,
    desk: Desk,
    text: str = "The export fails",
    *,
    channel: str = "C0HELP",
    when: datetime = T0,
    is_external: bool = False,
) -> int:
    message = SlackMessage(
        channel=channel,
        ts=datetime_to_slack_ts(when),
        user=REQUESTER,
        text=text,
        is_external=is_external,
    )
    with sf.begin() as session:
        result = receive_message(session, desk, message)
    assert result.outcome == Outcome.OPENED and result.ticket_id is not None
    return result.ticket_id


@contextmanager
def ticket_in(sf: SessionFactory, ticket_id: int) -> Iterator[tuple[Session, Ticket]]:
    with sf.begin() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        yield session, ticket


def rule_events(sf: SessionFactory, ticket_id: int) -> list[dict[str, Any]]:
    with sf.begin() as session:
        return [
            e.data
            for e in TicketRepository(session).events(ticket_id)
            if e.kind == EventKind.RULE_APPLIED
        ]


def outbox(sf: SessionFactory, purpose: str) -> list[tuple[int | None, dict[str, Any]]]:
    with sf.begin() as session:
        rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.purpose == purpose).order_by(OutboxMessage.id)
        ).all()
        return [(r.ticket_id, r.payload) for r in rows]


def tags_of(sf: SessionFactory, ticket_id: int) -> list[str]:
    with sf.begin() as session:
        return list(
            session.scalars(
                select(TicketTag.tag)
                .where(TicketTag.ticket_id == ticket_id)
                .order_by(TicketTag.tag)
            )
        )


# --- what a rule tests -------------------------------------------------------------------------


@pytest.fixture
def plain(session_factory: SessionFactory, clock: ManualClock) -> tuple[Desk, int]:
    """A desk without rules and one ticket in #help, to test conditions against."""
    desk = make_desk(clock)
    return desk, open_ticket(session_factory, desk, "Our OUTAGE started at noon; can't log in.")


def matches(
    sf: SessionFactory, desk: Desk, ticket_id: int, when: dict[str, Any], **set_: Any
) -> bool:
    with ticket_in(sf, ticket_id) as (session, ticket):
        for key, value in set_.items():
            setattr(ticket, key, value)
        session.flush()
        return rule_matches(rule(when), ticket, desk)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ({"priority": "high"}, True),
        ({"priority": "High"}, True),  # values compare without case
        ({"priority": "urgent"}, False),
        ({"priority": ["low", "high"]}, True),  # a list: any of them
        ({"priority": {"in": ["urgent", "low"]}}, False),
        ({"priority": {"eq": "high"}}, True),
        ({"issue_type": "technical_issue"}, True),
        ({"issue_type": ["question", "feature_request"]}, False),
        ({"queue": "general"}, True),
        ({"queue": "billing"}, False),
        ({"channel": "C0HELP"}, True),
        ({"product": "billing"}, True),
        ({"product": "API"}, False),
        ({"internal_priority": "critical"}, True),
        ({"support_type": "quick fix"}, True),
        ({"client_priority": "At risk"}, False),  # not set on the ticket
        ({"customer": "Acme Corp"}, False),  # #help belongs to no customer
        ({"tier": "enterprise"}, False),
        ({"priority": "high", "issue_type": "technical_issue"}, True),  # every test must hold
        ({"priority": "high", "issue_type": "question"}, False),
    ],
)
def test_attribute_tests(
    session_factory: SessionFactory, plain: tuple[Desk, int], when: dict[str, Any], expected: bool
) -> None:
    desk, ticket_id = plain
    attributes = {
        "priority": "high",
        "issue_type": "technical_issue",
        "product": "Billing",
        "internal_priority": "Critical",
        "support_type": "Quick fix",
    }
    assert matches(session_factory, desk, ticket_id, when, **attributes) is expected


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("outage", True),  # any case
        (["down", "Outage"], True),  # any of them
        ("can't log in", True),  # a phrase
        ("log in", True),
        ("out", False),  # whole words only: not inside "OUTAGE"
        ("outages", False),
        ("noon;", True),  # punctuation is matched as written
        ("started at", True),
        ("login", False),
        ("", None),  # refused by the config
    ],
)
def test_text_tests_look_for_whole_words(
    session_factory: SessionFactory,
    plain: tuple[Desk, int],
    words: str | list[str],
    expected: bool | None,
) -> None:
    desk, ticket_id = plain
    if expected is None:
        with pytest.raises(ConfigInvalid, match="must not be empty"):
            rule({"text": words})
        return
    assert matches(session_factory, desk, ticket_id, {"text": words}) is expected


def test_text_with_symbols_is_matched_literally(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    desk = make_desk(clock)
    ticket_id = open_ticket(session_factory, desk, "The C++ SDK (v2.1) crashes")
    assert matches(session_factory, desk, ticket_id, {"text": "C++"})
    assert matches(session_factory, desk, ticket_id, {"text": "v2.1"})
    assert matches(session_factory, desk, ticket_id, {"text": "sdk"})
    assert not matches(session_factory, desk, ticket_id, {"text": "SD"})
    assert not matches(session_factory, desk, ticket_id, {"text": "c.."})


def test_tier_comes_from_the_customer_channel(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    desk = make_desk(clock)
    acme = open_ticket(session_factory, desk, "Help", channel="C0ACME", is_external=True)
    with ticket_in(session_factory, acme) as (_, ticket):
        assert (ticket.customer, ticket.customer_tier) == ("Acme Corp", "enterprise")
    assert matches(session_factory, desk, acme, {"tier": "Enterprise"})
    assert matches(session_factory, desk, acme, {"customer": "acme corp"})
    assert not matches(session_factory, desk, acme, {"tier": "standard"})
    # A ticket that only knows its customer gets the tier from that customer's channel entry.
    assert matches(session_factory, desk, acme, {"tier": "enterprise"}, customer_tier=None)
    unknown = {"customer": "Globex", "customer_tier": None}
    assert not matches(session_factory, desk, acme, {"tier": "enterprise"}, **unknown)


def test_department_and_tag_tests_are_set_tests(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    desk = make_desk(clock)
    ticket_id = open_ticket(session_factory, desk)
    with ticket_in(session_factory, ticket_id) as (session, ticket):
        ticket.departments = ["Sales", "Customer success"]
        add_tags(session, ticket, ["billing-export", "VIP"])
    assert matches(session_factory, desk, ticket_id, {"department": "customer success"})
    assert matches(session_factory, desk, ticket_id, {"department": ["Engineering", "Sales"]})
    assert not matches(session_factory, desk, ticket_id, {"department": "Engineering"})
    assert matches(session_factory, desk, ticket_id, {"tag": "vip"})
    assert matches(session_factory, desk, ticket_id, {"tag": ["outage", "billing-export"]})
    assert not matches(session_factory, desk, ticket_id, {"tag": "outage"})
    assert not matches(session_factory, desk, ticket_id, {"department": "sales"}, departments=[])


def test_external_test(session_factory: SessionFactory, clock: ManualClock) -> None:
    desk = make_desk(clock)
    inside = open_ticket(session_factory, desk, when=T0)
    outside = open_ticket(session_factory, desk, when=T0 + timedelta(seconds=1), is_external=True)
    assert matches(session_factory, desk, outside, {"external": True})
    assert not matches(session_factory, desk, outside, {"external": False})
    assert matches(session_factory, desk, inside, {"external": False})
    assert matches(session_factory, desk, inside, {"external": "false"})
    assert not matches(session_factory, desk, inside, {"external": True})


def test_a_tag_test_matches_the_tag_an_action_added_in_the_same_spelling(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    desk = make_desk(
        clock,
        rules=[
            {"if": {"text": "invoice"}, "then": {"tags": ["Billing Export"]}},
            {"if": {"tag": "Billing Export"}, "then": {"queue": "billing"}},
        ],
    )
    ticket_id = open_ticket(session_factory, desk, "Invoice export fails")
    assert tags_of(session_factory, ticket_id) == ["billing-export"]
    with ticket_in(session_factory, ticket_id) as (_, ticket):
        assert ticket.queue == "billing"


# --- apply_rules -------------------------------------------------------------------------------


def test_rules_run_in_order_and_see_earlier_changes(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    first = {"if": {"text": "outage"}, "then": {"priority": "high"}}
    second = {"if": {"priority": "high"}, "then": {"queue": "tier2", "tags": ["Escalated"]}}
    desk = make_desk(clock, rules=[first, second])

    ticket_id = open_ticket(session_factory, desk, "Full outage here")

    with ticket_in(session_factory, ticket_id) as (_, ticket):
        assert (ticket.priority, ticket.queue) == (Priority.HIGH, "tier2")
        assert ticket.updated_at == T0
    assert tags_of(session_factory, ticket_id) == ["escalated"]
    assert rule_events(session_factory, ticket_id) == [
        {"rule": 0, "changes": {"priority": {"from": "medium", "to": "high"}}, "notified": []},
        {
            "rule": 1,
            "changes": {"queue": {"from": "general", "to": "tier2"}, "tags": ["escalated"]},
            "notified": [],
        },
    ]

    # The other way round, the second rule has already had its turn when the first one matches.
    reversed_desk = make_desk(clock, rules=[second, first])
    other = open_ticket(session_factory, reversed_desk, "Outage again", when=T0 + timedelta(1))
    with ticket_in(session_factory, other) as (_, ticket):
        assert (ticket.priority, ticket.queue) == (Priority.HIGH, "general")
    assert [e["rule"] for e in rule_events(session_factory, other)] == [1]


def test_set_actions_change_the_tickets_attributes(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    then = {
        "priority": "Low",
        "issue_type": "question",
        "internal_priority": "High",
        "support_type": "Resource building",
        "client_priority": "At risk",
        "product": "API",
        "queue": "billing",
    }
    desk = make_desk(clock, rules=[{"if": {"text": "how"}, "then": then}])
    ticket_id = open_ticket(session_factory, desk, "How do I rotate my API key?")
    with ticket_in(session_factory, ticket_id) as (_, ticket):
        got = {key: getattr(ticket, key) for key in then}
        assert ticket.status == TicketStatus.OPEN
    assert got == {**then, "priority": "low"}
    [event] = rule_events(session_factory, ticket_id)
    assert event["changes"]["priority"] == {"from": "medium", "to": "low"}
    assert event["changes"]["issue_type"] == {"from": None, "to": "question"}
    assert set(event["changes"]) == set(then)


def test_a_rule_that_changes_nothing_is_not_logged(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    desk = make_desk(clock, rules=[{"if": {"queue": "general"}, "then": {"queue": "general"}}])
    ticket_id = open_ticket(session_factory, desk)
    assert rule_events(session_factory, ticket_id) == []
    with ticket_in(session_factory, ticket_id) as (session, ticket):
        assert apply_rules(session, desk, ticket, at=T0) == []


def test_tags_are_normalized_and_added_once(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    tags = ["Billing Export", "billing-export", "  VIP! ", "Q3/Renewal", "!!!"]
    desk = make_desk(clock, rules=[{"if": {"text": "invoice"}, "then": {"tags": tags}}])
    ticket_id = open_ticket(session_factory, desk, "Invoice is wrong")
    assert tags_of(session_factory, ticket_id) == ["billing-export", "q3/renewal", "vip"]
    [event] = rule_events(session_factory, ticket_id)
    assert event["changes"] == {"tags": ["billing-export", "vip", "q3/renewal"]}


@pytest.mark.parametrize(
    ("raw", "tag"),
    [
        ("Billing Export", "billing-export"),
        ("  lots   of   space ", "lots-of-space"),
        ("VIP!", "vip"),
        ("v2.1+beta/rc", "v2.1+beta/rc"),
        ("Ünïcode Wörds", "ünïcode-wörds"),
        ("---edge---", "edge"),
        ("!!!", ""),
        ("x" * 100, "x" * 64),
    ],
)
def test_normalize_tag(raw: str, tag: str) -> None:
    assert normalize_tag(raw) == tag


def test_add_tags_stops_at_the_limit(session_factory: SessionFactory, clock: ManualClock) -> None:
    desk = make_desk(clock)
    ticket_id = open_ticket(session_factory, desk)
    with ticket_in(session_factory, ticket_id) as (session, ticket):
        added = add_tags(session, ticket, [f"tag {n}" for n in range(MAX_TAGS + 5)])
        assert len(added) == MAX_TAGS
        assert add_tags(session, ticket, ["one more"]) == []
        session.flush()
    assert len(tags_of(session_factory, ticket_id)) == MAX_TAGS


def test_assign_action_gives_the_ticket_to_that_agent(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    rules = [
        {"if": {"text": "invoice"}, "then": {"assign": AGENT2}},
        {"if": {"text": "invoice"}, "then": {"assign": AGENT1}},  # already assigned: skipped
    ]
    desk = make_desk(clock, rules=rules)
    ticket_id = open_ticket(session_factory, desk, "Invoice is wrong")
    with ticket_in(session_factory, ticket_id) as (session, ticket):
        assert (ticket.status, ticket.assignee, ticket.claimed_at) == ("claimed", AGENT2, T0)
        assigned = [
            (e.actor, e.data)
            for e in TicketRepository(session).events(ticket_id)
            if e.kind == EventKind.ASSIGNED
        ]
    assert assigned == [(None, {"via": "rule", "assignee": AGENT2, "previous": None})]
    assert [e["rule"] for e in rule_events(session_factory, ticket_id)] == [0]
    assert rule_events(session_factory, ticket_id)[0]["changes"] == {"assignee": AGENT2}
    assert outbox(session_factory, Purpose.THREAD_NOTICE) == [
        (ticket_id, {"_notice": "assigned", "_data": {"assignee": AGENT2}})
    ]


def test_assign_auto_uses_the_queues_rotation_once(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    desk = make_desk(
        clock,
        queues=[{"name": "tier2", "auto_assign": "round_robin", "agents": [AGENT2, AGENT1]}],
        rules=[{"if": {"text": "outage"}, "then": {"queue": "tier2", "assign": "auto"}}],
    )
    first = open_ticket(session_factory, desk, "outage one", when=T0)
    second = open_ticket(session_factory, desk, "outage two", when=T0 + timedelta(seconds=1))
    third = open_ticket(session_factory, desk, "a question", when=T0 + timedelta(seconds=2))

    assignees = {}
    for ticket_id in (first, second, third):
        with ticket_in(session_factory, ticket_id) as (_, ticket):
            assignees[ticket_id] = (ticket.queue, ticket.assignee)
    # The rule's `auto` took the rotation's next agent; routing's own auto-assignment then found
    # the ticket taken and didn't move the rotation again. #help's queue doesn't auto-assign.
    assert assignees == {
        first: ("tier2", AGENT2),
        second: ("tier2", AGENT1),
        third: ("general", None),
    }
    assert rule_events(session_factory, first)[0]["changes"] == {
        "queue": {"from": "general", "to": "tier2"},
        "assignee": AGENT2,
    }


def test_assign_auto_in_a_queue_without_auto_assignment_does_nothing(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    desk = make_desk(clock, rules=[{"if": {"text": "outage"}, "then": {"assign": "auto"}}])
    ticket_id = open_ticket(session_factory, desk, "outage")
    with ticket_in(session_factory, ticket_id) as (_, ticket):
        assert (ticket.status, ticket.assignee) == ("open", None)
    assert rule_events(session_factory, ticket_id) == []


def test_notify_posts_once_per_ticket_even_when_rules_run_again(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    rules = [
        {"if": {"text": "outage"}, "then": {"notify": ["C0TIER2", "C0ONCALL"]}},
        {"if": {"text": "billing"}, "then": {"notify": "C0BILL", "priority": "high"}},
    ]
    desk = make_desk(clock, rules=rules)
    ts = datetime_to_slack_ts(T0)
    ticket_id = open_ticket(session_factory, desk, "Outage!")
    assert outbox(session_factory, Purpose.CHANNEL_NOTICE) == [
        (ticket_id, {"channel": "C0TIER2", "_notice": "rule_matched", "_data": {}}),
        (ticket_id, {"channel": "C0ONCALL", "_notice": "rule_matched", "_data": {}}),
    ]
    assert rule_events(session_factory, ticket_id) == [
        {"rule": 0, "changes": {}, "notified": ["C0TIER2", "C0ONCALL"]}
    ]

    # The requester edits the message (twice): rules run again, the channels aren't told again,
    # but a rule that now matches for the first time notifies its channel.
    for n, text in enumerate(["Outage! Billing is down too", "Outage, billing down, help"]):
        with session_factory.begin() as session:
            result = edit_message(
                session,
                desk,
                channel="C0HELP",
                ts=ts,
                text=text,
                edited_at=T0 + timedelta(minutes=n + 1),
            )
        assert result.outcome == Outcome.UPDATED
    notices = outbox(session_factory, Purpose.CHANNEL_NOTICE)
    assert [payload["channel"] for _, payload in notices] == ["C0TIER2", "C0ONCALL", "C0BILL"]
    assert [e["rule"] for e in rule_events(session_factory, ticket_id)] == [0, 1]

    # What the channel gets: a summary of the ticket as it is when sent.
    with session_factory.begin() as session:
        row = session.scalars(
            select(OutboxMessage).where(OutboxMessage.purpose == Purpose.CHANNEL_NOTICE)
        ).first()
        assert row is not None
        call = DeliveryHooks(desk.config, desk.clock).prepare(session, row)
    assert call is not None and call.payload["channel"] == "C0TIER2"
    assert f"#{ticket_id}" in call.payload["text"] and "High priority" in call.payload["text"]


def test_route_ticket_leaves_resolved_and_closed_tickets_alone(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    desk = make_desk(
        clock,
        queues=[{"name": "general", "auto_assign": "round_robin"}],
        rules=[{"if": {"text": "outage"}, "then": {"priority": "urgent", "notify": "C0TIER2"}}],
    )
    ticket_id = open_ticket(session_factory, desk, "nothing yet")
    with session_factory.begin() as session:
        action = TicketAction(
            kind=ActionKind.RESOLVE, ticket_id=ticket_id, actor=AGENT2, at=T0, via=Via.BUTTON
        )
        assert perform(session, desk, action).done

    for status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        with ticket_in(session_factory, ticket_id) as (session, ticket):
            ticket.status = status
            ticket.description = "now an outage"
            before = {a.key: getattr(ticket, a.key) for a in Ticket.__mapper__.column_attrs}
            events_before = len(TicketRepository(session).events(ticket_id))
            assert route_ticket(session, desk, ticket, at=T0 + timedelta(hours=1)) == []
            after = {a.key: getattr(ticket, a.key) for a in Ticket.__mapper__.column_attrs}
            assert after == before
            assert len(TicketRepository(session).events(ticket_id)) == events_before
    assert outbox(session_factory, Purpose.CHANNEL_NOTICE) == []


def test_the_issues_example_rule(session_factory: SessionFactory, clock: ManualClock) -> None:
    """`{if: {issue_type: technical_issue, priority: high},
    then: {priority: urgent, queue: tier2, notify: C0TIER2}}`"""
    example = {
        "if": {"issue_type": "technical_issue", "priority": "high"},
        "then": {"priority": "urgent", "queue": "tier2", "notify": "C0TIER2"},
    }
    desk = make_desk(clock, rules=[example])

    def submit(issue_type: IssueType, priority: Priority) -> int:
        request = IntakeRequest(
            requester=REQUESTER,
            channel="C0HELP",
            issue_type=issue_type,
            priority=priority,
            description="Checkout returns 500 for everyone",
            users_affected=5000,
            site_down=True,
        )
        with session_factory.begin() as session:
            result = open_from_modal(session, desk, request)
        assert result.ticket_id is not None
        return result.ticket_id

    hit = submit(IssueType.TECHNICAL_ISSUE, Priority.HIGH)
    with ticket_in(session_factory, hit) as (_, ticket):
        assert (ticket.priority, ticket.queue, ticket.issue_type) == (
            "urgent",
            "tier2",
            "technical_issue",
        )
    assert rule_events(session_factory, hit) == [
        {
            "rule": 0,
            "changes": {
                "priority": {"from": "high", "to": "urgent"},
                "queue": {"from": "general", "to": "tier2"},
            },
            "notified": ["C0TIER2"],
        }
    ]
    assert outbox(session_factory, Purpose.CHANNEL_NOTICE) == [
        (hit, {"channel": "C0TIER2", "_notice": "rule_matched", "_data": {}})
    ]

    for issue_type, priority in [
        (IssueType.TECHNICAL_ISSUE, Priority.MEDIUM),
        (IssueType.QUESTION, Priority.HIGH),
    ]:
        miss = submit(issue_type, priority)
        with ticket_in(session_factory, miss) as (_, ticket):
            assert (ticket.priority, ticket.queue) == (priority, "general")
        assert rule_events(session_factory, miss) == []
    assert len(outbox(session_factory, Purpose.CHANNEL_NOTICE)) == 1


def test_the_example_files_enterprise_outage_rule(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    desk = make_desk(
        clock,
        rules=[
            {
                "if": {"tier": "enterprise", "text": ["outage", "down", "can't log in"]},
                "then": {"priority": "urgent", "tags": ["outage"]},
            }
        ],
    )
    acme = open_ticket(
        session_factory, desk, "We CAN'T LOG IN at all", channel="C0ACME", is_external=True
    )
    calm = open_ticket(
        session_factory,
        desk,
        "Question about SSO",
        channel="C0ACME",
        is_external=True,
        when=T0 + timedelta(1),
    )
    help_ = open_ticket(session_factory, desk, "Site is down", when=T0 + timedelta(2))
    with ticket_in(session_factory, acme) as (_, ticket):
        assert ticket.priority == "urgent"
    assert tags_of(session_factory, acme) == ["outage"]
    for other in (calm, help_):
        with ticket_in(session_factory, other) as (_, ticket):
            assert ticket.priority == "medium"
        assert tags_of(session_factory, other) == []


def test_a_rules_issue_type_in_other_case_still_renders_the_card(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    desk = make_desk(
        clock, rules=[{"if": {"text": "crash"}, "then": {"issue_type": "Technical_Issue"}}]
    )
    ticket_id = open_ticket(session_factory, desk, "The app crash again")
    with ticket_in(session_factory, ticket_id) as (_, ticket):
        assert ticket.issue_type == IssueType.TECHNICAL_ISSUE
        card = build_ticket_card(ticket, desk.config, show_description=True)
    assert "Technical issue" in str(card)
