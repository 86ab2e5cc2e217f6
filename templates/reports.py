"""Wording of the managers' numbers: the weekly digest, the CSAT digest, `/support stats`, and the
charts' titles. Numbers are said with their previous period beside them ("42 · last week 37"),
empty figures say so ("no tickets", "no answers") instead of a 0 % or a division by zero, and the
notification text (`text`) carries the key numbers for phones and screen readers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from templates.render import render_message
from templates.sla import short_duration
from workflows.vocabulary import CSAT_LABELS, CsatRating

if TYPE_CHECKING:
    from storage.reports import Spread
    from templates.charts import Chart
    from workflows.reports import CsatDigest, Figures, Period, Stats, WeeklyDigest

CSAT_EMOJI = {
    CsatRating.EXTREMELY_SATISFIED: ":star-struck:",
    CsatRating.SATISFIED: ":slightly_smiling_face:",
    CsatRating.UNSATISFIED: ":slightly_frowning_face:",
    CsatRating.EXTREMELY_UNSATISFIED: ":angry:",
}


def period_label(period: Period, tz: ZoneInfo) -> str:
    """`Mon 16 – Sun 22 Nov 2026` for whole local days, else both ends with their times."""
    since, until = period.since.astimezone(tz), period.until.astimezone(tz)
    if since.time() == until.time() == datetime.min.time():
        last = (until - timedelta(days=1)).date()
        if last == since.date():
            return f"{since:%a} {since.day} {since:%b %Y}"
        start = f"{since:%a} {since.day}" + ("" if since.month == last.month else f" {since:%b}")
        if since.year != last.year:
            start += f" {since.year}"
        return f"{start} – {last:%a} {last.day} {last:%b %Y}"
    return (
        f"{since:%a} {since.day} {since:%b %H:%M} – {until:%a} {until.day} {until:%b %Y %H:%M} "
        f"({since:%Z})"
    )


def duration(seconds: float | None) -> str:
    return "—" if seconds is None else short_duration(timedelta(seconds=round(seconds)))


def percent(value: float | None, empty: str = "no tickets") -> str:
    return empty if value is None else f"{value:g}%"


def signed(value: int) -> str:
    return f"+{value}" if value > 0 else str(value)


@dataclass(frozen=True)
class Figure:
    """One number as shown: its value, the previous period's, and a mark when it got worse."""

    label: str
    value: str
    previous: str
    worse: bool = False


def _compare_counts(label: str, now: int, before: int, *, lower_is_better: bool) -> Figure:
    worse = now > before if lower_is_better else now < before
    return Figure(label, str(now), str(before), worse and now != before)


def _compare_durations(label: str, now: float | None, before: float | None) -> Figure:
    worse = now is not None and before is not None and now > before
    return Figure(label, duration(now), duration(before), worse)


def _compare_pct(label: str, now: float | None, before: float | None, empty: str) -> Figure:
    worse = now is not None and before is not None and now < before
    return Figure(label, percent(now, empty), percent(before, empty), worse)


def headline(current: Figures, previous: Figures) -> dict[str, list[Figure]]:
    """The digest's and the stats answer's figures, in the order a lead reads them."""
    net_now, net_before = current.net_change, previous.net_change
    return {
        "volume": [
            _compare_counts("Opened", current.opened, previous.opened, lower_is_better=True),
            _compare_counts("Resolved", current.resolved, previous.resolved, lower_is_better=False),
            _compare_counts(
                "Backlog at end", current.backlog_end, previous.backlog_end, lower_is_better=True
            ),
            # Worse: the backlog grew more (or shrank less) than before.
            Figure("Net change", signed(net_now), signed(net_before), net_now > net_before),
        ],
        "speed": [
            _compare_durations(
                "First response, median",
                current.first_response.median,
                previous.first_response.median,
            ),
            _compare_durations(
                "First response, 90th percentile",
                current.first_response.p90,
                previous.first_response.p90,
            ),
            _compare_durations(
                "Resolution, median", current.resolution.median, previous.resolution.median
            ),
            _compare_durations(
                "Resolution, average", current.resolution.average, previous.resolution.average
            ),
        ],
        "quality": [
            _compare_pct(
                "SLA met, first response",
                current.sla_first_pct,
                previous.sla_first_pct,
                "no tickets",
            ),
            _compare_pct(
                "SLA met, resolution",
                current.sla_resolution_pct,
                previous.sla_resolution_pct,
                "no tickets",
            ),
            Figure(
                "CSAT",
                _csat(current.csat_pct, current.csat_answers),
                _csat(previous.csat_pct, previous.csat_answers),
                current.csat_pct is not None
                and previous.csat_pct is not None
                and current.csat_pct < previous.csat_pct,
            ),
        ],
    }


def _csat(value: float | None, answers: int) -> str:
    if value is None:
        return "no answers"
    return f"{value:g}% of {answers} answer{'s' if answers != 1 else ''}"


def _spread_words(spread: Spread) -> str:
    if spread.count == 0:
        return "none came back"
    return f"median {duration(spread.median)}, average {duration(spread.average)}"


