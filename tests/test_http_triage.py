"""Working tickets over HTTP: claim, unclaim, reassign, wait, resolve and reopen by buttons and
emoji, refusals for non-agents and customers, the simultaneous-claim race, retries, the closing
job and card updates, all through signed requests against the Slack stand-in."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest

from bot.config import parse_config
from storage.models import Ticket
from storage.repositories import TicketRepository
from templates.ids import ActionId
from tests.conftest import TEST_CONFIG, DeskUnderTest, running_desk
from tests.test_http_intake import (
    REQUESTER,
    all_tickets,
    open_ticket_from_message,
    send_message,
    ts_to_utc,
)
from workflows.export import export_records
from workflows.housekeeping import close_resolved

AGENT = "U0AGENT1"
AGENT2 = "U0AGENT2"
NOT_AGENT = "U0BOB"


# --- helpers -----------------------------------------------------------------------------------


def load(desk: DeskUnderTest, ticket_id: int) -> Ticket:
    with desk.session() as session:
        ticket = TicketRepository(session).get(ticket_id)
        assert ticket is not None
        ticket.tags  # noqa: B018 - load before the session closes
        return ticket


def kinds(desk: DeskUnderTest, ticket_id: int) -> list[str]:
    with desk.session() as session:
        return [e.kind for e in TicketRepository(session).events(ticket_id)]


def card_message(desk: DeskUnderTest, ticket: Ticket) -> dict[str, Any]:
    assert ticket.card_channel and ticket.card_ts
    for message in desk.standin.messages(ticket.card_channel):
        if message["ts"] == ticket.card_ts:
            return message
    raise AssertionError("the card is not in the channel")


def card_buttons(message: dict[str, Any]) -> dict[str, Any]:
    actions = next(b for b in message["blocks"] if b["type"] == "actions")
    return {element["action_id"]: element for element in actions["elements"]}


def press(
    desk: DeskUnderTest, ticket: Ticket, action_id: str, *, user: str = AGENT, **kwargs: Any
) -> None:
    message = card_message(desk, ticket)
    value = kwargs.pop("value", str(ticket.id))
    reply = desk.slack.press(
        user=user,
        message=message,
        channel=ticket.card_channel or "",
        action_id=action_id,
        value=value,
        **kwargs,
    )
    assert reply.status == 200, reply.body


def react(
    desk: DeskUnderTest,
    *,
    user: str,
    reaction: str,
    channel: str,
    ts: str,
    item_user: str = REQUESTER,
    removed: bool = False,
    event_id: str | None = None,
) -> str:
    event_ts = desk.standin.next_ts()
    event = desk.slack.reaction_event(
        user=user,
        reaction=reaction,
        channel=channel,
        ts=ts,
        item_user=item_user,
        event_ts=event_ts,
        removed=removed,
    )
    reply = desk.slack.send_event(event, event_id=event_id)
    assert reply.status == 200
    return event_ts


def thread_texts(desk: DeskUnderTest, ticket: Ticket) -> list[str]:
    """What the bot said in the ticket's thread, apart from the card."""
    return [
        call.args.get("text", "")
        for call in desk.standin.calls("chat.postMessage")
        if call.args.get("thread_ts") == ticket.thread_ts
        and call.args.get("channel") == ticket.source_channel
        and "blocks" not in call.args
    ]


def ephemerals_to(desk: DeskUnderTest, user: str) -> list[str]:
    return [
        call.args.get("text", "")
        for call in desk.standin.calls("chat.postEphemeral")
        if call.args.get("user") == user
    ]


def last_card_update(desk: DeskUnderTest, ticket: Ticket) -> dict[str, Any]:
    updates = [c for c in desk.standin.calls("chat.update") if c.args.get("ts") == ticket.card_ts]
    assert updates, "the card was never updated"
    return updates[-1].args


# --- claim -------------------------------------------------------------------------------------


def test_claim_button_claims_updates_card_and_tells_requester(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk)
    buttons = card_buttons(card_message(desk, ticket))
    assert buttons[ActionId.CLAIM]["value"] == str(ticket.id)
    assert {ActionId.RESOLVE, ActionId.EDIT, ActionId.NOTE, ActionId.REASSIGN} <= set(buttons)

    action_ts = desk.standin.next_ts()
    press(desk, ticket, ActionId.CLAIM, action_ts=action_ts)
    desk.deliver()

    claimed = load(desk, ticket.id)
    assert (claimed.status, claimed.assignee) == ("claimed", AGENT)
    assert claimed.claimed_at == ts_to_utc(action_ts)
    assert "claimed" in kinds(desk, ticket.id)
    card = last_card_update(desk, ticket)
    markup = json.dumps(card["blocks"])
    assert f"<@{AGENT}>" in markup and "Claimed" in card["text"]
    assert ActionId.CLAIM not in card_buttons(card)  # no Claim on a claimed card
    assert any(f"<@{AGENT}> is looking into this" in text for text in thread_texts(desk, ticket))


