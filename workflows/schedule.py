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
from typing import TypeVar

from sqlalchemy.orm import Session

from bot.config import Digests
from storage.db import SessionFactory
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

DigestT = TypeVar("DigestT")

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

    def post(session: Session, period: Period, now: datetime) -> WeeklyDigest:
        digest = build_weekly_digest(session, desk, period)
        post_weekly_digest(session, desk, digest, weekly_charts(digest, tz=desk.config.tz), now=now)
        return digest

    return _run_weekly(session_factory, desk, replica, WEEKLY_DIGEST, lambda d: d.weekly_at, post)


def run_csat_digest(
    session_factory: SessionFactory, desk: Desk, *, replica: str
) -> CsatDigest | None:
    """The CSAT digest of the same week, at its own time, once across replicas."""

    def post(session: Session, period: Period, now: datetime) -> CsatDigest:
        digest = build_csat_digest(session, desk, period)
        post_csat_digest(session, desk, digest, now=now)
        return digest

    return _run_weekly(session_factory, desk, replica, CSAT_DIGEST, lambda d: d.csat_at, post)


def _run_weekly(
    session_factory: SessionFactory,
    desk: Desk,
    replica: str,
    job: str,
    at: Callable[[Digests], time],
    post: Callable[[Session, Period, datetime], DigestT],
) -> DigestT | None:
    digests = desk.config.digests
    if digests is None:
        return None
    now = desk.clock.now()
    tz = desk.config.tz
    period = due_week(now, tz, digests.weekly_weekday, at(digests), grace=WEEKLY_GRACE)
    if period is None:
        return None
    with session_factory.begin() as session:
        week = period.since.astimezone(tz).date().isoformat()
        if not JobRepository(session).claim(job, week, by=replica, at=now):
            return None
        return post(session, period, now)


def forget_old_claims(session_factory: SessionFactory, desk: Desk) -> int:
    with session_factory.begin() as session:
        return JobRepository(session).forget_older_than(desk.clock.now() - KEEP_CLAIMS)
