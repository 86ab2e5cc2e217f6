"""Jobs that must run once per period however many replicas run them: the SLA sweep (once per UTC
minute) and the daily SLA digest (once per local day), their claims in `job_runs`, and two real
schedulers (`bot.scheduler.build_scheduler`) on one database firing at the same moment. Also the
`sla-check` command, which sweeps without claiming.

The desk's clock is a ManualClock at Monday 23 Nov 2026 (America/New_York, EST = UTC-5).
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobEvent
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine, select

from bot.config import DeskConfig, parse_config
from bot.runtime import Runtime, build_runtime
from bot.scheduler import build_scheduler
from bot.standin import SlackStandin
from storage.db import SessionFactory, create_db_engine, create_session_factory
from storage.models import JobRun, OutboxMessage, SlaAlert, Ticket
from storage.repositories import JobRepository
from tests.conftest import SIGNING_SECRET, TEST_CONFIG, run_together
from tests.test_sla_digest import (
    AGENT1,
    AGENT2,
    NY,
    Seeder,
    cli_database,
    cli_env,
    config_without_digests,
    ny,
    settle_outbox,
)
from workflows.clock import ManualClock
from workflows.desk import Desk
from workflows.schedule import (
    SLA_DIGEST,
    SLA_SWEEP,
    digest_period,
    run_sla_digest,
    run_sla_sweep,
    sweep_period,
)
from workflows.sla_digest import SlaDigest
from workflows.triage import ActionKind

T0 = ny(23, 10)  # Monday 10:00 EST = 15:00 UTC
TRIAGE = "C0TRIAGE"  # TEST_CONFIG has no sla.alert_channel: alerts go to the triage channel
MGRS = "C0MGRS"


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


@pytest.fixture
def sf(engine: Engine) -> SessionFactory:
    return create_session_factory(engine)


@pytest.fixture
def desk(desk_config: DeskConfig, clock: ManualClock) -> Desk:
    clock.set(T0)
    return Desk(desk_config, clock)


def claims(sf: SessionFactory, job: str) -> list[tuple[str, str]]:
    with sf.begin() as session:
        return [(run.period, run.claimed_by) for run in JobRepository(session).runs(job)]


def owed(sf: SessionFactory) -> Counter[tuple[str, str]]:
    """Alert and digest messages in the outbox (sent or not), by (purpose, channel)."""
    with sf.begin() as session:
        rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.purpose.in_(["sla_alert", "digest"]))
        ).all()
        return Counter((str(row.purpose), str(row.payload["channel"])) for row in rows)


def alerts(sf: SessionFactory) -> list[tuple[int, str, str, bool]]:
    with sf.begin() as session:
        rows = session.scalars(select(SlaAlert)).all()
        return sorted((a.ticket_id, a.target, a.level, a.sent) for a in rows)


def said(result: Any) -> list[tuple[str, str, str]]:
    return [(a.ref, a.target.value, a.level.value) for a in result.alerts]


# --- the sweep: once per minute ------------------------------------------------------------------


def test_sweep_period_is_the_utc_minute() -> None:
    assert sweep_period(datetime(2026, 11, 23, 15, 20, 59, 999999, tzinfo=UTC)) == (
        "2026-11-23T15:20Z"
    )
    assert sweep_period(datetime(2026, 11, 23, 15, 21, tzinfo=UTC)) == "2026-11-23T15:21Z"


def test_a_sweep_runs_once_per_minute(sf: SessionFactory, desk: Desk, clock: ManualClock) -> None:
    seeder = Seeder(sf, desk, clock)
    seeder.open("A", "high", T0)  # first response: warning 10:45, due 11:00
    seeder.open("S", "urgent", T0)  # first response: warning 10:11:15, due 10:15
    settle_outbox(sf)

    clock.set(minutes(20))
    first = run_sla_sweep(sf, desk, replica="r1")
    assert first is not None
    assert first.looked_at == 1
    # The warning was overtaken by the breach: only the breach is said.
    assert said(first) == [(seeder.ref("S"), "first_response", "breach")]
    assert first.messages == 3  # the triage channel and a DM to each of the queue's agents

    clock.set(minutes(20.5))  # the same UTC minute, another replica
    assert run_sla_sweep(sf, desk, replica="r2") is None

    clock.set(minutes(21))
    following = run_sla_sweep(sf, desk, replica="r2")
    assert following is not None
    assert following.looked_at == 0 and following.alerts == [] and following.messages == 0

    assert claims(sf, SLA_SWEEP) == [("2026-11-23T15:20Z", "r1"), ("2026-11-23T15:21Z", "r2")]
    assert owed(sf) == Counter(
        {("sla_alert", TRIAGE): 1, ("sla_alert", AGENT1): 1, ("sla_alert", AGENT2): 1}
    )


def test_an_unclaimed_sweep_always_runs_and_alerts_still_go_once(
    sf: SessionFactory, desk: Desk, clock: ManualClock
) -> None:
    seeder = Seeder(sf, desk, clock)
    seeder.open("A", "high", T0)
    seeder.open("S", "urgent", T0)
    settle_outbox(sf)

    clock.set(minutes(20))
    assert run_sla_sweep(sf, desk, replica="r1") is not None  # claims 15:20
    again = run_sla_sweep(sf, desk, replica="cli", claim=False)  # the same minute: runs anyway
    assert again is not None and again.alerts == [] and again.messages == 0

    clock.set(minutes(46))
    warned = run_sla_sweep(sf, desk, replica="cli", claim=False)
    assert warned is not None
    assert said(warned) == [(seeder.ref("A"), "first_response", "warning")]
    twice = run_sla_sweep(sf, desk, replica="cli", claim=False)
    assert twice is not None and twice.alerts == []

    assert claims(sf, SLA_SWEEP) == [("2026-11-23T15:20Z", "r1")]  # unclaimed runs leave none
    a, s = seeder.ids["A"], seeder.ids["S"]
    assert alerts(sf) == sorted(
        [
            (s, "first_response", "warning", False),  # recorded, never said
            (s, "first_response", "breach", True),
            (a, "first_response", "warning", True),
        ]
    )
    assert owed(sf) == Counter(
        {("sla_alert", TRIAGE): 2, ("sla_alert", AGENT1): 2, ("sla_alert", AGENT2): 2}
    )


def test_a_failed_sweep_gives_its_minute_back(
    sf: SessionFactory, desk: Desk, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim is in the sweep's transaction: when the sweep fails, so does the claim, and the
    next try in the same minute does the work."""
    seeder = Seeder(sf, desk, clock)
    seeder.open("S", "urgent", T0)
    settle_outbox(sf)
    clock.set(minutes(20))

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database went away")

    with monkeypatch.context() as patch:
        patch.setattr("workflows.schedule.sweep", broken)
        with pytest.raises(RuntimeError):
            run_sla_sweep(sf, desk, replica="r1")
    assert claims(sf, SLA_SWEEP) == []
    retry = run_sla_sweep(sf, desk, replica="r2")
    assert retry is not None and said(retry) == [(seeder.ref("S"), "first_response", "breach")]
    assert claims(sf, SLA_SWEEP) == [("2026-11-23T15:20Z", "r2")]


