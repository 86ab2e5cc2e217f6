"""Saying what the domain recorded: the outbox dispatcher's hooks.

Workflows record in outbox rows what must be said (a purpose, the ticket or escalation, where);
`DeliveryHooks` renders each row with `templates/` when it is sent, refuses anything internal on
its way into a customer channel (one check, at send time, on the rendered call), and hands what
Slack answered, or how it failed, back to the workflow that owns the row. It sits in `bot/`
because it knows both the domain and Block Kit; the domain knows neither it nor the templates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.config import DeskConfig
from bot.delivery import deflection, feature_requests
from bot.delivery.csat import prepare_csat_call, prompt_delivered, prompt_failed
from storage.models import OutboxMessage, Ticket, TicketMessage
from storage.repositories import EscalationRepository, TicketRepository
from templates.cards import build_ticket_card
from templates.csat import csat_notice
from templates.customers import customer_reply, mirror_message
from templates.edit_modal import edit_refusal
from templates.escalation import (
    engineering_thread_message,
    escalation_card,
    escalation_refusal,
    escalation_room_message,
)
from templates.feature_requests import feature_request_notice
from templates.home import build_home_view, desk_answer
from templates.knowledge import kb_notice
from templates.merging import customer_thread_message
from templates.notices import already_a_ticket, card_moved, refusal_notice, ticket_notice
from templates.sla import sla_alert_message
from workflows.clock import Clock, ManualClock, slack_ts_to_datetime
from workflows.delivery import (
    CHANNEL_UNREACHABLE,
    CUSTOMER_NOTICES,
    CUSTOMER_SAFE_PURPOSES,
    FEATURE_REQUEST_PURPOSES,
    NOTICE_KEY,
    UPLOAD_FILES,
    Mirror,
    Purpose,
    SlackCall,
    Wording,
    fetch_permalink,
    mirror_to_room,
    post_direct,
    post_room_notice,
    requester_thread,
    room_of,
    tell_room_about_escalation,
)
from workflows.desk import Desk
from workflows.home import home_for
from workflows.rules import route_ticket
from workflows.sla import Alert
from workflows.vocabulary import AlertLevel, EventKind, SlaTarget

logger = logging.getLogger(__name__)

# Each family of private notices and the template that words it.
WORDINGS: dict[Wording, Callable[..., dict[str, Any]]] = {
    Wording.DESK: desk_answer,
    Wording.REFUSAL: refusal_notice,
    Wording.EDIT: edit_refusal,
    Wording.ESCALATION: escalation_refusal,
    Wording.CSAT: csat_notice,
    Wording.FEATURE_REQUEST: feature_request_notice,
    Wording.KB: kb_notice,
}

_RENDERED = frozenset(
    {
        Purpose.TICKET_CARD,
        Purpose.CARD_UPDATE,
        Purpose.THREAD_NOTICE,
        Purpose.CHANNEL_NOTICE,
        Purpose.ROOM_NOTICE,
        Purpose.MIRROR,
        Purpose.CUSTOMER_REPLY,
        Purpose.CUSTOMER_THREAD,
        Purpose.ESCALATION_CARD,
        Purpose.ESCALATION_UPDATE,
        Purpose.ENGINEERING_THREAD,
        Purpose.ESCALATION_ROOM,
    }
)


_ESCALATION_PURPOSES = frozenset(
    {
        Purpose.ESCALATION_CARD,
        Purpose.ESCALATION_UPDATE,
        Purpose.ENGINEERING_THREAD,
        Purpose.ESCALATION_ROOM,
    }
)


def _charts_after_digest(row: OutboxMessage, response: dict[str, Any]) -> SlackCall:
    """The digest is posted: the same row now uploads its charts into the digest's thread, so
    they stay with it whatever else the channel gets meanwhile (another digest due at the same
    minute). The charts leave the row's bookkeeping (a replacement keeps `_` keys: no second
    copy)."""
    channel = response.get("channel") or row.payload.get("channel")
    bookkeeping = {k: v for k, v in row.payload.items() if k.startswith("_")}
    files = bookkeeping.pop("_charts")
    comment = bookkeeping.pop("_charts_comment", None)
    bookkeeping["_digest_ts"] = response.get("ts")
    row.payload = bookkeeping
    row.purpose = Purpose.DIGEST_CHARTS
    payload: dict[str, Any] = {"channel": channel, "files": files}
    if response.get("ts"):
        payload["thread_ts"] = response["ts"]
    if comment:
        payload["initial_comment"] = comment
    return SlackCall(UPLOAD_FILES, payload)


def as_sent(payload: dict[str, Any]) -> dict[str, Any]:
    """A private notice's row as Slack gets it: its words, from the facts its workflow
    recorded, in place of the facts."""
    if NOTICE_KEY not in payload:
        return payload
    return {**_sendable(payload), **_worded(payload[NOTICE_KEY])}


def _worded(notice: dict[str, Any]) -> dict[str, Any]:
    wording, name, facts = Wording(notice["wording"]), notice["name"], notice["facts"]
    if wording == Wording.ALREADY_A_TICKET:
        return already_a_ticket(**facts)
    if wording == Wording.SLA_ALERT:
        alerts = [
            Alert(
                **{
                    **alert,
                    "target": SlaTarget(alert["target"]),
                    "level": AlertLevel(alert["level"]),
                    "due_at": datetime.fromisoformat(alert["due_at"]),
                }
            )
            for alert in facts["alerts"]
        ]
        message = sla_alert_message(
            alerts,
            now=datetime.fromisoformat(facts["now"]),
            tz=ZoneInfo(facts["timezone"]),
            personal=facts["personal"],
        )
        return {**message, "unfurl_links": False}
    return WORDINGS[wording](name, **facts)


def _sendable(payload: dict[str, Any]) -> dict[str, Any]:
    """Keys starting with `_` are the desk's bookkeeping, never sent to Slack."""
    return {key: value for key, value in payload.items() if not key.startswith("_")}


