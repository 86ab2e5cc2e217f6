"""Card updates coalesce: however many times a ticket changes before the dispatcher gets to it, the
outbox holds one call for its card, rendered from the ticket as it is when sent. A row the
dispatcher has already taken (leased) may have been rendered, so a later change owes a new one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.delivery import DeliveryHooks
from storage.db import SessionFactory, create_session_factory
from storage.models import OutboxMessage, Ticket
from storage.repositories import OutboxRepository
from workflows.clock import ManualClock, datetime_to_slack_ts
from workflows.delivery import Purpose, publish_home, refresh_card
from workflows.desk import Desk
from workflows.intake import Outcome, SlackMessage, receive_message
from workflows.triage import ActionKind, TicketAction, perform
from workflows.vocabulary import Via

T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
REQUESTER = "U0REQ1"
AGENT1, AGENT2 = "U0AGENT1", "U0AGENT2"
CHANNEL = "C0HELP"


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


@pytest.fixture
def session_factory(engine: Engine) -> SessionFactory:
    return create_session_factory(engine)


@pytest.fixture
def desk(desk_config: Any, clock: ManualClock) -> Desk:
    """The workflows' desk (not the HTTP one of conftest): TEST_CONFIG and a clock at T0."""
    clock.set(T0)
    return Desk(desk_config, clock)


def open_ticket(sf: SessionFactory, desk: Desk, *, when: datetime = T0) -> tuple[int, str]:
    ts = datetime_to_slack_ts(when)
    with sf.begin() as session:
        result = receive_message(
            session, desk, SlackMessage(channel=CHANNEL, ts=ts, user=REQUESTER, text="Help!")
        )
    assert result.outcome == Outcome.OPENED and result.ticket_id is not None
    return result.ticket_id, ts


def act(
    sf: SessionFactory,
    desk: Desk,
    kind: ActionKind,
    ticket_id: int,
    actor: str,
    when: datetime,
    target: str | None = None,
) -> None:
    with sf.begin() as session:
        action = TicketAction(
            kind=kind, ticket_id=ticket_id, actor=actor, at=when, via=Via.BUTTON, target=target
        )
        assert perform(session, desk, action).done


def post_card(sf: SessionFactory, ticket_id: int) -> str:
    """The dispatcher sent the card: its row is done and the ticket knows where the card is."""
    card_ts = datetime_to_slack_ts(T0 + timedelta(seconds=1))
    with sf.begin() as session:
        row = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.ticket_id == ticket_id, OutboxMessage.purpose == Purpose.TICKET_CARD
            )
        ).one()
        row.status, row.sent_at = "sent", T0
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        ticket.card_channel, ticket.card_ts = CHANNEL, card_ts
    return card_ts


def card_rows(sf: SessionFactory, ticket_id: int) -> list[dict[str, Any]]:
    """The outbox rows carrying this ticket's card (post or update), oldest first."""
    with sf.begin() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.coalesce_key == f"card:{ticket_id}")
            .order_by(OutboxMessage.id)
        ).all()
        return [
            {
                "id": r.id,
                "method": r.method,
                "purpose": r.purpose,
                "status": r.status,
                "payload": r.payload,
                "ticket_id": r.ticket_id,
                "leased": r.lease_until is not None,
                "created_at": r.created_at,
                "next_attempt_at": r.next_attempt_at,
            }
            for r in rows
        ]


def pending_updates(sf: SessionFactory, ticket_id: int) -> list[dict[str, Any]]:
    return [
        row
        for row in card_rows(sf, ticket_id)
        if row["method"] == "chat.update" and row["status"] == "pending"
    ]


def lease(sf: SessionFactory, row_id: int, *, until: datetime) -> None:
    """A dispatcher took the row (as `OutboxRepository.lease` leaves it)."""
    with sf.begin() as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        row.lease_owner, row.lease_until = "dispatcher-test", until


def render(sf: SessionFactory, desk: Desk, row_id: int) -> Any:
    with sf.begin() as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        return DeliveryHooks(desk.config, desk.clock).prepare(session, row)


# --- before the card is posted -----------------------------------------------------------------


def test_changes_before_the_card_is_posted_join_the_card_post(
    session_factory: SessionFactory, desk: Desk
) -> None:
    ticket_id, ts = open_ticket(session_factory, desk)
    [card] = card_rows(session_factory, ticket_id)
    assert (card["method"], card["purpose"], card["status"]) == (
        "chat.postMessage",
        Purpose.TICKET_CARD,
        "pending",
    )

    desk.clock.advance(timedelta(minutes=3))  # joining must not reschedule or re-date the row
    act(session_factory, desk, ActionKind.CLAIM, ticket_id, AGENT1, minutes(1))
    act(session_factory, desk, ActionKind.WAIT, ticket_id, AGENT1, minutes(2))
    act(session_factory, desk, ActionKind.RESOLVE, ticket_id, AGENT1, minutes(3))

    # Still the one card post: nothing to update, as it will be posted as the ticket is then.
    assert card_rows(session_factory, ticket_id) == [card]
    call = render(session_factory, desk, card["id"])
    assert call.method == "chat.postMessage"
    assert (call.payload["channel"], call.payload["thread_ts"]) == (CHANNEL, ts)
    assert call.payload["text"].startswith(f"Ticket #{ticket_id} · Resolved")