# --- the daily digest ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "since", "until", "key"),
    [
        # Just before the 09:00 digest time: yesterday's period.
        (ny(23, 8, 59), ny(15, 9), ny(22, 9), "2026-11-22"),
        # At 09:00 sharp: today's.
        (ny(23, 9), ny(16, 9), ny(23, 9), "2026-11-23"),
        (ny(23, 9, 0) + timedelta(microseconds=1), ny(16, 9), ny(23, 9), "2026-11-23"),
        # Monday 22:00 at the desk is already Tuesday in UTC: the desk's date counts.
        (ny(23, 22), ny(16, 9), ny(23, 9), "2026-11-23"),
        # Across the end of daylight saving time (Sunday 1 Nov): 09:00 local at both ends.
        (ny(2, 10), ny(26, 9, month=10), ny(2, 9), "2026-11-02"),
    ],
)
def test_digest_period_is_the_week_up_to_the_digest_time(
    desk: Desk, now: datetime, since: datetime, until: datetime, key: str
) -> None:
    got_since, got_until, got_key = digest_period(desk, now)
    assert (got_since, got_until, got_key) == (since, until, key)
    assert got_since.astimezone(NY).time() == time(9) == got_until.astimezone(NY).time()


def test_digest_period_follows_the_configured_time(clock: ManualClock) -> None:
    config = {**TEST_CONFIG, "digests": {"channel": MGRS, "sla_at": "17:30"}}
    desk = Desk(parse_config(config), clock)
    assert digest_period(desk, ny(23, 17, 29)) == (ny(15, 17, 30), ny(22, 17, 30), "2026-11-22")
    assert digest_period(desk, ny(23, 17, 30)) == (ny(16, 17, 30), ny(23, 17, 30), "2026-11-23")
    # Without a digests section the time is 09:00.
    bare = Desk(config_without_digests(), clock)
    assert digest_period(bare, ny(23, 8)) == (ny(15, 9), ny(22, 9), "2026-11-22")


