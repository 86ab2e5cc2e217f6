"""What listeners are handed at registration: the desk, the session factory, the outbox wake-up.

Replays: a slash command or a view submission has no event id, and a proxy that retries a POST
delivers the same signed bytes again. Its `trigger_id` (with the view's id and hash) is the key
(`handlers.payloads.replay_key`): the listener's `transaction(request=body)` records it in the
same transaction as the change, and `skip_replays` (one global middleware) answers a copy whose
key is recorded with an empty 200 without running any listener.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from slack_bolt import BoltResponse
from sqlalchemy.orm import Session

from handlers.payloads import replay_key
from storage.db import SessionFactory, read_only
from workflows.desk import Desk
from workflows.intake import is_first_delivery, was_processed

logger = logging.getLogger(__name__)


class _Replayed(Exception):
    """Raised inside a replay's transaction so that everything it did is rolled back."""


@dataclass(frozen=True)
class Deps:
    desk: Desk
    session_factory: SessionFactory
    wake_outbox: Callable[[], None]

    @contextmanager
    def transaction(self, request: Mapping[str, Any] | None = None) -> Iterator[Session]:
        """One unit of work; after it commits, the dispatcher is nudged to send what it owes.

        `request`: the body of the slash command or view submission the work answers. Its
        replay key is recorded first, in this transaction: committed with the change, or rolled
        back with a failed attempt (which can then be retried). A copy that finds the key (a
        replay that raced past `skip_replays`: on PostgreSQL it waits on the first copy's row,
        on SQLite on its write lock) runs against what the first did, and is rolled back."""
        key = replay_key(request)
        try:
            with self.session_factory.begin() as session:
                first = is_first_delivery(session, key, desk=self.desk)
                yield session
                if not first:
                    raise _Replayed
        except _Replayed:
            logger.info("replayed request %s: rolled back, nothing changed", key)
            return
        self.wake_outbox()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A unit of work that only reads (`/support stats`): it takes no write lock."""
        with read_only(self.session_factory) as session:
            yield session


def skip_replays(deps: Deps) -> Callable[..., BoltResponse | None]:
    """The global middleware answering a replayed command or view submission: an empty 200
    (a form closes, a command says nothing more), and no listener runs. A read, closed before
    any listener runs (a middleware never holds a session around one)."""

    def skip_replayed_requests(
        body: dict[str, Any], next: Callable[[], None]
    ) -> BoltResponse | None:
        key = replay_key(body)
        if key is not None:
            with deps.reading() as session:
                replayed = was_processed(session, key)
            if replayed:
                kind = body.get("command") or body.get("type")
                logger.info("replayed %s (%s) answered without running it again", kind, key)
                return BoltResponse(status=200, body="")
        next()
        return None

    return skip_replayed_requests
