"""Escalation over HTTP: Escalate by button and modal or by emoji, the card in the engineering
channel, Take / Need info / Fixed, engineers' replies relayed to the ticket's internal thread,
Reply to engineering, de-escalation and the second line, all with signed requests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.config import parse_config
from bot.slack_driver import Reply, initial_values, select_value, text_value
from bot.standin import SlackStandin
from storage.models import Escalation, OutboxMessage, Ticket
from storage.repositories import EscalationRepository, TicketRepository
from templates.ids import ActionId, BlockId, CallbackId, MoreOption
from tests.conftest import TEST_CONFIG, DeskUnderTest, running_desk
from tests.test_http_customers import (
    ACME,
    CUSTOMER,
    CUSTOMER_TEAM,
    TRIAGE,
    ask,
    bot_posts,
    buttons,
    customer_thread,
    everything_said,
    opened_view,
    room,
    settle,
)
from tests.test_http_intake import REQUESTER, open_ticket_from_message, send_message
from tests.test_http_triage import card_message, kinds, load, press, react
from workflows.clock import ManualClock, datetime_to_slack_ts
from workflows.export import export_records

AGENT = "U0AGENT1"
AGENT2 = "U0AGENT2"
NOT_AGENT = "U0BOB"
ENGINEER = "U0ENGINEER"
ENGINEER2 = "U0ENGINEER2"
ENG, ENG_API = "C0ENG", "C0ENGAPI"
HELP = "C0HELP"
OTHER_TEAM = "T0OTHER"


# --- helpers -----------------------------------------------------------------------------------


@pytest.fixture
def custom_desk(engine: Engine, standin: SlackStandin, clock: ManualClock) -> Callable[..., Any]:
    """A desk with config changes on top of the test config."""

    def start(**changes: Any) -> Any:
        return running_desk(engine, standin, clock, parse_config({**TEST_CONFIG, **changes}))

    return start


def escalations(desk: DeskUnderTest, ticket_id: int) -> list[Escalation]:
    with desk.session() as session:
        return EscalationRepository(session).for_ticket(ticket_id)


def escalation(desk: DeskUnderTest, escalation_id: int) -> Escalation:
    with desk.session() as session:
        found = EscalationRepository(session).get(escalation_id)
        assert found is not None
        return found


def views_opened(desk: DeskUnderTest) -> int:
    return len(desk.standin.calls("views.open"))


def open_modal(desk: DeskUnderTest, act: Callable[[], Any]) -> dict[str, Any]:
    """Do what opens a modal (a press, a shortcut) and return the view Slack holds for it."""
    before = views_opened(desk)
    act()
    settle()
    return opened_view(desk, count=before + 1)


def escalate_with_modal(desk: DeskUnderTest, ticket: Any, **changes: dict[str, Any]) -> Reply:
    view = open_modal(desk, lambda: press(desk, ticket, ActionId.ESCALATE))
    values = initial_values(view)
    values.update(changes)
    reply = desk.slack.submit_view(user=AGENT, view=view, values=values)
    assert reply.status == 200, reply.body
    return reply


def to_target(value: str) -> dict[str, Any]:
    return {BlockId.ESCALATION_TARGET: {ActionId.ESCALATION_TARGET: select_value(value)}}


def reply_values(text: str, escalation_id: int | None = None) -> dict[str, dict[str, Any]]:
    """The Reply to engineering modal's answers."""
    values: dict[str, dict[str, Any]] = {
        BlockId.ENGINEERING_REPLY: {ActionId.ENGINEERING_REPLY: text_value(text)}
    }
    if escalation_id is not None:
        values[BlockId.ENGINEERING_ESCALATION] = {
            ActionId.ENGINEERING_ESCALATION: select_value(str(escalation_id))
        }
    return values


def errors_of(reply: Reply) -> dict[str, str]:
    body = reply.json()
    assert body and body["response_action"] == "errors", reply.body
    return dict(body["errors"])


def closes(reply: Reply) -> bool:
    return reply.status == 200 and not reply.body


def new_ticket(desk: DeskUnderTest, text: str, *, user: str = REQUESTER) -> Ticket:
    """A question in #help from `user`, delivered; the newest ticket."""
    ts = desk.standin.seed_message(HELP, user=user, text=text)
    reply, _ = send_message(desk, channel=HELP, user=user, text=text, ts=ts)
    assert reply.status == 200
    desk.deliver()
    with desk.session() as session:
        newest = max(TicketRepository(session).list_created_between(None, None), key=lambda t: t.id)
    return load(desk, newest.id)


def eng_card(desk: DeskUnderTest, found: Escalation) -> dict[str, Any]:
    assert found.channel and found.card_ts, "the escalation card never landed"
    [card] = [m for m in bot_posts(desk, found.channel) if m["ts"] == found.card_ts]
    return card


def eng_thread(desk: DeskUnderTest, found: Escalation) -> list[dict[str, Any]]:
    """What the bot said in the escalation's thread, card excluded."""
    assert found.channel
    return [
        m
        for m in bot_posts(desk, found.channel)
        if m.get("thread_ts") == found.card_ts and m["ts"] != found.card_ts
    ]


def internal_room(desk: DeskUnderTest, ticket: Ticket) -> list[dict[str, Any]]:
    """What the bot said in an internal ticket's own thread, its card excluded."""
    return [
        m
        for m in bot_posts(desk, HELP)
        if m.get("thread_ts") == ticket.thread_ts and m["ts"] != ticket.card_ts
    ]


