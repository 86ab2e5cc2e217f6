"""Deflection over HTTP: the real app, signed requests and the Slack stand-in. A question in a
watched channel gets the knowledge base's answers in its thread (once, however often Slack
retries the event); a customer gets them in their own thread, escaped and customer-safe; the
requester's This solved it resolves the ticket (at the action's time, unassigned, deflected),
anyone else is told privately; I still need help leaves it in the queue. Agents search with
/support kb, send an article with Suggest article, and draft one with Save as article; the
/support form lists answers as the description is typed."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, select

from bot.config import parse_config
from bot.slack_driver import Reply, select_value, text_value
from bot.standin import SlackStandin
from storage.db import create_session_factory
from storage.models import KbSuggestion, OutboxMessage, Ticket
from storage.repositories import TicketRepository
from templates.ids import ActionId, BlockId, CallbackId
from tests.conftest import SUITE_NOW, TEST_CONFIG, DeskUnderTest, running_desk
from workflows.clock import ManualClock, datetime_to_slack_ts
from workflows.delivery import CUSTOMER_SAFE_PURPOSES
from workflows.knowledge import reindex

REQUESTER, OTHER, AGENT, AGENT2 = "U0ALICE", "U0BOB", "U0AGENT1", "U0AGENT2"
CUSTOMER, COLLEAGUE, CUSTOMER_TEAM = "U0ACMEJO", "U0ACMEKIM", "T0ACME"
HELP, ACME, TRIAGE = "C0HELP", "C0ACME", "C0TRIAGE"
QUESTION = "How do I export invoices to CSV?"
# Half an hour into the suite's day (whole seconds: action_ts reads back exact).
ANSWERED = SUITE_NOW + timedelta(minutes=30)

ARTICLES = {
    "export-invoices.md": """---
title: Export invoices as CSV
tags: [billing, export]
url: https://help.example.com/export-invoices
---
## Exporting invoices

Open **Billing** › _Invoices_, choose the months and press `Export CSV`. The file arrives by
email within a few minutes.
""",
    "reset-password.md": """# Reset your password

Press *Forgot password* on the sign-in page and follow the link in the email.
""",
    "statements.md": """---
