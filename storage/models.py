"""Typed SQLAlchemy models: the desk's durable state.

Columns hold plain strings for statuses and priorities (the values of `workflows.vocabulary`),
so the
schema never needs a migration to learn a new word. Times are timezone-aware UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Interval,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always returns them aware.

    SQLite has no time zone type; without this a value read back is naive and compares wrongly.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}  # noqa: RUF012


class Ticket(Base):
    """A request for help. Its number is the human reference (`#42`)."""

    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("source_channel", "source_ts"),
        Index("ix_tickets_status_created_at", "status", "created_at"),
        Index("ix_tickets_card", "card_channel", "card_ts"),
        Index("ix_tickets_thread", "source_channel", "source_thread_ts"),
        Index("ix_tickets_assignee_status", "assignee", "status"),
        Index("ix_tickets_status_resolved_at", "status", "resolved_at"),
        Index("ix_tickets_grouping", "source_channel", "requester", "created_at"),
        Index("ix_tickets_sla_next_at", "sla_next_at"),
        # The digests' period aggregates: each figure is a range over one of these. Merged-away
        # tickets count nowhere, so the resolutions' index leaves them out, and with
        # `created_at` beside it the backlog at a moment is counted inside the index.
        Index(
            "ix_tickets_resolved_at_created_at",
            "resolved_at",
            "created_at",
            sqlite_where=text("merged_into_id IS NULL"),
            postgresql_where=text("merged_into_id IS NULL"),
        ),
        Index("ix_tickets_first_response_at", "first_response_at"),
        Index("ix_tickets_queue_created_at", "queue", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Where the ticket came from: the message that opened it, the root of its thread. A ticket
    # opened from the intake modal gets the card's own message once that is delivered.
    source_channel: Mapped[str | None] = mapped_column(String(32))
    source_ts: Mapped[str | None] = mapped_column(String(32))
    source_thread_ts: Mapped[str | None] = mapped_column(String(32))
    intake_source: Mapped[str] = mapped_column(String(16))
    requester: Mapped[str] = mapped_column(String(32), index=True)
    requester_team: Mapped[str | None] = mapped_column(String(32))
    requester_is_external: Mapped[bool] = mapped_column(Boolean, default=False)
    reporter: Mapped[str | None] = mapped_column(String(32))
    queue: Mapped[str] = mapped_column(String(64))
    customer: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(16))
    issue_type: Mapped[str | None] = mapped_column(String(32))
    product: Mapped[str | None] = mapped_column(String(200))
    customer_tier: Mapped[str | None] = mapped_column(String(64))
    internal_priority: Mapped[str | None] = mapped_column(String(64))
    support_type: Mapped[str | None] = mapped_column(String(64))
    client_priority: Mapped[str | None] = mapped_column(String(64))
    departments: Mapped[list[str]] = mapped_column(JSON, default=list)
    users_affected: Mapped[int | None] = mapped_column(Integer)
    site_down: Mapped[bool | None] = mapped_column(Boolean)
    description: Mapped[str] = mapped_column(Text, default="")
    assignee: Mapped[str | None] = mapped_column(String(32))
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    # Asked in a channel shared with a customer (Slack Connect): the card and the agents' room
    # are in the triage channel, and only customer-safe messages go to the source thread.
    bridged: Mapped[bool] = mapped_column(Boolean, default=False)
    # A ticket merged into another: its thread's replies belong to that one.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    csat: Mapped[str | None] = mapped_column(String(32))
    # Where the bot's card for this ticket lives, once delivered; updates go there.
    card_channel: Mapped[str | None] = mapped_column(String(32))
    card_ts: Mapped[str | None] = mapped_column(String(32))
    # A link to the ticket's thread, for App Home and the details modal (chat.getPermalink).
    permalink: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    first_response_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    first_response_due_at: Mapped[datetime | None]
    resolution_due_at: Mapped[datetime | None]
    sla_state: Mapped[str | None] = mapped_column(String(16))
    # The SLA clock: when it started (the ticket opened, e.g. the :ticket: reaction), when the
    # warnings are due, and the next moment the sweep must look at the ticket (the one indexed
    # column it reads: the sweep's cost follows the tickets coming due, not the backlog).
    sla_started_at: Mapped[datetime | None]
    first_response_warn_at: Mapped[datetime | None]
    resolution_warn_at: Mapped[datetime | None]
    sla_next_at: Mapped[datetime | None]
    # The resolution clock stops while the ticket waits on the requester (or is resolved); the
    # business time it stood still before its target was reached moves the due time out.
    sla_paused_at: Mapped[datetime | None]
    sla_paused: Mapped[timedelta | None] = mapped_column(Interval)  # None: never paused
    # Business seconds (of the ticket's SLA clock) to its first response and to its resolution.
    first_response_seconds: Mapped[int | None] = mapped_column(Integer)
    resolution_seconds: Mapped[int | None] = mapped_column(Integer)

    tags: Mapped[list[TicketTag]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", order_by="TicketTag.tag"
    )
    escalations: Mapped[list[Escalation]] = relationship(
        back_populates="ticket", order_by="Escalation.id", passive_deletes=True
    )

    @property
    def ref(self) -> str:
        return f"#{self.id}"

    @property
    def thread_ts(self) -> str | None:
        """The root of the ticket's requester-visible thread."""
        return self.source_thread_ts or self.source_ts


