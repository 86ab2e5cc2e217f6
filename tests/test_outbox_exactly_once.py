"""Exactly once where Slack keeps no idempotency key: a post whose answer was lost is found by its
message metadata before anything is sent again, and a card whose ts is known is updated.

Each test drives a `Dispatcher` by hand with a `ManualClock` against the stand-in; "the database
went away" is the dispatcher's `_record` failing after Slack answered.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot.config import DeskConfig
from bot.outbox import IN_FLIGHT, LEASE, OUTBOX_EVENT_TYPE, Attempt, Dispatcher
from bot.standin import SlackStandin
from storage.db import SessionFactory, create_session_factory
from storage.models import Escalation, OutboxMessage
from storage.repositories import EscalationRepository
from tests.test_outbox import (
    TOKEN,
    event_kinds,
    load_row,
    load_ticket,
    make_dispatcher,
    open_modal_ticket,
)
from workflows.clock import ManualClock
from workflows.delivery import Purpose, SlackCall, post_escalation_card, post_ticket_card
from workflows.escalation import escalate_by_reaction
from workflows.intake import Desk, open_from_reaction
from workflows.vocabulary import EventKind

AFTER_THE_LEASE = LEASE + timedelta(seconds=1)


@pytest.fixture
def session_factory(engine: Engine) -> SessionFactory:
    return create_session_factory(engine)


@pytest.fixture
def intake_desk(desk_config: DeskConfig, clock: ManualClock) -> Desk:
    return Desk(config=desk_config, clock=clock)


@pytest.fixture
def dispatcher(
    session_factory: SessionFactory,
    standin: SlackStandin,
    desk_config: DeskConfig,
    clock: ManualClock,
) -> Dispatcher:
    return make_dispatcher(session_factory, standin.url, desk_config, clock)


def lose_the_answer(
    monkeypatch: pytest.MonkeyPatch, dispatcher: Dispatcher, *, purpose: str
) -> list[int]:
    """The database goes away just after Slack posted the first message for `purpose`: that
    answer is never recorded. Returns the ids of the rows whose answer was lost."""
    record: Callable[[Session, OutboxMessage, SlackCall, Attempt], None] = dispatcher._record
    lost: list[int] = []

    def record_or_fail(
        session: Session, row: OutboxMessage, call: SlackCall, attempt: Attempt
    ) -> None:
        posted = attempt.ok and call.method == "chat.postMessage"
        if posted and not lost and row.purpose == purpose:
            lost.append(row.id)
            raise OperationalError("UPDATE outbox", {}, ConnectionError("the database went away"))
        record(session, row, call, attempt)

    monkeypatch.setattr(dispatcher, "_record", record_or_fail)
    return lost


def outbox_id(message: dict[str, Any]) -> int | None:
    """The outbox row a posted message (or a call's arguments) names in its metadata."""
    return (message.get("metadata") or {}).get("event_payload", {}).get("outbox_id")


def bot_messages(standin: SlackStandin, channel: str) -> list[dict[str, Any]]:
    return [m for m in standin.messages(channel) if m.get("bot_id")]


def test_card_posted_while_the_database_went_away_appears_once(
    monkeypatch: pytest.MonkeyPatch,
    session_factory: SessionFactory,
    dispatcher: Dispatcher,
    standin: SlackStandin,
    intake_desk: Desk,
    clock: ManualClock,
) -> None:
    """The card went out but its answer was never recorded: once the lease runs out the card is
    found in the channel and recorded; the channel still shows one card."""
    ticket_id, row_id = open_modal_ticket(session_factory, intake_desk)
    lose_the_answer(monkeypatch, dispatcher, purpose=Purpose.TICKET_CARD)

    with pytest.raises(OperationalError):
        dispatcher.drain()
    [card] = standin.messages("C0HELP")
    assert card["metadata"]["event_type"] == OUTBOX_EVENT_TYPE
    assert card["metadata"]["event_payload"]["outbox_id"] == row_id
    assert load_ticket(session_factory, ticket_id).card_ts is None

    assert dispatcher.drain() == 0  # still leased: nobody looks yet
    clock.advance(AFTER_THE_LEASE)
    dispatcher.drain()

    assert standin.messages("C0HELP") == [card]
    assert len(standin.calls("chat.postMessage")) == 1
    [lookup] = standin.calls("conversations.history")
    assert (lookup.args["channel"], lookup.args["include_all_metadata"]) == ("C0HELP", "1")
    ticket = load_ticket(session_factory, ticket_id)
    assert (ticket.card_channel, ticket.card_ts) == ("C0HELP", card["ts"])
    assert ticket.source_ts == card["ts"]
    assert event_kinds(session_factory, ticket_id).count(EventKind.CARD_POSTED) == 1
    row = load_row(session_factory, row_id)
    assert (row.status, row.response) == ("sent", {"channel": "C0HELP", "ts": card["ts"]})
    assert IN_FLIGHT not in row.payload
    assert len(standin.calls("chat.getPermalink")) == 1  # what follows the card, once


def test_card_in_a_requesters_thread_whose_answer_was_lost_appears_once(
    monkeypatch: pytest.MonkeyPatch,
    session_factory: SessionFactory,
    dispatcher: Dispatcher,
    standin: SlackStandin,
    intake_desk: Desk,
    clock: ManualClock,
) -> None:
    """A card posted under the requester's message is looked for in that thread."""
    question = standin.seed_message("C0HELP", user="U0ALICE", text="Invoices are blank")
    with session_factory.begin() as session:
        opened = open_from_reaction(
            session,
            intake_desk,
            channel="C0HELP",
            ts=question,
            author="U0ALICE",
            reactor="U0AGENT1",
            reacted_at=clock.now(),
        )
        assert opened.ticket_id is not None
        ticket_id = opened.ticket_id
    lose_the_answer(monkeypatch, dispatcher, purpose=Purpose.TICKET_CARD)

    with pytest.raises(OperationalError):
        dispatcher.drain()
    clock.advance(AFTER_THE_LEASE)
    dispatcher.drain()

    [card] = bot_messages(standin, "C0HELP")
    assert card["thread_ts"] == question
    assert len(standin.calls("chat.postMessage")) == 1
    [lookup] = standin.calls("conversations.replies")
    assert (lookup.args["ts"], lookup.args["include_all_metadata"]) == (question, "1")
    assert load_ticket(session_factory, ticket_id).card_ts == card["ts"]


def test_card_dmed_to_the_requester_whose_answer_was_lost_appears_once(
    monkeypatch: pytest.MonkeyPatch,
    session_factory: SessionFactory,
    dispatcher: Dispatcher,
    standin: SlackStandin,
    intake_desk: Desk,
    clock: ManualClock,
) -> None:
    """A card that ends in the requester's DM is addressed to a person: the DM is opened to
    read it back, and the requester has the card once."""
    ticket_id, row_id = open_modal_ticket(session_factory, intake_desk, requester="U0ALICE")
    standin.not_in_channel.update({"C0HELP", "C0TRIAGE"})
    lose_the_answer(monkeypatch, dispatcher, purpose=Purpose.TICKET_CARD)

    with pytest.raises(OperationalError):
        dispatcher.drain()
    clock.advance(AFTER_THE_LEASE)
    dispatcher.drain()

    [dm_card] = [m for m in standin.messages("U0ALICE") if outbox_id(m) == row_id]
    posted = [c for c in standin.calls("chat.postMessage") if not c.failed]
    assert [c.args["channel"] for c in posted if outbox_id(c.args) == row_id] == ["U0ALICE"]
    assert standin.calls("conversations.open")[0].args["users"] == "U0ALICE"
    ticket = load_ticket(session_factory, ticket_id)
    assert (ticket.card_channel, ticket.card_ts) == ("D0ALICE", dm_card["ts"])


def test_card_sent_before_a_crash_but_never_posted_still_arrives(
    monkeypatch: pytest.MonkeyPatch,
    session_factory: SessionFactory,
    dispatcher: Dispatcher,
    standin: SlackStandin,
    intake_desk: Desk,
    clock: ManualClock,
) -> None:
    """The process died between leasing the card and calling Slack: the look finds nothing, and
    the card is posted (nothing is lost for being careful)."""
    ticket_id, row_id = open_modal_ticket(session_factory, intake_desk)
    call = dispatcher._call

    def crash_once(slack_call: SlackCall) -> Attempt:
        monkeypatch.setattr(dispatcher, "_call", call)
        raise SystemExit("killed")

    monkeypatch.setattr(dispatcher, "_call", crash_once)
    with pytest.raises(SystemExit):
        dispatcher.drain()
    assert IN_FLIGHT in load_row(session_factory, row_id).payload

    clock.advance(AFTER_THE_LEASE)
    dispatcher.drain()

    [card] = standin.messages("C0HELP")
    assert len(standin.calls("conversations.history")) == 1
    assert load_ticket(session_factory, ticket_id).card_ts == card["ts"]
    assert load_row(session_factory, row_id).status == "sent"


class _AnswerLostClient(WebClient):
    """Slack posts the message, but its answer never comes back (a read timeout)."""

    def __init__(self, api_url: str) -> None:
        super().__init__(token=TOKEN, base_url=api_url, retry_handlers=[])
        self.timed_out = False

    def api_call(self, api_method: str, **kwargs: Any) -> Any:
        response = super().api_call(api_method, **kwargs)
        if api_method == "chat.postMessage" and not self.timed_out:
            self.timed_out = True
            raise TimeoutError("The read operation timed out")
        return response


def test_card_whose_answer_timed_out_is_not_posted_again_on_retry(
    session_factory: SessionFactory,
    standin: SlackStandin,
    intake_desk: Desk,
    desk_config: DeskConfig,
    clock: ManualClock,
) -> None:
    """A timeout may hide a post that landed: the retry finds it instead of posting twice."""
    client = _AnswerLostClient(standin.url)
    dispatcher = make_dispatcher(session_factory, standin.url, desk_config, clock, client=client)
    ticket_id, row_id = open_modal_ticket(session_factory, intake_desk)

    dispatcher.drain()
    row = load_row(session_factory, row_id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error is not None and "timed out" in row.last_error

    clock.advance(timedelta(seconds=2))
    dispatcher.drain()

    [card] = standin.messages("C0HELP")
    assert len(standin.calls("chat.postMessage")) == 1
    assert load_ticket(session_factory, ticket_id).card_ts == card["ts"]
    assert load_row(session_factory, row_id).status == "sent"


def test_card_row_for_a_ticket_whose_card_is_there_updates_that_card(
    session_factory: SessionFactory,
    dispatcher: Dispatcher,
    standin: SlackStandin,
    intake_desk: Desk,
    clock: ManualClock,
) -> None:
    """A ticket has one card: a card row for it once its ts is known edits it in place."""
    ticket_id, _ = open_modal_ticket(session_factory, intake_desk)
    dispatcher.drain()
    [card] = standin.messages("C0HELP")
    with session_factory.begin() as session:
        ticket = load_ticket(session_factory, ticket_id)
        again = post_ticket_card(
            session,
            ticket,
            channel="C0HELP",
            thread_ts=None,
            fallback_user="U0ALICE",
            now=clock.now(),
        )
        again_id = again.id

    dispatcher.drain()

    assert len(standin.calls("chat.postMessage")) == 1
    [update] = standin.calls("chat.update")
    assert (update.args["channel"], update.args["ts"]) == ("C0HELP", card["ts"])
    [shown] = standin.messages("C0HELP")
    assert shown["ts"] == card["ts"] and "edited" in shown
    assert load_row(session_factory, again_id).status == "sent"
    assert load_ticket(session_factory, ticket_id).card_ts == card["ts"]
    assert event_kinds(session_factory, ticket_id).count(EventKind.CARD_POSTED) == 1


def escalate(session_factory: SessionFactory, desk: Desk, ticket_id: int) -> int:
    """Escalate a delivered ticket by the emoji on its card; returns the escalation's id."""
    ticket = load_ticket(session_factory, ticket_id)
    assert ticket.card_channel and ticket.card_ts
    with session_factory.begin() as session:
        result = escalate_by_reaction(
            session,
            desk,
            channel=ticket.card_channel,
            ts=ticket.card_ts,
            user="U0AGENT1",
            at=desk.clock.now(),
        )
        assert result is not None and result.done and result.escalation_id is not None
        return result.escalation_id


def load_escalation(session_factory: SessionFactory, escalation_id: int) -> Escalation:
    with session_factory.begin() as session:
        escalation = EscalationRepository(session).get(escalation_id)
        assert escalation is not None
        return escalation


def test_escalation_card_posted_while_the_database_went_away_appears_once(
    monkeypatch: pytest.MonkeyPatch,
    session_factory: SessionFactory,
    dispatcher: Dispatcher,
    standin: SlackStandin,
    intake_desk: Desk,
    clock: ManualClock,
) -> None:
    """Engineers see one escalation card, and its thread is the escalation's."""
    ticket_id, _ = open_modal_ticket(session_factory, intake_desk)
    dispatcher.drain()
    escalation_id = escalate(session_factory, intake_desk, ticket_id)
    lose_the_answer(monkeypatch, dispatcher, purpose=Purpose.ESCALATION_CARD)

    with pytest.raises(OperationalError):
        dispatcher.drain()
    clock.advance(AFTER_THE_LEASE)
    dispatcher.drain()

    [card] = standin.messages("C0ENG")
    assert load_escalation(session_factory, escalation_id).card_ts == card["ts"]

    # Owed again (a repeated row): the card there is edited, not posted a second time.
    with session_factory.begin() as session:
        escalation = EscalationRepository(session).get(escalation_id)
        assert escalation is not None
        post_escalation_card(session, escalation, now=clock.now())
    dispatcher.drain()
    assert [m["ts"] for m in standin.messages("C0ENG")] == [card["ts"]]
    assert [c.args["ts"] for c in standin.calls("chat.update") if c.args["channel"] == "C0ENG"]