def test_the_digest_is_posted_once_a_day(
    sf: SessionFactory, desk: Desk, clock: ManualClock
) -> None:
    clock.set(ny(23, 9, 30))
    digest = run_sla_digest(sf, desk, replica="r1")
    assert isinstance(digest, SlaDigest)
    assert (digest.since, digest.until) == (ny(16, 9), ny(23, 9))

    clock.set(ny(23, 16))
    assert run_sla_digest(sf, desk, replica="r2") is None
    clock.set(ny(24, 8, 59))  # still Monday's digest period
    assert run_sla_digest(sf, desk, replica="r2") is None
    assert owed(sf) == Counter({("digest", MGRS): 1})

    clock.set(ny(24, 9))
    tuesday = run_sla_digest(sf, desk, replica="r2")
    assert tuesday is not None and tuesday.until == ny(24, 9)
    assert claims(sf, SLA_DIGEST) == [("2026-11-23", "r1"), ("2026-11-24", "r2")]
    assert owed(sf) == Counter({("digest", MGRS): 2})


def test_no_digests_channel_means_no_digest_and_no_claim(
    sf: SessionFactory, clock: ManualClock
) -> None:
    desk = Desk(config_without_digests(), clock)
    clock.set(ny(23, 9, 30))
    assert run_sla_digest(sf, desk, replica="r1") is None
    assert claims(sf, SLA_DIGEST) == []
    assert owed(sf) == Counter()


# --- two replicas, two schedulers, one database -------------------------------------------------


@contextlib.contextmanager
def two_replicas(
    engine: Engine, standin: SlackStandin, clock: ManualClock, config: DeskConfig
) -> Iterator[tuple[list[Runtime], list[BackgroundScheduler]]]:
    """Two `serve` replicas as far as the jobs are concerned: each its own engine (connection
    pool), dispatcher and scheduler, named "a" and "b", started paused."""
    engine_b = create_db_engine(engine.url.render_as_string(hide_password=False))
    runtimes: list[Runtime] = []
    schedulers: list[BackgroundScheduler] = []
    try:
        for name, each in (("a", engine), ("b", engine_b)):
            runtime = build_runtime(
                config=config,
                database_url=str(each.url),
                api_url=standin.url,
                bot_token="xoxb-standin",
                signing_secret=SIGNING_SECRET,
                clock=clock,
                engine=each,
            )
            runtimes.append(runtime)
            scheduler = build_scheduler(runtime, replica=name)
            scheduler.start(paused=True)
            schedulers.append(scheduler)
        yield runtimes, schedulers
    finally:
        for scheduler in schedulers:
            if scheduler.running:
                scheduler.shutdown(wait=True)
        for runtime in runtimes:
            runtime.dispatcher.stop()
        engine_b.dispose()


def posted(standin: SlackStandin) -> Counter[str]:
    return Counter(
        str(c.args["channel"]) for c in standin.calls("chat.postMessage") if not c.failed
    )


