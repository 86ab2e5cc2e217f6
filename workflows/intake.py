"""Intake: messages, reactions, shortcuts and the /support modal become tickets.

Every path ends in `_new_ticket` + `TicketRepository.add`, idempotent on the source message
`(channel, ts)`: a Slack
retry, a mention delivered as both `message` and `app_mention`, or two people reacting :ticket: all
find the ticket the first delivery made, and nothing is posted twice.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from storage.models import Ticket, TicketMessage, TicketNote
from storage.repositories import NoteRepository, ProcessedEventRepository, TicketRepository
from workflows.agents import is_agent
from workflows.clock import slack_ts_to_datetime
from workflows.deflection import offer_answers
from workflows.delivery import (
    Mirror,
    Notice,
    Wording,
    fetch_permalink,
    fetch_source_message,
    mirror_to_room,
    post_ephemeral,
    post_thread_notice,
    post_ticket_card,
    refresh_card,
)
from workflows.desk import Desk
from workflows.feature_requests import file_feature_request
from workflows.pleasantries import is_pleasantry
from workflows.rules import route_ticket
from workflows.sla import first_response
from workflows.triage import close_if_expired, requester_replied
from workflows.vocabulary import (
    ACTIVE_STATUSES,
    EventKind,
    IntakeSource,
    IssueType,
    Priority,
    TicketStatus,
)

logger = logging.getLogger(__name__)

MAX_DESCRIPTION = 3000
MAX_USERS_AFFECTED = 10_000_000
MAX_PRODUCT = 200  # the size of tickets.product


@dataclass(frozen=True)
class SlackMessage:
    """A human message as an event describes it."""

    channel: str
    ts: str
    user: str
    text: str
    thread_ts: str | None = None
    team: str | None = None
    is_external: bool = False
    # The event said the channel is shared with another workspace (`is_ext_shared_channel`).
    in_shared_channel: bool = False

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts


class Outcome(StrEnum):
    OPENED = "opened"
    EXISTING = "existing"
    ATTACHED = "attached"
    GROUPED = "grouped"
    NOTED = "noted"
    UPDATED = "updated"
    IGNORED = "ignored"


@dataclass(frozen=True)
class IntakeResult:
    outcome: Outcome
    ticket_id: int | None = None

    @property
    def ref(self) -> str | None:
        return f"#{self.ticket_id}" if self.ticket_id is not None else None


IGNORED = IntakeResult(Outcome.IGNORED)


def is_first_delivery(session: Session, event_id: str | None, *, desk: Desk) -> bool:
    """False for an event id already handled: Slack retried a delivery we did process."""
    if not event_id:
        return True
    return ProcessedEventRepository(session).remember(event_id, at=desk.clock.now())


def was_processed(session: Session, event_id: str) -> bool:
    """An id `is_first_delivery` remembered (and whose transaction committed)."""
    return ProcessedEventRepository(session).seen(event_id)


def receive_message(session: Session, desk: Desk, message: SlackMessage) -> IntakeResult:
    """A human message in a channel the bot is in: a reply joins its ticket's conversation; a new
    message in a watched channel opens a ticket; anything else is none of the desk's business."""
    if message.is_reply:
        return _attach_reply(session, desk, message)
    config = desk.config
    if _is_bridged(desk, message.channel, shared=message.in_shared_channel):
        return _receive_customer_message(session, desk, message)
    if config.intake_for(message.channel) is None:
        return IGNORED
    if is_pleasantry(message.text, config.pleasantries):
        return IGNORED
    return _open_from_message(session, desk, message, source=IntakeSource.MESSAGE)


def _is_bridged(desk: Desk, channel: str, *, shared: bool) -> bool:
    """A channel where customers read along: listed under customer_channels, or one Slack says
    is shared with another workspace (an intake channel that was later shared, say)."""
    return desk.config.customer_channel(channel) is not None or shared


def _has_no_room(desk: Desk, channel: str) -> bool:
    """A customer ticket needs the triage channel for its card: without one, nothing is opened
    (rather than posting agent buttons where the customer reads)."""
    if desk.config.triage_channel is not None:
        return False
    logger.warning("a question in shared channel %s, but no triage_channel is configured", channel)
    return True


