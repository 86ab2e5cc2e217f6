"""Saying the CSAT survey: its prompt and the alerts on low ratings, rendered from the survey as it
is when sent; where it lands, and the DM when a colleague's thread can't be posted in."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from bot.config import DeskConfig
from storage.models import CsatSurvey, OutboxMessage, Ticket
from storage.repositories import CsatRepository, TicketRepository
from templates.csat import csat_alert, csat_message
from workflows.delivery import (
    CHANNEL_UNREACHABLE,
    Purpose,
    SlackCall,
    requester_thread,
)

logger = logging.getLogger(__name__)


def prepare_csat_call(session: Session, config: DeskConfig, row: OutboxMessage) -> SlackCall | None:
    """The call for a survey row, rendered from the survey as it is now; None drops it."""
    survey = CsatRepository(session).get(row.payload.get("_survey") or 0)
    ticket = TicketRepository(session).get(survey.ticket_id) if survey else None
    if survey is None or ticket is None:
        return None
    if row.purpose == Purpose.CSAT_ALERT:
        message = csat_alert(
            row.payload["_kind"],
            ref=ticket.ref,
            rating=row.payload["_rating"],
            comment=row.payload.get("_comment"),
            requester=survey.requester,
            customer=survey.customer,
            queue=survey.queue,
            assignee=survey.assignee,
            permalink=ticket.permalink,
        )
        return SlackCall(
            "chat.postMessage",
            {"channel": row.payload["channel"], **message, "unfurl_links": False},
        )
    message = csat_message(
        survey_id=survey.id,
        ref=ticket.ref,
        rating=survey.rating,
        commented=survey.comment is not None,
    )
    if row.method == "chat.update":
        if not survey.channel or not survey.ts:
            return None  # the prompt never landed: nothing to update
        return SlackCall("chat.update", {"channel": survey.channel, "ts": survey.ts, **message})
    if survey.channel and survey.ts:  # the question is there already: never asked twice
        return SlackCall("chat.update", {"channel": survey.channel, "ts": survey.ts, **message})
    if ticket.merged_into_id is not None or ticket.resolved_at != survey.asked_at:
        # Merged away, or reopened before the question went out: it asks about nothing now.
        return None
    channel, thread_ts = _where_to_ask(ticket, survey, by_dm=bool(row.payload.get("_dm")))
    if channel is None:
        return None
    payload: dict[str, Any] = {
        "channel": channel,
        **message,
        "unfurl_links": False,
        "unfurl_media": False,
    }
    if thread_ts:
        payload["thread_ts"] = thread_ts
    return SlackCall("chat.postMessage", payload)


def prompt_delivered(session: Session, row: OutboxMessage, response: dict[str, Any]) -> None:
    """The prompt landed: its buttons are replaced there once answered."""
    if row.method != "chat.postMessage":
        return
    survey = CsatRepository(session).get(row.payload.get("_survey") or 0)
    if survey is not None:
        survey.channel = response.get("channel") or survey.channel
        survey.ts = response.get("ts") or survey.ts


def prompt_failed(session: Session, row: OutboxMessage, error: str) -> SlackCall | None:
    """The bot can't post in a colleague's thread (left the channel, archived): ask by DM. A
    customer is only ever asked in their own thread."""
    logger.warning("ticket %s: the CSAT survey could not be sent (%s)", row.ticket_id, error)
    if row.method != "chat.postMessage" or row.payload.get("_dm"):
        return None
    ticket = TicketRepository(session).get(row.ticket_id) if row.ticket_id else None
    if ticket is None or ticket.bridged or error not in CHANNEL_UNREACHABLE:
        return None
    return SlackCall("chat.postMessage", {"_dm": True})


def _where_to_ask(
    ticket: Ticket, survey: CsatSurvey, *, by_dm: bool
) -> tuple[str | None, str | None]:
    """The requester's thread (the one they read the answers in), or their DM."""
    if ticket.bridged:
        return requester_thread(ticket)  # the customer's own thread, never a DM
    if by_dm:
        return survey.requester, None
    channel, thread_ts = requester_thread(ticket)
    if channel and thread_ts:
        return channel, thread_ts
    return survey.requester, None  # no thread to answer in: a DM (chat.postMessage to a user)