# --- after the card is posted ------------------------------------------------------------------


def test_a_burst_of_changes_is_one_pending_card_update(
    session_factory: SessionFactory, desk: Desk
) -> None:
    ticket_id, ts = open_ticket(session_factory, desk)
    card_ts = post_card(session_factory, ticket_id)

    act(session_factory, desk, ActionKind.CLAIM, ticket_id, AGENT1, minutes(1))
    [update] = pending_updates(session_factory, ticket_id)
    assert (update["purpose"], update["payload"], update["ticket_id"], update["leased"]) == (
        Purpose.CARD_UPDATE,
        {},
        ticket_id,
        False,
    )

    desk.clock.advance(timedelta(minutes=5))
    act(session_factory, desk, ActionKind.WAIT, ticket_id, AGENT1, minutes(2))
    with session_factory.begin() as session:  # the requester answers: back to claimed
        receive_message(
            session,
            desk,
            SlackMessage(
                channel=CHANNEL,
                ts=datetime_to_slack_ts(minutes(3)),
                user=REQUESTER,
                text="Here you go",
                thread_ts=ts,
            ),
        )
    act(session_factory, desk, ActionKind.REASSIGN, ticket_id, AGENT1, minutes(4), AGENT2)
    act(session_factory, desk, ActionKind.RESOLVE, ticket_id, AGENT2, minutes(5))

    rows = card_rows(session_factory, ticket_id)
    assert [(r["method"], r["status"]) for r in rows] == [
        ("chat.postMessage", "sent"),
        ("chat.update", "pending"),
    ]
    assert rows[1] == update, "joined as it was: not re-dated, not rescheduled"
    # Thread notices are messages of their own, one per event; they never coalesce.
    with session_factory.begin() as session:
        notices = session.scalars(
            select(OutboxMessage.payload)
            .where(OutboxMessage.purpose == Purpose.THREAD_NOTICE)
            .order_by(OutboxMessage.id)
        ).all()
    assert [n["_notice"] for n in notices] == ["claimed", "assigned", "resolved"]

    # Sent, it shows the ticket as it is now.
    call = render(session_factory, desk, update["id"])
    assert call.method == "chat.update"
    assert (call.payload["channel"], call.payload["ts"]) == (CHANNEL, card_ts)
    assert call.payload["text"].startswith(f"Ticket #{ticket_id} · Resolved")


def test_a_change_after_the_update_was_leased_owes_a_new_update(
    session_factory: SessionFactory, desk: Desk
) -> None:
    ticket_id, _ = open_ticket(session_factory, desk)
    post_card(session_factory, ticket_id)
    act(session_factory, desk, ActionKind.CLAIM, ticket_id, AGENT1, minutes(1))
    [first] = pending_updates(session_factory, ticket_id)
    lease(session_factory, first["id"], until=desk.clock.now() + timedelta(seconds=30))

    act(session_factory, desk, ActionKind.WAIT, ticket_id, AGENT1, minutes(2))

    rows = pending_updates(session_factory, ticket_id)
    assert [(r["id"], r["leased"]) for r in rows] == [(first["id"], True), (rows[1]["id"], False)]
    assert rows[1]["id"] > first["id"]
    assert (rows[1]["purpose"], rows[1]["payload"]) == (Purpose.CARD_UPDATE, {})

    # Later changes join the new, untaken row.
    act(session_factory, desk, ActionKind.RESOLVE, ticket_id, AGENT1, minutes(3))
    assert [r["id"] for r in pending_updates(session_factory, ticket_id)] == [
        first["id"],
        rows[1]["id"],
    ]


def test_a_leased_row_is_not_joined_even_once_its_lease_has_expired(
    session_factory: SessionFactory, desk: Desk
) -> None:
    """It may have been rendered by a dispatcher that died; a fresh row is the safe choice."""
    ticket_id, _ = open_ticket(session_factory, desk)
    post_card(session_factory, ticket_id)
    act(session_factory, desk, ActionKind.CLAIM, ticket_id, AGENT1, minutes(1))
    [first] = pending_updates(session_factory, ticket_id)
    lease(session_factory, first["id"], until=desk.clock.now() - timedelta(minutes=1))

    act(session_factory, desk, ActionKind.UNCLAIM, ticket_id, AGENT1, minutes(2))

    assert len(pending_updates(session_factory, ticket_id)) == 2


