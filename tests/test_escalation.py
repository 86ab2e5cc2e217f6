"""Escalation (workflows/escalation.py) straight on the database: what Escalate pre-fills and
checks, what escalating changes, logs and owes Slack, engineering's Take / Need info / Fixed and
replies, Reply to engineering, de-escalation and the second line's pass back, how the outbox rows
render (never into a customer channel), and escalations of merged tickets."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bot.config import parse_config
from bot.delivery import DeliveryHooks
from storage.db import SessionFactory, create_session_factory
from storage.models import Escalation, OutboxMessage, Ticket, TicketNote
from storage.repositories import (
    EscalationRepository,
    NoteRepository,
    OutboxRepository,
    TicketRepository,
)
from tests.conftest import TEST_CONFIG
from workflows.clock import ManualClock, datetime_to_slack_ts
from workflows.delivery import Purpose, SlackCall
from workflows.desk import Desk
from workflows.editing import Form, ModalRequest
from workflows.escalation import (
    MAX_STEPS,
    EngineeringStep,
    EscalationAnswers,
    EscalationResult,
    ReplyResult,
    StepResult,
    check_escalation,
    de_escalate,
    de_escalate_form_for,
    escalate,
    escalate_by_reaction,
    prefilled,
    relay_from_engineering,
    reply_to_engineering,
    work_escalation,
)
from workflows.intake import SlackMessage
from workflows.merging import submit_merge
from workflows.triage import (
    ActionKind,
    Refusal,
    TicketAction,
    perform,
    requester_replied,
)
from workflows.vocabulary import LIVE_ESCALATION_STATES, EventKind, TicketStatus, Via

T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # a Monday afternoon
AGENT, AGENT2, NOT_AGENT = "U0AGENT1", "U0AGENT2", "U0BOB"
ENGINEER, ENGINEER2 = "U0ENG1", "U0ENG2"
REQUESTER, CUSTOMER = "U0REQ1", "U0ACMEJO"
HELP, ACME, TRIAGE = "C0HELP", "C0ACME", "C0TRIAGE"
ENG, ENG_API = "C0ENG", "C0ENGAPI"
CARD_TS = "1763920000.000100"  # where an escalation card landed (set by hand: no dispatcher)
TRIAGE_CARD_TS = "1763910000.000200"
LINK = "https://desk.slack.com/archives/C0HELP/p1763900000000100"


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


# When things happen unless a test says otherwise: escalated, pressed, replied, withdrawn.
ESCALATED_AT, PRESSED_AT, REPLIED_AT, WITHDRAWN_AT = minutes(1), minutes(5), minutes(8), minutes(9)


# --- fixtures and helpers -------------------------------------------------------------------------


@pytest.fixture
def session_factory(engine: Engine) -> SessionFactory:
    return create_session_factory(engine)


@pytest.fixture
def session(session_factory: SessionFactory) -> Iterator[Session]:
    with session_factory.begin() as session:
        yield session


def desk_with(**changes: Any) -> Desk:
    """A desk on TEST_CONFIG with some keys changed, its clock at T0 + 1h."""
    return Desk(parse_config({**TEST_CONFIG, **changes}), ManualClock(minutes(60)))


@pytest.fixture
def desk() -> Desk:
    return desk_with()


TIER2 = {"name": "tier2", "agents": [AGENT2]}


@pytest.fixture
def tier2_desk() -> Desk:
    """The test desk with a second line (tier2, worked by U0AGENT2, no auto-assignment)."""
    return desk_with(queues=[TIER2])


_source_ts = itertools.count(1)


def make_ticket(session: Session, **fields: Any) -> Ticket:
    """An internal ticket asked in #help (open, unassigned), unless `fields` say otherwise."""
    values: dict[str, Any] = dict(
        source_channel=HELP,
        source_ts=datetime_to_slack_ts(T0 + timedelta(seconds=next(_source_ts))),
        intake_source="message",
        requester=REQUESTER,
        queue="general",
        status=TicketStatus.OPEN.value,
        priority="medium",
        description="Export to CSV times out",
        created_at=T0,
        updated_at=T0,
        departments=[],
    )
    values.update(fields)
    ticket = TicketRepository(session).add(Ticket(**values))
    assert ticket is not None
    return ticket


def customer_ticket(session: Session, **fields: Any) -> Ticket:
    """A ticket asked in Acme's shared channel; its card (the agents' room) is in triage."""
    values: dict[str, Any] = dict(
        source_channel=ACME,
        requester=CUSTOMER,
        requester_is_external=True,
        bridged=True,
        customer="Acme Corp",
        customer_tier="enterprise",
        card_channel=TRIAGE,
        card_ts=TRIAGE_CARD_TS,
    )
    values.update(fields)
    return make_ticket(session, **values)


def claimed(session: Session, by: str = AGENT, **fields: Any) -> Ticket:
    values: dict[str, Any] = {
        "status": TicketStatus.CLAIMED.value,
        "assignee": by,
        "claimed_at": T0,
    }
    return make_ticket(session, **{**values, **fields})


def do_escalate(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    *,
    target: str | None = "engineering:API",
    agent: str = AGENT,
    at: datetime = ESCALATED_AT,
    external: bool = False,
    **fields: Any,
) -> EscalationResult:
    values: dict[str, Any] = {"severity": "sev2", "summary": "Export times out"}
    values.update(fields)
    return escalate(
        session,
        desk,
        EscalationAnswers(target=target, **values),
        ticket_id=ticket.id,
        agent=agent,
        at=at,
        via=Via.MODAL,
        agent_is_external=external,
    )


def escalated(session: Session, desk: Desk, ticket: Ticket, **kwargs: Any) -> Escalation:
    """Escalate (to API engineering unless told otherwise); the escalation, its card landed."""
    result = do_escalate(session, desk, ticket, **kwargs)
    assert result.done and result.escalation_id is not None, result
    escalation = EscalationRepository(session).get(result.escalation_id)
    assert escalation is not None
    if escalation.channel:
        escalation.card_ts = f"{CARD_TS[:-3]}{escalation.id:03d}"
        session.flush()
    return escalation


def press(
    session: Session,
    desk: Desk,
    step: EngineeringStep,
    escalation: Escalation | int,
    *,
    user: str = ENGINEER,
    at: datetime = PRESSED_AT,
    **kwargs: Any,
) -> StepResult:
    escalation_id = escalation if isinstance(escalation, int) else escalation.id
    return work_escalation(
        session, desk, step, escalation_id=escalation_id, user=user, at=at, **kwargs
    )


def engineer_says(
    session: Session,
    desk: Desk,
    escalation: Escalation,
    *,
    at: datetime,
    text: str = "Looking into it",
    user: str = ENGINEER,
) -> int | None:
    """A reply in the escalation card's thread, as the message event describes it."""
    assert escalation.channel and escalation.card_ts
    message = SlackMessage(
        channel=escalation.channel,
        ts=datetime_to_slack_ts(at),
        user=user,
        text=text,
        thread_ts=escalation.card_ts,
    )
    return relay_from_engineering(session, desk, message)


def reply(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    text: str | None,
    *,
    escalation_id: int | None = None,
    agent: str = AGENT,
    at: datetime = REPLIED_AT,
) -> ReplyResult:
    return reply_to_engineering(
        session,
        desk,
        ticket_id=ticket.id,
        escalation_id=escalation_id,
        agent=agent,
        text=text,
        at=at,
    )


def withdraw(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    escalations: list[Escalation],
    note: str | None = None,
    *,
    agent: str = AGENT,
    at: datetime = WITHDRAWN_AT,
) -> ReplyResult:
    return de_escalate(
        session,
        desk,
        ticket_id=ticket.id,
        escalation_ids=[e.id for e in escalations],
        note=note,
        agent=agent,
        at=at,
    )


def last_row_id(session: Session) -> int:
    return session.scalar(select(func.max(OutboxMessage.id))) or 0


