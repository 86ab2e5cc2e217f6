"""Repositories: named queries per aggregate. They `flush()`, never `commit()`: the edge commits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import and_, case, delete, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, selectinload

from storage.models import (
    AgentStatus,
    CsatSurvey,
    Escalation,
    EscalationMessage,
    JobRun,
    OutboxMessage,
    ProcessedEvent,
    QueueRotation,
    SlaAlert,
    Ticket,
    TicketEvent,
    TicketMessage,
    TicketNote,
    UsergroupMember,
)

RowT = TypeVar("RowT")


def _insert_once(session: Session, row: RowT) -> RowT | None:
    """Insert `row` in a savepoint; None when a unique key says it is there already (a Slack
    retry, or the same message delivered twice), leaving the transaction usable."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    return row


class TicketRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, ticket_id: int) -> Ticket | None:
        return self.session.get(Ticket, ticket_id)

    def get_by_source(self, channel: str, ts: str) -> Ticket | None:
        return self.session.scalars(
            select(Ticket).where(Ticket.source_channel == channel, Ticket.source_ts == ts)
        ).one_or_none()

    def get_by_card(self, channel: str, ts: str) -> Ticket | None:
        return self.session.scalars(
            select(Ticket).where(Ticket.card_channel == channel, Ticket.card_ts == ts)
        ).first()

    def get_by_thread(self, channel: str, thread_ts: str) -> Ticket | None:
        """The ticket a thread belongs to, following merges to the ticket that lives on.

        Tickets still being worked come first (a closed ticket's thread may hold its follow-up);
        then the one opened by the thread's root, then the first opened from a reply in it or
        whose card is the root. A customer ticket's triage card thread is its too, and so is the
        thread of a message grouped into a ticket."""
        candidates = self.session.scalars(
            select(Ticket)
            .where(
                or_(
                    and_(
                        Ticket.source_channel == channel,
                        or_(
                            Ticket.source_ts == thread_ts,
                            Ticket.source_thread_ts == thread_ts,
                            Ticket.card_ts == thread_ts,
                        ),
                    ),
                    and_(Ticket.card_channel == channel, Ticket.card_ts == thread_ts),
                )
            )
            .order_by(Ticket.id)
        ).all()
        found: Ticket | None
        if candidates:
            found = min(
                candidates,
                key=lambda t: (
                    t.status == "closed" and t.merged_into_id is None,
                    t.source_ts != thread_ts,
                    t.id,
                ),
            )
        else:
            kept = self.get_message(channel, thread_ts)
            found = self.get(kept.ticket_id) if kept is not None else None
        return self.surviving(found) if found is not None else None

    def surviving(self, ticket: Ticket) -> Ticket:
        """The ticket a merged ticket now lives on as (itself when not merged)."""
        seen = {ticket.id}
        while ticket.merged_into_id is not None:
            target = self.get(ticket.merged_into_id)
            if target is None or target.id in seen:
                break
            seen.add(target.id)
            ticket = target
        return ticket

    def latest_from(
        self, channel: str, requester: str, *, since: datetime, until: datetime
    ) -> Ticket | None:
        """The newest ticket `requester` opened with a top-level message in `channel` in
        `[since, until]`: where a burst of messages is grouped."""
        return self.session.scalars(
            select(Ticket)
            .where(
                Ticket.source_channel == channel,
                Ticket.requester == requester,
                Ticket.created_at >= since,
                Ticket.created_at <= until,
                Ticket.source_thread_ts.is_(None),
            )
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
            .limit(1)
        ).first()

    def is_bridged_channel(self, channel: str) -> bool:
        """True when customer tickets were opened in `channel` (it is shared with a customer)."""
        query = select(Ticket.id).where(Ticket.source_channel == channel, Ticket.bridged).limit(1)
        return self.session.scalars(query).first() is not None

    def is_known_external(self, user: str) -> bool:
        """True when `user` has written to the desk from another workspace. Reaction events
        don't say which team the reactor is from; what they said before does."""
        asked = select(Ticket.id).where(Ticket.requester == user, Ticket.requester_is_external)
        said = select(TicketMessage.id).where(
            TicketMessage.author == user, TicketMessage.author_is_external
        )
        return (
            self.session.scalars(asked.limit(1)).first() is not None
            or self.session.scalars(said.limit(1)).first() is not None
        )

    def add(self, ticket: Ticket) -> Ticket | None:
        """Insert, or return None when a ticket already exists for the same source message.

        The savepoint keeps the caller's transaction usable after the unique-constraint race that
        two concurrent deliveries of the same message (retry, message + app_mention) can cause.
        """
        try:
            with self.session.begin_nested():
                self.session.add(ticket)
                self.session.flush()
        except IntegrityError:
            return None
        return ticket

    def list_created_between(
        self, since: datetime | None, until: datetime | None
    ) -> Sequence[Ticket]:
        query = select(Ticket).options(selectinload(Ticket.tags)).order_by(Ticket.id)
        if since is not None:
            query = query.where(Ticket.created_at >= since)
        if until is not None:
            query = query.where(Ticket.created_at < until)
        return self.session.scalars(query).all()

    def log(
        self,
        ticket: Ticket,
        kind: str,
        *,
        at: datetime,
        actor: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> TicketEvent:
        entry = TicketEvent(ticket_id=ticket.id, kind=kind, actor=actor, at=at, data=data or {})
        self.session.add(entry)
        self.session.flush()
        return entry

    def events(self, ticket_id: int) -> Sequence[TicketEvent]:
        return self.session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
        ).all()

    def conversation(self, ticket_id: int) -> Sequence[TicketMessage]:
        return self.session.scalars(
            select(TicketMessage)
            .where(TicketMessage.ticket_id == ticket_id)
            .order_by(TicketMessage.ts)
        ).all()

    def get_message(self, channel: str, ts: str) -> TicketMessage | None:
        return self.session.scalars(
            select(TicketMessage).where(TicketMessage.channel == channel, TicketMessage.ts == ts)
        ).one_or_none()

    def add_message(self, message: TicketMessage) -> TicketMessage | None:
        """Insert a conversation message unless that Slack message is already kept."""
        return _insert_once(self.session, message)

    # --- merging and splitting ------------------------------------------------------------------

    def lock(self, *ticket_ids: int) -> dict[int, Ticket]:
        """The tickets, re-read and their rows locked until commit (PostgreSQL; SQLite's
        `BEGIN IMMEDIATE` already serialises writers). Locked in id order, so two merges of one
        pair in opposite directions wait for each other instead of deadlocking."""
        rows = self.session.scalars(
            select(Ticket)
            .where(Ticket.id.in_(sorted(set(ticket_ids))))
            .order_by(Ticket.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()
        return {ticket.id: ticket for ticket in rows}

    def merge_candidates(
        self, ticket: Ticket, *, closed_status: str, limit: int
    ) -> Sequence[Ticket]:
        """Tickets `ticket` may be merged into, newest first: still open (not `closed_status`),
        not merged themselves, and asked by the same customer (a customer ticket) or the same
        requester (an internal one), so replies never reach someone else's people."""
        query = select(Ticket).where(
            Ticket.id != ticket.id,
            Ticket.status != closed_status,
            Ticket.merged_into_id.is_(None),
            Ticket.bridged == ticket.bridged,
        )
        if ticket.customer is not None:
            query = query.where(Ticket.customer == ticket.customer)
        else:
            query = query.where(Ticket.customer.is_(None), Ticket.requester == ticket.requester)
        return self.session.scalars(
            query.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)
        ).all()

    def close_as_merged(
        self, ticket: Ticket, into: Ticket, *, closed_status: str, at: datetime
    ) -> bool:
        """Close `ticket` as merged into `into`, only while neither is closed or merged (one
        conditional UPDATE); afterwards `ticket` shows what is now true."""
        target = aliased(Ticket)
        target_alive = exists().where(
            target.id == into.id,
            target.status != closed_status,
            target.merged_into_id.is_(None),
        )
        result = self.session.execute(
            update(Ticket)
            .where(
                Ticket.id == ticket.id,
                Ticket.status != closed_status,
                Ticket.merged_into_id.is_(None),
                target_alive,
            )
            .values(
                status=closed_status,
                closed_at=at,
                merged_into_id=into.id,
                updated_at=max(ticket.updated_at, at),
            )
            .execution_options(synchronize_session=False)
        )
        self.session.refresh(ticket)
        return bool(getattr(result, "rowcount", 0))

    def events_of_kind(self, ticket_id: int, kind: str) -> Sequence[TicketEvent]:
        return self.session.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == kind)
            .order_by(TicketEvent.id)
        ).all()

    def latest_messages(
        self, ticket_id: int, *, excluding: Iterable[str] = (), limit: int
    ) -> Sequence[TicketMessage]:
        """The newest messages of a ticket's conversation that are still there (not deleted),
        leaving out the Slack `ts`es in `excluding`."""
        query = select(TicketMessage).where(
            TicketMessage.ticket_id == ticket_id, TicketMessage.deleted_at.is_(None)
        )
        skipped = list(excluding)
        if skipped:
            query = query.where(TicketMessage.ts.not_in(skipped))
        return self.session.scalars(
            query.order_by(TicketMessage.ts.desc(), TicketMessage.id.desc()).limit(limit)
        ).all()

    def conversation_message(self, ticket_id: int, ts: str) -> TicketMessage | None:
        """The message `ts` of the ticket's conversation, whichever channel it was said in."""
        return self.session.scalars(
            select(TicketMessage)
            .where(TicketMessage.ticket_id == ticket_id, TicketMessage.ts == ts)
            .order_by(TicketMessage.id)
            .limit(1)
        ).first()


class ProcessedEventRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def remember(self, event_id: str, *, at: datetime) -> bool:
        """Record an event id; False when it was seen before (a Slack retry or a duplicate)."""
        try:
            with self.session.begin_nested():
                self.session.add(ProcessedEvent(event_id=event_id, received_at=at))
                self.session.flush()
        except IntegrityError:
            return False
        return True

    def seen(self, event_id: str) -> bool:
        return self.session.get(ProcessedEvent, event_id) is not None

    def forget_older_than(self, cutoff: datetime) -> int:
        result = self.session.execute(
            delete(ProcessedEvent).where(ProcessedEvent.received_at < cutoff)
        )
        return int(getattr(result, "rowcount", 0) or 0)


class OutboxRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def enqueue(
        self,
        method: str,
        payload: dict[str, Any],
        *,
        now: datetime,
        purpose: str | None = None,
        ticket_id: int | None = None,
        coalesce_key: str | None = None,
    ) -> OutboxMessage:
        row = OutboxMessage(
            method=method,
            payload=payload,
            purpose=purpose,
            ticket_id=ticket_id,
            coalesce_key=coalesce_key,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        self.session.add(row)
        self.session.flush()
        return row

    def enqueue_coalesced(
        self,
        method: str,
        payload: dict[str, Any],
        *,
        coalesce_key: str,
        now: datetime,
        purpose: str | None = None,
        ticket_id: int | None = None,
    ) -> None:
        """Owe a call rendered when it is sent (a card, a survey, App Home): a row with the same
        key still waiting carries this change too, so a burst of changes is one call."""
        if not self.join_waiting(coalesce_key):
            self.enqueue(
                method,
                payload,
                now=now,
                purpose=purpose,
                ticket_id=ticket_id,
                coalesce_key=coalesce_key,
            )

    def join_waiting(self, coalesce_key: str) -> bool:
        """True when a row with this key waits unsent and untaken: the caller's change will go out
        with it, since its payload is rendered when it is sent.

        The UPDATE (a no-op write) locks that row until the caller commits, so a dispatcher
        leasing it meanwhile waits and then renders the caller's change; a row already leased is
        not joined (it may have been rendered already) and the caller enqueues a new one.
        """
        result = self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.coalesce_key == coalesce_key,
                OutboxMessage.status == "pending",
                OutboxMessage.lease_until.is_(None),
            )
            .values(coalesce_key=coalesce_key)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    @staticmethod
    def _is_due(now: datetime) -> list[Any]:
        """Ready to send: pending, due, not leased, and no earlier pending row of its ticket (a
        ticket's rows go one at a time, in order). Both listing and leasing check all of it, as
        another dispatcher may have rescheduled a row between the two."""
        earlier = aliased(OutboxMessage)
        blocked_by_earlier = exists().where(
            earlier.ticket_id == OutboxMessage.ticket_id,
            earlier.id < OutboxMessage.id,
            earlier.status == "pending",
        )
        return [
            OutboxMessage.status == "pending",
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now),
            or_(OutboxMessage.ticket_id.is_(None), ~blocked_by_earlier),
        ]

    def due(self, *, now: datetime, limit: int) -> list[tuple[int, int | None]]:
        """Rows ready to send, oldest first, as (id, ticket id): at most one per ticket."""
        query = (
            select(OutboxMessage.id, OutboxMessage.ticket_id)
            .where(*self._is_due(now))
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        return [(row_id, ticket_id) for row_id, ticket_id in self.session.execute(query)]

    def lease(self, row_id: int, *, owner: str, now: datetime, for_: timedelta) -> bool:
        """Take a row for sending; False when another dispatcher got it or it is no longer due."""
        result = self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, *self._is_due(now))
            .values(lease_owner=owner, lease_until=now + for_)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    def get(self, row_id: int) -> OutboxMessage | None:
        return self.session.get(OutboxMessage, row_id)

    def pending(self) -> Sequence[OutboxMessage]:
        return self.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == "pending")
            .order_by(OutboxMessage.id)
        ).all()

    def count_by_status(self) -> dict[str, int]:
        rows = self.session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).all()
        return {status: int(count) for status, count in rows}


