"""CSAT straight on the database: who is asked (sampling, switches, self-resolved, merged), once
per resolution; where the prompt goes (thread, DM, a customer's own thread) and that it passes
the outbox's customer-safety check; answers (requester only, a change replaces rating and time, a
late click never overwrites), comments, the queue lead's DMs, and the `csat:` config's checks.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.config import ConfigInvalid, DeskConfig, parse_config
from bot.delivery import DeliveryHooks
from storage.db import SessionFactory, create_session_factory
from storage.models import CsatSurvey, OutboxMessage, Ticket
from storage.repositories import CsatRepository, TicketRepository
from templates.csat import RATING_ACTIONS
from templates.ids import ActionId
from tests.conftest import TEST_CONFIG, as_told
from workflows.clock import ManualClock, datetime_to_slack_ts
from workflows.csat import (
    MAX_COMMENT,
    CommentRequest,
    CsatAnswer,
    CsatRefusal,
    check_comment,
    comment_form_for,
    record_answer,
    record_comment,
    should_ask,
)
from workflows.delivery import CUSTOMER_SAFE_PURPOSES, Purpose, SlackCall
from workflows.desk import Desk
from workflows.intake import Outcome, SlackMessage, receive_message
from workflows.triage import ActionKind, TicketAction, perform
from workflows.vocabulary import CSAT_LABELS, CsatRating, Via

T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
REQUESTER, OTHER = "U0REQ1", "U0BOB"
AGENT, LEAD = "U0AGENT1", "U0LEAD"
HELP, BILLING, ACME, TRIAGE = "C0HELP", "C0BILLING", "C0ACME", "C0TRIAGE"
CUSTOMER, CUSTOMER_TEAM = "U0ACMEJO", "T0ACME"


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


ANSWERED = minutes(30)


# --- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture
def sf(engine: Engine) -> SessionFactory:
    return create_session_factory(engine)


def make_desk(clock: ManualClock, **csat: Any) -> Desk:
    clock.set(T0)
    config = {
        **TEST_CONFIG,
        "queues": [{"name": "general", "lead": LEAD}, {"name": "billing"}],
        "csat": csat,
    }
    return Desk(parse_config(config), clock)


@pytest.fixture
def desk(clock: ManualClock) -> Desk:
    return make_desk(clock)


def open_ticket(
    sf: SessionFactory,
    desk: Desk,
    *,
    channel: str = HELP,
    user: str = REQUESTER,
    when: datetime = T0,
    text: str = "The export fails",
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
    deliver_cards(sf, desk)
    return result.ticket_id


def deliver_cards(sf: SessionFactory, desk: Desk) -> None:
    """Every row owed so far counts as sent; cards and prompts land where Slack would put them."""
    hooks = DeliveryHooks(desk.config, desk.clock)
    with sf.begin() as session:
        for row in pending(session):
            if row.purpose == Purpose.TICKET_CARD:
                ticket = session.get(Ticket, row.ticket_id)
                assert ticket is not None
                ticket.card_channel = TRIAGE if ticket.bridged else ticket.source_channel
                ticket.card_ts = datetime_to_slack_ts(ticket.created_at + timedelta(seconds=1))
            elif row.purpose == Purpose.CSAT_PROMPT and row.method == "chat.postMessage":
                call = hooks.prepare(session, row)
                assert call is not None
                channel = call.payload["channel"]
                channel = "D" + channel[1:] if channel.startswith("U") else channel
                hooks.delivered(
                    session, row, {"channel": channel, "ts": "1800000000.000100"}, now=T0
                )
            row.status = "sent"


def pending(session: Any) -> list[OutboxMessage]:
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == "pending")
            .order_by(OutboxMessage.id)
        ).all()
    )


def resolve(
    sf: SessionFactory, desk: Desk, ticket_id: int, *, by: str = AGENT, when: datetime | None = None
) -> None:
    act(sf, desk, ActionKind.RESOLVE, ticket_id, by=by, when=when or minutes(20))


def act(
    sf: SessionFactory, desk: Desk, kind: ActionKind, ticket_id: int, *, by: str, when: datetime
) -> None:
    action = TicketAction(
        kind=kind,
        ticket_id=ticket_id,
        actor=by,
        at=when,
        via=Via.BUTTON,
        reply_channel=HELP,
        reply_thread_ts="1.0",
    )
    with sf.begin() as session:
        perform(session, desk, action)


def surveys(sf: SessionFactory, ticket_id: int) -> list[CsatSurvey]:
    with sf.begin() as session:
        return list(CsatRepository(session).for_ticket(ticket_id))


def prompt_rows(sf: SessionFactory, *, purpose: str = Purpose.CSAT_PROMPT) -> list[OutboxMessage]:
    with sf.begin() as session:
        return list(
            session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.purpose == purpose)
                .order_by(OutboxMessage.id)
            ).all()
        )


def prepared(sf: SessionFactory, desk: Desk, row: OutboxMessage) -> SlackCall | None:
    with sf.begin() as session:
        fresh = session.get(OutboxMessage, row.id)
        assert fresh is not None
        return DeliveryHooks(desk.config, desk.clock).prepare(session, fresh)


def answer(
    sf: SessionFactory,
    desk: Desk,
    survey_id: int,
    rating: CsatRating,
    *,
    user: str = REQUESTER,
    when: datetime = ANSWERED,
) -> Any:
    with sf.begin() as session:
        return record_answer(
            session,
            desk,
            CsatAnswer(
                survey_id=survey_id,
                rating=rating,
                user=user,
                at=when,
                reply_channel=HELP,
                reply_thread_ts="1.0",
            ),
        )


def comment(
    sf: SessionFactory, desk: Desk, survey_id: int, text: str, *, user: str = REQUESTER
) -> Any:
    with sf.begin() as session:
        return record_comment(
            session, desk, CommentRequest(survey_id=survey_id, user=user), text=text
        )


def change(sf: SessionFactory, ticket_id: int, **values: Any) -> None:
    """Set ticket columns directly (a merge, a permalink read), as other workflows would."""
    with sf.begin() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        for key, value in values.items():
            setattr(ticket, key, value)


def load(sf: SessionFactory, ticket_id: int) -> Ticket:
    with sf.begin() as session:
        ticket = TicketRepository(session).get(ticket_id)
        assert ticket is not None
        return ticket


def buttons(call: SlackCall) -> list[dict[str, Any]]:
    return [
        element
        for block in call.payload["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


# --- who is asked, once per resolution -----------------------------------------------------------


def test_resolving_asks_the_requester_in_their_thread_once(sf: SessionFactory, desk: Desk) -> None:
    ticket_id = open_ticket(sf, desk)
    act(sf, desk, ActionKind.CLAIM, ticket_id, by=AGENT, when=minutes(5))
    resolve(sf, desk, ticket_id)
    resolve(sf, desk, ticket_id, when=minutes(21))  # a double click: already resolved

    [survey] = surveys(sf, ticket_id)
    assert (survey.requester, survey.queue, survey.customer, survey.assignee) == (
        REQUESTER,
        "general",
        None,
        AGENT,
    )
    assert survey.asked_at == minutes(20) and survey.rating is None and survey.answered_at is None
    [row] = prompt_rows(sf)
    assert (row.method, row.ticket_id) == ("chat.postMessage", ticket_id)
    call = prepared(sf, desk, row)
    assert call is not None and call.method == "chat.postMessage"
    assert call.payload["channel"] == HELP
    assert call.payload["thread_ts"] == datetime_to_slack_ts(T0)
    assert "How did we do" in call.payload["text"]
    assert [(b["action_id"], b["text"]["text"], b["value"]) for b in buttons(call)] == [
        (RATING_ACTIONS[r], CSAT_LABELS[r], f"{survey.id}:{r.value}") for r in CsatRating
    ]


def test_sampling_asks_one_in_n_by_ticket_number(sf: SessionFactory, clock: ManualClock) -> None:
    desk = make_desk(clock, sample=3)
    ids = [open_ticket(sf, desk, when=minutes(i), text=f"question {i}") for i in range(7)]
    for ticket_id in ids:
        resolve(sf, desk, ticket_id)
    asked = [ticket_id for ticket_id in ids if surveys(sf, ticket_id)]
    assert asked == [ticket_id for ticket_id in ids if ticket_id % 3 == 0]
    assert 2 <= len(asked) <= 3
    # Deterministic: the same tickets decide the same again, and a resolved-again ticket too.
    for ticket_id in ids:
        assert should_ask(desk.config, load(sf, ticket_id), resolved_by=AGENT) == (
            ticket_id % 3 == 0
        )
    skipped = next(ticket_id for ticket_id in ids if ticket_id % 3)
    act(sf, desk, ActionKind.REOPEN, skipped, by=AGENT, when=minutes(40))
    resolve(sf, desk, skipped, when=minutes(50))
    assert surveys(sf, skipped) == []


def test_switches_per_queue_and_customer(sf: SessionFactory, clock: ManualClock) -> None:
    desk = make_desk(clock, queues={"billing": "off"}, customers={"Acme Corp": False})
    general = open_ticket(sf, desk, when=minutes(1))
    billing = open_ticket(sf, desk, channel=BILLING, when=minutes(2))
    customer = open_ticket(sf, desk, channel=ACME, user=CUSTOMER, when=minutes(3))
    for ticket_id in (general, billing, customer):
        resolve(sf, desk, ticket_id)
    assert [bool(surveys(sf, t)) for t in (general, billing, customer)] == [True, False, False]

    # Off for the desk, on for one queue: only that queue is asked. A customer's switch wins.
    config = parse_config(
        {
            **TEST_CONFIG,
            "csat": {
                "enabled": False,
                "queues": {"billing": True},
                "customers": {"Acme Corp": True},
            },
        }
    )
    tickets = {t: load(sf, t) for t in (general, billing, customer)}
    assert not should_ask(config, tickets[general], resolved_by=AGENT)
    assert should_ask(config, tickets[billing], resolved_by=AGENT)
    assert should_ask(config, tickets[customer], resolved_by=AGENT)


def test_the_requester_resolving_their_own_ticket_is_not_asked(
    sf: SessionFactory, clock: ManualClock
) -> None:
    desk = make_desk(clock)
    ticket_id = open_ticket(sf, desk, user=AGENT)  # an agent asked, and solved it themself
    resolve(sf, desk, ticket_id, by=AGENT)
    assert load(sf, ticket_id).status == "resolved"
    assert surveys(sf, ticket_id) == [] and prompt_rows(sf) == []


def test_a_ticket_merged_away_is_not_asked(sf: SessionFactory, desk: Desk) -> None:
    ticket_id = open_ticket(sf, desk)
    other = open_ticket(sf, desk, when=minutes(1), text="The export fails again")
    with sf.begin() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        ticket.merged_into_id = other
        assert not should_ask(desk.config, ticket, resolved_by=AGENT)
    # Merged after its resolution, before the prompt went out: the prompt is not sent.
    change(sf, ticket_id, merged_into_id=None)
    resolve(sf, desk, ticket_id)
    change(sf, ticket_id, merged_into_id=other)
    [row] = prompt_rows(sf)
    assert prepared(sf, desk, row) is None


def test_reopened_and_resolved_again_is_asked_again(sf: SessionFactory, desk: Desk) -> None:
    ticket_id = open_ticket(sf, desk)
    resolve(sf, desk, ticket_id, when=minutes(20))
    deliver_cards(sf, desk)
    act(sf, desk, ActionKind.REOPEN, ticket_id, by=AGENT, when=minutes(25))
    resolve(sf, desk, ticket_id, when=minutes(40))
    first, second = surveys(sf, ticket_id)
    assert (first.asked_at, second.asked_at) == (minutes(20), minutes(40))
    assert len(prompt_rows(sf)) == 2


def test_reopened_before_the_prompt_went_out_asks_nothing(sf: SessionFactory, desk: Desk) -> None:
    ticket_id = open_ticket(sf, desk)
    resolve(sf, desk, ticket_id)
    act(sf, desk, ActionKind.REOPEN, ticket_id, by=AGENT, when=minutes(21))
    [row] = prompt_rows(sf)
    assert prepared(sf, desk, row) is None


# --- where the prompt goes ---------------------------------------------------------------------


def test_ask_in_dm_sends_the_prompt_to_the_requester(
    sf: SessionFactory, clock: ManualClock
) -> None:
    desk = make_desk(clock, ask_in="dm")
    ticket_id = open_ticket(sf, desk)
    resolve(sf, desk, ticket_id)
    [row] = prompt_rows(sf)
    call = prepared(sf, desk, row)
    assert call is not None
    assert call.payload["channel"] == REQUESTER and "thread_ts" not in call.payload
    assert len(buttons(call)) == 4


def test_a_customer_is_asked_in_their_own_thread_and_it_passes_the_safety_check(
    sf: SessionFactory, clock: ManualClock
) -> None:
    desk = make_desk(clock, ask_in="dm")  # a customer is asked in their thread all the same
    ticket_id = open_ticket(sf, desk, channel=ACME, user=CUSTOMER)
    ticket = load(sf, ticket_id)
    assert ticket.bridged and ticket.card_channel == TRIAGE
    resolve(sf, desk, ticket_id)
    [row] = prompt_rows(sf)
    assert row.purpose in CUSTOMER_SAFE_PURPOSES
    call = prepared(sf, desk, row)  # prepare() drops whatever the safety check refuses
    assert call is not None
    assert (call.payload["channel"], call.payload["thread_ts"]) == (ACME, ticket.source_ts)
    said = str(call.payload)
    for internal in (AGENT, "general", TRIAGE, "queue", "enterprise"):
        assert internal not in said
    # Where an internal purpose aimed at the customer channel is refused, this one is not.
    hooks = DeliveryHooks(desk.config, desk.clock)
    with sf.begin() as session:
        fresh = session.get(OutboxMessage, row.id)
        assert fresh is not None
        assert hooks._may_send(session, fresh, call)
        fresh.purpose = Purpose.ROOM_NOTICE
        assert not hooks._may_send(session, fresh, call)
        fresh.purpose = Purpose.CSAT_PROMPT


def test_a_thread_the_bot_cannot_post_in_falls_back_to_a_dm(sf: SessionFactory, desk: Desk) -> None:
    ticket_id = open_ticket(sf, desk)
    resolve(sf, desk, ticket_id)
    [row] = prompt_rows(sf)
    hooks = DeliveryHooks(desk.config, desk.clock)
    with sf.begin() as session:
        fresh = session.get(OutboxMessage, row.id)
        assert fresh is not None
        assert hooks.failed(session, fresh, "not_in_channel", now=T0) == SlackCall(
            "chat.postMessage", {"_dm": True}
        )
        assert hooks.failed(session, fresh, "invalid_blocks", now=T0) is None
        fresh.payload = {**fresh.payload, "_dm": True}
        call = hooks.prepare(session, fresh)
        assert call is not None and call.payload["channel"] == REQUESTER


# --- answers -----------------------------------------------------------------------------------


def test_only_the_requester_answers(sf: SessionFactory, desk: Desk) -> None:
    ticket_id = open_ticket(sf, desk)
    resolve(sf, desk, ticket_id)
    deliver_cards(sf, desk)
    [survey] = surveys(sf, ticket_id)

    result = answer(sf, desk, survey.id, CsatRating.EXTREMELY_SATISFIED, user=OTHER)
    assert (result.done, result.refusal) == (False, CsatRefusal.NOT_REQUESTER)
    [survey] = surveys(sf, ticket_id)
    assert survey.rating is None and survey.answered_at is None
    assert load(sf, ticket_id).csat is None
    with sf.begin() as session:
        [told] = as_told(pending(session))
    assert (told.method, told.purpose) == ("chat.postEphemeral", Purpose.NOTICE)
    assert (told.payload["channel"], told.payload["user"]) == (HELP, OTHER)
    assert "only their answer counts" in told.payload["text"]
    assert prompt_rows(sf, purpose=Purpose.CSAT_ALERT) == []


def test_a_second_answer_replaces_the_first_and_updates_the_prompt(
    sf: SessionFactory, desk: Desk
) -> None:
    ticket_id = open_ticket(sf, desk)
    resolve(sf, desk, ticket_id)
    deliver_cards(sf, desk)
    [survey] = surveys(sf, ticket_id)

    assert answer(sf, desk, survey.id, CsatRating.SATISFIED, when=minutes(30)).done
    assert answer(sf, desk, survey.id, CsatRating.EXTREMELY_SATISFIED, when=minutes(31)).done
    [survey] = surveys(sf, ticket_id)
    assert (survey.rating, survey.answered_at) == ("extremely_satisfied", minutes(31))
    assert load(sf, ticket_id).csat == "extremely_satisfied"
    # Both answers are one chat.update (a burst coalesces), rendered from the latest.
    [update] = [row for row in prompt_rows(sf) if row.method == "chat.update"]
    call = prepared(sf, desk, update)
    assert call is not None and call.method == "chat.update"
    assert (call.payload["channel"], call.payload["ts"]) == (HELP, "1800000000.000100")
    assert "You said: *Extremely satisfied*" in call.payload["blocks"][0]["text"]["text"]
    assert [b["action_id"] for b in buttons(call)] == [ActionId.CSAT_COMMENT, ActionId.CSAT_CHANGE]

    # An older click delivered late does not undo the newer answer.
    answer(sf, desk, survey.id, CsatRating.UNSATISFIED, when=minutes(29))
    [survey] = surveys(sf, ticket_id)
    assert (survey.rating, survey.answered_at) == ("extremely_satisfied", minutes(31))
    assert prompt_rows(sf, purpose=Purpose.CSAT_ALERT) == []


def test_the_ticket_keeps_the_latest_answer_of_its_surveys(sf: SessionFactory, desk: Desk) -> None:
    ticket_id = open_ticket(sf, desk)
    resolve(sf, desk, ticket_id, when=minutes(20))
    deliver_cards(sf, desk)
    act(sf, desk, ActionKind.REOPEN, ticket_id, by=AGENT, when=minutes(25))
    resolve(sf, desk, ticket_id, when=minutes(40))
    deliver_cards(sf, desk)
    first, second = surveys(sf, ticket_id)
    answer(sf, desk, second.id, CsatRating.SATISFIED, when=minutes(50))
    answer(sf, desk, first.id, CsatRating.UNSATISFIED, when=minutes(45))  # answered before
    assert load(sf, ticket_id).csat == "satisfied"


def test_a_low_answer_tells_the_queue_lead_once_with_the_escaped_comment(
    sf: SessionFactory, desk: Desk
) -> None:
    ticket_id = open_ticket(sf, desk)
    act(sf, desk, ActionKind.CLAIM, ticket_id, by=AGENT, when=minutes(5))
    resolve(sf, desk, ticket_id)
    deliver_cards(sf, desk)
    change(sf, ticket_id, permalink="https://desk.slack.com/archives/C0HELP/p1")
    [survey] = surveys(sf, ticket_id)

    answer(sf, desk, survey.id, CsatRating.UNSATISFIED, when=minutes(30))
    answer(sf, desk, survey.id, CsatRating.UNSATISFIED, when=minutes(31))  # a double click
    [low] = prompt_rows(sf, purpose=Purpose.CSAT_ALERT)
    call = prepared(sf, desk, low)
    assert call is not None and call.payload["channel"] == LEAD
    text = call.payload["text"]
    assert "Low CSAT on <https://desk.slack.com/archives/C0HELP/p1|#" in text
    assert "*Unsatisfied*" in text and f"<@{REQUESTER}>" in text and f"<@{AGENT}>" in text

    assert comment(sf, desk, survey.id, "  <!channel> slow & rude <@U0CEO>  ").done
    comment(sf, desk, survey.id, "<!channel> slow & rude <@U0CEO>")  # the same words again
    low, commented = prompt_rows(sf, purpose=Purpose.CSAT_ALERT)
    call = prepared(sf, desk, commented)
    assert call is not None and call.payload["channel"] == LEAD
    assert "&lt;!channel&gt; slow &amp; rude &lt;@U0CEO&gt;" in call.payload["text"]
    assert "<!channel>" not in call.payload["text"] and "<@U0CEO>" not in call.payload["text"]
    [survey] = surveys(sf, ticket_id)
    assert survey.comment == "<!channel> slow & rude <@U0CEO>"

    # Better, then worse again: one more DM, carrying the comment given meanwhile.
    answer(sf, desk, survey.id, CsatRating.SATISFIED, when=minutes(40))
    answer(sf, desk, survey.id, CsatRating.EXTREMELY_UNSATISFIED, when=minutes(41))
    rows = prompt_rows(sf, purpose=Purpose.CSAT_ALERT)
    assert len(rows) == 3
    call = prepared(sf, desk, rows[-1])
    assert call is not None and "*Extremely unsatisfied*" in call.payload["text"]
    assert "slow &amp; rude" in call.payload["text"]


def test_no_lead_or_a_good_answer_or_notify_off_tells_nobody(
    sf: SessionFactory, clock: ManualClock
) -> None:
    desk = make_desk(clock)
    billing = open_ticket(sf, desk, channel=BILLING)  # billing has no lead
    general = open_ticket(sf, desk, when=minutes(1))
    for ticket_id in (billing, general):
        resolve(sf, desk, ticket_id)
    deliver_cards(sf, desk)
    [on_billing], [on_general] = surveys(sf, billing), surveys(sf, general)
    answer(sf, desk, on_billing.id, CsatRating.EXTREMELY_UNSATISFIED)
    comment(sf, desk, on_billing.id, "bad")
    answer(sf, desk, on_general.id, CsatRating.SATISFIED)
    comment(sf, desk, on_general.id, "fine")
    assert prompt_rows(sf, purpose=Purpose.CSAT_ALERT) == []

    quiet = make_desk(clock, notify_at="off")
    answer(sf, quiet, on_general.id, CsatRating.EXTREMELY_UNSATISFIED, when=minutes(40))
    assert prompt_rows(sf, purpose=Purpose.CSAT_ALERT) == []
    strict = make_desk(clock, notify_at="satisfied")
    answer(sf, strict, on_general.id, CsatRating.SATISFIED, when=minutes(41))
    assert len(prompt_rows(sf, purpose=Purpose.CSAT_ALERT)) == 1


def test_comments_are_checked_and_only_the_requesters_kept(sf: SessionFactory, desk: Desk) -> None:
    assert check_comment("   ") is not None and "Write your comment" in (check_comment("") or "")
    too_long = check_comment("x" * (MAX_COMMENT + 1))
    assert too_long is not None and str(MAX_COMMENT) in too_long
    assert check_comment("x" * MAX_COMMENT) is None

    ticket_id = open_ticket(sf, desk)
    resolve(sf, desk, ticket_id)
    deliver_cards(sf, desk)
    [survey] = surveys(sf, ticket_id)
    answer(sf, desk, survey.id, CsatRating.SATISFIED)
    refused = comment(sf, desk, survey.id, "not mine to say", user=OTHER)
    assert refused.refusal == CsatRefusal.NOT_REQUESTER and refused.ref == f"#{ticket_id}"
    with sf.begin() as session:
        assert comment_form_for(session, CommentRequest(survey.id, OTHER)) is None
        form = comment_form_for(session, CommentRequest(survey.id, REQUESTER))
    assert form is not None and (form.rating, form.comment) == ("satisfied", None)
    assert comment(sf, desk, survey.id, "Quick and kind").done
    [survey] = surveys(sf, ticket_id)
    assert (survey.comment, survey.answered_at) == ("Quick and kind", minutes(30))


# --- config ------------------------------------------------------------------------------------


def test_csat_defaults(desk_config: DeskConfig) -> None:
    csat = desk_config.csat
    assert (csat.enabled, csat.ask_in, csat.sample, csat.notify_at) == (
        True,
        "thread",
        1,
        CsatRating.UNSATISFIED,
    )
    assert csat.queues == {} and csat.customers == {}


@pytest.mark.parametrize(
    ("csat", "expected"),
    [
        (
            {"queues": {"biling": False}},
            "csat.queues.biling: 'biling' is not a queue of this desk (known: billing, general)",
        ),
        (
            {"customers": {"Acme": False}},
            "csat.customers.Acme: 'Acme' is not the customer of any customer channel "
            "(known: Acme Corp)",
        ),
        ({"sample": 0}, "csat.sample: 0 is not a sample size"),
        ({"sample": "1 in 5"}, "csat.sample: '1 in 5' is not a sample size"),
        ({"sample": True}, "csat.sample: true is not a sample size"),
        ({"ask_in": "email"}, "csat.ask_in: 'email' is not where to ask (use thread or dm)"),
        ({"notify_at": "angry"}, "csat.notify_at: 'angry' is not a rating"),
        ({"queues": {"billing": "maybe"}}, "csat.queues.billing: 'maybe' is neither on nor off"),
        ({"sampel": 2}, "csat.sampel: unknown key (did you mean 'sample'?)"),
    ],
)
def test_csat_config_problems_name_their_key(csat: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigInvalid) as caught:
        parse_config({**TEST_CONFIG, "csat": csat})
    assert any(str(problem).startswith(expected) for problem in caught.value.problems), [
        str(p) for p in caught.value.problems
    ]


def test_csat_config_reads_yaml_switches() -> None:
    config = parse_config(
        {
            **TEST_CONFIG,
            "csat": {
                "ask_in": "DM",
                "sample": "5",
                "notify_at": "extremely unsatisfied",
                "queues": {"billing": "off"},
                "customers": {"Acme Corp": "on"},
            },
        }
    )
    csat = config.csat
    assert (csat.ask_in, csat.sample, csat.notify_at) == (
        "dm",
        5,
        CsatRating.EXTREMELY_UNSATISFIED,
    )
    assert csat.asks(queue="billing", customer=None) is False
    assert csat.asks(queue="billing", customer="Acme Corp") is True
    assert csat.asks(queue="general", customer=None) is True
