"""The feature-request board's queries: requests, the tickets linked to them, who was told.

A ticket asks for one request (`feature_request_links.ticket_id` is unique), so linking is an
insert that a retry or a concurrent press finds already done. Status changes and shipping are
conditional UPDATEs, and each link is marked notified by its own conditional UPDATE: however many
submissions race, a requester is told once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from storage.models import FeatureRequest, FeatureRequestLink, Ticket
from storage.repositories import _insert_once


class FeatureRequestRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- requests -------------------------------------------------------------------------------

    def get(self, request_id: int) -> FeatureRequest | None:
        return self.session.get(FeatureRequest, request_id)

    def get_many(self, request_ids: Iterable[int]) -> list[FeatureRequest]:
        """The requests that still exist, in the order asked for."""
        wanted = [int(i) for i in request_ids]
        if not wanted:
            return []
        found = {
            request.id: request
            for request in self.session.scalars(
                select(FeatureRequest)
                .where(FeatureRequest.id.in_(wanted))
                .options(selectinload(FeatureRequest.links))
            ).all()
        }
        return [found[i] for i in wanted if i in found]

    def lock(self, request_id: int) -> FeatureRequest | None:
        """The request re-read, its row locked until commit (PostgreSQL; SQLite's writers are
        serialised already), so two Shipped submissions are one after the other."""
        return self.session.scalars(
            select(FeatureRequest)
            .where(FeatureRequest.id == request_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one_or_none()

    def open(self, request: FeatureRequest, link: FeatureRequestLink) -> FeatureRequest | None:
        """A new request with its first ticket, in one savepoint; None (and no request) when the
        ticket is linked already (a retry, or another agent was quicker)."""
        try:
            with self.session.begin_nested():
                self.session.add(request)
                self.session.flush()
                link.feature_request_id = request.id
                self.session.add(link)
                self.session.flush()
        except IntegrityError:
            return None
        return request

    def candidates(
        self, *, product: str | None, excluding: Iterable[str], limit: int
    ) -> Sequence[FeatureRequest]:
        """Requests a new one may duplicate, most recently active first: of `product` or of none
        (every product when `product` is None), not in an `excluding` status."""
        query = select(FeatureRequest).where(FeatureRequest.status.not_in(list(excluding)))
        if product is not None:
            query = query.where(
                or_(FeatureRequest.product == product, FeatureRequest.product.is_(None))
            )
        return self.session.scalars(
            query.options(selectinload(FeatureRequest.links))
            .order_by(FeatureRequest.updated_at.desc(), FeatureRequest.id.desc())
            .limit(limit)
        ).all()

    def set_status(self, request: FeatureRequest, status: str, *, by: str, at: datetime) -> bool:
        """Move the request to `status` unless it is there already (one conditional UPDATE);
        afterwards `request` shows what is now true."""
        result = self.session.execute(
            update(FeatureRequest)
            .where(FeatureRequest.id == request.id, FeatureRequest.status != status)
            .values(status=status, status_by=by, status_at=at, updated_at=at)
            .execution_options(synchronize_session=False)
        )
        self.session.refresh(request)
        return bool(getattr(result, "rowcount", 0))

    def ship(
        self, request: FeatureRequest, *, status: str, release_note: str, by: str, at: datetime
    ) -> bool:
        """Mark the request shipped (`status`) with its release note, unless it is shipped
        already: a repeated submission changes nothing and tells nobody."""
        result = self.session.execute(
            update(FeatureRequest)
            .where(FeatureRequest.id == request.id, FeatureRequest.status != status)
            .values(
                status=status,
                status_by=by,
                status_at=at,
                shipped_at=at,
                release_note=release_note,
                updated_at=at,
            )
            .execution_options(synchronize_session=False)
        )
        self.session.refresh(request)
        return bool(getattr(result, "rowcount", 0))

    def touch(self, request: FeatureRequest, *, at: datetime) -> None:
        request.updated_at = max(request.updated_at, at)
        self.session.flush()

    def created_between(
        self, since: datetime | None, until: datetime | None
    ) -> Sequence[FeatureRequest]:
        """Requests created in `[since, until)`, oldest first, with their links."""
        query = select(FeatureRequest).options(selectinload(FeatureRequest.links))
        if since is not None:
            query = query.where(FeatureRequest.created_at >= since)
        if until is not None:
            query = query.where(FeatureRequest.created_at < until)
        return self.session.scalars(query.order_by(FeatureRequest.id)).all()

    # --- links ----------------------------------------------------------------------------------

    def get_link(self, link_id: int) -> FeatureRequestLink | None:
        return self.session.get(FeatureRequestLink, link_id)

    def link_for_ticket(self, ticket_id: int) -> FeatureRequestLink | None:
        return self.session.scalars(
            select(FeatureRequestLink).where(FeatureRequestLink.ticket_id == ticket_id)
        ).one_or_none()

    def add_link(self, link: FeatureRequestLink) -> FeatureRequestLink | None:
        """Insert; None when the ticket is linked already (to this request or another)."""
        return _insert_once(self.session, link)

    def unnotified_links(self, request_id: int) -> Sequence[FeatureRequestLink]:
        return self.session.scalars(
            select(FeatureRequestLink)
            .where(
                FeatureRequestLink.feature_request_id == request_id,
                FeatureRequestLink.notified_at.is_(None),
            )
            .order_by(FeatureRequestLink.id)
        ).all()

    def mark_notified(self, link: FeatureRequestLink, *, at: datetime) -> bool:
        """Claim telling this link's requester: True for the one caller that set `notified_at`."""
        result = self.session.execute(
            update(FeatureRequestLink)
            .where(FeatureRequestLink.id == link.id, FeatureRequestLink.notified_at.is_(None))
            .values(notified_at=at)
            .execution_options(synchronize_session=False)
        )
        self.session.refresh(link)
        return bool(getattr(result, "rowcount", 0))

    def linked_tickets(self, request_id: int) -> list[tuple[FeatureRequestLink, Ticket]]:
        """The request's links with their tickets, in the order they were linked."""
        rows = self.session.execute(
            select(FeatureRequestLink, Ticket)
            .join(Ticket, Ticket.id == FeatureRequestLink.ticket_id)
            .where(FeatureRequestLink.feature_request_id == request_id)
            .order_by(FeatureRequestLink.id)
        ).all()
        return [(link, ticket) for link, ticket in rows]

    def first_ticket_id(self, request_id: int) -> int | None:
        """The ticket the request was opened from (its first link): the board card's rows are
        sent in that ticket's order, so a post and its updates never pass each other."""
        return self.session.scalar(
            select(FeatureRequestLink.ticket_id)
            .where(FeatureRequestLink.feature_request_id == request_id)
            .order_by(FeatureRequestLink.id)
            .limit(1)
        )
