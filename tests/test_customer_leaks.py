"""Nothing internal reaches a customer: a whole day of work on a customer ticket, then every
outbox row and every message Slack holds in the customer channel is checked.

Internal words are marked (SECRET-…) wherever agents can write them: the triage thread, notes by
command and by modal, edits, tags, rule notices. None may appear in the customer channel, and
only customer-safe kinds of message may have been sent there at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from bot.config import parse_config
from bot.slack_driver import initial_values, select_value, text_value
from bot.standin import SlackStandin
from storage.models import OutboxMessage
from templates.ids import ActionId, BlockId, MoreOption
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
    says,
    settle,
    slack_ts,
    submit_reply,
    tickets,
    triage_card,
)
from tests.test_http_merging import choose, closes, submit_merge, submit_split
from workflows.clock import ManualClock
from workflows.delivery import CUSTOMER_SAFE_PURPOSES

SECRETS = (
    "SECRET-ROOM",
    "SECRET-COMMAND-NOTE",
    "SECRET-MODAL-NOTE",
    "secret-tag",
    "SECRET-RULE",
    "P1-internal",
    "vip-queue",
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
    assert all(buttons(m) == [] for m in bot_posts(desk, ACME))
    # What the customer's side could see privately: nothing (ephemerals went to agents only).
    assert all(e["user"] in (AGENT, OTHER_AGENT) for e in desk.standin.ephemeral_messages(ACME))


def test_merging_and_splitting_customer_tickets_keeps_internal_words_internal(
    leaky_desk: DeskUnderTest,
) -> None:
    desk = leaky_desk
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
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
