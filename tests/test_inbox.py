"""The event inbox over HTTP: Slack's events are answered once stored, processed by workers after,
in order per channel, once each, and a request the desk can't use is answered without a retry."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, func, select

import handlers.messages
from bot.config import DeskConfig
from bot.inbox import MAX_ATTEMPTS, InboxWorker
from bot.standin import SlackStandin
from storage.models import InboxEvent, Ticket, TicketMessage
from tests.conftest import DeskUnderTest, run_together, running_desk
from workflows.clock import ManualClock

HELP = "C0HELP"
REQUESTER = "U0ALICE"


@pytest.fixture
def quiet_desk(
    engine: Engine, standin: SlackStandin, clock: ManualClock, desk_config: DeskConfig
) -> Iterator[DeskUnderTest]:
    """A desk whose inbox is worked only when the test says so."""
    with running_desk(engine, standin, clock, desk_config, process_events=False) as running:
        yield running


def ask(desk: DeskUnderTest, text: str, **kwargs: Any) -> tuple[str, int]:
    ts = desk.standin.seed_message(HELP, user=REQUESTER, text=text, **kwargs)
    event = desk.slack.message_event(channel=HELP, user=REQUESTER, text=text, ts=ts, **kwargs)
    return ts, desk.slack.send_event(event).status


def tickets(desk: DeskUnderTest) -> list[Ticket]:
    with desk.session() as session:
        return list(session.scalars(select(Ticket).order_by(Ticket.id)))


def rows(desk: DeskUnderTest) -> list[InboxEvent]:
    with desk.session() as session:
        return list(session.scalars(select(InboxEvent).order_by(InboxEvent.id)))


def cards(desk: DeskUnderTest) -> list[dict[str, Any]]:
    return [
        m
        for m in desk.standin.messages(HELP)
        if m.get("bot_id") and m.get("text", "").startswith("Ticket #")
    ]


def second_worker(desk: DeskUnderTest) -> InboxWorker:
    """Another replica's worker on the same database (its own owner name)."""
    runtime = desk.runtime
    return InboxWorker(runtime.session_factory, runtime.inbox.process, desk.clock, runtime.metrics)


def test_slack_is_answered_before_the_event_is_processed(quiet_desk: DeskUnderTest) -> None:
    desk = quiet_desk
    _, status = ask(desk, "Where is the invoice export?")

    assert status == 200
    assert tickets(desk) == []  # nothing done yet but storing it
    [row] = rows(desk)
    assert (row.status, row.event_type, row.ordering_key) == ("pending", "message", HELP)

    assert desk.deliver() > 0
    [ticket] = tickets(desk)
    assert ticket.card_ts and len(cards(desk)) == 1
    assert rows(desk)[0].status == "done"


def test_a_retried_or_doubly_delivered_event_is_stored_once(quiet_desk: DeskUnderTest) -> None:
    desk = quiet_desk
    ts = desk.standin.seed_message(HELP, user=REQUESTER, text="SSO loops")
    event = desk.slack.message_event(channel=HELP, user=REQUESTER, text="SSO loops", ts=ts)
    for retry in (None, 1, 2):
        assert desk.slack.send_event(event, event_id="Ev0TWICE", retry_num=retry).status == 200

    assert len(rows(desk)) == 1
    desk.deliver()
    assert len(tickets(desk)) == 1 and len(cards(desk)) == 1


def test_two_workers_share_the_inbox_and_process_each_event_once(
    quiet_desk: DeskUnderTest,
) -> None:
    desk = quiet_desk
    for n in range(12):
        channel = ("C0HELP", "C0BILLING")[n % 2]
        ts = desk.standin.seed_message(channel, user=REQUESTER, text=f"question {n}")
        event = desk.slack.message_event(channel=channel, user=REQUESTER, text=f"q {n}", ts=ts)
        desk.slack.send_event(event, event_id=f"Ev0Q{n:04d}")
        desk.slack.send_event(event, event_id=f"Ev0Q{n:04d}", retry_num=1)
    other = second_worker(desk)

    run_together(desk.runtime.inbox.drain, other.drain)
    desk.deliver()

    assert len(tickets(desk)) == 12
    assert {row.status for row in rows(desk)} == {"done"}
    posted = [c for c in desk.standin.calls("chat.postMessage") if not c.failed]
    assert len([c for c in posted if "Ticket #" in str(c.args.get("text"))]) == 12