def rows_after(session: Session, row_id: int) -> list[tuple[Any, ...]]:
    """Outbox rows written after `row_id`: (method, purpose, ticket id, payload)."""
    rows = session.scalars(
        select(OutboxMessage).where(OutboxMessage.id > row_id).order_by(OutboxMessage.id)
    ).all()
    return [(r.method, r.purpose, r.ticket_id, r.payload) for r in rows]


def sent(session: Session) -> int:
    """Everything owed so far was sent (so a later change owes its own card update); the last
    row's id."""
    for row in OutboxRepository(session).pending():
        row.status = "sent"
    session.flush()
    return last_row_id(session)


def log(session: Session, ticket: Ticket) -> list[tuple[str, str | None, datetime, dict]]:
    return [(e.kind, e.actor, e.at, e.data) for e in TicketRepository(session).events(ticket.id)]


def kinds(session: Session, ticket: Ticket) -> list[str]:
    return [e.kind for e in TicketRepository(session).events(ticket.id)]


def live(session: Session, ticket: Ticket) -> list[int]:
    found = EscalationRepository(session).for_ticket(ticket.id, states=LIVE_ESCALATION_STATES)
    return [e.id for e in found]


def reload(session: Session, ticket: Ticket) -> Ticket:
    session.refresh(ticket)
    return ticket


def row_of(session: Session, purpose: Purpose, *, after: int = 0) -> OutboxMessage:
    [row] = session.scalars(
        select(OutboxMessage).where(OutboxMessage.purpose == purpose, OutboxMessage.id > after)
    ).all()
    return row


def room(escalation: Escalation, kind: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """The payload of a row saying something about the escalation (rendered when sent)."""
    return {"_escalation": escalation.id, "_kind": kind, "_data": data or {}}


def ids(escalation: Escalation, **data: Any) -> dict[str, Any]:
    """An escalation event's data."""
    return {"escalation": escalation.id, "target": escalation.target, **data}


# --- pre-filled answers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("product", "target"),
    [
        ("API", "engineering:API"),
        ("Billing", "engineering:Billing"),
        ("Mobile app", "engineering:default"),
        (None, "engineering:default"),
    ],
)
def test_prefilled_target_is_the_products_engineering(
    session: Session, desk: Desk, product: str | None, target: str
) -> None:
    ticket = make_ticket(session, product=product)
    assert prefilled(session, desk, ticket).target == target


def test_prefilled_target_is_the_second_line_without_engineering(session: Session) -> None:
    ticket = make_ticket(session, product="API")
    second_line = desk_with(engineering=[], queues=[TIER2])
    nothing = desk_with(engineering=[])

    assert prefilled(session, second_line, ticket).target == "second_line:tier2"
    assert prefilled(session, nothing, ticket).target is None


@pytest.mark.parametrize(
    ("priority", "severity"),
    [("urgent", "sev1"), ("high", "sev2"), ("medium", "sev3"), ("low", "sev4")],
)
def test_prefilled_severity_follows_the_priority(
    session: Session, desk: Desk, priority: str, severity: str
) -> None:
    ticket = make_ticket(session, priority=priority)
    assert prefilled(session, desk, ticket).severity == severity


def test_prefilled_summary_is_the_first_line_and_steps_the_rest(
    session: Session, desk: Desk
) -> None:
    ticket = make_ticket(
        session,
        description="\n  \n  Export to CSV times out  \n\nOpen Reports\nPress Export\n",
        users_affected=1200,
        site_down=True,
    )

    answers = prefilled(session, desk, ticket)

    assert answers.summary == "Export to CSV times out"
    assert answers.steps == "Export to CSV times out  \n\nOpen Reports\nPress Export"
    assert answers.scale == "1,200 users affected, site down"
    assert answers.tried == ""


def test_prefilled_one_line_has_no_steps_and_a_long_line_is_cut(
    session: Session, desk: Desk
) -> None:
    short = make_ticket(session, description="  Export to CSV times out  ")
    long_line = "x" * 200
    long = make_ticket(session, description=long_line, users_affected=1, site_down=False)
    empty = make_ticket(session, description="   ")

    assert (prefilled(session, desk, short).summary, prefilled(session, desk, short).steps) == (
        "Export to CSV times out",
        "",
    )
    answers = prefilled(session, desk, long)
    assert answers.summary == "x" * 149 + "…" and len(answers.summary) == 150
    assert answers.steps == ""
    assert answers.scale == "1 user affected, site up"
    assert prefilled(session, desk, empty).summary == f"Ticket {empty.ref}"
    assert prefilled(session, desk, empty).scale == ""


def test_prefilled_tried_lists_the_internal_notes(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session)
    other = make_ticket(session)
    notes = NoteRepository(session)
    for n, (on, text) in enumerate(
        [
            (ticket, " Cleared the cache "),
            (other, "Not this one"),
            (ticket, "  "),
            (ticket, "Rebooted"),
        ]
    ):
        notes.add(TicketNote(ticket_id=on.id, author=AGENT, text=text, created_at=minutes(n)))

    assert prefilled(session, desk, ticket).tried == "• Cleared the cache\n• Rebooted"


# --- checking the answers -------------------------------------------------------------------------


def check(
    session: Session, desk: Desk, ticket: Ticket, **fields: Any
) -> tuple[dict[str, str], Any]:
    values: dict[str, Any] = {
        "target": "engineering:API",
        "severity": "sev2",
        "summary": "Export times out",
    }
    values.update(fields)
    current = EscalationRepository(session).for_ticket(ticket.id, states=LIVE_ESCALATION_STATES)
    return check_escalation(EscalationAnswers(**values), desk, ticket=ticket, live=current)


def test_check_accepts_and_cleans_the_answers(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session)

    errors, checked = check(
        session,
        desk,
        ticket,
        summary="  Export \n times   out ",
        steps="  Open Reports \n",
        scale=" 40 users ",
        tried=" Cache ",
    )

    assert errors == {}
    assert (checked.kind, checked.target, checked.severity) == ("engineering", "API", "sev2")
    assert (checked.summary, checked.steps, checked.scale, checked.tried) == (
        "Export times out",
        "Open Reports",
        "40 users",
        "Cache",
    )
    assert check(session, desk, ticket, summary="s" * 150)[0] == {}


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"target": None}, {"target": "Choose where to escalate."}),
        ({"target": ""}, {"target": "Choose where to escalate."}),
        (
            {"target": "engineering:Mobile"},
            {"target": "That team is no longer in the desk's config; choose another."},
        ),
        (
            {"target": "second_line:tier2"},
            {"target": "That team is no longer in the desk's config; choose another."},
        ),
        ({"severity": None}, {"severity": "Choose a severity."}),
        ({"severity": "sev9"}, {"severity": "Choose a severity."}),
        ({"summary": None}, {"summary": "Say in a line what engineering should look at."}),
        ({"summary": " \n "}, {"summary": "Say in a line what engineering should look at."}),
        ({"summary": "s" * 151}, {"summary": "Keep the summary under 150 characters."}),
        ({"steps": "s" * 2701}, {"steps": "Keep this under 2700 characters."}),
        ({"scale": "s" * 201}, {"scale": "Keep this under 200 characters."}),
        ({"tried": "s" * 2701}, {"tried": "Keep this under 2700 characters."}),
        (
            {"target": None, "severity": "x", "summary": "", "scale": "s" * 201},
            {
                "target": "Choose where to escalate.",
                "severity": "Choose a severity.",
                "summary": "Say in a line what engineering should look at.",
                "scale": "Keep this under 200 characters.",
            },
        ),
    ],
)
def test_check_errors_by_field(
    session: Session, desk: Desk, fields: dict[str, Any], errors: dict[str, str]
) -> None:
    ticket = make_ticket(session)
    assert check(session, desk, ticket, **fields) == (errors, None)


def test_check_refuses_a_target_the_ticket_is_already_with(
    session: Session, tier2_desk: Desk
) -> None:
    desk = tier2_desk
    ticket = make_ticket(session)
    escalated(session, desk, ticket, target="engineering:API")
    escalated(session, desk, ticket, target="second_line:tier2")
    in_tier2 = make_ticket(session, queue="tier2")

    assert check(session, desk, ticket, target="engineering:API") == (
        {
            "target": f"{ticket.ref} is already with API engineering: use Reply to "
            "engineering, or choose another team."
        },
        None,
    )
    assert check(session, desk, ticket, target="second_line:tier2") == (
        {"target": f"{ticket.ref} is already with the second line."},
        None,
    )
    assert check(session, desk, ticket, target="engineering:default")[0] == {}
    assert check(session, desk, in_tier2, target="second_line:tier2") == (
        {"target": f"{in_tier2.ref} is already in the tier2 queue."},
        None,
    )


