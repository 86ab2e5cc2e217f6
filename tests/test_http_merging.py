"""Merge and Split over HTTP, from the card's overflow menu: who gets a modal, what it offers,
what a submission changes and says where, validation errors, replies in merged and split threads,
and retried submissions, through signed requests against the Slack stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.config import parse_config
from bot.slack_driver import Reply, select_value
from bot.standin import SlackStandin
from storage.models import Ticket, TicketMessage
from storage.repositories import TicketRepository
from templates.ids import ActionId, BlockId, MoreOption
from tests.conftest import TEST_CONFIG, DeskUnderTest, running_desk
from tests.test_http_customers import opened_view, settle
from workflows.clock import ManualClock

REQUESTER, OTHER_REQUESTER = "U0ALICE", "U0CAROL"
CUSTOMER, CUSTOMER2, GLOBEX_USER = "U0ACMEJO", "U0ACMEKIM", "U0GLOBEXAL"
CUSTOMER_TEAM, GLOBEX_TEAM = "T0ACME", "T0GLOBEX"
AGENT, NOT_AGENT = "U0AGENT1", "U0BOB"
HELP, ACME, GLOBEX, TRIAGE = "C0HELP", "C0ACME", "C0GLOBEX", "C0TRIAGE"


@pytest.fixture
def desk_config() -> Any:
    """The test config with a second customer: nothing may ever cross to them."""
    customers = [
        *TEST_CONFIG["customer_channels"],
        {"channel": GLOBEX, "customer": "Globex", "tier": "standard"},
    ]
    return parse_config({**TEST_CONFIG, "customer_channels": customers})


@pytest.fixture
def desk(
    engine: Engine, standin: SlackStandin, clock: ManualClock, desk_config: Any
) -> Iterator[DeskUnderTest]:
    with running_desk(engine, standin, clock, desk_config) as running:
        yield running


# --- helpers ---------------------------------------------------------------------------------


def says(
    desk: DeskUnderTest,
    text: str,
    *,
    user: str,
    channel: str,
    team: str | None = None,
    thread_ts: str | None = None,
    ts: str | None = None,
) -> str:
    """Someone writes in a channel (`team`: their workspace when it isn't ours)."""
    ts = desk.standin.seed_message(channel, user=user, text=text, thread_ts=thread_ts, ts=ts)
    event = desk.slack.message_event(
        channel=channel, user=user, text=text, ts=ts, thread_ts=thread_ts, user_team=team
    )
    reply = desk.slack.send_event(event)
    assert reply.status == 200, reply.body
    return ts


def newest(desk: DeskUnderTest) -> Ticket:
    with desk.session() as session:
        return max(TicketRepository(session).list_created_between(None, None), key=lambda t: t.id)


def ask(desk: DeskUnderTest, text: str, *, user: str = REQUESTER, **where: Any) -> Ticket:
    """A question in the help channel (or, with channel/team, a customer's): the ticket, with
    its card delivered."""
    says(desk, text, user=user, channel=where.pop("channel", HELP), **where)
    desk.deliver()
    return newest(desk)


def ask_acme(desk: DeskUnderTest, text: str, *, user: str = CUSTOMER) -> Ticket:
    return ask(desk, text, user=user, channel=ACME, team=CUSTOMER_TEAM)


def load(desk: DeskUnderTest, ticket_id: int) -> Ticket:
    with desk.session() as session:
        ticket = TicketRepository(session).get(ticket_id)
        assert ticket is not None
        return ticket


def kinds(desk: DeskUnderTest, ticket_id: int) -> list[str]:
    with desk.session() as session:
        return [e.kind for e in TicketRepository(session).events(ticket_id)]


def conversation(desk: DeskUnderTest, ticket_id: int) -> list[TicketMessage]:
    with desk.session() as session:
        return list(TicketRepository(session).conversation(ticket_id))


def bot_posts(desk: DeskUnderTest, channel: str) -> list[dict[str, Any]]:
    return [m for m in desk.standin.messages(channel) if m.get("bot_id")]


def card(desk: DeskUnderTest, ticket: Ticket) -> dict[str, Any]:
    ticket = load(desk, ticket.id)
    assert ticket.card_channel
    [found] = [m for m in bot_posts(desk, ticket.card_channel) if m["ts"] == ticket.card_ts]
    return found


def actions_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in message.get("blocks") or [] if b["type"] == "actions"]