def engineer_says(
    desk: DeskUnderTest,
    found: Escalation,
    text: str,
    *,
    user: str = ENGINEER,
    ts: str | None = None,
    thread_ts: str | None = "card",
    event_id: str | None = None,
    retry_num: int | None = None,
) -> str:
    """Someone writes in the engineering channel (by default a reply in the card's thread)."""
    assert found.channel
    root = found.card_ts if thread_ts == "card" else thread_ts
    if ts is None:
        ts = desk.standin.seed_message(found.channel, user=user, text=text, thread_ts=root)
    reply, _ = send_message(
        desk,
        channel=found.channel,
        user=user,
        text=text,
        ts=ts,
        thread_ts=root,
        event_id=event_id,
        retry_num=retry_num,
    )
    assert reply.status == 200, reply.body
    return ts


def press_step(
    desk: DeskUnderTest,
    found: Escalation,
    action_id: str,
    *,
    user: str = ENGINEER,
    message: dict[str, Any] | None = None,
    **kw: Any,
) -> None:
    """An engineer presses a button of the escalation card."""
    assert found.channel
    reply = desk.slack.press(
        user=user,
        message=message or eng_card(desk, found),
        channel=found.channel,
        action_id=action_id,
        value=str(found.id),
        block_id=BlockId.ESCALATION_ACTIONS,
        **kw,
    )
    assert reply.status == 200, reply.body


def choose_de_escalate(desk: DeskUnderTest, ticket: Ticket, *, label: str) -> dict[str, Any]:
    """The card's overflow option De-escalate / Pass back: the modal it opens."""
    ticket = load(desk, ticket.id)
    message = card_message(desk, ticket)
    [menu] = [
        element
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["type"] == "overflow"
    ]
    value = f"{MoreOption.DE_ESCALATE}{ticket.id}"
    assert (label, value) in [(o["text"]["text"], o["value"]) for o in menu["options"]]

    def choose() -> None:
        reply = desk.slack.press(
            user=AGENT,
            message=message,
            channel=ticket.card_channel or "",
            action_id=ActionId.MORE,
            selected_value=value,
        )
        assert reply.status == 200, reply.body

    view = open_modal(desk, choose)
    assert view["callback_id"] == CallbackId.DE_ESCALATE_MODAL
    return view


def de_escalate_values(
    view: dict[str, Any], keep: list[int], note: str | None = None
) -> dict[str, dict[str, Any]]:
    [boxes] = [b for b in view["blocks"] if b.get("block_id") == BlockId.DE_ESCALATE]
    chosen = [o for o in boxes["element"]["options"] if int(o["value"]) in keep]
    return {
        BlockId.DE_ESCALATE: {
            ActionId.DE_ESCALATE: {"type": "checkboxes", "selected_options": chosen}
        },
        BlockId.DE_ESCALATE_NOTE: {ActionId.DE_ESCALATE_NOTE: text_value(note or "")},
    }


def outbox_rows(desk: DeskUnderTest) -> list[OutboxMessage]:
    with desk.session() as session:
        return list(session.scalars(select(OutboxMessage)).all())


def now_ts(desk: DeskUnderTest, offset: float = 0.0) -> str:
    """Slack's time `offset` seconds from the desk's now."""
    return datetime_to_slack_ts(desk.clock.now() + timedelta(seconds=offset))


# --- 1. button and modal -----------------------------------------------------------------------


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


def test_the_modal_is_prefilled_and_the_room_and_card_say_where_it_went(
    desk: DeskUnderTest,
) -> None:
    ticket = open_ticket_from_message(desk, text="Webhooks are late\nSince 9am, about 5 minutes")
    view = open_modal(desk, lambda: press(desk, ticket, ActionId.ESCALATE))
    assert view["callback_id"] == CallbackId.ESCALATE_MODAL
    values = initial_values(view)
    target = values[BlockId.ESCALATION_TARGET][ActionId.ESCALATION_TARGET]
    assert target["selected_option"]["value"] == "engineering:default"
    [target_block] = [b for b in view["blocks"] if b.get("block_id") == BlockId.ESCALATION_TARGET]
    assert [o["value"] for o in target_block["element"]["options"]] == [
        "engineering:default",
        "engineering:Billing",
        "engineering:API",
    ]
    assert values[BlockId.SUMMARY][ActionId.SUMMARY]["value"] == "Webhooks are late"
    assert "about 5 minutes" in values[BlockId.STEPS][ActionId.STEPS]["value"]
    assert values[BlockId.SEVERITY][ActionId.SEVERITY]["selected_option"]["value"].startswith("sev")

    reply = desk.slack.submit_view(user=AGENT, view=view, values=values)
    assert closes(reply), reply.body
    desk.deliver()

    [notice] = [m for m in internal_room(desk, ticket) if "escalated" in m["text"]]
    assert f"<@{AGENT}> escalated {ticket.ref}" in notice["text"] and f"<#{ENG}>" in notice["text"]
    card = card_message(desk, load(desk, ticket.id))
    assert "Escalated to *Engineering*" in everything_said(card)
    assert ActionId.REPLY_TO_ENGINEERING in buttons(card)
    assert "escalated" in kinds(desk, ticket.id)


# --- 2. the escalate emoji ---------------------------------------------------------------------


