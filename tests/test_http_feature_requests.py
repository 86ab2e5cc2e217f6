"""The feature-request board over HTTP: the real app, signed requests and the Slack stand-in.

A feature request from /support gets a card on the board; a customer asking the same is offered
to the agents as a duplicate, and Link counts them on that card (New request gives them one of
their own); another product is never offered. The card's Feature request button (agents only)
and an Edit that sets the type file a ticket too. Product people and agents set statuses on the
card, nobody else; Shipped asks for a release note and tells every requester exactly once, in
their own thread (a customer's own thread, escaped, nothing internal) or by DM.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.config import parse_config
from bot.slack_driver import Reply, select_value, text_value
from bot.standin import SlackStandin
from storage.models import FeatureRequest, OutboxMessage, Ticket, TicketEvent, TicketNote
from storage.repositories import NoteRepository, TicketRepository
from templates.ids import ActionId, BlockId
from tests.conftest import TEST_CONFIG, DeskUnderTest, running_desk
from tests.test_http_edit import answer, untouched
from workflows.clock import ManualClock
from workflows.delivery import CUSTOMER_SAFE_PURPOSES, Purpose
from workflows.export import (
    FEATURE_REQUEST_FIELDS,
    feature_request_csv_row,
    feature_request_records,
    write_csv,
    write_jsonl,
)
from workflows.vocabulary import EventKind

ALICE, BOB = "U0ALICE", "U0BOB"
AGENT, OWNER, STRANGER = "U0AGENT1", "U0PM", "U0RANDO"
ACME_JO, ACME_TEAM = "U0ACMEJO", "T0ACME"
GLOBEX_KIM, GLOBEX_TEAM = "U0GLOBEXKIM", "T0GLOBEX"
HELP, ACME, GLOBEX, TRIAGE, IDEAS = "C0HELP", "C0ACME", "C0GLOBEX", "C0TRIAGE", "C0IDEAS"
DARK_MODE = "Please add a dark mode to the dashboard"
DARK_MODE_AGAIN = "Could we get a dark mode for the dashboard? My eyes hurt at night"
DARK_MODE_GLOBEX = "Dark mode on the dashboard would be great for our night shift"
EVIL = "Dark mode is live <!channel> <@U1> see <https://evil.example|the docs> & enjoy"
SECRET = "SECRET-internal-note-never-for-customers"

CONFIG: dict[str, Any] = {
    **TEST_CONFIG,
    "customer_channels": [
        {"channel": ACME, "customer": "Acme Corp", "tier": "enterprise"},
        {"channel": GLOBEX, "customer": "Globex", "tier": "pro"},
    ],
    "feature_requests": {"channel": IDEAS, "owners": [OWNER]},
}


@pytest.fixture
def desk(engine: Engine, standin: SlackStandin, clock: ManualClock) -> Iterator[DeskUnderTest]:
    with running_desk(engine, standin, clock, parse_config(CONFIG)) as running:
        yield running


# --- helpers -----------------------------------------------------------------------------------


def settle() -> None:
    """Lazy listeners (the Shipped modal) run on a thread after the ack."""
    time.sleep(0.3)


def bot_posts(desk: DeskUnderTest, channel: str) -> list[dict[str, Any]]:
    return [m for m in desk.standin.messages(channel) if m.get("bot_id")]


def said(message: dict[str, Any]) -> str:
    return json.dumps(
        {"text": message.get("text"), "blocks": message.get("blocks")}, ensure_ascii=False
    )


def load(desk: DeskUnderTest, ticket_id: int) -> Ticket:
    with desk.session() as session:
        ticket = TicketRepository(session).get(ticket_id)
        assert ticket is not None
        return ticket


def newest_ticket(desk: DeskUnderTest) -> Ticket:
    with desk.session() as session:
        return max(TicketRepository(session).list_created_between(None, None), key=lambda t: t.id)


def board(desk: DeskUnderTest) -> list[FeatureRequest]:
    with desk.session() as session:
        found = list(session.scalars(select(FeatureRequest).order_by(FeatureRequest.id)))
        for request in found:
            request.links  # noqa: B018 - load before the session closes
        return found


def cards(desk: DeskUnderTest) -> list[dict[str, Any]]:
    return bot_posts(desk, IDEAS)


def card_of(desk: DeskUnderTest, request: FeatureRequest) -> dict[str, Any]:
    [card] = [m for m in cards(desk) if m["ts"] == request.card_ts]
    return card


def open_view(desk: DeskUnderTest, before: int) -> dict[str, Any]:
    """The modal the views.open call after `before` earlier ones opened, as Slack keeps it."""
    calls = desk.standin.wait_for("views.open", count=before + 1)
    assert not calls[-1].failed, calls[-1].error
    sent = calls[-1].args["view"]
    [view] = [
        v
        for v in desk.standin.views.values()
        if all(v[key] == sent[key] for key in ("callback_id", "private_metadata", "blocks"))
    ][-1:]
    return dict(view)


def request_feature(
    desk: DeskUnderTest, text: str = DARK_MODE, *, user: str = ALICE, product: str | None = None
) -> Ticket:
    """/support, the form filled in as a feature request, submitted; everything delivered."""
    before = len(desk.standin.calls("views.open"))
    desk.slack.slash_command(user=user, channel=HELP)
    view = open_view(desk, before)
    chosen = (
        select_value(product) if product else {"type": "static_select", "selected_option": None}
    )
    values: dict[str, dict[str, Any]] = {
        BlockId.ISSUE_TYPE: {ActionId.ISSUE_TYPE: select_value("feature_request")},
        BlockId.PRIORITY: {ActionId.PRIORITY: select_value("medium")},
        BlockId.PRODUCT: {ActionId.PRODUCT: chosen},
        BlockId.DESCRIPTION: {ActionId.DESCRIPTION: text_value(text)},
    }
    reply = desk.slack.submit_view(user=user, view=view, values=values)
    assert reply.status == 200, reply.body
    desk.deliver()
    return newest_ticket(desk)


def customer_asks(
    desk: DeskUnderTest,
    text: str,
    *,
    channel: str = ACME,
    user: str = ACME_JO,
    team: str = ACME_TEAM,
) -> Ticket:
    """A customer writes in their shared channel: a customer ticket with its triage card."""
    ts = desk.standin.seed_message(channel, user=user, text=text)
    event = desk.slack.message_event(channel=channel, user=user, text=text, ts=ts, user_team=team)
    assert desk.slack.send_event(event, shared=True).status == 200
    desk.deliver()
    return newest_ticket(desk)


def colleague_asks(desk: DeskUnderTest, text: str, *, user: str = BOB) -> Ticket:
    ts = desk.standin.seed_message(HELP, user=user, text=text)
    event = desk.slack.message_event(channel=HELP, user=user, text=text, ts=ts)
    assert desk.slack.send_event(event).status == 200
    desk.deliver()
    return newest_ticket(desk)


def ticket_card(desk: DeskUnderTest, ticket: Ticket) -> dict[str, Any]:
    ticket = load(desk, ticket.id)
    [card] = [m for m in bot_posts(desk, ticket.card_channel or "") if m["ts"] == ticket.card_ts]
    return card


def buttons(message: dict[str, Any]) -> list[str]:
    found = []
    for block in message.get("blocks") or []:
        if block.get("type") == "actions":
            found += [e.get("action_id") for e in block["elements"]]
        if "accessory" in block:
            found.append(block["accessory"].get("action_id"))
    return found


def mark(desk: DeskUnderTest, ticket: Ticket, *, user: str = AGENT) -> Reply:
    """The ticket card's Feature request button."""
    ticket = load(desk, ticket.id)
    reply = desk.slack.press(
        user=user,
        message=ticket_card(desk, ticket),
        channel=ticket.card_channel or "",
        action_id=ActionId.MARK_FEATURE_REQUEST,
        value=str(ticket.id),
    )
    assert reply.status == 200, reply.body
    desk.deliver()
    return reply


