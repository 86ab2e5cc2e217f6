"""Customer channels (Slack Connect) over HTTP: a customer's question becomes a ticket with a
customer-safe acknowledgement, its card and internal room live in triage, agents answer in the
customer thread or with Reply to customer, and nothing internal reaches the customer."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.config import parse_config
from bot.slack_driver import Reply, text_value
from bot.standin import SlackStandin
from storage.models import Ticket, TicketEvent, TicketMessage, TicketNote
from storage.repositories import NoteRepository, TicketRepository
from templates.ids import ActionId, BlockId, CallbackId
from tests.conftest import TEST_CONFIG, DeskUnderTest, running_desk
from workflows.clock import ManualClock, datetime_to_slack_ts
from workflows.export import export_record

CUSTOMER = "U0ACMEJO"
CUSTOMER_TEAM = "T0ACME"
COLLEAGUE = "U0ACMEKIM"  # another user of the customer's workspace
AGENT = "U0AGENT1"
OTHER_AGENT = "U0AGENT2"
SALES = "U0SALES"  # one of ours, not an agent
ACME, TRIAGE = "C0ACME", "C0TRIAGE"


# --- helpers ---------------------------------------------------------------------------------


def slack_ts(moment: datetime) -> str:
    return datetime_to_slack_ts(moment)


def says(
    desk: DeskUnderTest,
    text: str,
    *,
    user: str = CUSTOMER,
    team: str | None = CUSTOMER_TEAM,
    channel: str = ACME,
    ts: str | None = None,
    thread_ts: str | None = None,
    retry_num: int | None = None,
    event_id: str | None = None,
) -> str:
    """Someone writes in a channel (by default: the customer, in their shared channel)."""
    if ts is None or retry_num is None:
        ts = desk.standin.seed_message(channel, user=user, text=text, thread_ts=thread_ts, ts=ts)
    event = desk.slack.message_event(
        channel=channel, user=user, text=text, ts=ts, thread_ts=thread_ts, user_team=team
    )
    reply = desk.slack.send_event(
        event, shared=channel == ACME, retry_num=retry_num, event_id=event_id
    )
    assert reply.status == 200, reply.body
    return ts


def tickets(desk: DeskUnderTest) -> list[Ticket]:
    with desk.session() as session:
        found = list(TicketRepository(session).list_created_between(None, None))
        for ticket in found:
            ticket.tags  # noqa: B018 - load before the session closes
        return found


def only_ticket(desk: DeskUnderTest) -> Ticket:
    [ticket] = tickets(desk)
    return ticket


def load(desk: DeskUnderTest, ticket_id: int) -> Ticket:
    with desk.session() as session:
        ticket = TicketRepository(session).get(ticket_id)
        assert ticket is not None
        return ticket


def events(desk: DeskUnderTest, ticket_id: int, kind: str) -> list[TicketEvent]:
    with desk.session() as session:
        return [e for e in TicketRepository(session).events(ticket_id) if e.kind == kind]


def bot_posts(desk: DeskUnderTest, channel: str) -> list[dict[str, Any]]:
    return [m for m in desk.standin.messages(channel) if m.get("bot_id")]


def everything_said(message: dict[str, Any]) -> str:
    """A message's text and every text in its blocks, as one string."""
    parts = [message.get("text") or ""]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    parts.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.get("blocks") or [])
    return "\n".join(parts)


def triage_card(desk: DeskUnderTest, ticket: Ticket) -> dict[str, Any]:
    [card] = [m for m in bot_posts(desk, TRIAGE) if m["ts"] == ticket.card_ts]
    return card


def room(desk: DeskUnderTest, ticket: Ticket) -> list[dict[str, Any]]:
    """What the bot said in the ticket's triage thread, card excluded."""
    return [
        m
        for m in bot_posts(desk, TRIAGE)
        if m.get("thread_ts") == ticket.card_ts and m["ts"] != ticket.card_ts
    ]


def customer_thread(desk: DeskUnderTest, ticket: Ticket) -> list[dict[str, Any]]:
    return [m for m in bot_posts(desk, ACME) if m.get("thread_ts") == ticket.source_ts]


def buttons(message: dict[str, Any]) -> list[str]:
    return [
        element.get("action_id")
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for element in block.get("elements", [])
    ]