# --- escalating to engineering --------------------------------------------------------------------


def test_escalate_to_engineering_records_logs_and_owes_the_card(
    session: Session, desk: Desk
) -> None:
    ticket = make_ticket(session, product="API")
    mark = last_row_id(session)

    result = do_escalate(
        session, desk, ticket, at=minutes(3), steps="Open Reports", scale="40 users", tried="Cache"
    )

    assert result.done and result.ticket_id == ticket.id and result.refusal is None
    assert result.errors == {}
    escalation = EscalationRepository(session).get(result.escalation_id or 0)
    assert escalation is not None
    assert (escalation.ticket_id, escalation.kind, escalation.target, escalation.channel) == (
        ticket.id,
        "engineering",
        "API",
        ENG_API,
    )
    assert (escalation.state, escalation.severity, escalation.summary) == (
        "open",
        "sev2",
        "Export times out",
    )
    assert (escalation.steps, escalation.scale, escalation.tried) == (
        "Open Reports",
        "40 users",
        "Cache",
    )
    assert (escalation.escalated_by, escalation.escalated_at) == (AGENT, minutes(3))
    assert (escalation.from_queue, escalation.from_assignee) == (None, None)
    assert (escalation.taken_by, escalation.first_response_at, escalation.card_ts) == (
        None,
        None,
        None,
    )
    ticket = reload(session, ticket)
    assert (ticket.status, ticket.escalated, ticket.assignee) == ("escalated", True, AGENT)
    assert (ticket.claimed_at, ticket.updated_at, ticket.queue) == (
        minutes(3),
        minutes(3),
        "general",
    )
    assert log(session, ticket) == [
        (
            EventKind.ESCALATED,
            AGENT,
            minutes(3),
            {
                "via": "modal",
                "escalation": escalation.id,
                "kind": "engineering",
                "target": "API",
                "severity": "sev2",
            },
        )
    ]
    assert rows_after(session, mark) == [
        ("chat.getPermalink", Purpose.ESCALATION_CARD, ticket.id, {"_escalation": escalation.id}),
        (
            "chat.postMessage",
            Purpose.ESCALATION_ROOM,
            ticket.id,
            room(escalation, "escalated"),
        ),
        ("chat.update", Purpose.CARD_UPDATE, ticket.id, {}),
    ]


def test_escalate_keeps_the_agent_who_holds_the_ticket(session: Session, desk: Desk) -> None:
    ticket = claimed(session, by=AGENT2)

    assert do_escalate(session, desk, ticket, agent=AGENT, target="engineering:default").done

    ticket = reload(session, ticket)
    assert (ticket.status, ticket.assignee, ticket.claimed_at) == ("escalated", AGENT2, T0)
    [escalation] = ticket.escalations
    assert (escalation.channel, escalation.escalated_by) == (ENG, AGENT)


def test_escalating_a_waiting_ticket(session: Session, desk: Desk) -> None:
    ticket = claimed(session, status=TicketStatus.WAITING_ON_CUSTOMER.value)
    assert do_escalate(session, desk, ticket).done
    assert reload(session, ticket).status == "escalated"


@pytest.mark.parametrize(
    ("fields", "agent", "external", "refusal"),
    [
        ({}, NOT_AGENT, False, Refusal.NOT_AGENT),
        ({}, AGENT, True, Refusal.EXTERNAL),
        ({"status": "resolved", "assignee": AGENT}, AGENT, False, Refusal.ALREADY_RESOLVED),
        ({"status": "closed", "assignee": AGENT}, AGENT, False, Refusal.CLOSED),
    ],
)
def test_escalate_refusals_change_nothing(
    session: Session,
    desk: Desk,
    fields: dict[str, Any],
    agent: str,
    external: bool,
    refusal: Refusal,
) -> None:
    ticket = make_ticket(session, **fields)
    mark = last_row_id(session)

    result = do_escalate(session, desk, ticket, agent=agent, external=external)

    assert result == EscalationResult(False, ticket.id, refusal=refusal)
    assert reload(session, ticket).status == fields.get("status", "open")
    assert EscalationRepository(session).for_ticket(ticket.id) == []
    assert (log(session, ticket), rows_after(session, mark)) == ([], [])


def test_escalating_a_merged_ticket_is_refused(session: Session, desk: Desk) -> None:
    survivor = make_ticket(session)
    merged = make_ticket(session, merged_into_id=survivor.id, status="closed")
    merged_open = make_ticket(session, merged_into_id=survivor.id)

    for ticket in (merged, merged_open):
        result = do_escalate(session, desk, ticket)
        assert result == EscalationResult(False, ticket.id, refusal=Refusal.MERGED)
    assert live(session, merged) == live(session, merged_open) == []


def test_escalating_without_targets_is_refused(session: Session) -> None:
    desk = desk_with(engineering=[])
    ticket = make_ticket(session)

    result = do_escalate(session, desk, ticket, target="engineering:default")

    assert result == EscalationResult(False, ticket.id, refusal=Refusal.NO_ESCALATION_TARGETS)


def test_invalid_answers_escalate_nothing(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session)
    mark = last_row_id(session)

    result = do_escalate(session, desk, ticket, summary="  ", target="engineering:Mobile")

    assert result == EscalationResult(
        False,
        ticket.id,
        errors={
            "target": "That team is no longer in the desk's config; choose another.",
            "summary": "Say in a line what engineering should look at.",
        },
    )
    assert reload(session, ticket).status == "open"
    assert (log(session, ticket), rows_after(session, mark)) == ([], [])


def test_two_engineering_teams_at_once(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session, product="API")
    default = escalated(session, desk, ticket, target="engineering:default")
    api = escalated(session, desk, ticket, target="engineering:API", at=minutes(2))

    assert live(session, ticket) == [default.id, api.id]
    assert (default.channel, api.channel) == (ENG, ENG_API)
    assert do_escalate(session, desk, ticket, target="engineering:API").errors == {
        "target": f"{ticket.ref} is already with API engineering: use Reply to engineering, "
        "or choose another team."
    }

    assert press(session, desk, EngineeringStep.FIXED, default, at=minutes(5)).done
    assert reload(session, ticket).status == "escalated"
    assert live(session, ticket) == [api.id]

    assert press(session, desk, EngineeringStep.FIXED, api, at=minutes(6)).done
    ticket = reload(session, ticket)
    assert (ticket.status, ticket.assignee) == ("claimed", AGENT)
    assert live(session, ticket) == []


# --- the escalate emoji ---------------------------------------------------------------------------


def test_escalate_by_reaction_uses_the_defaults_once(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session, product="API", priority="urgent")
    assert ticket.source_ts is not None

    def react(user: str = AGENT) -> EscalationResult | None:
        return escalate_by_reaction(
            session, desk, channel=HELP, ts=ticket.source_ts or "", user=user, at=minutes(2)
        )

    result = react()
    assert result is not None and result.done
    [escalation] = EscalationRepository(session).for_ticket(ticket.id)
    assert (escalation.target, escalation.severity, escalation.summary) == (
        "API",
        "sev1",
        "Export to CSV times out",
    )
    assert log(session, ticket)[-1][3]["via"] == "reaction"

    assert react() == EscalationResult(False, ticket.id)  # a second emoji changes nothing
    assert react(NOT_AGENT) == EscalationResult(False, ticket.id, refusal=Refusal.NOT_AGENT)
    assert len(EscalationRepository(session).for_ticket(ticket.id)) == 1
    assert (
        escalate_by_reaction(session, desk, channel=HELP, ts="1.000001", user=AGENT, at=minutes(2))
        is None
    )


