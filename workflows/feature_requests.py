"""Feature requests: the board where each distinct request has one card, and who asked for it.

A ticket of type feature request (the /support form, an Edit that sets the type, the card's
**Feature request** button) is *filed* (`file_feature_request`), once: a ticket asks for one
request (its link's `ticket_id` is unique). When requests of the same product (or of none) that
aren't declined read like the ticket's question (`similarity`), the agents are offered them in the
ticket's room, each with **Link**, and **New request**; otherwise a new request is opened with the
ticket as its first link and its card is owed on the board (`feature_requests.channel`).

The board card is rendered from the database when it is sent: requesters, their customers and
tiers, the tickets, the status and a status menu. Agents and the board's `owners` (product people)
set the status; anyone else is told privately and nothing changes. **Shipped** asks for a release
note in a modal; on submission every link not told yet is marked `notified_at` in the same
transaction and owes its requester one message, in the ticket's requester-visible thread (a
customer's own thread for a customer ticket) or, for an internal ticket without a reachable
thread, by DM. The shipping UPDATE is conditional and each link is claimed by its own conditional
UPDATE, so a repeated or retried submission, or shipping again after a status change, tells no
one twice; a requester linked to a request that shipped already is told at once.

What a customer reads says what *they* asked for (the first line of their own ticket), never the
request's title: that was written by whoever asked first, maybe another customer.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from storage.feature_requests import FeatureRequestRepository
from storage.models import FeatureRequest, FeatureRequestLink, Ticket
from storage.repositories import OutboxRepository, TicketRepository
from workflows.agents import is_agent
from workflows.delivery import (
    Notice,
    Purpose,
    Wording,
    tell_privately,
)
from workflows.desk import Desk
from workflows.vocabulary import EventKind, FeatureRequestStatus

if TYPE_CHECKING:
    from workflows.knowledge import Tokenizer

logger = logging.getLogger(__name__)

MAX_TITLE = 150
MAX_RELEASE_NOTE = 2000
MAX_OFFERED = 3  # look-alike requests listed in an offer
CANDIDATE_POOL = 500  # most recently active requests compared with a new one
# Cosine of stemmed-word sets at or above which two texts read as the same request: "dark mode
# for the dashboard: our reps demo it in dim rooms" and "could you add a dark mode to the
# dashboard? our night shift finds it too bright" score 0.47; texts sharing an incidental word or
# two ("dashboard"; "export ... CSV" of audit logs and of invoices) score 0.40 at most. An offer
# wrongly made costs the agent one click (New request); one missed puts a duplicate on the board.
# See tests/test_feature_requests.py.
SIMILARITY_THRESHOLD = 0.42


class Filed(StrEnum):
    """What filing a ticket did."""

    NEW = "new"  # a new request, with its card owed on the board
    OFFERED = "offered"  # look-alikes offered to the agents in the ticket's room
    ALREADY = "already"  # the ticket was on the board already


class BoardRefusal(StrEnum):
    """Why a press changed nothing (each has its private explanation)."""

    NO_BOARD = "no_board"
    NO_TICKET = "no_ticket"
    NO_REQUEST = "no_request"
    NOT_AGENT = "not_agent"
    NOT_ALLOWED = "not_allowed"  # a status, set by someone neither agent nor owner
    ALREADY_LINKED = "already_linked"
    CLOSED = "closed"
    MERGED = "merged"


@dataclass(frozen=True)
class Press:
    """Who pressed, when (the action's time), and where: private answers are said there, and an
    offer pressed is updated there."""

    user: str
    at: datetime
    user_is_external: bool = False
    channel: str | None = None
    message_ts: str | None = None
    thread_ts: str | None = None


@dataclass(frozen=True)
class LinkChoice:
    """**Link** on an offer (`request_id`) or **New request** (`request_id` None)."""

    ticket_id: int
    request_id: int | None
    press: Press


@dataclass(frozen=True)
class StatusChoice:
    request_id: int
    status: FeatureRequestStatus
    press: Press


@dataclass(frozen=True)
class ShipForm:
    """What the Shipped modal opens with."""

    request_id: int
    ref: str
    title: str
    requester_count: int
    release_note: str | None


@dataclass(frozen=True)
class ShipSubmission:
    request_id: int
    user: str
    release_note: str
    at: datetime
    user_is_external: bool = False


@dataclass(frozen=True)
class BoardResult:
    done: bool
    refusal: BoardRefusal | None = None
    request_id: int | None = None
    ref: str = ""  # the ticket's or the request's, for the refusal's wording
    request_ref: str = ""


def requesters_of(links: list[FeatureRequestLink]) -> list[str]:
    """Distinct requesters, in the order they asked."""
    return list(dict.fromkeys(link.requester for link in links))


# --- similarity --------------------------------------------------------------------------------


@cache
def _tokenizer() -> Tokenizer:
    from workflows.knowledge import Tokenizer

    return Tokenizer()


def words_of(text: str) -> frozenset[str]:
    """The text's stemmed words without stop words (the knowledge base's tokenizer)."""
    return frozenset(_tokenizer()(text or ""))


def cosine(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / math.sqrt(len(a) * len(b))


def similarity(question: str, request: FeatureRequest) -> float:
    """How alike a ticket's question and a request read, from 0 to 1.

    The cosine of the two texts' sets of stemmed words (stop words and courtesies dropped), taken
    against the request's title alone and against its title and description, whichever is
    higher: a short question that matches the title is not diluted by a long first description.
    Why not BM25, as the knowledge base does: its scores have no scale of their own and its idf
    needs a corpus, while the pool here is a handful of requests of one product that changes with
    every filing. A set cosine is scale-free, symmetric, and unlike the overlap coefficient does
    not call a one-word question a perfect match for everything that contains the word.
    """
    asked = words_of(question)
    title = words_of(request.title)
    whole = title | words_of(request.description)
    return max(cosine(asked, title), cosine(asked, whole))


def similar_requests(
    session: Session, ticket: Ticket, *, limit: int = MAX_OFFERED
) -> list[FeatureRequest]:
    """Requests the ticket may duplicate, best first: the same product (a ticket with a product
    matches requests of it or of none; one without matches all), not declined, and at least
    `SIMILARITY_THRESHOLD` alike."""
    if not words_of(ticket.description):
        return []
    pool = FeatureRequestRepository(session).candidates(
        product=ticket.product,
        excluding=[FeatureRequestStatus.DECLINED.value],
        limit=CANDIDATE_POOL,
    )
    scored = [(similarity(ticket.description, request), request) for request in pool]
    kept = [(score, request) for score, request in scored if score >= SIMILARITY_THRESHOLD]
    kept.sort(key=lambda item: (-item[0], -len(requesters_of(list(item[1].links))), -item[1].id))
    return [request for _, request in kept[:limit]]


def title_from(description: str, *, fallback: str) -> str:
    """A request's title: the question's first line, at most `MAX_TITLE` characters."""
    first = next((line.strip() for line in (description or "").splitlines() if line.strip()), "")
    if not first:
        return fallback
    return first if len(first) <= MAX_TITLE else first[: MAX_TITLE - 1].rstrip() + "…"


# --- filing ------------------------------------------------------------------------------------


def file_feature_request(
    session: Session, desk: Desk, ticket: Ticket, *, by: str | None, at: datetime
) -> Filed | None:
    """`ticket` is (now) a feature request: put it on the board, or offer the agent the
    existing request it looks like. None: there is no board (or the ticket was merged away)."""
    if desk.config.feature_requests is None or ticket.merged_into_id is not None:
        return None
    if FeatureRequestRepository(session).link_for_ticket(ticket.id) is not None:
        return Filed.ALREADY
    tickets = TicketRepository(session)
    if tickets.events_of_kind(ticket.id, EventKind.FEATURE_REQUEST_OFFERED):
        # Offered already (a double click on Feature request, or Slack's retry of it): the
        # offer in the room still stands, with its buttons.
        return Filed.OFFERED
    candidates = similar_requests(session, ticket)
    if candidates:
        tickets.log(
            ticket,
            EventKind.FEATURE_REQUEST_OFFERED,
            at=at,
            actor=by,
            data={"candidates": [request.ref for request in candidates]},
        )
        # The offer is rendered when sent (counts and statuses as they are then), in the room
        # as it is then: a /support ticket's thread exists once its card, owed before, landed.
        OutboxRepository(session).enqueue(
            "chat.postMessage",
            {"_ticket": ticket.id, "_candidates": [request.id for request in candidates]},
            now=desk.clock.now(),
            purpose=Purpose.FEATURE_REQUEST_OFFER,
            ticket_id=ticket.id,
        )
        return Filed.OFFERED
    request = _open_request(session, desk, ticket, by=by, at=at)
    return Filed.NEW if request is not None else Filed.ALREADY


def _open_request(
    session: Session, desk: Desk, ticket: Ticket, *, by: str | None, at: datetime
) -> FeatureRequest | None:
    """A new request with `ticket` as its first link, its card owed; None when the ticket got
    linked meanwhile (nothing is created then)."""
    request = FeatureRequest(
        title=title_from(ticket.description, fallback=f"Feature request from {ticket.ref}"),
        description=ticket.description or "",
        product=ticket.product,
        status=FeatureRequestStatus.UNDER_REVIEW.value,
        created_by=by or ticket.requester,
        created_at=at,
        updated_at=at,
    )
    opened = FeatureRequestRepository(session).open(request, _link_of(desk, ticket, by=by, at=at))
    if opened is None:
        return None
    _log_filed(session, ticket, opened, by=by, at=at, via="new")
    OutboxRepository(session).enqueue(
        "chat.postMessage",
        {"_request": opened.id},
        now=desk.clock.now(),
        purpose=Purpose.FEATURE_REQUEST_CARD,
        ticket_id=ticket.id,
        coalesce_key=_card_key(opened.id),
    )
    return opened


def _link_of(
    desk: Desk, ticket: Ticket, *, by: str | None, at: datetime, request_id: int | None = None
) -> FeatureRequestLink:
    link = FeatureRequestLink(
        ticket_id=ticket.id,
        requester=ticket.requester,
        customer=ticket.customer,
        tier=ticket.customer_tier or desk.config.customer_tier(ticket.customer),
        linked_by=by,
        linked_at=at,
    )
    if request_id is not None:
        link.feature_request_id = request_id
    return link


def _log_filed(
    session: Session,
    ticket: Ticket,
    request: FeatureRequest,
    *,
    by: str | None,
    at: datetime,
    via: str,
) -> None:
    TicketRepository(session).log(
        ticket,
        EventKind.FEATURE_REQUEST_FILED,
        at=at,
        actor=by,
        data={"request": request.id, "ref": request.ref, "via": via},
    )


# --- the offer's Link and New request ----------------------------------------------------------


def choose_request(session: Session, desk: Desk, choice: LinkChoice) -> BoardResult:
    """**Link** adds the ticket's requester and customer to the chosen request; **New request**
    files the ticket as a request of its own. Agents only; a ticket on the board already stays
    where it is (the presser is told where)."""
    press = choice.press
    ref = f"#{choice.ticket_id}"
    if desk.config.feature_requests is None:
        return refuse_press(session, desk, press, BoardRefusal.NO_BOARD, ref=ref)
    if not is_agent(session, desk, press.user, is_external=press.user_is_external):
        return refuse_press(session, desk, press, BoardRefusal.NOT_AGENT, ref=ref)
    ticket = TicketRepository(session).get(choice.ticket_id)
    if ticket is None:
        return refuse_press(session, desk, press, BoardRefusal.NO_TICKET, ref=ref)
    if ticket.merged_into_id is not None:
        return refuse_press(session, desk, press, BoardRefusal.MERGED, ref=ref)
    requests = FeatureRequestRepository(session)
    existing = requests.link_for_ticket(ticket.id)
    if existing is not None:
        return _already_linked(session, desk, press, ticket, existing)
    if choice.request_id is None:
        opened = _open_request(session, desk, ticket, by=press.user, at=press.at)
        if opened is None:
            return _already_linked(session, desk, press, ticket, None)
        _settle_offer(session, desk, ticket, opened, press, outcome="new")
        return BoardResult(True, request_id=opened.id, ref=ref, request_ref=opened.ref)
    # Locked like a Shipped submission: a link made while the request ships is either seen by
    # the shipping (and told with the others) or sees it shipped (and is told at once).
    request = requests.lock(choice.request_id)
    if request is None:
        return refuse_press(session, desk, press, BoardRefusal.NO_REQUEST, ref=ref)
    link = requests.add_link(
        _link_of(desk, ticket, by=press.user, at=press.at, request_id=request.id)
    )
    if link is None:
        return _already_linked(session, desk, press, ticket, None)
    requests.touch(request, at=press.at)
    _log_filed(session, ticket, request, by=press.user, at=press.at, via="link")
    if request.status == FeatureRequestStatus.SHIPPED:
        _tell_shipped(session, desk, request, link, at=press.at)
    refresh_board_card(session, desk, request)
    _settle_offer(session, desk, ticket, request, press, outcome="linked")
    return BoardResult(True, request_id=request.id, ref=ref, request_ref=request.ref)


def _already_linked(
    session: Session,
    desk: Desk,
    press: Press,
    ticket: Ticket,
    link: FeatureRequestLink | None,
) -> BoardResult:
    link = link or FeatureRequestRepository(session).link_for_ticket(ticket.id)
    request_ref = f"FR-{link.feature_request_id}" if link is not None else "a feature request"
    return refuse_press(
        session,
        desk,
        press,
        BoardRefusal.ALREADY_LINKED,
        ref=ticket.ref,
        request_ref=request_ref,
    )


def _settle_offer(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    request: FeatureRequest,
    press: Press,
    *,
    outcome: str,
) -> None:
    """The offer pressed shows what was chosen, by whom, instead of its buttons."""
    if not press.channel or not press.message_ts:
        return
    OutboxRepository(session).enqueue(
        "chat.update",
        {
            "channel": press.channel,
            "ts": press.message_ts,
            "_ticket": ticket.id,
            "_request": request.id,
            "_outcome": outcome,
            "_by": press.user,
        },
        now=desk.clock.now(),
        purpose=Purpose.FEATURE_REQUEST_OFFER,
        ticket_id=ticket.id,
    )


# --- status ------------------------------------------------------------------------------------


def may_set_status(session: Session, desk: Desk, user: str, *, is_external: bool) -> bool:
    """Agents and the board's owners (product people); never someone from another workspace."""
    board = desk.config.feature_requests
    if board is None or is_external or not user:
        return False
    return user in board.owners or is_agent(session, desk, user)


