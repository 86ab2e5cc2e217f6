"""App Home, the ticket details modal and the `/support mine|queue|away|note` subcommands over
HTTP: signed events, commands and button presses reach the real Bolt app, and what the desk
publishes, opens and answers is checked against the Slack stand-in."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.slack_driver import Reply
from storage.models import Ticket
from storage.repositories import AgentRepository, NoteRepository, TicketRepository
from templates.ids import ActionId, CallbackId
from tests.conftest import DeskUnderTest
from tests.test_http_intake import send_message
from workflows.home import HOME_QUEUE_LIMIT
from workflows.triage import ActionKind, TicketAction, perform
from workflows.vocabulary import Via

AGENT = "U0AGENT1"
AGENT2 = "U0AGENT2"
REQUESTER = "U0ALICE"
OTHER = "U0BOB"
NOT_AGENT = "U0CAROL"

REF = re.compile(r"^\*(#\d+)\*")


# --- helpers -----------------------------------------------------------------------------------


def open_ticket(desk: DeskUnderTest, text: str, *, user: str = REQUESTER) -> int:
    """A question in the watched channel becomes a ticket (card delivered); returns its id."""
    ts = desk.standin.seed_message("C0HELP", user=user, text=text)
    reply, _ = send_message(desk, channel="C0HELP", user=user, text=text, ts=ts)
    assert reply.status == 200
    desk.deliver()
    with desk.session() as session:
        ticket = TicketRepository(session).get_by_source("C0HELP", ts)
        assert ticket is not None
        return ticket.id


def claim(desk: DeskUnderTest, ticket_id: int, agent: str) -> None:
    with desk.session() as session:
        action = TicketAction(
            kind=ActionKind.CLAIM,
            ticket_id=ticket_id,
            actor=agent,
            at=desk.clock.now(),
            via=Via.BUTTON,
        )
        assert perform(session, desk.runtime.desk, action).done
    desk.deliver()


def load(desk: DeskUnderTest, ticket_id: int) -> Ticket:
    with desk.session() as session:
        ticket = TicketRepository(session).get(ticket_id)
        assert ticket is not None
        return ticket


def open_home(desk: DeskUnderTest, user: str) -> dict[str, Any]:
    """The user opens the app's Home tab; returns the view Slack now shows them."""
    assert desk.slack.send_event(desk.slack.app_home_opened(user=user)).status == 200
    desk.deliver()
    view = desk.standin.home_view(user)
    assert view is not None, "no home was published"
    assert view["type"] == "home"
    assert len(view["blocks"]) <= 100
    return view