def _receive_customer_message(session: Session, desk: Desk, message: SlackMessage) -> IntakeResult:
    """A new message in a customer channel. Only the customer's own people open tickets (ours
    talk to them there); a burst from one person is one ticket; "thanks!" is none."""
    if not message.is_external:
        return IGNORED
    if _has_no_room(desk, message.channel):
        return IGNORED
    posted_at = slack_ts_to_datetime(message.ts)
    window = desk.config.grouping_window
    recent = None
    if window:
        recent = TicketRepository(session).latest_from(
            message.channel, message.user, since=posted_at - window, until=posted_at
        )
        if recent is not None and recent.source_ts == message.ts:
            return IntakeResult(Outcome.EXISTING, recent.id)  # a retried delivery
        if recent is not None and recent.status not in ACTIVE_STATUSES:
            recent = None
    pleasantry = is_pleasantry(message.text, desk.config.pleasantries)
    if recent is not None:
        return _group_into(session, desk, recent, message, add_to_question=not pleasantry)
    if pleasantry:
        return IGNORED
    return _open_from_message(session, desk, message, source=IntakeSource.MESSAGE)


def _group_into(
    session: Session, desk: Desk, ticket: Ticket, message: SlackMessage, *, add_to_question: bool
) -> IntakeResult:
    """One more message of the burst that opened `ticket`: part of its question."""
    tickets = TicketRepository(session)
    posted_at = slack_ts_to_datetime(message.ts)
    if not _keep_message(tickets, ticket, message, posted_at=posted_at):
        return IntakeResult(Outcome.EXISTING, ticket.id)
    tickets.log(
        ticket, EventKind.GROUPED, at=posted_at, actor=message.user, data={"ts": message.ts}
    )
    now = desk.clock.now()
    if add_to_question:
        ticket.description = f"{ticket.description}\n{message.text}"[: MAX_DESCRIPTION * 4]
        refresh_card(session, ticket, now=now)
    mirror_to_room(
        session, ticket, Mirror.CUSTOMER, author=message.user, text=message.text, now=now
    )
    return IntakeResult(Outcome.GROUPED, ticket.id)


def receive_mention(session: Session, desk: Desk, message: SlackMessage) -> IntakeResult:
    """Someone @-mentioned the bot: in a ticket's thread that is conversation, anywhere else a
    request for help. The same message also arrives as a `message` event; whichever comes second
    finds the first one's work."""
    thread = message.thread_ts if message.is_reply else None
    if thread and TicketRepository(session).get_by_thread(message.channel, thread):
        return _attach_reply(session, desk, message)
    if is_pleasantry(message.text, desk.config.pleasantries):
        return IGNORED  # "@supportbot thanks!" asks for nothing
    return _open_from_message(session, desk, message, source=IntakeSource.MENTION)


def open_from_reaction(
    session: Session,
    desk: Desk,
    *,
    channel: str,
    ts: str,
    author: str,
    reactor: str,
    reacted_at: datetime,
    author_is_external: bool = False,
) -> IntakeResult:
    """The ticket reaction on a message. The event carries no text, so the message is read later
    (an outbox call) and the ticket's description filled in then."""
    tickets = TicketRepository(session)
    if tickets.get_by_card(channel, ts) is not None:
        return IGNORED  # a reaction on the bot's own card
    existing = tickets.get_by_source(channel, ts)
    if existing is not None:
        _note_also_requested(tickets, existing, reactor, at=reacted_at)
        return IntakeResult(Outcome.EXISTING, existing.id)
    bridged = _is_bridged(desk, channel, shared=False) or tickets.is_bridged_channel(channel)
    if bridged and _has_no_room(desk, channel):
        return IGNORED
    ticket = _new_ticket(
        desk,
        channel=channel,
        ts=ts,
        thread_ts=None,
        requester=author,
        reporter=reactor,
        is_external=author_is_external,
        description="",
        source=IntakeSource.REACTION,
        bridged=bridged,
    )
    if tickets.add(ticket) is None:
        existing = tickets.get_by_source(channel, ts)
        return IntakeResult(Outcome.EXISTING, existing.id if existing else None)
    now = desk.clock.now()
    tickets.log(ticket, EventKind.OPENED, at=reacted_at, actor=reactor, data={"via": "reaction"})
    fetch_source_message(session, ticket, channel=channel, ts=ts, now=now)
    _post_card(session, desk, ticket, channel=channel, thread_ts=ts)
    route_ticket(session, desk, ticket, at=reacted_at)
    return IntakeResult(Outcome.OPENED, ticket.id)