def test_escalate_by_reaction_with_a_long_description(session: Session, desk: Desk) -> None:
    """An emoji can't show the modal's errors: what the ticket says must fit the escalation."""
    description = "Export to CSV times out\n" + "Step. " * 600  # longer than the card quotes
    ticket = make_ticket(session, product="API", description=description)

    result = escalate_by_reaction(
        session, desk, channel=HELP, ts=ticket.source_ts or "", user=AGENT, at=minutes(2)
    )

    assert result is not None and result.errors == {}
    assert result.done
    [escalation] = EscalationRepository(session).for_ticket(ticket.id)
    assert 0 < len(escalation.steps) <= MAX_STEPS
    assert escalation.steps.startswith("Export to CSV times out\nStep. ")


# --- engineering's buttons ------------------------------------------------------------------------


def test_take_records_who_and_when(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session)
    escalation = escalated(session, desk, ticket)
    mark = sent(session)
    before = len(log(session, ticket))

    result = press(session, desk, EngineeringStep.TAKE, escalation, at=minutes(5))

    assert result == StepResult(True, escalation.id)
    assert (escalation.state, escalation.taken_by, escalation.taken_at) == (
        "taken",
        ENGINEER,
        minutes(5),
    )
    assert escalation.first_response_at == minutes(5)
    assert log(session, ticket)[before:] == [
        (EventKind.ESCALATION_TAKEN, ENGINEER, minutes(5), ids(escalation, previous=None)),
        (EventKind.ENGINEERING_RESPONDED, ENGINEER, minutes(5), ids(escalation)),
    ]
    assert rows_after(session, mark) == [
        (
            "chat.postMessage",
            Purpose.ESCALATION_ROOM,
            ticket.id,
            room(escalation, "taken", {"previous": None}),
        ),
        ("chat.update", Purpose.ESCALATION_UPDATE, ticket.id, {"_escalation": escalation.id}),
        ("chat.update", Purpose.CARD_UPDATE, ticket.id, {}),
    ]
    assert reload(session, ticket).status == "escalated"


def test_take_twice_is_one_take_and_another_engineer_takes_over(
    session: Session, desk: Desk
) -> None:
    ticket = make_ticket(session)
    escalation = escalated(session, desk, ticket)
    press(session, desk, EngineeringStep.TAKE, escalation, at=minutes(5))
    mark = sent(session)

    again = press(session, desk, EngineeringStep.TAKE, escalation, at=minutes(5.5))

    assert again == StepResult(True, escalation.id)
    assert kinds(session, ticket).count(EventKind.ESCALATION_TAKEN) == 1
    assert escalation.taken_at == minutes(5)
    assert rows_after(session, mark) == []

    over = press(session, desk, EngineeringStep.TAKE, escalation, user=ENGINEER2, at=minutes(6))

    assert over == StepResult(True, escalation.id)
    assert (escalation.taken_by, escalation.taken_at) == (ENGINEER2, minutes(6))
    assert log(session, ticket)[-1] == (
        EventKind.ESCALATION_TAKEN,
        ENGINEER2,
        minutes(6),
        ids(escalation, previous=ENGINEER),
    )
    assert kinds(session, ticket).count(EventKind.ENGINEERING_RESPONDED) == 1
    assert escalation.first_response_at == minutes(5)
    assert rows_after(session, mark)[0][3] == room(escalation, "taken", {"previous": ENGINEER})


def test_need_info_is_debounced_for_a_minute(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session)
    escalation = escalated(session, desk, ticket)
    mark = sent(session)

    first = press(session, desk, EngineeringStep.NEED_INFO, escalation, at=minutes(5))
    double = press(session, desk, EngineeringStep.NEED_INFO, escalation, at=minutes(5.5))

    assert first == double == StepResult(True, escalation.id)
    assert escalation.info_requested_at == minutes(5)
    assert escalation.state == "open"  # asking is not taking
    assert [e for e in log(session, ticket) if e[0] == EventKind.INFO_REQUESTED] == [
        (EventKind.INFO_REQUESTED, ENGINEER, minutes(5), ids(escalation))
    ]
    assert [r for r in rows_after(session, mark) if r[1] == Purpose.ESCALATION_ROOM] == [
        (
            "chat.postMessage",
            Purpose.ESCALATION_ROOM,
            ticket.id,
            room(escalation, "info_requested", {"author": ENGINEER}),
        )
    ]

    later = press(session, desk, EngineeringStep.NEED_INFO, escalation, at=minutes(6.1))

    assert later == StepResult(True, escalation.id)
    assert escalation.info_requested_at == minutes(6.1)
    assert kinds(session, ticket).count(EventKind.INFO_REQUESTED) == 2
    assert kinds(session, ticket).count(EventKind.ENGINEERING_RESPONDED) == 1


def test_fixed_hands_the_ticket_back_once(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session)
    escalation = escalated(session, desk, ticket)
    press(session, desk, EngineeringStep.TAKE, escalation, at=minutes(5))
    mark = sent(session)

    result = press(session, desk, EngineeringStep.FIXED, escalation, at=minutes(8))

    assert result == StepResult(True, escalation.id)
    assert (escalation.state, escalation.fixed_by, escalation.fixed_at) == (
        "fixed",
        ENGINEER,
        minutes(8),
    )
    ticket = reload(session, ticket)
    assert (ticket.status, ticket.assignee) == ("claimed", AGENT)
    assert log(session, ticket)[-1] == (
        EventKind.ESCALATION_FIXED,
        ENGINEER,
        minutes(8),
        ids(escalation),
    )
    assert rows_after(session, mark) == [
        ("chat.postMessage", Purpose.ESCALATION_ROOM, ticket.id, room(escalation, "fixed")),
        ("chat.update", Purpose.ESCALATION_UPDATE, ticket.id, {"_escalation": escalation.id}),
        ("chat.update", Purpose.CARD_UPDATE, ticket.id, {}),
    ]
    mark, before = sent(session), log(session, ticket)

    assert press(session, desk, EngineeringStep.FIXED, escalation, at=minutes(9)) == StepResult(
        True, escalation.id
    )
    assert press(session, desk, EngineeringStep.TAKE, escalation, user=ENGINEER2).done
    assert (escalation.fixed_at, escalation.taken_by, escalation.state) == (
        minutes(8),
        ENGINEER,
        "fixed",
    )
    assert (log(session, ticket), rows_after(session, mark)) == (before, [])


def test_fixed_gives_an_unheld_ticket_to_whoever_escalated_it(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session)
    escalation = escalated(session, desk, ticket)
    ticket.assignee = None  # nobody holds it any more
    session.flush()

    press(session, desk, EngineeringStep.FIXED, escalation, at=minutes(8))

    ticket = reload(session, ticket)
    assert (ticket.status, ticket.assignee, ticket.claimed_at) == ("claimed", AGENT, minutes(8))


def test_first_response_is_the_earliest_of_button_and_reply(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session)
    escalation = escalated(session, desk, ticket)

    press(session, desk, EngineeringStep.TAKE, escalation, at=minutes(5))
    # A reply written at 4 minutes, its event delivered after the Take.
    engineer_says(session, desk, escalation, at=minutes(4))
    engineer_says(session, desk, escalation, at=minutes(7))

    assert escalation.first_response_at == minutes(4)
    assert kinds(session, ticket).count(EventKind.ENGINEERING_RESPONDED) == 1

    other = escalated(session, desk, ticket, target="engineering:default")
    engineer_says(session, desk, other, at=minutes(3))
    press(session, desk, EngineeringStep.TAKE, other, at=minutes(6))
    assert other.first_response_at == minutes(3)