def offers(desk: DeskUnderTest, ticket: Ticket) -> list[dict[str, Any]]:
    """The duplicate offers (and their settled forms) in the ticket's room."""
    ticket = load(desk, ticket.id)
    channel = TRIAGE if ticket.bridged else ticket.source_channel or ""
    room = ticket.card_ts if ticket.bridged else ticket.thread_ts
    return [
        m
        for m in bot_posts(desk, channel)
        if m.get("thread_ts") == room and "like a feature request already" in m["text"] + said(m)
    ]


def choose(
    desk: DeskUnderTest,
    offer: dict[str, Any],
    ticket: Ticket,
    action_id: str,
    value: str,
    *,
    user: str = AGENT,
) -> Reply:
    ticket = load(desk, ticket.id)
    channel = TRIAGE if ticket.bridged else ticket.source_channel or ""
    reply = desk.slack.press(
        user=user,
        message=offer,
        channel=channel,
        action_id=action_id,
        value=value,
        block_id=BlockId.FEATURE_REQUEST_OFFER,
    )
    assert reply.status == 200, reply.body
    desk.deliver()
    return reply


def pick_status(
    desk: DeskUnderTest, request: FeatureRequest, status: str, *, user: str = OWNER
) -> Reply:
    reply = desk.slack.press(
        user=user,
        message=card_of(desk, request),
        channel=IDEAS,
        action_id=ActionId.FEATURE_REQUEST_STATUS,
        block_id=BlockId.FEATURE_REQUEST,
        selected_value=f"{request.id}:{status}",
    )
    assert reply.status == 200, reply.body
    desk.deliver()
    return reply


