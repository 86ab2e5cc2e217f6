"""What the desk owes Slack, and the bookkeeping when Slack answers.

Workflows record calls here (outbox rows, in their own transaction). The dispatcher in
`bot/outbox.py`
sends them and calls back `prepare`, `delivered` and `failed` so the domain can render a card from
the ticket's state at send time, remember where the card landed, read a fetched message into the
ticket, or fall back to a DM when the bot can't post in a channel.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from storage.models import Escalation, OutboxMessage, Ticket
from storage.repositories import OutboxRepository

if TYPE_CHECKING:
    from templates.charts import Chart

logger = logging.getLogger(__name__)

# Errors after which posting in the channel will never work, but a DM to the person still can.
CHANNEL_UNREACHABLE = frozenset(
    {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}
)


class Purpose(StrEnum):
    TICKET_CARD = "ticket_card"
    CARD_UPDATE = "card_update"
    FETCH_SOURCE = "fetch_source"
    PERMALINK = "permalink"
    NOTICE = "notice"
    THREAD_NOTICE = "thread_notice"
    CHANNEL_NOTICE = "channel_notice"
    HOME = "home"
    # Customer channels (Slack Connect): what an agent sends the customer, and the copy of the
    # customer thread kept in the ticket's triage thread (the agents' room).
    CUSTOMER_REPLY = "customer_reply"
    MIRROR = "mirror"
    ROOM_NOTICE = "room_notice"
    # A top-level message in a customer channel whose thread hosts a ticket split off another
    # customer thread; where it lands becomes that ticket's source.
    CUSTOMER_THREAD = "customer_thread"
    # Escalation: the card in an engineering channel (its thread is the engineers'), its
    # updates, what is said in that thread for support, and what the ticket's room is told.
    ESCALATION_CARD = "escalation_card"
    ESCALATION_UPDATE = "escalation_update"
    ENGINEERING_THREAD = "engineering_thread"
    ESCALATION_ROOM = "escalation_room"
    # The SLA sweep's grouped alerts (alert channel, DMs) and the digests.
    SLA_ALERT = "sla_alert"
    DIGEST = "digest"
    # A digest's chart images, uploaded just below it (see `digest_payload_with_charts`).
    DIGEST_CHARTS = "digest_charts"
    # The CSAT survey asked of a ticket's requester (in their thread, or by DM), its updates once
    # answered, and what a low rating tells the queue's lead by DM (see workflows/csat.py).
    CSAT_PROMPT = "csat_prompt"
    CSAT_ALERT = "csat_alert"
    # Knowledge-base answers offered in the requester's thread (by the bot or an agent), and
    # their updates once answered (see workflows/deflection.py).
    KB_SUGGESTION = "kb_suggestion"
    # The feature-request board's cards and their updates, the duplicate offer in a ticket's
    # room, and what a requester is told when their request ships (workflows/feature_requests).
    FEATURE_REQUEST_CARD = "feature_request_card"
    FEATURE_REQUEST_OFFER = "feature_request_offer"
    FEATURE_REQUEST_SHIPPED = "feature_request_shipped"


# The only notices a customer may read in their own thread; anything else about a bridged ticket
# is said in its triage thread instead.
CUSTOMER_NOTICES = frozenset(
    {"acknowledged", "claimed", "assigned", "resolved", "reopened", "merged", "split"}
)
# What may be sent into a customer channel at all: reads, private (ephemeral) answers to one
# person, customer-safe notices and the replies agents chose to send. Checked at send time.
CUSTOMER_SAFE_PURPOSES = frozenset(
    {
        Purpose.THREAD_NOTICE,
        Purpose.CUSTOMER_REPLY,
        Purpose.FETCH_SOURCE,
        Purpose.PERMALINK,
        Purpose.NOTICE,
        Purpose.CUSTOMER_THREAD,
        # Only ever the requester's own thread (or DM): a question and buttons, nothing internal.
        Purpose.CSAT_PROMPT,
        # Passages of the knowledge base and two buttons, in the requester's own thread.
        Purpose.KB_SUGGESTION,
        # "Your request shipped", with the release note, in the requester's own thread.
        Purpose.FEATURE_REQUEST_SHIPPED,
    }
)


FEATURE_REQUEST_PURPOSES = frozenset(
    {
        Purpose.FEATURE_REQUEST_CARD,
        Purpose.FEATURE_REQUEST_OFFER,
        Purpose.FEATURE_REQUEST_SHIPPED,
    }
)


class Mirror(StrEnum):
    """What a copy in the triage thread is: who said it, where."""

    CUSTOMER = "customer"  # a customer wrote in their thread
    AGENT = "agent"  # one of ours wrote in the customer thread
    SENT = "sent"  # the bot sent an agent's Reply to customer
    SEND_FAILED = "send_failed"


class Wording(StrEnum):
    """The families of private notices the desk words (`bot.delivery` holds each family's
    templates): a workflow names what to say, never how."""

    DESK = "desk"  # short answers: App Home, /support commands
    REFUSAL = "refusal"  # why a ticket action did nothing
    ALREADY_A_TICKET = "already_a_ticket"
    CSAT = "csat"  # why a press on a survey recorded nothing
    FEATURE_REQUEST = "feature_request"  # why a press on the board changed nothing
    KB = "kb"  # what one person is told about a knowledge-base action
    SLA_ALERT = "sla_alert"  # a sweep's warnings and breaches, as of the sweep
    ESCALATION = "escalation"  # why a press on an escalation card did nothing
    EDIT = "edit"  # why Edit, Internal note or an escalation did nothing


@dataclass(frozen=True)
class Notice:
    """What one person is told privately, as facts: the wording is chosen when it is sent.
    `facts` must be JSON (they wait in the outbox row)."""

    wording: Wording
    name: str = ""
    facts: dict[str, Any] = field(default_factory=dict)


NOTICE_KEY = "_say"  # where a notice row keeps its Notice until it is worded


@dataclass(frozen=True)
class SlackCall:
    method: str
    payload: dict[str, Any]


# Not a Slack method: the outbox's name for an upload of files (slack_sdk's `files_upload_v2`:
# files.getUploadURLExternal, a POST of each file, files.completeUploadExternal). Payload:
# {"channel", "initial_comment"?, "thread_ts"?, "files": [{"filename", "title", "alt_txt",
# "content_b64"}]}.
UPLOAD_FILES = "files.uploadV2"
ALT_TEXT_LIMIT = 1000  # Slack refuses longer alt text (alt_txt_too_large)


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
        "chat.postMessage",
        payload,
        now=now,
        purpose=Purpose.TICKET_CARD,
        ticket_id=ticket.id,
        coalesce_key=_card_key(ticket),
    )


def fetch_permalink(session: Session, ticket: Ticket, *, now: datetime) -> None:
    """Owe a read of the link to the ticket's thread (App Home, details, the triage card)."""
    if ticket.source_channel and ticket.thread_ts:
        OutboxRepository(session).enqueue(
            "chat.getPermalink",
            {"channel": ticket.source_channel, "message_ts": ticket.thread_ts},
            now=now,
            purpose=Purpose.PERMALINK,
            ticket_id=ticket.id,
        )


