"""The card's Edit and Internal note buttons over HTTP: who gets a modal, what it shows, what a
submission changes, logs and posts, and how bad answers are refused, against the Slack stand-in."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.config import parse_config
from bot.slack_driver import Reply, select_value, text_value
from bot.standin import SlackStandin
from storage.models import Ticket, TicketEvent, TicketNote, TicketTag
from storage.repositories import NoteRepository, OutboxRepository, TicketRepository
from templates.ids import ActionId, BlockId
from tests.conftest import TEST_CONFIG, DeskUnderTest, running_desk
from tests.test_http_intake import open_ticket_from_message
from workflows.clock import ManualClock

AGENT = "U0AGENT1"
NOT_AGENT = "U0BOB"

Values = dict[str, dict[str, Any]]


# --- helpers ---------------------------------------------------------------------------------


def load(desk: DeskUnderTest, ticket_id: int) -> Ticket:
    with desk.session() as session:
        ticket = TicketRepository(session).get(ticket_id)
        assert ticket is not None
        ticket.tags  # noqa: B018 - load before the session closes
        return ticket


def set_fields(desk: DeskUnderTest, ticket: Ticket, **fields: Any) -> None:
    """Give the ticket attributes directly (as an earlier edit or a rule would have)."""
    with desk.session() as session:
        stored = TicketRepository(session).get(ticket.id)
        assert stored is not None
        for name, value in fields.items():
            setattr(stored, name, value)


def events(desk: DeskUnderTest, ticket: Ticket, kind: str | None = None) -> list[TicketEvent]:
    with desk.session() as session:
        return [
            e for e in TicketRepository(session).events(ticket.id) if kind is None or e.kind == kind
        ]


def nothing_owed(desk: DeskUnderTest) -> bool:
    with desk.session() as session:
        return not OutboxRepository(session).pending()


def card_message(desk: DeskUnderTest, ticket: Ticket) -> dict[str, Any]:
    [card] = [
        m for m in desk.standin.messages("C0HELP") if m.get("bot_id") and m["ts"] == ticket.card_ts
    ]
    return card


def press(
    desk: DeskUnderTest, ticket: Ticket, action_id: str, *, user: str = AGENT, **kw: Any
) -> Reply:
    reply = desk.slack.press(
        user=user,
        message=card_message(desk, ticket),
        channel="C0HELP",
        action_id=action_id,
        value=str(ticket.id),
        **kw,
    )
    assert reply.status == 200, reply.body
    return reply


def opened_view(desk: DeskUnderTest, count: int = 1) -> dict[str, Any]:
    """The modal the last views.open call opened, as Slack stores it (with its id)."""
    calls = desk.standin.wait_for("views.open", count=count)
    assert not calls[-1].failed, calls[-1].error
    sent = calls[-1].args["view"]
    matches = [
        view
        for view in desk.standin.views.values()
        if all(view[key] == sent[key] for key in ("callback_id", "private_metadata", "blocks"))
    ]
    return dict(matches[-1])


def settle() -> None:
    """Give lazy listeners (Bolt runs them on a thread after the ack) a moment to act."""
    time.sleep(0.3)


def block(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    [found] = [b for b in view["blocks"] if b.get("block_id") == block_id]
    return found


def untouched(view: dict[str, Any]) -> Values:
    """`state.values` as Slack sends them when the agent changes nothing: every input answers
    with its initial value, or null."""
    values: Values = {}
    for item in view["blocks"]:
        if item["type"] != "input":
            continue
        element = item["element"]
        kind = element["type"]
        if kind == "static_select":
            state = {"type": kind, "selected_option": element.get("initial_option")}
        elif kind == "multi_static_select":
            state = {"type": kind, "selected_options": element.get("initial_options", [])}
        else:
            state = {"type": kind, "value": element.get("initial_value")}
        values[item["block_id"]] = {element["action_id"]: state}
    return values


def answer(values: Values, block_id: str, state: dict[str, Any]) -> Values:
    [action_id] = values[block_id]
    return {**values, block_id: {action_id: state}}


def chosen_many(*picked: str) -> dict[str, Any]:
    return {
        "type": "multi_static_select",
        "selected_options": [
            {"text": {"type": "plain_text", "text": p}, "value": p} for p in picked
        ],
    }


def submit(desk: DeskUnderTest, view: dict[str, Any], values: Values, user: str = AGENT) -> Reply:
    reply = desk.slack.submit_view(user=user, view=view, values=values)
    assert reply.status == 200, reply.body
    return reply


def errors_of(reply: Reply) -> dict[str, str]:
    body = reply.json()
    assert body["response_action"] == "errors"
    return dict(body["errors"])


def closes(reply: Reply) -> bool:
    return not reply.body or reply.json() in (None, {})


def open_edit_modal(desk: DeskUnderTest, ticket: Ticket) -> dict[str, Any]:
    press(desk, ticket, ActionId.EDIT)
    return opened_view(desk)


# --- opening the Edit modal ------------------------------------------------------------------


def test_edit_opens_a_modal_prefilled_with_the_ticket(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk)
    set_fields(
        desk,
        ticket,
        issue_type="question",
        priority="high",
        internal_priority="Medium",
        product="API",
        departments=["Sales", "Engineering"],
        users_affected=40,
        site_down=False,
        support_type="Quick fix",
        client_priority="At risk",
    )
    with desk.session() as session:
        stored = TicketRepository(session).get(ticket.id)
        assert stored is not None
        stored.tags = [TicketTag(tag="billing"), TicketTag(tag="export")]
    buttons = {
        e["action_id"]: e
        for b in card_message(desk, ticket)["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    }
    assert buttons[ActionId.EDIT]["value"] == str(ticket.id)

    reply = press(desk, ticket, ActionId.EDIT)

    assert closes(reply)
    [call] = desk.standin.wait_for("views.open")
    assert call.args["trigger_id"].endswith(".trigger")
    view = opened_view(desk)
    assert view["callback_id"] == "edit_ticket_modal"
    assert view["title"]["text"] == f"Edit ticket #{ticket.id}"
    assert json.loads(view["private_metadata"])["ticket"] == ticket.id
    assert json.loads(view["private_metadata"])["channel"] == "C0HELP"
    assert json.loads(view["private_metadata"])["thread_ts"] == ticket.source_ts

    def initial(block_id: str) -> Any:
        element = block(view, block_id)["element"]
        if "initial_options" in element:
            return [o["value"] for o in element["initial_options"]]
        if "initial_option" in element:
            return element["initial_option"]["value"]
        return element.get("initial_value")

    assert initial(BlockId.ISSUE_TYPE) == "question"
    assert initial(BlockId.PRIORITY) == "high"
    assert initial(BlockId.INTERNAL_PRIORITY) == "Medium"
    assert initial(BlockId.PRODUCT) == "API"
    assert initial(BlockId.DEPARTMENTS) == ["Sales", "Engineering"]
    assert initial(BlockId.USERS_AFFECTED) == "40"
    assert initial(BlockId.SITE_DOWN) == "no"
    assert initial(BlockId.SUPPORT_TYPE) == "Quick fix"
    assert initial(BlockId.CLIENT_PRIORITY) == "At risk"
    assert initial(BlockId.TAGS) == "billing, export"
    departments = block(view, BlockId.DEPARTMENTS)["element"]
    assert departments["type"] == "multi_static_select"
    assert [o["value"] for o in departments["options"]] == list(
        desk.runtime.desk.config.taxonomy.departments
    )
    assert block(view, BlockId.USERS_AFFECTED)["element"]["type"] == "number_input"
    assert block(view, BlockId.USERS_AFFECTED)["optional"] is True
    assert nothing_owed(desk)


def test_a_value_removed_from_the_config_is_still_shown(desk: DeskUnderTest) -> None:
    """The ticket's internal priority "P0" and product "Legacy" are no longer in the config: they
    are offered as extra options (Slack refuses an initial option that isn't an option), and
    saving the form unchanged keeps them."""
    ticket = open_ticket_from_message(desk)
    set_fields(desk, ticket, internal_priority="P0", product="Legacy", departments=["Legal"])

    view = open_edit_modal(desk, ticket)

    element = block(view, BlockId.INTERNAL_PRIORITY)["element"]
    assert element["initial_option"]["value"] == "P0"
    assert element["initial_option"] in element["options"]
    product = block(view, BlockId.PRODUCT)["element"]
    assert product["initial_option"]["value"] == "Legacy"
    assert product["initial_option"] in product["options"]
    departments = block(view, BlockId.DEPARTMENTS)["element"]
    assert departments["initial_options"][0]["value"] == "Legal"
    assert departments["initial_options"][0] in departments["options"]

    values = answer(untouched(view), BlockId.PRIORITY, select_value("low"))
    assert closes(submit(desk, view, values))
    edited = load(desk, ticket.id)
    assert (edited.priority, edited.internal_priority, edited.product) == ("low", "P0", "Legacy")
    assert edited.departments == ["Legal"]


def test_non_agent_gets_a_private_refusal_and_no_modal(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk)

    press(desk, ticket, ActionId.EDIT, user=NOT_AGENT)
    desk.deliver()
    settle()

    assert desk.standin.calls("views.open") == []
    [refusal] = desk.standin.ephemeral_messages("C0HELP", user=NOT_AGENT)
    assert refusal["thread_ts"] == ticket.source_ts
    assert refusal["text"].startswith("Only support agents can edit tickets")
    assert f"#{ticket.id}" in refusal["text"]


def test_user_from_another_workspace_is_never_an_agent(desk: DeskUnderTest) -> None:
    """Even with an agent's user ID: Slack Connect users are decided by their team."""
    ticket = open_ticket_from_message(desk)

    press(desk, ticket, ActionId.EDIT, user=AGENT, user_team="T0OTHER")
    press(desk, ticket, ActionId.NOTE, user=AGENT, user_team="T0OTHER")
    desk.deliver()
    settle()

    assert desk.standin.calls("views.open") == []
    refusals = desk.standin.ephemeral_messages("C0HELP", user=AGENT)
    assert len(refusals) == 2
    assert all("The support team handles" in r["text"] for r in refusals)


# --- submitting the Edit modal ---------------------------------------------------------------


def test_valid_edit_changes_the_ticket_logs_the_diff_and_updates_the_card(
    desk: DeskUnderTest,
) -> None:
    ticket = open_ticket_from_message(desk)
    set_fields(desk, ticket, product="API")
    view = open_edit_modal(desk, ticket)
    values = untouched(view)
    values = answer(values, BlockId.PRIORITY, select_value("urgent"))
    values = answer(values, BlockId.ISSUE_TYPE, select_value("technical_issue"))
    values = answer(values, BlockId.DEPARTMENTS, chosen_many("Engineering"))
    values = answer(values, BlockId.USERS_AFFECTED, text_value("1200", "number_input"))
    values = answer(values, BlockId.SITE_DOWN, select_value("yes"))
    values = answer(values, BlockId.PRODUCT, select_value("__not_set__", "Not set"))
    values = answer(values, BlockId.TAGS, text_value("Billing Export, vip, VIP"))

    reply = submit(desk, view, values)

    assert closes(reply)
    edited = load(desk, ticket.id)
    assert (edited.priority, edited.issue_type, edited.product) == (
        "urgent",
        "technical_issue",
        None,
    )
    assert (edited.users_affected, edited.site_down) == (1200, True)
    assert edited.departments == ["Engineering"]
    assert [t.tag for t in edited.tags] == ["billing-export", "vip"]
    [event] = events(desk, ticket, "edited")
    assert event.actor == AGENT
    assert event.at == desk.clock.now()
    assert event.data["changes"] == {
        "issue_type": {"from": None, "to": "technical_issue"},
        "priority": {"from": "medium", "to": "urgent"},
        "product": {"from": "API", "to": None},
        "departments": {"from": [], "to": ["Engineering"]},
        "users_affected": {"from": None, "to": 1200},
        "site_down": {"from": None, "to": True},
        "tags": {"from": [], "to": ["billing-export", "vip"]},
    }

    desk.deliver()
    [update] = [c for c in desk.standin.calls("chat.update") if c.args["ts"] == ticket.card_ts]
    assert update.args["text"] == f"Ticket #{ticket.id} · Open · Urgent priority"
    markup = json.dumps(update.args["blocks"])
    assert "`billing-export` `vip`" in markup
    assert "1,200 users affected, site down" in markup
    card = card_message(desk, ticket)
    assert "Urgent" in card["text"]

    # Replacing the tags: the next edit's tag list is the whole set.
    view = open_edit_modal_again(desk, ticket)
    assert block(view, BlockId.TAGS)["element"]["initial_value"] == "billing-export, vip"
    values = answer(untouched(view), BlockId.TAGS, text_value("vip, refunds"))
    assert closes(submit(desk, view, values))
    assert [t.tag for t in load(desk, ticket.id).tags] == ["refunds", "vip"]
    assert len(events(desk, ticket, "edited")) == 2


def open_edit_modal_again(desk: DeskUnderTest, ticket: Ticket) -> dict[str, Any]:
    count = len(desk.standin.calls("views.open")) + 1
    press(desk, ticket, ActionId.EDIT)
    return opened_view(desk, count=count)


def test_saving_an_unchanged_form_records_and_posts_nothing(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk)
    view = open_edit_modal(desk, ticket)
    updates = len(desk.standin.calls("chat.update"))

    assert closes(submit(desk, view, untouched(view)))

    assert events(desk, ticket, "edited") == []
    assert nothing_owed(desk)
    desk.deliver()
    assert len(desk.standin.calls("chat.update")) == updates


@pytest.mark.parametrize("count", ["0", "abc", "10000001", "-5", "2.5"])
def test_bad_users_affected_is_refused_with_an_error(desk: DeskUnderTest, count: str) -> None:
    ticket = open_ticket_from_message(desk)
    view = open_edit_modal(desk, ticket)
    values = answer(untouched(view), BlockId.USERS_AFFECTED, text_value(count, "number_input"))
    values = answer(values, BlockId.PRIORITY, select_value("urgent"))

    errors = errors_of(submit(desk, view, values))

    assert set(errors) == {"users_affected"}
    assert load(desk, ticket.id).priority == "medium"
    assert events(desk, ticket, "edited") == []
    assert nothing_owed(desk)


def test_too_many_or_too_long_tags_and_unlisted_values_are_refused(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk)
    view = open_edit_modal(desk, ticket)

    many = answer(untouched(view), BlockId.TAGS, text_value(",".join(f"t{n}" for n in range(21))))
    long = answer(untouched(view), BlockId.TAGS, text_value("x" * 65))
    unlisted = answer(untouched(view), BlockId.SUPPORT_TYPE, select_value("Therapy"))

    assert set(errors_of(submit(desk, view, many))) == {"tags"}
    assert set(errors_of(submit(desk, view, long))) == {"tags"}
    assert set(errors_of(submit(desk, view, unlisted))) == {"support_type"}
    assert events(desk, ticket, "edited") == []


def test_a_closed_ticket_cannot_be_edited(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk)
    view = open_edit_modal(desk, ticket)
    set_fields(desk, ticket, status="closed")

    values = answer(untouched(view), BlockId.PRIORITY, select_value("urgent"))
    errors = errors_of(submit(desk, view, values))

    assert list(errors) == [BlockId.ISSUE_TYPE]
    assert "closed" in errors[BlockId.ISSUE_TYPE]
    assert load(desk, ticket.id).priority == "medium"
    assert events(desk, ticket, "edited") == []


def test_an_agent_removed_meanwhile_cannot_submit(desk: DeskUnderTest) -> None:
    """The modal's submission checks again who is submitting."""
    ticket = open_ticket_from_message(desk)
    view = open_edit_modal(desk, ticket)

    values = answer(untouched(view), BlockId.PRIORITY, select_value("urgent"))
    errors = errors_of(submit(desk, view, values, user=NOT_AGENT))

    assert "Only support agents" in errors[BlockId.ISSUE_TYPE]
    assert load(desk, ticket.id).priority == "medium"


# --- rules run on edit -----------------------------------------------------------------------


@pytest.fixture
def rules_desk(
    engine: Engine, standin: SlackStandin, clock: ManualClock
) -> Iterator[DeskUnderTest]:
    config = parse_config(
        {
            **TEST_CONFIG,
            "rules": [
                {
                    "if": {"priority": "urgent", "department": "Engineering"},
                    "then": {
                        "internal_priority": "Critical",
                        "tags": ["escalated"],
                        "notify": ["C0ONCALL"],
                    },
                }
            ],
        }
    )
    with running_desk(engine, standin, clock, config) as running:
        yield running


def test_a_rule_from_the_config_fires_on_edit(rules_desk: DeskUnderTest) -> None:
    desk = rules_desk
    ticket = open_ticket_from_message(desk)
    assert events(desk, ticket, "rule_applied") == []
    view = open_edit_modal(desk, ticket)
    values = answer(untouched(view), BlockId.PRIORITY, select_value("urgent"))
    values = answer(values, BlockId.DEPARTMENTS, chosen_many("Engineering"))

    assert closes(submit(desk, view, values))
    desk.deliver()

    edited = load(desk, ticket.id)
    assert edited.internal_priority == "Critical"
    assert [t.tag for t in edited.tags] == ["escalated"]
    kinds = [e.kind for e in events(desk, ticket)]
    assert kinds[-2:] == ["edited", "rule_applied"]
    assert [c.args["channel"] for c in desk.standin.calls("chat.postMessage")].count(
        "C0ONCALL"
    ) == 1
    update = [c for c in desk.standin.calls("chat.update") if c.args["ts"] == ticket.card_ts][-1]
    assert "`escalated`" in json.dumps(update.args["blocks"])


# --- internal notes --------------------------------------------------------------------------


def notes(desk: DeskUnderTest, ticket: Ticket) -> list[TicketNote]:
    with desk.session() as session:
        return list(NoteRepository(session).for_ticket(ticket.id))


def test_note_modal_stores_the_note_and_confirms_privately(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk)

    press(desk, ticket, ActionId.NOTE)
    view = opened_view(desk)

    assert view["callback_id"] == "note_modal"
    element = block(view, BlockId.NOTE)["element"]
    assert (element["type"], element["action_id"]) == ("plain_text_input", ActionId.NOTE_INPUT)
    assert element["multiline"] is True and element["max_length"] == 3000
    values = {BlockId.NOTE: {ActionId.NOTE_INPUT: text_value("  Customer is on the old plan  ")}}
    assert closes(submit(desk, view, values))

    [note] = notes(desk, ticket)
    assert (note.author, note.text, note.created_at) == (
        AGENT,
        "Customer is on the old plan",
        desk.clock.now(),
    )
    [logged] = events(desk, ticket, "note_added")
    assert logged.data["via"] == "modal"
    desk.deliver()
    [confirmation] = desk.standin.ephemeral_messages("C0HELP", user=AGENT)
    assert confirmation["thread_ts"] == ticket.source_ts
    assert "Internal note added" in confirmation["text"]
    assert not any("old plan" in m.get("text", "") for m in desk.standin.messages("C0HELP"))


def test_an_empty_note_is_refused_with_an_error(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk)
    press(desk, ticket, ActionId.NOTE)
    view = opened_view(desk)

    for text in ("", "   \n  "):
        values = {BlockId.NOTE: {ActionId.NOTE_INPUT: text_value(text)}}
        assert set(errors_of(submit(desk, view, values))) == {"note"}
    values = {BlockId.NOTE: {ActionId.NOTE_INPUT: {"type": "plain_text_input", "value": None}}}
    assert set(errors_of(submit(desk, view, values))) == {"note"}

    assert notes(desk, ticket) == []
    assert nothing_owed(desk)


def test_non_agent_pressing_internal_note_is_refused(desk: DeskUnderTest) -> None:
    ticket = open_ticket_from_message(desk)

    press(desk, ticket, ActionId.NOTE, user=NOT_AGENT)
    desk.deliver()
    settle()

    assert desk.standin.calls("views.open") == []
    [refusal] = desk.standin.ephemeral_messages("C0HELP", user=NOT_AGENT)
    assert refusal["text"].startswith("Only support agents can add internal notes")
    assert notes(desk, ticket) == []
