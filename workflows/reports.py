"""The managers' numbers: the weekly digest, the CSAT digest and `/support stats`.

A period is half-open, `[since, until)`, and its days are the desk's local days. Each figure is
one of `storage.reports` (computed in SQL, percentiles defined there) and is shown beside the
previous period's: the same number of local days just before (or the same length, for a period
that does not start and end at midnight).

What counts, so a manager can check any number by hand:
- *opened*: tickets created in the period; tickets merged into another are left out everywhere;
- *resolved*: tickets whose resolution lies in the period (a ticket reopened and resolved again
  counts where it was last resolved);
- *backlog*: tickets opened before the moment and not resolved by it; its change over the period
  is opened − resolved ("net zero growth": a positive change means the team fell behind);
- *first response* and *resolution* times: business time of each ticket's SLA clock, over the
  first responses given and the tickets resolved in the period;
- *SLA attainment*: met / (met + missed) of the tickets opened in the period, as in the SLA digest;
- *CSAT*: the share of satisfied and extremely satisfied among the answers given in the period;
- *per agent*: tickets taken (claimed), resolved (as assignee), their first responses' median
  and the CSAT of the tickets they owned when resolved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from storage.models import CsatSurvey, Ticket
from storage.reports import Expression, ReportRepository, Spread
from storage.repositories import OutboxRepository, SlaRepository
from templates.reports import charts_comment, csat_digest_message, weekly_digest_message
from workflows.delivery import Purpose
from workflows.desk import Desk
from workflows.sla_state import STOPPED_STATUSES
from workflows.vocabulary import (
    ACTIVE_STATUSES,
    CSAT_SATISFIED,
    CsatRating,
    EscalationKind,
    EventKind,
    IssueType,
    SuggestionOutcome,
)

if TYPE_CHECKING:
    from templates.charts import Chart

WEEK = timedelta(days=7)
TOP = 5  # how many queues, products, tags and customers a digest lists
MAX_AGENTS = 15
MAX_COMMENTS = 5
# The first-response chart's buckets (business time), cut at the usual SLA targets.
RESPONSE_EDGES = (15 * 60, 3600, 4 * 3600, 8 * 3600, 24 * 3600)
RESPONSE_LABELS = ("< 15m", "15m–1h", "1–4h", "4–8h", "8–24h", "24h+")


# --- periods -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime

    def previous(self, tz: ZoneInfo) -> Period:
        """The period just before: as many local days (DST-proof), or the same length."""
        local_since, local_until = self.since.astimezone(tz), self.until.astimezone(tz)
        if local_since.time() == time(0) and local_until.time() == time(0):
            days = (local_until.date() - local_since.date()).days
            start = datetime.combine(local_since.date() - timedelta(days=days), time(0), tz)
            return Period(start, self.since)
        return Period(self.since - (self.until - self.since), self.since)

    def days(self, tz: ZoneInfo) -> list[datetime]:
        """The boundaries of the period's local days: since, each local midnight, until."""
        bounds = [self.since]
        day = self.since.astimezone(tz).date() + timedelta(days=1)
        while (midnight := datetime.combine(day, time(0), tz)) < self.until:
            bounds.append(midnight)
            day += timedelta(days=1)
        bounds.append(self.until)
        return bounds


def week_ending(day: date, tz: ZoneInfo) -> Period:
    """The 7 local days before `day` (its midnight excluded): a Monday digest's Mon–Sun."""
    until = datetime.combine(day, time(0), tz)
    return Period(datetime.combine(day - WEEK, time(0), tz), until)


def last_week(now: datetime, tz: ZoneInfo, weekday: int) -> Period:
    """The week a digest posted on `weekday` (0 = Monday) covers: the 7 local days before the
    most recent such day (today, if it is that day)."""
    today = now.astimezone(tz).date()
    return week_ending(today - timedelta(days=(today.weekday() - weekday) % 7), tz)


def due_week(
    now: datetime, tz: ZoneInfo, weekday: int, at: time, *, grace: timedelta
) -> Period | None:
    """The week whose weekly digest is due now: its moment (`weekday` at `at`, local) has come
    and is less than `grace` ago. A job that checks every few minutes so posts it once a replica
    is up, even if none was at the moment itself."""
    local = now.astimezone(tz)
    day = local.date() - timedelta(days=(local.weekday() - weekday) % 7)
    moment = datetime.combine(day, at, tz)
    if moment > local:
        day -= WEEK
        moment = datetime.combine(day, at, tz)
    if now - moment >= grace:
        return None
    return week_ending(day, tz)


