"""Jobs that keep the database small; entry points like handlers, with their own unit of work."""

from __future__ import annotations

from datetime import timedelta

from storage.db import SessionFactory
from storage.inbox import InboxRepository
from storage.repositories import ProcessedEventRepository
from workflows.clock import Clock
from workflows.desk import Desk
from workflows.triage import close_expired


def forget_old_events(session_factory: SessionFactory, clock: Clock, keep: timedelta) -> int:
    """Slack retries within minutes; event ids older than `keep` can never come back, nor can
    the inbox rows processed by then (parked rows stay until someone looks at them)."""
    cutoff = clock.now() - keep
    with session_factory.begin() as session:
        forgotten = ProcessedEventRepository(session).forget_older_than(cutoff)
        return forgotten + InboxRepository(session).forget_done_older_than(cutoff)


def close_resolved(session_factory: SessionFactory, desk: Desk) -> list[int]:
    """Close resolved tickets whose reopen window has passed (every replica may run it: each
    ticket closes in one conditional UPDATE, so none closes twice)."""
    with session_factory.begin() as session:
        return close_expired(session, desk, now=desk.clock.now())