def test_the_card_post_row_is_not_joined_once_leased(
    session_factory: SessionFactory, desk: Desk
) -> None:
    ticket_id, _ = open_ticket(session_factory, desk)
    [card] = card_rows(session_factory, ticket_id)
    lease(session_factory, card["id"], until=desk.clock.now() + timedelta(seconds=30))

    act(session_factory, desk, ActionKind.CLAIM, ticket_id, AGENT1, minutes(1))
    act(session_factory, desk, ActionKind.RESOLVE, ticket_id, AGENT1, minutes(2))

    rows = card_rows(session_factory, ticket_id)
    assert [(r["method"], r["purpose"], r["status"]) for r in rows] == [
        ("chat.postMessage", Purpose.TICKET_CARD, "pending"),
        ("chat.update", Purpose.CARD_UPDATE, "pending"),
    ]


@pytest.mark.parametrize("status", ["sent", "failed", "dropped"])
def test_a_finished_update_is_not_joined(
    session_factory: SessionFactory, desk: Desk, status: str
) -> None:
    ticket_id, _ = open_ticket(session_factory, desk)
    post_card(session_factory, ticket_id)
    act(session_factory, desk, ActionKind.CLAIM, ticket_id, AGENT1, minutes(1))
    [first] = pending_updates(session_factory, ticket_id)
    with session_factory.begin() as session:
        row = session.get(OutboxMessage, first["id"])
        assert row is not None
        row.status = status

    act(session_factory, desk, ActionKind.UNCLAIM, ticket_id, AGENT1, minutes(2))

    [second] = pending_updates(session_factory, ticket_id)
    assert second["id"] > first["id"]


def test_a_row_waiting_for_a_retry_still_takes_the_change(
    session_factory: SessionFactory, desk: Desk
) -> None:
    """Rescheduled after a transient error (pending, unleased, due later): it is joined."""
    ticket_id, _ = open_ticket(session_factory, desk)
    post_card(session_factory, ticket_id)
    act(session_factory, desk, ActionKind.CLAIM, ticket_id, AGENT1, minutes(1))
    [first] = pending_updates(session_factory, ticket_id)
    retry_at = desk.clock.now() + timedelta(minutes=2)
    with session_factory.begin() as session:
        row = session.get(OutboxMessage, first["id"])
        assert row is not None
        row.attempts, row.last_error, row.next_attempt_at = 1, "ratelimited", retry_at

    act(session_factory, desk, ActionKind.RESOLVE, ticket_id, AGENT1, minutes(2))

    [only] = pending_updates(session_factory, ticket_id)
    assert (only["id"], only["next_attempt_at"]) == (first["id"], retry_at)


def test_each_ticket_has_its_own_card_row(session_factory: SessionFactory, desk: Desk) -> None:
    first_id, _ = open_ticket(session_factory, desk, when=T0)
    second_id, _ = open_ticket(session_factory, desk, when=minutes(1))
    post_card(session_factory, first_id)
    post_card(session_factory, second_id)

    act(session_factory, desk, ActionKind.CLAIM, first_id, AGENT1, minutes(2))
    act(session_factory, desk, ActionKind.CLAIM, second_id, AGENT2, minutes(2))
    act(session_factory, desk, ActionKind.RESOLVE, first_id, AGENT1, minutes(3))

    [first] = pending_updates(session_factory, first_id)
    [second] = pending_updates(session_factory, second_id)
    assert (first["ticket_id"], second["ticket_id"]) == (first_id, second_id)


def test_refresh_card_and_join_waiting_directly(
    session_factory: SessionFactory, desk: Desk
) -> None:
    ticket_id, _ = open_ticket(session_factory, desk)
    post_card(session_factory, ticket_id)
    with session_factory.begin() as session:
        outbox = OutboxRepository(session)
        assert outbox.join_waiting(f"card:{ticket_id}") is False
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        for _ in range(3):
            refresh_card(session, ticket, now=desk.clock.now())
        assert outbox.join_waiting(f"card:{ticket_id}") is True
        assert outbox.join_waiting("card:0") is False
    assert len(pending_updates(session_factory, ticket_id)) == 1


def test_app_home_publishes_coalesce_per_user(session_factory: SessionFactory, desk: Desk) -> None:
    with session_factory.begin() as session:
        for user in (AGENT1, AGENT2, AGENT1, AGENT1):
            publish_home(session, user, now=desk.clock.now())
    with session_factory.begin() as session:
        rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.method == "views.publish")
        ).all()
        assert sorted((r.coalesce_key, r.payload["user_id"]) for r in rows) == [
            (f"home:{AGENT1}", AGENT1),
            (f"home:{AGENT2}", AGENT2),
        ]