def choose(
    desk: DeskUnderTest,
    ticket: Ticket,
    option: MoreOption,
    *,
    user: str = AGENT,
    user_team: str | None = None,
) -> Reply:
    """Pick an option of the card's overflow menu, as Slack sends it."""
    message = card(desk, ticket)
    [menu] = [
        e for block in actions_of(message) for e in block["elements"] if e["type"] == "overflow"
    ]
    assert f"{option}{ticket.id}" in [o["value"] for o in menu["options"]]
    reply = desk.slack.press(
        user=user,
        message=message,
        channel=load(desk, ticket.id).card_channel or "",
        action_id=ActionId.MORE,
        selected_value=f"{option}{ticket.id}",
        user_team=user_team,
    )
    assert reply.status == 200, reply.body
    assert not reply.body or reply.json() in (None, {})  # acknowledged at once, nothing else
    return reply


def options(view: dict[str, Any]) -> list[tuple[str, str]]:
    [select_block] = [b for b in view["blocks"] if b["type"] == "input"]
    return [(o["value"], o["text"]["text"]) for o in select_block["element"]["options"]]


def submit(
    desk: DeskUnderTest, view: dict[str, Any], block: str, action: str, value: str | None
) -> Reply:
    state = select_value(value) if value else {"type": "static_select", "selected_option": None}
    reply = desk.slack.submit_view(user=AGENT, view=view, values={block: {action: state}})
    assert reply.status == 200, reply.body
    return reply


def submit_merge(desk: DeskUnderTest, view: dict[str, Any], target: Ticket | None) -> Reply:
    value = str(target.id) if target else None
    return submit(desk, view, BlockId.MERGE_TARGET, ActionId.MERGE_TARGET, value)


def submit_split(desk: DeskUnderTest, view: dict[str, Any], ts: str | None) -> Reply:
    return submit(desk, view, BlockId.SPLIT_MESSAGE, ActionId.SPLIT_MESSAGE, ts)


def closes(reply: Reply) -> bool:
    return not reply.body or reply.json() in (None, {})


def errors_of(reply: Reply) -> dict[str, str]:
    body = reply.json()
    assert body["response_action"] == "errors", body
    return dict(body["errors"])


def thread(desk: DeskUnderTest, channel: str, thread_ts: str | None) -> list[str]:
    """What the bot said in a thread (its root excluded)."""
    return [
        m["text"]
        for m in bot_posts(desk, channel)
        if m.get("thread_ts") == thread_ts and m["ts"] != thread_ts
    ]


# --- merging ---------------------------------------------------------------------------------


