"""The managers' figures, computed in SQL: every digest, `/support stats` and the tests read them
from here, so a number means the same wherever it is shown.

Every figure but two is an aggregate over a range of one indexed column (`created_at`,
`resolved_at`, `first_response_at`, `ticket_events(kind, at)`, `escalations.escalated_at`,
`csat_surveys.answered_at`), so its cost follows the period's tickets, not the table's. The
backlog at a moment counts index entries only (what is resolved since then, inside the partial
`(resolved_at, created_at)` index), and time in engineering reads the escalations
(`bench/weekly_digest.py` has the figures).

**Percentiles are defined here, once.** The p-th percentile of n values x₁ ≤ … ≤ xₙ is the
linear interpolation between closest ranks: with h = (n − 1)·p/100, it is
x⌊h⌋₊₁ + (h − ⌊h⌋)·(x⌊h⌋₊₂ − x⌊h⌋₊₁). That is PostgreSQL's `percentile_cont`, Excel's
`PERCENTILE.INC`, numpy's default and Python's `statistics.quantiles(method="inclusive")`; the
median is the 50th percentile (the mean of the two middle values of an even count). SQL numbers
the rows (a window function both SQLite and PostgreSQL run) and picks the two ranks around h;
only those two values per group leave the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import Float

from storage.models import (
    CsatSurvey,
    Escalation,
    FeatureRequest,
    FeatureRequestLink,
    KbSuggestion,
    Ticket,
    TicketEvent,
    TicketTag,
)

PERCENTILES = (50, 90)
# A column or an SQL expression over columns.
Expression = ColumnElement[Any] | QueryableAttribute[Any]


@dataclass(frozen=True)
class Spread:
    """How long something took, over `count` tickets (seconds); None when there were none."""

    count: int
    median: float | None
    p90: float | None
    average: float | None

    @classmethod
    def empty(cls) -> Spread:
        return cls(0, None, None, None)


def interpolate(low: float | None, high: float | None, count: int, p: int) -> float | None:
    """The percentile between the two ranks SQL picked (see the module's definition)."""
    if count == 0 or low is None:
        return None
    fraction = ((count - 1) * p % 100) / 100
    if high is None or fraction == 0:
        return float(low)
    return float(low) + fraction * (float(high) - float(low))


class seconds_between(FunctionElement[float]):
    """`end - start` in seconds, in each dialect's own date arithmetic."""

    type = Float()
    inherit_cache = True


@compiles(seconds_between, "postgresql")
def _seconds_between_pg(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return f"EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - {compiler.process(start, **kw)}))"


@compiles(seconds_between)
def _seconds_between_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return (
        f"ROUND((julianday({compiler.process(end, **kw)}) - "
        f"julianday({compiler.process(start, **kw)})) * 86400.0, 3)"
    )


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


class ReportRepository:
    """The figures of a period `[since, until)`. Merged-away tickets count as the ticket they
    were merged into (they are left out)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- spreads (percentiles) ------------------------------------------------------------------

    def spreads(
        self,
        value: Expression,
        *where: ColumnElement[bool],
        group: Expression | None = None,
        select_from: Any = Ticket,
    ) -> dict[Any, Spread]:
        """Median, 90th percentile and average of `value` over the rows matching `where`, per
        `group` (one key, None, without a group). Rows whose value is NULL are left out."""
        key = group if group is not None else literal(None)
        ranked = (
            select(
                key.label("g"),
                value.label("x"),
                func.row_number().over(partition_by=key, order_by=value).label("rn"),
                func.count().over(partition_by=key).label("n"),
            )
            .select_from(select_from)
            .where(value.is_not(None), *where)
            .subquery()
        )
        picks: list[Any] = []
        for p in PERCENTILES:
            rank = (ranked.c.n - 1) * p // 100 + 1
            picks.append(func.max(case((ranked.c.rn == rank, ranked.c.x))))
            picks.append(func.max(case((ranked.c.rn == rank + 1, ranked.c.x))))
        rows = self.session.execute(
            select(ranked.c.g, ranked.c.n, func.avg(ranked.c.x), *picks).group_by(
                ranked.c.g, ranked.c.n
            )
        )
        out: dict[Any, Spread] = {}
        for g, n, average, *values in rows:
            count = int(n)
            median, p90 = (
                interpolate(values[2 * i], values[2 * i + 1], count, p)
                for i, p in enumerate(PERCENTILES)
            )
            out[g] = Spread(count, median, p90, float(average))
        return out

    def spread(self, value: Expression, *where: ColumnElement[bool]) -> Spread:
        return self.spreads(value, *where).get(None, Spread.empty())

    def first_response(self, since: datetime, until: datetime) -> Spread:
        """First responses given in the period, in business seconds of each ticket's clock."""
        return self.spread(Ticket.first_response_seconds, *_first_responded(since, until))

    def resolution(self, since: datetime, until: datetime) -> Spread:
        """Tickets resolved in the period: business seconds from open to resolved."""
        return self.spread(Ticket.resolution_seconds, *_resolved(since, until))

    # --- volume ---------------------------------------------------------------------------------

    def opened(self, since: datetime, until: datetime) -> int:
        return self._scalar(select(func.count(Ticket.id)).where(*_opened(since, until)))

    def resolved(self, since: datetime, until: datetime) -> int:
        return self._scalar(select(func.count(Ticket.id)).where(*_resolved(since, until)))

    def backlog(self, at: datetime, *, active: Iterable[str]) -> int:
        """Tickets opened before `at` and not resolved by then: those still active (opened
        before `at`) plus those resolved since. Two range counts over indexes, whatever the
        table's size; backlog(until) − backlog(since) = opened − resolved in the period."""
        # count(*) needs no column outside the indexes: both counts stay inside them.
        still_open = (
            select(func.count())
            .select_from(Ticket)
            .where(Ticket.status.in_(list(active)), Ticket.created_at < at)
        )
        resolved_since = (
            select(func.count())
            .select_from(Ticket)
            .where(
                Ticket.resolved_at >= at,
                Ticket.created_at < at,
                Ticket.merged_into_id.is_(None),
            )
        )
        return self._scalar(still_open) + self._scalar(resolved_since)

    def daily(self, days: Sequence[datetime]) -> tuple[list[int], list[int]]:
        """Tickets opened and resolved per day; `days` are the n + 1 boundaries of n days (local
        midnights, so a day is 23 or 25 hours across a DST change). One query per measure."""
        spans = list(pairwise(days))
        if not spans:
            return [], []

        def per_day(column: Any, base: Sequence[ColumnElement[bool]]) -> list[int]:
            row = self.session.execute(
                select(*(_count(and_(column >= a, column < b)) for a, b in spans)).where(
                    *base, column >= days[0], column < days[-1]
                )
            ).one()
            return [int(v) for v in row]

        not_merged = [Ticket.merged_into_id.is_(None)]
        return per_day(Ticket.created_at, not_merged), per_day(Ticket.resolved_at, not_merged)

    def top(
        self, column: Expression, since: datetime, until: datetime, *, limit: int
    ) -> list[tuple[str, int]]:
        """The busiest values of a ticket column among tickets opened in the period."""
        count = func.count(Ticket.id)
        rows = self.session.execute(
            select(column, count)
            .where(*_opened(since, until), column.is_not(None))
            .group_by(column)
            .order_by(count.desc(), column)
            .limit(limit)
        )
        return [(str(name), int(n)) for name, n in rows]

    def counts(
        self, column: Expression, names: Iterable[str], since: datetime, until: datetime
    ) -> dict[str, int]:
        """How many tickets opened in the period had each of `names` (the previous period's
        figures for this period's top list)."""
        wanted = list(names)
        if not wanted:
            return {}
        rows = self.session.execute(
            select(column, func.count(Ticket.id))
            .where(*_opened(since, until), column.in_(wanted))
            .group_by(column)
        )
        return {str(name): int(n) for name, n in rows}

    def top_tags(self, since: datetime, until: datetime, *, limit: int) -> list[tuple[str, int]]:
        count = func.count(TicketTag.ticket_id)
        rows = self.session.execute(
            select(TicketTag.tag, count)
            .join(Ticket, Ticket.id == TicketTag.ticket_id)
            .where(*_opened(since, until))
            .group_by(TicketTag.tag)
            .order_by(count.desc(), TicketTag.tag)
            .limit(limit)
        )
        return [(str(tag), int(n)) for tag, n in rows]

    def tag_counts(self, tags: Iterable[str], since: datetime, until: datetime) -> dict[str, int]:
        wanted = list(tags)
        if not wanted:
            return {}
        rows = self.session.execute(
            select(TicketTag.tag, func.count(TicketTag.ticket_id))
            .join(Ticket, Ticket.id == TicketTag.ticket_id)
            .where(*_opened(since, until), TicketTag.tag.in_(wanted))
            .group_by(TicketTag.tag)
        )
        return {str(tag): int(n) for tag, n in rows}

    def opened_of_type(self, issue_type: str, since: datetime, until: datetime) -> int:
        return self._scalar(
            select(func.count(Ticket.id)).where(
                *_opened(since, until), Ticket.issue_type == issue_type
            )
        )

    # --- SLA --------------------------------------------------------------------------------------

    def first_response_histogram(
        self, since: datetime, until: datetime, edges: Sequence[int]
    ) -> tuple[list[int], list[int]]:
        """First responses given in the period per bucket of business seconds (`[0, edges[0])`,
        …, `[edges[-1], ∞)`), split into those within their target and those late."""
        bucket = case(
            *((Ticket.first_response_seconds < edge, index) for index, edge in enumerate(edges)),
            else_=len(edges),
        )
        on_time = or_(
            Ticket.first_response_due_at.is_(None),
            Ticket.first_response_at <= Ticket.first_response_due_at,
        )
        rows = self.session.execute(
            select(bucket, _count(on_time), _count(~on_time))
            .where(*_first_responded(since, until), Ticket.first_response_seconds.is_not(None))
            .group_by(bucket)
        )
        met = [0] * (len(edges) + 1)
        missed = [0] * (len(edges) + 1)
        for index, on, late in rows:
            met[int(index)], missed[int(index)] = int(on), int(late)
        return met, missed

    # --- escalations ------------------------------------------------------------------------------

    def escalations(self, since: datetime, until: datetime) -> dict[str, int]:
        """Escalations made in the period, by kind (engineering, second_line)."""
        rows = self.session.execute(
            select(Escalation.kind, func.count(Escalation.id))
            .where(Escalation.escalated_at >= since, Escalation.escalated_at < until)
            .group_by(Escalation.kind)
        )
        return {str(kind): int(n) for kind, n in rows}

    def time_in_engineering(self, since: datetime, until: datetime, *, kind: str) -> Spread:
        """Escalations that came back in the period (fixed, withdrawn or passed back): wall-clock
        seconds from escalated to back. Engineering keeps its own hours."""
        back = func.coalesce(Escalation.fixed_at, Escalation.closed_at)
        return self.spreads(
            seconds_between(Escalation.escalated_at, back),
            Escalation.kind == kind,
            back >= since,
            back < until,
            select_from=Escalation,
        ).get(None, Spread.empty())

    # --- CSAT -------------------------------------------------------------------------------------

    def csat(
        self,
        since: datetime,
        until: datetime,
        *,
        satisfied: Iterable[str],
        group: Expression | None = None,
    ) -> dict[Any, tuple[int, int]]:
        """(answers, satisfied answers) of surveys answered in the period, per `group` (a
        `CsatSurvey` column) or under None."""
        key = group if group is not None else literal(None)
        rows = self.session.execute(
            select(
                key,
                func.count(CsatSurvey.id),
                _count(CsatSurvey.rating.in_(list(satisfied))),
            )
            .join(Ticket, Ticket.id == CsatSurvey.ticket_id)
            .where(*_answered(since, until))
            .group_by(key)
        )
        return {g: (int(n), int(good)) for g, n, good in rows}

    def csat_commented(self, since: datetime, until: datetime) -> int:
        """Answers of the period that came with a comment."""
        return self._scalar(
            select(func.count(CsatSurvey.id))
            .join(Ticket, Ticket.id == CsatSurvey.ticket_id)
            .where(*_answered(since, until), CsatSurvey.comment.is_not(None))
            .where(CsatSurvey.comment != "")
        )

    def csat_ratings(self, since: datetime, until: datetime) -> dict[str, int]:
        rows = self.session.execute(
            select(CsatSurvey.rating, func.count(CsatSurvey.id))
            .join(Ticket, Ticket.id == CsatSurvey.ticket_id)
            .where(*_answered(since, until))
            .group_by(CsatSurvey.rating)
        )
        return {str(rating): int(n) for rating, n in rows}

    def csat_answers(
        self,
        since: datetime,
        until: datetime,
        *,
        worst_first: Sequence[str],
        with_comment: bool = False,
        limit: int = 200,
    ) -> Sequence[tuple[CsatSurvey, Ticket]]:
        """Surveys answered in the period with their tickets: ratings in the order of
        `worst_first`, then as they came, so a limit keeps the unhappiest."""
        rank = case(
            *((CsatSurvey.rating == rating, index) for index, rating in enumerate(worst_first)),
            else_=len(worst_first),
        )
        query = (
            select(CsatSurvey, Ticket)
            .join(Ticket, Ticket.id == CsatSurvey.ticket_id)
            .where(*_answered(since, until))
        )
        if with_comment:
            query = query.where(CsatSurvey.comment.is_not(None), CsatSurvey.comment != "")
        return [
            (survey, ticket)
            for survey, ticket in self.session.execute(
                query.order_by(rank, CsatSurvey.answered_at, CsatSurvey.id).limit(limit)
            )
        ]

    # --- per agent --------------------------------------------------------------------------------

    def claimed_by(self, since: datetime, until: datetime, *, kind: str) -> dict[str, int]:
        """Tickets each agent took in the period (their `claimed` events, a ticket once)."""
        rows = self.session.execute(
            select(TicketEvent.actor, func.count(func.distinct(TicketEvent.ticket_id)))
            .join(Ticket, Ticket.id == TicketEvent.ticket_id)
            .where(TicketEvent.kind == kind, TicketEvent.at >= since, TicketEvent.at < until)
            .where(TicketEvent.actor.is_not(None), Ticket.merged_into_id.is_(None))
            .group_by(TicketEvent.actor)
        )
        return {str(actor): int(n) for actor, n in rows}

    def resolved_by(self, since: datetime, until: datetime) -> dict[str, int]:
        """Tickets resolved in the period, by their assignee (who owned the work)."""
        rows = self.session.execute(
            select(Ticket.assignee, func.count(Ticket.id))
            .where(*_resolved(since, until), Ticket.assignee.is_not(None))
            .group_by(Ticket.assignee)
        )
        return {str(agent): int(n) for agent, n in rows}

    def first_response_by(self, since: datetime, until: datetime) -> dict[str, Spread]:
        spreads = self.spreads(
            Ticket.first_response_seconds,
            *_first_responded(since, until),
            Ticket.assignee.is_not(None),
            group=Ticket.assignee,
        )
        return {str(agent): spread for agent, spread in spreads.items()}

    # --- self-serve answers and feature requests -------------------------------------------------

    def self_serve(self, since: datetime, until: datetime) -> dict[str | None, int]:
        """The knowledge-base answers the bot offered in the period (one per question, when the
        question came), by what the requester said of them: solved, unhelpful, None (nothing
        yet). Agents' Suggest article is an agent's answer, not a deflection: not counted."""
        rows = self.session.execute(
            select(KbSuggestion.outcome, func.count(KbSuggestion.id))
            .join(Ticket, Ticket.id == KbSuggestion.ticket_id)
            .where(
                KbSuggestion.suggested_by.is_(None),
                KbSuggestion.suggested_at >= since,
                KbSuggestion.suggested_at < until,
                Ticket.merged_into_id.is_(None),
            )
            .group_by(KbSuggestion.outcome)
        ).all()
        return {outcome: int(count) for outcome, count in rows}

    def unhelpful_articles(
        self, since: datetime, until: datetime, *, limit: int = 3
    ) -> list[tuple[str, int]]:
        """The articles most often offered with "I still need help" in reply (the bot's offers
        of the period): what the knowledge base should improve first. Titles, most first."""
        shown = self.session.scalars(
            select(KbSuggestion.articles)
            .join(Ticket, Ticket.id == KbSuggestion.ticket_id)
            .where(
                KbSuggestion.suggested_by.is_(None),
                KbSuggestion.suggested_at >= since,
                KbSuggestion.suggested_at < until,
                KbSuggestion.outcome == "unhelpful",
                Ticket.merged_into_id.is_(None),
            )
        ).all()
        counts: dict[str, int] = {}
        for articles in shown:
            for title in {str(a.get("title") or a.get("path")) for a in articles or ()}:
                counts[title] = counts.get(title, 0) + 1
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]

    def shipped(self, since: datetime, until: datetime) -> tuple[int, int]:
        """Feature requests shipped in the period, and requesters told so in it."""
        requests = self._scalar(
            select(func.count(FeatureRequest.id)).where(
                FeatureRequest.shipped_at >= since, FeatureRequest.shipped_at < until
            )
        )
        told = self._scalar(
            select(func.count(FeatureRequestLink.id)).where(
                FeatureRequestLink.notified_at >= since, FeatureRequestLink.notified_at < until
            )
        )
        return requests, told

    def _scalar(self, query: Any) -> int:
        return int(self.session.execute(query).scalar_one() or 0)


def _opened(since: datetime, until: datetime) -> list[ColumnElement[bool]]:
    return [Ticket.created_at >= since, Ticket.created_at < until, Ticket.merged_into_id.is_(None)]


def _resolved(since: datetime, until: datetime) -> list[ColumnElement[bool]]:
    return [
        Ticket.resolved_at >= since,
        Ticket.resolved_at < until,
        Ticket.merged_into_id.is_(None),
    ]


def _first_responded(since: datetime, until: datetime) -> list[ColumnElement[bool]]:
    return [
        Ticket.first_response_at >= since,
        Ticket.first_response_at < until,
        Ticket.merged_into_id.is_(None),
    ]


def _answered(since: datetime, until: datetime) -> list[ColumnElement[bool]]:
    """Surveys answered in the period (the query joins their tickets: merged ones are left out,
    as everywhere)."""
    return [
        CsatSurvey.answered_at >= since,
        CsatSurvey.answered_at < until,
        CsatSurvey.rating.is_not(None),
        Ticket.merged_into_id.is_(None),
    ]