def submit_note(
    desk: DeskUnderTest, view: dict[str, Any], note: str, *, user: str = OWNER
) -> Reply:
    reply = desk.slack.submit_view(
        user=user,
        view=view,
        values={BlockId.RELEASE_NOTE: {ActionId.RELEASE_NOTE_INPUT: text_value(note)}},
    )
    assert reply.status == 200, reply.body
    desk.deliver()
    return reply


def ship(desk: DeskUnderTest, request: FeatureRequest, *, user: str = OWNER) -> dict[str, Any]:
    """Shipped in the card's menu: the release-note modal it opens."""
    before = len(desk.standin.calls("views.open"))
    pick_status(desk, request, "shipped", user=user)
    return open_view(desk, before)


def good_news(desk: DeskUnderTest, channel: str) -> list[dict[str, Any]]:
    return [m for m in bot_posts(desk, channel) if m["text"].startswith("Good news")]


def events(desk: DeskUnderTest, ticket: Ticket, kind: str) -> list[TicketEvent]:
    with desk.session() as session:
        return list(TicketRepository(session).events_of_kind(ticket.id, kind))


def status_menu(card: dict[str, Any]) -> dict[str, Any]:
    [menu] = [
        e
        for b in card["blocks"]
        if b.get("block_id") == BlockId.FEATURE_REQUEST
        for e in b["elements"]
    ]
    return menu


def ephemerals(desk: DeskUnderTest, user: str) -> list[str]:
    return [m["text"] for m in desk.standin.ephemeral_messages(user=user)]


# --- filing --------------------------------------------------------------------------------------


def test_a_requested_feature_gets_a_card_on_the_board(desk: DeskUnderTest) -> None:
    ticket = request_feature(desk, DARK_MODE + "\nIt hurts at night.", product="Billing")
    [request] = board(desk)
    card = card_of(desk, request)
    text = said(card)
    assert card["text"] == f"{request.ref} · {DARK_MODE} · Under review · 1 requester"
    assert f"<@{ALICE}>" in text and "Billing" in text and "asked by *1* requester" in text
    assert ticket.ref in text and "None: asked internally" in text
    menu = status_menu(card)
    assert menu["initial_option"]["value"] == f"{request.id}:under_review"
    assert events(desk, ticket, EventKind.FEATURE_REQUEST_FILED)[0].data["via"] == "new"
    # No offer: nothing like it was on the board.
    assert offers(desk, ticket) == []


