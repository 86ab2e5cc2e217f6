"""Editing a ticket's attributes (workflows/editing.py) against a real database: what changes,
what is logged, who may, the tag set, the rules, and the Edit modal's validation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bot.config import DeskConfig, parse_config
from storage.db import SessionFactory, create_session_factory
from storage.models import Ticket, TicketEvent, TicketTag
from storage.repositories import OutboxRepository, TicketRepository
from templates.edit_modal import build_edit_modal
from tests.conftest import TEST_CONFIG, as_told
from workflows.clock import ManualClock
from workflows.desk import Desk
from workflows.editing import (
    EditAnswers,
    EditForm,
    Form,
    ModalContext,
    ModalRequest,
    TicketEdit,
    check_edit,
    check_note,
    decode_modal_context,
    edit_form_for,
    edit_ticket,
    encode_modal_context,
    refuse_if_not_allowed,
    submit_edit,
)
from workflows.rules import normalize_tag
from workflows.triage import Refusal
from workflows.vocabulary import IssueType, Priority

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
AGENT = "U0AGENT1"
NOT_AGENT = "U0BOB"


@pytest.fixture
def session_factory(engine: Engine) -> SessionFactory:
    return create_session_factory(engine)


@pytest.fixture
def desk(desk_config: DeskConfig) -> Desk:
    return Desk(desk_config, ManualClock(NOW + timedelta(minutes=5)))


@pytest.fixture
def session(session_factory: SessionFactory) -> Iterator[Session]:
    with session_factory.begin() as session:
        yield session


def make_ticket(session: Session, **fields: Any) -> Ticket:
    values: dict[str, Any] = dict(
        source_channel="C0HELP",
        source_ts="1763900000.000100",
        intake_source="message",
        requester="U0ALICE",
        queue="general",
        status="open",
        priority="medium",
        description="The export button is greyed out",
        created_at=NOW,
        updated_at=NOW,
        departments=[],
    )
    tags = fields.pop("tags", ())
    values.update(fields)
    ticket = Ticket(**values)
    ticket.tags = [TicketTag(tag=tag) for tag in tags]
    assert TicketRepository(session).add(ticket) is not None
    return ticket


def events(session: Session, ticket: Ticket, kind: str | None = None) -> list[TicketEvent]:
    return [
        e for e in TicketRepository(session).events(ticket.id) if kind is None or e.kind == kind
    ]


def owed(session: Session) -> list[tuple[str, str | None]]:
    return [(row.method, row.purpose) for row in OutboxRepository(session).pending()]


def full_edit(ticket: Ticket, **changes: Any) -> TicketEdit:
    """An edit that keeps everything as it is, except `changes`."""
    values: dict[str, Any] = dict(
        ticket_id=ticket.id,
        priority=Priority(ticket.priority),
        issue_type=IssueType(ticket.issue_type) if ticket.issue_type else None,
        internal_priority=ticket.internal_priority,
        product=ticket.product,
        departments=tuple(ticket.departments or ()),
        users_affected=ticket.users_affected,
        site_down=ticket.site_down,
        support_type=ticket.support_type,
        client_priority=ticket.client_priority,
        tags=tuple(t.tag for t in ticket.tags),
    )
    values.update(changes)
    return TicketEdit(**values)


# --- edit_ticket -------------------------------------------------------------------------------


def test_edit_applies_changes_logs_one_event_and_refreshes_the_card(
    session: Session, desk: Desk
) -> None:
    ticket = make_ticket(session, tags=("billing", "old"), card_channel="C0HELP", card_ts="1.2")
    at = desk.clock.now()

    result = edit_ticket(
        session,
        desk,
        full_edit(
            ticket,
            priority=Priority.URGENT,
            issue_type=IssueType.TECHNICAL_ISSUE,
            internal_priority="High",
            departments=("Sales", "Engineering"),
            users_affected=250,
            site_down=True,
            tags=("billing", "export"),
        ),
        editor=AGENT,
        at=at,
    )

    assert result.done and result.refusal is None
    assert (ticket.priority, ticket.issue_type, ticket.internal_priority) == (
        "urgent",
        "technical_issue",
        "High",
    )
    assert (ticket.users_affected, ticket.site_down) == (250, True)
    assert ticket.departments == ["Sales", "Engineering"]
    assert [t.tag for t in ticket.tags] == ["billing", "export"]
    assert ticket.updated_at == at
    [edited] = events(session, ticket, "edited")
    assert (edited.actor, edited.at) == (AGENT, at)
    assert edited.data["changes"] == {
        "issue_type": {"from": None, "to": "technical_issue"},
        "priority": {"from": "medium", "to": "urgent"},
        "internal_priority": {"from": None, "to": "High"},
        "departments": {"from": [], "to": ["Sales", "Engineering"]},
        "users_affected": {"from": None, "to": 250},
        "site_down": {"from": None, "to": True},
        "tags": {"from": ["billing", "old"], "to": ["billing", "export"]},
    }
    assert result.changes == edited.data["changes"]
    assert ("chat.update", "card_update") in owed(session)


def test_edit_that_changes_nothing_records_and_posts_nothing(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session, tags=("billing",), departments=["Sales", "Product"])

    # Same values; departments in another order is still the same set.
    edit = full_edit(ticket, departments=("Product", "Sales"), tags=("Billing",))
    result = edit_ticket(session, desk, edit, editor=AGENT, at=desk.clock.now())

    assert result.done and result.changes == {}
    assert events(session, ticket, "edited") == []
    assert owed(session) == []
    assert ticket.updated_at == NOW


def test_clearing_optional_values(session: Session, desk: Desk) -> None:
    ticket = make_ticket(
        session,
        product="API",
        users_affected=3,
        site_down=False,
        support_type="Quick fix",
        tags=("a", "b"),
    )

    edit = full_edit(
        ticket, product=None, users_affected=None, site_down=None, support_type=None, tags=()
    )
    edit_ticket(session, desk, edit, editor=AGENT, at=desk.clock.now())

    assert (ticket.product, ticket.users_affected, ticket.site_down, ticket.support_type) == (
        None,
        None,
        None,
        None,
    )
    assert ticket.tags == []
    [edited] = events(session, ticket, "edited")
    assert edited.data["changes"]["tags"] == {"from": ["a", "b"], "to": []}
    assert edited.data["changes"]["site_down"] == {"from": False, "to": None}


def test_tags_are_normalized_and_kept_rows_survive_a_replace(
    session_factory: SessionFactory, desk: Desk
) -> None:
    with session_factory.begin() as session:
        ticket = make_ticket(session, tags=("keep", "drop"))
        edit = full_edit(ticket, tags=("keep", "Billing Export", "billing export"))
        edit_ticket(session, desk, edit, editor=AGENT, at=desk.clock.now())
    with session_factory.begin() as session:
        stored = TicketRepository(session).get(ticket.id)
        assert stored is not None
        assert [t.tag for t in stored.tags] == ["billing-export", "keep"]


@pytest.mark.parametrize(
    ("editor", "external", "status", "refusal"),
    [
        (NOT_AGENT, False, "open", Refusal.NOT_AGENT),
        (AGENT, True, "open", Refusal.EXTERNAL),
        (AGENT, False, "closed", Refusal.CLOSED),
    ],
)
def test_only_agents_edit_and_never_a_closed_ticket(
    session: Session, desk: Desk, editor: str, external: bool, status: str, refusal: Refusal
) -> None:
    ticket = make_ticket(session, status=status)

    result = edit_ticket(
        session,
        desk,
        full_edit(ticket, priority=Priority.URGENT),
        editor=editor,
        at=desk.clock.now(),
        editor_is_external=external,
    )

    assert (result.done, result.refusal) == (False, refusal)
    assert ticket.priority == "medium"
    assert events(session, ticket) == []
    assert owed(session) == []


def test_a_resolved_ticket_can_still_be_edited(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session, status="resolved", resolved_at=NOW)

    result = edit_ticket(
        session, desk, full_edit(ticket, tags=("root-cause",)), editor=AGENT, at=desk.clock.now()
    )

    assert result.done and [t.tag for t in ticket.tags] == ["root-cause"]


def test_edit_of_a_missing_ticket_is_refused(session: Session, desk: Desk) -> None:
    edit = TicketEdit(ticket_id=999, priority=Priority.LOW)
    result = edit_ticket(session, desk, edit, editor=AGENT, at=desk.clock.now())
    assert result.refusal == Refusal.NO_TICKET


def test_rules_run_on_the_edited_ticket(session: Session) -> None:
    config = parse_config(
        {
            **TEST_CONFIG,
            "rules": [
                {
                    "if": {"priority": "urgent", "department": "Engineering"},
                    "then": {"internal_priority": "Critical", "tags": ["escalate"]},
                }
            ],
        }
    )
    desk = Desk(config, ManualClock(NOW))
    ticket = make_ticket(session)

    edit = full_edit(ticket, priority=Priority.URGENT, departments=("Engineering",))
    edit_ticket(session, desk, edit, editor=AGENT, at=NOW)

    assert ticket.internal_priority == "Critical"
    assert [t.tag for t in ticket.tags] == ["escalate"]
    assert [e.kind for e in events(session, ticket)] == ["edited", "rule_applied"]
    assert owed(session).count(("chat.update", "card_update")) == 1


# --- check_edit --------------------------------------------------------------------------------


def answers(**overrides: Any) -> EditAnswers:
    values: dict[str, Any] = {"priority": "medium"}
    values.update(overrides)
    return EditAnswers(**values)


def test_check_reads_a_valid_form(session: Session, desk_config: DeskConfig) -> None:
    ticket = make_ticket(session)

    check = check_edit(
        answers(
            issue_type="question",
            priority="high",
            internal_priority="Low",
            product="API",
            departments=("Engineering", "Sales"),
            users_affected="42",
            site_down="no",
            support_type="Quick fix",
            client_priority="At risk",
            tags=" Billing Export, vip ,\nvip,, ",
        ),
        desk_config,
        ticket=ticket,
    )

    assert check.errors == {}
    assert check.edit == TicketEdit(
        ticket_id=ticket.id,
        priority=Priority.HIGH,
        issue_type=IssueType.QUESTION,
        internal_priority="Low",
        product="API",
        departments=("Sales", "Engineering"),  # the config's order
        users_affected=42,
        site_down=False,
        support_type="Quick fix",
        client_priority="At risk",
        tags=("billing-export", "vip"),
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"users_affected": "0"}, "users_affected"),
        ({"users_affected": "abc"}, "users_affected"),
        ({"users_affected": "2.5"}, "users_affected"),
        ({"users_affected": "10000001"}, "users_affected"),
        ({"tags": ", ".join(f"t{n}" for n in range(21))}, "tags"),
        ({"tags": "x" * 65}, "tags"),
        ({"priority": None}, "priority"),
        ({"priority": "whenever"}, "priority"),
        ({"issue_type": "complaint"}, "issue_type"),
        ({"internal_priority": "P0"}, "internal_priority"),
        ({"product": "Spaceship"}, "product"),
        ({"departments": ("Sales", "Legal")}, "departments"),
        ({"site_down": "maybe"}, "site_down"),
        ({"support_type": "Therapy"}, "support_type"),
        ({"client_priority": "Friends"}, "client_priority"),
    ],
)
def test_check_refuses_bad_answers(
    session: Session, desk_config: DeskConfig, overrides: dict[str, Any], field: str
) -> None:
    ticket = make_ticket(session)
    check = check_edit(answers(**overrides), desk_config, ticket=ticket)
    assert check.edit is None
    assert set(check.errors) == {field}
    assert check.errors[field]


def test_check_accepts_limits(session: Session, desk_config: DeskConfig) -> None:
    ticket = make_ticket(session)
    tags = ", ".join([*(f"t{n}" for n in range(19)), "y" * 64])
    check = check_edit(answers(users_affected="10000000", tags=tags), desk_config, ticket=ticket)
    assert check.errors == {}
    assert check.edit is not None and check.edit.users_affected == 10_000_000
    assert len(check.edit.tags) == 20


def test_check_keeps_a_value_the_config_no_longer_lists(
    session: Session, desk_config: DeskConfig
) -> None:
    ticket = make_ticket(session, internal_priority="P0", product="Legacy", departments=["Legal"])
    check = check_edit(
        answers(internal_priority="P0", product="Legacy", departments=("Legal", "Sales")),
        desk_config,
        ticket=ticket,
    )
    assert check.errors == {}
    assert check.edit is not None
    assert (check.edit.internal_priority, check.edit.product) == ("P0", "Legacy")
    assert check.edit.departments == ("Sales", "Legal")


def test_free_text_product_when_no_products_are_configured(session: Session) -> None:
    config = parse_config({**TEST_CONFIG, "engineering": [], "products": []})
    assert config.products == ()
    ticket = make_ticket(session)
    assert check_edit(answers(product="  Anything  "), config, ticket=ticket).edit is not None
    long = check_edit(answers(product="p" * 201), config, ticket=ticket)
    assert set(long.errors) == {"product"}


def test_fields_untouched_in_the_form_keep_what_changed_meanwhile(
    session: Session, desk: Desk
) -> None:
    """Agent A opens the form; agent B (or a rule) sets the priority to urgent; A submits a new
    tag only. A's stale priority in the form must not undo B's change."""
    ticket = make_ticket(session, tags=("billing",))
    request = ModalRequest(form=Form.EDIT, ticket_id=ticket.id, user=AGENT)
    form = edit_form_for(session, desk, request)
    assert form is not None
    context = decode_modal_context(
        encode_modal_context(ticket_id=ticket.id, channel="C0HELP", thread_ts="1.2", form=form)
    )
    assert context is not None
    ticket.priority = "urgent"  # someone else's change, after the form opened
    session.flush()

    result = submit_edit(
        session,
        desk,
        answers(priority="medium", tags="billing, refunds"),
        context=context,
        editor=AGENT,
        at=desk.clock.now(),
    )

    assert result.done
    assert ticket.priority == "urgent"
    assert [t.tag for t in ticket.tags] == ["billing", "refunds"]
    assert set(result.changes) == {"tags"}


def test_submit_edit_reports_errors_and_refusals(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session)
    context = ModalContext(ticket_id=ticket.id)

    bad = submit_edit(
        session, desk, answers(users_affected="-3"), context=context, editor=AGENT, at=NOW
    )
    refused = submit_edit(session, desk, answers(), context=context, editor=NOT_AGENT, at=NOW)

    assert (bad.done, set(bad.errors)) == (False, {"users_affected"})
    assert refused.refusal == Refusal.NOT_AGENT
    assert events(session, ticket) == []


# --- pressing the buttons ----------------------------------------------------------------------


def test_a_non_agent_press_is_refused_privately_in_the_cards_thread(
    session: Session, desk: Desk
) -> None:
    ticket = make_ticket(session)
    request = ModalRequest(
        form=Form.NOTE,
        ticket_id=ticket.id,
        user=NOT_AGENT,
        reply_channel="C0HELP",
        reply_thread_ts="1.2",
    )

    assert refuse_if_not_allowed(session, desk, request) == Refusal.NOT_AGENT
    assert edit_form_for(session, desk, request) is None
    [row] = as_told(OutboxRepository(session).pending())
    assert row.method == "chat.postEphemeral"
    assert (row.payload["channel"], row.payload["user"], row.payload["thread_ts"]) == (
        "C0HELP",
        NOT_AGENT,
        "1.2",
    )
    assert "Only support agents can add internal notes" in row.payload["text"]


def test_an_agent_press_is_not_refused(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session, tags=("b", "a"))
    request = ModalRequest(form=Form.EDIT, ticket_id=ticket.id, user=AGENT)
    assert refuse_if_not_allowed(session, desk, request) is None
    assert owed(session) == []
    form = edit_form_for(session, desk, request)
    assert form == EditForm(ticket_id=ticket.id, ref=ticket.ref, priority="medium", tags=("a", "b"))


def test_modal_context_round_trip_and_garbage() -> None:
    form = EditForm(ticket_id=7, ref="#7", priority="low", tags=("x" * 64,) * 20)
    raw = encode_modal_context(ticket_id=7, channel="C1", thread_ts="1.2", form=form)
    assert len(raw) < 3000
    context = decode_modal_context(raw)
    assert context is not None
    assert (context.ticket_id, context.channel, context.thread_ts) == (7, "C1", "1.2")
    assert set(context.opened) >= {"priority", "tags"}
    for garbage in (None, "", "not json", "[]", '{"ticket": "7"}'):
        assert decode_modal_context(garbage) is None


def test_check_note() -> None:
    assert check_note("  Customer is on the legacy plan ") == {}
    assert set(check_note("   \n")) == {"note"}
    assert set(check_note(None)) == {"note"}
    assert set(check_note("x" * 3001)) == {"note"}


# --- the Edit modal's view ---------------------------------------------------------------------


def test_edit_modal_offers_every_initial_option(desk_config: DeskConfig) -> None:
    """Slack rejects a view whose initial option is not one of its options: a stored value the
    config dropped is offered as an extra option."""
    form = EditForm(
        ticket_id=3,
        ref="#3",
        priority="high",
        issue_type="question",
        internal_priority="P0",
        product="Legacy",
        departments=("Sales", "Legal"),
        users_affected=12,
        site_down=False,
        support_type="Quick fix",
        tags=("a", "b"),
    )
    view = build_edit_modal(form, desk_config, private_metadata="{}")
    assert view["callback_id"] == "edit_ticket_modal" and len(view["title"]["text"]) <= 24
    by_id = {block.get("block_id"): block for block in view["blocks"]}
    for block in view["blocks"]:
        element = block.get("element") or {}
        if "initial_option" in element:
            assert element["initial_option"] in element["options"]
        for option in element.get("initial_options", []):
            assert option in element["options"]
        assert len(element.get("options", [])) <= 100
    assert by_id["internal_priority"]["element"]["initial_option"]["value"] == "P0"
    assert by_id["product"]["element"]["initial_option"]["value"] == "Legacy"
    assert [o["value"] for o in by_id["departments"]["element"]["initial_options"]] == [
        "Sales",
        "Legal",
    ]
    assert by_id["users_affected"]["element"]["initial_value"] == "12"
    assert by_id["site_down"]["element"]["initial_option"]["value"] == "no"
    assert by_id["tags"]["element"]["initial_value"] == "a, b"
    assert "initial_option" not in by_id["client_priority"]["element"]


def test_unbounded_tag_agrees_with_normalize_tag() -> None:
    from workflows.editing import _unbounded_tag

    for text in ("Billing Export", "  a--b  ", "C++ / API", "-x-", "Ünïcode wörds", "a,b"):
        assert _unbounded_tag(text)[:64].strip("-") == normalize_tag(text)