def sections(view: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The view's blocks grouped under their headers: {header: [blocks after it]}."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    current = ""
    for block in view["blocks"]:
        if block["type"] == "header":
            current = block["text"]["text"]
            grouped[current] = []
        elif block["type"] != "divider":
            grouped.setdefault(current, []).append(block)
    return grouped


def listed(blocks: list[dict[str, Any]]) -> list[str]:
    """The refs of the tickets in a group of blocks, in order."""
    refs = []
    for block in blocks:
        if block["type"] == "section" and "text" in block:
            found = REF.match(block["text"]["text"])
            if found:
                refs.append(found.group(1))
    return refs


def buttons_of(blocks: list[dict[str, Any]], ref: str) -> dict[str, str]:
    """{action_id: value} of the buttons under the ticket `ref`."""
    for index, block in enumerate(blocks):
        if block["type"] == "section" and block["text"]["text"].startswith(f"*{ref}*"):
            following = blocks[index + 1] if index + 1 < len(blocks) else {}
            if following.get("type") != "actions":
                return {}
            return {element["action_id"]: element["value"] for element in following["elements"]}
    raise AssertionError(f"{ref} is not listed")


def texts(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def support(desk: DeskUnderTest, user: str, text: str, *, channel: str = "C0HELP") -> Reply:
    reply, _ = desk.slack.slash_command(user=user, channel=channel, text=text)
    assert reply.status == 200, reply.body
    return reply


def ack_body_or_empty(reply: Reply) -> dict[str, Any]:
    """An ack that says nothing has an empty body; Slack then shows nothing."""
    return reply.json() or {}


def deliver_until(desk: DeskUnderTest, done: Callable[[], bool], timeout: float = 5.0) -> None:
    """Lazy listeners run after the ack, on another thread: deliver until their effect shows."""
    deadline = time.monotonic() + timeout
    while True:
        desk.deliver()
        if done() or time.monotonic() > deadline:
            return
        time.sleep(0.05)


def ack_body(reply: Reply) -> dict[str, Any]:
    body = reply.json()
    assert isinstance(body, dict)
    return body


def ephemerals_to(desk: DeskUnderTest, user: str) -> list[str]:
    return [
        call.args.get("text", "")
        for call in desk.standin.calls("chat.postEphemeral")
        if call.args.get("user") == user and not call.failed
    ]


def dms_to(desk: DeskUnderTest, user: str) -> list[str]:
    return [
        call.args.get("text", "")
        for call in desk.standin.calls("chat.postMessage")
        if call.args.get("channel") == user and not call.failed
    ]


def notes_of(desk: DeskUnderTest, ticket_id: int) -> list[tuple[str, str]]:
    with desk.session() as session:
        return [(n.author, n.text) for n in NoteRepository(session).for_ticket(ticket_id)]


def set_deadlines(desk: DeskUnderTest, ticket_id: int, **deadlines: datetime | None) -> None:
    with desk.session() as session:
        ticket = TicketRepository(session).get(ticket_id)
        assert ticket is not None
        for name, value in deadlines.items():
            setattr(ticket, name, value)


# --- App Home for agents -----------------------------------------------------------------------


def test_agent_home_lists_the_queue_unclaimed_first_then_oldest(desk: DeskUnderTest) -> None:
    """The team queue puts unclaimed tickets first, oldest first, then claimed ones; unclaimed
    tickets have Claim and Open, claimed ones only Open, each carrying the ticket id."""
    first = open_ticket(desk, "Export button greyed out")
    second = open_ticket(desk, "Invoices <!here> fail & more")
    third = open_ticket(desk, "Cannot log in")
    claim(desk, first, AGENT2)

    view = open_home(desk, AGENT)

    groups = sections(view)
    assert list(groups) == ["Support desk", "Your open tickets", "Close to SLA", "Team queue"]
    queue = groups["Team queue"]
    assert listed(queue) == [f"#{second}", f"#{third}", f"#{first}"]
    assert buttons_of(queue, f"#{second}") == {
        ActionId.CLAIM: str(second),
        ActionId.OPEN: str(second),
    }
    assert buttons_of(queue, f"#{first}") == {ActionId.OPEN: str(first)}
    line = next(b for b in queue if listed([b]) == [f"#{second}"])["text"]["text"]
    assert "Medium" in line and "Open" in line and "queue *general*" in line
    assert f"<@{REQUESTER}>" in line and "_unclaimed_" in line
    assert ">Invoices &lt;!here&gt; fail &amp; more" in line and "<!here>" not in line
    claimed_line = next(b for b in queue if listed([b]) == [f"#{first}"])["text"]["text"]
    assert f"with <@{AGENT2}>" in claimed_line
    assert "You have no open tickets" in texts(groups["Your open tickets"])
    assert "Nothing is due within the hour" in texts(groups["Close to SLA"])
    assert "You're available" in texts(groups["Support desk"])
    assert "/support away" in texts(groups["Support desk"])


def test_agent_home_lists_their_own_open_tickets_oldest_first(desk: DeskUnderTest) -> None:
    older = open_ticket(desk, "older question")
    newer = open_ticket(desk, "newer question")
    someone_elses = open_ticket(desk, "another question")
    done = open_ticket(desk, "already solved")
    claim(desk, newer, AGENT)
    claim(desk, older, AGENT)
    claim(desk, someone_elses, AGENT2)
    claim(desk, done, AGENT)
    with desk.session() as session:
        perform(
            session,
            desk.runtime.desk,
            TicketAction(
                kind=ActionKind.RESOLVE,
                ticket_id=done,
                actor=AGENT,
                at=desk.clock.now(),
                via=Via.BUTTON,
            ),
        )
    desk.deliver()

    mine = sections(open_home(desk, AGENT))["Your open tickets"]

    assert listed(mine) == [f"#{older}", f"#{newer}"]
    assert buttons_of(mine, f"#{older}") == {ActionId.OPEN: str(older)}
    assert "Claimed" in mine[0]["text"]["text"]


def test_close_to_sla_lists_deadlines_within_the_hour_soonest_first(desk: DeskUnderTest) -> None:
    """Due within the hour or already missed, for active tickets only; a first response that
    was given no longer counts, its resolution deadline does."""
    now = desk.clock.now()
    soon = open_ticket(desk, "due soon")
    overdue = open_ticket(desk, "overdue")
    later = open_ticket(desk, "due later")
    answered = open_ticket(desk, "answered, resolution far off")
    no_deadline = open_ticket(desk, "no SLA at all")
    set_deadlines(desk, soon, first_response_due_at=now + timedelta(minutes=30))
    set_deadlines(
        desk,
        overdue,
        first_response_due_at=now + timedelta(hours=3),
        resolution_due_at=now - timedelta(minutes=10),
    )
    set_deadlines(desk, later, first_response_due_at=now + timedelta(hours=3))
    set_deadlines(
        desk,
        answered,
        first_response_at=now - timedelta(hours=1),
        first_response_due_at=now - timedelta(minutes=30),
        resolution_due_at=now + timedelta(hours=5),
    )

    near = sections(open_home(desk, AGENT))["Close to SLA"]

    assert listed(near) == [f"#{overdue}", f"#{soon}"]
    assert f"#{no_deadline}" not in listed(near)
    assert "resolution overdue by 10m" in texts(near)
    assert re.search(r"first response due in (29|30)m", texts(near))
    assert buttons_of(near, f"#{soon}") == {ActionId.CLAIM: str(soon), ActionId.OPEN: str(soon)}


def test_agent_home_stays_well_within_slack_limits(desk: DeskUnderTest) -> None:
    total = HOME_QUEUE_LIMIT + 5
    for number in range(total):
        open_ticket(desk, f"question {number}")

    view = open_home(desk, AGENT)

    queue = sections(view)["Team queue"]
    assert len(listed(queue)) == HOME_QUEUE_LIMIT
    assert "…and 5 more" in texts(queue)
    assert len(view["blocks"]) <= 80


def test_away_agent_sees_it_on_their_home(desk: DeskUnderTest) -> None:
    with desk.session() as session:
        AgentRepository(session).set_away(AGENT, True, at=desk.clock.now())

    header = sections(open_home(desk, AGENT))["Support desk"]

    assert "You're away" in texts(header) and "/support away" in texts(header)


# --- App Home for everyone else ----------------------------------------------------------------


def test_requester_home_lists_their_requests_newest_first(desk: DeskUnderTest) -> None:
    first = open_ticket(desk, "first request")
    other = open_ticket(desk, "someone else's", user=OTHER)
    second = open_ticket(desk, "second request")
    claim(desk, first, AGENT)

    view = open_home(desk, REQUESTER)

    groups = sections(view)
    assert list(groups) == ["Your requests"]
    requests = groups["Your requests"]
    assert listed(requests) == [f"#{second}", f"#{first}"]
    assert f"#{other}" not in listed(requests)
    assert all(block["type"] != "actions" for block in view["blocks"])
    assert f"with <@{AGENT}>" in requests[1]["text"]["text"]
    assert "Claimed" in requests[1]["text"]["text"]
    assert "_unclaimed_" in requests[0]["text"]["text"]


def test_home_of_someone_without_requests_says_so(desk: DeskUnderTest) -> None:
    open_ticket(desk, "a question")

    view = open_home(desk, NOT_AGENT)

    assert listed(view["blocks"]) == []
    assert "haven't asked the support team" in texts(view["blocks"])


def test_messages_tab_publishes_nothing(desk: DeskUnderTest) -> None:
    event = desk.slack.app_home_opened(user=AGENT, tab="messages")
    assert desk.slack.send_event(event).status == 200
    desk.deliver()
    assert desk.standin.calls("views.publish") == []


# --- buttons in App Home -----------------------------------------------------------------------


def test_claim_from_home_claims_and_republishes_the_home(desk: DeskUnderTest) -> None:
    ticket_id = open_ticket(desk, "please help")
    view = open_home(desk, AGENT)
    assert buttons_of(sections(view)["Team queue"], f"#{ticket_id}")[ActionId.CLAIM] == str(
        ticket_id
    )

    reply = desk.slack.press_in_view(
        user=AGENT, view=view, action_id=ActionId.CLAIM, value=str(ticket_id)
    )
    assert reply.status == 200
    desk.deliver()

    ticket = load(desk, ticket_id)
    assert (ticket.status, ticket.assignee) == ("claimed", AGENT)
    assert len(desk.standin.calls("views.publish")) == 2
    home = desk.standin.home_view(AGENT)
    assert home is not None and home["id"] == view["id"]
    groups = sections(home)
    assert listed(groups["Your open tickets"]) == [f"#{ticket_id}"]
    assert buttons_of(groups["Team queue"], f"#{ticket_id}") == {ActionId.OPEN: str(ticket_id)}


def test_open_shows_an_agent_the_ticket_details_with_notes(desk: DeskUnderTest) -> None:
    ticket_id = open_ticket(desk, "Checkout fails for <@U0X> & friends")
    claim(desk, ticket_id, AGENT)
    assert ack_body_or_empty(support(desk, AGENT2, f"note #{ticket_id} Logs show a 502")) == {}
    desk.deliver()
    view = open_home(desk, AGENT)

    reply = desk.slack.press_in_view(
        user=AGENT, view=view, action_id=ActionId.OPEN, value=str(ticket_id)
    )

    assert reply.status == 200
    [opened] = desk.standin.wait_for("views.open")
    assert not opened.failed
    assert opened.args["trigger_id"].endswith(".trigger")
    modal = opened.args["view"]
    assert modal["type"] == "modal"
    assert modal["callback_id"] == CallbackId.DETAILS_MODAL
    assert modal["private_metadata"] == str(ticket_id)
    assert modal["title"]["text"] == f"Ticket #{ticket_id}"
    markup = texts(modal["blocks"])
    groups = sections(modal)
    attributes = texts(groups[next(iter(groups))])
    for label in ("Status", "Priority", "Issue type", "Queue", "Customer", "Assignee"):
        assert f"*{label}*" in attributes
    for label in ("Requester", "Product", "Tags", "Internal priority", "Support type"):
        assert f"*{label}*" in attributes
    assert "*Client priority*" in attributes and "*Departments*" in attributes
    assert f"<@{AGENT}>" in attributes and f"<@{REQUESTER}>" in attributes
    assert "Checkout fails for &lt;@U0X&gt; &amp; friends" in markup
    assert "<@U0X>" not in markup
    assert "Open the ticket's thread" in attributes  # the card's delivery fetched the permalink
    notes = texts(groups["Internal notes"])
    assert f"<@{AGENT2}>" in notes and "Logs show a 502" in notes and "<!date^" in notes
    activity = texts(groups["Recent activity"])
    assert "opened" in activity and "claimed" in activity and "note added" in activity
    assert len(modal["blocks"]) <= 100


def test_open_by_a_non_agent_is_refused_privately(desk: DeskUnderTest) -> None:
    ticket_id = open_ticket(desk, "secret internals")
    agent_view = open_home(desk, AGENT)

    reply = desk.slack.press_in_view(
        user=NOT_AGENT, view=agent_view, action_id=ActionId.OPEN, value=str(ticket_id)
    )
    assert reply.status == 200
    deliver_until(desk, lambda: bool(dms_to(desk, NOT_AGENT)))

    [refusal] = dms_to(desk, NOT_AGENT)
    assert "for support agents only" in refusal
    assert desk.standin.calls("views.open") == []


def test_open_of_a_ticket_that_is_gone(desk: DeskUnderTest) -> None:
    view = open_home(desk, AGENT)

    desk.slack.press_in_view(user=AGENT, view=view, action_id=ActionId.OPEN, value="999")
    deliver_until(desk, lambda: bool(dms_to(desk, AGENT)))

    assert dms_to(desk, AGENT) == ["Ticket #999 doesn't exist (any more)."]
    assert desk.standin.calls("views.open") == []


# --- /support mine, queue, away ----------------------------------------------------------------


def blocks_refs(body: dict[str, Any]) -> list[str]:
    return listed(body["blocks"])


def test_support_mine_lists_an_agents_open_tickets(desk: DeskUnderTest) -> None:
    older = open_ticket(desk, "older")
    newer = open_ticket(desk, "newer")
    open_ticket(desk, "unclaimed")
    claim(desk, newer, AGENT)
    claim(desk, older, AGENT)

    body = ack_body(support(desk, AGENT, "mine"))

    assert body["response_type"] == "ephemeral"
    assert blocks_refs(body) == [f"#{older}", f"#{newer}"]
    assert body["text"] == "Your open tickets: 2 tickets"
    assert "Home* tab" in texts(body["blocks"])
    assert desk.standin.calls("views.open") == []


def test_support_mine_lists_a_requesters_own_requests(desk: DeskUnderTest) -> None:
    first = open_ticket(desk, "first")
    second = open_ticket(desk, "second")
    open_ticket(desk, "not mine", user=OTHER)

    body = ack_body(support(desk, REQUESTER, "mine"))

    assert body["response_type"] == "ephemeral"
    assert blocks_refs(body) == [f"#{second}", f"#{first}"]
    assert "*Your requests*" in body["blocks"][0]["text"]["text"]

    nothing = ack_body(support(desk, NOT_AGENT, "MINE"))
    assert blocks_refs(nothing) == []
    assert "haven't asked the support team" in texts(nothing["blocks"])


def test_support_queue_for_agents_and_a_refusal_for_others(desk: DeskUnderTest) -> None:
    first = open_ticket(desk, "first")
    second = open_ticket(desk, "second")
    claim(desk, first, AGENT2)

    body = ack_body(support(desk, AGENT, "queue"))

    assert body["response_type"] == "ephemeral"
    assert blocks_refs(body) == [f"#{second}", f"#{first}"]
    assert "unclaimed first" in body["blocks"][0]["text"]["text"]

    refusal = ack_body(support(desk, REQUESTER, "queue"))
    assert refusal["response_type"] == "ephemeral"
    assert "The team queue is for support agents" in refusal["text"]
    assert "blocks" not in refusal or blocks_refs(refusal) == []


def test_support_away_toggles_and_refuses_non_agents(desk: DeskUnderTest) -> None:
    away = ack_body(support(desk, AGENT, "away"))
    assert away["response_type"] == "ephemeral"
    assert away["text"].startswith(":palm_tree: You're away: auto-assignment skips you")
    with desk.session() as session:
        assert AgentRepository(session).away_users() == {AGENT}
    desk.deliver()
    home = desk.standin.home_view(AGENT)
    assert home is not None and "You're away" in texts(home["blocks"])

    back = ack_body(support(desk, AGENT, "away"))
    assert back["text"].startswith(":wave: Welcome back")
    with desk.session() as session:
        assert AgentRepository(session).away_users() == set()

    refused = ack_body(support(desk, REQUESTER, "away"))
    assert "Only support agents have an away status" in refused["text"]
    with desk.session() as session:
        assert AgentRepository(session).away_users() == set()


def test_support_help_lists_the_subcommands(desk: DeskUnderTest) -> None:
    body = ack_body(support(desk, REQUESTER, "help"))

    for usage in ("/support mine", "/support queue", "/support away", "/support note #42"):
        assert f"`{usage}" in body["text"]
    assert "<" not in body["text"]


# --- /support note -----------------------------------------------------------------------------


def test_support_note_saves_an_internal_note(desk: DeskUnderTest) -> None:
    ticket_id = open_ticket(desk, "a question")

    first = support(desk, AGENT, f"note #{ticket_id} Called the customer, waiting on logs")
    second = support(desk, AGENT2, f"note {ticket_id}   Second   thought")
    third = support(desk, AGENT2, f"NOTE\n#{ticket_id} line one\nline two")
    desk.deliver()

    assert all(ack_body_or_empty(reply) == {} for reply in (first, second, third))
    assert notes_of(desk, ticket_id) == [
        (AGENT, "Called the customer, waiting on logs"),
        (AGENT2, "Second   thought"),
        (AGENT2, "line one\nline two"),
    ]
    [told] = ephemerals_to(desk, AGENT)
    assert f"Internal note added to #{ticket_id}" in told
    assert desk.standin.calls("views.open") == []


def test_support_note_by_a_non_agent_is_refused(desk: DeskUnderTest) -> None:
    ticket_id = open_ticket(desk, "a question")

    support(desk, REQUESTER, f"note #{ticket_id} let me in")
    desk.deliver()

    assert notes_of(desk, ticket_id) == []
    [refusal] = ephemerals_to(desk, REQUESTER)
    assert "Only support agents" in refusal


def test_support_note_with_a_bad_ref_explains_the_usage(desk: DeskUnderTest) -> None:
    ticket_id = open_ticket(desk, "a question")

    unknown = ack_body(support(desk, AGENT, "note #999 nothing here"))
    huge = ack_body(support(desk, AGENT, "note #99999999999999999999 nothing here"))
    missing = ack_body(support(desk, AGENT, "note checked the logs"))
    empty = ack_body(support(desk, AGENT, f"note #{ticket_id}"))

    assert "There's no ticket #999" in unknown["text"]
    assert "There's no ticket #99999999999999999999" in huge["text"]
    for body in (missing, empty):
        assert "give the ticket's number and then the note" in body["text"]
        assert "`/support note #42 &lt;text&gt;`" in body["text"]
    assert all(body["response_type"] == "ephemeral" for body in (unknown, missing, empty))
    assert notes_of(desk, ticket_id) == []
    assert desk.standin.calls("views.open") == []


def test_support_note_typed_in_a_tickets_thread_needs_no_ref(desk: DeskUnderTest) -> None:
    """Slack sends no thread_ts with slash commands today; should it, the thread names the
    ticket."""
    ticket_id = open_ticket(desk, "a question")
    ticket = load(desk, ticket_id)
    reply, _ = desk.slack.slash_command(user=AGENT, channel="C0HELP", text="note from the thread")
    assert reply.status == 200
    assert "give the ticket's number" in ack_body(reply)["text"]

    fields = {
        "token": "legacy-verification-token",
        "team_id": desk.slack.team_id,
        "channel_id": "C0HELP",
        "user_id": AGENT,
        "command": "/support",
        "text": "note from the thread",
        "api_app_id": desk.slack.app_id,
        "trigger_id": "1.trigger",
        "thread_ts": ticket.thread_ts or "",
        "response_url": "https://hooks.slack.com/commands/T0DESK/1/x",
    }
    assert desk.slack.post_form(fields).status == 200
    desk.deliver()

    assert notes_of(desk, ticket_id) == [(AGENT, "from the thread")]


# --- free text still opens the form ------------------------------------------------------------


def test_free_text_still_opens_the_intake_form(desk: DeskUnderTest) -> None:
    """Words that merely look like subcommands are a description, not an error."""
    for text in ("my invoice is wrong", "queue is stuck", "mine field"):
        desk.standin.reset_calls()
        reply, trigger_id = desk.slack.slash_command(user=REQUESTER, channel="C0HELP", text=text)
        assert reply.status == 200
        assert ack_body_or_empty(reply) == {}
        [opened] = desk.standin.wait_for("views.open")
        assert opened.args["trigger_id"] == trigger_id
        description = next(
            b for b in opened.args["view"]["blocks"] if b.get("block_id") == "description"
        )
        assert description["element"]["initial_value"] == text