def test_buttons_refused(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session)
    escalation = escalated(session, desk, ticket)
    mark = sent(session)
    before = log(session, ticket)

    external = press(
        session,
        desk,
        EngineeringStep.TAKE,
        escalation,
        user_is_external=True,
        reply_channel=ENG_API,
    )
    unknown = press(session, desk, EngineeringStep.FIXED, escalation.id + 100)

    assert external == StepResult(False, escalation.id, Refusal.EXTERNAL)
    assert unknown == StepResult(False, None, Refusal.NO_ESCALATION)
    assert (escalation.state, escalation.taken_by) == ("open", None)
    assert log(session, ticket) == before
    notices = rows_after(session, mark)
    assert [(method, purpose) for method, purpose, _, _ in notices] == [
        ("chat.postEphemeral", Purpose.NOTICE),
        ("chat.postMessage", Purpose.NOTICE),  # no channel to answer in: a DM
    ]
    ephemeral, direct = notices[0][3], notices[1][3]
    assert (ephemeral["channel"], ephemeral["user"], ephemeral["thread_ts"]) == (
        ENG_API,
        ENGINEER,
        escalation.card_ts,
    )
    assert direct["channel"] == ENGINEER


@pytest.mark.parametrize("step", list(EngineeringStep))
def test_buttons_of_a_withdrawn_escalation_are_refused(
    session: Session, desk: Desk, step: EngineeringStep
) -> None:
    ticket = make_ticket(session)
    escalation = escalated(session, desk, ticket)
    assert withdraw(session, desk, ticket, [escalation]).done
    before = log(session, ticket)

    result = press(session, desk, step, escalation, at=minutes(10), reply_channel=ENG_API)

    assert result == StepResult(False, escalation.id, Refusal.ESCALATION_OVER)
    assert escalation.state == "withdrawn" and escalation.fixed_at is None
    assert log(session, ticket) == before
    assert reload(session, ticket).status == "claimed"


# --- engineers' replies ---------------------------------------------------------------------------


def test_a_reply_in_the_escalation_thread_is_relayed_once(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session)
    escalation = escalated(session, desk, ticket)
    mark = sent(session)
    before = len(log(session, ticket))
    ts = datetime_to_slack_ts(minutes(7))

    assert engineer_says(session, desk, escalation, at=minutes(7)) == escalation.id

    assert log(session, ticket)[before:] == [
        (EventKind.ENGINEERING_REPLIED, ENGINEER, minutes(7), ids(escalation, ts=ts)),
        (EventKind.ENGINEERING_RESPONDED, ENGINEER, minutes(7), ids(escalation)),
    ]
    assert escalation.first_response_at == minutes(7)
    relayed = [
        (
            "chat.postMessage",
            Purpose.ESCALATION_ROOM,
            ticket.id,
            room(escalation, "engineer_replied", {"author": ENGINEER, "text": "Looking into it"}),
        )
    ]
    assert rows_after(session, mark) == relayed
    [message] = EscalationRepository(session).messages(escalation.id)
    assert (message.direction, message.channel, message.ts, message.author, message.text) == (
        "from_engineering",
        ENG_API,
        ts,
        ENGINEER,
        "Looking into it",
    )
    assert message.at == minutes(7)

    # Slack retries the event: nothing new.
    assert engineer_says(session, desk, escalation, at=minutes(7)) == escalation.id
    assert len(log(session, ticket)) == before + 2
    assert rows_after(session, mark) == relayed
    assert len(EscalationRepository(session).messages(escalation.id)) == 1

    engineer_says(session, desk, escalation, at=minutes(8), text="Found it")
    assert kinds(session, ticket).count(EventKind.ENGINEERING_REPLIED) == 2
    assert kinds(session, ticket).count(EventKind.ENGINEERING_RESPONDED) == 1


def test_messages_outside_escalation_threads_are_not_relayed(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session)
    escalation = escalated(session, desk, ticket)
    card_ts = escalation.card_ts
    mark = sent(session)
    ts = datetime_to_slack_ts(minutes(7))

    def message(channel: str, thread_ts: str | None, at: str = ts) -> SlackMessage:
        return SlackMessage(channel=channel, ts=at, user=ENGINEER, text="Hi", thread_ts=thread_ts)

    for outside in (
        message(ENG_API, None),  # top level in the engineering channel
        message(ENG_API, card_ts, at=card_ts or ""),  # the card itself
        message(ENG_API, "1763920999.000100"),  # another thread there
        message(ENG, card_ts),  # the same ts in another channel
        message(HELP, ticket.source_ts),  # the ticket's own thread
    ):
        assert relay_from_engineering(session, desk, outside) is None, outside

    assert rows_after(session, mark) == []
    assert EscalationRepository(session).messages(escalation.id) == []


# --- Reply to engineering -------------------------------------------------------------------------


def test_reply_to_engineering_needs_a_live_engineering_escalation(
    session: Session, tier2_desk: Desk
) -> None:
    never = make_ticket(session)
    second_line_only = make_ticket(session)
    escalated(session, tier2_desk, second_line_only, target="second_line:tier2")
    fixed = make_ticket(session)
    press(session, tier2_desk, EngineeringStep.FIXED, escalated(session, tier2_desk, fixed))

    for ticket in (never, second_line_only, fixed):
        assert reply(session, tier2_desk, ticket, "Hi") == ReplyResult(
            False, ticket.id, refusal=Refusal.NOT_ESCALATED
        )
    assert reply(session, tier2_desk, fixed, "Hi", agent=NOT_AGENT).refusal == Refusal.NOT_AGENT


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (None, "Write what engineering should read."),
        (" \n ", "Write what engineering should read."),
        ("x" * 2801, "Keep it under 2800 characters."),
    ],
)
def test_reply_to_engineering_errors(
    session: Session, desk: Desk, text: str | None, error: str
) -> None:
    ticket = make_ticket(session)
    escalated(session, desk, ticket)
    mark = sent(session)

    assert reply(session, desk, ticket, text) == ReplyResult(
        False, ticket.id, errors={"reply": error}
    )
    assert rows_after(session, mark) == []


def test_reply_to_the_only_live_escalation(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session)
    escalation = escalated(session, desk, ticket)
    mark = sent(session)

    result = reply(session, desk, ticket, "  Account 42 <!here>\n", at=minutes(8))

    assert result == ReplyResult(True, ticket.id)
    [message] = EscalationRepository(session).messages(escalation.id)
    assert (message.direction, message.author, message.text, message.at) == (
        "to_engineering",
        AGENT,
        "Account 42 <!here>",
        minutes(8),
    )
    assert (message.channel, message.ts) == (None, None)
    said = {"author": AGENT, "text": "Account 42 <!here>"}
    assert rows_after(session, mark) == [
        (
            "chat.postMessage",
            Purpose.ENGINEERING_THREAD,
            ticket.id,
            room(escalation, "agent_reply", said),
        ),
    ]  # the room's "Sent to …" copy waits for Slack to take the post
    assert log(session, ticket)[-1] == (
        EventKind.REPLIED_TO_ENGINEERING,
        AGENT,
        minutes(8),
        ids(escalation),
    )


def test_reply_with_two_live_escalations_needs_a_choice(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session)
    default = escalated(session, desk, ticket, target="engineering:default")
    api = escalated(session, desk, ticket, target="engineering:API")
    choose = ReplyResult(False, ticket.id, errors={"escalation": "Choose an open escalation."})

    assert reply(session, desk, ticket, "Hi") == choose
    assert reply(session, desk, ticket, "Hi", escalation_id=api.id + 100) == choose
    assert EscalationRepository(session).messages(api.id) == []

    assert reply(session, desk, ticket, "Hi API", escalation_id=api.id).done
    assert [m.text for m in EscalationRepository(session).messages(api.id)] == ["Hi API"]
    assert EscalationRepository(session).messages(default.id) == []

    press(session, desk, EngineeringStep.FIXED, api)
    assert reply(session, desk, ticket, "Hi", escalation_id=api.id) == choose  # no longer live
    assert reply(session, desk, ticket, "Hi default").done  # the only one left
    assert [m.text for m in EscalationRepository(session).messages(default.id)] == ["Hi default"]


# --- De-escalate ----------------------------------------------------------------------------------