class DeliveryHooks:
    """The domain's side of delivery; the dispatcher calls these inside short transactions."""

    def __init__(self, config: DeskConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock

    def prepare(self, session: Session, row: OutboxMessage) -> SlackCall | None:
        """The call to make for a row, or None to drop it (its ticket is gone, or it would say
        something internal in a customer channel)."""
        call = self._prepare(session, row)
        if isinstance(call, SlackCall) and not self._may_send(session, row, call):
            moved = self._card_moved(row, because="customer_channel")
            if moved is not None:  # a card that must exist: the next place, not nowhere
                row.payload = moved
                return self.prepare(session, row)
            logger.error(
                "outbox: refused to send %s (%s) into customer channel %s",
                call.method,
                row.purpose,
                call.payload.get("channel"),
            )
            return None
        return call

    def _may_send(self, session: Session, row: OutboxMessage, call: SlackCall) -> bool:
        """The last line of defence: nothing but customer-safe purposes reaches a channel shared
        with a customer, whatever a workflow asked for."""
        channel = call.payload.get("channel")
        if not channel or row.purpose in CUSTOMER_SAFE_PURPOSES:
            return True
        if self.config.customer_channel(channel) is not None:
            return False
        return not TicketRepository(session).is_bridged_channel(channel)

    def _prepare(self, session: Session, row: OutboxMessage) -> SlackCall | None:
        if row.purpose == Purpose.HOME:
            user = row.payload["user_id"]
            return SlackCall(
                "views.publish",
                {
                    "user_id": user,
                    "view": build_home_view(
                        home_for(session, Desk(self.config, ManualClock(self.clock.now())), user)
                    ),
                },
            )
        if row.purpose in (Purpose.CSAT_PROMPT, Purpose.CSAT_ALERT):
            return prepare_csat_call(session, self.config, row)
        if row.purpose == Purpose.KB_SUGGESTION:
            return deflection.prepare_call(session, self.config, row)
        if row.purpose in FEATURE_REQUEST_PURPOSES:
            return feature_requests.prepare_call(session, self.config, row)
        if NOTICE_KEY in row.payload:
            return SlackCall(row.method, as_sent(row.payload))
        if row.purpose not in _RENDERED:
            return SlackCall(row.method, _sendable(row.payload))
        ticket = TicketRepository(session).get(row.ticket_id) if row.ticket_id else None
        if ticket is None:
            return None
        if row.purpose in _ESCALATION_PURPOSES:
            return self._escalation_call(session, ticket, row)
        if row.purpose == Purpose.CARD_UPDATE:
            return self._card_update(ticket)
        if row.purpose == Purpose.THREAD_NOTICE:
            return self._thread_notice(ticket, row)
        if row.purpose in (Purpose.ROOM_NOTICE, Purpose.MIRROR):
            return self._in_room(ticket, row)
        if row.purpose == Purpose.CUSTOMER_REPLY:
            return self._customer_reply(ticket, row)
        if row.purpose == Purpose.CUSTOMER_THREAD:
            # Never dropped while the ticket exists: were it dropped, the card's delivery would
            # make the triage card this customer ticket's source.
            if row.method != "chat.postMessage":
                return SlackCall(row.method, _sendable(row.payload))  # its permalink, read next
            message = customer_thread_message(ticket)
            return SlackCall(
                "chat.postMessage",
                {
                    "channel": row.payload["channel"],
                    **message,
                    "unfurl_links": False,
                    "unfurl_media": False,
                },
            )
        if row.purpose == Purpose.CHANNEL_NOTICE:
            message = ticket_notice(
                row.payload["_notice"], ticket=ticket, config=self.config, **row.payload["_data"]
            )
            return SlackCall(
                "chat.postMessage",
                {"channel": row.payload["channel"], **message, "unfurl_links": False},
            )
        if ticket.card_ts and row.payload.get("channel") == ticket.card_channel:
            # The card is there already (this row repeats one): it shows the ticket as it is
            # now, and no second card is posted. (Aimed elsewhere, a card is a new one there.)
            return self._card_update(ticket)
        payload = _sendable(row.payload)
        is_root_card = not payload.get("thread_ts")
        if not is_root_card and ticket.thread_ts:
            # A ticket opened from a thread reply answers in that thread's root.
            payload["thread_ts"] = ticket.thread_ts
        if not payload.get("thread_ts"):
            payload.pop("thread_ts", None)
        card = build_ticket_card(
            ticket, self.config, show_description=is_root_card, now=self.clock.now()
        )
        payload.update(card)
        payload["unfurl_links"] = False
        payload["unfurl_media"] = False
        return SlackCall(row.method, payload)

    def _in_room(self, ticket: Ticket, row: OutboxMessage) -> SlackCall | None:
        """A message for the agents: under the triage card of a customer ticket (waiting for it
        to land), or in an internal ticket's own thread."""
        channel, thread_ts = room_of(ticket)
        if not channel or not thread_ts:
            return None
        if row.purpose == Purpose.MIRROR:
            message = mirror_message(
                Mirror(row.payload["_mirror"]),
                ticket=ticket,
                author=row.payload["_author"],
                text=row.payload["_text"],
                **row.payload.get("_data", {}),
            )
        else:
            message = ticket_notice(
                row.payload["_notice"], ticket=ticket, config=self.config, **row.payload["_data"]
            )
        return SlackCall(
            "chat.postMessage",
            {"channel": channel, "thread_ts": thread_ts, **message, "unfurl_links": False},
        )

    def _escalation_call(
        self, session: Session, ticket: Ticket, row: OutboxMessage
    ) -> SlackCall | None:
        """Escalation rows, rendered from the escalation as it is when they go out."""
        escalation = EscalationRepository(session).get(row.payload["_escalation"])
        if escalation is None:
            return None
        if row.purpose == Purpose.ESCALATION_ROOM:
            channel, thread_ts = room_of(TicketRepository(session).surviving(ticket))
            if not channel or not thread_ts:
                return None
            message = escalation_room_message(
                row.payload["_kind"], escalation=escalation, ticket=ticket, **row.payload["_data"]
            )
            return SlackCall(
                "chat.postMessage",
                {"channel": channel, "thread_ts": thread_ts, **message, "unfurl_links": False},
            )
        if row.purpose == Purpose.ESCALATION_CARD and row.method == "chat.getPermalink":
            channel, thread_ts = room_of(ticket)
            if channel and thread_ts:
                return SlackCall("chat.getPermalink", {"channel": channel, "message_ts": thread_ts})
            row.method = "chat.postMessage"  # no room to link to: this row posts the card unlinked
        if not escalation.channel:
            return None  # the second line has no channel of its own: it works in the ticket
        card = escalation_card(escalation, ticket=ticket, config=self.config)
        if row.purpose == Purpose.ESCALATION_CARD:
            if escalation.card_ts:  # the card is there already: never a second one
                return SlackCall(
                    "chat.update", {"channel": escalation.channel, "ts": escalation.card_ts, **card}
                )
            return SlackCall(
                "chat.postMessage",
                {"channel": escalation.channel, **card, "unfurl_links": False},
            )
        if not escalation.card_ts:
            # The card never landed (the room was told): a reply there can't go out either.
            if row.payload.get("_kind") == "agent_reply":
                self._told_engineering(
                    session,
                    ticket,
                    row,
                    "reply_failed",
                    now=self.clock.now(),
                    error="the escalation card was never posted",
                )
            return None
        if row.purpose == Purpose.ESCALATION_UPDATE:
            return SlackCall(
                "chat.update", {"channel": escalation.channel, "ts": escalation.card_ts, **card}
            )
        message = engineering_thread_message(
            row.payload["_kind"], escalation=escalation, ticket=ticket, **row.payload["_data"]
        )
        return SlackCall(
            "chat.postMessage",
            {
                "channel": escalation.channel,
                "thread_ts": escalation.card_ts,
                **message,
                "unfurl_links": False,
            },
        )

    def _told_engineering(
        self,
        session: Session,
        ticket: Ticket,
        row: OutboxMessage,
        kind: str,
        *,
        now: datetime,
        **data: Any,
    ) -> None:
        """An agent's Reply to engineering went out (or Slack refused it): the room says which,
        with the words, so nobody believes engineering read what never arrived."""
        escalation = EscalationRepository(session).get(row.payload["_escalation"])
        if escalation is not None:
            tell_room_about_escalation(
                session, ticket, escalation, kind, now=now, **row.payload["_data"], **data
            )

    def _escalation_delivered(
        self, session: Session, row: OutboxMessage, response: dict[str, Any]
    ) -> SlackCall | None:
        """The ticket's link is known: post the card with it. The card landed: its thread is
        the escalation's, from now on found by `(channel, card_ts)`."""
        escalation = EscalationRepository(session).get(row.payload["_escalation"])
        if escalation is None:
            return None
        if row.method == "chat.getPermalink":
            escalation.room_link = response.get("permalink") or escalation.room_link
            return SlackCall("chat.postMessage", {})
        escalation.card_ts = response.get("ts") or escalation.card_ts
        return None

    def _customer_reply(self, ticket: Ticket, row: OutboxMessage) -> SlackCall | None:
        """The agent's words in the requester's thread: a customer reads the team's answer; a
        colleague reads who asked (Ask customer on an internal ticket)."""
        if not ticket.source_channel or not ticket.thread_ts:
            return None
        message = customer_reply(
            row.payload["_text"], agent=row.payload["_agent"], attributed=not ticket.bridged
        )
        return SlackCall(
            "chat.postMessage",
            {
                "channel": ticket.source_channel,
                "thread_ts": ticket.thread_ts,
                **message,
                "unfurl_links": False,
                "unfurl_media": False,
            },
        )

    def _card_update(self, ticket: Ticket) -> SlackCall | None:
        if not ticket.card_channel or not ticket.card_ts:
            return None  # the card never landed; nothing to update
        # A card that is its thread's first message quotes the question; one under it doesn't.
        is_root_card = ticket.bridged or ticket.card_ts == ticket.source_ts
        card = build_ticket_card(
            ticket, self.config, show_description=is_root_card, now=self.clock.now()
        )
        return SlackCall(
            "chat.update", {"channel": ticket.card_channel, "ts": ticket.card_ts, **card}
        )

    def _thread_notice(self, ticket: Ticket, row: OutboxMessage) -> SlackCall | None:
        channel, thread_ts = requester_thread(ticket)
        if not channel or not thread_ts:
            return None
        notice = row.payload["_notice"]
        if ticket.bridged and notice not in CUSTOMER_NOTICES:
            logger.error("ticket %s: notice %r is not for a customer's eyes", ticket.ref, notice)
            return None
        message = ticket_notice(
            notice,
            ticket=ticket,
            config=self.config,
            customer_facing=ticket.bridged,
            **row.payload["_data"],
        )
        return SlackCall(
            "chat.postMessage",
            {"channel": channel, "thread_ts": thread_ts, **message, "unfurl_links": False},
        )

    def delivered(
        self, session: Session, row: OutboxMessage, response: dict[str, Any], *, now: datetime
    ) -> SlackCall | None:
        """Record what Slack answered; may return a follow-up call that replaces this row."""
        if row.purpose == Purpose.DIGEST and row.payload.get("_charts"):
            return _charts_after_digest(row, response)
        if row.purpose == Purpose.KB_SUGGESTION:
            return deflection.call_delivered(session, row, response)
        if row.purpose in FEATURE_REQUEST_PURPOSES:
            return feature_requests.call_delivered(session, row, response)
        tickets = TicketRepository(session)
        ticket = tickets.get(row.ticket_id) if row.ticket_id else None
        if ticket is None:
            return None
        if row.purpose == Purpose.ESCALATION_CARD:
            return self._escalation_delivered(session, row, response)
        if row.purpose == Purpose.CSAT_PROMPT:
            prompt_delivered(session, row, response)
        if row.purpose == Purpose.ENGINEERING_THREAD and row.payload.get("_kind") == "agent_reply":
            self._told_engineering(session, ticket, row, "sent_to_engineering", now=now)
        if row.purpose == Purpose.TICKET_CARD:
            if ticket.card_ts and response.get("ts") == ticket.card_ts:
                return None  # the card already recorded was updated: nothing new to note
            ticket.card_channel = response.get("channel")
            ticket.card_ts = response.get("ts")
            if ticket.source_ts is None and not ticket.bridged:
                # A /support ticket's card is its root message: its thread is the conversation.
                # (A customer ticket's card is in triage: never its customer-visible thread.)
                ticket.source_channel = ticket.card_channel
                ticket.source_ts = ticket.card_ts
            tickets.log(
                ticket,
                EventKind.CARD_POSTED,
                at=now,
                data={"channel": ticket.card_channel, "ts": ticket.card_ts},
            )
            if row.payload.get("_asked_in"):
                self._tell_where_the_card_is(session, ticket, row, now=now)
            if ticket.permalink is None:
                fetch_permalink(session, ticket, now=now)
        elif row.purpose == Purpose.PERMALINK:
            ticket.permalink = response.get("permalink") or ticket.permalink
        elif row.purpose == Purpose.CUSTOMER_REPLY:
            self._reply_sent(session, ticket, row, response, now=now)
        elif row.purpose == Purpose.CUSTOMER_THREAD:
            return self._customer_thread_opened(ticket, row, response)
        elif row.purpose == Purpose.FETCH_SOURCE:
            follow_up = self._read_source(ticket, row, response)
            if follow_up is None and ticket.description:
                # The text is known only now: rules that look at words get their turn.

                route_ticket(session, Desk(self.config, self.clock), ticket, at=ticket.created_at)
            return follow_up
        return None

    def failed(
        self, session: Session, row: OutboxMessage, error: str, *, now: datetime
    ) -> SlackCall | None:
        """Slack refused for good; may return a call that replaces this row (e.g. a DM)."""
        if row.purpose == Purpose.CSAT_PROMPT:
            return prompt_failed(session, row, error)
        if row.purpose == Purpose.KB_SUGGESTION:
            return deflection.call_failed(session, row, error)
        if row.purpose in FEATURE_REQUEST_PURPOSES:
            return feature_requests.call_failed(session, row, error)
        if error in CHANNEL_UNREACHABLE:
            moved = self._card_moved(row, because=error)
            if moved is not None:
                return SlackCall("chat.postMessage", moved)
        ticket = TicketRepository(session).get(row.ticket_id) if row.ticket_id else None
        if ticket is not None and row.purpose == Purpose.TICKET_CARD:
            TicketRepository(session).log(
                ticket, EventKind.CARD_DELIVERY_FAILED, at=now, data={"error": error}
            )
        if ticket is not None and row.purpose == Purpose.CUSTOMER_REPLY:
            mirror_to_room(
                session,
                ticket,
                Mirror.SEND_FAILED,
                author=row.payload["_agent"],
                text=row.payload["_text"],
                now=now,
                error=error,
            )
        if ticket is not None and row.purpose == Purpose.ESCALATION_CARD:
            if row.method == "chat.getPermalink":
                return SlackCall("chat.postMessage", {})  # post the card without the link
            escalation = EscalationRepository(session).get(row.payload["_escalation"])
            if escalation is not None:
                tell_room_about_escalation(
                    session, ticket, escalation, "card_failed", now=now, error=error
                )
        if (
            ticket is not None
            and row.purpose == Purpose.ENGINEERING_THREAD
            and row.payload.get("_kind") == "agent_reply"
        ):
            self._told_engineering(session, ticket, row, "reply_failed", now=now, error=error)
        if ticket is not None and row.purpose == Purpose.FETCH_SOURCE:
            logger.warning("ticket %s: could not read its source message (%s)", ticket.ref, error)
        if (
            ticket is not None
            and row.purpose == Purpose.CUSTOMER_THREAD
            and row.method == "chat.postMessage"
        ):
            self._keep_in_split_thread(session, ticket, row, error, now=now)
        return None

    def _card_moved(self, row: OutboxMessage, *, because: str) -> dict[str, Any] | None:
        """A card that must exist (a /support or split ticket's: it is their thread) refused
        where it was to go, by a rule or by Slack: its payload aimed at the next place, the
        triage channel and then the requester's DM (chat.postMessage to a user ID opens it).
        None for any other row, or when no place is left. `_asked_in` and `_moved_because`
        keep the first choice and why it failed, to tell the requester."""
        user = row.payload.get("_fallback_user")
        if row.purpose != Purpose.TICKET_CARD or not user:
            return None
        places = [place for place in (self.config.triage_channel, user) if place]
        current = row.payload.get("channel")
        if current in places:
            places = places[places.index(current) + 1 :]
        if not places:
            return None
        logger.warning(
            "outbox: card of ticket %s refused in %s (%s); posting it in %s",
            row.ticket_id,
            current,
            because,
            places[0],
        )
        return {
            **row.payload,
            "channel": places[0],
            "thread_ts": None,
            "_asked_in": row.payload.get("_asked_in") or current,
            "_moved_because": row.payload.get("_moved_because") or because,
        }

    def _tell_where_the_card_is(
        self, session: Session, ticket: Ticket, row: OutboxMessage, *, now: datetime
    ) -> None:
        """The card landed elsewhere than asked: its requester is told where, by DM (the
        channel they asked in may be one the bot can't post in)."""
        user, landed = row.payload["_fallback_user"], row.payload["channel"]
        message = card_moved(
            ref=ticket.ref,
            asked_in=row.payload["_asked_in"],
            landed=landed,
            in_dm=landed == user,
            because=row.payload.get("_moved_because") or "",
        )
        post_direct(session, user=user, message=message, now=now)

    def _keep_in_split_thread(
        self, session: Session, ticket: Ticket, row: OutboxMessage, error: str, *, now: datetime
    ) -> None:
        """A split customer ticket got no thread of its own: it stays anchored where its message
        was said (in the thread it was split from), and the agents' room is told so."""
        logger.warning("ticket %s: could not open its customer thread (%s)", ticket.ref, error)
        original = TicketRepository(session).get(row.payload["_split_from"])
        post_room_notice(
            session,
            ticket,
            "split_thread_failed",
            now=now,
            into={"ref": original.ref if original else f"#{row.payload['_split_from']}"},
        )

    def _customer_thread_opened(
        self, ticket: Ticket, row: OutboxMessage, response: dict[str, Any]
    ) -> SlackCall | None:
        """The new message's thread is the split ticket's conversation from now on. Its link is
        read by the same row (a follow-up call), so it is known before the triage card, the
        ticket's next row, is rendered with it."""
        if row.method == "chat.getPermalink":
            ticket.permalink = response.get("permalink") or ticket.permalink
            return None
        if not response.get("ts"):
            return None
        ticket.source_channel = response.get("channel") or row.payload["channel"]
        ticket.source_ts = response["ts"]
        ticket.source_thread_ts = None
        return SlackCall(
            "chat.getPermalink",
            {"channel": ticket.source_channel, "message_ts": ticket.source_ts},
        )

    def _reply_sent(
        self,
        session: Session,
        ticket: Ticket,
        row: OutboxMessage,
        response: dict[str, Any],
        *,
        now: datetime,
    ) -> None:
        """The customer has the agent's answer: it is part of the conversation, and the room
        sees what was sent."""
        agent, text = row.payload["_agent"], row.payload["_text"]
        ts = response.get("ts")
        if ts and ticket.source_channel:
            TicketRepository(session).add_message(
                TicketMessage(
                    ticket_id=ticket.id,
                    channel=ticket.source_channel,
                    ts=ts,
                    author=agent,
                    author_is_external=False,
                    text=text,
                    posted_at=slack_ts_to_datetime(ts),
                )
            )
        if ticket.bridged:  # an internal ticket's thread is its room: the message is there
            mirror_to_room(session, ticket, Mirror.SENT, author=agent, text=text, now=now)

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
