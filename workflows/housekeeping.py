"""Jobs that keep the database small; entry points like handlers, with their own unit of work."""

from __future__ import annotations

from datetime import timedelta

from storage.db import SessionFactory
from storage.repositories import ProcessedEventRepository
from workflows.clock import Clock


def forget_old_events(session_factory: SessionFactory, clock: Clock, keep: timedelta) -> int:
    """Slack retries within minutes; event ids older than `keep` can never come back."""
    with session_factory.begin() as session:
        return ProcessedEventRepository(session).forget_older_than(clock.now() - keep)
