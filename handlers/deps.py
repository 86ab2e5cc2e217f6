"""What listeners are handed at registration: the desk, the session factory, the outbox wake-up."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.orm import Session

from storage.db import SessionFactory, read_only
from workflows.desk import Desk


@dataclass(frozen=True)
class Deps:
    desk: Desk
    session_factory: SessionFactory
    wake_outbox: Callable[[], None]

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work; after it commits, the dispatcher is nudged to send what it owes."""
        with self.session_factory.begin() as session:
            yield session
        self.wake_outbox()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A unit of work that only reads (`/support stats`): it takes no write lock."""
        with read_only(self.session_factory) as session:
            yield session