def choose_status(session: Session, desk: Desk, choice: StatusChoice) -> BoardResult:
    """A pick in a card's status menu (in the ack). Under review, planned and declined are set
    at once; shipped waits for the release note (its modal opens in the lazy listener). Whoever
    may not set it is told privately where they picked, and the card is sent again, so their
    menu shows the status it really has."""
    press = choice.press
    requests = FeatureRequestRepository(session)
    request = requests.get(choice.request_id)
    request_ref = f"FR-{choice.request_id}"
    if request is None:
        return refuse_press(session, desk, press, BoardRefusal.NO_REQUEST, request_ref=request_ref)
    if not may_set_status(session, desk, press.user, is_external=press.user_is_external):
        refresh_board_card(session, desk, request)
        return refuse_press(session, desk, press, BoardRefusal.NOT_ALLOWED, request_ref=request_ref)
    if choice.status == FeatureRequestStatus.SHIPPED:
        return BoardResult(False, request_id=request.id, request_ref=request_ref)
    if requests.set_status(request, choice.status.value, by=press.user, at=press.at):
        logger.info("%s: status %s, set by %s", request.ref, choice.status.value, press.user)
        refresh_board_card(session, desk, request)
    return BoardResult(True, request_id=request.id, request_ref=request_ref)


def ship_form_for(session: Session, desk: Desk, choice: StatusChoice) -> ShipForm | None:
    """The Shipped modal's content; None for anyone who may not ship (told in the ack)."""
    press = choice.press
    if choice.status != FeatureRequestStatus.SHIPPED:
        return None
    if not may_set_status(session, desk, press.user, is_external=press.user_is_external):
        return None
    request = FeatureRequestRepository(session).get(choice.request_id)
    if request is None:
        return None
    return ShipForm(
        request_id=request.id,
        ref=request.ref,
        title=request.title,
        requester_count=len(requesters_of(list(request.links))),
        release_note=request.release_note,
    )