class AgentRepository:
    """Who is an agent beyond the config (user group members), who is away, and queue rotation."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def usergroup_members(self, usergroup_id: str) -> set[str]:
        return set(
            self.session.scalars(
                select(UsergroupMember.user_id).where(UsergroupMember.usergroup_id == usergroup_id)
            ).all()
        )

    def is_usergroup_member(self, usergroup_id: str, user_id: str) -> bool:
        return (
            self.session.get(UsergroupMember, {"usergroup_id": usergroup_id, "user_id": user_id})
            is not None
        )

    def replace_usergroup_members(
        self, usergroup_id: str, members: Iterable[str], *, at: datetime
    ) -> None:
        self.session.execute(
            delete(UsergroupMember).where(UsergroupMember.usergroup_id == usergroup_id)
        )
        for user_id in sorted(set(members)):
            self.session.add(
                UsergroupMember(usergroup_id=usergroup_id, user_id=user_id, refreshed_at=at)
            )
        self.session.flush()

    def away_users(self) -> set[str]:
        return set(self.session.scalars(select(AgentStatus.user_id).where(AgentStatus.away)).all())

    def set_away(self, user_id: str, away: bool, *, at: datetime) -> None:
        status = self.session.get(AgentStatus, user_id)
        if status is None:
            self.session.add(AgentStatus(user_id=user_id, away=away, updated_at=at))
        else:
            status.away = away
            status.updated_at = at
        self.session.flush()

    def open_load(self, agents: Iterable[str], statuses: Iterable[str]) -> dict[str, int]:
        """How many tickets in `statuses` each agent holds (agents with none count 0)."""
        wanted = list(agents)
        counts = dict.fromkeys(wanted, 0)
        rows = self.session.execute(
            select(Ticket.assignee, func.count())
            .where(Ticket.assignee.in_(wanted), Ticket.status.in_(list(statuses)))
            .group_by(Ticket.assignee)
        ).all()
        for assignee, count in rows:
            counts[str(assignee)] = int(count)
        return counts

    def rotation(self, queue: str, *, at: datetime) -> QueueRotation:
        """The queue's round-robin position, locked until commit so two tickets arriving together
        go to two agents."""
        query = select(QueueRotation).where(QueueRotation.queue == queue).with_for_update()
        rotation = self.session.scalars(query).one_or_none()
        if rotation is None:
            try:
                with self.session.begin_nested():
                    rotation = QueueRotation(queue=queue, last_agent=None, updated_at=at)
                    self.session.add(rotation)
                    self.session.flush()
            except IntegrityError:
                rotation = self.session.scalars(query).one()
        return rotation


class NoteRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, note: TicketNote) -> TicketNote | None:
        """Insert; None when the note's message `(channel, ts)` is already a note."""
        return _insert_once(self.session, note)

    def for_ticket(self, ticket_id: int) -> Sequence[TicketNote]:
        return self.session.scalars(
            select(TicketNote).where(TicketNote.ticket_id == ticket_id).order_by(TicketNote.id)
        ).all()


class EscalationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, escalation_id: int) -> Escalation | None:
        return self.session.get(Escalation, escalation_id)

    def add(self, escalation: Escalation) -> Escalation:
        self.session.add(escalation)
        self.session.flush()
        return escalation

    def by_thread(self, channel: str, thread_ts: str) -> Escalation | None:
        """The escalation whose card is the root of this thread (one unique-index lookup)."""
        return self.session.scalars(
            select(Escalation).where(Escalation.channel == channel, Escalation.card_ts == thread_ts)
        ).one_or_none()

    def for_ticket(
        self, ticket_id: int, *, states: Iterable[str] | None = None
    ) -> list[Escalation]:
        query = select(Escalation).where(Escalation.ticket_id == ticket_id)
        if states is not None:
            query = query.where(Escalation.state.in_(list(states)))
        return list(self.session.scalars(query.order_by(Escalation.id)).all())

    def add_message(self, message: EscalationMessage) -> EscalationMessage | None:
        """Insert a relayed message; None when that Slack message was relayed already."""
        return _insert_once(self.session, message)

    def messages(self, escalation_id: int) -> Sequence[EscalationMessage]:
        return self.session.scalars(
            select(EscalationMessage)
            .where(EscalationMessage.escalation_id == escalation_id)
            .order_by(EscalationMessage.id)
        ).all()

    def move(self, from_ticket: int, to_ticket: int) -> int:
        """A merged ticket's escalations carry on with the ticket that lives on."""
        result = self.session.execute(
            update(Escalation)
            .where(Escalation.ticket_id == from_ticket)
            .values(ticket_id=to_ticket)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)