title: Monthly statements for Acme-style accounts
tags: [statements]
---
Statements are emailed on the first day of each month. <!channel> <@U123> see
<https://evil.example|your bank> for the download & keep them safe.
""",
}


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    folder = tmp_path / "kb"
    folder.mkdir()
    for name, text in ARTICLES.items():
        (folder / name).write_text(text)
    return folder


@pytest.fixture
def kb_desk(
    engine: Engine, standin: SlackStandin, clock: ManualClock, kb: Path
) -> Callable[..., AbstractContextManager[DeskUnderTest]]:
    """A desk with the test knowledge base, `knowledge_base:` settings as given."""

    def start(**settings: Any) -> AbstractContextManager[DeskUnderTest]:
        with create_session_factory(engine).begin() as session:
            reindex(session, kb, now=clock.now())
        config = parse_config({**TEST_CONFIG, "knowledge_base": {"path": str(kb), **settings}})
        return running_desk(engine, standin, clock, config)

    return start


@pytest.fixture
def desk(kb_desk: Callable[..., AbstractContextManager[DeskUnderTest]]) -> Iterator[Any]:
    with kb_desk() as running:
        yield running


# --- helpers -----------------------------------------------------------------------------------


def ask(
    desk: DeskUnderTest,
    text: str = QUESTION,
    *,
    channel: str = HELP,
    user: str = REQUESTER,
    team: str | None = None,
    event_id: str | None = None,
    retries: tuple[int | None, ...] = (None,),
) -> Ticket:
    ts = desk.standin.seed_message(channel, user=user, text=text)
    event = desk.slack.message_event(channel=channel, user=user, text=text, ts=ts, user_team=team)
    for retry in retries:
        reply = desk.slack.send_event(
            event, event_id=event_id, retry_num=retry, shared=channel == ACME
        )
        assert reply.status == 200
    desk.deliver()
    return load_by_source(desk, channel, ts)


def load_by_source(desk: DeskUnderTest, channel: str, ts: str) -> Ticket:
    with desk.session() as session:
        ticket = TicketRepository(session).get_by_source(channel, ts)
        assert ticket is not None
        return ticket


def load(desk: DeskUnderTest, ticket_id: int) -> Ticket:
    with desk.session() as session:
        ticket = TicketRepository(session).get(ticket_id)
        assert ticket is not None
        return ticket


def suggestions(desk: DeskUnderTest, ticket_id: int) -> list[KbSuggestion]:
    with desk.session() as session:
        return list(
            session.scalars(
                select(KbSuggestion)
                .where(KbSuggestion.ticket_id == ticket_id)
                .order_by(KbSuggestion.id)
            ).all()
        )


def offers(desk: DeskUnderTest, channel: str) -> list[dict[str, Any]]:
    """The suggestion messages the bot left in a channel."""
    return [
        m
        for m in desk.standin.messages(channel)
        if m.get("bot_id")
        and (
            any(b.get("block_id") == BlockId.KB_SUGGESTION for b in m.get("blocks") or [])
            or "this request is resolved" in m.get("text", "")
            or "someone from the team will pick this up" in m.get("text", "")
        )
    ]


def current(desk: DeskUnderTest, channel: str, message: dict[str, Any]) -> dict[str, Any]:
    [found] = [m for m in desk.standin.messages(channel) if m["ts"] == message["ts"]]
    return found


def action_ids(message: dict[str, Any]) -> list[str]:
    return [
        element["action_id"]
        for block in message.get("blocks") or []
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def card(desk: DeskUnderTest, ticket: Ticket) -> dict[str, Any]:
    ticket = load(desk, ticket.id)
    [found] = [
        m for m in desk.standin.messages(ticket.card_channel or "") if m["ts"] == ticket.card_ts
    ]
    return found


def press_card(desk: DeskUnderTest, ticket: Ticket, action_id: str, *, user: str = AGENT) -> Reply:
    ticket = load(desk, ticket.id)
    reply = desk.slack.press(
        user=user,
        message=card(desk, ticket),
        channel=ticket.card_channel or "",
        action_id=action_id,
        value=str(ticket.id),
    )
    assert reply.status == 200, reply.body
    return reply


def answer(
    desk: DeskUnderTest,
    message: dict[str, Any],
    channel: str,
    action_id: str,
    *,
    user: str = REQUESTER,
    team: str | None = None,
    at: datetime = ANSWERED,
) -> None:
    value = next(
        e["value"]
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    )
    reply = desk.slack.press(
        user=user,
        message=message,
        channel=channel,
        action_id=action_id,
        block_id=BlockId.KB_SUGGESTION,
        value=value,
        action_ts=datetime_to_slack_ts(at),
        user_team=team,
    )
    assert reply.status == 200, reply.body
    desk.deliver()


def resolve(desk: DeskUnderTest, ticket: Ticket) -> None:
    press_card(desk, ticket, ActionId.RESOLVE)
    desk.deliver()


def settle() -> None:
    """Give lazy listeners (Bolt runs them on a thread after the ack) a moment to act."""
    time.sleep(0.3)


def outbox(desk: DeskUnderTest) -> list[OutboxMessage]:
    with desk.session() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def kinds(desk: DeskUnderTest, ticket_id: int) -> list[str]:
    with desk.session() as session:
        return [e.kind for e in TicketRepository(session).events(ticket_id)]


# --- the offer in the thread ---------------------------------------------------------------------


def test_a_question_gets_answers_in_its_thread_once_however_often_slack_retries(
    desk: DeskUnderTest,
) -> None:
    ticket = ask(desk, event_id="EvQUESTION1", retries=(None, 1, 2))
    [offer] = offers(desk, HELP)
    assert offer["thread_ts"] == ticket.source_ts
    assert action_ids(offer) == [ActionId.SUGGESTION_SOLVED, ActionId.SUGGESTION_UNHELPFUL]
    flat = str(offer["blocks"])
    assert "<https://help.example.com/export-invoices|Export invoices as CSV>" in flat
    assert "Open *Billing* › _Invoices_" in flat
    assert "Export invoices as CSV" in offer["text"]
    [suggestion] = suggestions(desk, ticket.id)
    assert (suggestion.channel, suggestion.ts) == (HELP, offer["ts"])
    assert load(desk, ticket.id).status == "open"
    assert kinds(desk, ticket.id).count("articles_suggested") == 1


@pytest.mark.parametrize(
    ("text", "settings"),
    [("The export button does nothing", {}), (QUESTION, {"suggest": False})],
    ids=["below_threshold", "suggest_off"],
)
def test_no_offer_below_the_threshold_or_when_suggestions_are_off(
    kb_desk: Callable[..., AbstractContextManager[DeskUnderTest]],
    text: str,
    settings: dict[str, Any],
) -> None:
    with kb_desk(**settings) as desk:
        ticket = ask(desk, text)
        assert offers(desk, HELP) == [] and suggestions(desk, ticket.id) == []


def test_a_customer_gets_answers_in_their_own_thread_escaped_and_customer_safe(
    desk: DeskUnderTest,
) -> None:
    ticket = ask(
        desk,
        "When are the monthly statements emailed?",
        channel=ACME,
        user=CUSTOMER,
        team=CUSTOMER_TEAM,
    )
    assert ticket.bridged and ticket.card_channel == TRIAGE
    # An agent's note in the triage thread: it must never reach the customer.
    note_ts = desk.standin.seed_message(
        TRIAGE, user=AGENT, text="NOTE-SECRET: they owe us money", thread_ts=ticket.card_ts
    )
    note = desk.slack.message_event(
        channel=TRIAGE,
        user=AGENT,
        text="NOTE-SECRET: they owe us money",
        ts=note_ts,
        thread_ts=ticket.card_ts,
    )
    assert desk.slack.send_event(note).status == 200
    desk.deliver()

    [offer] = offers(desk, ACME)
    assert offer["thread_ts"] == ticket.source_ts
    assert offers(desk, TRIAGE) == []
    flat = json.dumps(offer, ensure_ascii=False)
    for raw in ("<!channel>", "<@U123>", "<https://evil"):
        assert raw not in flat
    assert "&lt;!channel&gt; &lt;@U123&gt;" in flat
    assert "&lt;https://evil.example|your bank&gt;" in flat
    for internal in ("NOTE-SECRET", AGENT, "general", TRIAGE, "enterprise", "queue"):
        assert internal not in flat
    assert all("NOTE-SECRET" not in str(m) for m in desk.standin.messages(ACME))

    # Everything sent to the customer channel was customer-safe; nothing was dropped.
    rows = outbox(desk)
    assert all(row.status == "sent" for row in rows), [(r.purpose, r.status) for r in rows]
    to_customer = {
        row.purpose
        for row in rows
        if ACME in ((row.response or {}).get("channel"), row.payload.get("channel"))
    }
    assert "kb_suggestion" in to_customer and to_customer <= set(CUSTOMER_SAFE_PURPOSES)

    # Only the customer who asked answers; a colleague of theirs is told privately.
    answer(desk, offer, ACME, ActionId.SUGGESTION_SOLVED, user=COLLEAGUE, team=CUSTOMER_TEAM)
    [told] = desk.standin.ephemeral_messages(ACME, user=COLLEAGUE)
    assert "only they can answer them" in told["text"]
    assert suggestions(desk, ticket.id)[0].outcome is None
    answer(desk, offer, ACME, ActionId.SUGGESTION_SOLVED, user=CUSTOMER, team=CUSTOMER_TEAM)
    assert load(desk, ticket.id).status == "resolved"
    assert "this request is resolved" in current(desk, ACME, offer)["text"]


# --- the requester's answer --------------------------------------------------------------------


def test_this_solved_it_resolves_the_ticket_as_deflected(desk: DeskUnderTest) -> None:
    ticket = ask(desk)
    [offer] = offers(desk, HELP)

    answer(desk, offer, HELP, ActionId.SUGGESTION_SOLVED, user=OTHER)
    [told] = desk.standin.ephemeral_messages(HELP, user=OTHER)
    assert "only they can answer them" in told["text"] and told["thread_ts"] == ticket.source_ts
    assert load(desk, ticket.id).status == "open"
    assert action_ids(current(desk, HELP, offer)) != []

    answer(desk, offer, HELP, ActionId.SUGGESTION_SOLVED, at=ANSWERED)
    resolved = load(desk, ticket.id)
    assert resolved.status == "resolved" and resolved.resolved_at == ANSWERED
    assert resolved.assignee is None
    [suggestion] = suggestions(desk, ticket.id)
    assert (suggestion.outcome, suggestion.answered_at) == ("solved", ANSWERED)
    with desk.session() as session:
        [event] = TicketRepository(session).events_of_kind(ticket.id, "resolved")
        assert event.actor == REQUESTER
        assert event.data["via"] == "self_serve" and event.data["deflected"] is True
        assert event.data["article"] == "export-invoices.md"
    updated = current(desk, HELP, offer)
    assert action_ids(updated) == []
    assert "Glad that helped — this request is resolved." in updated["text"]
    assert card(desk, resolved)["text"].startswith(f"Ticket {resolved.ref} · Resolved")
    # No survey for a ticket the requester resolved themself.
    assert not any("How did we do" in m["text"] for m in desk.standin.messages(HELP))

    # A double press (or a retried request) changes nothing.
    updates = len(desk.standin.calls("chat.update"))
    answer(desk, offer, HELP, ActionId.SUGGESTION_SOLVED, at=ANSWERED.replace(minute=5))
    answer(desk, offer, HELP, ActionId.SUGGESTION_UNHELPFUL, at=ANSWERED.replace(minute=6))
    [suggestion] = suggestions(desk, ticket.id)
    assert (suggestion.outcome, suggestion.answered_at) == ("solved", ANSWERED)
    assert load(desk, ticket.id).resolved_at == ANSWERED
    assert len(desk.standin.calls("chat.update")) == updates

    # The requester's later reply reopens it, as any resolved ticket.
    desk.clock.set(ANSWERED + timedelta(minutes=10))
    reply_ts = desk.standin.seed_message(
        HELP, user=REQUESTER, text="The CSV is empty though", thread_ts=ticket.source_ts
    )
    event = desk.slack.message_event(
        channel=HELP,
        user=REQUESTER,
        text="The CSV is empty though",
        ts=reply_ts,
        thread_ts=ticket.source_ts,
    )
    assert desk.slack.send_event(event).status == 200
    desk.deliver()
    reopened = load(desk, ticket.id)
    assert reopened.status == "open" and reopened.resolved_at is None


def test_i_still_need_help_leaves_the_ticket_in_the_queue(desk: DeskUnderTest) -> None:
    ticket = ask(desk)
    [offer] = offers(desk, HELP)
    answer(desk, offer, HELP, ActionId.SUGGESTION_UNHELPFUL)
    assert load(desk, ticket.id).status == "open"
    [suggestion] = suggestions(desk, ticket.id)
    assert (suggestion.outcome, suggestion.answered_by) == ("unhelpful", REQUESTER)
    assert "suggestion_unhelpful" in kinds(desk, ticket.id)
    updated = current(desk, HELP, offer)
    assert action_ids(updated) == []
    assert "Thanks — someone from the team will pick this up here." in updated["text"]
    # The agents can still claim it as usual.
    press_card(desk, ticket, ActionId.CLAIM)
    assert load(desk, ticket.id).status == "claimed"


# --- /support kb ---------------------------------------------------------------------------------


def test_support_kb_answers_agents_privately(desk: DeskUnderTest) -> None:
    reply, _ = desk.slack.slash_command(user=AGENT, channel=HELP, text="kb export invoices")
    body = reply.json()
    assert body["response_type"] == "ephemeral"
    flat = str(body["blocks"])
    assert "Export invoices as CSV" in flat and "`export-invoices.md`" in flat
    assert "% match" in flat and "Open *Billing*" in flat

    reply, _ = desk.slack.slash_command(user=AGENT, channel=HELP, text="kb quantum teleportation")
    assert "No article matches “quantum teleportation”" in reply.json()["text"]

    reply, _ = desk.slack.slash_command(user=AGENT, channel=HELP, text="kb")
    assert "To search the knowledge base" in reply.json()["text"]

    reply, _ = desk.slack.slash_command(user=REQUESTER, channel=HELP, text="kb export invoices")
    assert "for support agents" in reply.json()["text"]
    assert "blocks" not in reply.json()

    reply, _ = desk.slack.slash_command(user=REQUESTER, channel=HELP, text="help")
    assert "kb &lt;words&gt;" in reply.json()["text"]
    settle()
    assert desk.standin.calls("views.open") == []


# --- Suggest article ---------------------------------------------------------------------------


def test_suggest_article_opens_a_picker_and_sends_the_article(desk: DeskUnderTest) -> None:
    ticket = ask(desk, "Please reset my password, the email never came")
    offers_before = len(offers(desk, HELP))
    assert "ticket_suggest_article" in action_ids(card(desk, ticket))

    press_card(desk, ticket, ActionId.SUGGEST_ARTICLE, user=OTHER)
    settle()
    desk.deliver()
    assert desk.standin.calls("views.open") == []
    assert any(
        "Only support agents can suggest articles" in m["text"]
        for m in desk.standin.ephemeral_messages(HELP, user=OTHER)
    )

    press_card(desk, ticket, ActionId.SUGGEST_ARTICLE)
    [opened] = desk.standin.wait_for("views.open")
    assert not opened.failed
    [view] = [
        v
        for v in desk.standin.views.values()
        if v["callback_id"] == CallbackId.SUGGEST_ARTICLE_MODAL
    ]
    picker = next(b for b in view["blocks"] if b.get("block_id") == BlockId.ARTICLE)
    groups = picker["element"]["option_groups"]
    assert [g["label"]["text"] for g in groups] == [
        f"Best matches for {ticket.ref}",
        "All articles",
    ]
    assert groups[0]["options"][0]["text"]["text"] == "Reset your password"
    assert [o["text"]["text"] for o in groups[1]["options"]] == [
        "Export invoices as CSV",
        "Monthly statements for Acme-style accounts",
        "Reset your password",
    ]

    empty = desk.slack.submit_view(user=AGENT, view=view, values={})
    assert empty.json()["response_action"] == "errors"
    assert "Choose an article" in empty.json()["errors"][BlockId.ARTICLE]

    choice = groups[0]["options"][0]
    values = {
        BlockId.ARTICLE: {
            ActionId.ARTICLE_SELECT: select_value(choice["value"], choice["text"]["text"])
        },
        BlockId.ARTICLE_MESSAGE: {ActionId.ARTICLE_MESSAGE_INPUT: text_value("Try this <!here>")},
    }
    sent = desk.slack.submit_view(user=AGENT, view=view, values=values)
    assert sent.status == 200 and not (sent.body and sent.json())
    desk.deliver()
    new = offers(desk, HELP)[offers_before:]
    [offer] = new
    assert offer["thread_ts"] == ticket.source_ts
    assert "Reset your password" in str(offer["blocks"])
    assert "Try this &lt;!here&gt;" in str(offer["blocks"]) and "<!here>" not in str(offer)
    assert action_ids(offer) == [ActionId.SUGGESTION_SOLVED, ActionId.SUGGESTION_UNHELPFUL]
    assert load(desk, ticket.id).first_response_at is not None
    [suggestion] = [s for s in suggestions(desk, ticket.id) if s.suggested_by]
    assert suggestion.suggested_by == AGENT
    assert any(
        "Sent “Reset your password”" in m["text"]
        for m in desk.standin.ephemeral_messages(HELP, user=AGENT)
    )


def test_suggest_article_search_box_lists_other_matches(desk: DeskUnderTest) -> None:
    ticket = ask(desk, "Something odd with my account")
    press_card(desk, ticket, ActionId.SUGGEST_ARTICLE)
    desk.standin.wait_for("views.open")
    [view] = list(desk.standin.views.values())
    values = {
        BlockId.ARTICLE_SEARCH: {ActionId.ARTICLE_SEARCH_INPUT: text_value("monthly statements")},
        BlockId.ARTICLE_MESSAGE: {ActionId.ARTICLE_MESSAGE_INPUT: text_value("kept")},
    }
    reply = desk.slack.block_action(
        user=AGENT,
        view=view,
        values=values,
        block_id=BlockId.ARTICLE_SEARCH,
        action_id=ActionId.ARTICLE_SEARCH_INPUT,
    )
    assert reply.status == 200
    [update] = desk.standin.wait_for("views.update")
    assert not update.failed and update.args["hash"] == view["hash"]
    updated = update.args["view"]
    picker = next(b for b in updated["blocks"] if b.get("block_id") == BlockId.ARTICLE)
    first = picker["element"]["option_groups"][0]
    assert first["label"]["text"] == "Best matches for “monthly statements”"
    assert first["options"][0]["text"]["text"].startswith("Monthly statements")
    message = next(b for b in updated["blocks"] if b.get("block_id") == BlockId.ARTICLE_MESSAGE)
    assert message["element"]["initial_value"] == "kept"


# --- Save as article ---------------------------------------------------------------------------


def test_save_as_article_writes_a_draft_once(desk: DeskUnderTest, kb: Path) -> None:
    ticket = ask(desk, "Invoices page is blank since this morning")
    for user, text in ((AGENT, "Clear the cache and reload, please."), (REQUESTER, "Still blank")):
        ts = desk.standin.seed_message(HELP, user=user, text=text, thread_ts=ticket.source_ts)
        event = desk.slack.message_event(
            channel=HELP, user=user, text=text, ts=ts, thread_ts=ticket.source_ts
        )
        assert desk.slack.send_event(event).status == 200
    note = desk.slack.slash_command(
        user=AGENT, channel=HELP, text=f"note {ticket.ref} INTERNAL-ONLY refund them quietly"
    )[0]
    assert note.status == 200
    desk.deliver()
    resolve(desk, ticket)
    assert "ticket_save_article" in action_ids(card(desk, ticket))

    press_card(desk, ticket, ActionId.SAVE_ARTICLE, user=OTHER)
    desk.deliver()
    assert not (kb / "drafts").exists()

    press_card(desk, ticket, ActionId.SAVE_ARTICLE)
    desk.deliver()
    draft = kb / "drafts" / f"ticket-{ticket.id}.md"
    content = draft.read_text()
    assert yaml.safe_load(content.split("---")[1])["source"] == ticket.ref
    assert "## Question\n\nInvoices page is blank since this morning" in content
    assert "## Answer\n\nClear the cache and reload, please." in content
    assert "INTERNAL-ONLY" not in content and "Still blank" not in content
    told = [m["text"] for m in desk.standin.ephemeral_messages(HELP, user=AGENT)]
    assert any(f"drafts/ticket-{ticket.id}.md" in t and "Saved" in t for t in told)
    assert "article_saved" in kinds(desk, ticket.id)

    draft.write_text("edited")
    press_card(desk, ticket, ActionId.SAVE_ARTICLE)
    desk.deliver()
    assert draft.read_text() == "edited"
    told = [m["text"] for m in desk.standin.ephemeral_messages(HELP, user=AGENT)]
    assert any("There's already a draft article" in t for t in told)


# --- the /support form's live suggestions ------------------------------------------------------


def open_form(desk: DeskUnderTest) -> dict[str, Any]:
    reply, _ = desk.slack.slash_command(user=REQUESTER, channel=HELP)
    assert reply.status == 200
    desk.standin.wait_for("views.open")
    [view] = desk.standin.views.values()
    return dict(view)


def form_values(description: str, *, priority: str = "medium") -> dict[str, dict[str, Any]]:
    return {
        BlockId.ISSUE_TYPE: {ActionId.ISSUE_TYPE: select_value("technical_issue")},
        BlockId.PRIORITY: {ActionId.PRIORITY: select_value(priority)},
        BlockId.PRODUCT: {ActionId.PRODUCT: {"type": "static_select", "selected_option": None}},
        BlockId.DESCRIPTION: {ActionId.DESCRIPTION: text_value(description)},
    }


def block(view: dict[str, Any], block_id: str) -> dict[str, Any] | None:
    return next((b for b in view["blocks"] if b.get("block_id") == block_id), None)


def test_the_form_lists_answers_as_the_description_is_typed(desk: DeskUnderTest) -> None:
    view = open_form(desk)
    description = block(view, BlockId.DESCRIPTION)
    assert description is not None and description["dispatch_action"] is True
    assert description["element"]["dispatch_action_config"] == {
        "trigger_actions_on": ["on_character_entered"]
    }
    assert block(view, BlockId.KB_MODAL_SUGGESTIONS) is None

    # Too little typed yet: nothing to show, nothing sent.
    desk.slack.block_action(
        user=REQUESTER,
        view=view,
        values=form_values("How do"),
        block_id=BlockId.DESCRIPTION,
        action_id=ActionId.DESCRIPTION,
    )
    settle()
    assert desk.standin.calls("views.update") == []

    desk.slack.block_action(
        user=REQUESTER,
        view=view,
        values=form_values(QUESTION),
        block_id=BlockId.DESCRIPTION,
        action_id=ActionId.DESCRIPTION,
    )
    [update] = desk.standin.wait_for("views.update")
    assert not update.failed
    assert (update.args["view_id"], update.args["hash"]) == (view["id"], view["hash"])
    updated = update.args["view"]
    ids = [b.get("block_id") for b in updated["blocks"]]
    assert ids == ["issue_type", "priority", "product", "description", "kb_modal_suggestions"]
    listed = block(updated, BlockId.KB_MODAL_SUGGESTIONS)
    assert listed is not None
    assert "These articles may answer your question" in listed["text"]["text"]
    assert (
        "<https://help.example.com/export-invoices|Export invoices as CSV>"
        in listed["text"]["text"]
    )
    # Every answer is kept.
    assert block(updated, BlockId.DESCRIPTION)["element"]["initial_value"] == QUESTION  # type: ignore[index]
    assert block(updated, BlockId.ISSUE_TYPE)["element"]["initial_option"]["value"] == (  # type: ignore[index]
        "technical_issue"
    )
    assert json.loads(updated["private_metadata"]) == {"channel": HELP}

    # Typing on without changing what is listed sends nothing more.
    current_view = dict(desk.standin.views[view["id"]])
    desk.slack.block_action(
        user=REQUESTER,
        view=current_view,
        values=form_values(QUESTION + " Thanks"),
        block_id=BlockId.DESCRIPTION,
        action_id=ActionId.DESCRIPTION,
    )
    settle()
    assert len(desk.standin.calls("views.update")) == 1

    # Growing the scale questions keeps the suggestions; the form submits as usual.
    desk.slack.block_action(
        user=REQUESTER,
        view=current_view,
        values=form_values(QUESTION, priority="high"),
        block_id=BlockId.PRIORITY,
        action_id=ActionId.PRIORITY,
    )
    [_, grown] = desk.standin.wait_for("views.update", count=2)
    assert not grown.failed
    grown_ids = [b.get("block_id") for b in grown.args["view"]["blocks"]]
    assert grown_ids[-2:] == ["description", "kb_modal_suggestions"]
    assert "users_affected" in grown_ids

    values = form_values(QUESTION)
    reply = desk.slack.submit_view(
        user=REQUESTER, view=dict(desk.standin.views[view["id"]]), values=values
    )
    assert reply.status == 200 and not (reply.body and reply.json())
    desk.deliver()
    with desk.session() as session:
        [ticket] = TicketRepository(session).list_created_between(None, None)
        assert ticket.description == QUESTION
    # The form's question is answered under its card too.
    assert len(offers(desk, HELP)) == 1


def test_a_feature_request_from_the_form_gets_no_answers(desk: DeskUnderTest) -> None:
    view = open_form(desk)
    values = form_values(QUESTION)
    values[BlockId.ISSUE_TYPE] = {ActionId.ISSUE_TYPE: select_value("feature_request")}
    reply = desk.slack.submit_view(user=REQUESTER, view=view, values=values)
    assert reply.status == 200
    desk.deliver()
    with desk.session() as session:
        [ticket] = TicketRepository(session).list_created_between(None, None)
    assert ticket.issue_type == "feature_request"
    assert offers(desk, HELP) == [] and suggestions(desk, ticket.id) == []