def check_release_note(text: str | None) -> str | None:
    """The Shipped modal's error, or None when the note can be sent."""
    note = (text or "").strip()
    if not note:
        return "Write the release note: every requester is told it."
    if len(note) > MAX_RELEASE_NOTE:
        return (
            f"Keep the release note under {MAX_RELEASE_NOTE} characters (this one has {len(note)})."
        )
    return None


def ship_request(session: Session, desk: Desk, submission: ShipSubmission) -> BoardResult:
    """The request shipped (the caller checked the note with `check_release_note`): its status,
    time and release note, and each requester not told yet owed one message. A refusal is the
    modal's error, so it is not told privately as well."""
    requests = FeatureRequestRepository(session)
    request_ref = f"FR-{submission.request_id}"
    request = requests.lock(submission.request_id)
    if request is None:
        return BoardResult(False, BoardRefusal.NO_REQUEST, request_ref=request_ref)
    allowed = may_set_status(
        session, desk, submission.user, is_external=submission.user_is_external
    )
    if not allowed:
        return BoardResult(False, BoardRefusal.NOT_ALLOWED, request_ref=request_ref)
    shipped = requests.ship(
        request,
        status=FeatureRequestStatus.SHIPPED.value,
        release_note=submission.release_note.strip(),
        by=submission.user,
        at=submission.at,
    )
    if not shipped:
        return BoardResult(True, request_id=request.id, request_ref=request_ref)  # a resubmission
    logger.info("%s shipped, set by %s", request.ref, submission.user)
    for link in requests.unnotified_links(request.id):
        _tell_shipped(session, desk, request, link, at=submission.at)
    refresh_board_card(session, desk, request)
    return BoardResult(True, request_id=request.id, request_ref=request_ref)