def test_claim_emoji_on_requester_message_and_on_card(desk: DeskUnderTest) -> None:
    first = open_ticket_from_message(desk, text="first question")
    event_ts = react(
        desk, user=AGENT, reaction="eyes::skin-tone-3", channel="C0HELP", ts=first.source_ts or ""
    )
    desk.deliver()
    claimed = load(desk, first.id)
    assert (claimed.status, claimed.assignee) == ("claimed", AGENT)
    assert claimed.claimed_at == ts_to_utc(event_ts)

    ts = desk.standin.seed_message("C0HELP", user=REQUESTER, text="second question")
    send_message(desk, channel="C0HELP", user=REQUESTER, text="second question", ts=ts)
    desk.deliver()
    second = next(t for t in all_tickets(desk) if t.id != first.id)
    react(
        desk,
        user=AGENT2,
        reaction="eyes",
        channel="C0HELP",
        ts=second.card_ts or "",
        item_user="U0BOT",
    )
    desk.deliver()
    assert load(desk, second.id).assignee == AGENT2


def test_claim_emoji_on_an_ordinary_message_does_nothing(desk: DeskUnderTest) -> None:
    ts = desk.standin.seed_message("C0RANDOM", user=REQUESTER, text="lunch?")
    react(desk, user=NOT_AGENT, reaction="eyes", channel="C0RANDOM", ts=ts)
    desk.deliver()
    assert all_tickets(desk) == []
    assert desk.standin.calls("chat.postEphemeral") == []


def test_retried_claim_reaction_claims_once(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk)
    event = desk.slack.reaction_event(
        user=AGENT,
        reaction="eyes",
        channel="C0HELP",
        ts=ticket.source_ts or "",
        item_user=REQUESTER,
        event_ts=desk.standin.next_ts(),
    )
    for retry in (None, 1, 2):
        assert desk.slack.send_event(event, event_id="EvCLAIM1", retry_num=retry).status == 200
    desk.deliver()
    assert kinds(desk, ticket.id).count("claimed") == 1
    assert len([t for t in thread_texts(desk, ticket) if "looking into this" in t]) == 1


def test_non_agent_button_and_emoji_are_refused_privately(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk)
    press(desk, ticket, ActionId.CLAIM, user=NOT_AGENT)
    react(
        desk,
        user=NOT_AGENT,
        reaction="white_check_mark",
        channel="C0HELP",
        ts=ticket.source_ts or "",
    )
    desk.deliver()
    after = load(desk, ticket.id)
    assert (after.status, after.assignee, after.resolved_at) == ("open", None, None)
    refusals = ephemerals_to(desk, NOT_AGENT)
    assert len(refusals) == 2
    assert all("Only support agents can" in text for text in refusals)
    assert "claim" in refusals[0] and "resolve" in refusals[1]
    assert desk.standin.calls("chat.update") == []


def test_external_user_pressing_claim_is_refused_politely(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk)
    # Even a listed agent ID, when it arrives from another workspace, is not an agent here.
    press(desk, ticket, ActionId.CLAIM, user=AGENT, user_team="T0CUSTOMER")
    desk.deliver()
    assert load(desk, ticket.id).assignee is None
    [note] = ephemerals_to(desk, AGENT)
    assert "support team handles" in note


def test_second_claim_is_told_who_has_it(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk)
    press(desk, ticket, ActionId.CLAIM, user=AGENT)
    press(desk, ticket, ActionId.CLAIM, user=AGENT2)
    desk.deliver()
    assert load(desk, ticket.id).assignee == AGENT
    [note] = ephemerals_to(desk, AGENT2)
    assert f"already claimed by <@{AGENT}>" in note