def open_from_shortcut(
    session: Session, desk: Desk, message: SlackMessage, *, reporter: str
) -> IntakeResult:
    """The "Create ticket" message shortcut. Says so, privately, when the message is a ticket."""
    result = _open_from_message(
        session, desk, message, source=IntakeSource.SHORTCUT, reporter=reporter
    )
    if result.outcome == Outcome.EXISTING and result.ticket_id is not None:
        post_ephemeral(
            session,
            channel=message.channel,
            user=reporter,
            message=Notice(Wording.ALREADY_A_TICKET, facts={"ref": f"#{result.ticket_id}"}),
            thread_ts=message.thread_ts,
            now=desk.clock.now(),
        )
    return result


# --- the intake modal --------------------------------------------------------------------------


@dataclass(frozen=True)
class IntakeAnswers:
    """The modal's raw answers, as strings, before validation."""

    issue_type: str | None
    priority: str | None
    product: str | None
    description: str | None
    users_affected: str | None = None
    site_down: str | None = None
    scale_shown: bool = False


@dataclass(frozen=True)
class IntakeRequest:
    """A validated /support submission."""

    requester: str
    channel: str
    issue_type: IssueType
    priority: Priority
    description: str
    product: str | None = None
    users_affected: int | None = None
    site_down: bool | None = None
    requester_team: str | None = None


@dataclass(frozen=True)
class IntakeCheck:
    """Validation of the modal: errors by field, or `needs_scale` when the form must grow first."""

    errors: dict[str, str] = field(default_factory=dict)
    needs_scale: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors and not self.needs_scale


def needs_scale(issue_type: str | None, priority: str | None) -> bool:
    """Serious technical issues ask how many users are affected and whether the site is down."""
    return issue_type == IssueType.TECHNICAL_ISSUE and priority in (Priority.HIGH, Priority.URGENT)


def check_intake(answers: IntakeAnswers) -> IntakeCheck:
    errors: dict[str, str] = {}
    if answers.issue_type not in {item.value for item in IssueType}:
        errors["issue_type"] = "Choose what kind of request this is."
    if answers.priority not in {item.value for item in Priority}:
        errors["priority"] = "Choose a priority."
    description = (answers.description or "").strip()
    if not description:
        errors["description"] = "Describe the problem or question."
    elif len(description) > MAX_DESCRIPTION:
        errors["description"] = f"Keep the description under {MAX_DESCRIPTION} characters."
    if len((answers.product or "").strip()) > MAX_PRODUCT:
        errors["product"] = f"Keep the product name under {MAX_PRODUCT} characters."
    if needs_scale(answers.issue_type, answers.priority):
        if not answers.scale_shown:
            return IntakeCheck(errors=errors, needs_scale=True)
        raw = (answers.users_affected or "").strip()
        if not raw:
            errors["users_affected"] = "How many users are affected? An estimate is fine."
        elif not raw.isdigit() or not 1 <= int(raw) <= MAX_USERS_AFFECTED:
            errors["users_affected"] = "Enter a whole number of users, 1 or more."
        if answers.site_down not in ("yes", "no"):
            errors["site_down"] = "Tell us whether the site is down."
    return IntakeCheck(errors=errors)


def to_request(
    answers: IntakeAnswers, *, requester: str, channel: str, requester_team: str | None = None
) -> IntakeRequest:
    """Turn answers that passed `check_intake` into a request."""
    scale = needs_scale(answers.issue_type, answers.priority)
    return IntakeRequest(
        requester=requester,
        channel=channel,
        issue_type=IssueType(answers.issue_type or ""),
        priority=Priority(answers.priority or ""),
        description=(answers.description or "").strip(),
        product=(answers.product or "").strip() or None,
        users_affected=int(answers.users_affected or 0) if scale else None,
        site_down=(answers.site_down == "yes") if scale else None,
        requester_team=requester_team,
    )


