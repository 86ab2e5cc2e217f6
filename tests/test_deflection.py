"""Deflection straight on the database: which questions get knowledge-base answers and where they
are offered (a colleague's thread, a customer's own thread, a /support card's thread), the
Markdown they quote made safe for Slack, the requester's verdict (requester only, the first one
stands, This solved it resolves without an assignee or a survey), an agent's Suggest article,
/support kb's search, and Save as article's draft (never an internal note, never overwritten).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, select

from bot.config import parse_config
from bot.delivery import DeliveryHooks
from storage.db import SessionFactory, create_session_factory
from storage.models import (
    CsatSurvey,
    Escalation,
    KbArticle,
    KbSuggestion,
    OutboxMessage,
    Ticket,
    TicketEvent,
    TicketMessage,
    TicketNote,
)
from storage.repositories import TicketRepository
from templates.ids import ActionId, BlockId
from templates.knowledge import article_options, cut_passage, passage_mrkdwn
from tests.conftest import TEST_CONFIG, as_told
from workflows.clock import ManualClock, datetime_to_slack_ts
from workflows.deflection import (
    ArticleSubmission,
    DraftOutcome,
    KbAction,
    KbRefusal,
    KbRequest,
    SuggestionAnswer,
    answer_suggestion,
    draft_article,
    live_suggestions,
    record_draft,
    refuse_if_not_allowed,
    search_for_agent,
    suggest_article,
    suggest_form_for,
    write_draft,
)
from workflows.delivery import CUSTOMER_SAFE_PURPOSES, Purpose, SlackCall
from workflows.desk import Desk
from workflows.intake import (
    IntakeRequest,
    Outcome,
    SlackMessage,
    open_from_modal,
    open_from_reaction,
    receive_message,
)
from workflows.knowledge import reindex
from workflows.triage import ActionKind, TicketAction, perform, resolve_by_requester
from workflows.vocabulary import (
    EscalationKind,
    EscalationState,
    EventKind,
    IssueType,
    Priority,
    SuggestionOutcome,
    Via,
)

T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
REQUESTER, OTHER, AGENT = "U0REQ1", "U0BOB", "U0AGENT1"
HELP, ACME, TRIAGE = "C0HELP", "C0ACME", "C0TRIAGE"
CUSTOMER, COLLEAGUE, CUSTOMER_TEAM = "U0ACMEJO", "U0ACMEKIM", "T0ACME"
QUESTION = "How do I export invoices to CSV?"
ANSWERED = T0 + timedelta(minutes=5)

EXPORT = """---
title: Export invoices as CSV
tags: [billing, export]
url: https://help.example.com/export-invoices
---
## Exporting invoices

Open **Billing** › _Invoices_, choose the months and press `Export CSV`. The file arrives by
email within a few minutes.

## Large exports

Exports over 10,000 invoices are split into several files.
"""
PASSWORD = """# Reset your password