class SlaRepository:
    """The SLA sweep's reads and the alerts it sent."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def coming_due(self, *, now: datetime, limit: int) -> Sequence[Ticket]:
        """Tickets whose next SLA moment has come, soonest first: one range scan of
        `ix_tickets_sla_next_at`, however large the backlog. Rows another replica is sweeping
        are skipped (PostgreSQL), not waited for."""
        query = (
            select(Ticket)
            .where(Ticket.sla_next_at <= now)
            .order_by(Ticket.sla_next_at, Ticket.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return self.session.scalars(query).all()

    def fired(self, ticket_ids: Iterable[int]) -> dict[int, set[tuple[str, str]]]:
        """(target, level) pairs already alerted, by ticket."""
        ids = list(ticket_ids)
        out: dict[int, set[tuple[str, str]]] = {ticket_id: set() for ticket_id in ids}
        if not ids:
            return out
        rows = self.session.execute(
            select(SlaAlert.ticket_id, SlaAlert.target, SlaAlert.level).where(
                SlaAlert.ticket_id.in_(ids)
            )
        )
        for ticket_id, target, level in rows:
            out[ticket_id].add((target, level))
        return out

    def record(self, alert: SlaAlert) -> SlaAlert | None:
        """The alert, or None when it was recorded before (by another sweep or replica)."""
        return _insert_once(self.session, alert)

    # --- the SLA digest's figures (tickets opened in [since, until)) ---------------------------

    def attainment(
        self,
        since: datetime,
        until: datetime,
        *,
        active: Iterable[str],
        stopped: Iterable[str],
    ) -> list[dict[str, Any]]:
        """Per priority: first responses and resolutions met and missed. Missed: done late, or
        not done and past due by `until` (a resolution clock paused before its due time has not
        missed it). Tickets still within their targets count in neither."""
        is_active = Ticket.status.in_(list(active))
        is_stopped = Ticket.status.in_(list(stopped))
        answered = Ticket.first_response_at.is_not(None)
        first_met = and_(answered, Ticket.first_response_at <= Ticket.first_response_due_at)
        first_missed = or_(
            and_(answered, Ticket.first_response_at > Ticket.first_response_due_at),
            and_(~answered, is_active, Ticket.first_response_due_at < until),
        )
        resolution_met = and_(is_stopped, Ticket.resolved_at <= Ticket.resolution_due_at)
        resolution_missed = or_(
            and_(is_stopped, Ticket.resolved_at > Ticket.resolution_due_at),
            and_(
                is_active,
                Ticket.resolution_due_at < until,
                or_(
                    Ticket.sla_paused_at.is_(None),
                    Ticket.resolution_due_at <= Ticket.sla_paused_at,
                ),
            ),
        )

        def count(condition: Any) -> Any:
            return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

        rows = self.session.execute(
            select(
                Ticket.priority,
                func.count(Ticket.id),
                count(and_(Ticket.first_response_due_at.is_not(None), first_met)),
                count(and_(Ticket.first_response_due_at.is_not(None), first_missed)),
                count(and_(Ticket.resolution_due_at.is_not(None), resolution_met)),
                count(and_(Ticket.resolution_due_at.is_not(None), resolution_missed)),
            )
            .where(Ticket.created_at >= since, Ticket.created_at < until)
            .where(Ticket.merged_into_id.is_(None))
            .group_by(Ticket.priority)
        )
        keys = (
            "priority",
            "opened",
            "first_met",
            "first_missed",
            "resolution_met",
            "resolution_missed",
        )
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def first_response_buckets(
        self, since: datetime, until: datetime, edges: Sequence[int]
    ) -> list[int]:
        """How many tickets opened in the period were first answered within each bucket of
        business seconds: `[0, edges[0])`, `[edges[0], edges[1])`, …, `[edges[-1], ∞)`."""
        bucket = case(
            *((Ticket.first_response_seconds < edge, index) for index, edge in enumerate(edges)),
            else_=len(edges),
        )
        rows = self.session.execute(
            select(bucket, func.count(Ticket.id))
            .where(Ticket.created_at >= since, Ticket.created_at < until)
            .where(Ticket.first_response_seconds.is_not(None), Ticket.merged_into_id.is_(None))
            .group_by(bucket)
        )
        counts = [0] * (len(edges) + 1)
        for index, amount in rows:
            counts[int(index)] = int(amount)
        return counts

    def unanswered(
        self, since: datetime, until: datetime, *, active: Iterable[str]
    ) -> Sequence[Ticket]:
        """Tickets opened in the period still waiting for their first response."""
        return self.session.scalars(
            select(Ticket)
            .where(Ticket.created_at >= since, Ticket.created_at < until)
            .where(Ticket.first_response_at.is_(None), Ticket.merged_into_id.is_(None))
            .where(Ticket.status.in_(list(active)))
            .order_by(Ticket.id)
        ).all()

    def needing_attention(
        self, *, now: datetime, limit: int, active: Iterable[str]
    ) -> Sequence[Ticket]:
        """Active tickets past a warning or a due time, soonest due first."""
        unanswered = Ticket.first_response_at.is_(None)
        running = Ticket.sla_paused_at.is_(None)
        query = (
            select(Ticket)
            .where(Ticket.status.in_(list(active)))
            .where(
                or_(
                    and_(unanswered, Ticket.first_response_warn_at <= now),
                    and_(unanswered, Ticket.first_response_due_at <= now),
                    and_(running, Ticket.resolution_warn_at <= now),
                    Ticket.resolution_due_at <= now,
                )
            )
            .order_by(Ticket.id)
            .limit(limit)
        )
        return self.session.scalars(query).all()


class JobRepository:
    """Claims of scheduled jobs' periods, so several replicas run each period once."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def claim(self, job: str, period: str, *, by: str, at: datetime) -> bool:
        """True for the one caller whose claim of (job, period) is first; on PostgreSQL a
        concurrent claimer waits for the first one's transaction and then gets False."""
        run = JobRun(job=job, period=period, claimed_by=by[:128], claimed_at=at)
        return _insert_once(self.session, run) is not None

    def is_claimed(self, job: str, period: str) -> bool:
        return self.session.get(JobRun, (job, period)) is not None

    def forget_older_than(self, cutoff: datetime) -> int:
        result = self.session.execute(delete(JobRun).where(JobRun.claimed_at < cutoff))
        return int(getattr(result, "rowcount", 0) or 0)

    def runs(self, job: str) -> Sequence[JobRun]:
        return self.session.scalars(
            select(JobRun).where(JobRun.job == job).order_by(JobRun.period)
        ).all()


