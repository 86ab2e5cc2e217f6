"""Saying the feature-request board: its cards, the duplicate offers and the news that a request
shipped, rendered when sent, and what their delivery or failure changes."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from bot.config import DeskConfig
from storage.feature_requests import FeatureRequestRepository
from storage.models import OutboxMessage
from storage.repositories import TicketRepository
from templates.feature_requests import (
    board_card,
    candidate_of,
    offer_message,
    shipped_message,
)
from workflows.delivery import (
    CHANNEL_UNREACHABLE,
    Purpose,
    SlackCall,
    requester_thread,
    room_of,
)
from workflows.feature_requests import (
    title_from,
)

logger = logging.getLogger(__name__)


def prepare_call(session: Session, config: DeskConfig, row: OutboxMessage) -> SlackCall | None:
    """The call for a board row, rendered from the database as it is now; None drops it."""
    if row.purpose == Purpose.FEATURE_REQUEST_CARD:
        return _card_call(session, config, row)
    if row.purpose == Purpose.FEATURE_REQUEST_OFFER:
        return _offer_call(session, row)
    if row.purpose == Purpose.FEATURE_REQUEST_SHIPPED:
        return _shipped_call(session, row)
    return None


def call_delivered(
    session: Session, row: OutboxMessage, response: dict[str, Any]
) -> SlackCall | None:
    """A card landed: its updates go there from now on."""
    if row.purpose != Purpose.FEATURE_REQUEST_CARD:
        return None
    request = FeatureRequestRepository(session).get(row.payload.get("_request") or 0)
    if request is not None and request.card_ts is None and response.get("ts"):
        request.card_channel = response.get("channel") or request.card_channel
        request.card_ts = response["ts"]
    return None


def call_failed(session: Session, row: OutboxMessage, error: str) -> SlackCall | None:
    """A colleague's thread the bot can't post in (left, archived): the news goes by DM. A
    customer is only ever told in their own thread."""
    if row.purpose != Purpose.FEATURE_REQUEST_SHIPPED:
        logger.warning("%s for ticket %s failed: %s", row.purpose, row.ticket_id, error)
        return None
    logger.warning("ticket %s: the shipped news could not be sent (%s)", row.ticket_id, error)
    if row.method != "chat.postMessage" or row.payload.get("_dm"):
        return None
    ticket = TicketRepository(session).get(row.ticket_id) if row.ticket_id else None
    if ticket is None or ticket.bridged or error not in CHANNEL_UNREACHABLE:
        return None
    return SlackCall("chat.postMessage", {"_dm": True})


def _card_call(session: Session, config: DeskConfig, row: OutboxMessage) -> SlackCall | None:
    requests = FeatureRequestRepository(session)
    request = requests.get(row.payload.get("_request") or 0)
    if request is None:
        return None
    card = board_card(request, requests.linked_tickets(request.id))
    if request.card_channel and request.card_ts:
        return SlackCall(
            "chat.update", {"channel": request.card_channel, "ts": request.card_ts, **card}
        )
    # Not on the board yet (its post failed, say the bot wasn't in the channel): post it now.
    if config.feature_requests is None:
        return None
    return SlackCall(
        "chat.postMessage",
        {
            "channel": config.feature_requests.channel,
            **card,
            "unfurl_links": False,
            "unfurl_media": False,
        },
    )


def _offer_call(session: Session, row: OutboxMessage) -> SlackCall | None:
    ticket = TicketRepository(session).get(row.payload.get("_ticket") or 0)
    if ticket is None:
        return None
    requests = FeatureRequestRepository(session)
    if row.method == "chat.update":
        chosen = requests.get(row.payload.get("_request") or 0)
        message = offer_message(
            ticket_id=ticket.id,
            ref=ticket.ref,
            candidates=[],
            outcome=row.payload.get("_outcome"),
            chosen_ref=chosen.ref if chosen else f"FR-{row.payload.get('_request')}",
            chosen_title=chosen.title if chosen else None,
            by=row.payload.get("_by"),
        )
        return SlackCall(
            "chat.update", {"channel": row.payload["channel"], "ts": row.payload["ts"], **message}
        )
    if requests.link_for_ticket(ticket.id) is not None:
        return None  # filed meanwhile (another offer, or New request): nothing left to choose
    channel, thread_ts = room_of(ticket)
    if not channel or not thread_ts:
        return None
    candidates = [candidate_of(r) for r in requests.get_many(row.payload.get("_candidates", []))]
    message = offer_message(ticket_id=ticket.id, ref=ticket.ref, candidates=candidates)
    return SlackCall(
        "chat.postMessage",
        {"channel": channel, "thread_ts": thread_ts, **message, "unfurl_links": False},
    )


def _shipped_call(session: Session, row: OutboxMessage) -> SlackCall | None:
    requests = FeatureRequestRepository(session)
    link = requests.get_link(row.payload.get("_link") or 0)
    ticket = TicketRepository(session).get(link.ticket_id) if link else None
    request = requests.get(link.feature_request_id) if link else None
    note = row.payload.get("_note") or (request.release_note if request else None)
    if link is None or ticket is None or request is None or not note:
        return None
    # A customer reads their own words back, never the title another requester wrote.
    asked_for = title_from(ticket.description, fallback="") if ticket.bridged else request.title
    message = shipped_message(ref=ticket.ref, title=asked_for, release_note=note)
    channel, thread_ts = requester_thread(ticket)
    if row.payload.get("_dm") and not ticket.bridged:
        channel, thread_ts = link.requester, None
    elif channel is None:
        if ticket.bridged:
            logger.warning("ticket %s: no customer thread to tell the news in", ticket.ref)
            return None
        channel = link.requester  # no thread at all: a DM (chat.postMessage to a user)
    payload: dict[str, Any] = {
        "channel": channel,
        **message,
        "unfurl_links": False,
        "unfurl_media": False,
    }
    if thread_ts:
        payload["thread_ts"] = thread_ts
    return SlackCall("chat.postMessage", payload)