def rolling(now: datetime, days: int) -> Period:
    """The last `days` days up to now (`/support stats week|month`)."""
    return Period(now - timedelta(days=days), now)


# --- figures -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ranked:
    name: str
    count: int
    previous: int


@dataclass(frozen=True)
class AgentRow:
    agent: str
    claimed: int
    resolved: int
    first_response: Spread
    csat_answers: int
    csat_satisfied: int

    @property
    def csat_pct(self) -> float | None:
        return pct(self.csat_satisfied, self.csat_answers)


@dataclass(frozen=True)
class Figures:
    """One period's numbers."""

    period: Period
    opened: int
    resolved: int
    backlog_start: int
    backlog_end: int
    first_response: Spread
    resolution: Spread
    sla_first_met: int
    sla_first_missed: int
    sla_resolution_met: int
    sla_resolution_missed: int
    csat_answers: int
    csat_satisfied: int
    escalations: dict[str, int]
    time_in_engineering: Spread
    feature_requests: int
    # Self-serve: the bot's knowledge-base answers offered to the period's questions, and what
    # their requesters said; feature requests shipped, and requesters told.
    suggested: int = 0
    deflected: int = 0
    unhelpful: int = 0
    shipped: int = 0
    shipped_told: int = 0

    @property
    def deflection_pct(self) -> float | None:
        """Deflected / all questions: the share of the period's tickets a requester closed
        with a knowledge-base answer, no agent needed."""
        return pct(self.deflected, self.opened)

    @property
    def net_change(self) -> int:
        return self.opened - self.resolved

    @property
    def sla_first_pct(self) -> float | None:
        return pct(self.sla_first_met, self.sla_first_met + self.sla_first_missed)

    @property
    def sla_resolution_pct(self) -> float | None:
        return pct(self.sla_resolution_met, self.sla_resolution_met + self.sla_resolution_missed)

    @property
    def csat_pct(self) -> float | None:
        return pct(self.csat_satisfied, self.csat_answers)

    @property
    def escalated(self) -> int:
        return sum(self.escalations.values())


def pct(part: int, whole: int) -> float | None:
    """A share in percent to one decimal; None (said "no tickets"/"no answers") for 0 of 0."""
    return None if whole == 0 else round(100 * part / whole, 1)


def figures(session: Session, period: Period) -> Figures:
    reports = ReportRepository(session)
    since, until = period.since, period.until
    attainment = SlaRepository(session).attainment(
        since, until, active=ACTIVE_STATUSES, stopped=STOPPED_STATUSES
    )
    csat = reports.csat(since, until, satisfied=CSAT_SATISFIED).get(None, (0, 0))
    opened, resolved = reports.opened(since, until), reports.resolved(since, until)
    backlog_start = reports.backlog(since, active=ACTIVE_STATUSES)
    self_serve = reports.self_serve(since, until)
    shipped, shipped_told = reports.shipped(since, until)
    return Figures(
        period=period,
        opened=opened,
        resolved=resolved,
        backlog_start=backlog_start,
        # The identity `ReportRepository.backlog` keeps: one count of the backlog, not two.
        backlog_end=backlog_start + opened - resolved,
        first_response=reports.first_response(since, until),
        resolution=reports.resolution(since, until),
        sla_first_met=sum(int(row["first_met"]) for row in attainment),
        sla_first_missed=sum(int(row["first_missed"]) for row in attainment),
        sla_resolution_met=sum(int(row["resolution_met"]) for row in attainment),
        sla_resolution_missed=sum(int(row["resolution_missed"]) for row in attainment),
        csat_answers=csat[0],
        csat_satisfied=csat[1],
        escalations=reports.escalations(since, until),
        time_in_engineering=reports.time_in_engineering(
            since, until, kind=EscalationKind.ENGINEERING
        ),
        feature_requests=reports.opened_of_type(IssueType.FEATURE_REQUEST, since, until),
        suggested=sum(self_serve.values()),
        deflected=self_serve.get(SuggestionOutcome.SOLVED, 0),
        unhelpful=self_serve.get(SuggestionOutcome.UNHELPFUL, 0),
        shipped=shipped,
        shipped_told=shipped_told,
    )


@dataclass(frozen=True)
class Day:
    day: date
    opened: int
    resolved: int
    backlog: int  # at the day's end