def test_withdraw_an_escalation(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session)
    escalation = escalated(session, desk, ticket)
    mark = sent(session)

    result = withdraw(session, desk, ticket, [escalation], "  Customer found a workaround ")

    assert result == ReplyResult(True, ticket.id)
    assert (escalation.state, escalation.closed_by, escalation.closed_at) == (
        "withdrawn",
        AGENT,
        minutes(9),
    )
    assert escalation.close_note == "Customer found a workaround"
    ticket = reload(session, ticket)
    assert (ticket.status, ticket.assignee) == ("claimed", AGENT)
    assert log(session, ticket)[-1] == (
        EventKind.DE_ESCALATED,
        AGENT,
        minutes(9),
        ids(escalation),
    )
    [note] = NoteRepository(session).for_ticket(ticket.id)
    assert (note.author, note.text, note.created_at) == (
        AGENT,
        "Customer found a workaround",
        minutes(9),
    )
    assert rows_after(session, mark) == [
        (
            "chat.postMessage",
            Purpose.ENGINEERING_THREAD,
            ticket.id,
            room(escalation, "withdrawn"),
        ),
        ("chat.update", Purpose.ESCALATION_UPDATE, ticket.id, {"_escalation": escalation.id}),
        (
            "chat.postMessage",
            Purpose.ESCALATION_ROOM,
            ticket.id,
            room(escalation, "de_escalated"),
        ),
        ("chat.update", Purpose.CARD_UPDATE, ticket.id, {}),
    ]


def test_withdraw_one_of_two_keeps_the_ticket_escalated(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session)
    default = escalated(session, desk, ticket, target="engineering:default")
    api = escalated(session, desk, ticket, target="engineering:API")

    assert withdraw(session, desk, ticket, [default]).done

    assert default.close_note is None
    assert NoteRepository(session).for_ticket(ticket.id) == []
    assert live(session, ticket) == [api.id]
    assert reload(session, ticket).status == "escalated"

    assert withdraw(session, desk, ticket, [api]).done
    assert reload(session, ticket).status == "claimed"


def test_de_escalate_errors_and_refusals(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session)
    never = make_ticket(session)
    escalation = escalated(session, desk, ticket)
    fixed = escalated(session, desk, ticket, target="engineering:default")
    press(session, desk, EngineeringStep.FIXED, fixed)
    choose = {"escalations": "Choose an open escalation."}

    assert withdraw(session, desk, ticket, []).errors == choose
    assert withdraw(session, desk, ticket, [fixed]).errors == choose
    assert withdraw(session, desk, ticket, [escalation], "n" * 2001).errors == {
        "note": "Keep the note under 2000 characters."
    }
    assert withdraw(session, desk, never, []) == ReplyResult(
        False, never.id, refusal=Refusal.NOT_ESCALATED
    )
    assert withdraw(session, desk, ticket, [escalation], agent=NOT_AGENT).refusal == (
        Refusal.NOT_AGENT
    )
    assert escalation.state == "open"
    assert reload(session, ticket).status == "escalated"


# --- the second line ------------------------------------------------------------------------------


def test_escalate_to_the_second_line_moves_the_ticket_to_its_queue(
    session: Session, tier2_desk: Desk
) -> None:
    ticket = claimed(session)
    mark = last_row_id(session)

    result = do_escalate(session, tier2_desk, ticket, target="second_line:tier2", at=minutes(2))

    assert result.done
    escalation = EscalationRepository(session).get(result.escalation_id or 0)
    assert escalation is not None
    assert (escalation.kind, escalation.target, escalation.channel, escalation.state) == (
        "second_line",
        "tier2",
        None,
        "open",
    )
    assert (escalation.from_queue, escalation.from_assignee) == ("general", AGENT)
    ticket = reload(session, ticket)
    assert (ticket.queue, ticket.assignee, ticket.claimed_at) == ("tier2", None, None)
    assert (ticket.status, ticket.escalated) == ("escalated", True)
    assert log(session, ticket)[-1][3] == {
        "via": "modal",
        "escalation": escalation.id,
        "kind": "second_line",
        "target": "tier2",
        "severity": "sev2",
    }
    assert rows_after(session, mark) == [
        (
            "chat.postMessage",
            Purpose.ESCALATION_ROOM,
            ticket.id,
            room(escalation, "escalated_second_line", {"agents": [AGENT2]}),
        ),
        ("chat.update", Purpose.CARD_UPDATE, ticket.id, {}),
    ]


def test_second_line_room_notice_names_the_lead_or_every_agent(session: Session) -> None:
    with_lead = desk_with(queues=[{**TIER2, "lead": "U0LEAD"}])
    everyone = desk_with(queues=[{"name": "tier2"}])

    for desk, agents in ((with_lead, ["U0LEAD"]), (everyone, [AGENT, AGENT2])):
        ticket = make_ticket(session)
        mark = last_row_id(session)
        escalation = escalated(session, desk, ticket, target="second_line:tier2")
        assert rows_after(session, mark)[0][3] == room(
            escalation, "escalated_second_line", {"agents": agents}
        )


def test_second_line_with_auto_assignment_hands_the_ticket_out(session: Session) -> None:
    desk = desk_with(queues=[{**TIER2, "auto_assign": "round_robin"}])
    ticket = make_ticket(session)  # unassigned: whoever escalates is where it goes back
    mark = last_row_id(session)

    escalation = escalated(session, desk, ticket, target="second_line:tier2", at=minutes(2))

    ticket = reload(session, ticket)
    assert (ticket.queue, ticket.assignee, ticket.claimed_at, ticket.status) == (
        "tier2",
        AGENT2,
        minutes(2),
        "escalated",
    )
    assert (escalation.state, escalation.taken_by, escalation.taken_at) == (
        "taken",
        AGENT2,
        minutes(2),
    )
    assert (escalation.from_queue, escalation.from_assignee) == ("general", AGENT)
    assert rows_after(session, mark)[0][3] == room(
        escalation, "escalated_second_line", {"agents": []}
    )


def test_pass_back_from_the_second_line(session: Session, tier2_desk: Desk) -> None:
    desk = tier2_desk
    ticket = claimed(session)
    escalation = escalated(session, desk, ticket, target="second_line:tier2")
    mark = sent(session)

    assert withdraw(session, desk, ticket, [escalation], "   ", agent=AGENT2).errors == {
        "note": "Say what the second line found: first line answers the requester."
    }
    assert escalation.state == "open" and rows_after(session, mark) == []

    note = "Fixed the customer's SSO mapping; tell them to log in again."
    result = withdraw(session, desk, ticket, [escalation], note, agent=AGENT2, at=minutes(10))

    assert result == ReplyResult(True, ticket.id)
    assert (escalation.state, escalation.closed_by, escalation.closed_at) == (
        "passed_back",
        AGENT2,
        minutes(10),
    )
    assert escalation.close_note == note
    ticket = reload(session, ticket)
    assert (ticket.queue, ticket.assignee, ticket.status, ticket.claimed_at) == (
        "general",
        AGENT,
        "claimed",
        minutes(10),
    )
    assert log(session, ticket)[-1] == (
        EventKind.PASSED_BACK,
        AGENT2,
        minutes(10),
        ids(escalation, note=note),
    )
    assert [(n.author, n.text) for n in NoteRepository(session).for_ticket(ticket.id)] == [
        (AGENT2, note)
    ]
    assert rows_after(session, mark) == [
        (
            "chat.postMessage",
            Purpose.ESCALATION_ROOM,
            ticket.id,
            room(escalation, "passed_back"),
        ),
        ("chat.update", Purpose.CARD_UPDATE, ticket.id, {}),
    ]
    assert press(session, desk, EngineeringStep.TAKE, escalation).refusal == (
        Refusal.ESCALATION_OVER
    )


def test_pass_back_to_someone_no_longer_an_agent_leaves_it_with_the_queue(
    session: Session, tier2_desk: Desk
) -> None:
    ticket = claimed(session, queue="billing")
    escalation = escalated(session, tier2_desk, ticket, target="second_line:tier2")
    escalation.from_assignee = "U0LEFT"  # has left the desk since
    session.flush()

    assert withdraw(session, tier2_desk, ticket, [escalation], "Done", agent=AGENT2).done

    ticket = reload(session, ticket)
    assert (ticket.queue, ticket.assignee, ticket.status) == ("billing", None, "open")


# --- the whole path -------------------------------------------------------------------------------


