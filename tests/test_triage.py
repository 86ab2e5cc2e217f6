"""Working a ticket, straight on the database: every transition of `workflows.triage`, its guards,
what it logs and what it owes Slack (outbox rows), the requester's replies, the reopen window, the
closing job, follow-up tickets, first responses, and two agents claiming the same ticket at once.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm.attributes import set_committed_value

from bot.config import parse_config
from bot.delivery import DeliveryHooks, as_sent
from storage.db import SessionFactory, create_session_factory
from storage.models import OutboxMessage, Ticket, TicketMessage
from storage.repositories import EscalationRepository, TicketRepository
from tests.conftest import TEST_CONFIG, as_told, run_together
from workflows.agents import is_agent, refresh_usergroup
from workflows.clock import ManualClock, datetime_to_slack_ts
from workflows.delivery import Purpose
from workflows.desk import Desk
from workflows.escalation import EscalationAnswers, escalate
from workflows.intake import IntakeResult, Outcome, SlackMessage, receive_message
from workflows.triage import (
    ActionKind,
    ActionResult,
    Refusal,
    TicketAction,
    auto_assign,
    close_expired,
    perform,
    react,
    within_reopen_window,
)
from workflows.vocabulary import EventKind, TicketStatus, Via

T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # a Monday afternoon; the desk's clock stays here
WINDOW = timedelta(days=7)  # the default reopen window
REQUESTER = "U0REQ1"
AGENT1, AGENT2 = "U0AGENT1", "U0AGENT2"
NOT_AGENT = "U0BOB"
CHANNEL = "C0HELP"


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


RESOLVED_AT = minutes(20)


# --- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture
def session_factory(engine: Engine) -> SessionFactory:
    return create_session_factory(engine)


@pytest.fixture
def desk(desk_config: Any, clock: ManualClock) -> Desk:
    """The workflows' desk (not the HTTP one of conftest): TEST_CONFIG and a clock at T0."""
    clock.set(T0)
    return Desk(desk_config, clock)


def open_ticket(
    sf: SessionFactory, desk: Desk, *, when: datetime = T0, text: str = "The export fails"
) -> tuple[int, str]:
    """A requester's message in the help channel; returns the ticket id and the thread's ts."""
    ts = datetime_to_slack_ts(when)
    with sf.begin() as session:
        result = receive_message(
            session, desk, SlackMessage(channel=CHANNEL, ts=ts, user=REQUESTER, text=text)
        )
    assert result.outcome == Outcome.OPENED and result.ticket_id is not None
    return result.ticket_id, ts


def deliver(sf: SessionFactory) -> None:
    """What the dispatcher leaves behind once it has sent everything owed: every row sent, and
    each posted card's place recorded on its ticket (later changes then owe a `chat.update`)."""
    with sf.begin() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == "pending")
            .order_by(OutboxMessage.id)
        ).all()
        for row in rows:
            row.status = "sent"
            row.sent_at = T0
            if row.purpose == Purpose.TICKET_CARD:
                ticket = session.get(Ticket, row.ticket_id)
                assert ticket is not None
                ticket.card_channel = CHANNEL
                ticket.card_ts = datetime_to_slack_ts(ticket.created_at + timedelta(seconds=1))


def act(
    sf: SessionFactory,
    desk: Desk,
    kind: ActionKind,
    ticket_id: int,
    actor: str,
    when: datetime,
    **extra: Any,
) -> ActionResult:
    """An agent presses a button on the ticket's card (answers go to the actor, in the thread)."""
    with sf.begin() as session:
        ticket = session.get(Ticket, ticket_id)
        action = TicketAction(
            kind=kind,
            ticket_id=ticket_id,
            actor=actor,
            at=when,
            via=Via.BUTTON,
            reply_channel=CHANNEL,
            reply_thread_ts=ticket.thread_ts if ticket else None,
        )
        return perform(session, desk, replace(action, **extra))


def reply(
    sf: SessionFactory,
    desk: Desk,
    thread_ts: str,
    when: datetime,
    *,
    user: str = REQUESTER,
    text: str = "Any news?",
    is_external: bool = False,
) -> IntakeResult:
    """A message in a ticket's thread, as the message event describes it."""
    message = SlackMessage(
        channel=CHANNEL,
        ts=datetime_to_slack_ts(when),
        user=user,
        text=text,
        thread_ts=thread_ts,
        is_external=is_external,
    )
    with sf.begin() as session:
        return receive_message(session, desk, message)


def load(sf: SessionFactory, ticket_id: int) -> Ticket:
    with sf.begin() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket


def events(sf: SessionFactory, ticket_id: int) -> list[tuple[str, str | None, datetime, dict]]:
    with sf.begin() as session:
        return [
            (e.kind, e.actor, e.at, e.data) for e in TicketRepository(session).events(ticket_id)
        ]


def last_row_id(sf: SessionFactory) -> int:
    with sf.begin() as session:
        ids = session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id.desc())).first()
        return ids or 0


def rows_after(sf: SessionFactory, row_id: int) -> list[tuple[Any, ...]]:
    """Outbox rows written after `row_id`: (method, purpose, ticket_id, payload, coalesce_key)."""
    with sf.begin() as session:
        rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.id > row_id).order_by(OutboxMessage.id)
        ).all()
        return [
            (r.method, r.purpose, r.ticket_id, as_sent(r.payload), r.coalesce_key) for r in rows
        ]


def snapshot(sf: SessionFactory, ticket_id: int) -> dict[str, Any]:
    """Everything a refused action must leave alone: every column, the log and the outbox."""
    with sf.begin() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        columns = {attr.key: getattr(ticket, attr.key) for attr in Ticket.__mapper__.column_attrs}
        log = [(e.kind, e.at) for e in TicketRepository(session).events(ticket_id)]
        messages = session.scalars(
            select(TicketMessage.ts).where(TicketMessage.ticket_id == ticket_id)
        ).all()
        return {"ticket": columns, "events": log, "messages": list(messages)}


