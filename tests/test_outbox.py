"""The outbox dispatcher against the Slack stand-in: delivery, retries, fallbacks, restarts, races.

Each test drives a `Dispatcher` by hand with a `ManualClock`: retries are checked without sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.config import DeskConfig
from bot.delivery import DeliveryHooks
from bot.outbox import LEASE, Dispatcher
from bot.slack_client import outbox_client
from bot.standin import RecordedCall, SlackStandin
from storage.db import SessionFactory, create_db_engine, create_session_factory
from storage.models import OutboxMessage, Ticket, TicketEvent
from storage.repositories import OutboxRepository, TicketRepository
from workflows.clock import ManualClock
from workflows.delivery import Purpose, post_ephemeral
from workflows.intake import Desk, IntakeRequest, open_from_modal, open_from_reaction
from workflows.vocabulary import EventKind, IssueType, Priority

TOKEN = "xoxb-standin"


# --- helpers -----------------------------------------------------------------------------------


@pytest.fixture
def session_factory(engine: Engine) -> SessionFactory:
    return create_session_factory(engine)


@pytest.fixture
def intake_desk(desk_config: DeskConfig, clock: ManualClock) -> Desk:
    return Desk(config=desk_config, clock=clock)


def make_dispatcher(
    session_factory: SessionFactory,
    api_url: str,
    desk_config: DeskConfig,
    clock: ManualClock,
    *,
    client: WebClient | None = None,
) -> Dispatcher:
    return Dispatcher(
        session_factory,
        client or outbox_client(TOKEN, api_url),
        DeliveryHooks(desk_config, clock),
        clock,
    )


@pytest.fixture
def dispatcher(
    session_factory: SessionFactory,
    standin: SlackStandin,
    desk_config: DeskConfig,
    clock: ManualClock,
) -> Dispatcher:
    return make_dispatcher(session_factory, standin.url, desk_config, clock)


def open_modal_ticket(
    session_factory: SessionFactory,
    desk: Desk,
    *,
    channel: str = "C0HELP",
    requester: str = "U0ALICE",
    description: str = "The export button does nothing",
) -> tuple[int, int]:
    """Open a /support ticket; returns (ticket id, id of its card's outbox row)."""
    request = IntakeRequest(
        requester=requester,
        channel=channel,
        issue_type=IssueType.QUESTION,
        priority=Priority.MEDIUM,
        description=description,
    )
    with session_factory.begin() as session:
        result = open_from_modal(session, desk, request)
        assert result.ticket_id is not None
        [row] = [r for r in OutboxRepository(session).pending() if r.ticket_id == result.ticket_id]
        return result.ticket_id, row.id


def enqueue_notice(
    session_factory: SessionFactory,
    clock: ManualClock,
    text: str,
    *,
    channel: str = "C0HELP",
    user: str = "U0ALICE",
) -> int:
    """Owe an ephemeral notice with a recognisable text; returns its outbox row id."""
    with session_factory.begin() as session:
        row = post_ephemeral(
            session, channel=channel, user=user, message={"text": text}, now=clock.now()
        )
        return row.id


def load_row(session_factory: SessionFactory, row_id: int) -> OutboxMessage:
    with session_factory.begin() as session:
        row = OutboxRepository(session).get(row_id)
        assert row is not None
        return row


def load_ticket(session_factory: SessionFactory, ticket_id: int) -> Ticket:
    with session_factory.begin() as session:
        ticket = TicketRepository(session).get(ticket_id)
        assert ticket is not None
        return ticket


def event_kinds(session_factory: SessionFactory, ticket_id: int) -> list[str]:
    with session_factory.begin() as session:
        events: list[TicketEvent] = list(TicketRepository(session).events(ticket_id))
        return [event.kind for event in events]


def texts(calls: list[RecordedCall]) -> list[str]:
    return [str(call.args.get("text")) for call in calls]


def delay_of(row: OutboxMessage, since: datetime) -> float:
    return (row.next_attempt_at - since).total_seconds()


def link_to(channel: str, ts: str) -> str:
    """The permalink the stand-in answers chat.getPermalink with for a top-level message."""
    return f"https://desk.slack.com/archives/{channel}/p{ts.replace('.', '')}"


# --- 1. plain delivery -------------------------------------------------------------------------


def test_ticket_card_is_delivered_once_and_recorded(
    session_factory: SessionFactory,
    dispatcher: Dispatcher,
    standin: SlackStandin,
    intake_desk: Desk,
    clock: ManualClock,
) -> None:
    """A pending card is sent exactly once; its row, ticket and event log record where it went."""
    ticket_id, row_id = open_modal_ticket(session_factory, intake_desk)

    assert dispatcher.drain() == 2  # the card, then the chat.getPermalink it leads to
    assert dispatcher.drain() == 0
    [call] = standin.calls("chat.postMessage")
    assert call.args["channel"] == "C0HELP"
    assert "thread_ts" not in call.args

    row = load_row(session_factory, row_id)
    assert row.status == "sent"
    assert row.attempts == 1
    assert row.sent_at == clock.now()
    assert row.last_error is None
    assert row.lease_owner is None and row.lease_until is None
    [posted] = standin.messages("C0HELP")
    assert row.response == {"channel": "C0HELP", "ts": posted["ts"]}

    ticket = load_ticket(session_factory, ticket_id)
    assert (ticket.card_channel, ticket.card_ts) == ("C0HELP", posted["ts"])
    # A /support ticket's card is its root message.
    assert (ticket.source_channel, ticket.source_ts) == ("C0HELP", posted["ts"])
    assert event_kinds(session_factory, ticket_id).count(EventKind.CARD_POSTED) == 1
    [link] = standin.calls("chat.getPermalink")
    assert (link.args["channel"], link.args["message_ts"]) == ("C0HELP", posted["ts"])
    assert ticket.permalink == link_to("C0HELP", posted["ts"])


def test_ephemeral_notice_keeps_message_ts(
    session_factory: SessionFactory,
    dispatcher: Dispatcher,
    standin: SlackStandin,
    clock: ManualClock,
) -> None:
    """A notice is sent with its own payload and the answer's message_ts is kept on the row."""
    row_id = enqueue_notice(session_factory, clock, "hello")

    assert dispatcher.drain() == 1
    assert dispatcher.drain() == 0
    [call] = standin.calls("chat.postEphemeral")
    assert (call.args["channel"], call.args["user"], call.args["text"]) == (
        "C0HELP",
        "U0ALICE",
        "hello",
    )
    row = load_row(session_factory, row_id)
    assert row.status == "sent"
    assert row.response is not None
    assert set(row.response) == {"message_ts"}


# --- 2. rate limits ----------------------------------------------------------------------------


def test_rate_limit_honours_retry_after_and_pauses_the_method(
    session_factory: SessionFactory,
    dispatcher: Dispatcher,
    standin: SlackStandin,
    intake_desk: Desk,
    clock: ManualClock,
) -> None:
    """A 429 reschedules the row after Retry-After and holds back that method, not the others."""
    _, first = open_modal_ticket(session_factory, intake_desk, requester="U0ALICE")
    _, second = open_modal_ticket(session_factory, intake_desk, requester="U0BOB")
    notice = enqueue_notice(session_factory, clock, "other method")
    standin.fail("chat.postMessage", status=429, retry_after=3)
    failed_at = clock.now()

    dispatcher.drain()

    row = load_row(session_factory, first)
    assert row.status == "pending"
    assert row.attempts == 1
    assert row.next_attempt_at == failed_at + timedelta(seconds=3)
    assert row.last_error == "ratelimited"
    held = load_row(session_factory, second)
    assert (held.status, held.attempts) == ("pending", 0)
    assert load_row(session_factory, notice).status == "sent"
    assert len(standin.calls("chat.postMessage")) == 1
    assert len(standin.calls("chat.postEphemeral")) == 1

    clock.advance(timedelta(seconds=2))
    assert dispatcher.drain() == 0
    assert len(standin.calls("chat.postMessage")) == 1

    clock.advance(timedelta(seconds=1))
    assert dispatcher.drain() == 4  # both cards and a chat.getPermalink for each
    assert len(standin.calls("chat.getPermalink")) == 2
    assert load_row(session_factory, first).status == "sent"
    assert load_row(session_factory, second).status == "sent"
    calls = standin.calls("chat.postMessage")
    assert len(calls) == 3
    assert [call.failed for call in calls] == [True, False, False]


# --- 3. server errors --------------------------------------------------------------------------


def test_server_error_backs_off_exponentially_then_succeeds(
    session_factory: SessionFactory,
    dispatcher: Dispatcher,
    standin: SlackStandin,
    clock: ManualClock,
) -> None:
    """HTTP 500 is retried about 1 s, then about 2 s later, and delivered once Slack is back."""
    row_id = enqueue_notice(session_factory, clock, "retry me")
    standin.fail("chat.postEphemeral", status=500, times=2)

    first_failure = clock.now()
    assert dispatcher.drain() == 1
    row = load_row(session_factory, row_id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error is not None
    first_delay = delay_of(row, first_failure)
    assert 0.8 <= first_delay <= 1.2

    assert dispatcher.drain() == 0  # not due yet
    assert len(standin.calls("chat.postEphemeral")) == 1

    second_failure = clock.advance(timedelta(seconds=1.2))
    assert dispatcher.drain() == 1
    row = load_row(session_factory, row_id)
    assert (row.status, row.attempts) == ("pending", 2)
    second_delay = delay_of(row, second_failure)
    assert 1.6 <= second_delay <= 2.4
    assert second_delay > first_delay

    clock.advance(timedelta(seconds=1))
    assert dispatcher.drain() == 0
    assert len(standin.calls("chat.postEphemeral")) == 2

    clock.advance(timedelta(seconds=1.4))
    assert dispatcher.drain() == 1
    row = load_row(session_factory, row_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)
    assert [call.status for call in standin.calls("chat.postEphemeral")] == [500, 500, 200]


# --- 4. connection errors ----------------------------------------------------------------------


def test_connection_error_is_retried_until_slack_is_reachable(
    session_factory: SessionFactory,
    dispatcher: Dispatcher,
    standin: SlackStandin,
    clock: ManualClock,
) -> None:
    """When the API can't be reached the row waits, and goes out once an API answers again."""
    row_id = enqueue_notice(session_factory, clock, "are you there")
    standin.stop()

    assert dispatcher.drain() == 1
    row = load_row(session_factory, row_id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error is not None
    assert "connection" in row.last_error.lower()
    assert row.next_attempt_at > clock.now()
    assert row.lease_until is None

    with SlackStandin() as revived:
        dispatcher.client = outbox_client(TOKEN, revived.url)
        clock.advance(timedelta(seconds=2))
        assert dispatcher.drain() == 1
        assert texts(revived.calls("chat.postEphemeral")) == ["are you there"]
    row = load_row(session_factory, row_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)


# --- 5. permanent errors -----------------------------------------------------------------------


def test_permanent_error_fails_the_row_without_retrying(
    session_factory: SessionFactory,
    dispatcher: Dispatcher,
    standin: SlackStandin,
    clock: ManualClock,
) -> None:
    """A Slack error that retrying can't fix marks the row failed and it is never sent again."""
    row_id = enqueue_notice(session_factory, clock, "lost cause")
    standin.fail("chat.postEphemeral", error="channel_not_found")

    assert dispatcher.drain() == 1
    row = load_row(session_factory, row_id)
    assert (row.status, row.attempts, row.last_error) == ("failed", 1, "channel_not_found")
    assert row.sent_at is None

    clock.advance(timedelta(hours=1))
    assert dispatcher.drain() == 0
    assert len(standin.calls("chat.postEphemeral")) == 1


# --- 6. DM fallback ----------------------------------------------------------------------------


def test_card_falls_back_to_a_dm_when_the_bot_is_not_in_the_channel(
    session_factory: SessionFactory,
    dispatcher: Dispatcher,
    standin: SlackStandin,
    intake_desk: Desk,
) -> None:
    """not_in_channel, there and in the triage channel (the next place), turns a /support card
    into a DM to the requester, which is delivered, and then says why it is there."""
    ticket_id, row_id = open_modal_ticket(session_factory, intake_desk, requester="U0ALICE")
    standin.fail("chat.postMessage", error="not_in_channel", times=2)

    # The refused card, refused again in triage, its DM, the DM's chat.getPermalink, the why.
    assert dispatcher.drain() == 5
    first, second, third, _why = standin.calls("chat.postMessage")
    assert (first.args["channel"], first.error) == ("C0HELP", "not_in_channel")
    assert (second.args["channel"], second.error) == ("C0TRIAGE", "not_in_channel")
    assert (third.args["channel"], third.error) == ("U0ALICE", None)
    assert "thread_ts" not in third.args

    row = load_row(session_factory, row_id)
    assert (row.status, row.method) == ("sent", "chat.postMessage")
    assert row.payload["channel"] == "U0ALICE"
    dm, _ = standin.messages("U0ALICE")
    ticket = load_ticket(session_factory, ticket_id)
    assert ticket.card_ts == dm["ts"]
    assert ticket.card_channel is not None and ticket.card_channel.startswith("D")
    assert EventKind.CARD_POSTED in event_kinds(session_factory, ticket_id)
    assert dispatcher.drain() == 0


def test_card_whose_dm_also_fails_ends_failed(
    session_factory: SessionFactory,
    dispatcher: Dispatcher,
    standin: SlackStandin,
    intake_desk: Desk,
    clock: ManualClock,
) -> None:
    """When the DM fallback fails too, the row ends failed instead of falling back forever."""
    ticket_id, row_id = open_modal_ticket(session_factory, intake_desk, requester="U0ALICE")
    standin.fail("chat.postMessage", error="not_in_channel", times=2)
    standin.fail("chat.postMessage", error="channel_not_found")

    assert dispatcher.drain() == 3
    assert [call.args["channel"] for call in standin.calls("chat.postMessage")] == [
        "C0HELP",
        "C0TRIAGE",
        "U0ALICE",
    ]
    row = load_row(session_factory, row_id)
    assert (row.status, row.last_error) == ("failed", "channel_not_found")
    kinds = event_kinds(session_factory, ticket_id)
    assert EventKind.CARD_DELIVERY_FAILED in kinds
    assert EventKind.CARD_POSTED not in kinds
    assert load_ticket(session_factory, ticket_id).card_ts is None

    clock.advance(timedelta(hours=1))
    assert dispatcher.drain() == 0
    assert len(standin.calls("chat.postMessage")) == 3


# --- 7. restarts and leases --------------------------------------------------------------------


@pytest.fixture
def second_engine(engine: Engine) -> Iterator[Engine]:
    """Another engine on the same database, as a restarted process would open."""
    other = create_db_engine(engine.url.render_as_string(hide_password=False))
    yield other
    other.dispose()


def test_new_dispatcher_delivers_rows_left_by_a_crash_in_id_order(
    session_factory: SessionFactory,
    second_engine: Engine,
    standin: SlackStandin,
    intake_desk: Desk,
    desk_config: DeskConfig,
    clock: ManualClock,
) -> None:
    """Rows written before a crash are all delivered, oldest first, by the next process."""
    notes = [enqueue_notice(session_factory, clock, f"note {n}") for n in range(3)]
    ticket_id, card = open_modal_ticket(session_factory, intake_desk)
    notes.append(enqueue_notice(session_factory, clock, "note 3"))
    # The process dies here: nothing was sent.

    restarted = make_dispatcher(
        create_session_factory(second_engine), standin.url, desk_config, clock
    )
    assert restarted.drain() == 6

    recorded = [c for c in standin.calls() if c.method.startswith("chat.")]
    assert [c.method for c in recorded] == ["chat.postEphemeral"] * 3 + [
        "chat.postMessage",
        "chat.postEphemeral",
        # Owed only once the card was delivered, so it is the newest row.
        "chat.getPermalink",
    ]
    assert texts(standin.calls("chat.postEphemeral")) == ["note 0", "note 1", "note 2", "note 3"]
    for row_id in [*notes, card]:
        assert load_row(session_factory, row_id).status == "sent"
    assert load_ticket(session_factory, ticket_id).card_ts is not None


def test_expired_lease_is_taken_over_but_a_live_lease_is_respected(
    session_factory: SessionFactory,
    dispatcher: Dispatcher,
    standin: SlackStandin,
    clock: ManualClock,
) -> None:
    """A row leased by a dead dispatcher is sent by another; one leased by a live one is not."""
    orphan = enqueue_notice(session_factory, clock, "orphaned")
    busy = enqueue_notice(session_factory, clock, "in flight elsewhere")
    with session_factory.begin() as session:
        outbox = OutboxRepository(session)
        dead_row = outbox.get(orphan)
        live_row = outbox.get(busy)
        assert dead_row is not None and live_row is not None
        dead_row.lease_owner = "dispatcher-dead"
        dead_row.lease_until = clock.now() - timedelta(seconds=1)
        live_row.lease_owner = "dispatcher-alive"
        live_row.lease_until = clock.now() + LEASE

    assert dispatcher.drain() == 1
    assert texts(standin.calls("chat.postEphemeral")) == ["orphaned"]
    assert load_row(session_factory, orphan).status == "sent"
    live = load_row(session_factory, busy)
    assert (live.status, live.lease_owner, live.attempts) == ("pending", "dispatcher-alive", 0)

    # At-least-once: if that dispatcher never comes back, its row goes out when the lease ends.
    clock.advance(LEASE + timedelta(seconds=1))
    assert dispatcher.drain() == 1
    assert texts(standin.calls("chat.postEphemeral")) == ["orphaned", "in flight elsewhere"]


# --- 8. per-ticket order -----------------------------------------------------------------------


def test_a_tickets_later_rows_wait_for_its_earlier_row(
    session_factory: SessionFactory,
    dispatcher: Dispatcher,
    standin: SlackStandin,
    intake_desk: Desk,
    clock: ManualClock,
) -> None:
    """While a ticket's card keeps failing, the ticket's next row is not sent ahead of it."""
    ticket_id, card = open_modal_ticket(session_factory, intake_desk)
    with session_factory.begin() as session:
        follow_up_row = OutboxRepository(session).enqueue(
            "chat.postEphemeral",
            {"channel": "C0HELP", "user": "U0ALICE", "text": "after the card"},
            now=clock.now(),
            purpose=Purpose.NOTICE,
            ticket_id=ticket_id,
        )
        follow_up = follow_up_row.id
    unrelated = enqueue_notice(session_factory, clock, "unrelated")
    standin.fail("chat.postMessage", status=500, times=3)

    for _ in range(3):
        dispatcher.drain()
        assert load_row(session_factory, card).status == "pending"
        assert load_row(session_factory, follow_up).status == "pending"
        assert texts(standin.calls("chat.postEphemeral")) == ["unrelated"]
        clock.advance(timedelta(seconds=10))

    assert dispatcher.drain() == 3  # the card, the follow-up and the card's chat.getPermalink
    assert load_row(session_factory, card).status == "sent"
    assert load_row(session_factory, follow_up).status == "sent"
    assert load_row(session_factory, unrelated).status == "sent"
    chat = [c for c in standin.calls() if c.method.startswith("chat.") and not c.failed]
    assert [c.args.get("text") for c in chat if c.method == "chat.postEphemeral"] == [
        "unrelated",
        "after the card",
    ]
    card_at = next(i for i, c in enumerate(chat) if c.method == "chat.postMessage")
    follow_up_at = next(i for i, c in enumerate(chat) if c.args.get("text") == "after the card")
    assert card_at < follow_up_at


# --- 9. concurrent dispatchers -----------------------------------------------------------------


def test_two_dispatchers_draining_together_send_each_row_once(
    session_factory: SessionFactory,
    second_engine: Engine,
    standin: SlackStandin,
    desk_config: DeskConfig,
    clock: ManualClock,
) -> None:
    """Two replicas draining the same outbox at once never send a row twice, nor skip one."""
    rows = [enqueue_notice(session_factory, clock, f"row {n}") for n in range(30)]
    dispatchers = [
        make_dispatcher(session_factory, standin.url, desk_config, clock),
        make_dispatcher(create_session_factory(second_engine), standin.url, desk_config, clock),
    ]
    start = threading.Barrier(len(dispatchers))
    made: list[int] = []
    errors: list[BaseException] = []

    def run(dispatcher: Dispatcher) -> None:
        try:
            start.wait(timeout=10)
            made.append(dispatcher.drain())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(d,)) for d in dispatchers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors
    assert sum(made) == 30
    sent = texts(standin.calls("chat.postEphemeral"))
    assert sorted(sent) == sorted(f"row {n}" for n in range(30))
    for row_id in rows:
        assert load_row(session_factory, row_id).status == "sent"


class _InterleavingClient(WebClient):
    """A client that lets another dispatcher run just before its first call goes out."""

    def __init__(self, api_url: str, before_first_call: Callable[[], object] | None) -> None:
        super().__init__(token=TOKEN, base_url=api_url, retry_handlers=[])
        self._before_first_call = before_first_call

    def api_call(self, api_method: str, **kwargs: Any) -> Any:
        hook, self._before_first_call = self._before_first_call, None
        if hook is not None:
            hook()
        return super().api_call(api_method, **kwargs)


def test_row_rescheduled_by_another_dispatcher_is_not_sent_early(
    session_factory: SessionFactory,
    standin: SlackStandin,
    desk_config: DeskConfig,
    clock: ManualClock,
) -> None:
    """A replica with a stale list of due ids must not send a row another one just rescheduled."""
    enqueue_notice(session_factory, clock, "first")
    limited = enqueue_notice(session_factory, clock, "second", channel="C0BILLING")
    other = make_dispatcher(session_factory, standin.url, desk_config, clock)
    standin.fail("chat.postEphemeral", status=429, retry_after=30)

    # `slow` lists both rows as due, then, while it sends the first, `other` sends the second
    # and Slack answers 429: the second row is now due only in 30 s.
    slow_client = _InterleavingClient(standin.url, other.drain)
    slow = make_dispatcher(session_factory, standin.url, desk_config, clock, client=slow_client)
    slow.drain()

    row = load_row(session_factory, limited)
    assert row.next_attempt_at == clock.now() + timedelta(seconds=30)
    second_calls = [c for c in standin.calls("chat.postEphemeral") if c.args["text"] == "second"]
    assert len(second_calls) == 1, "sent again inside Slack's Retry-After window"
    assert (row.status, row.attempts) == ("pending", 1)


# --- 10. reaction intake reads its message -----------------------------------------------------


def test_reaction_ticket_reads_its_message_from_history(
    session_factory: SessionFactory,
    dispatcher: Dispatcher,
    standin: SlackStandin,
    intake_desk: Desk,
    clock: ManualClock,
) -> None:
    """A reaction ticket's description comes from conversations.history; its card goes in thread."""
    ts = standin.seed_message("C0HELP", user="U0ALICE", text="Invoices are blank since Monday")
    with session_factory.begin() as session:
        result = open_from_reaction(
            session,
            intake_desk,
            channel="C0HELP",
            ts=ts,
            author="U0ALICE",
            reactor="U0AGENT1",
            reacted_at=clock.now(),
        )
        assert result.ticket_id is not None
        ticket_id = result.ticket_id

    assert dispatcher.drain() == 3  # the history read, the card and its chat.getPermalink
    [history] = standin.calls("conversations.history")
    assert history.args["channel"] == "C0HELP"
    assert standin.calls("conversations.replies") == []
    [card] = standin.calls("chat.postMessage")
    assert (card.args["channel"], card.args["thread_ts"]) == ("C0HELP", ts)
    assert card.at >= history.at

    ticket = load_ticket(session_factory, ticket_id)
    assert ticket.description == "Invoices are blank since Monday"
    assert ticket.source_thread_ts is None
    assert ticket.card_channel == "C0HELP"
    [link] = standin.calls("chat.getPermalink")
    assert (link.args["channel"], link.args["message_ts"]) == ("C0HELP", ts)
    assert ticket.permalink == link_to("C0HELP", ts)
    with session_factory.begin() as session:
        assert OutboxRepository(session).count_by_status() == {"sent": 3}


def test_reaction_on_a_thread_reply_finds_it_with_replies(
    session_factory: SessionFactory,
    dispatcher: Dispatcher,
    standin: SlackStandin,
    intake_desk: Desk,
    clock: ManualClock,
) -> None:
    """A reply isn't in history: conversations.replies reads it and the card joins its thread."""
    parent = standin.seed_message("C0HELP", user="U0BOB", text="Anyone else seeing 500s?")
    reply = standin.seed_message(
        "C0HELP", user="U0ALICE", text="Yes, checkout fails for us too", thread_ts=parent
    )
    with session_factory.begin() as session:
        result = open_from_reaction(
            session,
            intake_desk,
            channel="C0HELP",
            ts=reply,
            author="U0ALICE",
            reactor="U0AGENT1",
            reacted_at=clock.now(),
        )
        assert result.ticket_id is not None
        ticket_id = result.ticket_id

    dispatcher.drain()
    assert len(standin.calls("conversations.history")) == 1
    [replies] = standin.calls("conversations.replies")
    assert (replies.args["channel"], replies.args["ts"]) == ("C0HELP", reply)
    assert not any(key.startswith("_") for key in replies.args)
    [card] = standin.calls("chat.postMessage")
    assert (card.args["channel"], card.args["thread_ts"]) == ("C0HELP", parent)

    ticket = load_ticket(session_factory, ticket_id)
    assert ticket.description == "Yes, checkout fails for us too"
    assert (ticket.source_ts, ticket.source_thread_ts) == (reply, parent)
    # The ticket's link is to the thread it lives in, not to the reply.
    [link] = standin.calls("chat.getPermalink")
    assert (link.args["channel"], link.args["message_ts"]) == ("C0HELP", parent)
    assert ticket.permalink == link_to("C0HELP", parent)
    with session_factory.begin() as session:
        assert OutboxRepository(session).count_by_status() == {"sent": 3}


def test_reaction_on_a_reply_deep_in_a_long_thread_pages_through_replies(
    session_factory: SessionFactory,
    dispatcher: Dispatcher,
    standin: SlackStandin,
    intake_desk: Desk,
    clock: ManualClock,
) -> None:
    """A reply beyond the first page of conversations.replies is found by following the cursor."""
    parent = standin.seed_message("C0HELP", user="U0BOB", text="Release day thread")
    for n in range(1004):
        standin.seed_message("C0HELP", user="U0BOB", text=f"chatter {n}", thread_ts=parent)
    wanted = standin.seed_message(
        "C0HELP", user="U0ALICE", text="Deploy broke SSO", thread_ts=parent
    )
    with session_factory.begin() as session:
        result = open_from_reaction(
            session,
            intake_desk,
            channel="C0HELP",
            ts=wanted,
            author="U0ALICE",
            reactor="U0AGENT1",
            reacted_at=clock.now(),
        )
        assert result.ticket_id is not None
        ticket_id = result.ticket_id

    dispatcher.drain()
    first_page, second_page = standin.calls("conversations.replies")
    assert "cursor" not in first_page.args
    assert second_page.args["cursor"]
    ticket = load_ticket(session_factory, ticket_id)
    assert (ticket.description, ticket.source_thread_ts) == ("Deploy broke SSO", parent)
    [card] = standin.calls("chat.postMessage")
    assert card.args["thread_ts"] == parent


# --- dropped rows ------------------------------------------------------------------------------


def test_card_of_a_deleted_ticket_is_dropped_and_released(
    session_factory: SessionFactory,
    dispatcher: Dispatcher,
    standin: SlackStandin,
    intake_desk: Desk,
    clock: ManualClock,
) -> None:
    """A card whose ticket is gone is never sent, and its row ends dropped with no lease held."""
    ticket_id, row_id = open_modal_ticket(session_factory, intake_desk)
    with session_factory.begin() as session:
        ticket = TicketRepository(session).get(ticket_id)
        session.delete(ticket)

    assert dispatcher.drain() == 0
    clock.advance(LEASE * 2)
    assert dispatcher.drain() == 0
    assert standin.calls("chat.postMessage") == []
    row = load_row(session_factory, row_id)
    assert (row.status, row.ticket_id, row.sent_at) == ("dropped", None, None)
    assert (row.lease_owner, row.lease_until) == (None, None), "the dropped row still looks leased"


# --- 10. a running dispatcher's senders -----------------------------------------------------------


def test_a_running_dispatcher_sends_several_tickets_at_once_each_in_order(
    session_factory: SessionFactory,
    standin: SlackStandin,
    desk_config: DeskConfig,
    intake_desk: Desk,
    clock: ManualClock,
) -> None:
    """Slack's latency is paid once per pass, not once per row: rows of different tickets go out
    together, while each ticket's rows, and the rows of no ticket, keep their order."""
    tickets = [open_modal_ticket(session_factory, intake_desk)[0] for _ in range(4)]
    with session_factory.begin() as session:
        for ticket_id in tickets:
            OutboxRepository(session).enqueue(
                "chat.postEphemeral",
                {"channel": "C0HELP", "user": "U0ALICE", "text": f"after the card of {ticket_id}"},
                now=clock.now(),
                purpose=Purpose.NOTICE,
                ticket_id=ticket_id,
            )
    for n in range(3):
        enqueue_notice(session_factory, clock, f"no ticket {n}")
    standin.latency = 0.3
    dispatcher = Dispatcher(
        session_factory,
        outbox_client(TOKEN, standin.url),
        DeliveryHooks(desk_config, clock),
        clock,
        senders=4,
    )
    started = time.monotonic()
    try:
        while time.monotonic() - started < 30:
            with session_factory.begin() as session:
                if not OutboxRepository(session).pending():
                    break
            dispatcher.deliver_due()
    finally:
        dispatcher.stop()
    elapsed = time.monotonic() - started
    calls = [c for c in standin.calls() if not c.failed]
    # 4 cards + 4 permalinks + 4 notices + 3 ticketless notices: 15 calls at 0.3 s each, 4.5 s
    # one at a time; in lanes the longest (a ticket's three, or the three of no ticket) is 0.9 s.
    assert len(calls) == 15
    assert elapsed < 15 * 0.3 * 0.75, f"{elapsed:.2f} s: the calls went one at a time"
    texts_sent = [c.args.get("text") for c in calls if c.method == "chat.postEphemeral"]
    assert [t for t in texts_sent if t.startswith("no ticket")] == [
        "no ticket 0",
        "no ticket 1",
        "no ticket 2",
    ]
    for ticket_id in tickets:
        card = load_ticket(session_factory, ticket_id)
        assert card.card_ts is not None
        posted_at = next(
            i
            for i, c in enumerate(calls)
            if c.method == "chat.postMessage"
            and c.args.get("text", "").startswith(f"Ticket #{card.id} ")
        )
        notice_at = next(
            i for i, c in enumerate(calls) if c.args.get("text") == f"after the card of {ticket_id}"
        )
        assert posted_at < notice_at