def test_escalate_emoji_on_the_message_and_on_the_card(desk: DeskUnderTest) -> None:
    first = new_ticket(desk, "Login page is blank")
    second = new_ticket(desk, "Reports are empty", user="U0CAROL")

    react(
        desk,
        user=AGENT,
        reaction="rotating_light",
        channel=HELP,
        ts=str(first.source_ts),
        event_id="Ev0ESC1",
    )
    # Slack retries the same event: still one escalation.
    event = desk.slack.reaction_event(
        user=AGENT,
        reaction="rotating_light",
        channel=HELP,
        ts=str(first.source_ts),
        item_user=REQUESTER,
        event_ts=desk.standin.next_ts(),
    )
    assert desk.slack.send_event(event, event_id="Ev0ESC1", retry_num=1).status == 200
    # On the card of the other ticket.
    react(
        desk,
        user=AGENT2,
        reaction="rotating_light",
        channel=HELP,
        ts=str(second.card_ts),
        item_user="U0BOT",
    )
    desk.deliver()

    [one] = escalations(desk, first.id)
    [two] = escalations(desk, second.id)
    assert (one.kind, one.target, one.channel, one.escalated_by) == (
        "engineering",
        "default",
        ENG,
        AGENT,
    )
    assert (two.target, two.escalated_by) == ("default", AGENT2)
    assert "Login page is blank" in everything_said(eng_card(desk, one))
    assert "Reports are empty" in everything_said(eng_card(desk, two))
    first, second = load(desk, first.id), load(desk, second.id)
    assert (first.status, first.assignee, first.escalated) == ("escalated", AGENT, True)
    assert (second.status, second.assignee) == ("escalated", AGENT2)
    [logged] = [e for e in kinds(desk, first.id) if e == "escalated"]
    assert logged

    # A second emoji (another agent, a new event) changes nothing.
    posts_before = len(bot_posts(desk, ENG))
    react(desk, user=AGENT2, reaction="rotating_light", channel=HELP, ts=str(first.source_ts))
    desk.deliver()
    assert len(escalations(desk, first.id)) == 1
    assert len(bot_posts(desk, ENG)) == posts_before
    assert kinds(desk, first.id).count("escalated") == 1


def test_escalate_emoji_goes_to_the_products_engineering(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk, text="Webhook signatures don't verify")
    with desk.session() as session:
        stored = TicketRepository(session).get(ticket.id)
        assert stored is not None
        stored.product = "API"
    react(desk, user=AGENT, reaction="rotating_light", channel=HELP, ts=str(ticket.source_ts))
    desk.deliver()
    [found] = escalations(desk, ticket.id)
    assert (found.target, found.channel) == ("API", ENG_API)
    assert "Webhook signatures" in everything_said(eng_card(desk, found))
    assert bot_posts(desk, ENG) == []


def test_escalate_emoji_by_a_non_agent_is_refused_privately(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk)
    react(desk, user=NOT_AGENT, reaction="rotating_light", channel=HELP, ts=str(ticket.source_ts))
    desk.deliver()

    assert escalations(desk, ticket.id) == []
    assert load(desk, ticket.id).status == "open"
    [refusal] = desk.standin.ephemeral_messages(HELP, user=NOT_AGENT)
    assert refusal["text"].startswith("Only support agents can escalate tickets")
    assert refusal.get("thread_ts") == ticket.thread_ts
    assert bot_posts(desk, ENG) == []


def test_escalate_emoji_by_someone_of_another_workspace_is_ignored(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk)
    event = desk.slack.reaction_event(
        user="U0STRANGER",
        reaction="rotating_light",
        channel=HELP,
        ts=str(ticket.source_ts),
        item_user=REQUESTER,
        event_ts=desk.standin.next_ts(),
    )
    event["user_team"] = OTHER_TEAM
    assert desk.slack.send_event(event).status == 200
    desk.deliver()
    assert escalations(desk, ticket.id) == []
    assert desk.standin.ephemeral_messages() == []


# --- 3. the modal's checks and refusals --------------------------------------------------------


def test_escalate_modal_errors_are_shown_under_their_fields(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk, text="Search returns nothing")
    view = open_modal(desk, lambda: press(desk, ticket, ActionId.ESCALATE))

    def submit(**changes: Any) -> Reply:
        values = initial_values(view)
        values.update(changes)
        reply = desk.slack.submit_view(user=AGENT, view=view, values=values)
        assert reply.status == 200, reply.body
        return reply

    summary = BlockId.SUMMARY
    errors = errors_of(submit(**{summary: {ActionId.SUMMARY: text_value("   ")}}))
    assert set(errors) == {BlockId.SUMMARY}
    errors = errors_of(submit(**{summary: {ActionId.SUMMARY: text_value("x" * 151)}}))
    assert set(errors) == {BlockId.SUMMARY} and "150" in errors[BlockId.SUMMARY]
    errors = errors_of(submit(**to_target("engineering:Mobile")))
    assert set(errors) == {BlockId.ESCALATION_TARGET}
    no_target = {"type": "static_select", "selected_option": None}
    errors = errors_of(
        submit(**{BlockId.ESCALATION_TARGET: {ActionId.ESCALATION_TARGET: no_target}})
    )
    assert set(errors) == {BlockId.ESCALATION_TARGET}
    no_severity = {"type": "static_select", "selected_option": None}
    errors = errors_of(submit(**{BlockId.SEVERITY: {ActionId.SEVERITY: no_severity}}))
    assert set(errors) == {BlockId.SEVERITY}
    errors = errors_of(submit(**{BlockId.SCALE: {ActionId.SCALE: text_value("y" * 201)}}))
    assert set(errors) == {BlockId.SCALE}
    desk.deliver()
    assert escalations(desk, ticket.id) == []
    assert load(desk, ticket.id).status == "open"
    assert bot_posts(desk, ENG) == []

    # Escalated once; the same target again is an error on the target, another one is fine.
    assert closes(submit())
    again = open_modal(desk, lambda: press(desk, ticket, ActionId.ESCALATE))
    assert "Already escalated to Engineering" in everything_said(again)
    values = initial_values(again)
    reply = desk.slack.submit_view(user=AGENT, view=again, values=values)
    errors = errors_of(reply)
    assert set(errors) == {BlockId.ESCALATION_TARGET}
    assert "already with Engineering" in errors[BlockId.ESCALATION_TARGET]
    desk.deliver()
    assert len(escalations(desk, ticket.id)) == 1
    assert len([m for m in bot_posts(desk, ENG) if "thread_ts" not in m]) == 1