@dataclass(frozen=True)
class Comment:
    ref: str
    ticket_id: int
    rating: str
    comment: str
    agent: str | None
    queue: str
    link: str | None


@dataclass(frozen=True)
class WeeklyDigest:
    current: Figures
    previous: Figures
    days: list[Day]
    queues: list[Ranked]
    products: list[Ranked]
    tags: list[Ranked]
    customers: list[Ranked]
    agents: list[AgentRow]
    comments: list[Comment]
    # The first-response chart: first responses of the period per bucket, on time and late.
    response_labels: tuple[str, ...] = RESPONSE_LABELS
    response_met: list[int] = field(default_factory=list)
    response_missed: list[int] = field(default_factory=list)
    # Titles of the articles most often answered "I still need help", with how often.
    unhelpful_articles: list[tuple[str, int]] = field(default_factory=list)


def _ranked(
    reports: ReportRepository, column: Expression, current: Period, previous: Period
) -> list[Ranked]:
    top = reports.top(column, current.since, current.until, limit=TOP)
    before = reports.counts(column, [name for name, _ in top], previous.since, previous.until)
    return [Ranked(name, count, before.get(name, 0)) for name, count in top]


def daily(session: Session, period: Period, tz: ZoneInfo, *, backlog_start: int) -> list[Day]:
    bounds = period.days(tz)
    opened, resolved = ReportRepository(session).daily(bounds)
    days: list[Day] = []
    backlog = backlog_start
    for start, o, r in zip(bounds, opened, resolved, strict=False):
        backlog += o - r
        days.append(Day(start.astimezone(tz).date(), o, r, backlog))
    return days


def agent_rows(session: Session, period: Period) -> list[AgentRow]:
    reports = ReportRepository(session)
    since, until = period.since, period.until
    claimed = reports.claimed_by(since, until, kind=EventKind.CLAIMED)
    resolved = reports.resolved_by(since, until)
    responses = reports.first_response_by(since, until)
    csat = reports.csat(since, until, satisfied=CSAT_SATISFIED, group=CsatSurvey.assignee)
    agents = {*claimed, *resolved, *responses, *(a for a in csat if a)}
    rows = [
        AgentRow(
            agent=agent,
            claimed=claimed.get(agent, 0),
            resolved=resolved.get(agent, 0),
            first_response=responses.get(agent, Spread.empty()),
            csat_answers=csat.get(agent, (0, 0))[0],
            csat_satisfied=csat.get(agent, (0, 0))[1],
        )
        for agent in agents
    ]
    rows.sort(key=lambda row: (-row.resolved, -row.claimed, row.agent))
    return rows[:MAX_AGENTS]


def comments(session: Session, period: Period, *, limit: int) -> list[Comment]:
    """The period's CSAT comments, the unhappiest first."""
    answers = ReportRepository(session).csat_answers(
        period.since, period.until, worst_first=WORST_FIRST, with_comment=True, limit=limit
    )
    return [_comment(survey, ticket) for survey, ticket in answers]


WORST_FIRST = tuple(rating.value for rating in reversed(CsatRating))


def _comment(survey: CsatSurvey, ticket: Ticket) -> Comment:
    return Comment(
        ref=ticket.ref,
        ticket_id=ticket.id,
        rating=survey.rating or "",
        comment=survey.comment or "",
        agent=survey.assignee,
        queue=survey.queue,
        link=ticket.permalink,
    )


def build_weekly_digest(session: Session, desk: Desk, period: Period) -> WeeklyDigest:
    tz = desk.config.tz
    previous = period.previous(tz)
    current = figures(session, period)
    reports = ReportRepository(session)
    top_tags = reports.top_tags(period.since, period.until, limit=TOP)
    tags_before = reports.tag_counts([t for t, _ in top_tags], previous.since, previous.until)
    met, missed = reports.first_response_histogram(period.since, period.until, RESPONSE_EDGES)
    return WeeklyDigest(
        current=current,
        previous=figures(session, previous),
        days=daily(session, period, tz, backlog_start=current.backlog_start),
        queues=_ranked(reports, Ticket.queue, period, previous),
        products=_ranked(reports, Ticket.product, period, previous),
        tags=[Ranked(tag, n, tags_before.get(tag, 0)) for tag, n in top_tags],
        customers=_ranked(reports, Ticket.customer, period, previous),
        agents=agent_rows(session, period),
        comments=comments(session, period, limit=MAX_COMMENTS),
        response_met=met,
        response_missed=missed,
        unhelpful_articles=reports.unhelpful_articles(period.since, period.until),
    )