def open_from_modal(session: Session, desk: Desk, request: IntakeRequest) -> IntakeResult:
    """A /support submission. The card becomes the ticket's root message in the channel the
    command came from, or a DM when the bot can't post there."""
    ticket = _new_ticket(
        desk,
        channel=None,
        ts=None,
        thread_ts=None,
        requester=request.requester,
        reporter=request.requester,
        is_external=False,
        description=request.description,
        source=IntakeSource.MODAL,
        queue_channel=request.channel,
        created_at=desk.clock.now(),
    )
    ticket.issue_type = request.issue_type
    ticket.priority = request.priority
    ticket.product = request.product
    ticket.users_affected = request.users_affected
    ticket.site_down = request.site_down
    ticket.requester_team = request.requester_team
    tickets = TicketRepository(session)
    tickets.add(ticket)
    tickets.log(
        ticket,
        EventKind.OPENED,
        at=ticket.created_at,
        actor=request.requester,
        data={"via": "modal"},
    )
    post_ticket_card(
        session,
        ticket,
        channel=request.channel,
        thread_ts=None,
        fallback_user=request.requester,
        now=desk.clock.now(),
    )
    route_ticket(session, desk, ticket, at=ticket.created_at)
    if ticket.issue_type == IssueType.FEATURE_REQUEST:
        file_feature_request(session, desk, ticket, by=None, at=ticket.created_at)
    else:
        offer_answers(session, desk, ticket)
    return IntakeResult(Outcome.OPENED, ticket.id)


def encode_modal_context(*, channel: str) -> str:
    """The modal's private_metadata: where the card goes once the form is submitted."""
    return json.dumps({"channel": channel})


def decode_modal_context(private_metadata: str | None) -> str | None:
    try:
        data = json.loads(private_metadata or "{}")
    except json.JSONDecodeError:
        return None
    channel = data.get("channel") if isinstance(data, dict) else None
    return channel if isinstance(channel, str) and channel else None


# --- edits and deletions -----------------------------------------------------------------------


def edit_message(
    session: Session, desk: Desk, *, channel: str, ts: str, text: str, edited_at: datetime
) -> IntakeResult:
    """An edit of a ticket's source message updates its description; of a reply, the reply."""
    tickets = TicketRepository(session)
    ticket = tickets.get_by_source(channel, ts)
    if ticket is not None:
        if ticket.description == text:
            # Slack also sends message_changed when a thread gains a reply; nothing was edited.
            return IntakeResult(Outcome.IGNORED, ticket.id)
        tickets.log(
            ticket,
            EventKind.DESCRIPTION_EDITED,
            at=edited_at,
            actor=ticket.requester,
            data={"previous": ticket.description},
        )
        ticket.description = text
        ticket.updated_at = max(ticket.updated_at, edited_at)
        if ticket.card_ts == ticket.source_ts or ticket.bridged:
            refresh_card(session, ticket, now=desk.clock.now())  # the card quotes the question
        route_ticket(session, desk, ticket, at=edited_at)
        return IntakeResult(Outcome.UPDATED, ticket.id)
    kept = tickets.get_message(channel, ts)
    if kept is None or kept.text == text:
        return IGNORED
    kept.text = text
    kept.edited_at = edited_at
    ticket = tickets.get(kept.ticket_id)
    if ticket is not None:
        tickets.log(
            ticket, EventKind.MESSAGE_EDITED, at=edited_at, actor=kept.author, data={"ts": ts}
        )
    return IntakeResult(Outcome.UPDATED, kept.ticket_id)


def delete_message(
    session: Session, desk: Desk, *, channel: str, ts: str, deleted_at: datetime
) -> IntakeResult:
    """Deletions are recorded; the ticket keeps what was asked, so nothing is lost."""
    tickets = TicketRepository(session)
    ticket = tickets.get_by_source(channel, ts)
    if ticket is not None:
        tickets.log(ticket, EventKind.SOURCE_DELETED, at=deleted_at, data={"ts": ts})
        return IntakeResult(Outcome.UPDATED, ticket.id)
    kept = tickets.get_message(channel, ts)
    if kept is None:
        return IGNORED
    kept.deleted_at = deleted_at
    ticket = tickets.get(kept.ticket_id)
    if ticket is not None:
        tickets.log(ticket, EventKind.MESSAGE_DELETED, at=deleted_at, data={"ts": ts})
    return IntakeResult(Outcome.UPDATED, kept.ticket_id)


# --- internals ---------------------------------------------------------------------------------