class CsatRepository:
    """CSAT surveys: one per resolution of a ticket (unique by ticket and `asked_at`)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, survey: CsatSurvey) -> CsatSurvey | None:
        """Insert, or None when this resolution was asked about already (a retry)."""
        return _insert_once(self.session, survey)

    def get(self, survey_id: int) -> CsatSurvey | None:
        return self.session.get(CsatSurvey, survey_id)

    def for_ticket(self, ticket_id: int) -> Sequence[CsatSurvey]:
        return self.session.scalars(
            select(CsatSurvey)
            .where(CsatSurvey.ticket_id == ticket_id)
            .order_by(CsatSurvey.asked_at, CsatSurvey.id)
        ).all()

    def answer(self, survey: CsatSurvey, *, rating: str, at: datetime) -> bool:
        """Record `rating` given at `at`, unless a later answer is already there (a click
        delivered late never overwrites a newer one). One conditional UPDATE; afterwards
        `survey` shows what is now true."""
        result = self.session.execute(
            update(CsatSurvey)
            .where(
                CsatSurvey.id == survey.id,
                or_(CsatSurvey.answered_at.is_(None), CsatSurvey.answered_at <= at),
            )
            .values(rating=rating, answered_at=at)
            .execution_options(synchronize_session=False)
        )
        self.session.refresh(survey)
        return bool(getattr(result, "rowcount", 0))

    def latest_rating(self, ticket_id: int) -> str | None:
        """The rating of the ticket's most recently answered survey (the ticket's `csat`)."""
        return self.session.scalars(
            select(CsatSurvey.rating)
            .where(CsatSurvey.ticket_id == ticket_id, CsatSurvey.answered_at.is_not(None))
            .order_by(CsatSurvey.answered_at.desc(), CsatSurvey.id.desc())
            .limit(1)
        ).first()
