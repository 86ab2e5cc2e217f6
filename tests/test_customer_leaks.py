"""Nothing internal reaches a customer: a whole day of work on a customer ticket, then every
outbox row and every message Slack holds in the customer channel is checked.

Internal words are marked (SECRET-…) wherever agents can write them: the triage thread, notes by
command and by modal, edits, tags, rule notices. None may appear in the customer channel, and
only customer-safe kinds of message may have been sent there at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from bot.config import parse_config
from bot.slack_driver import initial_values, select_value, text_value
from bot.standin import SlackStandin
from storage.models import OutboxMessage
from templates.csat import SURVEY_ACTIONS
from templates.ids import ActionId, BlockId, CallbackId, MoreOption
from tests.conftest import TEST_CONFIG, DeskUnderTest, running_desk
from tests.test_http_customers import (
    ACME,
    AGENT,
    COLLEAGUE,
    OTHER_AGENT,
    TRIAGE,
    ask,
    bot_posts,
    buttons,
    everything_said,
    load,
    opened_view,
    press_on_card,
    room,
    says,
    settle,
    slack_ts,
    submit_reply,
    tickets,
    triage_card,
)
from tests.test_http_escalation import (
    ENGINEER2,
    choose_de_escalate,
    de_escalate_values,
    eng_card,
    eng_thread,
    engineer_says,
    escalation,
    escalations,
    open_modal,
    press_step,
    reply_values,
)
from tests.test_http_merging import choose, closes, submit_merge, submit_split
from workflows.clock import ManualClock
from workflows.delivery import CUSTOMER_SAFE_PURPOSES, Purpose

ENG, ENG_BILLING = "C0ENG", "C0ENGBILL"
ESCALATION_PURPOSES = {
    Purpose.ESCALATION_CARD,
    Purpose.ESCALATION_UPDATE,
    Purpose.ENGINEERING_THREAD,
    Purpose.ESCALATION_ROOM,
}

SECRETS = (
    "SECRET-ROOM",
    "SECRET-COMMAND-NOTE",
    "SECRET-MODAL-NOTE",
    "secret-tag",
    "SECRET-RULE",
    "P1-internal",
    "vip-queue",
    # Escalation: what agents tell engineering, what engineers answer, why it was withdrawn,
    # and where engineering works.
    "SECRET-ENG-SUMMARY",
    "SECRET-ENG-STEPS",
    "SECRET-ENG-TRIED",
    "ENGINEER-SAYS-ROOT-CAUSE",
    "ENGINEER-BILLING-SAYS",
    "AGENT-TO-ENGINEERING",
    "SECRET-SHORTCUT-DRAFT",
    "INTERNAL-DEESCALATE-NOTE",
    "C0ENG",
)


@pytest.fixture
def leaky_desk(
    engine: Engine, standin: SlackStandin, clock: ManualClock
) -> Iterator[DeskUnderTest]:
    """The test config plus everything that writes internal words: a queue with a telling name,
    a rule that tags and notifies, an internal priority vocabulary."""
    config = parse_config(
        {
            **TEST_CONFIG,
            "queues": [{"name": "vip-queue", "agents": [AGENT, OTHER_AGENT]}],
            "taxonomy": {"internal_priorities": ["P1-internal", "P2"]},
            "rules": [
                {
                    "if": {"customer": "Acme Corp"},
                    "then": {"queue": "vip-queue", "tags": ["SECRET-RULE"], "notify": ["C0ENG"]},
                }
            ],
        }
    )
    with running_desk(engine, standin, clock, config) as desk:
        yield desk


def test_a_full_day_on_a_customer_ticket_never_reaches_the_customer_with_internal_words(
    leaky_desk: DeskUnderTest,
) -> None:
    desk = leaky_desk
    ticket = ask(desk, "Our <!channel> invoices fail with error 500")
    assert load(desk, ticket.id).queue == "vip-queue"

    # The agents' room: talk in the triage thread, notes by command and by modal.
    says(
        desk,
        "SECRET-ROOM: it's the billing migration",
        user=AGENT,
        team=None,
        channel=TRIAGE,
        thread_ts=ticket.card_ts,
    )
    reply, _ = desk.slack.slash_command(
        user=AGENT, channel=TRIAGE, text=f"note {ticket.ref} SECRET-COMMAND-NOTE"
    )
    assert reply.status == 200
    press_on_card(desk, ticket, ActionId.NOTE)
    settle()
    note_view = opened_view(desk)
    desk.slack.submit_view(
        user=AGENT,
        view=note_view,
        values={BlockId.NOTE: {ActionId.NOTE_INPUT: text_value("SECRET-MODAL-NOTE")}},
    )

    # Edit: an internal priority and a tag.
    press_on_card(desk, ticket, ActionId.EDIT)
    settle()
    edit_view = opened_view(desk, count=2)
    values = initial_values(edit_view)
    values[BlockId.INTERNAL_PRIORITY] = {ActionId.INTERNAL_PRIORITY: select_value("P1-internal")}
    values[BlockId.TAGS] = {ActionId.TAGS: text_value("secret-tag")}
    edit = desk.slack.submit_view(user=AGENT, view=edit_view, values=values)
    assert edit.status == 200 and not edit.json(), edit.body
    desk.deliver()

    # Working the ticket: claim, reassign, wait, the customer answers, unclaim, claim again.
    press_on_card(desk, ticket, ActionId.CLAIM)
    desk.deliver()
    press_on_card(desk, ticket, ActionId.REASSIGN, selected_user=OTHER_AGENT)
    desk.deliver()
    press_on_card(
        desk,
        ticket,
        ActionId.MORE,
        user=OTHER_AGENT,
        selected_value=f"{MoreOption.WAIT}{ticket.id}",
    )
    says(desk, "Here are the logs you asked for", thread_ts=ticket.source_ts)
    press_on_card(
        desk,
        ticket,
        ActionId.MORE,
        user=OTHER_AGENT,
        selected_value=f"{MoreOption.UNCLAIM}{ticket.id}",
    )
    desk.deliver()
    press_on_card(desk, ticket, ActionId.CLAIM)
    desk.deliver()

    # Answers: one through the bot, one by hand in the customer thread.
    press_on_card(desk, ticket, ActionId.REPLY)
    settle()
    submit_reply(desk, opened_view(desk, count=3), "Public answer: please retry now.")
    says(
        desk, "Direct answer: fixed on our side.", user=AGENT, team=None, thread_ts=ticket.source_ts
    )

    # Resolve, thanks, reopen by a colleague of the customer, resolve again by emoji.
    press_on_card(desk, ticket, ActionId.RESOLVE)
    desk.deliver()
    says(desk, "thanks!", thread_ts=ticket.source_ts)
    says(desk, "Still failing for me", user=COLLEAGUE, thread_ts=ticket.source_ts)
    desk.deliver()
    assert load(desk, ticket.id).status == "claimed"
    resolve = desk.slack.reaction_event(
        user=AGENT,
        reaction="white_check_mark",
        channel=ACME,
        ts=str(ticket.source_ts),
        item_user=ticket.requester,
        event_ts=desk.standin.next_ts(),
    )
    assert desk.slack.send_event(resolve, shared=True).status == 200
    assert desk.slack.send_event(desk.slack.app_home_opened(user=AGENT)).status == 200
    desk.deliver()
    assert load(desk, ticket.id).status == "resolved"

    # --- the checks ---------------------------------------------------------------------------
    # The internal side did get the internal words (the scenario really exercised them).
    triage = "\n".join(everything_said(m) for m in bot_posts(desk, TRIAGE))
    assert "SECRET-RULE" in triage or "secret-rule" in triage
    assert "secret-tag" in everything_said(triage_card(desk, load(desk, ticket.id)))
    assert any(
        "SECRET-RULE" in everything_said(m) or "vip-queue" in everything_said(m)
        for m in bot_posts(desk, "C0ENG")
    )

    assert_nothing_internal_reached_the_customer(desk)
    said_to_customer = [everything_said(m) for m in bot_posts(desk, ACME)]
    assert any("Public answer: please retry now." in text for text in said_to_customer)


def assert_nothing_internal_reached_the_customer(desk: DeskUnderTest) -> None:
    """Every outbox row and every message the bot left in the customer channel."""
    # Every row the outbox sent into the customer channel is of a customer-safe kind.
    with desk.session() as session:
        rows = [
            (row.purpose, row.method, row.status, dict(row.response or {}), dict(row.payload))
            for row in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        ]
    assert rows and all(status in ("sent", "dropped") for _, _, status, _, _ in rows)
    to_customer = [
        (purpose, method)
        for purpose, method, status, response, payload in rows
        if status == "sent" and ACME in (response.get("channel"), payload.get("channel"))
    ]
    assert to_customer
    assert {purpose for purpose, _ in to_customer} <= set(CUSTOMER_SAFE_PURPOSES)
    assert not [row for row in rows if row[2] == "dropped"], "a workflow aimed something inward"

    # Every message the bot left in the customer channel: no internal words, no buttons, no
    # pings.
    said_to_customer = [everything_said(m) for m in bot_posts(desk, ACME)]
    for text in said_to_customer:
        for secret in SECRETS:
            assert secret.lower() not in text.lower(), (secret, text)
        assert "<!channel>" not in text and "<!here>" not in text
    # The only buttons a customer gets: "How did we do?" on their resolved ticket.
    assert all(set(buttons(m)) <= SURVEY_ACTIONS for m in bot_posts(desk, ACME))
    # What the customer's side could see privately: nothing (ephemerals went to agents only).
    assert all(e["user"] in (AGENT, OTHER_AGENT) for e in desk.standin.ephemeral_messages(ACME))


def test_merging_and_splitting_customer_tickets_keeps_internal_words_internal(
    leaky_desk: DeskUnderTest,
) -> None:
    desk = leaky_desk
    start = desk.clock.now() - timedelta(hours=1)
    first = ask(desk, "Invoices fail", ts=slack_ts(start))
    second = ask(desk, "Invoices still fail on the PDF", ts=slack_ts(start + timedelta(minutes=5)))
    assert first.id != second.id
    says(
        desk,
        "SECRET-ROOM: same root cause as the other one",
        user=AGENT,
        team=None,
        channel=TRIAGE,
        thread_ts=second.card_ts,
    )

    # Merge the second into the first.
    choose(desk, second, MoreOption.MERGE)
    view = opened_view(desk)
    assert closes(submit_merge(desk, view, first))
    desk.deliver()
    assert load(desk, second.id).merged_into_id == first.id

    # The customer answers in the merged thread; then a second problem, split off.
    says(desk, "Any news? Also the CSV export is empty", thread_ts=second.source_ts)
    follow_up = says(desk, "And SSO is broken for Kim", user=COLLEAGUE, thread_ts=first.source_ts)
    desk.deliver()
    choose(desk, first, MoreOption.SPLIT)
    view = opened_view(desk, count=2)
    assert closes(submit_split(desk, view, follow_up))
    desk.deliver()
    split = max(tickets(desk), key=lambda t: t.id)
    assert split.id not in (first.id, second.id) and split.bridged

    assert_nothing_internal_reached_the_customer(desk)


def test_escalating_a_customer_ticket_keeps_engineering_internal(
    leaky_desk: DeskUnderTest,
) -> None:
    """Issue 6: an engineer's words never reach a customer channel. Two escalations of a
    customer ticket (by modal, then by emoji to another product), engineers answering in their
    threads, Take / Need info / Fixed, Reply to engineering by button and by shortcut, one
    escalation withdrawn with a note, and the customer writing all along."""
    desk = leaky_desk
    ticket = ask(desk, "Our <!channel> invoices fail with error 500\nSince 9am, every invoice")
    says(
        desk,
        "SECRET-ROOM: looks like the ledger",
        user=AGENT,
        team=None,
        channel=TRIAGE,
        thread_ts=ticket.card_ts,
    )
    press_on_card(desk, ticket, ActionId.CLAIM)
    desk.deliver()

    # 1. Escalate by button and modal, to the default engineering channel, with internal words.
    view = open_modal(desk, lambda: press_on_card(desk, ticket, ActionId.ESCALATE))
    assert view["callback_id"] == CallbackId.ESCALATE_MODAL
    values = initial_values(view)
    assert values[BlockId.ESCALATION_TARGET][ActionId.ESCALATION_TARGET]["selected_option"][
        "value"
    ] == ("engineering:default")
    values[BlockId.SUMMARY] = {ActionId.SUMMARY: text_value("SECRET-ENG-SUMMARY ledger lock")}
    values[BlockId.STEPS] = {ActionId.STEPS: text_value("SECRET-ENG-STEPS <!channel> run it")}
    values[BlockId.TRIED] = {ActionId.TRIED: text_value("SECRET-ENG-TRIED <!channel> retries")}
    assert closes(desk.slack.submit_view(user=AGENT, view=view, values=values))
    desk.deliver()
    [default] = escalations(desk, ticket.id)
    assert default.channel == ENG
    assert "SECRET-ENG-SUMMARY" in everything_said(eng_card(desk, default))

    # The customer keeps writing in their thread.
    says(desk, "Any news? Customers are waiting", thread_ts=ticket.source_ts)
    desk.deliver()

    # 2. The product becomes Billing (Edit modal), then the escalate emoji on the customer's
    # own message escalates to Billing engineering by default.
    edit_view = open_modal(desk, lambda: press_on_card(desk, ticket, ActionId.EDIT))
    values = initial_values(edit_view)
    values[BlockId.PRODUCT] = {ActionId.PRODUCT: text_value("Billing")}
    edit = desk.slack.submit_view(user=AGENT, view=edit_view, values=values)
    assert edit.status == 200 and not edit.json(), edit.body
    desk.deliver()
    assert load(desk, ticket.id).product == "Billing"
    emoji = desk.slack.reaction_event(
        user=AGENT,
        reaction="rotating_light",
        channel=ACME,
        ts=str(ticket.source_ts),
        item_user=ticket.requester,
        event_ts=desk.standin.next_ts(),
    )
    assert desk.slack.send_event(emoji, shared=True).status == 200
    desk.deliver()
    first, billing = escalations(desk, ticket.id)
    assert first.id == default.id
    assert (billing.target, billing.channel) == ("Billing", ENG_BILLING)
    assert billing.card_ts and eng_card(desk, billing)

    # 3. Engineers answer in both threads and work the default escalation's card.
    engineer_says(desk, default, "ENGINEER-SAYS-ROOT-CAUSE: ledger lock <!here> cc <@U0AGENT1>")
    engineer_says(desk, billing, "ENGINEER-BILLING-SAYS not ours <!channel>", user=ENGINEER2)
    press_step(desk, default, ActionId.ESCALATION_TAKE)
    press_step(desk, default, ActionId.ESCALATION_NEED_INFO)
    desk.deliver()
    says(desk, "Still broken, here is a screenshot", user=COLLEAGUE, thread_ts=ticket.source_ts)
    desk.deliver()

    # 4. Reply to engineering by the card's button (two live escalations: choose one).
    view = open_modal(desk, lambda: press_on_card(desk, ticket, ActionId.REPLY_TO_ENGINEERING))
    values = reply_values("AGENT-TO-ENGINEERING account 42 <!channel>", default.id)
    assert closes(desk.slack.submit_view(user=AGENT, view=view, values=values))
    desk.deliver()

    # 5. De-escalate the Billing escalation with a note.
    view = choose_de_escalate(desk, ticket, label="De-escalate…")
    values = de_escalate_values(view, [billing.id], note="INTERNAL-DEESCALATE-NOTE wrong team")
    assert closes(desk.slack.submit_view(user=AGENT, view=view, values=values))
    desk.deliver()
    assert escalation(desk, billing.id).state == "withdrawn"
    assert escalation(desk, default.id).state == "taken"

    # 6. Reply to engineering by the message shortcut on a draft in the triage thread.
    draft = "SECRET-SHORTCUT-DRAFT: EU cluster, tenant 7 <!here>"
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
    desk.deliver()
    says(desk, "We found a workaround meanwhile", thread_ts=ticket.source_ts)

    # 7. Fixed: the ticket is back with its agent, who answers the customer and resolves.
    engineer_says(desk, default, "ENGINEER-SAYS-ROOT-CAUSE fixed in deploy 1234")
    press_step(desk, default, ActionId.ESCALATION_FIXED)
    desk.deliver()
    stored = load(desk, ticket.id)
    assert (stored.status, stored.assignee) == ("claimed", AGENT)
    view = open_modal(desk, lambda: press_on_card(desk, ticket, ActionId.REPLY))
    submit_reply(desk, view, "Public answer: fixed, please retry.")
    desk.deliver()
    press_on_card(desk, ticket, ActionId.RESOLVE)
    desk.deliver()
    assert load(desk, ticket.id).status == "resolved"

    # --- the checks ---------------------------------------------------------------------------
    # Not vacuous: the engineers' words arrived in the triage thread, under the triage card,
    # without their pings.
    ticket = load(desk, ticket.id)
    in_room = [everything_said(m) for m in room(desk, ticket)]
    assert all(m["thread_ts"] == ticket.card_ts for m in room(desk, ticket))
    relayed = [text for text in in_room if "ENGINEER-SAYS-ROOT-CAUSE" in text]
    assert len(relayed) == 2, in_room
    assert any("ENGINEER-BILLING-SAYS" in text for text in in_room), in_room
    assert not any("<!here>" in text or "<!channel>" in text for text in relayed), relayed
    said_in_room = "\n".join(in_room)
    for expected in ("AGENT-TO-ENGINEERING", "SECRET-SHORTCUT-DRAFT", "withdrew", "marked"):
        assert expected in said_in_room, (expected, said_in_room)

    # Engineering got its cards and support's replies (and the withdrawal, with its note).
    assert "SECRET-ENG-STEPS" in everything_said(eng_card(desk, default))
    assert "SECRET-ENG-TRIED" in everything_said(eng_card(desk, default))
    to_default = "\n".join(m["text"] for m in eng_thread(desk, default))
    assert "AGENT-TO-ENGINEERING" in to_default and "SECRET-SHORTCUT-DRAFT" in to_default
    assert "<!channel>" not in to_default and "<!here>" not in to_default
    to_billing = "\n".join(m["text"] for m in eng_thread(desk, billing))
    assert "INTERNAL-DEESCALATE-NOTE" in to_billing and "AGENT-TO-ENGINEERING" not in to_billing

    # Every escalation row was sent, and inward: never at the customer channel (nothing was
    # left for the send-time guard to drop).
    with desk.session() as session:
        rows = [
            (row.purpose, row.status, dict(row.response or {}), dict(row.payload))
            for row in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        ]
    escalation_rows = [row for row in rows if row[0] in ESCALATION_PURPOSES]
    assert {row[0] for row in escalation_rows} == ESCALATION_PURPOSES
    assert all(status == "sent" for _, status, _, _ in escalation_rows), escalation_rows
    assert {
        response.get("channel") or payload.get("channel")
        for _, _, response, payload in escalation_rows
    } <= {TRIAGE, ENG, ENG_BILLING}
    assert [row for row in rows if row[1] == "dropped"] == []
    aimed_at_customer = {
        purpose
        for purpose, _, response, payload in rows
        if ACME in (response.get("channel"), payload.get("channel"))
    }
    assert aimed_at_customer and aimed_at_customer <= set(CUSTOMER_SAFE_PURPOSES)
    # Nor did Slack see a call about the customer channel other than those rows.
    for method in ("chat.postMessage", "chat.update"):
        for call in desk.standin.calls(method):
            if call.args.get("channel") == ACME:
                said = str(call.args)
                assert "ENGINEER" not in said and "SECRET" not in said, said

    assert_nothing_internal_reached_the_customer(desk)
    said_to_customer = "\n".join(everything_said(m) for m in bot_posts(desk, ACME))
    assert "Public answer: fixed, please retry." in said_to_customer
    assert "escalat" not in said_to_customer.lower()