def test_escalate_is_refused_to_non_agents_and_on_resolved_tickets(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk)
    press(desk, ticket, ActionId.ESCALATE, user=NOT_AGENT)
    settle()
    desk.deliver()
    assert views_opened(desk) == 0
    [refusal] = desk.standin.ephemeral_messages(HELP, user=NOT_AGENT)
    assert refusal["text"].startswith("Only support agents can escalate tickets")

    # A modal opened before the ticket was resolved is refused on submission.
    view = open_modal(desk, lambda: press(desk, ticket, ActionId.ESCALATE))
    press(desk, ticket, ActionId.RESOLVE)
    desk.deliver()
    assert load(desk, ticket.id).status == "resolved"
    assert ActionId.ESCALATE not in buttons(card_message(desk, load(desk, ticket.id)))
    reply = desk.slack.submit_view(user=AGENT, view=view, values=initial_values(view))
    errors = errors_of(reply)
    assert "resolved" in errors[BlockId.ESCALATION_TARGET]

    # Pressing Escalate on the resolved ticket (a stale card) is refused privately.
    opened = views_opened(desk)
    press(desk, ticket, ActionId.ESCALATE)
    settle()
    desk.deliver()
    assert views_opened(desk) == opened
    [resolved] = desk.standin.ephemeral_messages(HELP, user=AGENT)
    assert "is resolved: reopen it before escalating" in resolved["text"]
    assert escalations(desk, ticket.id) == []
    assert bot_posts(desk, ENG) == []


# --- 4. engineers' replies ---------------------------------------------------------------------


def test_engineers_replies_are_relayed_once_and_escaped(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk, text="Bulk import fails")
    escalate_with_modal(desk, ticket)
    desk.deliver()
    [found] = escalations(desk, ticket.id)
    assert found.first_response_at is None

    text = "Found it <!channel>, ask <@U123> & check <https://evil.example|this>"
    ts = engineer_says(desk, found, text, event_id="Ev0REL1")
    engineer_says(desk, found, text, ts=ts, event_id="Ev0REL1", retry_num=1)  # Slack's retry
    engineer_says(desk, found, text, ts=ts, event_id="Ev0REL2")  # delivered twice
    desk.deliver()

    relayed = [m for m in internal_room(desk, ticket) if "Found it" in m["text"]]
    assert len(relayed) == 1, relayed
    said = relayed[0]["text"]
    assert f"<@{ENGINEER}> replied" in said
    assert "<!channel>" not in said and "<@U123>" not in said and "<https://evil" not in said
    assert "&lt;!channel&gt;" in said and "&lt;@U123&gt;" in said
    with desk.session() as session:
        messages = EscalationRepository(session).messages(found.id)
        assert [(m.direction, m.channel, m.ts, m.author) for m in messages] == [
            ("from_engineering", ENG, ts, ENGINEER)
        ]
    found = escalation(desk, found.id)
    assert found.first_response_at is not None
    assert kinds(desk, ticket.id).count("engineering_replied") == 1
    assert kinds(desk, ticket.id).count("engineering_responded") == 1

    # A later reply is relayed too; the first response stays the first.
    first = found.first_response_at
    engineer_says(desk, found, "Deploying a fix", user=ENGINEER2)
    desk.deliver()
    assert any("Deploying a fix" in m["text"] for m in internal_room(desk, ticket))
    assert escalation(desk, found.id).first_response_at == first


def test_messages_outside_the_escalation_thread_relay_nothing(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk)
    escalate_with_modal(desk, ticket)
    desk.deliver()
    [found] = escalations(desk, ticket.id)
    room_before = len(internal_room(desk, ticket))

    engineer_says(desk, found, "Deploy at 5pm, everyone", thread_ts=None)  # top level
    other = desk.standin.seed_message(ENG, user=ENGINEER2, text="Standup notes")
    engineer_says(desk, found, "Thanks for the notes", thread_ts=other)  # another thread
    desk.deliver()

    assert len(internal_room(desk, ticket)) == room_before
    with desk.session() as session:
        assert list(EscalationRepository(session).messages(found.id)) == []
        assert len(list(TicketRepository(session).list_created_between(None, None))) == 1
    assert escalation(desk, found.id).first_response_at is None


# --- 5. Take, Need info, Fixed -----------------------------------------------------------------


