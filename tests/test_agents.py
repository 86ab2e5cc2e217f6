"""Agents: who counts as one, who is away, and who gets a queue's next ticket (none, round robin,
least loaded)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.config import parse_config
from storage.db import SessionFactory, create_session_factory
from storage.models import AgentStatus, QueueRotation, Ticket
from storage.repositories import AgentRepository, TicketRepository
from tests.conftest import TEST_CONFIG, run_together
from workflows.agents import (
    all_agents,
    is_agent,
    is_away,
    pick_assignee,
    queue_agents,
    refresh_usergroup,
    set_away,
)
from workflows.clock import ManualClock, datetime_to_slack_ts
from workflows.desk import Desk
from workflows.intake import Outcome, SlackMessage, receive_message
from workflows.vocabulary import EventKind, TicketStatus

T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
A1, A2, A3 = "U0AGENT1", "U0AGENT2", "U0AGENT3"


@pytest.fixture
def session_factory(engine: Engine) -> SessionFactory:
    return create_session_factory(engine)


def make_desk(clock: ManualClock, queues: list[dict[str, Any]], **extra: Any) -> Desk:
    clock.set(T0)
    config = parse_config({**TEST_CONFIG, "agents": [A1, A2, A3], "queues": queues, **extra})
    return Desk(config, clock)


def pick(sf: SessionFactory, desk: Desk, queue: str = "general", n: int = 1) -> list[str | None]:
    """`n` picks, each in its own transaction (as each new ticket is)."""
    picked = []
    for i in range(n):
        with sf.begin() as session:
            picked.append(pick_assignee(session, desk, queue, at=T0 + timedelta(minutes=i)))
    return picked


def away(sf: SessionFactory, desk: Desk, user: str, value: bool = True) -> None:
    with sf.begin() as session:
        set_away(session, desk, user, value, at=T0)


def rotation(sf: SessionFactory, queue: str) -> tuple[str | None, datetime] | None:
    with sf.begin() as session:
        row = session.get(QueueRotation, queue)
        return (row.last_agent, row.updated_at) if row else None


def give(sf: SessionFactory, assignee: str, status: str, *, queue: str = "general") -> None:
    """A ticket held by `assignee` (how it got there doesn't matter to the load)."""
    with sf.begin() as session:
        count = len(session.scalars(select(Ticket.id)).all())
        ticket = Ticket(
            source_channel="C0HELP",
            source_ts=f"1763900000.{count:06d}",
            intake_source="message",
            requester="U0REQ1",
            queue=queue,
            status=status,
            priority="medium",
            description="load",
            assignee=assignee,
            created_at=T0,
            updated_at=T0,
        )
        assert TicketRepository(session).add(ticket) is not None


# --- who is an agent ---------------------------------------------------------------------------


def test_agents_are_the_config_list_then_the_usergroup(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    desk = make_desk(clock, [{"name": "tier2", "agents": [A3, A1]}], agent_usergroup="S0AGENTS")
    with session_factory.begin() as session:
        refresh_usergroup(session, desk, "S0AGENTS", ["U0ZED", A2, "U0BEA", "U0BEA"])
        refresh_usergroup(session, desk, "S0OTHER", ["U0OTHER"])
    with session_factory.begin() as session:
        assert all_agents(session, desk) == [A1, A2, A3, "U0BEA", "U0ZED"]
        assert queue_agents(session, desk, "general") == [A1, A2, A3, "U0BEA", "U0ZED"]
        assert queue_agents(session, desk, "tier2") == [A3, A1]
        assert is_agent(session, desk, "U0BEA") and is_agent(session, desk, A1)
        assert not is_agent(session, desk, "U0OTHER")
        assert not is_agent(session, desk, None) and not is_agent(session, desk, "")
        assert not is_agent(session, desk, A1, is_external=True)
        assert not is_agent(session, desk, "U0BEA", is_external=True)

        refresh_usergroup(session, desk, "S0AGENTS", ["U0NEW"])
        assert all_agents(session, desk) == [A1, A2, A3, "U0NEW"]
        assert not is_agent(session, desk, "U0BEA")


def test_without_a_usergroup_its_members_are_not_agents(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    desk = make_desk(clock, [])
    with session_factory.begin() as session:
        refresh_usergroup(session, desk, "S0AGENTS", ["U0BEA"])
        assert not is_agent(session, desk, "U0BEA")
        assert all_agents(session, desk) == [A1, A2, A3]


# --- away --------------------------------------------------------------------------------------


def test_set_away_toggles(session_factory: SessionFactory, clock: ManualClock) -> None:
    desk = make_desk(clock, [])
    with session_factory.begin() as session:
        assert not is_away(session, A1)
        assert session.get(AgentStatus, A1) is None
    with session_factory.begin() as session:
        set_away(session, desk, A1, True, at=T0)
        set_away(session, desk, A2, True, at=T0)
        set_away(session, desk, A2, True, at=T0 + timedelta(minutes=1))  # again: still away
    with session_factory.begin() as session:
        assert is_away(session, A1) and is_away(session, A2) and not is_away(session, A3)
        assert AgentRepository(session).away_users() == {A1, A2}
    with session_factory.begin() as session:
        set_away(session, desk, A1, False, at=T0 + timedelta(hours=1))
    with session_factory.begin() as session:
        assert AgentRepository(session).away_users() == {A2}
        status = session.get(AgentStatus, A1)
        assert status is not None
        assert (status.away, status.updated_at) == (False, T0 + timedelta(hours=1))
        assert len(session.scalars(select(AgentStatus)).all()) == 2


# --- no auto-assignment ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "queues",
    [[], [{"name": "general"}], [{"name": "general", "auto_assign": "none"}]],
    ids=["no-entry", "default", "none"],
)
def test_queues_that_dont_auto_assign_pick_nobody(
    session_factory: SessionFactory, clock: ManualClock, queues: list[dict[str, Any]]
) -> None:
    desk = make_desk(clock, queues)
    assert pick(session_factory, desk, n=2) == [None, None]
    assert rotation(session_factory, "general") is None

    ts = datetime_to_slack_ts(T0)
    with session_factory.begin() as session:
        message = SlackMessage(channel="C0HELP", ts=ts, user="U0REQ1", text="Help")
        result = receive_message(session, desk, message)
        assert result.outcome == Outcome.OPENED and result.ticket_id is not None
        ticket = session.get(Ticket, result.ticket_id)
        assert ticket is not None and (ticket.status, ticket.assignee) == ("open", None)


# --- round robin -------------------------------------------------------------------------------


def test_round_robin_goes_around_the_agents_in_order(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    desk = make_desk(clock, [{"name": "general", "auto_assign": "round-robin"}])
    assert pick(session_factory, desk, n=5) == [A1, A2, A3, A1, A2]
    assert rotation(session_factory, "general") == (A2, T0 + timedelta(minutes=4))


def test_round_robin_hands_out_new_tickets(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    desk = make_desk(clock, [{"name": "general", "auto_assign": "round_robin"}])
    got = []
    for n in range(4):
        opened_at = T0 + timedelta(minutes=n)
        with session_factory.begin() as session:
            message = SlackMessage(
                channel="C0HELP",
                ts=datetime_to_slack_ts(opened_at),
                user="U0REQ1",
                text=f"question {n}",
            )
            result = receive_message(session, desk, message)
            assert result.ticket_id is not None
            ticket = session.get(Ticket, result.ticket_id)
            assert ticket is not None
            assert (ticket.status, ticket.claimed_at) == (TicketStatus.CLAIMED, opened_at)
            [assigned] = [
                e for e in TicketRepository(session).events(ticket.id) if e.kind == "assigned"
            ]
            assert (assigned.kind, assigned.actor, assigned.at) == (
                EventKind.ASSIGNED,
                None,
                opened_at,
            )
            assert assigned.data == {
                "via": "auto_assign",
                "assignee": ticket.assignee,
                "previous": None,
            }
            got.append(ticket.assignee)
    assert got == [A1, A2, A3, A1]
    # Tickets from a channel of another queue don't move this queue's rotation.
    with session_factory.begin() as session:
        message = SlackMessage(channel="C0BILLING", ts="1763900000.000001", user="U0REQ1", text="x")
        result = receive_message(session, desk, message)
        assert result.ticket_id is not None
        ticket = session.get(Ticket, result.ticket_id)
        assert ticket is not None and (ticket.queue, ticket.assignee) == ("billing", None)
    assert pick(session_factory, desk) == [A2]


def test_round_robin_skips_away_agents(session_factory: SessionFactory, clock: ManualClock) -> None:
    desk = make_desk(clock, [{"name": "general", "auto_assign": "round_robin"}])
    away(session_factory, desk, A2)
    assert pick(session_factory, desk, n=4) == [A1, A3, A1, A3]
    away(session_factory, desk, A2, False)
    assert pick(session_factory, desk, n=2) == [A1, A2]
    # The agent whose turn it was last is away now: the turn still moves on from them.
    away(session_factory, desk, A2)
    assert pick(session_factory, desk, n=2) == [A3, A1]


def test_round_robin_follows_a_queues_own_agent_list(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    desk = make_desk(
        clock,
        [
            {"name": "general", "auto_assign": "round_robin"},
            {"name": "tier2", "auto_assign": "round_robin", "agents": [A3, A1]},
        ],
    )
    assert pick(session_factory, desk, "tier2", n=3) == [A3, A1, A3]
    assert pick(session_factory, desk, "general", n=2) == [A1, A2]
    assert pick(session_factory, desk, "tier2") == [A1]
    assert rotation(session_factory, "tier2") is not None
    assert rotation(session_factory, "general") is not None


def test_round_robin_restarts_when_the_last_agent_left_the_list(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    desk = make_desk(clock, [{"name": "general", "auto_assign": "round_robin"}])
    assert pick(session_factory, desk, n=3) == [A1, A2, A3]
    smaller = make_desk(
        clock, [{"name": "general", "auto_assign": "round_robin", "agents": [A2, A1]}]
    )
    assert pick(session_factory, smaller, n=3) == [A2, A1, A2]


def test_round_robin_includes_usergroup_members(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    desk = make_desk(
        clock, [{"name": "general", "auto_assign": "round_robin"}], agent_usergroup="S0AGENTS"
    )
    with session_factory.begin() as session:
        refresh_usergroup(session, desk, "S0AGENTS", ["U0GROUP1"])
    assert pick(session_factory, desk, n=5) == [A1, A2, A3, "U0GROUP1", A1]


def test_two_tickets_arriving_together_go_to_two_agents(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    """The rotation row is locked until commit, even when the queue has no row yet."""
    desk = make_desk(clock, [{"name": "tier2", "auto_assign": "round_robin", "agents": [A1, A2]}])
    for round_ in range(5):
        at = T0 + timedelta(minutes=round_)

        def one_ticket(at: datetime = at) -> str | None:
            with session_factory.begin() as session:
                return pick_assignee(session, desk, "tier2", at=at)

        picked = run_together(one_ticket, one_ticket)
        assert sorted(picked, key=str) == [A1, A2], f"round {round_}: {picked}"


# --- least loaded ------------------------------------------------------------------------------


def test_least_loaded_picks_whoever_holds_the_fewest_active_tickets(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    desk = make_desk(
        clock,
        [
            {"name": "general", "auto_assign": "least_loaded"},
            {"name": "tier2", "auto_assign": "least_loaded", "agents": [A3, A2]},
        ],
    )
    give(session_factory, A1, TicketStatus.CLAIMED)
    give(session_factory, A1, TicketStatus.WAITING_ON_CUSTOMER)
    give(session_factory, A2, TicketStatus.ESCALATED, queue="billing")  # any queue counts
    for done in (TicketStatus.RESOLVED, TicketStatus.RESOLVED, TicketStatus.CLOSED):
        give(session_factory, A2, done)  # finished work doesn't count
    give(session_factory, A3, TicketStatus.CLAIMED)
    # A1: 2, A2: 1, A3: 1 -> A2 and A3 tie; the list order decides.
    assert pick(session_factory, desk) == [A2]
    assert pick(session_factory, desk, "tier2") == [A3]
    away(session_factory, desk, A2)
    assert pick(session_factory, desk) == [A3]
    assert rotation(session_factory, "general") is None, "least-loaded keeps no rotation"


def test_least_loaded_balances_new_tickets(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    desk = make_desk(clock, [{"name": "general", "auto_assign": "least_loaded"}])
    give(session_factory, A2, TicketStatus.CLAIMED)
    got = []
    for n in range(5):
        with session_factory.begin() as session:
            message = SlackMessage(
                channel="C0HELP",
                ts=datetime_to_slack_ts(T0 + timedelta(minutes=n)),
                user="U0REQ1",
                text=f"question {n}",
            )
            result = receive_message(session, desk, message)
            assert result.ticket_id is not None
            ticket = session.get(Ticket, result.ticket_id)
            assert ticket is not None
            got.append(ticket.assignee)
    # Loads (A1, A2, A3): (0,1,0) -> A1; (1,1,0) -> A3; (1,1,1) -> A1; (2,1,1) -> A2; (2,2,1) -> A3
    assert got == [A1, A3, A1, A2, A3]


@pytest.mark.parametrize("mode", ["round_robin", "least_loaded"])
def test_everyone_away_means_nobody(
    session_factory: SessionFactory, clock: ManualClock, mode: str
) -> None:
    desk = make_desk(
        clock,
        [
            {"name": "general", "auto_assign": mode},
            {"name": "tier2", "auto_assign": mode, "agents": [A3]},
        ],
    )
    for agent in (A1, A2, A3):
        away(session_factory, desk, agent)
    assert pick(session_factory, desk, n=2) == [None, None]
    assert pick(session_factory, desk, "tier2") == [None]
    away(session_factory, desk, A3, False)
    assert pick(session_factory, desk, n=2) == [A3, A3]
    assert pick(session_factory, desk, "tier2") == [A3]
    with session_factory.begin() as session:
        message = SlackMessage(channel="C0HELP", ts="1763900000.000001", user="U0REQ1", text="x")
        receive_message(session, desk, message)
    away(session_factory, desk, A3)
    with session_factory.begin() as session:
        message = SlackMessage(channel="C0HELP", ts="1763900000.000002", user="U0REQ1", text="y")
        result = receive_message(session, desk, message)
        assert result.ticket_id is not None
        ticket = session.get(Ticket, result.ticket_id)
        assert ticket is not None and (ticket.status, ticket.assignee) == ("open", None)
