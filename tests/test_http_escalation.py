"""Escalation over HTTP: Escalate by button and modal or by emoji, the card in the engineering
channel, Take / Need info / Fixed, engineers' replies relayed to the ticket's internal thread,
Reply to engineering, de-escalation and the second line, all with signed requests."""

from __future__ import annotations

from typing import Any

from bot.slack_driver import initial_values, text_value
from storage.models import Escalation
from storage.repositories import EscalationRepository
from templates.ids import ActionId, BlockId
from tests.conftest import DeskUnderTest
from tests.test_http_customers import bot_posts, buttons, everything_said, opened_view, settle
from tests.test_http_intake import REQUESTER, open_ticket_from_message, send_message
from tests.test_http_triage import card_message, load, press

AGENT = "U0AGENT1"
ENGINEER = "U0ENGINEER"
ENG = "C0ENG"


def escalations(desk: DeskUnderTest, ticket_id: int) -> list[Escalation]:
    with desk.session() as session:
        return EscalationRepository(session).for_ticket(ticket_id)


def escalate_with_modal(desk: DeskUnderTest, ticket: Any, **changes: dict[str, Any]) -> Any:
    press(desk, ticket, ActionId.ESCALATE)
    settle()
    view = opened_view(desk)
    values = initial_values(view)
    values.update(changes)
    return desk.slack.submit_view(user=AGENT, view=view, values=values)


def test_smoke_escalate_relay_reply_fixed(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk, text="Export to CSV times out for big accounts")
    reply = escalate_with_modal(desk, ticket)
    assert reply.status == 200 and not reply.body, reply.body
    desk.deliver()
    ticket = load(desk, ticket.id)
    assert ticket.status == "escalated" and ticket.escalated and ticket.assignee == AGENT
    [escalation] = escalations(desk, ticket.id)
    assert escalation.channel == ENG and escalation.card_ts
    [card] = [m for m in bot_posts(desk, ENG) if m["ts"] == escalation.card_ts]
    said = everything_said(card)
    assert "Export to CSV times out" in said
    assert set(buttons(card)) == {
        ActionId.ESCALATION_TAKE,
        ActionId.ESCALATION_NEED_INFO,
        ActionId.ESCALATION_FIXED,
    }
    assert escalation.room_link and escalation.room_link in said

    ts = desk.standin.seed_message(
        ENG, user=ENGINEER, text="Looking <!channel>", thread_ts=escalation.card_ts
    )
    send_message(
        desk,
        channel=ENG,
        user=ENGINEER,
        text="Looking <!channel>",
        ts=ts,
        thread_ts=escalation.card_ts,
    )
    desk.deliver()
    thread = [m for m in bot_posts(desk, "C0HELP") if m.get("thread_ts") == ticket.thread_ts]
    relayed = [m for m in thread if "Looking" in m["text"]]
    assert len(relayed) == 1 and "<!channel>" not in relayed[0]["text"], thread

    card_msg = card_message(desk, ticket)
    assert ActionId.REPLY_TO_ENGINEERING in buttons(card_msg)
    press(desk, ticket, ActionId.REPLY_TO_ENGINEERING)
    settle()
    view = opened_view(desk, count=2)
    reply = desk.slack.submit_view(
        user=AGENT,
        view=view,
        values={BlockId.ENGINEERING_REPLY: {ActionId.ENGINEERING_REPLY: text_value("Account 42")}},
    )
    assert reply.status == 200 and not reply.body, reply.body
    desk.deliver()
    in_eng = [m for m in bot_posts(desk, ENG) if m.get("thread_ts") == escalation.card_ts]
    assert any("Account 42" in m["text"] for m in in_eng), in_eng

    [card] = [m for m in bot_posts(desk, ENG) if m["ts"] == escalation.card_ts]
    reply = desk.slack.press(
        user=ENGINEER,
        message=card,
        channel=ENG,
        action_id=ActionId.ESCALATION_FIXED,
        value=str(escalation.id),
    )
    assert reply.status == 200
    desk.deliver()
    ticket = load(desk, ticket.id)
    assert ticket.status == "claimed" and ticket.assignee == AGENT
    [escalation] = escalations(desk, ticket.id)
    assert escalation.state == "fixed" and escalation.fixed_at and escalation.first_response_at
    assert REQUESTER