def test_take_need_info_and_fixed(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk, text="Dashboard shows stale numbers")
    escalate_with_modal(desk, ticket)
    desk.deliver()
    [found] = escalations(desk, ticket.id)
    original_card = eng_card(desk, found)

    press_step(desk, found, ActionId.ESCALATION_TAKE)
    desk.deliver()
    found = escalation(desk, found.id)
    assert (found.state, found.taken_by) == ("taken", ENGINEER)
    assert found.taken_at and found.first_response_at
    card = eng_card(desk, found)
    assert set(buttons(card)) == {ActionId.ESCALATION_NEED_INFO, ActionId.ESCALATION_FIXED}
    assert f"<@{ENGINEER}> took it" in everything_said(card)
    assert f"<@{ENGINEER}> has it" in everything_said(card_message(desk, load(desk, ticket.id)))
    assert any(f"<@{ENGINEER}> took" in m["text"] for m in internal_room(desk, ticket))

    # Another engineer takes it over (from a card still showing Take).
    press_step(desk, found, ActionId.ESCALATION_TAKE, user=ENGINEER2, message=original_card)
    desk.deliver()
    assert escalation(desk, found.id).taken_by == ENGINEER2
    assert any(f"over from <@{ENGINEER}>" in m["text"] for m in internal_room(desk, ticket))

    # Need info pings the assignee in the room; a double click within a minute pings once.
    press_step(desk, found, ActionId.ESCALATION_NEED_INFO, action_ts=now_ts(desk))
    press_step(desk, found, ActionId.ESCALATION_NEED_INFO, action_ts=now_ts(desk, 5))
    desk.deliver()
    pings = [m for m in internal_room(desk, ticket) if "needs more information" in m["text"]]
    assert len(pings) == 1, pings
    assert pings[0]["text"].startswith(f":question: <@{AGENT}>, <@{ENGINEER}>")
    press_step(desk, found, ActionId.ESCALATION_NEED_INFO, action_ts=now_ts(desk, 90))
    desk.deliver()
    pings = [m for m in internal_room(desk, ticket) if "needs more information" in m["text"]]
    assert len(pings) == 2
    assert kinds(desk, ticket.id).count("info_requested") == 2

    # Fixed: the ticket is back with its agent; the card says so, without buttons.
    press_step(desk, found, ActionId.ESCALATION_FIXED)
    desk.deliver()
    found = escalation(desk, found.id)
    assert (found.state, found.fixed_by) == ("fixed", ENGINEER) and found.fixed_at
    stored = load(desk, ticket.id)
    assert (stored.status, stored.assignee, stored.escalated) == ("claimed", AGENT, True)
    card = eng_card(desk, found)
    assert buttons(card) == []
    assert "Fixed" in everything_said(card) and f"Fixed by <@{ENGINEER}>" in everything_said(card)
    [fixed] = [m for m in internal_room(desk, ticket) if "marked" in m["text"]]
    assert f"<@{AGENT}>, <@{ENGINEER}> marked {ticket.ref} fixed" in fixed["text"]
    assert ActionId.REPLY_TO_ENGINEERING not in buttons(card_message(desk, stored))

    # Fixed again (a double click) changes nothing.
    press_step(desk, found, ActionId.ESCALATION_FIXED, message=original_card)
    desk.deliver()
    assert len([m for m in internal_room(desk, ticket) if "marked" in m["text"]]) == 1


def test_engineering_buttons_refuse_people_of_other_workspaces(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk)
    escalate_with_modal(desk, ticket)
    desk.deliver()
    [found] = escalations(desk, ticket.id)
    room_before = len(internal_room(desk, ticket))

    for action in (ActionId.ESCALATION_TAKE, ActionId.ESCALATION_FIXED):
        press_step(desk, found, action, user="U0STRANGER", user_team=OTHER_TEAM)
    desk.deliver()

    found = escalation(desk, found.id)
    assert (found.state, found.taken_by, found.fixed_at, found.first_response_at) == (
        "open",
        None,
        None,
        None,
    )
    assert load(desk, ticket.id).status == "escalated"
    refusals = desk.standin.ephemeral_messages(ENG, user="U0STRANGER")
    assert len(refusals) == 2
    assert all("Only people of this workspace" in r["text"] for r in refusals)
    assert len(internal_room(desk, ticket)) == room_before


# --- 6. Reply to engineering -------------------------------------------------------------------


def test_reply_to_engineering_shortcut_is_prefilled(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk, text="Invites never arrive")
    escalate_with_modal(desk, ticket)
    desk.deliver()
    [found] = escalations(desk, ticket.id)

    text = "The requester says it fails for gmail.com only <!here>"
    ts = desk.standin.seed_message(HELP, user=AGENT, text=text, thread_ts=ticket.thread_ts)
    message = {"type": "message", "user": AGENT, "text": text, "ts": ts}
    message["thread_ts"] = str(ticket.thread_ts)
    view = open_modal(
        desk,
        lambda: desk.slack.message_shortcut(
            user=AGENT,
            channel=HELP,
            message=message,
            callback_id=CallbackId.ENGINEERING_REPLY_SHORTCUT,
        ),
    )
    assert view["callback_id"] == CallbackId.ENGINEERING_REPLY_MODAL
    assert BlockId.ENGINEERING_ESCALATION not in [b.get("block_id") for b in view["blocks"]]
    values = initial_values(view)
    assert values[BlockId.ENGINEERING_REPLY][ActionId.ENGINEERING_REPLY]["value"] == text

    errors = errors_of(desk.slack.submit_view(user=AGENT, view=view, values=reply_values("  ")))
    assert errors == {BlockId.ENGINEERING_REPLY: "Write what engineering should read."}

    assert closes(desk.slack.submit_view(user=AGENT, view=view, values=values))
    desk.deliver()
    [sent] = eng_thread(desk, found)
    assert f"<@{AGENT}> from support" in sent["text"] and "gmail.com only" in sent["text"]
    assert "<!here>" not in sent["text"]
    [copy] = [m for m in internal_room(desk, ticket) if "Sent to" in m["text"]]
    assert "Sent to *Engineering*" in copy["text"] and "gmail.com only" in copy["text"]
    with desk.session() as session:
        [kept] = EscalationRepository(session).messages(found.id)
        assert (kept.direction, kept.author) == ("to_engineering", AGENT)
    assert "replied_to_engineering" in kinds(desk, ticket.id)


