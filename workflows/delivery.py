"""What the desk owes Slack, and the bookkeeping when Slack answers.

Workflows record calls here (outbox rows, in their own transaction). The dispatcher in
`bot/outbox.py`
sends them and calls back `prepare`, `delivered` and `failed` so the domain can render a card from
the ticket's state at send time, remember where the card landed, read a fetched message into the
ticket, or fall back to a DM when the bot can't post in a channel.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from storage.models import OutboxMessage, Ticket
from storage.repositories import OutboxRepository, TicketRepository
from templates.cards import build_ticket_card
from workflows.vocabulary import EventKind

if TYPE_CHECKING:
    from bot.config import DeskConfig

logger = logging.getLogger(__name__)

# Errors after which posting in the channel will never work, but a DM to the person still can.
CHANNEL_UNREACHABLE = frozenset(
    {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}
)


class Purpose(StrEnum):
    TICKET_CARD = "ticket_card"
    FETCH_SOURCE = "fetch_source"
    NOTICE = "notice"


@dataclass(frozen=True)
class SlackCall:
    method: str
    payload: dict[str, Any]


def post_ticket_card(
    session: Session,
    ticket: Ticket,
    *,
    channel: str,
    thread_ts: str | None,
    fallback_user: str | None,
    now: datetime,
) -> OutboxMessage:
    """Owe the ticket's card. Blocks are rendered when it is sent, from the ticket as it is then."""
    payload: dict[str, Any] = {"channel": channel, "thread_ts": thread_ts}
    if fallback_user:
        payload["_fallback_user"] = fallback_user
    return OutboxRepository(session).enqueue(
        "chat.postMessage", payload, now=now, purpose=Purpose.TICKET_CARD, ticket_id=ticket.id
    )


def fetch_source_message(
    session: Session, ticket: Ticket, *, channel: str, ts: str, now: datetime
) -> OutboxMessage:
    """Owe a read of the message a ticket was opened from (a reaction event carries no text)."""
    payload = {"channel": channel, "latest": ts, "oldest": ts, "inclusive": True, "limit": 1}
    return OutboxRepository(session).enqueue(
        "conversations.history",
        payload,
        now=now,
        purpose=Purpose.FETCH_SOURCE,
        ticket_id=ticket.id,
    )


def post_ephemeral(
    session: Session,
    *,
    channel: str,
    user: str,
    message: dict[str, Any],
    now: datetime,
    thread_ts: str | None = None,
) -> OutboxMessage:
    payload = {"channel": channel, "user": user, **message}
    if thread_ts:
        payload["thread_ts"] = thread_ts
    return OutboxRepository(session).enqueue(
        "chat.postEphemeral", payload, now=now, purpose=Purpose.NOTICE
    )


def _sendable(payload: dict[str, Any]) -> dict[str, Any]:
    """Keys starting with `_` are the desk's bookkeeping, never sent to Slack."""
    return {key: value for key, value in payload.items() if not key.startswith("_")}


class DeliveryHooks:
    """The domain's side of delivery; the dispatcher calls these inside short transactions."""

    def __init__(self, config: DeskConfig) -> None:
        self.config = config

    def prepare(self, session: Session, row: OutboxMessage) -> SlackCall | None:
        """The call to make for a row, or None to drop it (its ticket is gone)."""
        if row.purpose != Purpose.TICKET_CARD:
            return SlackCall(row.method, _sendable(row.payload))
        ticket = TicketRepository(session).get(row.ticket_id) if row.ticket_id else None
        if ticket is None:
            return None
        payload = _sendable(row.payload)
        is_root_card = not payload.get("thread_ts")
        if not is_root_card and ticket.thread_ts:
            # A ticket opened from a thread reply answers in that thread's root.
            payload["thread_ts"] = ticket.thread_ts
        if not payload.get("thread_ts"):
            payload.pop("thread_ts", None)
        card = build_ticket_card(ticket, self.config, show_description=is_root_card)
        payload.update(card)
        payload["unfurl_links"] = False
        payload["unfurl_media"] = False
        return SlackCall(row.method, payload)

    def delivered(
        self, session: Session, row: OutboxMessage, response: dict[str, Any], *, now: datetime
    ) -> SlackCall | None:
        """Record what Slack answered; may return a follow-up call that replaces this row."""
        tickets = TicketRepository(session)
        ticket = tickets.get(row.ticket_id) if row.ticket_id else None
        if ticket is None:
            return None
        if row.purpose == Purpose.TICKET_CARD:
            ticket.card_channel = response.get("channel")
            ticket.card_ts = response.get("ts")
            if ticket.source_ts is None:
                # A /support ticket's card is its root message: its thread is the conversation.
                ticket.source_channel = ticket.card_channel
                ticket.source_ts = ticket.card_ts
            tickets.log(
                ticket,
                EventKind.CARD_POSTED,
                at=now,
                data={"channel": ticket.card_channel, "ts": ticket.card_ts},
            )
        elif row.purpose == Purpose.FETCH_SOURCE:
            return self._read_source(ticket, row, response)
        return None

    def failed(
        self, session: Session, row: OutboxMessage, error: str, *, now: datetime
    ) -> SlackCall | None:
        """Slack refused for good; may return a call that replaces this row (e.g. a DM)."""
        fallback_user = row.payload.get("_fallback_user")
        already_dm = row.payload.get("channel") == fallback_user
        if (
            row.purpose == Purpose.TICKET_CARD
            and error in CHANNEL_UNREACHABLE
            and fallback_user
            and not already_dm
        ):
            # chat.postMessage to a user ID lands in the app's DM with that person.
            payload = {"channel": fallback_user, "thread_ts": None}
            return SlackCall("chat.postMessage", payload)
        ticket = TicketRepository(session).get(row.ticket_id) if row.ticket_id else None
        if ticket is not None and row.purpose == Purpose.TICKET_CARD:
            TicketRepository(session).log(
                ticket, EventKind.CARD_DELIVERY_FAILED, at=now, data={"error": error}
            )
        if ticket is not None and row.purpose == Purpose.FETCH_SOURCE:
            logger.warning("ticket %s: could not read its source message (%s)", ticket.ref, error)
        return None

    def _read_source(
        self, ticket: Ticket, row: OutboxMessage, response: dict[str, Any]
    ) -> SlackCall | None:
        wanted = row.payload.get("latest") if row.method == "conversations.history" else None
        wanted = wanted or row.payload.get("_wanted_ts") or ticket.source_ts
        for message in response.get("messages", []):
            if message.get("ts") == wanted:
                ticket.description = message.get("text", "") or ""
                thread_ts = message.get("thread_ts")
                if thread_ts and thread_ts != wanted:
                    ticket.source_thread_ts = thread_ts
                return None
        if row.method == "conversations.history":
            # Not a top-level message: look for it as a reply in its thread.
            payload = {"channel": row.payload["channel"], "ts": wanted, "_wanted_ts": wanted}
            return SlackCall("conversations.replies", payload)
        if response.get("has_more") and response.get("response_metadata", {}).get("next_cursor"):
            payload = dict(row.payload)
            payload["cursor"] = response["response_metadata"]["next_cursor"]
            return SlackCall("conversations.replies", payload)
        logger.warning("ticket %s: its source message was not found", ticket.ref)
        return None
