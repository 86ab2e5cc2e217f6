"""Scheduled jobs that must run once per period however many replicas run them: the SLA sweep
(every minute), the SLA digest (daily), the weekly and CSAT digests (weekly). Each claims its
period in the database, in the same transaction as its work: the replica whose claim lands first
does the work, the others find the period taken (on PostgreSQL they wait for the winner's commit,
then skip). A run that fails rolls its claim back with it, so nothing is half-done, and the next
period catches up."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.orm import Session

from bot.config import Digests
from storage.db import SessionFactory, read_only
from storage.repositories import JobRepository
from workflows.desk import Desk
from workflows.reports import (
    CsatDigest,
    Period,
    WeeklyDigest,
    build_csat_digest,
    build_weekly_digest,
    due_week,
    post_csat_digest,
    post_weekly_digest,
)
from workflows.sla import SweepResult, sweep
from workflows.sla_digest import DEFAULT_PERIOD, SlaDigest, build_sla_digest, post_digest

SLA_SWEEP = "sla-sweep"
SLA_DIGEST = "digest-sla"
WEEKLY_DIGEST = "digest-weekly"
CSAT_DIGEST = "digest-csat"
KEEP_CLAIMS = timedelta(days=14)
# A weekly digest not posted at its moment (no replica was up) still goes out within this.
WEEKLY_GRACE = timedelta(hours=12)

if TYPE_CHECKING:
    from templates.charts import Chart

BuiltT = TypeVar("BuiltT")

logger = logging.getLogger(__name__)


def sweep_period(now: datetime) -> str:
    """The sweep's period: the UTC minute."""
    return now.strftime("%Y-%m-%dT%H:%MZ")


def run_sla_sweep(
    session_factory: SessionFactory, desk: Desk, *, replica: str, claim: bool = True
) -> SweepResult | None:
    """One sweep; None when another replica has this minute's. `claim=False` (the one-shot
    `sla-check`) sweeps anyway: alerts still go out once each, as they are unique per ticket."""
    now = desk.clock.now()
    with session_factory.begin() as session:
        if claim and not JobRepository(session).claim(
            SLA_SWEEP, sweep_period(now), by=replica, at=now
        ):
            return None
        result = sweep(session, desk, now=now)
    if result.alerts:
        logger.info("SLA sweep: %d alert(s), %d message(s)", len(result.alerts), result.messages)
    return result


def digest_period(desk: Desk, now: datetime) -> tuple[datetime, datetime, str]:
    """The daily digest's period: the 7 days up to today's digest time, and its claim key (the
    local date)."""
    local = now.astimezone(desk.config.tz)
    at = desk.config.digests.sla_at if desk.config.digests else time(9)
    until = datetime.combine(local.date(), at, tzinfo=desk.config.tz)
    if until > local:
        until -= timedelta(days=1)
    return until - DEFAULT_PERIOD, until, until.date().isoformat()


def run_sla_digest(
    session_factory: SessionFactory, desk: Desk, *, replica: str
) -> SlaDigest | None:
    """The scheduled daily digest, posted once per day across replicas; None when another
    replica posted it (or no digests channel is configured)."""
    if desk.config.digests is None:
        return None
    now = desk.clock.now()
    since, until, key = digest_period(desk, now)
    with session_factory.begin() as session:
        if not JobRepository(session).claim(SLA_DIGEST, key, by=replica, at=now):
            return None
        digest = build_sla_digest(session, desk, since=since, until=until, now=now)
        post_digest(session, desk, digest, now=now)
    return digest


def run_weekly_digest(
    session_factory: SessionFactory, desk: Desk, *, replica: str
) -> WeeklyDigest | None:
    """The weekly digest (with its charts) once its moment has come, posted once per week across
    replicas (the claim is the week's first local day). None when not due, or another replica
    posted it. Checked every few minutes, so a replica started late still posts it."""
    from templates.reports import weekly_charts

    def build(session: Session, period: Period) -> tuple[WeeklyDigest, list[Chart]]:
        digest = build_weekly_digest(session, desk, period)
        return digest, []

    def draw(built: tuple[WeeklyDigest, list[Chart]]) -> tuple[WeeklyDigest, list[Chart]]:
        digest = built[0]
        try:
            return digest, weekly_charts(digest, tz=desk.config.tz)
        except Exception:  # the numbers matter more than the pictures: post them anyway
            logger.exception("weekly digest: the charts could not be drawn")
            return digest, []

    def post(session: Session, built: tuple[WeeklyDigest, list[Chart]], now: datetime) -> None:
        post_weekly_digest(session, desk, built[0], built[1], now=now)

    built = _run_weekly(
        session_factory, desk, replica, WEEKLY_DIGEST, lambda d: d.weekly_at, build, post, draw
    )
    return built[0] if built else None


def run_csat_digest(
    session_factory: SessionFactory, desk: Desk, *, replica: str
) -> CsatDigest | None:
    """The CSAT digest of the same week, at its own time, once across replicas."""

    def build(session: Session, period: Period) -> CsatDigest:
        return build_csat_digest(session, desk, period)

    def post(session: Session, digest: CsatDigest, now: datetime) -> None:
        post_csat_digest(session, desk, digest, now=now)

    return _run_weekly(
        session_factory, desk, replica, CSAT_DIGEST, lambda d: d.csat_at, build, post, None
    )


def _run_weekly(
    session_factory: SessionFactory,
    desk: Desk,
    replica: str,
    job: str,
    at: Callable[[Digests], time],
    build: Callable[[Session, Period], BuiltT],
    post: Callable[[Session, BuiltT, datetime], None],
    finish: Callable[[BuiltT], BuiltT] | None,
) -> BuiltT | None:
    """A weekly job: when due and not yet claimed, build the digest in a read-only unit of work
    (seconds of aggregates, taking no write lock), `finish` it outside any transaction (the
    charts), then claim the week and owe it to Slack in one short transaction. Two replicas may
    both build it; only the one whose claim lands posts it."""
    digests = desk.config.digests
    if digests is None:
        return None
    now = desk.clock.now()
    tz = desk.config.tz
    period = due_week(now, tz, digests.weekly_weekday, at(digests), grace=WEEKLY_GRACE)
    if period is None:
        return None
    week = period.since.astimezone(tz).date().isoformat()
    with read_only(session_factory) as session:
        if JobRepository(session).is_claimed(job, week):
            return None
        built = build(session, period)
    if finish is not None:
        built = finish(built)
    with session_factory.begin() as session:
        if not JobRepository(session).claim(job, week, by=replica, at=now):
            return None
        post(session, built, now)
    return built


def forget_old_claims(session_factory: SessionFactory, desk: Desk) -> int:
    with session_factory.begin() as session:
        return JobRepository(session).forget_older_than(desk.clock.now() - KEEP_CLAIMS)
