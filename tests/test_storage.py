"""Storage: the migration matches the models, and the repositories' idempotency guarantees hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import StatementError

from storage.db import SessionFactory, create_session_factory
from storage.migrate import alembic_config, upgrade_schema
from storage.models import Base, ProcessedEvent, Ticket
from storage.repositories import ProcessedEventRepository, TicketRepository

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.fixture
def session_factory(engine: Engine) -> SessionFactory:
    return create_session_factory(engine)


def new_ticket(
    *,
    channel: str | None = "C0HELP",
    ts: str | None = "1763900000.000100",
    thread_ts: str | None = None,
    card_channel: str | None = None,
    card_ts: str | None = None,
    created_at: datetime = NOW,
) -> Ticket:
    return Ticket(
        source_channel=channel,
        source_ts=ts,
        source_thread_ts=thread_ts,
        intake_source="message",
        requester="U0ALICE",
        queue="general",
        status="open",
        priority="medium",
        description="help",
        card_channel=card_channel,
        card_ts=card_ts,
        created_at=created_at,
        updated_at=created_at,
    )


# --- schema ------------------------------------------------------------------------------------


def test_migration_produces_exactly_the_models_schema(engine: Engine) -> None:
    """The Alembic head and the SQLAlchemy models describe the same tables, columns and indexes."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences: list[Any] = compare_metadata(context, Base.metadata)
    assert differences == []


def test_upgrade_schema_is_idempotent(engine: Engine, session_factory: SessionFactory) -> None:
    """Running the migrations again (every `serve` does) changes nothing and keeps the data."""
    with session_factory.begin() as session:
        assert TicketRepository(session).add(new_ticket()) is not None

    upgrade_schema(engine)
    upgrade_schema(engine)

    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    with engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        assert [row[0] for row in versions] == [head]
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    with session_factory.begin() as session:
        assert TicketRepository(session).get_by_source("C0HELP", "1763900000.000100") is not None


# --- tickets -----------------------------------------------------------------------------------


def test_duplicate_source_message_returns_none_and_keeps_the_session_usable(
    session_factory: SessionFactory,
) -> None:
    """A second ticket for the same (channel, ts) is refused without breaking the transaction."""
    with session_factory.begin() as session:
        tickets = TicketRepository(session)
        first = tickets.add(new_ticket(ts="1763900000.000100"))
        assert first is not None
        assert tickets.add(new_ticket(ts="1763900000.000100")) is None
        # Same ts in another channel is another message.
        assert tickets.add(new_ticket(channel="C0BILLING", ts="1763900000.000100")) is not None
        later = tickets.add(new_ticket(ts="1763900000.000200"))
        assert later is not None
        tickets.log(first, "opened", at=NOW)
        first_id = first.id

    with session_factory.begin() as session:
        assert len(session.scalars(select(Ticket.id)).all()) == 3
        assert [event.kind for event in TicketRepository(session).events(first_id)] == ["opened"]


def test_get_by_thread_resolves_source_reply_thread_and_card(
    session_factory: SessionFactory,
) -> None:
    """A thread maps to its ticket by the root's source ts, a reply's thread, or the card's ts."""
    with session_factory.begin() as session:
        tickets = TicketRepository(session)
        by_source = tickets.add(new_ticket(ts="1763900000.000100"))
        by_reply = tickets.add(new_ticket(ts="1763900200.000100", thread_ts="1763900100.000100"))
        # A second ticket from another reply in the same thread doesn't steal the thread.
        tickets.add(new_ticket(ts="1763900300.000100", thread_ts="1763900100.000100"))
        by_card = tickets.add(
            new_ticket(ts="1763900400.000100", card_channel="C0HELP", card_ts="1763900500.000100")
        )
        assert by_source is not None and by_reply is not None and by_card is not None
        ids = (by_source.id, by_reply.id, by_card.id)

    with session_factory.begin() as session:
        tickets = TicketRepository(session)

        def found(channel: str, thread_ts: str) -> int | None:
            ticket = tickets.get_by_thread(channel, thread_ts)
            return ticket.id if ticket is not None else None

        assert found("C0HELP", "1763900000.000100") == ids[0]
        assert found("C0HELP", "1763900100.000100") == ids[1]
        assert found("C0HELP", "1763900500.000100") == ids[2]
        assert found("C0HELP", "1763909999.000100") is None
        assert found("C0BILLING", "1763900000.000100") is None
        assert found("C0BILLING", "1763900100.000100") is None