def refresh_card(session: Session, ticket: Ticket, *, now: datetime) -> None:
    """The ticket changed: its card must show it. A burst of changes is one `chat.update`
    (rendered when sent), and a card not yet posted will simply be posted as it is now."""
    OutboxRepository(session).enqueue_coalesced(
        "chat.update",
        {},
        coalesce_key=_card_key(ticket),
        now=now,
        purpose=Purpose.CARD_UPDATE,
        ticket_id=ticket.id,
    )


def post_thread_notice(
    session: Session, ticket: Ticket, notice: str, *, now: datetime, **data: Any
) -> OutboxMessage:
    """Say something in the ticket's thread, where its requester reads (see templates.notices).
    Where that thread is gets decided when it is sent: a /support ticket's thread is its card."""
    payload = {"_notice": notice, "_data": data}
    return OutboxRepository(session).enqueue(
        "chat.postMessage", payload, now=now, purpose=Purpose.THREAD_NOTICE, ticket_id=ticket.id
    )


def mirror_to_room(
    session: Session,
    ticket: Ticket,
    kind: Mirror,
    *,
    author: str,
    text: str,
    now: datetime,
    **data: Any,
) -> OutboxMessage:
    """Copy what was said in the customer thread into the ticket's triage thread, so the agents'
    room has the whole story. Rendered (and escaped) when sent, once the card is there."""
    payload = {"_mirror": kind.value, "_author": author, "_text": text, "_data": data}
    return OutboxRepository(session).enqueue(
        "chat.postMessage", payload, now=now, purpose=Purpose.MIRROR, ticket_id=ticket.id
    )