def notice(payload: dict[str, Any]) -> dict[str, Any]:
    """A refusal notice's payload without its wording (checked separately)."""
    return {key: value for key, value in payload.items() if key != "text"}


def claimed_ticket(sf: SessionFactory, desk: Desk, *, by: str = AGENT1) -> tuple[int, str]:
    ticket_id, ts = open_ticket(sf, desk)
    deliver(sf)
    assert act(sf, desk, ActionKind.CLAIM, ticket_id, by, minutes(5)).done
    deliver(sf)
    return ticket_id, ts


def resolved_ticket(
    sf: SessionFactory, desk: Desk, *, when: datetime = RESOLVED_AT
) -> tuple[int, str]:
    ticket_id, ts = claimed_ticket(sf, desk)
    assert act(sf, desk, ActionKind.RESOLVE, ticket_id, AGENT1, when).done
    deliver(sf)
    return ticket_id, ts


# --- claim -------------------------------------------------------------------------------------


def test_claim_takes_an_open_ticket_logs_it_and_tells_the_thread(
    session_factory: SessionFactory, desk: Desk
) -> None:
    ticket_id, ts = open_ticket(session_factory, desk)
    deliver(session_factory)
    mark = last_row_id(session_factory)

    result = act(session_factory, desk, ActionKind.CLAIM, ticket_id, AGENT1, minutes(5))

    assert result == ActionResult(True, ticket_id)
    ticket = load(session_factory, ticket_id)
    assert (ticket.status, ticket.assignee) == (TicketStatus.CLAIMED, AGENT1)
    # The action's own time, not the desk's clock (T0) nor the ticket's creation.
    assert (ticket.claimed_at, ticket.updated_at) == (minutes(5), minutes(5))
    assert ticket.first_response_at is None, "a claim is not a response the requester sees"
    assert events(session_factory, ticket_id)[-1] == (
        EventKind.CLAIMED,
        AGENT1,
        minutes(5),
        {"via": "button"},
    )
    card_key = f"card:{ticket_id}"
    assert rows_after(session_factory, mark) == [
        (
            "chat.postMessage",
            Purpose.THREAD_NOTICE,
            ticket_id,
            {"_notice": "claimed", "_data": {"actor": AGENT1}},
            None,
        ),
        ("chat.update", Purpose.CARD_UPDATE, ticket_id, {}, card_key),
    ]
    # Sent as: a message in the requester's thread naming the agent.
    with session_factory.begin() as session:
        row = session.scalars(
            select(OutboxMessage).where(OutboxMessage.purpose == Purpose.THREAD_NOTICE)
        ).one()
        call = DeliveryHooks(desk.config, desk.clock).prepare(session, row)
    assert call is not None and call.method == "chat.postMessage"
    assert (call.payload["channel"], call.payload["thread_ts"]) == (CHANNEL, ts)
    assert f"<@{AGENT1}>" in call.payload["text"] and f"#{ticket_id}" in call.payload["text"]


def test_claim_of_a_claimed_ticket_by_another_agent_is_refused_privately(
    session_factory: SessionFactory, desk: Desk
) -> None:
    ticket_id, ts = claimed_ticket(session_factory, desk, by=AGENT1)
    before = snapshot(session_factory, ticket_id)
    mark = last_row_id(session_factory)

    result = act(session_factory, desk, ActionKind.CLAIM, ticket_id, AGENT2, minutes(6))

    assert result == ActionResult(False, ticket_id, Refusal.ALREADY_CLAIMED)
    assert snapshot(session_factory, ticket_id) == before
    [row] = rows_after(session_factory, mark)
    method, purpose, row_ticket, payload, key = row
    assert (method, purpose, row_ticket, key) == ("chat.postEphemeral", Purpose.NOTICE, None, None)
    assert notice(payload) == {"channel": CHANNEL, "user": AGENT2, "thread_ts": ts}
    assert f"<@{AGENT1}>" in payload["text"] and "already claimed" in payload["text"]


def test_claiming_twice_by_the_same_agent_is_a_quiet_no_op(
    session_factory: SessionFactory, desk: Desk
) -> None:
    ticket_id, _ = claimed_ticket(session_factory, desk, by=AGENT1)
    before = snapshot(session_factory, ticket_id)
    mark = last_row_id(session_factory)

    result = act(session_factory, desk, ActionKind.CLAIM, ticket_id, AGENT1, minutes(9))

    assert result == ActionResult(True, ticket_id)
    assert snapshot(session_factory, ticket_id) == before  # claimed_at is still minutes(5)
    assert rows_after(session_factory, mark) == []


@pytest.mark.parametrize("kind", [ActionKind.CLAIM, ActionKind.RESOLVE, ActionKind.WAIT])
@pytest.mark.parametrize(
    ("actor", "external", "refusal"),
    [
        (NOT_AGENT, False, Refusal.NOT_AGENT),
        # A listed agent's ID acting from another workspace is never an agent.
        (AGENT1, True, Refusal.EXTERNAL),
        (NOT_AGENT, True, Refusal.EXTERNAL),
    ],
)
def test_non_agents_and_external_users_change_nothing(
    session_factory: SessionFactory,
    desk: Desk,
    kind: ActionKind,
    actor: str,
    external: bool,
    refusal: Refusal,
) -> None:
    ticket_id, ts = open_ticket(session_factory, desk)
    before = snapshot(session_factory, ticket_id)
    mark = last_row_id(session_factory)

    result = act(
        session_factory, desk, kind, ticket_id, actor, minutes(5), actor_is_external=external
    )

    assert result == ActionResult(False, ticket_id, refusal)
    assert snapshot(session_factory, ticket_id) == before
    [(method, purpose, _, payload, _)] = rows_after(session_factory, mark)
    assert (method, purpose) == ("chat.postEphemeral", Purpose.NOTICE)
    assert notice(payload) == {"channel": CHANNEL, "user": actor, "thread_ts": ts}