def test_reply_to_engineering_shortcut_outside_a_ticket_thread_explains(
    desk: DeskUnderTest,
) -> None:
    open_ticket_from_message(desk)
    stray_ts = desk.standin.seed_message("C0RANDOM", user=AGENT, text="lunch?")
    reply = desk.slack.message_shortcut(
        user=AGENT,
        channel="C0RANDOM",
        message={"type": "message", "user": AGENT, "text": "lunch?", "ts": stray_ts},
        callback_id=CallbackId.ENGINEERING_REPLY_SHORTCUT,
    )
    assert reply.status == 200
    settle()
    desk.deliver()
    assert views_opened(desk) == 0
    [told] = desk.standin.ephemeral_messages("C0RANDOM", user=AGENT)
    assert "Reply to engineering works on messages in a ticket's thread" in told["text"]


def test_with_two_live_escalations_the_reply_goes_to_the_chosen_one(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk, text="API keys rotate by themselves")
    assert closes(escalate_with_modal(desk, ticket))
    assert closes(escalate_with_modal(desk, ticket, **to_target("engineering:API")))
    desk.deliver()
    default, api = escalations(desk, ticket.id)
    assert (default.channel, api.channel) == (ENG, ENG_API)
    assert "API keys rotate" in everything_said(eng_card(desk, api))
    assert load(desk, ticket.id).status == "escalated"
    said = everything_said(card_message(desk, load(desk, ticket.id)))
    assert "*Engineering*" in said and "*API engineering*" in said

    view = open_modal(desk, lambda: press(desk, ticket, ActionId.REPLY_TO_ENGINEERING))
    [select_block] = [
        b for b in view["blocks"] if b.get("block_id") == BlockId.ENGINEERING_ESCALATION
    ]
    options = [o["value"] for o in select_block["element"]["options"]]
    assert options == [str(default.id), str(api.id)]
    values = reply_values("Key id k_77", api.id)
    assert closes(desk.slack.submit_view(user=AGENT, view=view, values=values))
    desk.deliver()

    assert [m["text"] for m in eng_thread(desk, api) if "k_77" in m["text"]]
    assert eng_thread(desk, default) == []
    [copy] = [m for m in internal_room(desk, ticket) if "Sent to" in m["text"]]
    assert "Sent to *API engineering*" in copy["text"]


# --- 7. customer tickets -----------------------------------------------------------------------


def test_a_customer_ticket_escalation_never_reaches_the_customer(desk: DeskUnderTest) -> None:
    ticket = ask(desk, "Our invoices page shows a 500 error")
    [ack] = customer_thread(desk, ticket)

    # The customer's own escalate emoji is ignored, silently.
    emoji = desk.slack.reaction_event(
        user=CUSTOMER,
        reaction="rotating_light",
        channel=ACME,
        ts=str(ticket.source_ts),
        item_user=CUSTOMER,
        event_ts=desk.standin.next_ts(),
    )
    emoji["user_team"] = CUSTOMER_TEAM
    assert desk.slack.send_event(emoji, shared=True).status == 200
    desk.deliver()
    assert escalations(desk, ticket.id) == []
    assert desk.standin.ephemeral_messages(ACME) == []

    assert closes(escalate_with_modal(desk, ticket))
    desk.deliver()
    [found] = escalations(desk, ticket.id)
    card = eng_card(desk, found)
    assert "Acme Corp" in everything_said(card)
    # The card links to the agents' room (the triage thread), not the customer thread.
    assert found.room_link and TRIAGE in found.room_link and ACME not in found.room_link
    assert any("escalated" in m["text"] for m in room(desk, ticket))

    engineer_says(desk, found, "Root cause: a bad migration <!channel>")
    press_step(desk, found, ActionId.ESCALATION_TAKE)
    press_step(desk, found, ActionId.ESCALATION_NEED_INFO)
    desk.deliver()
    relayed = [m for m in room(desk, ticket) if "Root cause" in m["text"]]
    assert len(relayed) == 1 and relayed[0]["thread_ts"] == ticket.card_ts
    assert "<!channel>" not in relayed[0]["text"]

    # Reply to engineering from a message in the triage thread.
    draft = "Customer is on the EU cluster"
    draft_ts = desk.standin.seed_message(TRIAGE, user=AGENT, text=draft, thread_ts=ticket.card_ts)
    message = {
        "type": "message",
        "user": AGENT,
        "text": draft,
        "ts": draft_ts,
        "thread_ts": str(ticket.card_ts),
    }
    view = open_modal(
        desk,
        lambda: desk.slack.message_shortcut(
            user=AGENT,
            channel=TRIAGE,
            message=message,
            callback_id=CallbackId.ENGINEERING_REPLY_SHORTCUT,
        ),
    )
    assert closes(desk.slack.submit_view(user=AGENT, view=view, values=initial_values(view)))
    press_step(desk, found, ActionId.ESCALATION_FIXED)
    desk.deliver()

    assert any("EU cluster" in m["text"] for m in eng_thread(desk, found))
    said_in_room = "\n".join(m["text"] for m in room(desk, ticket))
    assert "Sent to *Engineering*" in said_in_room and "marked" in said_in_room
    stored = load(desk, ticket.id)
    assert (stored.status, stored.assignee) == ("claimed", AGENT)

    # The customer saw their acknowledgement, and nothing else.
    assert [m["ts"] for m in bot_posts(desk, ACME)] == [ack["ts"]]
    assert desk.standin.ephemeral_messages(ACME) == []
    assert [r.id for r in outbox_rows(desk) if r.status == "dropped"] == []
    to_acme = [c for c in desk.standin.calls("chat.postMessage") if c.args.get("channel") == ACME]
    assert len(to_acme) == 1