def test_the_event_log_tells_the_whole_story(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session, product="API")
    escalation = escalated(session, desk, ticket, at=minutes(1))
    press(session, desk, EngineeringStep.TAKE, escalation, at=minutes(2))
    engineer_says(session, desk, escalation, at=minutes(3), text="Which account?")
    reply(session, desk, ticket, "Account 42", at=minutes(4))
    engineer_says(session, desk, escalation, at=minutes(5), text="Deployed a fix")
    press(session, desk, EngineeringStep.FIXED, escalation, at=minutes(6))

    assert [(kind, actor, at) for kind, actor, at, _ in log(session, ticket)] == [
        (EventKind.ESCALATED, AGENT, minutes(1)),
        (EventKind.ESCALATION_TAKEN, ENGINEER, minutes(2)),
        (EventKind.ENGINEERING_RESPONDED, ENGINEER, minutes(2)),
        (EventKind.ENGINEERING_REPLIED, ENGINEER, minutes(3)),
        (EventKind.REPLIED_TO_ENGINEERING, AGENT, minutes(4)),
        (EventKind.ENGINEERING_REPLIED, ENGINEER, minutes(5)),
        (EventKind.ESCALATION_FIXED, ENGINEER, minutes(6)),
    ]
    assert (escalation.escalated_at, escalation.first_response_at, escalation.fixed_at) == (
        minutes(1),
        minutes(2),
        minutes(6),
    )
    assert [
        (m.direction, m.text) for m in EscalationRepository(session).messages(escalation.id)
    ] == [
        ("from_engineering", "Which account?"),
        ("to_engineering", "Account 42"),
        ("from_engineering", "Deployed a fix"),
    ]
    ticket = reload(session, ticket)
    assert (ticket.status, ticket.assignee) == ("claimed", AGENT)


# --- how the rows are sent ------------------------------------------------------------------------


def prepare(session: Session, desk: Desk, row: OutboxMessage) -> SlackCall | None:
    return DeliveryHooks(desk.config, desk.clock).prepare(session, row)


def test_the_escalation_card_goes_to_engineering_escaped(session: Session, desk: Desk) -> None:
    ticket = make_ticket(
        session, product="API", description="Export fails <!channel>\nAsk <@U999> & <#C0SECRET>"
    )
    answers = prefilled(session, desk, ticket)
    result = escalate(
        session, desk, answers, ticket_id=ticket.id, agent=AGENT, at=minutes(1), via=Via.MODAL
    )
    assert result.done
    escalation = EscalationRepository(session).get(result.escalation_id or 0)
    assert escalation is not None
    hooks = DeliveryHooks(desk.config, desk.clock)
    row = row_of(session, Purpose.ESCALATION_CARD)

    # First the link to the ticket's thread (where relays land), from the same row.
    link = hooks.prepare(session, row)
    assert link == SlackCall("chat.getPermalink", {"channel": HELP, "message_ts": ticket.source_ts})
    follow_up = hooks.delivered(session, row, {"ok": True, "permalink": LINK}, now=minutes(60))
    assert follow_up is not None and follow_up.method == "chat.postMessage"
    assert escalation.room_link == LINK
    row.method = follow_up.method

    card = hooks.prepare(session, row)

    assert card is not None and card.method == "chat.postMessage"
    assert card.payload["channel"] == ENG_API and card.payload["unfurl_links"] is False
    said = json.dumps(card.payload)
    for raw in ("<!channel>", "<@U999>", "<#C0SECRET>"):
        assert raw not in said
    assert "&lt;!channel&gt;" in said and "&lt;@U999&gt;" in said and "&amp;" in said
    assert LINK in said and ticket.ref in said

    hooks.delivered(session, row, {"ok": True, "channel": ENG_API, "ts": CARD_TS}, now=minutes(60))
    assert escalation.card_ts == CARD_TS


def test_room_rows_of_an_internal_ticket_go_to_its_thread(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session)
    escalation = escalated(session, desk, ticket)
    mark = sent(session)
    engineer_says(session, desk, escalation, at=minutes(3), text="Done <!here>")

    call = prepare(session, desk, row_of(session, Purpose.ESCALATION_ROOM, after=mark))

    assert call is not None
    assert (call.payload["channel"], call.payload["thread_ts"]) == (HELP, ticket.source_ts)
    assert "<!here>" not in call.payload["text"] and "&lt;!here&gt;" in call.payload["text"]


def test_customer_tickets_hear_about_escalations_in_triage_only(
    session: Session, desk: Desk
) -> None:
    ticket = customer_ticket(session, product="API")
    escalation = escalated(session, desk, ticket)
    engineer_says(session, desk, escalation, at=minutes(3), text="Found it")
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.purpose == Purpose.ESCALATION_ROOM)
        .order_by(OutboxMessage.id)
    ).all()
    link = prepare(session, desk, row_of(session, Purpose.ESCALATION_CARD))

    assert len(rows) == 2
    for row in rows:
        call = prepare(session, desk, row)
        assert call is not None
        assert (call.payload["channel"], call.payload["thread_ts"]) == (TRIAGE, TRIAGE_CARD_TS)
    assert link == SlackCall("chat.getPermalink", {"channel": TRIAGE, "message_ts": TRIAGE_CARD_TS})


def test_escalation_rows_are_never_sent_into_a_customer_channel(
    session: Session, desk: Desk
) -> None:
    ticket = customer_ticket(session)
    escalation = escalated(session, desk, ticket)
    reply(session, desk, ticket, "Hi")
    hooks = DeliveryHooks(desk.config, desk.clock)
    for purpose in (
        Purpose.ESCALATION_CARD,
        Purpose.ESCALATION_UPDATE,
        Purpose.ENGINEERING_THREAD,
        Purpose.ESCALATION_ROOM,
    ):
        row = OutboxMessage(method="chat.postMessage", payload={}, purpose=purpose)
        for channel in (ACME, ticket.source_channel):
            call = SlackCall("chat.postMessage", {"channel": channel, "text": "x"})
            assert not hooks._may_send(session, row, call), (purpose, channel)
        assert hooks._may_send(session, row, SlackCall("chat.postMessage", {"channel": ENG_API}))

    # A ticket whose room would be the customer's channel (its card landed there): dropped.
    ticket.card_channel, ticket.card_ts = ACME, ticket.source_ts
    session.flush()
    for row in OutboxRepository(session).pending():
        if row.purpose == Purpose.ESCALATION_ROOM:
            assert prepare(session, desk, row) is None
    assert escalation.channel == ENG_API


def test_engineering_thread_rows_wait_for_the_card(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session)
    escalation = escalated(session, desk, ticket)
    reply(session, desk, ticket, "Account 42 <!everyone>")
    row = row_of(session, Purpose.ENGINEERING_THREAD)
    card_ts = escalation.card_ts

    escalation.card_ts = None
    assert prepare(session, desk, row) is None  # the card never landed

    escalation.card_ts = card_ts
    call = prepare(session, desk, row)
    assert call is not None
    assert (call.payload["channel"], call.payload["thread_ts"]) == (ENG_API, card_ts)
    assert "<!everyone>" not in call.payload["text"] and "Account 42" in call.payload["text"]


def test_a_card_with_no_room_to_link_to_is_posted_unlinked(session: Session, desk: Desk) -> None:
    """A customer ticket whose triage card never landed has no room to link: the escalation
    card is posted without the link, not as an empty call."""
    ticket = customer_ticket(session, card_channel=None, card_ts=None)
    result = do_escalate(session, desk, ticket)  # its card not landed yet (a landed one is updated)
    escalation = EscalationRepository(session).get(result.escalation_id or 0)
    assert escalation is not None

    call = prepare(session, desk, row_of(session, Purpose.ESCALATION_CARD))

    assert call is not None and call.method == "chat.postMessage"
    assert call.payload.get("channel") == ENG_API, call
    assert escalation.room_link is None


# --- merged tickets -------------------------------------------------------------------------------