def fire_together(schedulers: list[BackgroundScheduler], job_ids: list[str]) -> None:
    """Let the schedulers themselves run `job_ids`, all due at the same instant half a second
    from now, everything else paused; wait until each has run once on each scheduler."""
    done = threading.Condition()
    events: list[JobEvent] = []

    def listen(event: JobEvent) -> None:
        with done:
            events.append(event)
            done.notify_all()

    fire_at = datetime.now(UTC) + timedelta(seconds=0.5)
    for scheduler in schedulers:
        for job in scheduler.get_jobs():
            if job.id in job_ids:
                # However slow the machine, a run half a second late is not a missed run.
                job.modify(next_run_time=fire_at, misfire_grace_time=30)
            else:
                job.pause()
        scheduler.add_listener(listen, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    for scheduler in schedulers:
        scheduler.resume()
    expected = len(schedulers) * len(job_ids)
    with done:
        assert done.wait_for(lambda: len(events) >= expected, timeout=20), events
    for scheduler in schedulers:
        scheduler.pause()
        scheduler.remove_listener(listen)
    assert [e.code for e in events] == [EVENT_JOB_EXECUTED] * expected, [
        (e.job_id, getattr(e, "exception", None)) for e in events
    ]
    assert sorted(e.job_id for e in events) == sorted(job_ids * len(schedulers))


def test_two_schedulers_on_one_database_do_each_period_once(
    engine: Engine, standin: SlackStandin, clock: ManualClock, desk_config: DeskConfig
) -> None:
    clock.set(T0)
    with two_replicas(engine, standin, clock, desk_config) as ((a, b), schedulers):
        sf = a.session_factory
        seeder = Seeder(sf, a.desk, clock)
        seeder.open("P", "urgent", T0)  # claimed by AGENT1: first response due 10:15
        seeder.act("P", ActionKind.CLAIM, T0)
        seeder.open("S", "urgent", T0)  # unassigned: first response due 10:15
        seeder.open("Q", "high", T0)  # unassigned: first response warning at 10:45
        settle_outbox(sf)
        standin.reset_calls()
        p, s, q = (seeder.ids[name] for name in "PSQ")

        # 10:20: both replicas' sweep and digest jobs at the very same moment.
        clock.set(minutes(20))
        jobs = [
            scheduler.get_job(job_id).func  # type: ignore[union-attr]
            for scheduler in schedulers
            for job_id in ("sla-sweep", "digest-sla")
        ]
        run_together(*jobs)
        (sweep_claim,) = claims(sf, SLA_SWEEP)
        assert sweep_claim[0] == "2026-11-23T15:20Z" and sweep_claim[1] in ("a", "b")
        (digest_claim,) = claims(sf, SLA_DIGEST)
        assert digest_claim[0] == "2026-11-23" and digest_claim[1] in ("a", "b")
        assert alerts(sf) == sorted(
            [
                (p, "first_response", "warning", False),
                (p, "first_response", "breach", True),
                (s, "first_response", "warning", False),
                (s, "first_response", "breach", True),
            ]
        )
        # One grouped message per channel, one DM per person: AGENT1 has P (theirs) and S (the
        # queue's), AGENT2 only S; and one digest.
        assert owed(sf) == Counter(
            {
                ("sla_alert", TRIAGE): 1,
                ("sla_alert", AGENT1): 1,
                ("sla_alert", AGENT2): 1,
                ("digest", MGRS): 1,
            }
        )
        run_together(a.dispatcher.drain, b.dispatcher.drain)
        assert posted(standin) == Counter({TRIAGE: 1, AGENT1: 1, AGENT2: 1, MGRS: 1})
        by_channel = {
            str(c.args["channel"]): str(c.args["text"]) for c in standin.calls("chat.postMessage")
        }
        assert (
            by_channel[TRIAGE].startswith(f"SLA: 2 breaches: #{p} ")
            and f"#{s}" in by_channel[TRIAGE]
        )
        assert f"#{p}" in by_channel[AGENT1] and f"#{s}" in by_channel[AGENT1]
        assert by_channel[AGENT2] == f"SLA: 1 breach: #{s} first response breached"
        assert "2 breached and 0 at risk now" in by_channel[MGRS]

        # The next minutes, both sweeps at once again: one claim each, nothing new to say.
        for minute in (21, 22, 23):
            clock.set(minutes(minute))
            run_together(*(sch.get_job("sla-sweep").func for sch in schedulers))  # type: ignore[union-attr]
        assert [period for period, _ in claims(sf, SLA_SWEEP)] == [
            "2026-11-23T15:20Z",
            "2026-11-23T15:21Z",
            "2026-11-23T15:22Z",
            "2026-11-23T15:23Z",
        ]
        assert len(alerts(sf)) == 4

        # 10:46, and this time the schedulers fire the jobs themselves, on their own threads.
        clock.set(minutes(46))
        fire_together(schedulers, ["sla-sweep", "digest-sla"])
        assert [period for period, _ in claims(sf, SLA_SWEEP)][-1] == "2026-11-23T15:46Z"
        assert len(claims(sf, SLA_SWEEP)) == 5
        assert claims(sf, SLA_DIGEST) == [digest_claim]  # today's digest is out already
        assert (q, "first_response", "warning", True) in alerts(sf)
        assert len(alerts(sf)) == 5
        standin.reset_calls()
        run_together(a.dispatcher.drain, b.dispatcher.drain)
        assert posted(standin) == Counter({TRIAGE: 1, AGENT1: 1, AGENT2: 1})
        assert owed(sf) == Counter(
            {
                ("sla_alert", TRIAGE): 2,
                ("sla_alert", AGENT1): 2,
                ("sla_alert", AGENT2): 2,
                ("digest", MGRS): 1,
            }
        )
        with sf.begin() as session:
            runs = session.scalars(select(JobRun)).all()
            assert len(runs) == len({(run.job, run.period) for run in runs}) == 6
            ticket = session.get(Ticket, q)
            assert ticket is not None and ticket.sla_state == "warning"


# --- the `sla-check` command ---------------------------------------------------------------------


def test_cli_sla_check_sweeps_now_and_says_each_alert_once(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    standin: SlackStandin,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import app

    url = cli_env(monkeypatch, tmp_path, api_url=standin.url)
    assert app.main(["migrate"]) == 0
    # A high ticket opened ten days ago (real time: the command's clock is the system's), never
    # answered: both targets (1 h, 8 h of business time) are long past.
    with cli_database(url, ManualClock(datetime.now(UTC).replace(microsecond=0))) as seeder:
        seeder.open("H", "high", datetime.now(UTC) - timedelta(days=10))
    capsys.readouterr()

    assert app.main(["sla-check"]) == 0
    out = capsys.readouterr()
    assert out.out.strip() == (
        "SLA check: 1 ticket(s) coming due, 2 breach(es), 0 warning(s), 3 message(s) (3 sent now)"
    ), out.err
    assert posted(standin) == Counter({TRIAGE: 1, AGENT1: 1, AGENT2: 1})

    # Run again: the alerts went out once.
    assert app.main(["sla-check"]) == 0
    assert capsys.readouterr().out.strip() == (
        "SLA check: 0 ticket(s) coming due, 0 breach(es), 0 warning(s), 0 message(s) (0 sent now)"
    )
    assert posted(standin) == Counter({TRIAGE: 1, AGENT1: 1, AGENT2: 1})
    # ...and it claims no minute: a replica's sweep of this minute still runs.
    engine = create_db_engine(url)
    try:
        assert claims(create_session_factory(engine), SLA_SWEEP) == []
    finally:
        engine.dispose()


def test_cli_sla_check_without_a_token_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    standin: SlackStandin,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import app

    cli_env(monkeypatch, tmp_path, api_url=standin.url, token=None)
    assert app.main(["sla-check"]) == 2
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and "SLACK_BOT_TOKEN" in lines[0], out.err
    assert out.out == "" and "Traceback" not in out.err
    assert standin.calls() == []
    assert not (tmp_path / "desk.db").exists()  # it stopped before touching the database