# --- the CSAT digest ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CsatGroup:
    name: str | None  # a queue, or an agent's user ID
    answers: int
    satisfied: int

    @property
    def pct(self) -> float | None:
        return pct(self.satisfied, self.answers)


@dataclass(frozen=True)
class CsatDigest:
    period: Period
    answers: int
    satisfied: int
    previous_answers: int
    previous_satisfied: int
    ratings: dict[str, int]
    queues: list[CsatGroup]
    agents: list[CsatGroup]
    answered: list[Comment]  # the period's answers that came with a comment, worst first
    more_comments: int = 0  # comments beyond those listed

    @property
    def pct(self) -> float | None:
        return pct(self.satisfied, self.answers)

    @property
    def previous_pct(self) -> float | None:
        return pct(self.previous_satisfied, self.previous_answers)


MAX_CSAT_LISTED = 30


def build_csat_digest(session: Session, desk: Desk, period: Period) -> CsatDigest:
    reports = ReportRepository(session)
    previous = period.previous(desk.config.tz)
    now = reports.csat(period.since, period.until, satisfied=CSAT_SATISFIED).get(None, (0, 0))
    before = reports.csat(previous.since, previous.until, satisfied=CSAT_SATISFIED).get(
        None, (0, 0)
    )

    def groups(column: Expression) -> list[CsatGroup]:
        rows = reports.csat(period.since, period.until, satisfied=CSAT_SATISFIED, group=column)
        out = [CsatGroup(name, n, good) for name, (n, good) in rows.items()]
        return sorted(out, key=lambda g: (-g.answers, str(g.name)))

    answers = reports.csat_answers(
        period.since,
        period.until,
        worst_first=WORST_FIRST,
        with_comment=True,
        limit=MAX_CSAT_LISTED,
    )
    commented = reports.csat_commented(period.since, period.until)
    return CsatDigest(
        period=period,
        more_comments=max(0, commented - len(answers)),
        answers=now[0],
        satisfied=now[1],
        previous_answers=before[0],
        previous_satisfied=before[1],
        ratings=reports.csat_ratings(period.since, period.until),
        queues=groups(CsatSurvey.queue),
        agents=groups(CsatSurvey.assignee),
        answered=[_comment(survey, ticket) for survey, ticket in answers],
    )


# --- /support stats ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    label: str  # "last 7 days"
    current: Figures
    previous: Figures


STATS_SPANS = {"week": 7, "month": 30}


def stats_for_agent(session: Session, desk: Desk, user: str, span: str = "week") -> Stats | None:
    """`/support stats`: the figures, for agents only (None for anyone else)."""
    from workflows.agents import is_agent

    if not is_agent(session, desk, user):
        return None
    return build_stats(session, desk, span)


def build_stats(session: Session, desk: Desk, span: str = "week") -> Stats:
    days = STATS_SPANS[span]
    period = rolling(desk.clock.now(), days)
    return Stats(
        label=f"last {days} days",
        current=figures(session, period),
        previous=figures(session, period.previous(desk.config.tz)),
    )


# --- posting -------------------------------------------------------------------------------------


def post_weekly_digest(
    session: Session, desk: Desk, digest: WeeklyDigest, charts: Sequence[Chart], *, now: datetime
) -> bool:
    """Owe the digests channel the weekly digest, its charts just below it; False when no
    digests channel is configured."""
    from workflows.delivery import digest_payload_with_charts

    if desk.config.digests is None:
        return False
    tz = desk.config.tz
    payload = digest_payload_with_charts(
        {
            "channel": desk.config.digests.channel,
            **weekly_digest_message(digest, tz=tz),
            "unfurl_links": False,
        },
        charts,
        comment=charts_comment(digest.current.period, tz),
    )
    OutboxRepository(session).enqueue("chat.postMessage", payload, now=now, purpose=Purpose.DIGEST)
    return True


def post_csat_digest(session: Session, desk: Desk, digest: CsatDigest, *, now: datetime) -> bool:
    if desk.config.digests is None:
        return False
    OutboxRepository(session).enqueue(
        "chat.postMessage",
        {
            "channel": desk.config.digests.channel,
            **csat_digest_message(digest, tz=desk.config.tz),
            "unfurl_links": False,
        },
        now=now,
        purpose=Purpose.DIGEST,
    )
    return True