def test_a_reply_stored_with_its_question_is_processed_after_it(
    quiet_desk: DeskUnderTest,
) -> None:
    """Both arrive before either is processed, and two workers take the inbox at once: the reply
    waits for its question, so it joins the ticket instead of being lost."""
    desk = quiet_desk
    question_ts, _ = ask(desk, "The export button is greyed out")
    ask(desk, "It started after the upgrade", thread_ts=question_ts)
    other = second_worker(desk)

    run_together(desk.runtime.inbox.drain, other.drain)
    desk.deliver()

    [ticket] = tickets(desk)
    with desk.session() as session:
        said = session.scalars(
            select(TicketMessage.text).where(TicketMessage.ticket_id == ticket.id)
        ).all()
    assert "It started after the upgrade" in said


def test_a_poison_event_is_parked_without_holding_up_the_others(
    quiet_desk: DeskUnderTest, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    desk = quiet_desk
    real = handlers.messages.receive_message

    def receive(session: Any, desk_: Any, message: Any) -> Any:
        if "POISON" in message.text:
            raise RuntimeError("a bug met this message")
        return real(session, desk_, message)

    monkeypatch.setattr(handlers.messages, "receive_message", receive)
    ask(desk, "POISON: this one breaks the handler")
    ask(desk, "A good question after it")
    ask(desk, "And another")

    desk.deliver()
    assert len(tickets(desk)) == 2  # the two behind it went ahead
    for _ in range(MAX_ATTEMPTS):
        desk.clock.advance(timedelta(minutes=10))
        desk.deliver()

    poison = rows(desk)[0]
    assert poison.status == "failed" and poison.attempts == MAX_ATTEMPTS
    assert poison.last_error == "RuntimeError: a bug met this message"
    assert [r.status for r in rows(desk)[1:]] == ["done", "done"]
    parked = [r for r in caplog.records if "parked" in r.getMessage()]
    assert len(parked) == 1 and parked[0].exc_info is None

    # Fixed (the bug is gone): `supportbot inbox retry ID` runs it again, once.
    monkeypatch.setattr(handlers.messages, "receive_message", real)
    with desk.session() as session:
        from storage.inbox import InboxRepository

        assert InboxRepository(session).requeue(poison.id, now=desk.clock.now())
    assert desk.runtime.inbox.run_now(poison.id) == "done"
    desk.deliver()
    assert len(tickets(desk)) == 3


# --- requests the desk can't use -------------------------------------------------------------


def _envelope(desk: DeskUnderTest, event: Any, **changes: Any) -> dict[str, Any]:
    envelope = desk.slack.event_envelope({"type": "message"})
    envelope["event"] = event
    envelope.update(changes)
    return envelope


def _message(**fields: Any) -> dict[str, Any]:
    event = {"type": "message", "channel": HELP, "user": REQUESTER, "text": "hi", "ts": "1.2"}
    event.update(fields)
    return {k: v for k, v in event.items() if v is not ...}


HOSTILE_EVENTS: list[tuple[str, Any]] = [
    ("text is a number", _message(text=42)),
    ("text is a list", _message(text=["a", "b"])),
    ("no ts", _message(ts=...)),
    ("no channel", _message(channel=...)),
    ("ts is not a time", _message(ts="yesterday")),
    ("thread_ts is an object", _message(thread_ts={"ts": "1.2"})),
    ("event is a string", "message"),
    ("event is missing", None),
    (
        "reaction item without a channel",
        {"type": "reaction_added", "user": "U1", "reaction": "eyes", "item": {"ts": "1.2"}},
    ),
    (
        "reaction item is not an object",
        {"type": "reaction_added", "user": "U1", "reaction": "eyes", "item": "C0HELP"},
    ),
    ("edit without the message", _message(subtype="message_changed", message=...)),
    ("edit whose message is a list", _message(subtype="message_changed", message=[1])),
    ("mention without a user", {"type": "app_mention", "channel": HELP, "ts": "1.2"}),
]


@pytest.mark.parametrize(("what", "event"), HOSTILE_EVENTS, ids=[h[0] for h in HOSTILE_EVENTS])
def test_an_unusable_event_is_answered_200_and_parked(
    quiet_desk: DeskUnderTest, what: str, event: Any, caplog: pytest.LogCaptureFixture
) -> None:
    desk = quiet_desk
    caplog.set_level(logging.WARNING)
    reply = desk.slack.post_json(_envelope(desk, event))

    assert reply.status == 200
    [row] = rows(desk)
    assert row.status == "failed" and row.last_error
    assert desk.deliver() == 0 and tickets(desk) == []
    [line] = [r for r in caplog.records if r.name == "bot.inbox"]
    assert row.dedupe_key in line.getMessage() and line.exc_info is None


@pytest.mark.parametrize(
    "body",
    [b"not json at all", b'{"type": "event_callback", "event": {', b"\xff\xfe{}", b"[" * 900],
    ids=["text", "truncated", "not utf-8", "nested 900 deep"],
)
def test_a_body_that_is_not_json_is_answered_400(
    quiet_desk: DeskUnderTest, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    reply = quiet_desk.slack.post(body, "application/json")
    assert reply.status == 400
    assert rows(quiet_desk) == []
    assert not any(r.exc_info for r in caplog.records)


def test_deep_json_and_odd_ids_are_parked_not_500(quiet_desk: DeskUnderTest) -> None:
    desk = quiet_desk
    deep: Any = "x"
    for _ in range(200):
        deep = {"k": deep}
    assert desk.slack.post_json(_envelope(desk, _message(extra=deep))).status == 200
    assert desk.slack.post_json(_envelope(desk, _message(), event_id="E" * 300)).status == 200
    assert desk.slack.post_json(_envelope(desk, _message(), event_id=7)).status == 200
    assert [r.status for r in rows(desk)] == ["failed"] * 3


def test_nul_bytes_and_lone_surrogates_are_stored_cleaned(quiet_desk: DeskUnderTest) -> None:
    desk = quiet_desk
    text = "Invoice\x00 4411 \ud800 charged twice"
    ts = desk.standin.seed_message(HELP, user=REQUESTER, text="Invoice 4411 charged twice")
    event = desk.slack.message_event(channel=HELP, user=REQUESTER, text=text, ts=ts)
    body = json.dumps(desk.slack.event_envelope(event)).encode()  # "\\u0000", "\\ud800"
    assert desk.slack.post(body, "application/json").status == 200

    desk.deliver()
    [ticket] = tickets(desk)
    assert ticket.description == "Invoice 4411 \ufffd charged twice"


# --- what operators watch ----------------------------------------------------------------------


def metric_values(desk: DeskUnderTest) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    import urllib.request

    base = desk.slack.url.removesuffix("/slack/events")
    with urllib.request.urlopen(f"{base}/metrics", timeout=5) as response:
        assert response.status == 200
        text = response.read().decode()
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def test_metrics_tell_the_inbox_depth_and_what_was_processed(quiet_desk: DeskUnderTest) -> None:
    desk = quiet_desk
    ask(desk, "First question")
    ask(desk, "Second question")
    desk.clock.advance(timedelta(seconds=30))

    before = metric_values(desk)
    assert before[("supportbot_queue_pending", (("queue", "inbox"),))] == 2
    assert before[("supportbot_queue_oldest_pending_age_seconds", (("queue", "inbox"),))] == 30
    assert before[("supportbot_events_acknowledged_total", ())] == 2
    assert before[("supportbot_ack_seconds_count", (("kind", "event"),))] == 2

    desk.deliver()
    after = metric_values(desk)
    assert after[("supportbot_queue_pending", (("queue", "inbox"),))] == 0
    assert after[("supportbot_queue_pending", (("queue", "outbox"),))] == 0
    assert after[("supportbot_events_processed_total", (("outcome", "done"),))] == 2
    posted = (
        "supportbot_slack_api_calls_total",
        (("method", "chat.postMessage"), ("result", "ok")),
    )
    assert after[posted] >= 2


def test_the_inbox_count_never_double_counts_a_retry(quiet_desk: DeskUnderTest) -> None:
    desk = quiet_desk
    ts = desk.standin.seed_message(HELP, user=REQUESTER, text="Hello?")
    event = desk.slack.message_event(channel=HELP, user=REQUESTER, text="Hello?", ts=ts)
    desk.slack.send_event(event, event_id="Ev0METRIC")
    desk.slack.send_event(event, event_id="Ev0METRIC", retry_num=1)
    with desk.session() as session:
        assert session.scalar(select(func.count()).select_from(InboxEvent)) == 1
    assert metric_values(desk)[("supportbot_events_acknowledged_total", ())] == 1