def test_relays_of_a_merged_tickets_escalation_land_in_the_surviving_room(
    session: Session, desk: Desk
) -> None:
    merged = make_ticket(session, product="API")
    survivor = make_ticket(session)
    escalation = escalated(session, desk, merged)
    result = submit_merge(
        session, desk, ticket_id=merged.id, target=str(survivor.id), agent=AGENT, at=minutes(4)
    )
    assert result.done, result
    mark = sent(session)

    assert engineer_says(session, desk, escalation, at=minutes(6), text="Fixed on our side") == (
        escalation.id
    )

    [row] = [r for r in rows_after(session, mark) if r[1] == Purpose.ESCALATION_ROOM]
    assert row[2] == survivor.id
    assert EventKind.ENGINEERING_REPLIED in kinds(session, survivor)
    assert EventKind.ENGINEERING_REPLIED not in kinds(session, reload(session, merged))
    call = prepare(session, desk, row_of(session, Purpose.ESCALATION_ROOM, after=mark))
    assert call is not None
    assert (call.payload["channel"], call.payload["thread_ts"]) == (HELP, survivor.source_ts)


def test_relays_follow_merged_into_set_by_hand(session: Session, desk: Desk) -> None:
    survivor = make_ticket(session)
    merged = make_ticket(session)
    escalation = escalated(session, desk, merged)
    merged.merged_into_id, merged.status = survivor.id, "closed"
    session.flush()
    mark = sent(session)

    engineer_says(session, desk, escalation, at=minutes(6))
    press(session, desk, EngineeringStep.TAKE, escalation, at=minutes(7))

    room_rows = [r for r in rows_after(session, mark) if r[1] == Purpose.ESCALATION_ROOM]
    assert [r[2] for r in room_rows] == [survivor.id, survivor.id]
    assert kinds(session, survivor) == [
        EventKind.ENGINEERING_REPLIED,
        EventKind.ENGINEERING_RESPONDED,
        EventKind.ESCALATION_TAKEN,
    ]
    for row in OutboxRepository(session).pending():
        if row.purpose == Purpose.ESCALATION_ROOM:
            call = prepare(session, desk, row)
            assert call is not None
            assert (call.payload["channel"], call.payload["thread_ts"]) == (
                HELP,
                survivor.source_ts,
            )


def test_a_merged_tickets_escalation_carries_on_with_the_survivor(
    session: Session, desk: Desk
) -> None:
    merged = make_ticket(session)
    survivor = claimed(session)
    escalation = escalated(session, desk, merged)

    assert submit_merge(
        session, desk, ticket_id=merged.id, target=str(survivor.id), agent=AGENT, at=minutes(4)
    ).done

    assert live(session, survivor) == [escalation.id]
    assert reload(session, survivor).status == "escalated"
    assert reply(session, desk, survivor, "More detail").done
    assert press(session, desk, EngineeringStep.FIXED, escalation, at=minutes(9)).done
    assert reload(session, survivor).status == "claimed"


def test_the_room_hears_sent_only_when_slack_took_the_reply(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session)
    escalation = escalated(session, desk, ticket)
    escalation.card_ts = CARD_TS
    hooks = DeliveryHooks(desk.config, desk.clock)
    said = {"author": AGENT, "text": "Account 42"}

    reply(session, desk, ticket, "Account 42")
    row = row_of(session, Purpose.ENGINEERING_THREAD)
    mark = sent(session)
    hooks.delivered(session, row, {"ok": True, "ts": "9.9"}, now=minutes(60))
    [copy] = rows_after(session, mark)
    assert copy[1:] == (
        Purpose.ESCALATION_ROOM,
        ticket.id,
        room(escalation, "sent_to_engineering", said),
    )

    first_mark = mark
    reply(session, desk, ticket, "Account 42")
    mark = sent(session)
    row = row_of(session, Purpose.ENGINEERING_THREAD, after=first_mark)
    hooks.failed(session, row, "not_in_channel", now=minutes(60))
    [warning] = rows_after(session, mark)
    assert warning[1:] == (
        Purpose.ESCALATION_ROOM,
        ticket.id,
        room(escalation, "reply_failed", {**said, "error": "not_in_channel"}),
    )
    call = prepare(session, desk, row_of(session, Purpose.ESCALATION_ROOM, after=mark))
    assert call is not None and "could not be sent" in call.payload["text"]


# --- the ticket's status around its escalations -----------------------------------------------


def test_an_escalated_ticket_stays_escalated_when_the_requester_answers_or_reopens(
    session: Session, desk: Desk
) -> None:
    ticket = claimed(session)
    escalated(session, desk, ticket)
    ticket.status = TicketStatus.WAITING_ON_CUSTOMER.value
    session.flush()
    requester_replied(session, desk, ticket, user=REQUESTER, at=minutes(30))
    assert reload(session, ticket).status == TicketStatus.ESCALATED

    ticket.status, ticket.resolved_at = TicketStatus.RESOLVED.value, minutes(31)
    session.flush()
    requester_replied(session, desk, ticket, user=REQUESTER, at=minutes(32))
    assert reload(session, ticket).status == TicketStatus.ESCALATED


def test_fixed_brings_back_a_ticket_waiting_on_the_requester(session: Session, desk: Desk) -> None:
    ticket = claimed(session)
    escalation = escalated(session, desk, ticket)
    ticket.status = TicketStatus.WAITING_ON_CUSTOMER.value
    session.flush()

    assert press(session, desk, EngineeringStep.FIXED, escalation).done

    assert (reload(session, ticket).status, ticket.assignee) == (TicketStatus.CLAIMED, AGENT)


def test_resolving_ends_the_second_lines_escalation(session: Session) -> None:
    desk = desk_with(queues=[TIER2])
    ticket = claimed(session)
    escalation = escalated(session, desk, ticket, target="second_line:tier2")
    with_tier2 = reload(session, ticket)
    assert (with_tier2.queue, with_tier2.status) == ("tier2", TicketStatus.ESCALATED)

    resolved = perform(
        session,
        desk,
        TicketAction(ActionKind.RESOLVE, ticket.id, AGENT2, minutes(40), Via.BUTTON),
    )

    assert resolved.done
    session.flush()
    session.refresh(escalation)
    assert (escalation.state, escalation.fixed_by, escalation.fixed_at) == (
        "fixed",
        AGENT2,
        minutes(40),
    )
    assert live(session, ticket) == []


def test_pass_back_ticks_only_the_second_line(session: Session) -> None:
    desk = desk_with(queues=[TIER2])
    ticket = claimed(session)
    to_tier2 = escalated(session, desk, ticket, target="second_line:tier2")
    to_api = escalated(session, desk, ticket, target="engineering:API", agent=AGENT2)
    request = ModalRequest(form=Form.DE_ESCALATE, ticket_id=ticket.id, user=AGENT2)

    form = de_escalate_form_for(session, desk, request)

    assert form is not None and form.second_line
    assert [c.value for c in form.escalations] == [str(to_tier2.id), str(to_api.id)]
    assert list(form.checked) == [str(to_tier2.id)]
    assert reload(session, ticket).assignee is None, "the second line's ticket stays unclaimed"


def test_supports_own_words_in_the_engineering_thread_are_no_engineering_response(
    session: Session, desk: Desk
) -> None:
    ticket = claimed(session)
    escalation = escalated(session, desk, ticket)

    engineer_says(session, desk, escalation, at=minutes(12), user=AGENT, text="Screenshot")
    session.refresh(escalation)
    assert escalation.first_response_at is None
    engineer_says(session, desk, escalation, at=minutes(14))
    session.refresh(escalation)
    assert escalation.first_response_at == minutes(14)


def test_a_reply_when_the_card_never_landed_says_so_in_the_room(
    session: Session, desk: Desk
) -> None:
    ticket = claimed(session)
    escalation = escalated(session, desk, ticket)
    escalation.card_ts = None
    session.flush()
    mark = sent(session)
    assert reply(session, desk, ticket, "Account 42").done
    row = row_of(session, Purpose.ENGINEERING_THREAD, after=mark)

    assert prepare(session, desk, row) is None

    warning = row_of(session, Purpose.ESCALATION_ROOM, after=mark)
    assert warning.payload["_kind"] == "reply_failed"
    assert warning.payload["_data"]["error"] == "the escalation card was never posted"