def test_a_customer_asking_the_same_is_offered_and_linked(desk: DeskUnderTest) -> None:
    acme = customer_asks(desk, DARK_MODE_AGAIN)
    mark(desk, acme)
    [request] = board(desk)
    assert "Acme Corp · enterprise" in said(card_of(desk, request))

    globex = customer_asks(
        desk, DARK_MODE_GLOBEX, channel=GLOBEX, user=GLOBEX_KIM, team=GLOBEX_TEAM
    )
    mark(desk, globex)
    assert len(board(desk)) == 1  # offered, not filed
    [offer] = offers(desk, globex)
    assert offer["thread_ts"] == load(desk, globex.id).card_ts  # its triage thread
    assert buttons(offer) == [ActionId.FEATURE_REQUEST_LINK, ActionId.FEATURE_REQUEST_NEW]
    assert f"*{request.ref}* · Could we get a dark mode" in said(offer)
    assert not [m for m in bot_posts(desk, GLOBEX) if "feature request" in said(m)]

    # Someone who isn't an agent: told privately, nothing changes.
    choose(
        desk,
        offer,
        globex,
        ActionId.FEATURE_REQUEST_LINK,
        f"{globex.id}:{request.id}",
        user=STRANGER,
    )
    assert any("Only support agents" in t for t in ephemerals(desk, STRANGER))
    assert len(board(desk)[0].links) == 1

    choose(desk, offer, globex, ActionId.FEATURE_REQUEST_LINK, f"{globex.id}:{request.id}")
    [request] = board(desk)
    assert [link.ticket_id for link in request.links] == [acme.id, globex.id]
    text = said(card_of(desk, request))
    assert "asked by *2* requesters" in text and "Requesters (2)" in text
    assert "Acme Corp · enterprise" in text and "Globex · pro" in text
    assert f"<@{ACME_JO}>" in text and f"<@{GLOBEX_KIM}>" in text
    assert acme.ref in text and globex.ref in text
    [settled] = offers(desk, globex)
    assert buttons(settled) == []
    assert f"Linked to *{request.ref}*" in said(settled) and f"<@{AGENT}>" in said(settled)

    # The other button of the same offer now changes nothing: it is on the board already.
    choose(desk, offer, globex, ActionId.FEATURE_REQUEST_NEW, str(globex.id))
    assert any(f"already on the board as {request.ref}" in t for t in ephemerals(desk, AGENT))
    assert len(board(desk)) == 1


def test_new_request_gets_its_own_card(desk: DeskUnderTest) -> None:
    request_feature(desk, DARK_MODE)
    second = request_feature(desk, DARK_MODE_AGAIN, user=BOB)
    [offer] = offers(desk, second)
    assert offer["thread_ts"] == load(desk, second.id).card_ts  # a /support ticket's own thread
    choose(desk, offer, second, ActionId.FEATURE_REQUEST_NEW, str(second.id))
    _, new = board(desk)
    assert [link.ticket_id for link in new.links] == [second.id]
    assert len(cards(desk)) == 2
    assert "asked by *1* requester" in said(card_of(desk, new))
    assert f"Filed as a new request, *{new.ref}*" in said(offers(desk, second)[0])


def test_another_product_is_never_offered(desk: DeskUnderTest) -> None:
    request_feature(desk, DARK_MODE, product="Billing")
    api = request_feature(desk, DARK_MODE_AGAIN, user=BOB, product="API")
    assert offers(desk, api) == []
    assert [r.product for r in board(desk)] == ["Billing", "API"] and len(cards(desk)) == 2


# --- the card's button and the Edit modal --------------------------------------------------------