def test_merge_from_the_card_closes_the_ticket_into_the_chosen_one(desk: DeskUnderTest) -> None:
    target = ask(desk, "VPN drops every hour")
    ask(desk, "Printer on 3 is jammed", user=OTHER_REQUESTER)
    ticket = ask(desk, "VPN <!here> dropped again")
    assert len(actions_of(card(desk, ticket))) == 1

    choose(desk, ticket, MoreOption.MERGE)
    view = opened_view(desk)

    assert view["callback_id"] == "merge_ticket_modal"
    assert view["title"]["text"] == f"Merge #{ticket.id}"
    assert options(view) == [(str(target.id), f"#{target.id} · Open · VPN drops every hour")]
    assert closes(submit_merge(desk, view, target))
    desk.deliver()

    merged, kept = load(desk, ticket.id), load(desk, target.id)
    assert (merged.status, merged.merged_into_id) == ("closed", target.id)
    assert kept.status == "open"
    assert "merged" in kinds(desk, target.id) and "merged_into" in kinds(desk, ticket.id)
    after = card(desk, ticket)
    assert actions_of(after) == []
    assert f"Merged into #{target.id}" in str(after["blocks"])
    assert thread(desk, HELP, ticket.source_ts)[-1] == (
        f":link: We're handling this together with #{target.id} (merged by <@{AGENT}>). "
        "Replies here still reach us."
    )
    here = thread(desk, HELP, target.source_ts)[-1]
    assert here.startswith(f":link: #{ticket.id} (from <@{REQUESTER}>) was merged into this")
    assert here.endswith(">VPN &lt;!here&gt; dropped again")

    # The requester's next reply in the merged thread joins the ticket that lives on.
    ts = says(desk, "It dropped at 10:02", user=REQUESTER, channel=HELP, thread_ts=ticket.source_ts)
    assert [m.ts for m in conversation(desk, target.id)] == [ts]
    assert conversation(desk, ticket.id) == []


def test_merging_a_customer_ticket_keeps_its_replies_with_that_customer(
    desk: DeskUnderTest,
) -> None:
    target = ask_acme(desk, "Invoices page shows a 500 error")
    ask(desk, "Globex: our export is slow", user=GLOBEX_USER, channel=GLOBEX, team=GLOBEX_TEAM)
    ask(desk, "An internal question", user=REQUESTER)
    ticket = ask_acme(desk, "Invoice 500 for me too", user=CUSTOMER2)

    choose(desk, ticket, MoreOption.MERGE)
    view = opened_view(desk)
    assert [value for value, _ in options(view)] == [str(target.id)]  # Acme's, and open
    assert closes(submit_merge(desk, view, target))
    desk.deliver()

    # The customer is told in words meant for them; the agents' room of the target hears of it.
    assert thread(desk, ACME, ticket.source_ts)[-1] == (
        f":link: We're handling this together with #{target.id}. Replies here still reach us."
    )
    target = load(desk, target.id)
    assert thread(desk, TRIAGE, target.card_ts)[-1].startswith(f":link: #{ticket.id} (from <@")
    posted_in_globex = len(bot_posts(desk, GLOBEX))

    ts = says(
        desk,
        "Still broken here",
        user=CUSTOMER2,
        channel=ACME,
        team=CUSTOMER_TEAM,
        thread_ts=ticket.source_ts,
    )
    desk.deliver()

    assert [m.ts for m in conversation(desk, target.id)] == [ts]
    room = thread(desk, TRIAGE, target.card_ts)
    assert "Still broken here" in room[-1]
    assert not any("Still broken here" in m for m in thread(desk, TRIAGE, ticket.card_ts))
    assert len(bot_posts(desk, GLOBEX)) == posted_in_globex
    assert not any("Still broken" in m.get("text", "") for m in bot_posts(desk, ACME))


def test_merge_submission_errors_are_shown_under_the_select(desk: DeskUnderTest) -> None:
    target = ask(desk, "VPN drops")
    ticket = ask(desk, "VPN drops again")
    choose(desk, ticket, MoreOption.MERGE)
    view = opened_view(desk)

    nothing = errors_of(submit_merge(desk, view, None))
    with desk.session() as session:
        stored = TicketRepository(session).get(target.id)
        assert stored is not None
        stored.status = "closed"  # closed while the modal was open
    closed = errors_of(submit_merge(desk, view, target))
    other = ask_acme(desk, "An Acme question")
    across = errors_of(submit_merge(desk, view, other))

    assert list(nothing) == list(closed) == list(across) == [BlockId.MERGE_TARGET]
    assert nothing[BlockId.MERGE_TARGET] == f"Choose the ticket to merge #{ticket.id} into."
    assert "is closed" in closed[BlockId.MERGE_TARGET]
    assert "aren't both customer tickets" in across[BlockId.MERGE_TARGET]
    assert load(desk, ticket.id).merged_into_id is None