def press_on_card(
    desk: DeskUnderTest, ticket: Ticket, action_id: str, *, user: str = AGENT, **kw: Any
) -> Reply:
    reply = desk.slack.press(
        user=user,
        message=triage_card(desk, ticket),
        channel=TRIAGE,
        action_id=action_id,
        value=str(ticket.id),
        **kw,
    )
    assert reply.status == 200, reply.body
    return reply


def opened_view(desk: DeskUnderTest, count: int = 1) -> dict[str, Any]:
    calls = desk.standin.wait_for("views.open", count=count)
    assert not calls[-1].failed, calls[-1].error
    sent = calls[-1].args["view"]
    [view] = [
        v
        for v in desk.standin.views.values()
        if v["callback_id"] == sent["callback_id"]
        and v["private_metadata"] == sent["private_metadata"]
        and v["blocks"] == sent["blocks"]
    ][-1:]
    return dict(view)


def submit_reply(
    desk: DeskUnderTest, view: dict[str, Any], text: str, *, user: str = AGENT
) -> Reply:
    reply = desk.slack.submit_view(
        user=user,
        view=view,
        values={BlockId.REPLY: {ActionId.REPLY_INPUT: text_value(text)}},
    )
    assert reply.status == 200, reply.body
    return reply


def settle() -> None:
    """Lazy listeners (the modals) run on a thread after the ack."""
    time.sleep(0.3)


def ask(
    desk: DeskUnderTest, text: str = "Our invoices page shows a 500 error", **kw: Any
) -> Ticket:
    """A customer question, delivered: the ticket with its triage card in place."""
    says(desk, text, **kw)
    desk.deliver()
    return max(tickets(desk), key=lambda t: t.id)


@pytest.fixture
def custom_desk(engine: Engine, standin: SlackStandin, clock: ManualClock) -> Callable[..., Any]:
    """A desk with config changes on top of the test config."""

    def start(**changes: Any) -> Any:
        return running_desk(engine, standin, clock, parse_config({**TEST_CONFIG, **changes}))

    return start


# --- a customer asks -------------------------------------------------------------------------


def test_a_customer_question_becomes_a_customer_ticket_mirrored_to_triage(
    desk: DeskUnderTest,
) -> None:
    ts = says(desk, "Our invoices page shows a 500 error since this morning")
    desk.deliver()

    ticket = only_ticket(desk)
    assert (ticket.customer, ticket.customer_tier) == ("Acme Corp", "enterprise")
    assert (ticket.bridged, ticket.requester_is_external) == (True, True)
    assert (ticket.source_channel, ticket.source_ts, ticket.requester) == (ACME, ts, CUSTOMER)
    assert ticket.card_channel == TRIAGE

    # Triage: a top-level card with the agent buttons, the customer and tier, and the question.
    card = triage_card(desk, ticket)
    assert "thread_ts" not in card
    said = everything_said(card)
    assert "Acme Corp · enterprise" in said
    assert "Our invoices page shows a 500 error" in said
    assert {ActionId.CLAIM, ActionId.RESOLVE, ActionId.REPLY} <= set(buttons(card))
    assert "agents' room" in said
    assert ticket.permalink and ticket.permalink in said  # link to the customer thread

    # The customer sees one acknowledgement in their thread: no buttons, no internal data.
    [ack] = customer_thread(desk, ticket)
    assert ack["thread_ts"] == ts
    assert buttons(ack) == []
    assert ticket.ref in ack["text"] and "logged your question" in ack["text"]
    for internal in ("general", "queue", "Medium", "enterprise", AGENT):
        assert internal not in everything_said(ack)
    assert [m["ts"] for m in bot_posts(desk, ACME)] == [ack["ts"]]

    [row] = [export_record(t) for t in tickets(desk)]
    assert row["customer"] == "Acme Corp"


def test_a_retried_delivery_is_one_ticket_one_acknowledgement_one_card(
    desk: DeskUnderTest,
) -> None:
    ts = says(desk, "Can't download the March invoice", event_id="Ev0CUST1")
    says(desk, "Can't download the March invoice", ts=ts, retry_num=1, event_id="Ev0CUST1")
    says(desk, "Can't download the March invoice", ts=ts, retry_num=2, event_id="Ev0CUST2")
    desk.deliver()

    ticket = only_ticket(desk)
    assert len(customer_thread(desk, ticket)) == 1
    assert len([m for m in bot_posts(desk, TRIAGE) if "thread_ts" not in m]) == 1


