"""CSAT over HTTP: the real app, signed requests and the Slack stand-in. Resolving a ticket posts
"How did we do?" in the requester's thread (or DM, or a customer's own thread); the requester's
press is recorded with the action's time and replaces the buttons with the answer; anyone else is
told privately and nothing is recorded; the comment modal checks its input; a low answer DMs the
queue's lead; a retried resolve event asks once, a reopened ticket resolved again asks again."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.config import parse_config
from bot.slack_driver import Reply, text_value
from bot.standin import SlackStandin
from storage.models import CsatSurvey, OutboxMessage, Ticket
from storage.repositories import CsatRepository, TicketRepository
from templates.csat import RATING_ACTIONS
from templates.ids import ActionId, BlockId, CallbackId
from tests.conftest import TEST_CONFIG, DeskUnderTest, running_desk
from workflows.clock import ManualClock, datetime_to_slack_ts
from workflows.csat import MAX_COMMENT
from workflows.delivery import CUSTOMER_SAFE_PURPOSES
from workflows.vocabulary import CsatRating

REQUESTER, OTHER, AGENT, AGENT2, LEAD = "U0ALICE", "U0BOB", "U0AGENT1", "U0AGENT2", "U0LEAD"
CUSTOMER, COLLEAGUE, CUSTOMER_TEAM = "U0ACMEJO", "U0ACMEKIM", "T0ACME"
HELP, ACME, TRIAGE = "C0HELP", "C0ACME", "C0TRIAGE"
QUEUES = [{"name": "general", "lead": LEAD}]
# Whole seconds, so an action_ts reads back as exactly this time.
ANSWERED = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)


@pytest.fixture
def csat_desk(
    engine: Engine, standin: SlackStandin, clock: ManualClock
) -> Callable[..., AbstractContextManager[DeskUnderTest]]:
    """A desk with a lead for the general queue and `csat:` as given."""

    def start(**csat: Any) -> AbstractContextManager[DeskUnderTest]:
        config = parse_config({**TEST_CONFIG, "queues": QUEUES, "csat": csat})
        return running_desk(engine, standin, clock, config)

    return start


@pytest.fixture
def desk(csat_desk: Callable[..., AbstractContextManager[DeskUnderTest]]) -> Iterator[Any]:
    with csat_desk() as running:
        yield running


# --- helpers -----------------------------------------------------------------------------------


def ask(
    desk: DeskUnderTest,
    text: str = "The export button does nothing",
    *,
    channel: str = HELP,
    user: str = REQUESTER,
    team: str | None = None,
) -> Ticket:
    ts = desk.standin.seed_message(channel, user=user, text=text)
    event = desk.slack.message_event(channel=channel, user=user, text=text, ts=ts, user_team=team)
    assert desk.slack.send_event(event, shared=channel == ACME).status == 200
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


def surveys(desk: DeskUnderTest, ticket_id: int) -> list[CsatSurvey]:
    with desk.session() as session:
        return list(CsatRepository(session).for_ticket(ticket_id))


def card(desk: DeskUnderTest, ticket: Ticket) -> dict[str, Any]:
    [found] = [
        m for m in desk.standin.messages(ticket.card_channel or "") if m["ts"] == ticket.card_ts
    ]
    return found


def resolve(desk: DeskUnderTest, ticket: Ticket, *, user: str = AGENT) -> None:
    ticket = load(desk, ticket.id)
    reply = desk.slack.press(
        user=user,
        message=card(desk, ticket),
        channel=ticket.card_channel or "",
        action_id=ActionId.RESOLVE,
        value=str(ticket.id),
    )
    assert reply.status == 200, reply.body
    desk.deliver()


def prompts(desk: DeskUnderTest, channel: str) -> list[dict[str, Any]]:
    """The survey messages the bot left in a channel (or a DM: pass the user ID)."""
    return [
        m
        for m in desk.standin.messages(channel)
        if m.get("bot_id") and ("How did we do" in m["text"] or "You said" in m["text"])
    ]


def action_ids(message: dict[str, Any]) -> list[str]:
    return [
        element["action_id"]
        for block in message.get("blocks") or []
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def press(
    desk: DeskUnderTest,
    message: dict[str, Any],
    channel: str,
    action_id: str,
    value: str,
    *,
    user: str = REQUESTER,
    at: datetime = ANSWERED,
    team: str | None = None,
    menu: bool = False,
) -> Reply:
    reply = desk.slack.press(
        user=user,
        message=message,
        channel=channel,
        action_id=action_id,
        block_id=BlockId.CSAT_RATING,
        value=None if menu else value,
        selected_value=value if menu else None,
        action_ts=datetime_to_slack_ts(at),
        user_team=team,
    )
    assert reply.status == 200, reply.body
    desk.deliver()
    return reply


def rate(
    desk: DeskUnderTest,
    message: dict[str, Any],
    channel: str,
    survey: CsatSurvey,
    rating: CsatRating,
    **kw: Any,
) -> Reply:
    return press(
        desk, message, channel, RATING_ACTIONS[rating], f"{survey.id}:{rating.value}", **kw
    )


def current(desk: DeskUnderTest, channel: str, message: dict[str, Any]) -> dict[str, Any]:
    [found] = [m for m in desk.standin.messages(channel) if m["ts"] == message["ts"]]
    return found


def comment_form(desk: DeskUnderTest) -> dict[str, Any]:
    [call] = desk.standin.wait_for("views.open")[-1:]
    assert not call.failed, call.error
    [view] = [
        v for v in desk.standin.views.values() if v["callback_id"] == CallbackId.CSAT_COMMENT_MODAL
    ][-1:]
    return dict(view)


def submit_comment(
    desk: DeskUnderTest, view: dict[str, Any], text: str, *, user: str = REQUESTER
) -> Reply:
    reply = desk.slack.submit_view(
        user=user,
        view=view,
        values={BlockId.CSAT_COMMENT: {ActionId.CSAT_COMMENT_INPUT: text_value(text)}},
    )
    assert reply.status == 200, reply.body
    desk.deliver()
    return reply


def dms_to(desk: DeskUnderTest, user: str) -> list[str]:
    return [m["text"] for m in desk.standin.messages(user) if m.get("bot_id")]


def outbox(desk: DeskUnderTest) -> list[OutboxMessage]:
    with desk.session() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all())


# --- the survey in the thread --------------------------------------------------------------------


def test_the_requester_answers_in_the_thread_and_can_change_the_answer(
    desk: DeskUnderTest,
) -> None:
    ticket = ask(desk)
    resolve(desk, ticket)
    [prompt] = prompts(desk, HELP)
    assert prompt["thread_ts"] == ticket.source_ts
    assert action_ids(prompt) == list(RATING_ACTIONS.values())
    labels = [
        e["text"]["text"] for b in prompt["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert labels == ["Extremely satisfied", "Satisfied", "Unsatisfied", "Extremely unsatisfied"]
    [survey] = surveys(desk, ticket.id)
    resolved = load(desk, ticket.id)
    assert survey.asked_at == resolved.resolved_at and survey.assignee == AGENT
    assert (survey.channel, survey.ts) == (HELP, prompt["ts"])

    rate(desk, prompt, HELP, survey, CsatRating.SATISFIED, at=ANSWERED)
    [survey] = surveys(desk, ticket.id)
    assert (survey.rating, survey.answered_at) == ("satisfied", ANSWERED)
    assert load(desk, ticket.id).csat == "satisfied"
    answered = current(desk, HELP, prompt)
    assert "You said: *Satisfied*" in answered["blocks"][0]["text"]["text"]
    assert action_ids(answered) == [ActionId.CSAT_COMMENT, ActionId.CSAT_CHANGE]

    # Changing the answer with the menu replaces rating and time; the message follows.
    later = ANSWERED + timedelta(minutes=3)
    value = f"{survey.id}:{CsatRating.EXTREMELY_SATISFIED.value}"
    press(desk, answered, HELP, ActionId.CSAT_CHANGE, value, at=later, menu=True)
    [survey] = surveys(desk, ticket.id)
    assert (survey.rating, survey.answered_at) == ("extremely_satisfied", later)
    assert load(desk, ticket.id).csat == "extremely_satisfied"
    assert "You said: Extremely satisfied" in current(desk, HELP, prompt)["text"]
    # A good answer tells the lead nothing.
    assert dms_to(desk, LEAD) == []


def test_someone_else_pressing_is_told_privately_and_nothing_is_recorded(
    desk: DeskUnderTest,
) -> None:
    ticket = ask(desk)
    resolve(desk, ticket)
    [prompt] = prompts(desk, HELP)
    [survey] = surveys(desk, ticket.id)

    rate(desk, prompt, HELP, survey, CsatRating.EXTREMELY_UNSATISFIED, user=OTHER)
    [told] = desk.standin.ephemeral_messages(HELP, user=OTHER)
    assert "only their answer counts" in told["text"] and ticket.ref in told["text"]
    assert told["thread_ts"] == ticket.source_ts
    [survey] = surveys(desk, ticket.id)
    assert (survey.rating, survey.answered_at) == (None, None)
    assert load(desk, ticket.id).csat is None
    assert action_ids(current(desk, HELP, prompt)) == list(RATING_ACTIONS.values())
    assert [c for c in desk.standin.calls("chat.update") if c.args.get("ts") == prompt["ts"]] == []
    assert dms_to(desk, LEAD) == []

    # "Add a comment" by someone else: told, and no form opens.
    rate(desk, prompt, HELP, survey, CsatRating.SATISFIED)
    answered = current(desk, HELP, prompt)
    press(desk, answered, HELP, ActionId.CSAT_COMMENT, str(survey.id), user=OTHER)
    time.sleep(0.3)  # the lazy listener would open the form now; it must not
    assert desk.standin.calls("views.open") == []
    assert len(desk.standin.ephemeral_messages(HELP, user=OTHER)) == 2


def test_the_comment_modal_checks_its_input_and_a_low_answer_tells_the_lead(
    desk: DeskUnderTest,
) -> None:
    ticket = ask(desk)
    resolve(desk, ticket)
    [prompt] = prompts(desk, HELP)
    [survey] = surveys(desk, ticket.id)
    rate(desk, prompt, HELP, survey, CsatRating.UNSATISFIED)
    rate(desk, prompt, HELP, survey, CsatRating.UNSATISFIED, at=ANSWERED + timedelta(seconds=1))
    [low] = dms_to(desk, LEAD)
    assert low.startswith(":warning: Low CSAT on <https://") and f"|{ticket.ref}>" in low
    assert "*Unsatisfied*" in low and f"<@{REQUESTER}>" in low

    answered = current(desk, HELP, prompt)
    press(desk, answered, HELP, ActionId.CSAT_COMMENT, str(survey.id))
    view = comment_form(desk)
    field = next(b for b in view["blocks"] if b.get("block_id") == BlockId.CSAT_COMMENT)
    assert field["element"]["max_length"] == MAX_COMMENT

    empty = submit_comment(desk, view, "   ")
    assert empty.json()["response_action"] == "errors"
    assert "Write your comment" in empty.json()["errors"][BlockId.CSAT_COMMENT]
    too_long = submit_comment(desk, view, "x" * (MAX_COMMENT + 1))
    assert str(MAX_COMMENT) in too_long.json()["errors"][BlockId.CSAT_COMMENT]
    assert surveys(desk, ticket.id)[0].comment is None
    assert len(dms_to(desk, LEAD)) == 1

    sent = submit_comment(desk, view, "Took <!here> three days & <@U0CEO> never called")
    assert not sent.body or "errors" not in (sent.json() or {})
    [survey] = surveys(desk, ticket.id)
    assert survey.comment == "Took <!here> three days & <@U0CEO> never called"
    assert survey.answered_at == ANSWERED + timedelta(seconds=1)  # a comment is not an answer
    low, commented = dms_to(desk, LEAD)
    assert "&lt;!here&gt; three days &amp; &lt;@U0CEO&gt; never called" in commented
    assert "<!here>" not in commented and "<@U0CEO>" not in commented
    # The thread says a comment came, never what it says; the button now edits it.
    updated = current(desk, HELP, prompt)
    assert "We have your comment too" in updated["blocks"][0]["text"]["text"]
    assert "three days" not in str(updated)
    assert "Edit your comment" in str(updated["blocks"])


def test_a_retried_resolve_event_asks_once(desk: DeskUnderTest) -> None:
    ticket = ask(desk)
    event = desk.slack.reaction_event(
        user=AGENT,
        reaction="white_check_mark",
        channel=HELP,
        ts=ticket.source_ts or "",
        item_user=REQUESTER,
        event_ts=desk.standin.next_ts(),
    )
    for retry in (None, 1, 2):
        assert desk.slack.send_event(event, event_id="EvRESOLVE1", retry_num=retry).status == 200
    # Another agent's emoji a moment later finds the ticket resolved already.
    again = desk.slack.reaction_event(
        user=AGENT2,
        reaction="white_check_mark",
        channel=HELP,
        ts=ticket.source_ts or "",
        item_user=REQUESTER,
        event_ts=desk.standin.next_ts(),
    )
    assert desk.slack.send_event(again).status == 200
    desk.deliver()
    assert load(desk, ticket.id).status == "resolved"
    assert len(surveys(desk, ticket.id)) == 1
    assert len(prompts(desk, HELP)) == 1


def test_a_reopened_ticket_resolved_again_is_asked_again(desk: DeskUnderTest) -> None:
    ticket = ask(desk)
    resolve(desk, ticket)
    [first] = prompts(desk, HELP)
    [survey] = surveys(desk, ticket.id)
    rate(desk, first, HELP, survey, CsatRating.SATISFIED)

    reply_ts = desk.standin.seed_message(
        HELP, user=REQUESTER, text="It broke again this morning", thread_ts=ticket.source_ts
    )
    event = desk.slack.message_event(
        channel=HELP,
        user=REQUESTER,
        text="It broke again this morning",
        ts=reply_ts,
        thread_ts=ticket.source_ts,
    )
    assert desk.slack.send_event(event).status == 200
    desk.deliver()
    assert load(desk, ticket.id).status == "claimed"
    resolve(desk, ticket, user=AGENT2)
    first_again, second = prompts(desk, HELP)
    assert first_again["ts"] == first["ts"] and action_ids(second) == list(RATING_ACTIONS.values())
    old, new = surveys(desk, ticket.id)
    assert old.rating == "satisfied" and new.rating is None and new.asked_at > old.asked_at
    assert new.assignee == AGENT  # the ticket stayed with its agent

    rate(desk, second, HELP, new, CsatRating.UNSATISFIED, at=ANSWERED + timedelta(hours=1))
    assert load(desk, ticket.id).csat == "unsatisfied"
    assert len(dms_to(desk, LEAD)) == 1


# --- DM and customers ----------------------------------------------------------------------------


def test_ask_in_dm_sends_the_survey_to_the_requesters_dm(
    csat_desk: Callable[..., AbstractContextManager[DeskUnderTest]],
) -> None:
    with csat_desk(ask_in="dm") as desk:
        ticket = ask(desk)
        resolve(desk, ticket)
        assert prompts(desk, HELP) == []
        [prompt] = prompts(desk, REQUESTER)
        assert "thread_ts" not in prompt
        [survey] = surveys(desk, ticket.id)
        assert survey.channel == "D0ALICE"
        rate(desk, prompt, survey.channel, survey, CsatRating.EXTREMELY_SATISFIED)
        assert surveys(desk, ticket.id)[0].rating == "extremely_satisfied"
        assert "You said: Extremely satisfied" in current(desk, REQUESTER, prompt)["text"]


def test_a_customer_is_asked_in_their_thread_and_only_they_answer(
    csat_desk: Callable[..., AbstractContextManager[DeskUnderTest]],
) -> None:
    with csat_desk(ask_in="dm") as desk:  # customers are asked in their thread all the same
        ticket = ask(
            desk, "Invoices page is blank", channel=ACME, user=CUSTOMER, team=CUSTOMER_TEAM
        )
        assert ticket.bridged and ticket.card_channel == TRIAGE
        resolve(desk, ticket)
        [prompt] = prompts(desk, ACME)
        assert prompt["thread_ts"] == ticket.source_ts
        assert prompts(desk, TRIAGE) == [] and prompts(desk, CUSTOMER) == []
        for internal in (AGENT, "general", TRIAGE, "queue", "enterprise"):
            assert internal not in str(prompt)
        [survey] = surveys(desk, ticket.id)
        assert survey.customer == "Acme Corp"

        rate(desk, prompt, ACME, survey, CsatRating.SATISFIED, user=COLLEAGUE, team=CUSTOMER_TEAM)
        assert surveys(desk, ticket.id)[0].rating is None
        [told] = desk.standin.ephemeral_messages(ACME, user=COLLEAGUE)
        assert "only their answer counts" in told["text"]

        rate(
            desk,
            prompt,
            ACME,
            survey,
            CsatRating.EXTREMELY_UNSATISFIED,
            team=CUSTOMER_TEAM,
            user=CUSTOMER,
        )
        assert surveys(desk, ticket.id)[0].rating == "extremely_unsatisfied"
        assert "You said" in current(desk, ACME, prompt)["text"]
        [low] = dms_to(desk, LEAD)
        assert "(Acme Corp)" in low

        # Everything sent to the customer channel was of a customer-safe kind; nothing dropped.
        rows = outbox(desk)
        assert all(row.status == "sent" for row in rows), [(r.purpose, r.status) for r in rows]
        to_customer = {
            row.purpose
            for row in rows
            if ACME in ((row.response or {}).get("channel"), row.payload.get("channel"))
        }
        assert "csat_prompt" in to_customer and to_customer <= set(CUSTOMER_SAFE_PURPOSES)


def test_switched_off_for_a_customer_asks_nothing(
    csat_desk: Callable[..., AbstractContextManager[DeskUnderTest]],
) -> None:
    with csat_desk(customers={"Acme Corp": "off"}) as desk:
        customer = ask(
            desk, "Invoices page is blank", channel=ACME, user=CUSTOMER, team=CUSTOMER_TEAM
        )
        colleague = ask(desk)
        resolve(desk, customer)
        resolve(desk, colleague)
        assert prompts(desk, ACME) == [] and surveys(desk, customer.id) == []
        assert len(prompts(desk, HELP)) == 1