def test_only_agents_mark_a_ticket_as_a_feature_request(desk: DeskUnderTest) -> None:
    ticket = colleague_asks(desk, "Export invoices as CSV, please")
    assert ActionId.MARK_FEATURE_REQUEST in buttons(ticket_card(desk, ticket))

    mark(desk, ticket, user=STRANGER)
    assert any("Only support agents" in t for t in ephemerals(desk, STRANGER))
    assert load(desk, ticket.id).issue_type is None and board(desk) == []

    mark(desk, ticket)
    assert load(desk, ticket.id).issue_type == "feature_request"
    [edited] = events(desk, ticket, EventKind.EDITED)
    assert (edited.actor, edited.data["via"]) == (AGENT, "button")
    assert ActionId.MARK_FEATURE_REQUEST not in buttons(ticket_card(desk, ticket))
    assert "Feature request" in said(ticket_card(desk, ticket))
    [request] = board(desk)
    assert request.title == "Export invoices as CSV, please" and cards(desk)


def test_an_edit_to_feature_request_files_it(desk: DeskUnderTest) -> None:
    ticket = colleague_asks(desk, "Export invoices as CSV, please")
    before = len(desk.standin.calls("views.open"))
    reply = desk.slack.press(
        user=AGENT,
        message=ticket_card(desk, ticket),
        channel=HELP,
        action_id=ActionId.EDIT,
        value=str(ticket.id),
    )
    assert reply.status == 200
    view = open_view(desk, before)
    values = answer(untouched(view), BlockId.ISSUE_TYPE, select_value("feature_request"))
    assert desk.slack.submit_view(user=AGENT, view=view, values=values).status == 200
    desk.deliver()
    [request] = board(desk)
    assert [link.ticket_id for link in request.links] == [ticket.id]
    assert len(cards(desk)) == 1


# --- statuses and shipping -----------------------------------------------------------------------


def test_product_people_and_agents_set_statuses_nobody_else(desk: DeskUnderTest) -> None:
    request_feature(desk)
    [request] = board(desk)
    pick_status(desk, request, "planned", user=OWNER)
    [request] = board(desk)
    card = card_of(desk, request)
    assert request.status == "planned" and "*Planned*" in said(card)
    assert status_menu(card)["initial_option"]["value"] == f"{request.id}:planned"
    assert f"Planned: set by <@{OWNER}>" in said(card)

    pick_status(desk, request, "declined", user=AGENT)
    assert board(desk)[0].status == "declined"

    pick_status(desk, request, "under_review", user=STRANGER)
    assert board(desk)[0].status == "declined"
    [refusal] = desk.standin.ephemeral_messages(IDEAS, user=STRANGER)
    assert "Only support agents and the product team" in refusal["text"]

    # Shipped by someone else: no modal, told why.
    before = len(desk.standin.calls("views.open"))
    pick_status(desk, request, "shipped", user=STRANGER)
    settle()
    assert len(desk.standin.calls("views.open")) == before
    assert board(desk)[0].status == "declined"