def test_our_own_people_in_the_customer_channel_open_nothing(desk: DeskUnderTest) -> None:
    says(desk, "Hi Acme team, the new release is out today!", user=SALES, team=None)
    says(desk, "Heads up: maintenance window on Sunday", user=AGENT, team=None)
    desk.deliver()

    assert tickets(desk) == []
    assert bot_posts(desk, ACME) == [] and bot_posts(desk, TRIAGE) == []


def test_customer_text_is_escaped_in_triage(desk: DeskUnderTest) -> None:
    ticket = ask(
        desk, "<!channel> URGENT ask <@U0AGENT2> see <https://evil.example|your bank> <#C0ENG>"
    )

    said = everything_said(triage_card(desk, ticket))
    assert "&lt;!channel&gt;" in said and "<!channel>" not in said
    assert "&lt;@U0AGENT2&gt;" in said and "<@U0AGENT2>" not in said
    assert "<https://evil.example" not in said and "<#C0ENG>" not in said


def test_acknowledgement_can_be_switched_off_or_reworded_per_channel(
    custom_desk: Any,
) -> None:
    channels = [
        {"channel": ACME, "customer": "Acme <Corp>", "tier": "enterprise", "acknowledge": False},
        {
            "channel": "C0GLOBEX",
            "customer": "Globex",
            "acknowledgement": "Hi {customer}! Logged as {ref}.",
        },
    ]
    with custom_desk(customer_channels=channels) as desk:
        quiet = ask(desk, "Where is the API key page?")
        assert customer_thread(desk, quiet) == []
        assert triage_card(desk, quiet)

        says(desk, "Our SSO broke", channel="C0GLOBEX")
        desk.deliver()
        globex = max(tickets(desk), key=lambda t: t.id)
        [ack] = [m for m in bot_posts(desk, "C0GLOBEX") if m.get("thread_ts") == globex.source_ts]
        assert ack["text"] == f"Hi Globex! Logged as {globex.ref}."


# --- grouping and pleasantries ---------------------------------------------------------------


def test_a_burst_of_messages_is_one_ticket_and_a_later_one_is_another(
    desk: DeskUnderTest,
) -> None:
    start = desk.clock.now() - timedelta(hours=1)
    first = says(desk, "Hi, we have a problem with exports", ts=slack_ts(start))
    second = says(
        desk, "The CSV is empty since yesterday", ts=slack_ts(start + timedelta(seconds=40))
    )
    says(desk, "thanks!", ts=slack_ts(start + timedelta(seconds=70)))
    says(desk, "Our admin is Kim", user=COLLEAGUE, ts=slack_ts(start + timedelta(seconds=80)))
    desk.deliver()

    grouped, kims = sorted(tickets(desk), key=lambda t: t.id)
    assert grouped.source_ts == first
    assert "problem with exports" in grouped.description
    assert "The CSV is empty" in grouped.description
    assert "thanks" not in grouped.description
    assert kims.requester == COLLEAGUE  # another person's message is their own question
    assert len(events(desk, grouped.id, "grouped")) == 2  # the second message and "thanks!"
    assert len(customer_thread(desk, grouped)) == 1  # one acknowledgement for the burst
    assert any("The CSV is empty" in everything_said(m) for m in room(desk, grouped))

    # A reply in the thread of the burst's second message is part of the same ticket.
    says(desk, "Here is a screenshot", thread_ts=second, ts=slack_ts(start + timedelta(minutes=5)))
    later = says(desk, "Another thing: SSO fails", ts=slack_ts(start + timedelta(minutes=3)))
    desk.deliver()
    with desk.session() as session:
        reply = TicketRepository(session).get_message(ACME, slack_ts(start + timedelta(minutes=5)))
        assert reply is not None and reply.ticket_id == grouped.id
    newest = max(tickets(desk), key=lambda t: t.id)
    assert newest.source_ts == later and newest.id not in (grouped.id, kims.id)


@pytest.mark.parametrize(
    "text", ["thanks!", "Ok :+1:", ":tada: :tada:", "🙏", "Thank you so much!"]
)
def test_pleasantries_open_no_ticket(desk: DeskUnderTest, text: str) -> None:
    says(desk, text)
    desk.deliver()
    assert tickets(desk) == []
    assert bot_posts(desk, ACME) == []


