"""Saying the knowledge base's offers: a suggestion in the requester's thread, rendered from the
suggestion as it is when sent, and what its delivery or failure changes."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from bot.config import DeskConfig
from storage.knowledge import SuggestionRepository
from storage.models import KbSuggestion, OutboxMessage
from storage.repositories import TicketRepository
from templates.knowledge import suggestion_message
from workflows.delivery import SlackCall, requester_thread
from workflows.vocabulary import (
    ACTIVE_STATUSES,
    EventKind,
)

logger = logging.getLogger(__name__)


def prepare_call(session: Session, config: DeskConfig, row: OutboxMessage) -> SlackCall | None:
    """The offer, rendered from the suggestion as it is now; None drops the row."""
    suggestion = SuggestionRepository(session).get(row.payload.get("_suggestion") or 0)
    ticket = TicketRepository(session).get(suggestion.ticket_id) if suggestion else None
    if suggestion is None or ticket is None:
        return None
    message = suggestion_message(
        suggestion_id=suggestion.id,
        articles=suggestion.articles,
        outcome=suggestion.outcome,
        by_agent=suggestion.suggested_by is not None,
        note=_agent_message(session, suggestion),
    )
    if row.method == "chat.update" or (suggestion.channel and suggestion.ts):
        # (An offer already there is shown as it is now, never offered twice.)
        if not suggestion.channel or not suggestion.ts:
            return None  # the offer never landed: nothing to update
        return SlackCall(
            "chat.update", {"channel": suggestion.channel, "ts": suggestion.ts, **message}
        )
    if ticket.merged_into_id is not None or ticket.status not in ACTIVE_STATUSES:
        return None  # answered (or merged away) before the offer went out: it helps nobody now
    channel, thread_ts = requester_thread(ticket)
    if channel is None or thread_ts is None:
        return None
    return SlackCall(
        "chat.postMessage",
        {
            "channel": channel,
            "thread_ts": thread_ts,
            **message,
            "unfurl_links": False,
            "unfurl_media": False,
        },
    )


def call_delivered(
    session: Session, row: OutboxMessage, response: dict[str, Any]
) -> SlackCall | None:
    """The offer landed: its buttons are replaced there once answered."""
    if row.method != "chat.postMessage":
        return None
    suggestion = SuggestionRepository(session).get(row.payload.get("_suggestion") or 0)
    if suggestion is not None:
        suggestion.channel = response.get("channel") or suggestion.channel
        suggestion.ts = response.get("ts") or suggestion.ts
    return None


def call_failed(session: Session, row: OutboxMessage, error: str) -> SlackCall | None:
    """An offer that can't be posted is not owed anyone: the ticket is in the queue anyway."""
    logger.warning(
        "ticket %s: a knowledge-base suggestion could not be sent (%s, %s)",
        row.ticket_id,
        row.method,
        error,
    )
    return None


def _agent_message(session: Session, suggestion: KbSuggestion) -> str | None:
    """The line the agent wrote above their suggestion (kept in the event that logged it)."""
    if suggestion.suggested_by is None:
        return None
    for event in TicketRepository(session).events_of_kind(
        suggestion.ticket_id, EventKind.ARTICLES_SUGGESTED
    ):
        data = event.data or {}
        if data.get("suggestion") == suggestion.id:
            message = data.get("message")
            return message if isinstance(message, str) else None
    return None