def _open_from_message(
    session: Session,
    desk: Desk,
    message: SlackMessage,
    *,
    source: IntakeSource,
    reporter: str | None = None,
    follows: Ticket | None = None,
) -> IntakeResult:
    tickets = TicketRepository(session)
    if tickets.get_by_card(message.channel, message.ts) is not None:
        return IGNORED
    existing = tickets.get_by_source(message.channel, message.ts)
    if existing is not None:
        if reporter and reporter != existing.requester:
            _note_also_requested(tickets, existing, reporter, at=desk.clock.now())
        return IntakeResult(Outcome.EXISTING, existing.id)
    bridged = _is_bridged(desk, message.channel, shared=message.in_shared_channel)
    if follows is not None:
        bridged = bridged or follows.bridged
    if bridged and _has_no_room(desk, message.channel):
        return IGNORED
    ticket = _new_ticket(
        desk,
        channel=message.channel,
        ts=message.ts,
        thread_ts=message.thread_ts if message.is_reply else None,
        requester=message.user,
        reporter=reporter or message.user,
        is_external=message.is_external,
        description=message.text,
        source=source,
        requester_team=message.team,
        bridged=bridged,
    )
    if follows is not None:
        # A follow-up stays where its closed ticket was, before any rule or assignment looks.
        ticket.queue = follows.queue
        ticket.customer = ticket.customer or follows.customer
        ticket.customer_tier = ticket.customer_tier or follows.customer_tier
    if tickets.add(ticket) is None:
        existing = tickets.get_by_source(message.channel, message.ts)
        return IntakeResult(Outcome.EXISTING, existing.id if existing else None)
    tickets.log(
        ticket,
        EventKind.OPENED,
        at=ticket.created_at,
        actor=reporter or message.user,
        data={"via": source.value},
    )
    if follows is not None:
        tickets.log(
            ticket,
            EventKind.FOLLOW_UP,
            at=ticket.created_at,
            actor=message.user,
            data={"follows": follows.id},
        )
    _post_card(session, desk, ticket, channel=message.channel, thread_ts=ticket.thread_ts)
    route_ticket(session, desk, ticket, at=ticket.created_at)
    if source in (IntakeSource.MESSAGE, IntakeSource.MENTION):
        # Someone asked: the knowledge base may answer. (A ticket an agent made of a message, by
        # shortcut or reaction, is the agent's to answer.)
        offer_answers(session, desk, ticket)
    return IntakeResult(Outcome.OPENED, ticket.id)


def _post_card(
    session: Session, desk: Desk, ticket: Ticket, *, channel: str, thread_ts: str | None
) -> None:
    """The card goes in the ticket's thread, unless customers read that thread: then it is a new
    message in the triage channel (its thread the agents' room) and the customer is told, in
    words meant for them, that their question was received."""
    now = desk.clock.now()
    if not ticket.bridged:
        post_ticket_card(
            session, ticket, channel=channel, thread_ts=thread_ts, fallback_user=None, now=now
        )
        return
    assert desk.config.triage_channel is not None
    fetch_permalink(session, ticket, now=now)  # first: the triage card links the customer thread
    post_ticket_card(
        session,
        ticket,
        channel=desk.config.triage_channel,
        thread_ts=None,
        fallback_user=None,
        now=now,
    )
    if desk.config.acknowledgement_for(channel) is not None:
        post_thread_notice(session, ticket, "acknowledged", now=now)