def test_thanks_after_resolve_does_not_reopen_but_a_real_answer_does(desk: DeskUnderTest) -> None:
    ticket = ask(desk)
    says(desk, "Fixed, it was a cache issue", user=AGENT, team=None, thread_ts=ticket.source_ts)
    press_on_card(desk, ticket, ActionId.RESOLVE)
    desk.deliver()
    assert load(desk, ticket.id).status == "resolved"

    says(desk, "thanks!! :pray:", thread_ts=ticket.source_ts)
    desk.deliver()
    assert load(desk, ticket.id).status == "resolved"

    says(desk, "Hmm, it's broken again", user=COLLEAGUE, thread_ts=ticket.source_ts)
    desk.deliver()
    # The customer's colleague speaks for them: back to the agent who resolved it.
    assert load(desk, ticket.id).status == "claimed"
    [_resolved, reopened] = [
        m
        for m in customer_thread(desk, ticket)
        if "resolved" in m["text"] or "open again" in m["text"]
    ]
    assert "queue" not in reopened["text"]  # customer-facing wording


def test_the_pleasantry_filter_can_be_switched_off(custom_desk: Any) -> None:
    with custom_desk(pleasantries=[]) as desk:
        says(desk, "thanks!")
        desk.deliver()
        assert len(tickets(desk)) == 1


# --- the triage thread is the agents' room ---------------------------------------------------


def test_what_agents_say_in_triage_is_an_internal_note_and_stays_there(
    desk: DeskUnderTest,
) -> None:
    ticket = ask(desk)
    before = bot_posts(desk, ACME)
    note_ts = says(
        desk,
        "I think this is the billing migration, don't tell them yet",
        user=AGENT,
        team=None,
        channel=TRIAGE,
        thread_ts=ticket.card_ts,
    )
    says(desk, "Agreed", user=SALES, team=None, channel=TRIAGE, thread_ts=ticket.card_ts)
    desk.deliver()

    with desk.session() as session:
        notes = NoteRepository(session).for_ticket(ticket.id)
        assert (notes[0].author, notes[0].ts) == (AGENT, note_ts)
        assert len(notes) == 2
        conversation = TicketRepository(session).conversation(ticket.id)
        assert conversation == []
    assert bot_posts(desk, ACME) == before
    assert load(desk, ticket.id).first_response_at is None  # a note is not an answer


# --- answering the customer -----------------------------------------------------------------


def test_an_agent_answering_in_the_customer_thread_is_the_first_response_and_is_copied(
    desk: DeskUnderTest,
) -> None:
    ticket = ask(desk)
    answer_ts = says(
        desk,
        "Looking now, <!here> can you retry?",
        user=AGENT,
        team=None,
        thread_ts=ticket.source_ts,
    )
    says(desk, "Retried, same error", thread_ts=ticket.source_ts)
    desk.deliver()

    stored = load(desk, ticket.id)
    assert stored.first_response_at == datetime.fromtimestamp(float(answer_ts), UTC)
    copies = [everything_said(m) for m in room(desk, ticket)]
    assert any(
        f"<@{AGENT}> wrote in the customer thread" in c and "&lt;!here&gt;" in c for c in copies
    )
    assert any(
        f"<@{CUSTOMER}> (Acme Corp) wrote" in c and "Retried, same error" in c for c in copies
    )


def test_reply_to_customer_from_the_card(desk: DeskUnderTest) -> None:
    ticket = ask(desk)
    press_on_card(desk, ticket, ActionId.REPLY)
    settle()
    view = opened_view(desk)
    assert view["callback_id"] == CallbackId.REPLY_MODAL
    assert "Acme Corp" in everything_said(view)

    submit_reply(desk, view, "Hi! Please clear the cache <!channel> and retry <@U0AGENT2>.")
    desk.deliver()

    [_ack, answer] = customer_thread(desk, ticket)
    assert answer["text"] == (
        "Hi! Please clear the cache &lt;!channel&gt; and retry &lt;@U0AGENT2&gt;."
    )
    assert buttons(answer) == []
    stored = load(desk, ticket.id)
    assert stored.first_response_at is not None
    assert len(events(desk, ticket.id, "replied_to_customer")) == 1
    [sent] = [m for m in room(desk, ticket) if "Sent to the customer" in m["text"]]
    assert f"<@{AGENT}>" in sent["text"] and "clear the cache" in sent["text"]
    with desk.session() as session:
        kept = TicketRepository(session).get_message(ACME, answer["ts"])
        assert kept is not None and kept.author == AGENT


