"""Messages and the modal of the feature-request board: a request's card on the board, the
duplicate offer in a ticket's room, what a requester is told when their request ships, the
Shipped modal, and the private notices.

Pure functions of plain data (the card's model is read from the request and its tickets here, as
`templates.cards` reads a ticket); every value a person wrote passes through the `mrkdwn` filter.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from templates.ids import ActionId, BlockId, CallbackId
from templates.render import render_message, render_view
from workflows.feature_requests import requesters_of
from workflows.vocabulary import FEATURE_REQUEST_STATUS_LABELS, FeatureRequestStatus

if TYPE_CHECKING:
    from storage.models import FeatureRequest, FeatureRequestLink, Ticket

# How many of each list a card shows before "and N more": a field holds 2,000 characters, and
# a cut in the middle of `<https://…|#42>` would break the link.
MAX_LISTED_REQUESTERS = 40
MAX_LISTED_CUSTOMERS = 20
MAX_LISTED_TICKETS = 15
MAX_CARD_DESCRIPTION = 600
MAX_RELEASE_NOTE_SHOWN = 2500


@dataclass(frozen=True)
class Listed:
    """The first items of a list, and how many more there are."""

    shown: list[Any]
    more: int


@dataclass(frozen=True)
class BoardCard:
    request_id: int
    ref: str
    title: str
    description: str | None  # shown when it says more than the title
    product: str | None
    status: str
    status_label: str
    requester_count: int
    requesters: Listed  # user ids
    customers: Listed  # "Acme Corp · enterprise"
    tickets: Listed  # {"ref", "permalink"}
    release_note: str | None  # once shipped
    status_by: str | None


@dataclass(frozen=True)
class Candidate:
    """A request offered as the one a new ticket may duplicate."""

    request_id: int
    ref: str
    title: str
    product: str | None
    status_label: str
    requester_count: int


def _listed(items: list[Any], limit: int) -> Listed:
    return Listed(items[:limit], max(0, len(items) - limit))


def status_label(status: str) -> str:
    return FEATURE_REQUEST_STATUS_LABELS[FeatureRequestStatus(status)]


def status_value(request_id: int, status: FeatureRequestStatus) -> str:
    """A status menu option's value: "<request id>:<status>"."""
    return f"{request_id}:{status.value}"


def customers_of(links: list[FeatureRequestLink]) -> list[dict[str, str | None]]:
    """Distinct customers in the order they asked, each with its tier (the first one known)."""
    tiers: dict[str, str | None] = {}
    for link in links:
        if link.customer:
            tiers[link.customer] = tiers.get(link.customer) or link.tier
    return [{"name": name, "tier": tier} for name, tier in tiers.items()]


def board_card_model(
    request: FeatureRequest, linked: list[tuple[FeatureRequestLink, Ticket]]
) -> BoardCard:
    links = [link for link, _ in linked]
    requesters = requesters_of(links)
    description = (request.description or "").strip()
    shipped = request.status == FeatureRequestStatus.SHIPPED
    return BoardCard(
        request_id=request.id,
        ref=request.ref,
        title=request.title,
        description=description if description and description != request.title else None,
        product=request.product,
        status=request.status,
        status_label=status_label(request.status),
        requester_count=len(requesters),
        requesters=_listed(requesters, MAX_LISTED_REQUESTERS),
        customers=_listed(
            [
                " · ".join(part for part in (c["name"], c["tier"]) if part)
                for c in customers_of(links)
            ],
            MAX_LISTED_CUSTOMERS,
        ),
        tickets=_listed(
            [{"ref": ticket.ref, "permalink": ticket.permalink} for _, ticket in linked],
            MAX_LISTED_TICKETS,
        ),
        release_note=request.release_note if shipped else None,
        status_by=request.status_by,
    )


def board_card(
    request: FeatureRequest, linked: list[tuple[FeatureRequestLink, Ticket]]
) -> dict[str, Any]:
    """The request's card on the board, from the request and its tickets as they are now."""
    card = board_card_model(request, linked)
    statuses = [
        {"value": status_value(card.request_id, status), "label": label}
        for status, label in FEATURE_REQUEST_STATUS_LABELS.items()
    ]
    return render_message(
        "feature_request_card.json.j2",
        card=asdict(card),
        statuses=statuses,
        current=status_value(card.request_id, FeatureRequestStatus(card.status)),
        max_description=MAX_CARD_DESCRIPTION,
        max_note=MAX_RELEASE_NOTE_SHOWN,
        ids={"block": str(BlockId.FEATURE_REQUEST), "status": str(ActionId.FEATURE_REQUEST_STATUS)},
    )


def candidate_of(request: FeatureRequest) -> Candidate:
    return Candidate(
        request_id=request.id,
        ref=request.ref,
        title=request.title,
        product=request.product,
        status_label=status_label(request.status),
        requester_count=len(requesters_of(list(request.links))),
    )


def offer_message(
    *,
    ticket_id: int,
    ref: str,
    candidates: list[Candidate],
    outcome: str | None = None,
    chosen_ref: str | None = None,
    chosen_title: str | None = None,
    by: str | None = None,
) -> dict[str, Any]:
    """The duplicate offer in a ticket's room: the look-alike requests, each with Link, and New
    request; once an agent chose (`outcome` "linked" or "new"), what they chose instead."""
    return render_message(
        "feature_request_offer.json.j2",
        ref=ref,
        candidates=[{**asdict(c), "value": f"{ticket_id}:{c.request_id}"} for c in candidates],
        new_value=str(ticket_id),
        outcome=outcome,
        chosen_ref=chosen_ref,
        chosen_title=chosen_title,
        by=by,
        ids={
            "block": str(BlockId.FEATURE_REQUEST_OFFER),
            "link": str(ActionId.FEATURE_REQUEST_LINK),
            "new": str(ActionId.FEATURE_REQUEST_NEW),
        },
    )


def shipped_message(*, ref: str, title: str | None, release_note: str) -> dict[str, Any]:
    """What a requester reads in their thread (or DM) when their request ships. Read by
    customers: the ticket's ref, what was asked, the release note, nothing else."""
    return render_message(
        "feature_request_shipped.json.j2",
        ref=ref,
        title=(title or "").strip().rstrip(".") or None,
        release_note=release_note.strip(),
    )


def build_ship_modal(
    *,
    request_id: int,
    ref: str,
    title: str,
    requester_count: int,
    release_note: str | None,
    max_note: int,
) -> dict[str, Any]:
    """The Shipped modal: the release note every requester will be told."""
    return render_view(
        "feature_request_ship_modal.json.j2",
        private_metadata=str(request_id),
        ref=ref,
        title=title,
        requester_count=requester_count,
        release_note=release_note,
        max_note=max_note,
        ids={
            "callback": str(CallbackId.SHIP_FEATURE_REQUEST_MODAL),
            "block": str(BlockId.RELEASE_NOTE),
            "action": str(ActionId.RELEASE_NOTE_INPUT),
        },
    )


def feature_request_notice(notice: str, *, ref: str = "", request_ref: str = "") -> dict[str, Any]:
    """Why a press on the board, an offer or the Feature request button changed nothing (kinds
    in feature_request_notice.json.j2). Plain words: also shown as a modal's error."""
    return render_message(
        "feature_request_notice.json.j2", notice=notice, ref=ref, request_ref=request_ref
    )