def test_action_on_a_missing_ticket_is_refused(session_factory: SessionFactory, desk: Desk) -> None:
    mark = last_row_id(session_factory)
    result = act(session_factory, desk, ActionKind.CLAIM, 999_999, AGENT1, minutes(5))
    assert result == ActionResult(False, None, Refusal.NO_TICKET)
    [(method, _, _, payload, _)] = rows_after(session_factory, mark)
    assert method == "chat.postEphemeral" and "#999999" in payload["text"]


def test_action_from_app_home_answers_by_dm_and_refreshes_the_home(
    session_factory: SessionFactory, desk: Desk
) -> None:
    """No channel to answer in (App Home): a refusal is a DM; either way the home is republished
    (a refused Claim button must not stay on it)."""
    ticket_id, _ = claimed_ticket(session_factory, desk, by=AGENT1)
    home = {"via": Via.HOME, "reply_channel": None, "reply_thread_ts": None}
    mark = last_row_id(session_factory)

    refused = act(session_factory, desk, ActionKind.CLAIM, ticket_id, AGENT2, minutes(6), **home)

    assert refused.refusal == Refusal.ALREADY_CLAIMED
    [(method, purpose, _, payload, _), republish] = rows_after(session_factory, mark)
    assert (method, purpose, payload["channel"]) == ("chat.postMessage", Purpose.NOTICE, AGENT2)
    assert republish[:2] == ("views.publish", Purpose.HOME) and republish[3] == {"user_id": AGENT2}

    mark = last_row_id(session_factory)
    done = act(session_factory, desk, ActionKind.RESOLVE, ticket_id, AGENT1, minutes(7), **home)

    assert done.done
    assert events(session_factory, ticket_id)[-1][3] == {"via": "home"}
    assert rows_after(session_factory, mark)[-1] == (
        "views.publish",
        Purpose.HOME,
        None,
        {"user_id": AGENT1},
        f"home:{AGENT1}",
    )


# --- unclaim and reassign ----------------------------------------------------------------------


def test_unclaim_gives_the_ticket_back_to_the_queue(
    session_factory: SessionFactory, desk: Desk
) -> None:
    ticket_id, _ = claimed_ticket(session_factory, desk, by=AGENT1)
    mark = last_row_id(session_factory)

    result = act(session_factory, desk, ActionKind.UNCLAIM, ticket_id, AGENT1, minutes(8))

    assert result == ActionResult(True, ticket_id)
    ticket = load(session_factory, ticket_id)
    assert (ticket.status, ticket.assignee, ticket.claimed_at) == (TicketStatus.OPEN, None, None)
    assert ticket.updated_at == minutes(8)
    assert events(session_factory, ticket_id)[-1] == (
        EventKind.UNCLAIMED,
        AGENT1,
        minutes(8),
        {"via": "button", "previous": AGENT1},
    )
    # No word in the requester's thread; only the card changes.
    assert rows_after(session_factory, mark) == [
        ("chat.update", Purpose.CARD_UPDATE, ticket_id, {}, f"card:{ticket_id}")
    ]

    again = act(session_factory, desk, ActionKind.UNCLAIM, ticket_id, AGENT1, minutes(9))
    assert again == ActionResult(False, ticket_id, Refusal.NOT_CLAIMED)
    # Now anyone may claim it.
    assert act(session_factory, desk, ActionKind.CLAIM, ticket_id, AGENT2, minutes(10)).done
    assert load(session_factory, ticket_id).assignee == AGENT2


def test_reassign_to_another_agent(session_factory: SessionFactory, desk: Desk) -> None:
    ticket_id, _ = claimed_ticket(session_factory, desk, by=AGENT1)
    mark = last_row_id(session_factory)

    result = act(
        session_factory, desk, ActionKind.REASSIGN, ticket_id, AGENT1, minutes(8), target=AGENT2
    )

    assert result == ActionResult(True, ticket_id)
    ticket = load(session_factory, ticket_id)
    assert (ticket.status, ticket.assignee, ticket.claimed_at) == (
        TicketStatus.CLAIMED,
        AGENT2,
        minutes(8),
    )
    assert events(session_factory, ticket_id)[-1] == (
        EventKind.ASSIGNED,
        AGENT1,
        minutes(8),
        {"via": "button", "assignee": AGENT2, "previous": AGENT1},
    )
    assert rows_after(session_factory, mark) == [
        (
            "chat.postMessage",
            Purpose.THREAD_NOTICE,
            ticket_id,
            {"_notice": "assigned", "_data": {"assignee": AGENT2}},
            None,
        ),
        ("chat.update", Purpose.CARD_UPDATE, ticket_id, {}, f"card:{ticket_id}"),
    ]

    # Giving it to whoever already has it changes nothing.
    before = snapshot(session_factory, ticket_id)
    same = act(
        session_factory, desk, ActionKind.REASSIGN, ticket_id, AGENT1, minutes(9), target=AGENT2
    )
    assert same == ActionResult(False, ticket_id, Refusal.ALREADY_ASSIGNED)
    assert snapshot(session_factory, ticket_id) == before


def test_reassign_of_an_open_ticket_claims_it_for_the_target(
    session_factory: SessionFactory, desk: Desk
) -> None:
    ticket_id, _ = open_ticket(session_factory, desk)
    result = act(
        session_factory, desk, ActionKind.REASSIGN, ticket_id, AGENT1, minutes(4), target=AGENT2
    )
    assert result.done
    ticket = load(session_factory, ticket_id)
    assert (ticket.status, ticket.assignee, ticket.claimed_at) == ("claimed", AGENT2, minutes(4))
    assert events(session_factory, ticket_id)[-1][3]["previous"] is None


