"""Slash commands and forms over HTTP when something is off: the same signed request posted again
(a proxy retrying a POST), a form opened in a customer channel or where the bot can't post, more
text than the form holds, and payloads missing what the listeners expect."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.signature import slack_signature
from bot.slack_driver import Reply, SlackDriver, initial_values, select_value, text_value
from storage.models import Ticket
from storage.repositories import NoteRepository, TicketRepository
from templates.ids import ActionId, BlockId
from tests.conftest import SIGNING_SECRET, DeskUnderTest, run_together
from tests.test_http_edit import AGENT, opened_view, press
from tests.test_http_intake import open_ticket_from_message
from tests.test_http_modal import REQUESTER, answers, only_ticket, open_modal, settle

# --- replaying a request byte for byte -----------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """One signed POST exactly as it went: what a proxy would post again."""

    body: bytes
    content_type: str
    headers: dict[str, str] | None
    timestamp: int
    signature: str


@dataclass
class Wire:
    """What the driver posted, each request with its timestamp and signature. While `held`,
    requests are recorded and not posted (to post them later, all at once)."""

    sent: list[Sent]
    held: bool = False


@pytest.fixture
def wire(desk: DeskUnderTest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Wire]:
    recorded = Wire(sent=[])
    original = desk.slack.post

    def post(
        body: bytes,
        content_type: str,
        *,
        headers: dict[str, str] | None = None,
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> Reply:
        timestamp = int(time.time()) if timestamp is None else timestamp
        signature = signature or slack_signature(SIGNING_SECRET, str(timestamp), body)
        recorded.sent.append(Sent(body, content_type, headers, timestamp, signature))
        if recorded.held:
            return Reply(200, "")
        return original(
            body, content_type, headers=headers, timestamp=timestamp, signature=signature
        )

    monkeypatch.setattr(desk.slack, "post", post)
    yield recorded


def replay(desk: DeskUnderTest, request: Sent) -> Reply:
    """The same bytes and headers again, signature and timestamp included."""
    return SlackDriver.post(
        desk.slack,
        request.body,
        request.content_type,
        headers=request.headers,
        timestamp=request.timestamp,
        signature=request.signature,
    )


def notes_of(desk: DeskUnderTest, ticket: Ticket) -> list[tuple[str, str]]:
    with desk.session() as session:
        return [(n.author, n.text) for n in NoteRepository(session).for_ticket(ticket.id)]


def all_tickets(desk: DeskUnderTest) -> list[Ticket]:
    with desk.session() as session:
        return list(TicketRepository(session).list_created_between(None, None))


def note_form(desk: DeskUnderTest, ticket: Ticket) -> dict[str, Any]:
    press(desk, ticket, ActionId.NOTE)
    return opened_view(desk)


NOTE_VALUES = {BlockId.NOTE: {ActionId.NOTE_INPUT: text_value("Customer is on the old plan")}}


def test_replayed_support_note_command_adds_the_note_once(desk: DeskUnderTest, wire: Wire) -> None:
    """`/support note #1 …` posted four times with the same signed bytes: one note, one
    confirmation; the copies are answered 200 and change nothing."""
    ticket = open_ticket_from_message(desk)
    wire.sent.clear()
    reply, _ = desk.slack.slash_command(
        user=AGENT, channel="C0HELP", text=f"note #{ticket.id} Called the customer"
    )
    assert reply.status == 200
    [command] = wire.sent

    replies = [replay(desk, command) for _ in range(3)]
    desk.deliver()

    assert [r.status for r in replies] == [200, 200, 200]
    assert notes_of(desk, ticket) == [(AGENT, "Called the customer")]
    told = [m["text"] for m in desk.standin.ephemeral_messages(user=AGENT)]
    assert len([t for t in told if "Internal note added" in t]) == 1


def test_replayed_internal_note_form_adds_the_note_once(desk: DeskUnderTest, wire: Wire) -> None:
    """The Internal note form submitted once and its POST posted again three times: the form
    closes each time (an empty 200) and the ticket has one note."""
    ticket = open_ticket_from_message(desk)
    view = note_form(desk, ticket)
    wire.sent.clear()
    first = desk.slack.submit_view(user=AGENT, view=view, values=NOTE_VALUES)
    [submission] = wire.sent

    replies = [replay(desk, submission) for _ in range(3)]
    desk.deliver()

    assert [(r.status, r.body) for r in (first, *replies)] == [(200, "")] * 4
    assert notes_of(desk, ticket) == [(AGENT, "Customer is on the old plan")]
    assert len(desk.standin.ephemeral_messages("C0HELP", user=AGENT)) == 1


def test_copies_of_a_form_submission_arriving_together_add_the_note_once(
    desk: DeskUnderTest, wire: Wire
) -> None:
    """Four copies of one submission at the same moment (several proxies, or replicas behind
    a load balancer): one note, whichever copy wins."""
    ticket = open_ticket_from_message(desk)
    view = note_form(desk, ticket)
    wire.sent.clear()
    wire.held = True
    desk.slack.submit_view(user=AGENT, view=view, values=NOTE_VALUES)
    wire.held = False
    [submission] = wire.sent

    replies = run_together(*[lambda: replay(desk, submission)] * 4)

    assert [r.status for r in replies] == [200] * 4
    assert notes_of(desk, ticket) == [(AGENT, "Customer is on the old plan")]


def test_a_form_submission_that_failed_can_be_posted_again(
    desk: DeskUnderTest, wire: Wire, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first attempt fails halfway (the database went away, say): nothing of it is kept,
    its key neither, so the proxy's second attempt adds the note."""
    import handlers.edit

    ticket = open_ticket_from_message(desk)
    view = note_form(desk, ticket)
    perform = handlers.edit.perform
    calls: list[int] = []

    def fails_once(*args: Any, **kwargs: Any) -> Any:
        result = perform(*args, **kwargs)
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("connection lost")
        return result

    monkeypatch.setattr(handlers.edit, "perform", fails_once)
    wire.sent.clear()
    first = desk.slack.submit_view(user=AGENT, view=view, values=NOTE_VALUES)
    [submission] = wire.sent
    assert first.status == 500
    assert notes_of(desk, ticket) == []

    again = replay(desk, submission)
    third = replay(desk, submission)

    assert (again.status, third.status) == (200, 200)
    assert notes_of(desk, ticket) == [(AGENT, "Customer is on the old plan")]
    assert len(calls) == 2  # the third copy ran nothing


