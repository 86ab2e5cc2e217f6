"""The background jobs every `serve` replica runs. Jobs that must happen once per period (the SLA
sweep, the digests) claim their period in the database (`workflows.schedule`), so any number of
replicas can run this same scheduler."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from bot.agent_directory import refresh_agent_usergroup
from bot.runtime import Runtime
from workflows.housekeeping import close_resolved, forget_old_events
from workflows.knowledge import refresh_knowledge
from workflows.schedule import (
    forget_old_claims,
    run_csat_digest,
    run_sla_digest,
    run_sla_sweep,
    run_weekly_digest,
)


def replica_name() -> str:
    """Who claimed a run, for whoever reads `job_runs`: host, process and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def build_scheduler(runtime: Runtime, *, replica: str | None = None) -> BackgroundScheduler:
    config = runtime.desk.config
    replica = replica or replica_name()
    scheduler = BackgroundScheduler(timezone=config.tz)
    # APScheduler schedules on the wall clock (its triggers compare with it); the jobs themselves
    # read the desk's clock.
    now = datetime.now(UTC)
    common = {"coalesce": True, "max_instances": 1}

    def sweep() -> None:
        if run_sla_sweep(runtime.session_factory, runtime.desk, replica=replica):
            runtime.dispatcher.wake()

    def digest() -> None:
        if run_sla_digest(runtime.session_factory, runtime.desk, replica=replica):
            runtime.dispatcher.wake()

    def weekly() -> None:
        if run_weekly_digest(runtime.session_factory, runtime.desk, replica=replica):
            runtime.dispatcher.wake()

    def csat() -> None:
        if run_csat_digest(runtime.session_factory, runtime.desk, replica=replica):
            runtime.dispatcher.wake()

    scheduler.add_job(sweep, "interval", minutes=1, id="sla-sweep", next_run_time=now, **common)
    if config.digests is not None:
        at = config.digests.sla_at
        scheduler.add_job(digest, "cron", hour=at.hour, minute=at.minute, id="digest-sla", **common)
        # Checked every few minutes rather than at a cron tick: a replica (re)started after the
        # moment still posts the week's digests, and the claim keeps them to one.
        for job in (weekly, csat):
            scheduler.add_job(
                job, "interval", minutes=5, id=f"digest-{job.__name__}", next_run_time=now, **common
            )
    scheduler.add_job(
        forget_old_events,
        "interval",
        hours=6,
        id="forget-old-events",
        args=[runtime.session_factory, runtime.desk.clock, timedelta(days=3)],
        next_run_time=now,
        **common,
    )
    scheduler.add_job(
        forget_old_claims,
        "interval",
        hours=6,
        id="forget-old-claims",
        args=[runtime.session_factory, runtime.desk],
        next_run_time=now,
        **common,
    )
    scheduler.add_job(
        close_resolved,
        "interval",
        minutes=5,
        id="close-resolved",
        args=[runtime.session_factory, runtime.desk],
        next_run_time=now,
        **common,
    )
    if config.knowledge_base is not None:
        # Edited articles are searched within 30 seconds, without a `kb reindex`; the first run,
        # at start, indexes a folder that changed while no replica was up.
        scheduler.add_job(
            refresh_knowledge,
            "interval",
            seconds=30,
            id="kb-refresh",
            args=[runtime.session_factory, runtime.desk],
            next_run_time=now,
            **common,
        )
    if config.agent_usergroup:
        scheduler.add_job(
            refresh_agent_usergroup,
            "interval",
            minutes=15,
            id="refresh-agent-usergroup",
            args=[runtime.app.client, runtime.session_factory, runtime.desk],
            next_run_time=now,
            **common,
        )
    return scheduler