@pytest.mark.parametrize("target", [NOT_AGENT, None])
def test_reassign_to_a_non_agent_is_refused(
    session_factory: SessionFactory, desk: Desk, target: str | None
) -> None:
    ticket_id, _ = claimed_ticket(session_factory, desk, by=AGENT1)
    before = snapshot(session_factory, ticket_id)
    mark = last_row_id(session_factory)

    result = act(
        session_factory, desk, ActionKind.REASSIGN, ticket_id, AGENT1, minutes(8), target=target
    )

    assert result == ActionResult(False, ticket_id, Refusal.TARGET_NOT_AGENT)
    assert snapshot(session_factory, ticket_id) == before
    [(method, _, _, payload, _)] = rows_after(session_factory, mark)
    assert method == "chat.postEphemeral" and payload["user"] == AGENT1
    if target:
        assert f"<@{target}>" in payload["text"]


# --- waiting on the customer -------------------------------------------------------------------


def test_wait_then_the_requesters_reply_brings_it_back_to_the_agent(
    session_factory: SessionFactory, desk: Desk
) -> None:
    ticket_id, ts = claimed_ticket(session_factory, desk, by=AGENT1)
    mark = last_row_id(session_factory)

    assert act(session_factory, desk, ActionKind.WAIT, ticket_id, AGENT1, minutes(10)).done

    ticket = load(session_factory, ticket_id)
    assert (ticket.status, ticket.assignee, ticket.claimed_at) == (
        TicketStatus.WAITING_ON_CUSTOMER,
        AGENT1,
        minutes(5),
    )
    assert events(session_factory, ticket_id)[-1] == (
        EventKind.WAITING_ON_CUSTOMER,
        AGENT1,
        minutes(10),
        {"via": "button"},
    )
    assert rows_after(session_factory, mark) == [
        ("chat.update", Purpose.CARD_UPDATE, ticket_id, {}, f"card:{ticket_id}")
    ]
    again = act(session_factory, desk, ActionKind.WAIT, ticket_id, AGENT1, minutes(11))
    assert again == ActionResult(False, ticket_id, Refusal.ALREADY_WAITING)

    result = reply(session_factory, desk, ts, minutes(30), text="Here is the CSV you asked for")

    assert result == IntakeResult(Outcome.ATTACHED, ticket_id)
    ticket = load(session_factory, ticket_id)
    assert (ticket.status, ticket.assignee) == (TicketStatus.CLAIMED, AGENT1)
    assert ticket.updated_at == minutes(30)
    assert ticket.first_response_at is None, "the requester's own reply is not a response"
    assert events(session_factory, ticket_id)[-1] == (
        EventKind.CUSTOMER_REPLIED,
        REQUESTER,
        minutes(30),
        {},
    )
    assert snapshot(session_factory, ticket_id)["messages"] == [datetime_to_slack_ts(minutes(30))]


def test_wait_on_an_unassigned_ticket_makes_it_the_waiters(
    session_factory: SessionFactory, desk: Desk
) -> None:
    ticket_id, ts = open_ticket(session_factory, desk)
    assert act(session_factory, desk, ActionKind.WAIT, ticket_id, AGENT2, minutes(3)).done
    ticket = load(session_factory, ticket_id)
    assert (ticket.status, ticket.assignee, ticket.claimed_at) == (
        TicketStatus.WAITING_ON_CUSTOMER,
        AGENT2,
        minutes(3),
    )
    # Unclaimed while waiting, the requester's answer puts it back in the queue, unassigned.
    assert act(session_factory, desk, ActionKind.UNCLAIM, ticket_id, AGENT2, minutes(4)).done
    assert load(session_factory, ticket_id).status == TicketStatus.WAITING_ON_CUSTOMER
    reply(session_factory, desk, ts, minutes(6))
    ticket = load(session_factory, ticket_id)
    assert (ticket.status, ticket.assignee) == (TicketStatus.OPEN, None)


# --- resolve, reopen, close --------------------------------------------------------------------


def test_resolve_an_unassigned_ticket_counts_it_as_the_resolvers(
    session_factory: SessionFactory, desk: Desk
) -> None:
    ticket_id, _ = open_ticket(session_factory, desk)
    deliver(session_factory)
    mark = last_row_id(session_factory)

    result = act(session_factory, desk, ActionKind.RESOLVE, ticket_id, AGENT2, minutes(20))

    assert result == ActionResult(True, ticket_id)
    ticket = load(session_factory, ticket_id)
    assert (ticket.status, ticket.assignee) == (TicketStatus.RESOLVED, AGENT2)
    assert (ticket.resolved_at, ticket.claimed_at, ticket.closed_at) == (
        minutes(20),
        minutes(20),
        None,
    )
    assert events(session_factory, ticket_id)[-1] == (
        EventKind.RESOLVED,
        AGENT2,
        minutes(20),
        {"via": "button"},
    )
    assert rows_after(session_factory, mark) == [
        (
            "chat.postMessage",
            Purpose.THREAD_NOTICE,
            ticket_id,
            {"_notice": "resolved", "_data": {"actor": AGENT2}},
            None,
        ),
        ("chat.update", Purpose.CARD_UPDATE, ticket_id, {}, f"card:{ticket_id}"),
        # "How did we do?" for the requester (workflows/csat.py).
        ("chat.postMessage", Purpose.CSAT_PROMPT, ticket_id, {"_survey": 1, "_dm": False}, None),
    ]

    before = snapshot(session_factory, ticket_id)
    again = act(session_factory, desk, ActionKind.RESOLVE, ticket_id, AGENT1, minutes(21))
    assert again == ActionResult(False, ticket_id, Refusal.ALREADY_RESOLVED)
    assert snapshot(session_factory, ticket_id) == before
    # Nor can a resolved ticket be claimed or handed on.
    claim = act(session_factory, desk, ActionKind.CLAIM, ticket_id, AGENT1, minutes(22))
    assert claim.refusal == Refusal.ALREADY_RESOLVED
    handed = act(
        session_factory, desk, ActionKind.REASSIGN, ticket_id, AGENT2, minutes(22), target=AGENT1
    )
    assert handed.refusal == Refusal.ALREADY_RESOLVED
    assert snapshot(session_factory, ticket_id) == before