Press *Forgot password* on the sign-in page and follow the link in the email.
"""
SSO = """---
title: Single sign-on with Okta
tags: [sso, okta]
---
Ask your admin to add the app in Okta, then sign in with **Use SSO**.
"""


# --- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture
def sf(engine: Engine) -> SessionFactory:
    return create_session_factory(engine)


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "export-invoices.md").write_text(EXPORT)
    (folder / "reset-password.md").write_text(PASSWORD)
    (folder / "sso.md").write_text(SSO)
    return folder


def make_desk(sf: SessionFactory, clock: ManualClock, kb: Path | None, **settings: Any) -> Desk:
    clock.set(T0)
    config: dict[str, Any] = dict(TEST_CONFIG)
    if kb is not None:
        config["knowledge_base"] = {"path": str(kb), **settings}
        with sf.begin() as session:
            reindex(session, kb, now=T0)
    return Desk(parse_config(config), clock)


@pytest.fixture
def desk(sf: SessionFactory, clock: ManualClock, kb: Path) -> Desk:
    return make_desk(sf, clock, kb)


def ask(
    sf: SessionFactory,
    desk: Desk,
    text: str = QUESTION,
    *,
    channel: str = HELP,
    user: str = REQUESTER,
    when: datetime = T0,
) -> int:
    customer = channel == ACME
    message = SlackMessage(
        channel=channel,
        ts=datetime_to_slack_ts(when),
        user=user,
        text=text,
        team=CUSTOMER_TEAM if customer else None,
        is_external=customer,
        in_shared_channel=customer,
    )
    with sf.begin() as session:
        result = receive_message(session, desk, message)
    assert result.outcome == Outcome.OPENED and result.ticket_id is not None
    deliver(sf, desk)
    return result.ticket_id


def deliver(sf: SessionFactory, desk: Desk) -> list[SlackCall]:
    """Send what is owed, as the dispatcher would: each row rendered by the delivery hooks
    (the customer-safety check included), cards and suggestions landing where Slack puts them."""
    hooks = DeliveryHooks(desk.config, desk.clock)
    calls: list[SlackCall] = []
    with sf.begin() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == "pending")
            .order_by(OutboxMessage.id)
        ).all()
        for number, row in enumerate(rows):
            row.status = "sent"
            if row.purpose == Purpose.TICKET_CARD:
                ticket = session.get(Ticket, row.ticket_id)
                assert ticket is not None
                channel = row.payload.get("channel") or HELP
                response = {"channel": channel, "ts": f"1800000000.{number:06d}"}
                hooks.delivered(session, row, response, now=T0)
                continue
            if row.purpose != Purpose.KB_SUGGESTION:
                continue
            call = hooks.prepare(session, row)
            if call is None:
                row.status = "dropped"
                continue
            calls.append(call)
            response = {
                "channel": call.payload["channel"],
                "ts": call.payload.get("ts") or f"1800000001.{number:06d}",
            }
            hooks.delivered(session, row, response, now=T0)
    return calls


def suggestions(sf: SessionFactory, ticket_id: int) -> list[KbSuggestion]:
    with sf.begin() as session:
        return list(
            session.scalars(
                select(KbSuggestion)
                .where(KbSuggestion.ticket_id == ticket_id)
                .order_by(KbSuggestion.id)
            ).all()
        )


def load(sf: SessionFactory, ticket_id: int) -> Ticket:
    with sf.begin() as session:
        ticket = TicketRepository(session).get(ticket_id)
        assert ticket is not None
        return ticket


def events(sf: SessionFactory, ticket_id: int, kind: str) -> list[TicketEvent]:
    with sf.begin() as session:
        return list(TicketRepository(session).events_of_kind(ticket_id, kind))


def press(
    sf: SessionFactory,
    desk: Desk,
    suggestion: KbSuggestion,
    outcome: SuggestionOutcome,
    *,
    user: str = REQUESTER,
    when: datetime = ANSWERED,
) -> Any:
    with sf.begin() as session:
        return answer_suggestion(
            session,
            desk,
            SuggestionAnswer(
                suggestion_id=suggestion.id,
                outcome=outcome,
                user=user,
                at=when,
                reply_channel=suggestion.channel,
                reply_thread_ts="1.0",
            ),
        )


def ephemerals(sf: SessionFactory, user: str) -> list[str]:
    with sf.begin() as session:
        rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.method == "chat.postEphemeral")
        ).all()
        return [row.payload["text"] for row in as_told(rows) if row.payload.get("user") == user]


def agent_request(ticket_id: int, *, user: str = AGENT) -> KbRequest:
    return KbRequest(ticket_id=ticket_id, user=user, reply_channel=HELP, reply_thread_ts="1.0")


def resolve(sf: SessionFactory, desk: Desk, ticket_id: int) -> None:
    action = TicketAction(
        kind=ActionKind.RESOLVE,
        ticket_id=ticket_id,
        actor=AGENT,
        at=T0 + timedelta(hours=1),
        via=Via.BUTTON,
    )
    with sf.begin() as session:
        assert perform(session, desk, action).done


def action_ids(call: SlackCall) -> list[str]:
    return [
        element["action_id"]
        for block in call.payload.get("blocks") or []
        if block["type"] == "actions"
        for element in block["elements"]
    ]


# --- Markdown made safe for Slack ----------------------------------------------------------------


def test_markdown_becomes_mrkdwn_after_escaping() -> None:
    text = passage_mrkdwn(
        "## Steps\n\nOpen **Billing** then _Invoices_ and press `Export <csv>`.\n\n"
        "- one *item*\n- see [the guide](https://help.example.com/a?x=1&y=2)\n"
        "1. first\n\n> quoted\n\n```\nraw <b> **not bold**\n```"
    )
    assert text.startswith("*Steps*\n\nOpen *Billing* then _Invoices_")
    assert "`Export &lt;csv&gt;`" in text
    assert "• one _item_" in text
    assert "• see <https://help.example.com/a?x=1&amp;y=2|the guide>" in text
    assert "1. first" in text and ">quoted" in text
    assert "```\nraw &lt;b&gt; **not bold**\n```" in text


def test_pings_forged_links_and_odd_addresses_stay_inert() -> None:
    text = passage_mrkdwn(
        "Hi <!channel> and <@U123>, click <https://evil.example|your bank> or "
        "[this](javascript:alert(1)) or [that](/relative/path) & <#C0SECRET>"
    )
    for raw in ("<!channel>", "<@U123>", "<https://evil", "javascript", "<#C0SECRET>"):
        assert raw not in text
    assert "&lt;!channel&gt;" in text and "&lt;@U123&gt;" in text
    assert "&lt;https://evil.example|your bank&gt;" in text
    assert "click" in text and " this " in text and " that " in text and "&amp;" in text
    # Every `<` left is a link the converter made, to an http(s) address.
    assert text.count("<") == 0


def test_long_passages_are_cut_at_a_word() -> None:
    words = "invoice " * 200
    cut = cut_passage(words, 700)
    assert len(cut) <= 701 and cut.endswith("invoice…")
    assert passage_mrkdwn("```\n" + "x " * 500).endswith("```")


def test_the_picker_keeps_within_slacks_limits() -> None:
    everything = [(n, f"Article {n} " + "x" * 90) for n in range(1, 150)]
    groups = article_options(ref="#42", best=everything[:7], everything=everything)
    assert [g["label"] for g in groups] == ["Best matches for #42", "All articles"]
    assert len(groups[0]["options"]) == 5
    assert sum(len(g["options"]) for g in groups) == 100
    assert all(len(o["text"]) <= 75 for g in groups for o in g["options"])
    values = [o["value"] for g in groups for o in g["options"]]
    assert len(values) == len(set(values))


# --- the bot's offer ---------------------------------------------------------------------------


def test_a_question_gets_the_articles_search_is_sure_of_in_its_thread(
    sf: SessionFactory, desk: Desk
) -> None:
    ticket_id = ask(sf, desk)
    [suggestion] = suggestions(sf, ticket_id)
    ticket = load(sf, ticket_id)
    assert suggestion.suggested_by is None and suggestion.requester == REQUESTER
    assert suggestion.suggested_at == ticket.created_at
    assert [a["path"] for a in suggestion.articles] == ["export-invoices.md"]
    assert (suggestion.channel, suggestion.outcome) == (HELP, None)
    [event] = events(sf, ticket_id, EventKind.ARTICLES_SUGGESTED)
    assert event.actor is None and event.data["articles"] == ["export-invoices.md"]
    assert ticket.status == "open"  # in the queue all along


def test_the_offer_quotes_the_passage_with_two_buttons(sf: SessionFactory, desk: Desk) -> None:
    ticket_id = ask(sf, desk, when=T0)
    with sf.begin() as session:
        row = session.scalars(
            select(OutboxMessage).where(OutboxMessage.purpose == Purpose.KB_SUGGESTION)
        ).one()
    ticket = load(sf, ticket_id)
    assert row.payload["_suggestion"] and row.ticket_id == ticket_id
    # Rendered again (as a retry of the send would be): the thread, the passage, the buttons.
    with sf.begin() as session:
        fresh = session.get(OutboxMessage, row.id)
        assert fresh is not None
        fresh.status = "pending"
        # A send is retried only while its answer is unrecorded: one that landed is updated.
        suggestion = session.get(KbSuggestion, row.payload["_suggestion"])
        assert suggestion is not None
        suggestion.channel = suggestion.ts = None
    [call] = deliver(sf, desk)
    assert call.method == "chat.postMessage"
    assert (call.payload["channel"], call.payload["thread_ts"]) == (HELP, ticket.source_ts)
    flat = str(call.payload["blocks"])
    assert "<https://help.example.com/export-invoices|Export invoices as CSV>" in flat
    assert "Open *Billing* › _Invoices_" in flat
    assert action_ids(call) == [ActionId.SUGGESTION_SOLVED, ActionId.SUGGESTION_UNHELPFUL]
    buttons = [b for b in call.payload["blocks"] if b.get("block_id") == BlockId.KB_SUGGESTION]
    [solved, unhelpful] = buttons[0]["elements"]
    assert solved["style"] == "primary" and solved["text"]["text"] == "This solved it"
    assert unhelpful["text"]["text"] == "I still need help"
    assert (
        "Export invoices as CSV" in call.payload["text"]
        and "This solved it" in call.payload["text"]
    )


@pytest.mark.parametrize(
    ("text", "settings"),
    [
        ("The export button does nothing", {}),  # search isn't sure enough
        ("Our dashboard is slow today", {}),  # nothing matches
        (QUESTION, {"suggest": False}),
        (QUESTION, {"threshold": 0.95}),
    ],
)
def test_no_offer_when_search_is_unsure_or_suggestions_are_off(
    sf: SessionFactory, clock: ManualClock, kb: Path, text: str, settings: dict[str, Any]
) -> None:
    desk = make_desk(sf, clock, kb, **settings)
    ticket_id = ask(sf, desk, text)
    assert suggestions(sf, ticket_id) == []
    assert events(sf, ticket_id, EventKind.ARTICLES_SUGGESTED) == []


def test_no_offer_without_a_knowledge_base(sf: SessionFactory, clock: ManualClock) -> None:
    desk = make_desk(sf, clock, None)
    assert suggestions(sf, ask(sf, desk)) == []


def test_max_suggestions_caps_the_offer(sf: SessionFactory, clock: ManualClock, kb: Path) -> None:
    desk = make_desk(sf, clock, kb, threshold=0.0, max_suggestions=2)
    ticket_id = ask(sf, desk, "export invoices, reset my password and okta sso")
    [suggestion] = suggestions(sf, ticket_id)
    assert len(suggestion.articles) == 2


def test_a_ticket_an_agent_made_by_reaction_gets_no_offer(sf: SessionFactory, desk: Desk) -> None:
    with sf.begin() as session:
        result = open_from_reaction(
            session,
            desk,
            channel=HELP,
            ts=datetime_to_slack_ts(T0),
            author=REQUESTER,
            reactor=AGENT,
            reacted_at=T0,
        )
    assert result.ticket_id is not None
    assert suggestions(sf, result.ticket_id) == []


def modal_request(issue_type: IssueType, text: str = QUESTION) -> IntakeRequest:
    return IntakeRequest(
        requester=REQUESTER,
        channel=HELP,
        issue_type=issue_type,
        priority=Priority.MEDIUM,
        description=text,
    )


def test_a_support_form_question_is_answered_under_its_card(sf: SessionFactory, desk: Desk) -> None:
    with sf.begin() as session:
        result = open_from_modal(session, desk, modal_request(IssueType.QUESTION))
    assert result.ticket_id is not None
    [call] = deliver(sf, desk)
    ticket = load(sf, result.ticket_id)
    # The card landed first and is the ticket's root: the offer is in its thread.
    assert ticket.card_ts is not None and ticket.source_ts == ticket.card_ts
    assert (call.payload["channel"], call.payload["thread_ts"]) == (HELP, ticket.card_ts)


def test_a_feature_request_gets_no_offer(sf: SessionFactory, desk: Desk) -> None:
    with sf.begin() as session:
        result = open_from_modal(session, desk, modal_request(IssueType.FEATURE_REQUEST))
    assert result.ticket_id is not None
    assert suggestions(sf, result.ticket_id) == []


def test_a_customer_is_answered_in_their_own_thread_and_it_is_customer_safe(
    sf: SessionFactory, desk: Desk
) -> None:
    ticket_id = ask(sf, desk, channel=ACME, user=CUSTOMER)
    ticket = load(sf, ticket_id)
    assert ticket.bridged and ticket.card_channel == TRIAGE
    with sf.begin() as session:
        row = session.scalars(
            select(OutboxMessage).where(OutboxMessage.purpose == Purpose.KB_SUGGESTION)
        ).one()
        assert row.status == "sent"
    assert Purpose.KB_SUGGESTION in CUSTOMER_SAFE_PURPOSES
    [suggestion] = suggestions(sf, ticket_id)
    assert suggestion.channel == ACME  # never the triage card's thread
    with sf.begin() as session:
        fresh = session.get(OutboxMessage, row.id)
        assert fresh is not None
        # Rendered as a retry would be: while the answer is unrecorded (a landed one is updated).
        landed = session.get(KbSuggestion, suggestion.id)
        assert landed is not None
        landed.channel = landed.ts = None
        call = DeliveryHooks(desk.config, desk.clock).prepare(session, fresh)
    assert call is not None and call.payload["thread_ts"] == ticket.source_ts
    for internal in (AGENT, "general", TRIAGE, "enterprise", "Acme Corp", "queue"):
        assert internal not in str(call.payload)


def test_an_offer_answered_by_events_before_it_went_out_is_dropped(
    sf: SessionFactory, desk: Desk
) -> None:
    message = SlackMessage(channel=HELP, ts=datetime_to_slack_ts(T0), user=REQUESTER, text=QUESTION)
    with sf.begin() as session:
        result = receive_message(session, desk, message)
    assert result.ticket_id is not None
    resolve(sf, desk, result.ticket_id)  # an agent was quicker than the outbox
    assert deliver(sf, desk) == []
    [suggestion] = suggestions(sf, result.ticket_id)
    assert suggestion.channel is None


# --- the requester's verdict -------------------------------------------------------------------


def test_this_solved_it_resolves_as_deflected_without_assignee_or_survey(
    sf: SessionFactory, desk: Desk
) -> None:
    ticket_id = ask(sf, desk)
    [suggestion] = suggestions(sf, ticket_id)
    assert press(sf, desk, suggestion, SuggestionOutcome.SOLVED).done
    ticket = load(sf, ticket_id)
    assert ticket.status == "resolved" and ticket.resolved_at == ANSWERED
    assert ticket.assignee is None and ticket.claimed_at is None
    [suggestion] = suggestions(sf, ticket_id)
    assert suggestion.outcome == "solved" and suggestion.answered_by == REQUESTER
    assert suggestion.answered_at == ANSWERED
    [resolved] = events(sf, ticket_id, EventKind.RESOLVED)
    assert resolved.actor == REQUESTER
    assert resolved.data == {
        "via": "self_serve",
        "deflected": True,
        "article": "export-invoices.md",
        "suggestion": suggestion.id,
    }
    assert len(events(sf, ticket_id, EventKind.SUGGESTION_SOLVED)) == 1
    with sf.begin() as session:
        assert session.scalars(select(CsatSurvey)).all() == []
    # The offer's buttons give way to what the answer means; no "resolved by" notice.
    [update] = deliver(sf, desk)
    assert update.method == "chat.update" and update.payload["ts"] == suggestion.ts
    assert action_ids(update) == []
    assert "Glad that helped — this request is resolved." in update.payload["text"]
    with sf.begin() as session:
        notices = session.scalars(
            select(OutboxMessage).where(OutboxMessage.purpose == Purpose.THREAD_NOTICE)
        ).all()
        assert notices == []


def test_the_first_verdict_stands(sf: SessionFactory, desk: Desk) -> None:
    ticket_id = ask(sf, desk)
    [suggestion] = suggestions(sf, ticket_id)
    press(sf, desk, suggestion, SuggestionOutcome.UNHELPFUL)
    press(sf, desk, suggestion, SuggestionOutcome.UNHELPFUL, when=ANSWERED + timedelta(seconds=1))
    press(sf, desk, suggestion, SuggestionOutcome.SOLVED, when=ANSWERED + timedelta(seconds=2))
    [suggestion] = suggestions(sf, ticket_id)
    assert (suggestion.outcome, suggestion.answered_at) == ("unhelpful", ANSWERED)
    assert load(sf, ticket_id).status == "open"
    assert len(events(sf, ticket_id, EventKind.SUGGESTION_UNHELPFUL)) == 1
    assert events(sf, ticket_id, EventKind.SUGGESTION_SOLVED) == []
    [update] = deliver(sf, desk)
    assert "Thanks — someone from the team will pick this up here." in update.payload["text"]


def test_only_the_requester_answers(sf: SessionFactory, desk: Desk) -> None:
    ticket_id = ask(sf, desk)
    [suggestion] = suggestions(sf, ticket_id)
    result = press(sf, desk, suggestion, SuggestionOutcome.SOLVED, user=OTHER)
    assert not result.done and result.refusal == KbRefusal.NOT_REQUESTER
    [told] = ephemerals(sf, OTHER)
    assert "only they can answer them" in told and f"#{ticket_id}" in told
    assert suggestions(sf, ticket_id)[0].outcome is None
    assert load(sf, ticket_id).status == "open"


def test_a_solved_ticket_reopens_when_the_requester_replies(sf: SessionFactory, desk: Desk) -> None:
    ticket_id = ask(sf, desk)
    [suggestion] = suggestions(sf, ticket_id)
    press(sf, desk, suggestion, SuggestionOutcome.SOLVED)
    ticket = load(sf, ticket_id)
    reply = SlackMessage(
        channel=HELP,
        ts=datetime_to_slack_ts(ANSWERED + timedelta(minutes=10)),
        user=REQUESTER,
        text="Actually the CSV is empty",
        thread_ts=ticket.source_ts,
    )
    with sf.begin() as session:
        receive_message(session, desk, reply)
    reopened = load(sf, ticket_id)
    assert reopened.status == "open" and reopened.resolved_at is None


def test_resolved_by_the_requester_tells_engineering_and_keeps_no_assignee(
    sf: SessionFactory, desk: Desk
) -> None:
    ticket_id = ask(sf, desk)
    with sf.begin() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        ticket.status = "escalated"
        session.add(
            Escalation(
                ticket_id=ticket_id,
                kind=EscalationKind.ENGINEERING.value,
                state=EscalationState.OPEN.value,
                target="default",
                channel="C0ENG",
                card_ts="1800000009.000001",
                severity="sev3",
                summary="Export broken",
                escalated_by=AGENT,
                escalated_at=T0,
            )
        )
    with sf.begin() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        refusal = resolve_by_requester(
            session, desk, ticket, by=REQUESTER, at=ANSWERED, data={"deflected": True}
        )
    assert refusal is None
    ticket = load(sf, ticket_id)
    assert ticket.status == "resolved" and ticket.assignee is None
    with sf.begin() as session:
        told = session.scalars(
            select(OutboxMessage).where(OutboxMessage.purpose == Purpose.ENGINEERING_THREAD)
        ).all()
        assert [row.payload["_kind"] for row in told] == ["ticket_resolved"]


# --- agents ------------------------------------------------------------------------------------


def test_search_for_agents_only(sf: SessionFactory, desk: Desk) -> None:
    with sf.begin() as session:
        found = search_for_agent(session, desk, user=AGENT, query="okta")
        assert not isinstance(found, KbRefusal)
        assert [m.path for m in found] == ["sso.md"]
        assert search_for_agent(session, desk, user=OTHER, query="okta") == KbRefusal.NOT_AGENT


def test_live_suggestions_need_enough_words(sf: SessionFactory, desk: Desk) -> None:
    with sf.begin() as session:
        assert live_suggestions(session, desk, "export") == []
        assert [m.path for m in live_suggestions(session, desk, QUESTION)] == ["export-invoices.md"]


def test_suggest_article_sends_the_best_passage_and_counts_as_first_response(
    sf: SessionFactory, desk: Desk
) -> None:
    ticket_id = ask(sf, desk, "Large exports: more than 10,000 invoices, how?")
    deliver(sf, desk)
    with sf.begin() as session:
        form = suggest_form_for(session, desk, agent_request(ticket_id))
        assert form is not None
        assert form.best[0][1] == "Export invoices as CSV"
        assert [title for _, title in form.articles] == [
            "Export invoices as CSV",
            "Reset your password",
            "Single sign-on with Okta",
        ]
        article = session.scalars(
            select(KbArticle).where(KbArticle.path == "export-invoices.md")
        ).one()
    submission = ArticleSubmission(
        request=agent_request(ticket_id),
        article_id=article.id,
        message="Hi <!here> — this <@U0CEO> should do it",
        at=T0 + timedelta(minutes=3),
    )
    with sf.begin() as session:
        assert suggest_article(session, desk, submission).done
    sent = suggestions(sf, ticket_id)[-1]
    assert sent.suggested_by == AGENT
    assert sent.articles[0]["heading"] == "Large exports"
    assert load(sf, ticket_id).first_response_at == T0 + timedelta(minutes=3)
    calls = deliver(sf, desk)
    [post] = [c for c in calls if c.method == "chat.postMessage"]
    assert "Hi &lt;!here&gt; — this &lt;@U0CEO&gt; should do it" in str(post.payload["blocks"])
    assert "<!here>" not in str(post.payload) and AGENT not in str(post.payload)
    assert action_ids(post) == [ActionId.SUGGESTION_SOLVED, ActionId.SUGGESTION_UNHELPFUL]
    assert any("Sent “Export invoices as CSV”" in text for text in ephemerals(sf, AGENT))

    # Solved by an agent's suggestion: resolved, but not deflected; the line stays on update.
    press(sf, desk, sent, SuggestionOutcome.SOLVED)
    [resolved] = events(sf, ticket_id, EventKind.RESOLVED)
    assert resolved.data["deflected"] is False
    [update] = deliver(sf, desk)
    assert "should do it" in update.payload["text"]


def test_suggest_article_refusals(sf: SessionFactory, desk: Desk) -> None:
    ticket_id = ask(sf, desk)
    with sf.begin() as session:
        assert (
            refuse_if_not_allowed(
                session, desk, agent_request(ticket_id, user=OTHER), KbAction.SUGGEST
            )
            == KbRefusal.NOT_AGENT
        )
        assert suggest_form_for(session, desk, agent_request(ticket_id, user=OTHER)) is None
    [told] = ephemerals(sf, OTHER)
    assert "Only support agents can suggest articles" in told

    def submit(article_id: int | None) -> Any:
        with sf.begin() as session:
            return suggest_article(
                session,
                desk,
                ArticleSubmission(agent_request(ticket_id), article_id, None, T0),
            )

    assert submit(None).refusal == KbRefusal.NO_ARTICLE
    assert submit(999_999).refusal == KbRefusal.ARTICLE_GONE
    resolve(sf, desk, ticket_id)
    with sf.begin() as session:
        article_id = session.scalars(select(KbArticle.id)).first()
    assert submit(article_id).refusal == KbRefusal.NOT_ACTIVE
    assert [s.suggested_by for s in suggestions(sf, ticket_id)] == [None]


# --- Save as article ---------------------------------------------------------------------------


def add_conversation(sf: SessionFactory, ticket_id: int) -> None:
    with sf.begin() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        channel = ticket.source_channel or HELP
        said = [
            (AGENT, "Open Billing, then Invoices, and press Export CSV."),
            (REQUESTER, "Where do I find Billing?"),
            (AGENT, "It's in the menu at the top right."),
        ]
        for n, (author, text) in enumerate(said, start=1):
            session.add(
                TicketMessage(
                    ticket_id=ticket_id,
                    channel=channel,
                    ts=f"1800000100.{n:06d}",
                    author=author,
                    author_is_external=False,
                    text=text,
                    posted_at=T0 + timedelta(minutes=n),
                )
            )
        session.add(
            TicketNote(ticket_id=ticket_id, author=AGENT, text="SECRET: refund them", created_at=T0)
        )
        session.add(
            TicketNote(
                ticket_id=ticket_id,
                author="U0AGENT2",
                text="TRIAGE-ONLY: they're on the old plan",
                created_at=T0,
                channel=TRIAGE,
                ts="1800000200.000001",
            )
        )


def save(sf: SessionFactory, desk: Desk, ticket_id: int, *, user: str = AGENT) -> Any:
    request = agent_request(ticket_id, user=user)
    with sf.begin() as session:
        draft = draft_article(session, desk, request)
    if draft is None:
        return None
    written = write_draft(draft)
    with sf.begin() as session:
        record_draft(session, desk, request, draft, written)
    return written


def test_save_as_article_writes_a_draft_without_notes(
    sf: SessionFactory, desk: Desk, kb: Path
) -> None:
    ticket_id = ask(sf, desk, "How do I export invoices?\nWe need them for the audit <!here>")
    add_conversation(sf, ticket_id)
    assert save(sf, desk, ticket_id) is None  # not resolved yet
    assert any("isn't resolved yet" in text for text in ephemerals(sf, AGENT))
    resolve(sf, desk, ticket_id)
    assert save(sf, desk, ticket_id).outcome == DraftOutcome.SAVED
    path = kb / "drafts" / f"ticket-{ticket_id}.md"
    content = path.read_text()
    front = yaml.safe_load(content.split("---")[1])
    assert front == {
        "title": "How do I export invoices?",
        "tags": [],
        "draft": True,
        "source": f"#{ticket_id}",
    }
    question, answer = content.split("## Question")[1].split("## Answer")
    assert "We need them for the audit <!here>" in question
    assert answer.index("press Export CSV") < answer.index("top right")
    assert "Where do I find Billing" not in answer  # the requester's words aren't answers
    assert "SECRET" not in content and "TRIAGE-ONLY" not in content
    [saved] = events(sf, ticket_id, EventKind.ARTICLE_SAVED)
    assert saved.actor == AGENT and saved.data == {"path": f"drafts/ticket-{ticket_id}.md"}
    assert any(f"drafts/ticket-{ticket_id}.md" in text for text in ephemerals(sf, AGENT))
    # Drafts are never suggested.
    with sf.begin() as session:
        report = reindex(session, kb, now=T0)
    assert f"drafts/ticket-{ticket_id}.md" not in report.added

    # Again: the agent is told where the draft is, and it is left as it was.
    path.write_text("edited by hand")
    assert save(sf, desk, ticket_id).outcome == DraftOutcome.EXISTS
    assert path.read_text() == "edited by hand"
    assert any("There's already a draft article" in text for text in ephemerals(sf, AGENT))
    assert len(events(sf, ticket_id, EventKind.ARTICLE_SAVED)) == 1


def test_save_as_article_refuses_non_agents_and_says_when_it_cannot_write(
    sf: SessionFactory, desk: Desk, kb: Path
) -> None:
    ticket_id = ask(sf, desk)
    resolve(sf, desk, ticket_id)
    assert save(sf, desk, ticket_id, user=OTHER) is None
    assert any("Only support agents can save" in t for t in ephemerals(sf, OTHER))
    (kb / "drafts").write_text("a file where the folder should be")
    written = save(sf, desk, ticket_id)
    assert written.outcome == DraftOutcome.FAILED
    [failed] = [t for t in ephemerals(sf, AGENT) if "Couldn't write" in t]
    assert str(kb) in failed and "Traceback" not in failed
    assert events(sf, ticket_id, EventKind.ARTICLE_SAVED) == []