def test_reply_to_customer_shortcut_on_a_triage_message(desk: DeskUnderTest) -> None:
    ticket = ask(desk)
    draft_ts = says(
        desk,
        "Draft: the fix ships tonight",
        user=AGENT,
        team=None,
        channel=TRIAGE,
        thread_ts=ticket.card_ts,
    )
    draft = {
        "type": "message",
        "user": AGENT,
        "text": "Draft: the fix ships tonight",
        "ts": draft_ts,
        "thread_ts": ticket.card_ts,
    }
    reply = desk.slack.message_shortcut(
        user=AGENT, channel=TRIAGE, message=draft, callback_id=CallbackId.REPLY_SHORTCUT
    )
    assert reply.status == 200
    settle()
    view = opened_view(desk)
    [element] = [b["element"] for b in view["blocks"] if b.get("block_id") == BlockId.REPLY]
    assert element["initial_value"] == "Draft: the fix ships tonight"

    submit_reply(desk, view, "The fix ships tonight.")
    desk.deliver()
    assert [m["text"] for m in customer_thread(desk, ticket)][-1] == "The fix ships tonight."


def test_reply_to_customer_refusals(desk: DeskUnderTest) -> None:
    ticket = ask(desk)
    # Someone who is not an agent: told privately, no modal.
    press_on_card(desk, ticket, ActionId.REPLY, user=SALES)
    # The shortcut on a message outside any customer ticket's room.
    stray_ts = desk.standin.seed_message("C0HELP", user=AGENT, text="lunch?")
    desk.slack.message_shortcut(
        user=AGENT,
        channel="C0HELP",
        message={"type": "message", "user": AGENT, "text": "lunch?", "ts": stray_ts},
        callback_id=CallbackId.REPLY_SHORTCUT,
    )
    settle()
    desk.deliver()
    assert desk.standin.calls("views.open") == []
    [not_agent] = desk.standin.ephemeral_messages(TRIAGE, user=SALES)
    assert "Only support agents can reply to customers" in not_agent["text"]
    [stray] = desk.standin.ephemeral_messages("C0HELP", user=AGENT)
    assert "triage thread" in stray["text"]

    # A modal submitted after the ticket closed sends nothing.
    press_on_card(desk, ticket, ActionId.REPLY)
    settle()
    view = opened_view(desk)
    with desk.session() as session:
        stored = TicketRepository(session).get(ticket.id)
        assert stored is not None
        stored.status = "closed"
    reply = submit_reply(desk, view, "Too late")
    assert reply.json()["response_action"] == "errors"
    desk.deliver()
    assert all("Too late" not in m["text"] for m in bot_posts(desk, ACME))

    # An empty answer is an inline error.
    with desk.session() as session:
        stored = TicketRepository(session).get(ticket.id)
        assert stored is not None
        stored.status = "open"
    reply = submit_reply(desk, view, "   ")
    assert reply.json()["errors"] == {BlockId.REPLY: "Write what the customer should read."}


def test_a_reply_slack_refuses_is_reported_in_triage_not_lost_silently(
    desk: DeskUnderTest,
) -> None:
    ticket = ask(desk)
    press_on_card(desk, ticket, ActionId.REPLY)
    settle()
    view = opened_view(desk)
    desk.standin.fail("chat.postMessage", error="is_archived")
    submit_reply(desk, view, "Please retry now")
    desk.deliver()

    assert all("Please retry now" not in m["text"] for m in bot_posts(desk, ACME))
    [failed] = [m for m in room(desk, ticket) if "could not be sent" in m["text"]]
    assert "is_archived" in failed["text"] and "Please retry now" in failed["text"]


# --- customers can't act on tickets ----------------------------------------------------------