def test_resolve_keeps_the_assignee_and_claim_time(
    session_factory: SessionFactory, desk: Desk
) -> None:
    ticket_id, _ = resolved_ticket(session_factory, desk, when=minutes(20))
    ticket = load(session_factory, ticket_id)
    assert (ticket.assignee, ticket.claimed_at, ticket.resolved_at) == (
        AGENT1,
        minutes(5),
        minutes(20),
    )


def test_requester_reply_within_the_window_reopens(
    session_factory: SessionFactory, desk: Desk
) -> None:
    resolved_at = minutes(20)
    ticket_id, ts = resolved_ticket(session_factory, desk, when=resolved_at)
    mark = last_row_id(session_factory)
    replied_at = resolved_at + WINDOW - timedelta(seconds=1)

    result = reply(session_factory, desk, ts, replied_at, text="Still broken")

    assert result == IntakeResult(Outcome.ATTACHED, ticket_id)
    ticket = load(session_factory, ticket_id)
    assert (ticket.status, ticket.assignee, ticket.resolved_at) == (
        TicketStatus.CLAIMED,
        AGENT1,
        None,
    )
    assert ticket.updated_at == replied_at
    assert events(session_factory, ticket_id)[-1] == (
        EventKind.REOPENED,
        REQUESTER,
        replied_at,
        {"via": "reply"},
    )
    assert rows_after(session_factory, mark) == [
        (
            "chat.postMessage",
            Purpose.THREAD_NOTICE,
            ticket_id,
            {"_notice": "reopened", "_data": {}},
            None,
        ),
        ("chat.update", Purpose.CARD_UPDATE, ticket_id, {}, f"card:{ticket_id}"),
    ]
    assert snapshot(session_factory, ticket_id)["messages"] == [datetime_to_slack_ts(replied_at)]


def test_someone_elses_reply_in_a_resolved_thread_does_not_reopen(
    session_factory: SessionFactory, desk: Desk
) -> None:
    ticket_id, ts = resolved_ticket(session_factory, desk)
    assert reply(session_factory, desk, ts, minutes(30), user=NOT_AGENT).outcome == "attached"
    assert reply(session_factory, desk, ts, minutes(31), user=AGENT2).outcome == "attached"
    assert load(session_factory, ticket_id).status == TicketStatus.RESOLVED


def test_agent_can_reopen_a_resolved_ticket(session_factory: SessionFactory, desk: Desk) -> None:
    ticket_id, _ = resolved_ticket(session_factory, desk)
    result = act(session_factory, desk, ActionKind.REOPEN, ticket_id, AGENT2, minutes(40))
    assert result.done
    ticket = load(session_factory, ticket_id)
    assert (ticket.status, ticket.resolved_at) == (TicketStatus.CLAIMED, None)
    assert events(session_factory, ticket_id)[-1] == (
        EventKind.REOPENED,
        AGENT2,
        minutes(40),
        {"via": "button"},
    )
    again = act(session_factory, desk, ActionKind.REOPEN, ticket_id, AGENT2, minutes(41))
    assert again.refusal == Refusal.NOT_RESOLVED


def test_within_reopen_window_edges(session_factory: SessionFactory, desk: Desk) -> None:
    ticket_id, _ = resolved_ticket(session_factory, desk, when=minutes(20))
    ticket = load(session_factory, ticket_id)
    assert within_reopen_window(desk, ticket, minutes(20))
    # A reply written before the resolve, delivered late, does not reopen it.
    assert not within_reopen_window(desk, ticket, minutes(20) - timedelta(seconds=1))
    assert within_reopen_window(desk, ticket, minutes(20) + WINDOW - timedelta(microseconds=1))
    assert not within_reopen_window(desk, ticket, minutes(20) + WINDOW)


def test_close_expired_closes_after_the_window_once(
    session_factory: SessionFactory, desk: Desk
) -> None:
    resolved_at = minutes(20)
    ticket_id, _ = resolved_ticket(session_factory, desk, when=resolved_at)
    other_id, _ = open_ticket(session_factory, desk, when=minutes(1), text="Another question")
    expires = resolved_at + WINDOW

    with session_factory.begin() as session:
        assert close_expired(session, desk, now=expires - timedelta(seconds=1)) == []
    assert load(session_factory, ticket_id).status == TicketStatus.RESOLVED

    mark = last_row_id(session_factory)
    with session_factory.begin() as session:
        assert close_expired(session, desk, now=expires + timedelta(hours=3)) == [ticket_id]

    ticket = load(session_factory, ticket_id)
    assert ticket.status == TicketStatus.CLOSED
    # Closed when the window ended, not when the job happened to run.
    assert ticket.closed_at == expires
    assert ticket.resolved_at == resolved_at
    assert events(session_factory, ticket_id)[-1] == (
        EventKind.CLOSED,
        None,
        expires,
        {"via": "schedule"},
    )
    assert rows_after(session_factory, mark) == [
        ("chat.update", Purpose.CARD_UPDATE, ticket_id, {}, f"card:{ticket_id}")
    ]
    assert load(session_factory, other_id).status == TicketStatus.OPEN

    before = snapshot(session_factory, ticket_id)
    mark = last_row_id(session_factory)
    with session_factory.begin() as session:
        assert close_expired(session, desk, now=expires + timedelta(days=1)) == []
    assert snapshot(session_factory, ticket_id) == before
    assert rows_after(session_factory, mark) == []