# --- processed events --------------------------------------------------------------------------


def test_remember_is_false_for_an_event_seen_before(session_factory: SessionFactory) -> None:
    """A retried Slack event id is recognised, in the same transaction and in a later one."""
    with session_factory.begin() as session:
        events = ProcessedEventRepository(session)
        assert events.remember("Ev001", at=NOW) is True
        assert events.remember("Ev001", at=NOW) is False
        assert events.remember("Ev002", at=NOW) is True
    with session_factory.begin() as session:
        assert ProcessedEventRepository(session).remember("Ev001", at=NOW) is False
        assert len(session.scalars(select(ProcessedEvent.event_id)).all()) == 2


def test_forget_older_than_deletes_only_old_ids(session_factory: SessionFactory) -> None:
    """Housekeeping drops event ids received before the cutoff and keeps the rest."""
    cutoff = NOW - timedelta(days=1)
    with session_factory.begin() as session:
        events = ProcessedEventRepository(session)
        events.remember("old", at=NOW - timedelta(days=3))
        events.remember("just-old", at=cutoff - timedelta(microseconds=1))
        events.remember("at-cutoff", at=cutoff)
        events.remember("new", at=NOW)

    with session_factory.begin() as session:
        assert ProcessedEventRepository(session).forget_older_than(cutoff) == 2
    with session_factory.begin() as session:
        kept = session.scalars(select(ProcessedEvent.event_id).order_by(ProcessedEvent.event_id))
        assert list(kept) == ["at-cutoff", "new"]


# --- time columns ------------------------------------------------------------------------------


def test_utc_datetime_round_trips_aware_values(session_factory: SessionFactory) -> None:
    """Aware datetimes come back as the same instant, in UTC, whatever zone they were given in."""
    new_york = timezone(timedelta(hours=-5))
    moment = datetime(2026, 3, 8, 1, 59, 59, 123456, tzinfo=new_york)
    with session_factory.begin() as session:
        ProcessedEventRepository(session).remember("Ev-time", at=moment)

    with session_factory.begin() as session:
        stored = session.scalars(
            select(ProcessedEvent.received_at).where(ProcessedEvent.event_id == "Ev-time")
        ).one()
    assert stored == moment
    assert stored.utcoffset() == timedelta(0)
    assert stored.replace(tzinfo=None) == datetime(2026, 3, 8, 6, 59, 59, 123456)

    with session_factory.begin() as session:
        newer = session.scalars(
            select(ProcessedEvent.event_id).where(
                ProcessedEvent.received_at > moment - timedelta(microseconds=1)
            )
        ).all()
    assert newer == ["Ev-time"]


def test_utc_datetime_rejects_naive_values(session_factory: SessionFactory) -> None:
    """A naive datetime is refused instead of being stored in an unknown zone."""
    with pytest.raises(StatementError) as raised, session_factory.begin() as session:
        session.add(ProcessedEvent(event_id="Ev-naive", received_at=datetime(2026, 1, 1)))
        session.flush()
    assert isinstance(raised.value.orig, ValueError)
    assert "naive" in str(raised.value.orig)
    with session_factory.begin() as session:
        assert session.get(ProcessedEvent, "Ev-naive") is None


def test_a_reply_in_an_engineering_thread_finds_its_escalation_by_index(engine: Engine) -> None:
    """Relaying is a lookup, not a scan: `(channel, card_ts)` is the escalations' unique index,
    and the relayed messages' `(channel, ts)` too."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            plan = " ".join(
                str(row[-1])
                for row in connection.execute(
                    text(
                        "EXPLAIN QUERY PLAN SELECT * FROM escalations "
                        "WHERE channel = 'C0ENG' AND card_ts = '1.2'"
                    )
                )
            )
            assert "SEARCH escalations USING INDEX" in plan, plan
            assert "(channel=? AND card_ts=?)" in plan, plan
        unique = {
            tuple(c["column_names"])
            for table in ("escalations", "escalation_messages")
            for c in inspect(connection).get_unique_constraints(table)
        }
    assert {("channel", "card_ts"), ("channel", "ts")} <= unique