class TicketTag(Base):
    __tablename__ = "ticket_tags"

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    # No index of its own: the digests reach tags from the period's tickets (the primary key).
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)

    ticket: Mapped[Ticket] = relationship(back_populates="tags")


class TicketEvent(Base):
    """Append-only log of who did what to a ticket, and when (the Slack event's time)."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_kind_at", "kind", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(48))
    actor: Mapped[str | None] = mapped_column(String(32))
    at: Mapped[datetime]
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class TicketMessage(Base):
    """A message of the ticket's conversation (thread replies), kept as it was said."""

    __tablename__ = "ticket_messages"
    __table_args__ = (UniqueConstraint("channel", "ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str] = mapped_column(String(32))
    author: Mapped[str | None] = mapped_column(String(32), index=True)
    author_is_external: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[str] = mapped_column(Text, default="")
    posted_at: Mapped[datetime]
    edited_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]


class TicketNote(Base):
    """An internal note: for agents only, never posted where a requester can read it. Notes said
    in a customer ticket's triage thread keep their message `(channel, ts)`, so a retried or
    doubled delivery is one note."""

    __tablename__ = "ticket_notes"
    __table_args__ = (UniqueConstraint("channel", "ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    channel: Mapped[str | None] = mapped_column(String(32))
    ts: Mapped[str | None] = mapped_column(String(32))


class Escalation(Base):
    """A ticket handed to engineering (a thread in a product's channel) or to the second line.

    The escalation card's `(channel, card_ts)` is the engineering thread: a reply there is found
    by that pair, one indexed lookup. A ticket may have several (two products, say)."""

    __tablename__ = "escalations"
    __table_args__ = (
        UniqueConstraint("channel", "card_ts"),
        Index("ix_escalations_ticket_state", "ticket_id", "state"),
        Index("ix_escalations_escalated_at", "escalated_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    # The product (engineering) or queue (second line) it went to.
    target: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str | None] = mapped_column(String(32))
    card_ts: Mapped[str | None] = mapped_column(String(32))
    # Link to the ticket's internal thread (where relays land), read before the card is posted.
    room_link: Mapped[str | None] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(8))
    summary: Mapped[str] = mapped_column(String(200))
    steps: Mapped[str] = mapped_column(Text, default="")
    scale: Mapped[str] = mapped_column(String(200), default="")
    tried: Mapped[str] = mapped_column(Text, default="")
    escalated_by: Mapped[str] = mapped_column(String(32))
    escalated_at: Mapped[datetime]
    # Where the ticket was before a second-line escalation, so passing back restores it.
    from_queue: Mapped[str | None] = mapped_column(String(64))
    from_assignee: Mapped[str | None] = mapped_column(String(32))
    taken_by: Mapped[str | None] = mapped_column(String(32))
    taken_at: Mapped[datetime | None]
    # Engineering's first response: the first reply, Take, Need info or Fixed.
    first_response_at: Mapped[datetime | None]
    info_requested_at: Mapped[datetime | None]
    fixed_by: Mapped[str | None] = mapped_column(String(32))
    fixed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(32))
    closed_at: Mapped[datetime | None]  # withdrawn or passed back
    close_note: Mapped[str | None] = mapped_column(Text)

    ticket: Mapped[Ticket] = relationship(back_populates="escalations")


class EscalationMessage(Base):
    """A message relayed between an escalation thread and the ticket's internal thread. The
    engineer's message `(channel, ts)` is unique, so a retried event relays it once."""

    __tablename__ = "escalation_messages"
    __table_args__ = (UniqueConstraint("channel", "ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    escalation_id: Mapped[int] = mapped_column(
        ForeignKey("escalations.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[str] = mapped_column(String(20))  # from_engineering | to_engineering
    channel: Mapped[str | None] = mapped_column(String(32))
    ts: Mapped[str | None] = mapped_column(String(32))
    author: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]


class SlaAlert(Base):
    """A warning or breach alert sent for one ticket and target. Unique per (ticket, target,
    level): however many sweeps run, on however many replicas, each goes out once."""

    __tablename__ = "sla_alerts"
    __table_args__ = (UniqueConstraint("ticket_id", "target", "level"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(16))  # first_response | resolution
    level: Mapped[str] = mapped_column(String(16))  # warning | breach
    due_at: Mapped[datetime]  # the target's due time when the alert fired
    fired_at: Mapped[datetime] = mapped_column(index=True)
    # False when the sweep recorded it without saying it (a warning overtaken by its breach).
    sent: Mapped[bool] = mapped_column(Boolean, default=True)


class CsatSurvey(Base):
    """One "How did we do?" asked of a ticket's requester when it was resolved, and the answer.

    The queue, customer and assignee are those of the resolution, so the digests credit the
    agent who did the work even if the ticket moves later. A second click changes `rating`;
    `answered_at` is the latest answer's time (the period a rating counts in)."""

    __tablename__ = "csat_surveys"
    __table_args__ = (
        UniqueConstraint("ticket_id", "asked_at"),
        Index("ix_csat_surveys_answered_at", "answered_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    requester: Mapped[str] = mapped_column(String(32))
    queue: Mapped[str] = mapped_column(String(64))
    customer: Mapped[str | None] = mapped_column(String(200))
    assignee: Mapped[str | None] = mapped_column(String(32))
    asked_at: Mapped[datetime]
    # Where the prompt landed (thread or DM), once delivered: the buttons are replaced there.
    channel: Mapped[str | None] = mapped_column(String(32))
    ts: Mapped[str | None] = mapped_column(String(32))
    rating: Mapped[str | None] = mapped_column(String(32))  # a CsatRating value
    comment: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]


class KbArticle(Base):
    """An article of the knowledge base, as last indexed from its Markdown file (`path` is the
    file's, relative to the knowledge-base folder: the article's stable name)."""

    __tablename__ = "kb_articles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(String(500), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    url: Mapped[str | None] = mapped_column(String(500))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    body: Mapped[str] = mapped_column(Text, default="")
    # sha256 of the file: a reindex rewrites only the articles whose file changed.
    checksum: Mapped[str] = mapped_column(String(64))
    indexed_at: Mapped[datetime]

    passages: Mapped[list[KbPassage]] = relationship(
        back_populates="article", cascade="all, delete-orphan", order_by="KbPassage.position"
    )


class KbPassage(Base):
    """A section of an article (its heading and paragraphs): what search ranks and what a
    suggestion quotes."""

    __tablename__ = "kb_passages"
    __table_args__ = (UniqueConstraint("article_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    heading: Mapped[str | None] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text, default="")

    article: Mapped[KbArticle] = relationship(back_populates="passages")


class KbIndexState(Base):
    """The knowledge base's index as a whole: `version` grows with every reindex that changed
    something, so each process rebuilds its in-memory ranking only then; `fingerprint` is the
    folder's (names, sizes, times) when it was last read."""

    __tablename__ = "kb_index"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    fingerprint: Mapped[str] = mapped_column(String(64), default="")
    indexed_at: Mapped[datetime]


class KbSuggestion(Base):
    """Knowledge-base answers offered to a requester, and what they said of them.

    Offered by the bot when a question arrived (`suggested_by` empty: a deflection attempt) or
    sent by an agent (Suggest article). `articles` keeps what was shown, as it was shown (each
    {"article_id", "path", "title", "url", "heading", "passage", "score"}), so a later edit of
    the knowledge base never changes what the requester was told."""

    __tablename__ = "kb_suggestions"
    __table_args__ = (
        Index("ix_kb_suggestions_suggested_at", "suggested_at"),
        Index("ix_kb_suggestions_answered_at", "answered_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    requester: Mapped[str] = mapped_column(String(32))
    articles: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    suggested_by: Mapped[str | None] = mapped_column(String(32))
    suggested_at: Mapped[datetime]
    # Where the suggestion landed, once delivered: its buttons are replaced there.
    channel: Mapped[str | None] = mapped_column(String(32))
    ts: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str | None] = mapped_column(String(16))  # a SuggestionOutcome value
    answered_by: Mapped[str | None] = mapped_column(String(32))
    answered_at: Mapped[datetime | None]


class FeatureRequest(Base):
    """One distinct request on the feature-request board (its card there), however many
    tickets asked for it. Its reference is `FR-<id>`."""

    __tablename__ = "feature_requests"
    __table_args__ = (Index("ix_feature_requests_shipped_at", "shipped_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    product: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))  # a FeatureRequestStatus value
    created_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    status_by: Mapped[str | None] = mapped_column(String(32))
    status_at: Mapped[datetime | None]
    shipped_at: Mapped[datetime | None]
    release_note: Mapped[str | None] = mapped_column(Text)
    card_channel: Mapped[str | None] = mapped_column(String(32))
    card_ts: Mapped[str | None] = mapped_column(String(32))

    links: Mapped[list[FeatureRequestLink]] = relationship(
        back_populates="feature_request",
        cascade="all, delete-orphan",
        order_by="FeatureRequestLink.id",
    )

    @property
    def ref(self) -> str:
        return f"FR-{self.id}"


class FeatureRequestLink(Base):
    """A ticket that asked for a feature request: its requester and customer count towards it,
    and hear once when it ships (`notified_at`). A ticket asks for one request."""

    __tablename__ = "feature_request_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feature_request_id: Mapped[int] = mapped_column(
        ForeignKey("feature_requests.id", ondelete="CASCADE"), index=True
    )
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), unique=True
    )
    requester: Mapped[str] = mapped_column(String(32))
    customer: Mapped[str | None] = mapped_column(String(200))
    tier: Mapped[str | None] = mapped_column(String(64))
    linked_by: Mapped[str | None] = mapped_column(String(32))
    linked_at: Mapped[datetime]
    notified_at: Mapped[datetime | None]

    feature_request: Mapped[FeatureRequest] = relationship(back_populates="links")


class JobRun(Base):
    """A scheduled job's claim on one period ("sla-sweep", "2026-11-23T10:05"): the replica
    whose insert wins runs it, the others skip, so a digest is posted once."""

    __tablename__ = "job_runs"

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[str] = mapped_column(String(64), primary_key=True)
    claimed_by: Mapped[str] = mapped_column(String(128))
    claimed_at: Mapped[datetime]


class AgentStatus(Base):
    """Per-agent settings that change at runtime: away agents get no auto-assigned tickets."""

    __tablename__ = "agent_status"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    away: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime]


class UsergroupMember(Base):
    """Members of the `agent_usergroup`, as Slack last listed them (refreshed by a job)."""

    __tablename__ = "usergroup_members"

    usergroup_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    refreshed_at: Mapped[datetime]


class QueueRotation(Base):
    """Round-robin position of a queue: who got its last auto-assigned ticket."""

    __tablename__ = "queue_rotation"

    queue: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_agent: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime]


class ProcessedEvent(Base):
    """Slack event ids already handled, so a retried delivery changes nothing."""

    __tablename__ = "processed_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)


class InboxEvent(Base):
    """A request Slack (or a tracker) sent, stored before it was acknowledged and processed after.

    The ack path only inserts the row (unique `dedupe_key`: a retried or doubly delivered event is
    stored once); workers lease pending rows, in order per `ordering_key` (a channel), and mark
    them done, retry them with backoff, or park them as `failed` with the reason.
    """

    __tablename__ = "inbox"
    __table_args__ = (
        Index("ix_inbox_due", "status", "next_attempt_at"),
        # The first waiting row of each channel, read from the waiting rows alone: the done ones
        # (kept three days) are not in it.
        Index(
            "ix_inbox_waiting",
            "ordering_key",
            "id",
            sqlite_where=text("status IN ('pending', 'leased')"),
            postgresql_where=text("status IN ('pending', 'leased')"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Slack's `event_id` when it is one; else a digest of the body (a replay has the same bytes).
    dedupe_key: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # "event": an Events API callback
    event_type: Mapped[str | None] = mapped_column(String(64))
    ordering_key: Mapped[str | None] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(index=True)
    processed_at: Mapped[datetime | None]


class OutboxMessage(Base):
    """A Web API call the desk owes Slack, written in the same transaction as the state change.

    The dispatcher leases due rows, calls Slack outside any transaction, then records the result.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        # Joining a waiting row (a card refresh) finds it by key and status; without both in
        # one index SQLite reads every pending row through ix_outbox_due.
        Index("ix_outbox_waiting", "coalesce_key", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    method: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    purpose: Mapped[str | None] = mapped_column(String(48))
    # Rows with the same key that are still waiting are one call: a burst of card changes sends
    # one chat.update, rendered from the ticket as it is when it goes out.
    coalesce_key: Mapped[str | None] = mapped_column(String(100), index=True)
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