def test_reply_after_close_opens_a_follow_up_in_the_same_thread(
    session_factory: SessionFactory, desk: Desk
) -> None:
    resolved_at = minutes(20)
    closed_id, ts = resolved_ticket(session_factory, desk, when=resolved_at)
    with session_factory.begin() as session:
        assert close_expired(session, desk, now=resolved_at + WINDOW) == [closed_id]
    closed_before = snapshot(session_factory, closed_id)
    mark = last_row_id(session_factory)
    replied_at = resolved_at + WINDOW + timedelta(days=1)
    reply_ts = datetime_to_slack_ts(replied_at)

    result = reply(session_factory, desk, ts, replied_at, text="It broke again")

    assert result.outcome == Outcome.OPENED and result.ticket_id not in (None, closed_id)
    follow_id = result.ticket_id
    assert follow_id is not None
    assert snapshot(session_factory, closed_id) == closed_before
    follow = load(session_factory, follow_id)
    assert (follow.source_channel, follow.source_ts, follow.source_thread_ts) == (
        CHANNEL,
        reply_ts,
        ts,
    )
    assert follow.thread_ts == ts
    assert (follow.status, follow.assignee, follow.requester) == ("open", None, REQUESTER)
    assert (follow.description, follow.queue, follow.created_at) == (
        "It broke again",
        "general",
        replied_at,
    )
    assert [(kind, data) for kind, _, _, data in events(session_factory, follow_id)] == [
        (EventKind.OPENED, {"via": "message"}),
        (EventKind.FOLLOW_UP, {"follows": closed_id}),
    ]
    # Its card is owed in the same thread, and goes there.
    assert rows_after(session_factory, mark) == [
        (
            "chat.postMessage",
            Purpose.TICKET_CARD,
            follow_id,
            {"channel": CHANNEL, "thread_ts": ts},
            f"card:{follow_id}",
        )
    ]
    with session_factory.begin() as session:
        row = session.scalars(
            select(OutboxMessage).where(OutboxMessage.ticket_id == follow_id)
        ).one()
        call = DeliveryHooks(desk.config, desk.clock).prepare(session, row)
    assert call is not None
    assert (call.method, call.payload["channel"], call.payload["thread_ts"]) == (
        "chat.postMessage",
        CHANNEL,
        ts,
    )

    # The thread is the follow-up's now: later replies (requester's and agent's) join it.
    later = replied_at + timedelta(minutes=5)
    assert reply(session_factory, desk, ts, later) == IntakeResult(Outcome.ATTACHED, follow_id)
    answer = later + timedelta(minutes=1)
    assert reply(session_factory, desk, ts, answer, user=AGENT2) == IntakeResult(
        Outcome.ATTACHED, follow_id
    )
    follow = load(session_factory, follow_id)
    assert follow.first_response_at == answer
    assert snapshot(session_factory, follow_id)["messages"] == [
        datetime_to_slack_ts(later),
        datetime_to_slack_ts(answer),
    ]
    assert snapshot(session_factory, closed_id) == closed_before


def test_reply_after_the_window_before_the_job_ran_closes_and_follows_up(
    session_factory: SessionFactory, desk: Desk
) -> None:
    resolved_at = minutes(20)
    closed_id, ts = resolved_ticket(session_factory, desk, when=resolved_at)
    replied_at = resolved_at + WINDOW + timedelta(hours=2)

    result = reply(session_factory, desk, ts, replied_at, text="Hello again")

    assert result.outcome == Outcome.OPENED and result.ticket_id != closed_id
    closed = load(session_factory, closed_id)
    assert (closed.status, closed.closed_at) == (TicketStatus.CLOSED, resolved_at + WINDOW)
    assert events(session_factory, closed_id)[-1] == (
        EventKind.CLOSED,
        None,
        resolved_at + WINDOW,
        {"via": "schedule"},
    )
    assert snapshot(session_factory, closed_id)["messages"] == []
    assert result.ticket_id is not None
    assert [kind for kind, *_ in events(session_factory, result.ticket_id)] == [
        EventKind.OPENED,
        EventKind.FOLLOW_UP,
    ]
    # The job finds nothing left to do.
    with session_factory.begin() as session:
        assert close_expired(session, desk, now=replied_at) == []


def test_reply_exactly_at_the_end_of_the_window_is_a_follow_up(
    session_factory: SessionFactory, desk: Desk
) -> None:
    resolved_at = minutes(20)
    closed_id, ts = resolved_ticket(session_factory, desk, when=resolved_at)
    result = reply(session_factory, desk, ts, resolved_at + WINDOW)
    assert result.outcome == Outcome.OPENED
    assert load(session_factory, closed_id).status == TicketStatus.CLOSED


def test_agent_reply_after_the_window_does_not_close_the_ticket(
    session_factory: SessionFactory, desk: Desk
) -> None:
    resolved_at = minutes(20)
    ticket_id, ts = resolved_ticket(session_factory, desk, when=resolved_at)
    result = reply(
        session_factory, desk, ts, resolved_at + WINDOW + timedelta(hours=1), user=AGENT2
    )
    assert result == IntakeResult(Outcome.ATTACHED, ticket_id)
    assert load(session_factory, ticket_id).status == TicketStatus.RESOLVED


@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        (ActionKind.CLAIM, {}),
        (ActionKind.RESOLVE, {}),
        (ActionKind.REOPEN, {}),
        (ActionKind.UNCLAIM, {}),
        (ActionKind.WAIT, {}),
        (ActionKind.REASSIGN, {"target": AGENT2}),
    ],
)
def test_actions_on_a_closed_ticket_are_refused(
    session_factory: SessionFactory, desk: Desk, kind: ActionKind, extra: dict[str, Any]
) -> None:
    ticket_id, _ = resolved_ticket(session_factory, desk, when=minutes(20))
    with session_factory.begin() as session:
        close_expired(session, desk, now=minutes(20) + WINDOW)
    before = snapshot(session_factory, ticket_id)
    mark = last_row_id(session_factory)

    result = act(session_factory, desk, kind, ticket_id, AGENT1, minutes(20) + WINDOW * 2, **extra)

    assert result == ActionResult(False, ticket_id, Refusal.CLOSED)
    assert snapshot(session_factory, ticket_id) == before
    [(method, _, _, payload, _)] = rows_after(session_factory, mark)
    assert method == "chat.postEphemeral" and "is closed" in payload["text"]


# --- first response ----------------------------------------------------------------------------