def post_room_notice(
    session: Session, ticket: Ticket, notice: str, *, now: datetime, **data: Any
) -> OutboxMessage:
    """Say something to the agents working a ticket: in its triage thread for a customer
    ticket, else in its thread (internal tickets have no other room)."""
    payload = {"_notice": notice, "_data": data}
    return OutboxRepository(session).enqueue(
        "chat.postMessage", payload, now=now, purpose=Purpose.ROOM_NOTICE, ticket_id=ticket.id
    )


def post_escalation_card(session: Session, escalation: Escalation, *, now: datetime) -> None:
    """Owe the escalation's card in its engineering channel. The link to the ticket's internal
    thread is read first (the same row, then the card), so engineers can jump to the ticket."""
    OutboxRepository(session).enqueue(
        "chat.getPermalink",
        {"_escalation": escalation.id},
        now=now,
        purpose=Purpose.ESCALATION_CARD,
        ticket_id=escalation.ticket_id,
    )


def refresh_escalation_card(session: Session, escalation: Escalation, *, now: datetime) -> None:
    """The escalation changed: its card shows it (a burst of changes is one `chat.update`)."""
    OutboxRepository(session).enqueue_coalesced(
        "chat.update",
        {"_escalation": escalation.id},
        coalesce_key=f"escalation:{escalation.id}",
        now=now,
        purpose=Purpose.ESCALATION_UPDATE,
        ticket_id=escalation.ticket_id,
    )


def post_in_engineering_thread(
    session: Session, escalation: Escalation, kind: str, *, now: datetime, **data: Any
) -> OutboxMessage:
    """Say something in the escalation's thread (an agent's reply, a withdrawal), rendered and
    escaped when sent, once the card is there."""
    payload = {"_escalation": escalation.id, "_kind": kind, "_data": data}
    return OutboxRepository(session).enqueue(
        "chat.postMessage",
        payload,
        now=now,
        purpose=Purpose.ENGINEERING_THREAD,
        ticket_id=escalation.ticket_id,
    )


def tell_room_about_escalation(
    session: Session,
    ticket: Ticket,
    escalation: Escalation,
    kind: str,
    *,
    now: datetime,
    **data: Any,
) -> OutboxMessage:
    """Tell the ticket's internal thread (the agents' room) about its escalation, or copy an
    engineer's words there. Never the customer's thread: a room is internal by construction,
    and the send-time guard drops anything aimed at a customer channel anyway."""
    payload = {"_escalation": escalation.id, "_kind": kind, "_data": data}
    return OutboxRepository(session).enqueue(
        "chat.postMessage",
        payload,
        now=now,
        purpose=Purpose.ESCALATION_ROOM,
        ticket_id=ticket.id,
    )


def send_to_customer(
    session: Session, ticket: Ticket, *, agent: str, text: str, now: datetime
) -> OutboxMessage:
    """An agent's answer, posted by the bot in the customer's thread (escaped when rendered)."""
    payload = {"_agent": agent, "_text": text}
    return OutboxRepository(session).enqueue(
        "chat.postMessage", payload, now=now, purpose=Purpose.CUSTOMER_REPLY, ticket_id=ticket.id
    )


def open_customer_thread(
    session: Session, ticket: Ticket, *, channel: str, split_from: Ticket, now: datetime
) -> OutboxMessage:
    """Owe a customer ticket split off `split_from` its own thread: a top-level message in the
    customer channel, rendered when sent. Enqueue it before the ticket's card: a ticket's rows go
    out in order, so its source is known when the card lands and its permalink is fetched."""
    payload = {"channel": channel, "_split_from": split_from.id}
    return OutboxRepository(session).enqueue(
        "chat.postMessage", payload, now=now, purpose=Purpose.CUSTOMER_THREAD, ticket_id=ticket.id
    )


def post_channel_notice(
    session: Session, ticket: Ticket, notice: str, *, channel: str, now: datetime, **data: Any
) -> OutboxMessage:
    """Tell a channel about a ticket (a rule's `notify`), rendered when sent."""
    payload = {"channel": channel, "_notice": notice, "_data": data}
    return OutboxRepository(session).enqueue(
        "chat.postMessage", payload, now=now, purpose=Purpose.CHANNEL_NOTICE, ticket_id=ticket.id
    )