def test_shipped_tells_every_requester_once_in_their_own_thread(desk: DeskUnderTest) -> None:
    alice = request_feature(desk, DARK_MODE)
    acme = customer_asks(desk, DARK_MODE_AGAIN)
    mark(desk, acme)
    [offer] = offers(desk, acme)
    [request] = board(desk)
    choose(desk, offer, acme, ActionId.FEATURE_REQUEST_LINK, f"{acme.id}:{request.id}")
    with desk.session() as session:
        NoteRepository(session).add(
            TicketNote(ticket_id=acme.id, author=AGENT, text=SECRET, created_at=acme.created_at)
        )

    view = ship(desk, request)
    assert view["title"]["text"] == f"Ship {request.ref}"
    assert "2 requesters" in said(view)
    empty = submit_note(desk, view, "   ")
    assert empty.json()["response_action"] == "errors"
    assert board(desk)[0].status == "under_review"

    assert submit_note(desk, view, EVIL).body in ("", "{}")
    submit_note(desk, view, EVIL)  # the same submission again: nobody is told twice
    [request] = board(desk)
    assert request.status == "shipped" and request.release_note == EVIL
    assert "*Release note*" in said(card_of(desk, request))

    alice = load(desk, alice.id)
    [to_alice] = good_news(desk, HELP)
    assert to_alice["thread_ts"] == alice.card_ts
    assert f"asked for in {alice.ref} has shipped — {DARK_MODE}" in to_alice["text"]

    acme = load(desk, acme.id)
    [to_acme] = good_news(desk, ACME)
    assert to_acme["thread_ts"] == acme.source_ts
    text = said(to_acme)
    assert f"asked for in {acme.ref} has shipped — Could we get a dark mode" in text
    assert "&lt;!channel&gt;" in text and "&lt;@U1&gt;" in text
    assert "&lt;https://evil.example|the docs&gt;" in text
    assert "<!channel>" not in text and "<@U1>" not in text and "<https://evil" not in text
    assert SECRET not in text and ALICE not in text and "Globex" not in text
    assert buttons(to_acme) == []
    # Whatever went into the customer's channel passed the customer-safety guard.
    with desk.session() as session:
        into_acme = [
            row
            for row in session.scalars(select(OutboxMessage))
            if (row.response or {}).get("channel") == ACME
        ]
    assert {row.purpose for row in into_acme} <= CUSTOMER_SAFE_PURPOSES
    assert Purpose.FEATURE_REQUEST_SHIPPED in {row.purpose for row in into_acme}
    assert not any(SECRET in said(m) for m in bot_posts(desk, ACME))

    # Planned again, then shipped again: the requesters were told already.
    pick_status(desk, board(desk)[0], "planned")
    submit_note(desk, ship(desk, board(desk)[0]), "Dark mode, now with a schedule")
    assert len(good_news(desk, HELP)) == 1 and len(good_news(desk, ACME)) == 1
    assert len(events(desk, acme, EventKind.FEATURE_REQUEST_SHIPPED)) == 1


def test_a_thread_the_bot_cannot_post_in_falls_back_to_a_dm(desk: DeskUnderTest) -> None:
    bob = colleague_asks(desk, DARK_MODE)
    mark(desk, bob)
    [request] = board(desk)
    desk.standin.not_in_channel.add(HELP)
    submit_note(desk, ship(desk, request), "Dark mode is live in Settings")
    assert good_news(desk, HELP) == []
    [dm] = good_news(desk, BOB)
    assert f"asked for in {bob.ref} has shipped" in dm["text"]
    assert "Dark mode is live in Settings" in dm["text"]


# --- export --------------------------------------------------------------------------------------


def test_the_export_lists_requests_with_counts_and_customers(desk: DeskUnderTest) -> None:
    alice = request_feature(desk, DARK_MODE)
    acme = customer_asks(desk, DARK_MODE_AGAIN)
    mark(desk, acme)
    [offer] = offers(desk, acme)
    [request] = board(desk)
    choose(desk, offer, acme, ActionId.FEATURE_REQUEST_LINK, f"{acme.id}:{request.id}")
    submit_note(desk, ship(desk, request), "=Live now")

    with desk.session() as session:
        records = list(feature_request_records(session))
    out = io.StringIO(newline="")
    assert (
        write_csv(records, out, fields=FEATURE_REQUEST_FIELDS, to_row=feature_request_csv_row) == 1
    )
    [row] = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert tuple(row) == FEATURE_REQUEST_FIELDS
    assert (row["ref"], row["status"], row["requesters"]) == (request.ref, "shipped", "2")
    assert row["requester_ids"] == f"{ALICE};{ACME_JO}"
    assert (row["customers"], row["tiers"]) == ("Acme Corp", "enterprise")
    assert row["tickets"] == f"{alice.ref};{acme.ref}"
    assert row["release_note"] == "'=Live now" and row["shipped_at"].endswith("Z")
    lines = io.StringIO()
    write_jsonl(records, lines)
    [record] = [json.loads(line) for line in lines.getvalue().splitlines()]
    assert record["requester_ids"] == [ALICE, ACME_JO] and record["requesters"] == 2
    assert record["release_note"] == "=Live now"