def test_an_agents_first_thread_reply_is_the_first_response(
    session_factory: SessionFactory, desk: Desk
) -> None:
    ticket_id, ts = open_ticket(session_factory, desk)
    deliver(session_factory)
    mark = last_row_id(session_factory)

    reply(session_factory, desk, ts, minutes(2), user=REQUESTER, text="Also, it's urgent")
    reply(session_factory, desk, ts, minutes(3), user=NOT_AGENT, text="Same here")
    reply(session_factory, desk, ts, minutes(4), user=AGENT1, is_external=True, text="From afar")
    assert load(session_factory, ticket_id).first_response_at is None
    assert rows_after(session_factory, mark) == []

    reply(session_factory, desk, ts, minutes(7), user=AGENT2, text="Looking now")
    reply(session_factory, desk, ts, minutes(9), user=AGENT1, text="Me too")

    ticket = load(session_factory, ticket_id)
    assert ticket.first_response_at == minutes(7)
    assert (ticket.status, ticket.assignee) == (TicketStatus.OPEN, None), "a reply isn't a claim"
    first = [e for e in events(session_factory, ticket_id) if e[0] == EventKind.FIRST_RESPONSE]
    assert first == [(EventKind.FIRST_RESPONSE, AGENT2, minutes(7), {})]
    # Nothing is said in the thread about it (the agent's reply is the message).
    assert not [row for row in rows_after(session_factory, mark) if row[0] != "chat.update"]
    assert len(snapshot(session_factory, ticket_id)["messages"]) == 5


def test_a_reply_delivered_twice_is_kept_once(session_factory: SessionFactory, desk: Desk) -> None:
    ticket_id, ts = open_ticket(session_factory, desk)
    assert reply(session_factory, desk, ts, minutes(7), user=AGENT1).outcome == Outcome.ATTACHED
    again = reply(session_factory, desk, ts, minutes(7), user=AGENT1)
    assert again == IntakeResult(Outcome.EXISTING, ticket_id)
    assert len(snapshot(session_factory, ticket_id)["messages"]) == 1


# --- user group agents -------------------------------------------------------------------------


def test_usergroup_members_are_agents(session_factory: SessionFactory, clock: ManualClock) -> None:
    clock.set(T0)
    desk = Desk(parse_config({**TEST_CONFIG, "agent_usergroup": "S0AGENTS"}), clock)
    with session_factory.begin() as session:
        refresh_usergroup(session, desk, "S0AGENTS", ["U0GROUP1", "U0GROUP2"])
        refresh_usergroup(session, desk, "S0OTHERS", ["U0OUTSIDER"])
    ticket_id, ts = open_ticket(session_factory, desk)

    outsider = act(session_factory, desk, ActionKind.CLAIM, ticket_id, "U0OUTSIDER", minutes(1))
    assert outsider.refusal == Refusal.NOT_AGENT
    reply(session_factory, desk, ts, minutes(2), user="U0GROUP2", text="On it")
    assert load(session_factory, ticket_id).first_response_at == minutes(2)
    assert act(session_factory, desk, ActionKind.CLAIM, ticket_id, "U0GROUP1", minutes(3)).done
    assert load(session_factory, ticket_id).assignee == "U0GROUP1"

    # Slack says U0GROUP1 left the group: no longer an agent.
    with session_factory.begin() as session:
        refresh_usergroup(session, desk, "S0AGENTS", ["U0GROUP2"])
        assert not is_agent(session, desk, "U0GROUP1")
        assert not is_agent(session, desk, "U0GROUP2", is_external=True)
    left = act(session_factory, desk, ActionKind.RESOLVE, ticket_id, "U0GROUP1", minutes(4))
    assert left.refusal == Refusal.NOT_AGENT
    assert load(session_factory, ticket_id).status == TicketStatus.CLAIMED


# --- emoji -------------------------------------------------------------------------------------


def test_claim_emoji_claims_and_taking_it_back_unclaims(
    session_factory: SessionFactory, desk: Desk
) -> None:
    ticket_id, ts = open_ticket(session_factory, desk)

    def emoji(name: str, user: str, when: datetime, *, removed: bool = False) -> Any:
        with session_factory.begin() as session:
            return react(
                session,
                desk,
                reaction=name,
                channel=CHANNEL,
                ts=ts,
                user=user,
                at=when,
                removed=removed,
            )

    assert emoji("thumbsup", AGENT1, minutes(1)) is None
    assert emoji("eyes", AGENT1, minutes(2)) == ActionResult(True, ticket_id)
    assert events(session_factory, ticket_id)[-1] == (
        EventKind.CLAIMED,
        AGENT1,
        minutes(2),
        {"via": "reaction"},
    )
    # Someone else taking their own :eyes: back is nothing to the ticket.
    assert emoji("eyes", AGENT2, minutes(3), removed=True) is None
    assert emoji("eyes", AGENT1, minutes(4), removed=True) == ActionResult(True, ticket_id)
    assert load(session_factory, ticket_id).assignee is None
    assert emoji("white_check_mark", AGENT2, minutes(5)) == ActionResult(True, ticket_id)
    ticket = load(session_factory, ticket_id)
    assert (ticket.status, ticket.assignee, ticket.resolved_at) == ("resolved", AGENT2, minutes(5))


# --- two agents at once ------------------------------------------------------------------------