@pytest.mark.parametrize("round_", range(3))
def test_simultaneous_claims_have_exactly_one_winner(desk: DeskUnderTest, round_: int) -> None:
    ticket = open_ticket_from_message(desk)
    message = card_message(desk, ticket)
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def claim(user: str) -> None:
        barrier.wait()
        reply = desk.slack.press(
            user=user,
            message=message,
            channel="C0HELP",
            action_id=ActionId.CLAIM,
            value=str(ticket.id),
        )
        statuses.append(reply.status)

    threads = [threading.Thread(target=claim, args=(user,)) for user in (AGENT, AGENT2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    desk.deliver()
    assert statuses == [200, 200]
    winner = load(desk, ticket.id).assignee
    loser = AGENT2 if winner == AGENT else AGENT
    assert winner in (AGENT, AGENT2)
    assert kinds(desk, ticket.id).count("claimed") == 1
    assert ephemerals_to(desk, winner) == []
    [note] = ephemerals_to(desk, loser)
    assert f"already claimed by <@{winner}>" in note


# --- unclaim, reassign, waiting ----------------------------------------------------------------


def test_unclaim_from_the_menu_and_by_taking_the_emoji_back(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk)
    press(desk, ticket, ActionId.CLAIM)
    desk.deliver()
    press(desk, ticket, ActionId.MORE, value=None, selected_value=f"unclaim:{ticket.id}")
    desk.deliver()
    after = load(desk, ticket.id)
    assert (after.status, after.assignee) == ("open", None)

    react(desk, user=AGENT2, reaction="eyes", channel="C0HELP", ts=ticket.source_ts or "")
    desk.deliver()
    assert load(desk, ticket.id).assignee == AGENT2
    # Someone else removing their emoji changes nothing; the assignee removing theirs unclaims.
    react(
        desk, user=AGENT, reaction="eyes", channel="C0HELP", ts=ticket.source_ts or "", removed=True
    )
    assert load(desk, ticket.id).assignee == AGENT2
    react(
        desk,
        user=AGENT2,
        reaction="eyes",
        channel="C0HELP",
        ts=ticket.source_ts or "",
        removed=True,
    )
    desk.deliver()
    assert load(desk, ticket.id).assignee is None
    assert kinds(desk, ticket.id).count("unclaimed") == 2


def test_reassign_with_the_user_picker(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk)
    press(desk, ticket, ActionId.REASSIGN, value=None, selected_user=AGENT2)
    desk.deliver()
    after = load(desk, ticket.id)
    assert (after.status, after.assignee) == ("claimed", AGENT2)
    assert any(f"<@{AGENT2}> is now looking into this" in t for t in thread_texts(desk, ticket))

    press(desk, ticket, ActionId.REASSIGN, value=None, selected_user=NOT_AGENT)
    desk.deliver()
    assert load(desk, ticket.id).assignee == AGENT2
    [note] = ephemerals_to(desk, AGENT)
    assert f"<@{NOT_AGENT}> isn't a support agent" in note


def test_waiting_on_requester_returns_to_claimed_when_they_reply(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk)
    press(desk, ticket, ActionId.MORE, value=None, selected_value=f"wait:{ticket.id}")
    desk.deliver()
    waiting = load(desk, ticket.id)
    assert (waiting.status, waiting.assignee) == ("waiting_on_customer", AGENT)
    assert "Waiting for the requester" in json.dumps(last_card_update(desk, ticket)["blocks"])

    send_message(
        desk, channel="C0HELP", user=REQUESTER, text="here are the logs", thread_ts=ticket.thread_ts
    )
    desk.deliver()
    assert load(desk, ticket.id).status == "claimed"
    assert "customer_replied" in kinds(desk, ticket.id)


# --- replies, resolve, reopen, close -----------------------------------------------------------


def test_agent_reply_sets_first_response_and_requester_reply_does_not(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk)
    send_message(desk, channel="C0HELP", user=REQUESTER, text="anyone?", thread_ts=ticket.thread_ts)
    assert load(desk, ticket.id).first_response_at is None
    _, reply_ts = send_message(
        desk, channel="C0HELP", user=AGENT2, text="On it", thread_ts=ticket.thread_ts
    )
    assert load(desk, ticket.id).first_response_at == ts_to_utc(reply_ts)


def test_resolve_button_then_requester_reply_reopens(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk)
    press(desk, ticket, ActionId.CLAIM)
    action_ts = desk.standin.next_ts()
    press(desk, ticket, ActionId.RESOLVE, action_ts=action_ts)
    desk.deliver()
    resolved = load(desk, ticket.id)
    assert (resolved.status, resolved.resolved_at) == ("resolved", ts_to_utc(action_ts))
    assert any("is resolved by" in t and "within 7 days" in t for t in thread_texts(desk, ticket))
    card = last_card_update(desk, ticket)
    assert set(card_buttons(card)) >= {ActionId.REOPEN} and ActionId.RESOLVE not in card_buttons(
        card
    )

    press(desk, ticket, ActionId.RESOLVE)  # already resolved: refused, nothing changes
    desk.deliver()
    assert "already resolved" in ephemerals_to(desk, AGENT)[-1]

    send_message(
        desk, channel="C0HELP", user=REQUESTER, text="still broken", thread_ts=ticket.thread_ts
    )
    desk.deliver()
    reopened = load(desk, ticket.id)
    assert (reopened.status, reopened.resolved_at, reopened.assignee) == ("claimed", None, AGENT)
    assert any(f"<@{AGENT}>, the requester replied" in t for t in thread_texts(desk, ticket))
    assert kinds(desk, ticket.id)[-1] == "reopened"


def test_resolve_emoji_by_agent(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk)
    event_ts = react(
        desk, user=AGENT2, reaction="white_check_mark", channel="C0HELP", ts=ticket.source_ts or ""
    )
    desk.deliver()
    resolved = load(desk, ticket.id)
    assert resolved.status == "resolved"
    assert resolved.resolved_at == ts_to_utc(event_ts)
    assert resolved.assignee == AGENT2  # resolving an unassigned ticket makes it yours


def test_after_the_window_the_ticket_closes_and_a_reply_is_a_new_ticket(
    desk: DeskUnderTest,
) -> None:
    ticket = open_ticket_from_message(desk)
    press(desk, ticket, ActionId.RESOLVE)
    desk.deliver()
    resolved_at = load(desk, ticket.id).resolved_at
    assert resolved_at is not None

    desk.clock.advance(timedelta(days=7, minutes=1))
    assert close_resolved(desk.runtime.session_factory, desk.runtime.desk) == [ticket.id]
    assert close_resolved(desk.runtime.session_factory, desk.runtime.desk) == []
    desk.deliver()
    closed = load(desk, ticket.id)
    assert (closed.status, closed.closed_at) == ("closed", resolved_at + timedelta(days=7))
    card = last_card_update(desk, ticket)
    assert "Closed" in card["text"]
    assert not any(b["type"] == "actions" for b in card["blocks"])

    _, reply_ts = send_message(
        desk, channel="C0HELP", user=REQUESTER, text="it broke again", thread_ts=ticket.thread_ts
    )
    desk.deliver()
    tickets = all_tickets(desk)
    assert len(tickets) == 2
    follow_up = tickets[1]
    assert (follow_up.source_ts, follow_up.source_thread_ts) == (reply_ts, ticket.thread_ts)
    assert follow_up.status == "open" and follow_up.description == "it broke again"
    assert load(desk, ticket.id).status == "closed"
    # Its card is in the same thread, and later replies join the new ticket.
    assert follow_up.card_channel == "C0HELP"
    send_message(desk, channel="C0HELP", user=AGENT, text="looking", thread_ts=ticket.thread_ts)
    assert load(desk, follow_up.id).first_response_at is not None


# --- usergroup agents, coalescing, export --------------------------------------------------------


@pytest.fixture
def group_desk(engine: Any, standin: Any, clock: Any) -> Any:
    config = parse_config({**TEST_CONFIG, "agent_usergroup": "S0AGENTS"})
    with running_desk(engine, standin, clock, config) as running:
        yield running


def test_usergroup_members_are_agents_after_slack_says_it_changed(group_desk: Any) -> None:
    desk = group_desk
    ticket = open_ticket_from_message(desk)
    press(desk, ticket, ActionId.CLAIM, user="U0CAROL")
    assert load(desk, ticket.id).assignee is None

    desk.standin.usergroups["S0AGENTS"] = ["U0CAROL"]
    event = {
        "type": "subteam_members_changed",
        "subteam_id": "S0AGENTS",
        "team_id": "T0DESK",
        "added_users": ["U0CAROL"],
        "removed_users": [],
        "event_ts": desk.standin.next_ts(),
    }
    assert desk.slack.send_event(event).status == 200
    desk.standin.wait_for("usergroups.users.list")
    for _ in range(50):  # the refresh runs after the ack, on another thread
        press(desk, ticket, ActionId.CLAIM, user="U0CAROL")
        if load(desk, ticket.id).assignee == "U0CAROL":
            break
        threading.Event().wait(0.05)
    assert load(desk, ticket.id).assignee == "U0CAROL"


def test_a_burst_of_changes_is_one_card_update(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk)
    press(desk, ticket, ActionId.CLAIM)
    press(desk, ticket, ActionId.MORE, value=None, selected_value=f"unclaim:{ticket.id}")
    press(desk, ticket, ActionId.CLAIM, user=AGENT2)
    desk.deliver()
    updates = [c for c in desk.standin.calls("chat.update") if c.args.get("ts") == ticket.card_ts]
    assert len(updates) == 1
    assert f"<@{AGENT2}>" in json.dumps(updates[0].args["blocks"])


def test_export_shows_the_work(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk)
    press(desk, ticket, ActionId.CLAIM)
    send_message(
        desk, channel="C0HELP", user=AGENT, text="Try again now", thread_ts=ticket.thread_ts
    )
    press(desk, ticket, ActionId.RESOLVE)
    with desk.session() as session:
        [record] = list(export_records(session, since=None, until=None))
    assert record["status"] == "resolved" and record["assignee"] == AGENT
    assert record["first_response_at"] and record["resolved_at"]
