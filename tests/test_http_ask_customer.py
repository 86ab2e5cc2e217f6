"""Ask customer over HTTP: the card's button opens a form; the question reaches the requester's
thread (in the agent's name for a colleague, the team's for a customer), counts as the first
response, and the ticket waits on the requester with its resolution clock paused until they
answer. Non-agents are refused and nothing is posted."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.slack_driver import Reply, text_value
from storage.models import Ticket
from storage.repositories import TicketRepository
from templates.ids import ActionId, BlockId, CallbackId
from tests.conftest import DeskUnderTest
from workflows.clock import datetime_to_slack_ts

AGENT, SALES, REQUESTER = "U0AGENT1", "U0SALES", "U0ALICE"
CUSTOMER, CUSTOMER_TEAM = "U0ACMEJO", "T0ACME"
HELP, ACME, TRIAGE = "C0HELP", "C0ACME", "C0TRIAGE"
# Monday 23 Nov 2026, 10:00 in New York: inside business hours.
MONDAY_10 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def post(
    desk: DeskUnderTest,
    channel: str,
    user: str,
    text: str,
    *,
    at: datetime,
    thread_ts: str | None = None,
    team: str | None = None,
) -> str:
    desk.clock.set(at)
    ts = desk.standin.seed_message(
        channel, user=user, text=text, thread_ts=thread_ts, ts=datetime_to_slack_ts(at)
    )
    event = desk.slack.message_event(
        channel=channel, user=user, text=text, ts=ts, thread_ts=thread_ts, user_team=team
    )
    reply = desk.slack.send_event(event, shared=channel == ACME)
    assert reply.status == 200, reply.body
    desk.deliver()
    return ts


def latest(desk: DeskUnderTest) -> Ticket:
    with desk.session() as session:
        found = list(TicketRepository(session).list_created_between(None, None))
        return max(found, key=lambda t: t.id)


def load(desk: DeskUnderTest, ticket_id: int) -> Ticket:
    with desk.session() as session:
        ticket = TicketRepository(session).get(ticket_id)
        assert ticket is not None
        return ticket


def card(desk: DeskUnderTest, ticket: Ticket) -> dict[str, Any]:
    [found] = [
        m for m in desk.standin.messages(ticket.card_channel or "") if m["ts"] == ticket.card_ts
    ]
    return found


def press_ask(desk: DeskUnderTest, ticket: Ticket, *, user: str = AGENT) -> Reply:
    reply = desk.slack.press(
        user=user,
        message=card(desk, ticket),
        channel=ticket.card_channel or "",
        action_id=ActionId.ASK_CUSTOMER,
        value=str(ticket.id),
    )
    assert reply.status == 200, reply.body
    return reply


def ask_form(desk: DeskUnderTest) -> dict[str, Any]:
    [call] = desk.standin.wait_for("views.open")[-1:]
    assert not call.failed, call.error
    [view] = [v for v in desk.standin.views.values() if v["callback_id"] == CallbackId.ASK_MODAL]
    return dict(view)


def submit(desk: DeskUnderTest, view: dict[str, Any], text: str, *, at: datetime) -> Reply:
    desk.clock.set(at)
    reply = desk.slack.submit_view(
        user=AGENT, view=view, values={BlockId.REPLY: {ActionId.REPLY_INPUT: text_value(text)}}
    )
    assert reply.status == 200, reply.body
    desk.deliver()
    return reply


def card_words(message: dict[str, Any]) -> str:
    return "\n".join(
        element.get("text", "")
        for block in message.get("blocks", [])
        for element in block.get("elements", [])
        if isinstance(element.get("text"), str)
    )


def test_ask_customer_sends_the_question_pauses_the_clock_and_the_answer_resumes_it(
    desk: DeskUnderTest,
) -> None:
    root = post(desk, HELP, REQUESTER, "The export button does nothing", at=MONDAY_10)
    ticket = latest(desk)
    before = ticket.resolution_due_at
    assert ticket.first_response_due_at == datetime(2026, 11, 23, 19, 0, tzinfo=UTC)  # 14:00 NY
    assert "Ask customer" in str(card(desk, ticket)["blocks"])

    desk.clock.set(MONDAY_10 + timedelta(minutes=30))
    press_ask(desk, ticket)
    view = ask_form(desk)
    assert view["title"]["text"].startswith("Ask on #")
    reply = submit(desk, view, "Which browser? <!here>", at=MONDAY_10 + timedelta(minutes=31))
    assert reply.json() in (None, {}) or "errors" not in (reply.json() or {})

    [question] = [
        m
        for m in desk.standin.messages(HELP)
        if m.get("bot_id") and m.get("thread_ts") == root and "Which browser" in m["text"]
    ]
    assert question["text"] == f"<@{AGENT}>: Which browser? &lt;!here&gt;"
    asked = load(desk, ticket.id)
    assert asked.status == "waiting_on_customer"
    assert asked.assignee == AGENT
    assert asked.first_response_at == MONDAY_10 + timedelta(minutes=31)
    assert asked.first_response_seconds == 31 * 60
    assert asked.sla_state == "paused"
    assert "paused while waiting on the requester" in card_words(card(desk, asked))

    # Two business hours later the requester answers: the due time moves out by two hours.
    post(
        desk,
        HELP,
        REQUESTER,
        "Firefox",
        at=MONDAY_10 + timedelta(hours=2, minutes=31),
        thread_ts=root,
    )
    resumed = load(desk, ticket.id)
    assert resumed.status == "claimed"
    assert before is not None and resumed.resolution_due_at == before + timedelta(hours=2)
    assert resumed.sla_state == "ok"


def test_ask_customer_on_a_customer_ticket_speaks_for_the_team(desk: DeskUnderTest) -> None:
    root = post(desk, ACME, CUSTOMER, "Invoices page is blank", at=MONDAY_10, team=CUSTOMER_TEAM)
    ticket = latest(desk)
    assert ticket.bridged and ticket.card_channel == TRIAGE
    press_ask(desk, ticket)
    submit(desk, ask_form(desk), "Since when?", at=MONDAY_10 + timedelta(minutes=5))
    said = [
        m for m in desk.standin.messages(ACME) if m.get("bot_id") and m.get("thread_ts") == root
    ]
    assert [m["text"] for m in said if "Since when" in m["text"]] == ["Since when?"]
    assert all(AGENT not in m["text"] for m in said)
    assert load(desk, ticket.id).status == "waiting_on_customer"


def test_an_empty_question_is_a_form_error(desk: DeskUnderTest) -> None:
    post(desk, HELP, REQUESTER, "Help with the API", at=MONDAY_10)
    ticket = latest(desk)
    press_ask(desk, ticket)
    reply = submit(desk, ask_form(desk), "   ", at=MONDAY_10 + timedelta(minutes=1))
    assert reply.json()["response_action"] == "errors"
    assert "question" in reply.json()["errors"][BlockId.REPLY]
    assert load(desk, ticket.id).status == "open"


def test_a_non_agent_pressing_ask_customer_is_told_privately(desk: DeskUnderTest) -> None:
    post(desk, HELP, REQUESTER, "Need a hand", at=MONDAY_10)
    ticket = latest(desk)
    press_ask(desk, ticket, user=SALES)
    desk.deliver()
    time.sleep(0.3)  # the lazy listener would open the form now; it must not
    assert desk.standin.calls("views.open") == []
    [told] = desk.standin.ephemeral_messages(HELP, user=SALES)
    assert "Only support agents can ask requesters questions" in told["text"]
    assert load(desk, ticket.id).status == "open"