def test_a_lone_ticket_gets_a_modal_without_submit(desk: DeskUnderTest) -> None:
    ticket = ask_acme(desk, "Invoices fail")

    choose(desk, ticket, MoreOption.MERGE)
    view = opened_view(desk)

    assert view["submit"] is None
    assert "no other open ticket from *Acme Corp*" in str(view["blocks"])


@pytest.mark.parametrize("option", [MoreOption.MERGE, MoreOption.SPLIT])
def test_non_agents_and_customers_are_refused_privately(
    desk: DeskUnderTest, option: MoreOption
) -> None:
    ask(desk, "VPN drops")
    ticket = ask(desk, "VPN drops again")
    word = "merge" if option == MoreOption.MERGE else "split"

    choose(desk, ticket, option, user=NOT_AGENT)
    choose(desk, ticket, option, user=AGENT, user_team="T0OTHER")
    desk.deliver()
    settle()

    assert desk.standin.calls("views.open") == []
    [refusal] = desk.standin.ephemeral_messages(HELP, user=NOT_AGENT)
    assert refusal["text"].startswith(f"Only support agents can {word} tickets")
    assert refusal["thread_ts"] == ticket.source_ts
    [polite] = desk.standin.ephemeral_messages(HELP, user=AGENT)
    assert "The support team handles" in polite["text"]


def test_the_other_overflow_options_still_work(desk: DeskUnderTest) -> None:
    ticket = ask(desk, "VPN drops")
    choose(desk, ticket, MoreOption.WAIT)
    desk.deliver()
    assert load(desk, ticket.id).status == "waiting_on_customer"
    choose(desk, ticket, MoreOption.UNCLAIM)
    desk.deliver()
    settle()
    assert load(desk, ticket.id).assignee is None
    assert desk.standin.calls("views.open") == []


# --- splitting -------------------------------------------------------------------------------


def test_split_of_a_customer_thread_opens_a_new_customer_thread_and_triage_card(
    desk: DeskUnderTest,
) -> None:
    ticket = ask_acme(desk, "Invoices page shows a 500 error")
    second = says(
        desk,
        "Also <!channel> the CSV export is empty",
        user=CUSTOMER,
        channel=ACME,
        team=CUSTOMER_TEAM,
        thread_ts=ticket.source_ts,
    )
    says(desk, "Looking into the 500", user=AGENT, channel=ACME, thread_ts=ticket.source_ts)
    desk.deliver()
    customer_posts = len(bot_posts(desk, ACME))

    choose(desk, ticket, MoreOption.SPLIT)
    view = opened_view(desk)
    labels = options(view)
    assert [value for value, _ in labels][1] == second
    assert labels[1][1].endswith(" customer · Also <!channel> the CSV export is empty")
    assert labels[0][1].endswith(" agent · Looking into the 500")
    assert closes(submit_split(desk, view, second))
    desk.deliver()

    new = newest(desk)
    assert new.id != ticket.id
    assert (new.bridged, new.customer, new.requester) == (True, "Acme Corp", CUSTOMER)
    assert new.description == "Also <!channel> the CSV export is empty"
    # A new top-level message hosts it in the customer channel, in words for the customer.
    [starter] = [m for m in bot_posts(desk, ACME) if m["ts"] == new.source_ts]
    assert "thread_ts" not in starter and new.source_thread_ts is None
    assert starter["text"] == (
        f"<@{CUSTOMER}>, we've opened #{new.id} for your question:\n"
        ">Also &lt;!channel&gt; the CSV export is empty\nWe'll follow up on it in this thread."
    )
    # Its card is a new top-level message in triage, linking to the new customer thread.
    new_card = card(desk, new)
    assert new.card_channel == TRIAGE and "thread_ts" not in new_card
    assert new.permalink and new.permalink in str(new_card["blocks"])
    # The old thread is told, customer-safe; the old room hears it too.
    told = thread(desk, ACME, ticket.source_ts)[-1]
    assert told.startswith(f":thread: We've opened #{new.id} for this question")
    assert AGENT not in told
    assert len(bot_posts(desk, ACME)) == customer_posts + 2
    assert f"split a message off into #{new.id}" in thread(desk, TRIAGE, ticket.card_ts)[-1]

    # The customer's reply in the new thread belongs to the new ticket and reaches its room.
    ts = says(
        desk,
        "Here's an empty file",
        user=CUSTOMER,
        channel=ACME,
        team=CUSTOMER_TEAM,
        thread_ts=new.source_ts,
    )
    desk.deliver()
    assert [m.ts for m in conversation(desk, new.id)] == [ts]
    assert "Here's an empty file" in thread(desk, TRIAGE, new.card_ts)[-1]
    assert ts not in [m.ts for m in conversation(desk, ticket.id)]