def test_simultaneous_claims_leave_exactly_one_winner(
    session_factory: SessionFactory, desk: Desk
) -> None:
    """Each agent's request has its own session and transaction; they start together."""
    for round_ in range(10):
        ticket_id, _ = open_ticket(session_factory, desk, when=minutes(round_))

        def claim(agent: str, ticket_id: int = ticket_id) -> ActionResult:
            with session_factory.begin() as session:
                action = TicketAction(
                    kind=ActionKind.CLAIM,
                    ticket_id=ticket_id,
                    actor=agent,
                    at=minutes(30),
                    via=Via.BUTTON,
                    reply_channel=CHANNEL,
                )
                return perform(session, desk, action)

        outcome = run_together(lambda: claim(AGENT1), lambda: claim(AGENT2))
        results = dict(zip((AGENT1, AGENT2), outcome, strict=True))

        winners = [agent for agent, result in results.items() if result.done]
        assert len(winners) == 1, results
        [winner] = winners
        [loser] = {AGENT1, AGENT2} - {winner}
        assert results[loser] == ActionResult(False, ticket_id, Refusal.ALREADY_CLAIMED)
        ticket = load(session_factory, ticket_id)
        assert (ticket.status, ticket.assignee) == (TicketStatus.CLAIMED, winner)
        claims = [e for e in events(session_factory, ticket_id) if e[0] == EventKind.CLAIMED]
        assert claims == [(EventKind.CLAIMED, winner, minutes(30), {"via": "button"})]
        with session_factory.begin() as session:
            told = as_told(
                session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.method == "chat.postEphemeral")
                    .order_by(OutboxMessage.id)
                ).all()
            )
            assert len(told) == round_ + 1, "one refusal per round"
            assert told[-1].payload["user"] == loser
            assert f"<@{winner}>" in told[-1].payload["text"]
            notices = session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.ticket_id == ticket_id,
                    OutboxMessage.purpose == Purpose.THREAD_NOTICE,
                )
            ).all()
            assert [row.payload["_data"] for row in notices] == [{"actor": winner}]


# --- follow-ups keep their queue ---------------------------------------------------------------


def test_follow_up_is_auto_assigned_within_the_closed_tickets_queue(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    clock.set(T0)
    config = parse_config(
        {
            **TEST_CONFIG,
            "queues": [
                {"name": "general", "auto_assign": "round_robin", "agents": [AGENT1]},
                {"name": "tier2", "auto_assign": "round_robin", "agents": [AGENT2]},
            ],
            "rules": [{"if": {"text": "outage"}, "then": {"queue": "tier2"}}],
        }
    )
    desk = Desk(config, clock)
    closed_id, ts = open_ticket(session_factory, desk, text="Total outage since noon")
    first = load(session_factory, closed_id)
    assert (first.queue, first.assignee) == ("tier2", AGENT2)
    assert act(session_factory, desk, ActionKind.RESOLVE, closed_id, AGENT2, minutes(20)).done

    result = reply(session_factory, desk, ts, minutes(20) + WINDOW * 2, text="It broke again")

    assert result.outcome == Outcome.OPENED and result.ticket_id is not None
    follow = load(session_factory, result.ticket_id)
    assert follow.queue == "tier2"
    assert follow.assignee == AGENT2, "tier2's only agent gets tier2's follow-up"


# --- late deliveries and automatic assignment (review findings) ----------------------------------


def test_a_reply_written_before_the_resolve_does_not_reopen(
    session_factory: SessionFactory, desk: Desk
) -> None:
    """Slack delivers a retried message event after the agent resolved: it was written before."""
    ticket_id, ts = resolved_ticket(session_factory, desk, when=minutes(20))
    reply(session_factory, desk, ts, minutes(19), text="thanks, works now")
    assert load(session_factory, ticket_id).status == TicketStatus.RESOLVED
    reply(session_factory, desk, ts, minutes(21), text="actually it broke again")
    assert load(session_factory, ticket_id).status == TicketStatus.CLAIMED


def test_a_reply_written_before_the_wait_does_not_end_it(
    session_factory: SessionFactory, desk: Desk
) -> None:
    ticket_id, ts = claimed_ticket(session_factory, desk)
    assert act(session_factory, desk, ActionKind.WAIT, ticket_id, AGENT1, minutes(10)).done
    reply(session_factory, desk, ts, minutes(9), text="written before the question")
    assert load(session_factory, ticket_id).status == TicketStatus.WAITING_ON_CUSTOMER
    reply(session_factory, desk, ts, minutes(11), text="here you go")
    assert load(session_factory, ticket_id).status == TicketStatus.CLAIMED


def test_automatic_assignment_never_takes_a_claimed_ticket(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    """A stale view of an unassigned ticket (a concurrent claim committed meanwhile) must not
    let auto-assignment move it: the UPDATE itself requires no assignee."""
    clock.set(T0)
    config = parse_config(
        {**TEST_CONFIG, "queues": [{"name": "general", "auto_assign": "round_robin"}]}
    )
    desk = Desk(config, clock)
    ticket_id, _ = open_ticket(session_factory, desk, text="Question")
    with session_factory.begin() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.assignee == AGENT1  # round-robin at intake
        # The database says someone claimed it (not the agent round-robin picks next); this
        # session still sees it open and unassigned.
        session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id)
            .values(assignee="U0CLAIMER", status="claimed")
        )
        set_committed_value(ticket, "assignee", None)
        set_committed_value(ticket, "status", "open")
        assert auto_assign(session, desk, ticket, at=minutes(1)) is None
    after = load(session_factory, ticket_id)
    assert (after.assignee, after.status) == ("U0CLAIMER", "claimed")


def test_resolving_an_escalated_ticket_tells_engineering_and_keeps_the_escalation_open(
    session_factory: SessionFactory, desk: Desk
) -> None:
    sf = session_factory
    ticket_id, _ = claimed_ticket(sf, desk)
    with sf.begin() as session:
        escalated = escalate(
            session,
            desk,
            EscalationAnswers(target="engineering:default", severity="sev3", summary="Export"),
            ticket_id=ticket_id,
            agent=AGENT1,
            at=minutes(10),
            via=Via.MODAL,
        )
    assert escalated.done
    deliver(sf)
    before = last_row_id(sf)

    assert act(sf, desk, ActionKind.RESOLVE, ticket_id, AGENT1, minutes(20)).done

    told = [r for r in rows_after(sf, before) if r[1] == Purpose.ENGINEERING_THREAD]
    assert [(r[2], r[3]["_kind"], r[3]["_data"]) for r in told] == [
        (ticket_id, "ticket_resolved", {"author": AGENT1})
    ]
    with sf.begin() as session:
        [escalation] = EscalationRepository(session).for_ticket(ticket_id)
        assert escalation.state == "open"
    assert load(sf, ticket_id).status == "resolved"