def test_replayed_intake_form_opens_one_ticket(desk: DeskUnderTest, wire: Wire) -> None:
    """/support's form submitted once and posted again: one ticket, one card."""
    view = open_modal(desk)
    wire.sent.clear()
    desk.slack.submit_view(user=REQUESTER, view=view, values=answers())
    [submission] = wire.sent

    assert replay(desk, submission).status == 200
    desk.deliver()

    assert len(all_tickets(desk)) == 1
    cards = [m for m in desk.standin.messages("C0HELP") if m.get("bot_id")]
    assert len(cards) == 1


def test_replayed_away_command_toggles_once(desk: DeskUnderTest, wire: Wire) -> None:
    """`/support away` posted twice by a proxy leaves the agent away (not back again)."""
    wire.sent.clear()
    reply, _ = desk.slack.slash_command(user=AGENT, channel="C0HELP", text="away")
    assert "You're away" in reply.json()["text"]
    [command] = wire.sent

    assert replay(desk, command).body == ""

    reply, _ = desk.slack.slash_command(user=AGENT, channel="C0HELP", text="away")
    assert "Welcome back" in reply.json()["text"]


# --- where the card of a /support ticket goes ----------------------------------------------------


def submit_from(desk: DeskUnderTest, channel: str) -> Ticket:
    view = open_modal(desk, channel=channel)
    reply = desk.slack.submit_view(user=REQUESTER, view=view, values=answers())
    assert (reply.status, reply.body) == (200, "")
    desk.deliver()
    return only_ticket(desk)


def dms_to(desk: DeskUnderTest, user: str) -> list[str]:
    return [m.get("text", "") for m in desk.standin.messages(user)]


def test_support_form_from_a_customer_channel_puts_the_card_in_triage_and_says_so(
    desk: DeskUnderTest,
) -> None:
    """A colleague runs /support in Acme's shared channel: nothing appears there, the card is
    in the triage channel (its thread the ticket's), and the colleague is told where by DM."""
    ticket = submit_from(desk, "C0ACME")

    assert [m for m in desk.standin.messages("C0ACME") if m.get("bot_id")] == []
    [card] = [m for m in desk.standin.messages("C0TRIAGE") if m.get("bot_id")]
    assert card["text"].startswith(f"Ticket {ticket.ref}")
    assert (ticket.card_channel, ticket.card_ts) == ("C0TRIAGE", card["ts"])
    assert (ticket.source_channel, ticket.source_ts) == ("C0TRIAGE", card["ts"])
    assert ticket.customer == "Acme Corp"
    [told] = dms_to(desk, REQUESTER)
    assert f"Ticket {ticket.ref} is in <#C0TRIAGE>, not in <#C0ACME>" in told
    assert "shared with a customer" in told