def test_split_of_an_internal_thread_posts_the_new_card_in_the_channel(
    desk: DeskUnderTest,
) -> None:
    ticket = ask(desk, "VPN drops")
    second = says(
        desk,
        "Also my laptop won't charge",
        user=REQUESTER,
        channel=HELP,
        thread_ts=ticket.source_ts,
    )

    choose(desk, ticket, MoreOption.SPLIT)
    view = opened_view(desk)
    assert options(view)[0][1].endswith(" requester · Also my laptop won't charge")
    assert closes(submit_split(desk, view, second))
    desk.deliver()

    new = newest(desk)
    assert (new.source_channel, new.source_ts) == (HELP, new.card_ts)
    new_card = card(desk, new)
    assert "thread_ts" not in new_card
    assert "Also my laptop won't charge" in str(new_card["blocks"])
    assert thread(desk, HELP, ticket.source_ts)[-1].startswith(
        f":thread: #{new.id} is now its own ticket (split off by <@{AGENT}>)"
    )

    ts = says(desk, "It's a USB-C one", user=REQUESTER, channel=HELP, thread_ts=new.source_ts)
    assert [m.ts for m in conversation(desk, new.id)] == [ts]


def test_a_thread_without_replies_has_nothing_to_split(desk: DeskUnderTest) -> None:
    ticket = ask(desk, "VPN drops")

    choose(desk, ticket, MoreOption.SPLIT)
    view = opened_view(desk)

    assert view["submit"] is None
    assert "nothing to split" in str(view["blocks"])


def test_retried_submissions_merge_and_split_once(desk: DeskUnderTest) -> None:
    target = ask_acme(desk, "Invoices fail")
    ticket = ask_acme(desk, "Invoices fail for me too", user=CUSTOMER2)
    second = says(
        desk,
        "And the export",
        user=CUSTOMER,
        channel=ACME,
        team=CUSTOMER_TEAM,
        thread_ts=target.source_ts,
    )
    desk.deliver()

    choose(desk, ticket, MoreOption.MERGE)
    merge_view = opened_view(desk)
    assert closes(submit_merge(desk, merge_view, target))
    assert closes(submit_merge(desk, merge_view, target))  # Slack sent it again
    choose(desk, target, MoreOption.SPLIT)
    split_view = opened_view(desk, count=2)
    assert closes(submit_split(desk, split_view, second))
    again = errors_of(submit_split(desk, split_view, second))
    desk.deliver()

    assert kinds(desk, target.id).count("merged") == 1
    assert kinds(desk, ticket.id).count("merged_into") == 1
    assert kinds(desk, target.id).count("split") == 1
    new = newest(desk)
    assert again[BlockId.SPLIT_MESSAGE] == f"That message is already its own ticket: #{new.id}."
    with desk.session() as session:
        assert len(TicketRepository(session).list_created_between(None, None)) == 3
    merged_notices = [m for m in thread(desk, ACME, ticket.source_ts) if "together with" in m]
    assert len(merged_notices) == 1
    starters = [m for m in bot_posts(desk, ACME) if "we've opened" in m["text"]]
    assert len(starters) == 1