def _attach_reply(session: Session, desk: Desk, message: SlackMessage) -> IntakeResult:
    assert message.thread_ts is not None
    tickets = TicketRepository(session)
    ticket = tickets.get_by_thread(message.channel, message.thread_ts)
    if ticket is None:
        return IGNORED
    if ticket.bridged and message.channel == ticket.card_channel:
        return _note_in_room(session, desk, ticket, message)
    posted_at = slack_ts_to_datetime(message.ts)
    agent = is_agent(session, desk, message.user, is_external=message.is_external)
    # In a customer thread, any of the customer's people speaks for the requester.
    requester_side = message.user == ticket.requester or (ticket.bridged and message.is_external)
    pleasantry = requester_side and is_pleasantry(message.text, desk.config.pleasantries)
    if not agent and ticket.status == TicketStatus.RESOLVED:
        # The window may have passed before the closing job got to it.
        close_if_expired(session, desk, ticket, now=posted_at)
    if ticket.status == TicketStatus.CLOSED and not agent:
        if pleasantry:
            return IGNORED  # "thanks!" under a closed ticket asks for nothing
        return _open_follow_up(session, desk, message, closed=ticket)
    if not _keep_message(tickets, ticket, message, posted_at=posted_at):
        return IntakeResult(Outcome.EXISTING, ticket.id)
    if ticket.bridged:
        kind = Mirror.CUSTOMER if message.is_external else Mirror.AGENT
        mirror_to_room(
            session, ticket, kind, author=message.user, text=message.text, now=desk.clock.now()
        )
    if agent and message.user != ticket.requester:
        if ticket.first_response_at is None:
            # A reply in the thread is what the requester sees; a claim or a card update isn't.
            first_response(session, desk, ticket, by=message.user, at=posted_at)
    elif requester_side and not pleasantry:
        # "thanks!" after a resolve is not "it's still broken"; "ok" is not the answer awaited.
        requester_replied(session, desk, ticket, user=message.user, at=posted_at)
    return IntakeResult(Outcome.ATTACHED, ticket.id)


def _note_in_room(
    session: Session, desk: Desk, ticket: Ticket, message: SlackMessage
) -> IntakeResult:
    """Said in a customer ticket's triage thread: an internal note, kept and never sent on."""
    kept = NoteRepository(session).add(
        TicketNote(
            ticket_id=ticket.id,
            author=message.user,
            text=message.text,
            created_at=slack_ts_to_datetime(message.ts),
            channel=message.channel,
            ts=message.ts,
        )
    )
    if kept is None:
        return IntakeResult(Outcome.EXISTING, ticket.id)
    TicketRepository(session).log(
        ticket,
        EventKind.NOTE_ADDED,
        at=kept.created_at,
        actor=message.user,
        data={"via": "triage_thread", "ts": message.ts},
    )
    return IntakeResult(Outcome.NOTED, ticket.id)


def _keep_message(
    tickets: TicketRepository, ticket: Ticket, message: SlackMessage, *, posted_at: datetime
) -> bool:
    """Add a message to the ticket's conversation; False when it is already there (a retry)."""
    kept = tickets.add_message(
        TicketMessage(
            ticket_id=ticket.id,
            channel=message.channel,
            ts=message.ts,
            author=message.user,
            author_is_external=message.is_external,
            text=message.text,
            posted_at=posted_at,
        )
    )
    if kept is not None:
        ticket.updated_at = max(ticket.updated_at, posted_at)
    return kept is not None


def _open_follow_up(
    session: Session, desk: Desk, message: SlackMessage, *, closed: Ticket
) -> IntakeResult:
    """A reply in a closed ticket's thread: after the reopen window it is a new ticket, with its
    card in the same thread and a link to the old one in the log."""
    return _open_from_message(session, desk, message, source=IntakeSource.MESSAGE, follows=closed)


def _note_also_requested(
    tickets: TicketRepository, ticket: Ticket, user: str, *, at: datetime
) -> None:
    tickets.log(ticket, EventKind.ALSO_REQUESTED, at=at, actor=user)


def _new_ticket(
    desk: Desk,
    *,
    channel: str | None,
    ts: str | None,
    thread_ts: str | None,
    requester: str,
    reporter: str,
    is_external: bool,
    description: str,
    source: IntakeSource,
    queue_channel: str | None = None,
    requester_team: str | None = None,
    created_at: datetime | None = None,
    bridged: bool = False,
) -> Ticket:
    config = desk.config
    where = queue_channel or channel or ""
    intake = config.intake_for(where)
    customer = config.customer_channel(where)
    created = created_at or (slack_ts_to_datetime(ts) if ts else desk.clock.now())
    return Ticket(
        source_channel=channel,
        source_ts=ts,
        source_thread_ts=thread_ts,
        intake_source=source,
        requester=requester,
        requester_team=requester_team,
        requester_is_external=is_external,
        reporter=reporter,
        queue=intake.queue if intake else config.default_queue,
        customer=customer.customer if customer else None,
        customer_tier=customer.tier if customer else None,
        status=TicketStatus.OPEN,
        priority=config.default_priority,
        description=description[: MAX_DESCRIPTION * 4],
        escalated=False,
        bridged=bridged,
        created_at=created,
        updated_at=created,
    )
