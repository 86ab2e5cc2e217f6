"""The send-time guard on customer channels: whatever a workflow asks for, only customer-safe
messages reach a channel shared with a customer. Driven on the dispatcher directly."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from bot.config import DeskConfig
from bot.delivery import DeliveryHooks
from bot.outbox import Dispatcher
from bot.slack_client import outbox_client
from bot.standin import SlackStandin
from storage.db import SessionFactory, create_session_factory
from storage.repositories import OutboxRepository, TicketRepository
from workflows.clock import ManualClock
from workflows.delivery import (
    post_channel_notice,
    post_ephemeral,
    post_thread_notice,
    post_ticket_card,
)
from workflows.desk import Desk
from workflows.intake import Outcome, SlackMessage, receive_message

ACME, TRIAGE = "C0ACME", "C0TRIAGE"


@pytest.fixture
def session_factory(engine: Engine) -> SessionFactory:
    return create_session_factory(engine)


@pytest.fixture
def dispatcher(
    session_factory: SessionFactory,
    standin: SlackStandin,
    desk_config: DeskConfig,
    clock: ManualClock,
) -> Dispatcher:
    return Dispatcher(
        session_factory,
        outbox_client("xoxb-standin", standin.url),
        DeliveryHooks(desk_config, clock),
        clock,
    )


def customer_ticket(
    session_factory: SessionFactory, desk: Desk, standin: SlackStandin, *, channel: str = ACME
) -> int:
    ts = standin.seed_message(channel, user="U0ACMEJO", text="Invoices fail")
    message = SlackMessage(
        channel=channel,
        ts=ts,
        user="U0ACMEJO",
        text="Invoices fail",
        team="T0ACME",
        is_external=True,
        in_shared_channel=True,
    )
    with session_factory.begin() as session:
        result = receive_message(session, desk, message)
    assert result.outcome == Outcome.OPENED and result.ticket_id is not None
    return result.ticket_id


def bot_posts(standin: SlackStandin, channel: str) -> list[str]:
    return [m.get("text", "") for m in standin.messages(channel) if m.get("bot_id")]


def test_internal_messages_aimed_at_a_customer_channel_are_dropped(
    session_factory: SessionFactory,
    dispatcher: Dispatcher,
    standin: SlackStandin,
    desk_config: DeskConfig,
    clock: ManualClock,
) -> None:
    desk = Desk(desk_config, clock)
    ticket_id = customer_ticket(session_factory, desk, standin)
    dispatcher.drain()
    [acknowledgement] = bot_posts(standin, ACME)

    with session_factory.begin() as session:
        ticket = TicketRepository(session).get(ticket_id)
        assert ticket is not None
        now = clock.now()
        wrong = [
            post_thread_notice(session, ticket, "rule_matched", now=now),  # not for customers
            post_channel_notice(session, ticket, "rule_matched", channel=ACME, now=now),
            post_ticket_card(
                session,
                ticket,
                channel=ACME,
                thread_ts=ticket.source_ts,
                fallback_user=None,
                now=now,
            ),
        ]
        wrong_ids = [row.id for row in wrong]
        allowed = post_ephemeral(
            session, channel=ACME, user="U0AGENT1", message={"text": "only you"}, now=now
        ).id
    dispatcher.drain()

    assert bot_posts(standin, ACME) == [acknowledgement]
    with session_factory.begin() as session:
        outbox = OutboxRepository(session)
        statuses = {row_id: outbox.get(row_id).status for row_id in [*wrong_ids, allowed]}  # type: ignore[union-attr]
    assert [statuses[row_id] for row_id in wrong_ids] == ["dropped"] * 3
    assert statuses[allowed] == "sent"


def test_a_shared_intake_channel_is_treated_as_a_customer_channel(
    session_factory: SessionFactory,
    dispatcher: Dispatcher,
    standin: SlackStandin,
    desk_config: DeskConfig,
    clock: ManualClock,
) -> None:
    """An intake channel that was later shared with another workspace: Slack says so in the
    event, so the customer's question goes to triage and no card is posted where they read."""
    desk = Desk(desk_config, clock)
    ticket_id = customer_ticket(session_factory, desk, standin, channel="C0HELP")
    dispatcher.drain()

    with session_factory.begin() as session:
        ticket = TicketRepository(session).get(ticket_id)
        assert ticket is not None
        assert ticket.bridged and ticket.customer is None and ticket.card_channel == TRIAGE
        assert TicketRepository(session).is_bridged_channel("C0HELP")
    # No acknowledgement either: the channel isn't configured as a customer channel.
    assert bot_posts(standin, "C0HELP") == []
    assert len(bot_posts(standin, TRIAGE)) == 1