# --- 8. several escalations, de-escalation -----------------------------------------------------


def test_de_escalate_one_of_two_then_the_last(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk, text="Rate limits too strict")
    escalate_with_modal(desk, ticket)
    escalate_with_modal(desk, ticket, **to_target("engineering:API"))
    desk.deliver()
    default, api = escalations(desk, ticket.id)

    view = choose_de_escalate(desk, ticket, label="De-escalate…")
    [boxes] = [b for b in view["blocks"] if b.get("block_id") == BlockId.DE_ESCALATE]
    initial = [o["value"] for o in boxes["element"]["initial_options"]]
    assert initial == [str(default.id), str(api.id)]

    # Nothing chosen: an error under the checkboxes.
    reply = desk.slack.submit_view(user=AGENT, view=view, values=de_escalate_values(view, []))
    assert set(errors_of(reply)) == {BlockId.DE_ESCALATE}

    values = de_escalate_values(view, [api.id], note="Not an API problem after all")
    assert closes(desk.slack.submit_view(user=AGENT, view=view, values=values))
    desk.deliver()

    api, default = escalation(desk, api.id), escalation(desk, default.id)
    assert (api.state, api.closed_by, api.close_note) == (
        "withdrawn",
        AGENT,
        "Not an API problem after all",
    )
    assert default.state == "open"
    [withdrawn] = eng_thread(desk, api)
    assert "withdrew this escalation" in withdrawn["text"]
    assert "Not an API problem" in withdrawn["text"]
    api_card = eng_card(desk, api)
    assert buttons(api_card) == [] and f"Withdrawn by <@{AGENT}>" in everything_said(api_card)
    assert eng_thread(desk, default) == []
    assert set(buttons(eng_card(desk, default))) == {
        ActionId.ESCALATION_TAKE,
        ActionId.ESCALATION_NEED_INFO,
        ActionId.ESCALATION_FIXED,
    }
    assert load(desk, ticket.id).status == "escalated"
    assert any("withdrew" in m["text"] for m in internal_room(desk, ticket))

    # An engineer pressing the withdrawn card's (stale) buttons is told, and nothing changes.
    press_step(desk, api, ActionId.ESCALATION_FIXED, message=api_card)
    desk.deliver()
    [refused] = desk.standin.ephemeral_messages(ENG_API, user=ENGINEER)
    assert "no longer needs escalation" in refused["text"]
    assert escalation(desk, api.id).state == "withdrawn"

    # Withdrawing the last one: the ticket is back with its agent.
    view = choose_de_escalate(desk, ticket, label="De-escalate…")
    [boxes] = [b for b in view["blocks"] if b.get("block_id") == BlockId.DE_ESCALATE]
    assert [o["value"] for o in boxes["element"]["options"]] == [str(default.id)]
    assert closes(desk.slack.submit_view(user=AGENT, view=view, values=initial_values(view)))
    desk.deliver()
    assert escalation(desk, default.id).state == "withdrawn"
    stored = load(desk, ticket.id)
    assert (stored.status, stored.assignee) == ("claimed", AGENT)
    assert kinds(desk, ticket.id).count("de_escalated") == 2
    assert MoreOption.DE_ESCALATE not in str(card_message(desk, stored)["blocks"])


def test_fixed_returns_the_ticket_only_when_no_other_escalation_is_live(
    desk: DeskUnderTest,
) -> None:
    ticket = open_ticket_from_message(desk, text="Quotas reset at random")
    escalate_with_modal(desk, ticket)
    escalate_with_modal(desk, ticket, **to_target("engineering:API"))
    desk.deliver()
    default, api = escalations(desk, ticket.id)

    press_step(desk, api, ActionId.ESCALATION_FIXED)
    desk.deliver()
    assert escalation(desk, api.id).state == "fixed"
    assert load(desk, ticket.id).status == "escalated"
    card = card_message(desk, load(desk, ticket.id))
    assert ActionId.REPLY_TO_ENGINEERING in buttons(card)
    assert "*API engineering*" not in everything_said(card)

    press_step(desk, default, ActionId.ESCALATION_FIXED)
    desk.deliver()
    stored = load(desk, ticket.id)
    assert (stored.status, stored.assignee) == ("claimed", AGENT)