def chart_files(charts: Sequence[Chart]) -> list[dict[str, str]]:
    """Charts as the `files` of a `files.uploadV2` row (JSON-safe: the PNG in base64)."""
    return [
        {
            "filename": chart.filename,
            "title": chart.title,
            "alt_txt": chart.alt_text[:ALT_TEXT_LIMIT],
            "content_b64": base64.b64encode(chart.png).decode("ascii"),
        }
        for chart in charts
    ]


def enqueue_charts(
    session: Session,
    *,
    channel: str,
    charts: Sequence[Chart],
    now: datetime,
    initial_comment: str | None = None,
    thread_ts: str | None = None,
) -> OutboxMessage | None:
    """Owe `channel` these chart images, as one upload (one message showing them all)."""
    if not charts:
        return None
    payload: dict[str, Any] = {"channel": channel, "files": chart_files(charts)}
    if initial_comment:
        payload["initial_comment"] = initial_comment
    if thread_ts:
        payload["thread_ts"] = thread_ts
    return OutboxRepository(session).enqueue(
        UPLOAD_FILES, payload, now=now, purpose=Purpose.DIGEST_CHARTS
    )


def digest_payload_with_charts(
    message: dict[str, Any], charts: Sequence[Chart], comment: str | None = None
) -> dict[str, Any]:
    """A digest's `chat.postMessage` payload that brings its charts along: once the digest has
    landed, its row becomes the charts' upload to the same channel, so they always come after it
    (two rows could pass each other: rows without a ticket are not ordered)."""
    if not charts:
        return dict(message)
    payload = {**message, "_charts": chart_files(charts)}
    if comment:
        payload["_charts_comment"] = comment
    return payload


def publish_home(session: Session, user: str, *, now: datetime) -> None:
    """Owe `user` a fresh App Home, built from the database when it is sent."""
    OutboxRepository(session).enqueue_coalesced(
        "views.publish",
        {"user_id": user},
        coalesce_key=f"home:{user}",
        now=now,
        purpose=Purpose.HOME,
    )


def _card_key(ticket: Ticket) -> str:
    return f"card:{ticket.id}"


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
    message: dict[str, Any] | Notice,
    now: datetime,
    thread_ts: str | None = None,
) -> OutboxMessage:
    payload = {"channel": channel, "user": user, **said(message)}
    if thread_ts:
        payload["thread_ts"] = thread_ts
    return OutboxRepository(session).enqueue(
        "chat.postEphemeral", payload, now=now, purpose=Purpose.NOTICE
    )


def post_direct(
    session: Session, *, user: str, message: dict[str, Any] | Notice, now: datetime
) -> OutboxMessage:
    """A message in the app's DM with a person (chat.postMessage to a user ID opens it)."""
    return OutboxRepository(session).enqueue(
        "chat.postMessage", {"channel": user, **said(message)}, now=now, purpose=Purpose.NOTICE
    )


def said(message: dict[str, Any] | Notice) -> dict[str, Any]:
    if isinstance(message, Notice):
        return {
            NOTICE_KEY: {
                "wording": message.wording.value,
                "name": message.name,
                "facts": message.facts,
            }
        }
    return message


def tell_privately(
    session: Session,
    *,
    user: str,
    message: dict[str, Any] | Notice,
    now: datetime,
    channel: str | None,
    thread_ts: str | None = None,
) -> OutboxMessage:
    """Answer one person privately: ephemeral where they acted, or a DM when they acted where
    nothing can be posted (App Home)."""
    if channel:
        return post_ephemeral(
            session, channel=channel, user=user, message=message, thread_ts=thread_ts, now=now
        )
    return post_direct(session, user=user, message=message, now=now)


def room_of(ticket: Ticket) -> tuple[str | None, str | None]:
    """Where the agents talk about a ticket: a customer ticket's triage thread, else the
    ticket's own thread (internal tickets have no other room)."""
    if ticket.bridged:
        return ticket.card_channel, ticket.card_ts
    return ticket.source_channel or ticket.card_channel, ticket.thread_ts or ticket.card_ts


def requester_thread(ticket: Ticket) -> tuple[str | None, str | None]:
    """Where the requester reads about their ticket: a customer's own thread (never the triage
    card's), else the question's thread, or a /support ticket's card (its root once delivered).
    (None, None) while there is no such thread."""
    if ticket.bridged:
        channel, thread_ts = ticket.source_channel, ticket.thread_ts
    else:
        channel = ticket.source_channel or ticket.card_channel
        thread_ts = ticket.thread_ts or ticket.card_ts
    if channel and thread_ts:
        return channel, thread_ts
    return None, None
