"""Deflection: knowledge-base answers offered to a requester before an agent is needed.

(Foundation stub: the suggestion flow is being built; see issue 9.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from storage.models import OutboxMessage, Ticket
from workflows.delivery import SlackCall
from workflows.desk import Desk

if TYPE_CHECKING:
    from bot.config import DeskConfig


def offer_answers(session: Session, desk: Desk, ticket: Ticket) -> None:
    """A new question arrived as `ticket`: offer the best knowledge-base answers in its thread
    when search is sure enough of them."""
    return None


def prepare_call(session: Session, config: DeskConfig, row: OutboxMessage) -> SlackCall | None:
    return None


def call_delivered(
    session: Session, row: OutboxMessage, response: dict[str, Any]
) -> SlackCall | None:
    return None


def call_failed(session: Session, row: OutboxMessage, error: str) -> SlackCall | None:
    return None
