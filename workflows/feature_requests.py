"""Feature requests: the board where each distinct request has one card, and who asked for it.

(Foundation stub: the board is being built; see issue 9.)
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from storage.models import OutboxMessage, Ticket
from workflows.delivery import SlackCall
from workflows.desk import Desk

if TYPE_CHECKING:
    from bot.config import DeskConfig


def file_feature_request(
    session: Session, desk: Desk, ticket: Ticket, *, by: str | None, at: datetime
) -> None:
    """`ticket` is (now) a feature request: put it on the board, or offer the agent the
    existing request it looks like."""
    return None


def prepare_call(session: Session, config: DeskConfig, row: OutboxMessage) -> SlackCall | None:
    return None


def call_delivered(
    session: Session, row: OutboxMessage, response: dict[str, Any]
) -> SlackCall | None:
    return None


def call_failed(session: Session, row: OutboxMessage, error: str) -> SlackCall | None:
    return None