def test_support_card_refused_by_slack_goes_to_triage_and_says_so(desk: DeskUnderTest) -> None:
    """Where the bot isn't a member, the card goes to the triage channel, and the requester is
    told where and why."""
    desk.standin.not_in_channel.add("C0RANDOM")

    ticket = submit_from(desk, "C0RANDOM")

    assert ticket.card_channel == "C0TRIAGE"
    [told] = dms_to(desk, REQUESTER)
    assert f"Ticket {ticket.ref} is in <#C0TRIAGE>, not in <#C0RANDOM>" in told
    assert "not a member of that channel" in told


def test_support_form_submitted_where_the_bot_can_post_says_nothing_more(
    desk: DeskUnderTest,
) -> None:
    """The usual case is untouched: the card where /support was typed, and no DM."""
    ticket = submit_from(desk, "C0HELP")

    assert ticket.card_channel == "C0HELP"
    assert dms_to(desk, REQUESTER) == []


# --- more text than the form holds ---------------------------------------------------------------


def test_support_with_overlong_text_prefills_what_fits_and_says_so(desk: DeskUnderTest) -> None:
    """`/support` with 3,500 characters opens the form with its first 3,000 and a line saying
    the rest was cut; the form keeps saying so when it grows, and the desk accepts it."""
    text = ("word " * 700).strip()  # 3,499 characters

    view = open_modal(desk, text=text)

    description = next(b for b in view["blocks"] if b.get("block_id") == BlockId.DESCRIPTION)
    element = description["element"]
    assert element["max_length"] == 3000
    assert len(element["initial_value"]) <= 3000
    assert text.startswith(element["initial_value"])
    [cut] = [b for b in view["blocks"] if b.get("block_id") == BlockId.DESCRIPTION_CUT]
    assert cut["type"] == "context" and "3,000 characters" in cut["elements"][0]["text"]

    values = initial_values(view)
    values[BlockId.ISSUE_TYPE] = {ActionId.ISSUE_TYPE: select_value("technical_issue")}
    values[BlockId.PRIORITY] = {ActionId.PRIORITY: select_value("high")}
    desk.slack.block_action(
        user=REQUESTER,
        view=view,
        values=values,
        block_id=BlockId.PRIORITY,
        action_id=ActionId.PRIORITY,
    )
    [update] = desk.standin.wait_for("views.update")
    grown = update.args["view"]
    assert BlockId.DESCRIPTION_CUT in [b.get("block_id") for b in grown["blocks"]]

    reply = desk.slack.submit_view(
        user=REQUESTER, view=view, values=answers(description=text[:3000])
    )
    assert (reply.status, reply.body) == (200, "")
    assert len(all_tickets(desk)) == 1


def test_support_with_text_that_fits_has_no_cut_line(desk: DeskUnderTest) -> None:
    view = open_modal(desk, text="x" * 3000)

    assert BlockId.DESCRIPTION_CUT not in [b.get("block_id") for b in view["blocks"]]


# --- payloads missing what the listeners expect --------------------------------------------------


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def test_intake_select_pressed_in_a_message_is_ignored(
    desk: DeskUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    """An input with the form's action ids, in a message rather than the form (another app's
    message, an old post): acknowledged, ignored with one line in the log, nothing raised."""
    message = {"ts": desk.standin.next_ts(), "user": "U0BOT", "bot_id": "B0BOT", "text": "x"}
    caplog.set_level(logging.INFO)
    for action_id, block_id in (
        (ActionId.PRIORITY, BlockId.PRIORITY),
        (ActionId.ISSUE_TYPE, BlockId.ISSUE_TYPE),
        (ActionId.DESCRIPTION, BlockId.DESCRIPTION),
    ):
        reply = desk.slack.press(
            user=REQUESTER,
            message=message,
            channel="C0HELP",
            action_id=action_id,
            block_id=block_id,
            selected_value="high",
        )
        assert reply.status == 200
    settle()

    assert errors_logged(caplog) == []
    ignored = [r for r in caplog.records if "came from no intake form" in r.getMessage()]
    assert len(ignored) == 3
    assert desk.standin.calls("views.update") == []


def test_support_command_without_a_trigger_says_the_form_cannot_open(
    desk: DeskUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    """A /support that comes without a trigger_id is answered privately, with what to do, and
    nothing raises."""
    fields = {
        "team_id": desk.slack.team_id,
        "channel_id": "C0HELP",
        "user_id": REQUESTER,
        "command": "/support",
        "text": "my invoice is wrong",
        "api_app_id": desk.slack.app_id,
        "response_url": "https://hooks.slack.com/commands/T0DESK/1/x",
    }

    reply = desk.slack.post_form(fields)
    settle()

    assert reply.status == 200
    assert "couldn't open" in reply.json()["text"]
    assert desk.standin.calls("views.open") == []
    assert errors_logged(caplog) == []