def test_a_reply_to_engineering_slack_refuses_is_not_reported_as_sent(
    desk: DeskUnderTest,
) -> None:
    """Like Reply to customer: what Slack refused is reported in the room, never "Sent"."""
    ticket = open_ticket_from_message(desk, text="Exports are truncated")
    escalate_with_modal(desk, ticket)
    desk.deliver()
    desk.standin.not_in_channel.add(ENG)  # the app was removed from the engineering channel
    view = open_modal(desk, lambda: press(desk, ticket, ActionId.REPLY_TO_ENGINEERING))
    values = reply_values("Account 9")
    assert closes(desk.slack.submit_view(user=AGENT, view=view, values=values))
    desk.deliver()

    [failed] = [r for r in outbox_rows(desk) if r.status == "failed"]
    assert (failed.purpose, failed.last_error) == ("engineering_thread", "not_in_channel")
    said = [m["text"] for m in internal_room(desk, ticket) if "Account 9" in m["text"]]
    assert said, "the agent is never told their reply did not reach engineering"
    assert not any(text.startswith(":outbox_tray: Sent to") for text in said), said
    assert any("not_in_channel" in text for text in said), said


# --- 9. the second line ------------------------------------------------------------------------


def test_second_line_escalation_and_pass_back(custom_desk: Any) -> None:
    tier2 = [{"name": "tier2", "agents": [AGENT2], "auto_assign": "round_robin"}]
    with custom_desk(queues=tier2) as desk:
        ticket = open_ticket_from_message(desk, text="SSO loop for one tenant")
        view = open_modal(desk, lambda: press(desk, ticket, ActionId.ESCALATE))
        [target_block] = [
            b for b in view["blocks"] if b.get("block_id") == BlockId.ESCALATION_TARGET
        ]
        assert "second_line:tier2" in [o["value"] for o in target_block["element"]["options"]]
        values = {**initial_values(view), **to_target("second_line:tier2")}
        assert closes(desk.slack.submit_view(user=AGENT, view=view, values=values))
        desk.deliver()

        stored = load(desk, ticket.id)
        assert (stored.queue, stored.assignee, stored.status, stored.escalated) == (
            "tier2",
            AGENT2,
            "escalated",
            True,
        )
        [found] = escalations(desk, ticket.id)
        assert (found.kind, found.target, found.channel, found.card_ts) == (
            "second_line",
            "tier2",
            None,
            None,
        )
        assert (found.from_queue, found.from_assignee) == ("general", AGENT)
        for channel in (ENG, "C0ENGAPI", "C0ENGBILL"):
            assert bot_posts(desk, channel) == []
        [notice] = [m for m in internal_room(desk, ticket) if "escalated" in m["text"]]
        assert (
            "Second line (tier2)" in notice["text"] and f"<@{AGENT2}> has it now" in notice["text"]
        )

        # Passing back needs a note.
        view = choose_de_escalate(desk, ticket, label="Pass back to first line…")
        assert view["submit"]["text"] == "Pass back"
        reply = desk.slack.submit_view(
            user=AGENT2, view=view, values=de_escalate_values(view, [found.id])
        )
        assert set(errors_of(reply)) == {BlockId.DE_ESCALATE_NOTE}
        assert load(desk, ticket.id).queue == "tier2"

        values = de_escalate_values(view, [found.id], note="Tenant had a stale IdP cert")
        assert closes(desk.slack.submit_view(user=AGENT2, view=view, values=values))
        desk.deliver()

        stored = load(desk, ticket.id)
        assert (stored.queue, stored.assignee, stored.status) == ("general", AGENT, "claimed")
        found = escalation(desk, found.id)
        assert (found.state, found.closed_by) == ("passed_back", AGENT2)
        logged = kinds(desk, ticket.id)
        assert "escalated" in logged and "passed_back" in logged
        [back] = [m for m in internal_room(desk, ticket) if "passed" in m["text"]]
        assert f"to <@{AGENT}>" in back["text"] and "stale IdP cert" in back["text"]


# --- 10. the card can't be posted --------------------------------------------------------------


def test_an_escalation_card_that_cannot_be_posted_is_reported_in_the_room(
    desk: DeskUnderTest,
) -> None:
    ticket = open_ticket_from_message(desk, text="Exports are truncated")
    desk.standin.missing_channels.add(ENG)
    assert closes(escalate_with_modal(desk, ticket))
    desk.deliver()

    [found] = escalations(desk, ticket.id)
    assert found.card_ts is None
    [warning] = [m for m in internal_room(desk, ticket) if "could not be posted" in m["text"]]
    assert f"<#{ENG}>" in warning["text"] and "channel_not_found" in warning["text"]
    failed = [r for r in outbox_rows(desk) if r.status == "failed"]
    assert [r.purpose for r in failed] == ["escalation_card"]


# --- 11. export --------------------------------------------------------------------------------


def test_export_says_which_tickets_were_escalated(desk: DeskUnderTest) -> None:
    escalated = new_ticket(desk, "Uploads fail")
    new_ticket(desk, "How do I change my avatar?", user="U0CAROL")
    react(desk, user=AGENT, reaction="rotating_light", channel=HELP, ts=str(escalated.source_ts))
    desk.deliver()
    [found] = escalations(desk, escalated.id)
    press_step(desk, found, ActionId.ESCALATION_FIXED)
    desk.deliver()

    with desk.session() as session:
        rows = {row["id"]: row for row in export_records(session)}
    assert rows[escalated.id]["escalated"] is True  # still true once engineering fixed it
    assert [row["escalated"] for key, row in rows.items() if key != escalated.id] == [False]