def test_customers_emoji_and_button_presses_change_nothing(desk: DeskUnderTest) -> None:
    ticket = ask(desk)
    event = desk.slack.reaction_event(
        user=CUSTOMER,
        reaction="white_check_mark",
        channel=ACME,
        ts=str(ticket.source_ts),
        item_user=CUSTOMER,
        event_ts=desk.standin.next_ts(),
    )
    assert desk.slack.send_event(event, shared=True).status == 200
    eyes = desk.slack.reaction_event(
        user=COLLEAGUE,
        reaction="eyes",
        channel=ACME,
        ts=str(ticket.source_ts),
        item_user=CUSTOMER,
        event_ts=desk.standin.next_ts(),
    )
    eyes["user_team"] = CUSTOMER_TEAM
    assert desk.slack.send_event(eyes, shared=True).status == 200
    press_on_card(desk, ticket, ActionId.CLAIM, user=CUSTOMER, user_team=CUSTOMER_TEAM)
    desk.deliver()

    stored = load(desk, ticket.id)
    assert (stored.status, stored.assignee) == ("open", None)
    # Emoji get no answer; the (impossible in practice) button press a polite private one.
    assert desk.standin.ephemeral_messages(ACME) == []
    [polite] = desk.standin.ephemeral_messages(TRIAGE, user=CUSTOMER)
    assert "support team handles" in polite["text"]


def test_an_agent_claims_with_an_emoji_on_the_customer_message(desk: DeskUnderTest) -> None:
    ticket = ask(desk)
    event = desk.slack.reaction_event(
        user=AGENT,
        reaction="eyes",
        channel=ACME,
        ts=str(ticket.source_ts),
        item_user=CUSTOMER,
        event_ts=desk.standin.next_ts(),
    )
    assert desk.slack.send_event(event, shared=True).status == 200
    desk.deliver()

    assert load(desk, ticket.id).assignee == AGENT
    notices = [m["text"] for m in customer_thread(desk, ticket)]
    assert any(f"<@{AGENT}> is looking into this" in text for text in notices)
    assert f"<@{AGENT}> is on it" in everything_said(triage_card(desk, load(desk, ticket.id)))


def test_the_ticket_emoji_on_a_customer_message_opens_a_customer_ticket(
    desk: DeskUnderTest,
) -> None:
    # A message our side would not ticket by itself (a colleague wrote it) made a ticket on purpose.
    ts = desk.standin.seed_message(ACME, user=SALES, text="Acme says their SSO is flaky")
    event = desk.slack.reaction_event(
        user=AGENT,
        reaction="ticket",
        channel=ACME,
        ts=ts,
        item_user=SALES,
        event_ts=desk.standin.next_ts(),
    )
    assert desk.slack.send_event(event, shared=True).status == 200
    desk.deliver()

    ticket = only_ticket(desk)
    assert ticket.bridged and ticket.card_channel == TRIAGE
    assert "SSO is flaky" in everything_said(triage_card(desk, ticket))
    assert all(not buttons(m) for m in bot_posts(desk, ACME))


def test_a_customer_reply_in_their_thread_is_conversation_and_copied(
    desk: DeskUnderTest,
) -> None:
    ticket = ask(desk)
    says(desk, "Also the PDF export", thread_ts=ticket.source_ts)
    desk.deliver()
    with desk.session() as session:
        messages: list[TicketMessage] = list(TicketRepository(session).conversation(ticket.id))
        notes: list[TicketNote] = list(NoteRepository(session).for_ticket(ticket.id))
    assert [(m.author, m.author_is_external) for m in messages] == [(CUSTOMER, True)]
    assert notes == []
    assert any("Also the PDF export" in m["text"] for m in room(desk, ticket))


def test_app_home_shows_the_customer_and_tier(desk: DeskUnderTest) -> None:
    ask(desk)
    assert desk.slack.send_event(desk.slack.app_home_opened(user=AGENT)).status == 200
    desk.deliver()
    home = desk.standin.home_view(AGENT)
    assert home is not None
    assert "(Acme Corp · enterprise)" in everything_said(home)


def test_a_customer_editing_their_question_updates_the_triage_card(desk: DeskUnderTest) -> None:
    ticket = ask(desk, "Invoices fail")
    edited_ts = desk.standin.next_ts()
    event = {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "channel": ACME,
        "ts": edited_ts,
        "event_ts": edited_ts,
        "channel_type": "channel",
        "message": {
            "type": "message",
            "user": CUSTOMER,
            "text": "Invoices fail with error 500 on the March export",
            "ts": ticket.source_ts,
            "edited": {"user": CUSTOMER, "ts": edited_ts},
        },
    }
    assert desk.slack.send_event(event, shared=True).status == 200
    desk.deliver()
    card = triage_card(desk, load(desk, ticket.id))
    assert "on the March export" in everything_said(card)