def weekly_digest_message(digest: WeeklyDigest, *, tz: ZoneInfo) -> dict[str, Any]:
    current, previous = digest.current, digest.previous
    figures = headline(current, previous)
    return render_message(
        "weekly_digest.json.j2",
        period=period_label(current.period, tz),
        previous_period=period_label(previous.period, tz),
        empty=current.opened == 0 and current.resolved == 0 and current.backlog_end == 0,
        figures=figures,
        net=current.net_change,
        opened=current.opened,
        resolved=current.resolved,
        backlog=current.backlog_end,
        first_median=duration(current.first_response.median),
        first_p90=duration(current.first_response.p90),
        sla_first=percent(current.sla_first_pct),
        csat=_csat(current.csat_pct, current.csat_answers),
        escalated=current.escalated,
        escalated_before=previous.escalated,
        engineering=current.escalations.get("engineering", 0),
        second_line=current.escalations.get("second_line", 0),
        time_in_engineering=_spread_words(current.time_in_engineering),
        feature_requests=current.feature_requests,
        feature_requests_before=previous.feature_requests,
        shipped=current.shipped,
        shipped_before=previous.shipped,
        shipped_told=current.shipped_told,
        suggested=current.suggested,
        deflected=current.deflected,
        deflection=percent(current.deflection_pct),
        deflection_before=percent(previous.deflection_pct),
        deflection_worse=current.deflection_pct is not None
        and previous.deflection_pct is not None
        and current.deflection_pct < previous.deflection_pct,
        unhelpful=current.unhelpful,
        unhelpful_before=previous.unhelpful,
        unhelpful_articles=[
            {"title": title, "count": count} for title, count in digest.unhelpful_articles
        ],
        rankings=[
            ("Queues", digest.queues),
            ("Products", digest.products),
            ("Tags", digest.tags),
            ("Customers", digest.customers),
        ],
        agents=[
            {
                "agent": row.agent,
                "claimed": row.claimed,
                "resolved": row.resolved,
                "first": duration(row.first_response.median),
                "csat": _csat(row.csat_pct, row.csat_answers),
            }
            for row in digest.agents
        ],
        comments=[_comment_line(c) for c in digest.comments],
    )


def _comment_line(comment: Any) -> dict[str, Any]:
    rating = CsatRating(comment.rating)
    return {
        "ref": comment.ref,
        "link": comment.link,
        "emoji": CSAT_EMOJI[rating],
        "rating": CSAT_LABELS[rating],
        "comment": comment.comment,
        "agent": comment.agent,
        "queue": comment.queue,
    }


def csat_digest_message(digest: CsatDigest, *, tz: ZoneInfo) -> dict[str, Any]:
    return render_message(
        "csat_digest.json.j2",
        period=period_label(digest.period, tz),
        answers=digest.answers,
        csat=_csat(digest.pct, digest.answers),
        previous=_csat(digest.previous_pct, digest.previous_answers),
        ratings=[
            (CSAT_EMOJI[r], CSAT_LABELS[r], digest.ratings.get(r.value, 0)) for r in CsatRating
        ],
        queues=[(g.name or "—", _csat(g.pct, g.answers)) for g in digest.queues],
        agents=[(g.name, _csat(g.pct, g.answers)) for g in digest.agents],
        answered=[_comment_line(c) for c in digest.answered],
        more=digest.more_comments,
    )


def stats_answer(stats: Stats, *, tz: ZoneInfo) -> dict[str, Any]:
    """`/support stats`: the headline figures, privately, in the command's ack."""
    current = stats.current
    message = render_message(
        "stats_answer.json.j2",
        label=stats.label,
        opened=current.opened,
        resolved=current.resolved,
        backlog=current.backlog_end,
        net=current.net_change,
        first_median=duration(current.first_response.median),
        first_p90=duration(current.first_response.p90),
        csat=_csat(current.csat_pct, current.csat_answers),
        figures=headline(stats.current, stats.previous),
        escalated=stats.current.escalated,
        feature_requests=stats.current.feature_requests,
    )
    message["response_type"] = "ephemeral"
    return message


def chart_titles(period: Period, tz: ZoneInfo) -> dict[str, str]:
    label = period_label(period, tz)
    return {
        "volume": f"Opened vs resolved per day, {label}",
        "first_response": f"First responses vs SLA target, {label}",
    }


def charts_comment(period: Period, tz: ZoneInfo) -> str:
    return f"Charts for the weekly digest, {period_label(period, tz)}"


def weekly_charts(digest: WeeklyDigest, *, tz: ZoneInfo) -> list[Chart]:
    """The weekly digest's two charts, rendered (matplotlib, headless)."""
    from templates.charts import (
        Chart,
        first_response_alt_text,
        first_response_chart,
        volume_alt_text,
        volume_chart,
    )

    titles = chart_titles(digest.current.period, tz)
    days = [d.day for d in digest.days]
    opened, resolved = [d.opened for d in digest.days], [d.resolved for d in digest.days]
    backlog = [d.backlog for d in digest.days]
    labels = list(digest.response_labels)
    met, missed = digest.response_met, digest.response_missed
    start = digest.current.period.since.astimezone(tz).date()
    return [
        Chart(
            filename=f"weekly-volume-{start.isoformat()}.png",
            title=titles["volume"],
            alt_text=volume_alt_text(days, opened, resolved, backlog),
            png=volume_chart(days, opened, resolved, backlog, title=titles["volume"]),
        ),
        Chart(
            filename=f"weekly-first-response-{start.isoformat()}.png",
            title=titles["first_response"],
            alt_text=first_response_alt_text(labels, met, missed),
            png=first_response_chart(labels, met, missed, title=titles["first_response"]),
        ),
    ]