def _tell_shipped(
    session: Session,
    desk: Desk,
    request: FeatureRequest,
    link: FeatureRequestLink,
    *,
    at: datetime,
) -> None:
    """Owe the link's requester the news, unless someone already did (the claim is a conditional
    UPDATE of `notified_at`, in the transaction that ships or links)."""
    if not FeatureRequestRepository(session).mark_notified(link, at=at):
        return
    # The note as shipped now goes with the row: a later re-ship with another note tells the
    # next requesters that one, never changes what this one is told.
    OutboxRepository(session).enqueue(
        "chat.postMessage",
        {"_link": link.id, "_note": request.release_note or ""},
        now=desk.clock.now(),
        purpose=Purpose.FEATURE_REQUEST_SHIPPED,
        ticket_id=link.ticket_id,
    )
    ticket = TicketRepository(session).get(link.ticket_id)
    if ticket is not None:
        TicketRepository(session).log(
            ticket,
            EventKind.FEATURE_REQUEST_SHIPPED,
            at=at,
            actor=request.status_by,
            data={"request": request.id, "ref": request.ref},
        )


# --- the board card ----------------------------------------------------------------------------


def _card_key(request_id: int) -> str:
    return f"feature_request:{request_id}"


def refresh_board_card(session: Session, desk: Desk, request: FeatureRequest) -> None:
    """The request changed: its card shows it (a burst is one `chat.update`, rendered when
    sent). Card rows go with the request's first ticket: a ticket's rows are sent in order, so an
    update never overtakes the post it updates (rows without a ticket are not ordered)."""
    OutboxRepository(session).enqueue_coalesced(
        "chat.update",
        {"_request": request.id},
        coalesce_key=_card_key(request.id),
        now=desk.clock.now(),
        purpose=Purpose.FEATURE_REQUEST_CARD,
        ticket_id=FeatureRequestRepository(session).first_ticket_id(request.id),
    )


def refuse_press(
    session: Session,
    desk: Desk,
    press: Press,
    refusal: BoardRefusal,
    *,
    ref: str = "",
    request_ref: str = "",
) -> BoardResult:
    tell_privately(
        session,
        user=press.user,
        message=Notice(
            Wording.FEATURE_REQUEST, refusal.value, {"ref": ref, "request_ref": request_ref}
        ),
        now=desk.clock.now(),
        channel=press.channel,
        thread_ts=press.thread_ts,
    )
    return BoardResult(False, refusal, ref=ref, request_ref=request_ref)
