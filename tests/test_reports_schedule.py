"""The weekly and CSAT digests as scheduled jobs: due at Monday 09:00 at the desk (TEST_CONFIG's
defaults), or within 12 hours after it when no replica was up at the moment; posted once per week
however many replicas check, each as one DIGEST row in the outbox for the digests channel.

The week is `tests.test_reports`' hand-made one, Mon 26 Oct – Sun 1 Nov 2026 (America/New_York),
so its digest is due on Monday 2 Nov at 09:00 EST. The weekly digest's charts (two PNGs riding on
its row, see `workflows.delivery.digest_payload_with_charts`) are rendered for real.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.config import DeskConfig, parse_config
from storage.db import SessionFactory, create_session_factory
from storage.models import OutboxMessage
from storage.repositories import JobRepository
from tests.conftest import TEST_CONFIG, run_together
from tests.test_reports import WEEK, Seeder, ny, seed_week
from workflows.clock import ManualClock
from workflows.desk import Desk
from workflows.reports import CsatDigest, WeeklyDigest
from workflows.schedule import CSAT_DIGEST, WEEKLY_DIGEST, run_csat_digest, run_weekly_digest

MGRS = "C0MGRS"
MOMENT = ny(11, 2, 9)  # Monday 2 Nov 09:00 EST
WEEK_KEY = "2026-10-26"  # a week's claim: its first local day
PERIOD = "Mon 26 Oct – Sun 1 Nov 2026"


@pytest.fixture
def sf(engine: Engine) -> SessionFactory:
    return create_session_factory(engine)


@pytest.fixture
def desk(desk_config: DeskConfig, clock: ManualClock) -> Desk:
    return Desk(desk_config, clock)


@pytest.fixture
def week(sf: SessionFactory) -> None:
    with sf.begin() as session:
        seed_week(Seeder(session))


def claims(sf: SessionFactory, job: str) -> list[tuple[str, str]]:
    with sf.begin() as session:
        return [(run.period, run.claimed_by) for run in JobRepository(session).runs(job)]


def digests_owed(sf: SessionFactory) -> list[dict[str, Any]]:
    """The payloads of the outbox's digest rows, oldest first."""
    with sf.begin() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.purpose == "digest")
            .order_by(OutboxMessage.id)
        ).all()
        assert all(row.method == "chat.postMessage" for row in rows)
        return [dict(row.payload) for row in rows]


def weekly_at(
    sf: SessionFactory, desk: Desk, clock: ManualClock, now: datetime, replica: str
) -> WeeklyDigest | None:
    clock.set(now)
    return run_weekly_digest(sf, desk, replica=replica)


# --- the weekly digest ---------------------------------------------------------------------------


def test_the_weekly_digest_is_not_due_before_its_moment(
    sf: SessionFactory, desk: Desk, clock: ManualClock, week: None
) -> None:
    """08:59 on Monday: this week's moment has not come and last week's is a week old."""
    assert weekly_at(sf, desk, clock, ny(11, 2, 8, 59), "r1") is None
    assert weekly_at(sf, desk, clock, ny(11, 1, 12), "r1") is None  # Sunday
    assert claims(sf, WEEKLY_DIGEST) == []
    assert digests_owed(sf) == []


def test_at_its_moment_the_weekly_digest_claims_the_week_and_is_owed_once(
    sf: SessionFactory, desk: Desk, clock: ManualClock, week: None
) -> None:
    digest = weekly_at(sf, desk, clock, MOMENT, "r1")
    assert isinstance(digest, WeeklyDigest)
    assert digest.current.period == WEEK
    assert (digest.current.opened, digest.current.resolved, digest.current.backlog_end) == (9, 6, 6)
    assert claims(sf, WEEKLY_DIGEST) == [(WEEK_KEY, "r1")]
    (payload,) = digests_owed(sf)
    assert payload["channel"] == MGRS and payload["unfurl_links"] is False
    assert payload["text"].startswith(f"Weekly digest, {PERIOD}: 9 opened, 6 resolved, backlog 6")
    assert payload["blocks"][0]["text"]["text"] == "Weekly support digest"
    # Its two charts ride on the row, to be uploaded just below it once it has landed.
    assert [f["filename"] for f in payload["_charts"]] == [
        "weekly-volume-2026-10-26.png",
        "weekly-first-response-2026-10-26.png",
    ]
    assert all(f["content_b64"] and f["alt_txt"] for f in payload["_charts"])
    assert payload["_charts_comment"] == f"Charts for the weekly digest, {PERIOD}"

    # The job checks every few minutes, on every replica: the week is taken.
    assert weekly_at(sf, desk, clock, ny(11, 2, 9, 5), "r1") is None
    assert weekly_at(sf, desk, clock, ny(11, 2, 9, 5), "r2") is None
    assert weekly_at(sf, desk, clock, ny(11, 2, 20), "r2") is None
    assert claims(sf, WEEKLY_DIGEST) == [(WEEK_KEY, "r1")]
    assert len(digests_owed(sf)) == 1


@pytest.mark.parametrize(
    ("now", "due"),
    [
        (ny(11, 2, 20, 59), True),  # 11 h 59 m late: a replica that just started still posts it
        (ny(11, 2, 21), False),  # 12 h late: too late, it would be news no more
        (ny(11, 3, 9), False),  # Tuesday
    ],
    ids=["within-grace", "grace-over", "tuesday"],
)
def test_a_late_replica_posts_within_the_grace_only(
    sf: SessionFactory, desk: Desk, clock: ManualClock, week: None, now: datetime, due: bool
) -> None:
    digest = weekly_at(sf, desk, clock, now, "late")
    assert (digest is not None) == due
    assert claims(sf, WEEKLY_DIGEST) == ([(WEEK_KEY, "late")] if due else [])
    assert len(digests_owed(sf)) == (1 if due else 0)


def test_two_replicas_at_the_same_moment_post_it_once(
    sf: SessionFactory, desk: Desk, clock: ManualClock, week: None
) -> None:
    clock.set(MOMENT)
    results = run_together(
        lambda: run_weekly_digest(sf, desk, replica="a"),
        lambda: run_weekly_digest(sf, desk, replica="b"),
    )
    assert sorted(result is None for result in results) == [False, True]
    ((key, by),) = claims(sf, WEEKLY_DIGEST)
    assert key == WEEK_KEY and by in ("a", "b")
    assert len(digests_owed(sf)) == 1


def test_charts_that_cannot_be_drawn_leave_the_digest_without_them(
    sf: SessionFactory,
    desk: Desk,
    clock: ManualClock,
    week: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The numbers matter more than the pictures: when drawing fails, the digest still goes out
    (no `_charts`), once."""

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("no fonts today")

    with monkeypatch.context() as patch:
        patch.setattr("templates.reports.weekly_charts", broken)
        assert weekly_at(sf, desk, clock, MOMENT, "r1") is not None
    assert claims(sf, WEEKLY_DIGEST) == [(WEEK_KEY, "r1")]
    [row] = digests_owed(sf)
    assert "_charts" not in row
    assert weekly_at(sf, desk, clock, ny(11, 2, 9, 5), "r2") is None


def test_a_failed_weekly_digest_gives_its_week_back(
    sf: SessionFactory,
    desk: Desk,
    clock: ManualClock,
    week: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The claim is in the posting transaction: when owing the digest fails, the claim goes
    with it and the next check posts the digest."""

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the outbox is away")

    with monkeypatch.context() as patch:
        patch.setattr("workflows.schedule.post_weekly_digest", broken)
        with pytest.raises(RuntimeError):
            weekly_at(sf, desk, clock, MOMENT, "r1")
    assert claims(sf, WEEKLY_DIGEST) == []
    assert digests_owed(sf) == []
    assert weekly_at(sf, desk, clock, ny(11, 2, 9, 5), "r2") is not None
    assert claims(sf, WEEKLY_DIGEST) == [(WEEK_KEY, "r2")]
    assert len(digests_owed(sf)) == 1


# --- the CSAT digest ------------------------------------------------------------------------------


def test_the_csat_digest_is_due_at_its_moment_and_owed_once(
    sf: SessionFactory, desk: Desk, clock: ManualClock, week: None
) -> None:
    clock.set(ny(11, 2, 8, 59))
    assert run_csat_digest(sf, desk, replica="r1") is None
    clock.set(MOMENT)
    csat = run_csat_digest(sf, desk, replica="r1")
    assert isinstance(csat, CsatDigest)
    assert csat.period == WEEK
    assert (csat.answers, csat.satisfied, csat.previous_answers) == (5, 3, 2)
    assert run_csat_digest(sf, desk, replica="r1") is None
    assert run_csat_digest(sf, desk, replica="r2") is None
    assert claims(sf, CSAT_DIGEST) == [(WEEK_KEY, "r1")]
    (payload,) = digests_owed(sf)
    assert payload["channel"] == MGRS
    assert payload["text"] == (
        f"CSAT digest, {PERIOD}: 60% of 5 answers satisfied (before: 50% of 2 answers)."
    )
    assert "_charts" not in payload


@pytest.mark.parametrize(
    ("now", "due"),
    [(ny(11, 2, 20, 59), True), (ny(11, 2, 21), False)],
    ids=["within-grace", "grace-over"],
)
def test_the_csat_digest_grace(
    sf: SessionFactory, desk: Desk, clock: ManualClock, week: None, now: datetime, due: bool
) -> None:
    clock.set(now)
    assert (run_csat_digest(sf, desk, replica="late") is not None) == due
    assert len(digests_owed(sf)) == (1 if due else 0)


def test_each_digest_keeps_its_own_time(sf: SessionFactory, clock: ManualClock, week: None) -> None:
    """`csat_at` 10:30: at 09:00 only the weekly digest is due, at 10:30 the CSAT digest; each
    claims the week under its own job."""
    config = {**TEST_CONFIG, "digests": {"channel": MGRS, "csat_at": "10:30"}}
    desk = Desk(parse_config(config), clock)
    clock.set(MOMENT)
    assert run_csat_digest(sf, desk, replica="r1") is None
    assert run_weekly_digest(sf, desk, replica="r1") is not None
    clock.set(ny(11, 2, 10, 30))
    assert run_csat_digest(sf, desk, replica="r1") is not None
    assert run_weekly_digest(sf, desk, replica="r1") is None
    assert claims(sf, WEEKLY_DIGEST) == [(WEEK_KEY, "r1")]
    assert claims(sf, CSAT_DIGEST) == [(WEEK_KEY, "r1")]
    texts = [payload["text"].split(",")[0] for payload in digests_owed(sf)]
    assert texts == ["Weekly digest", "CSAT digest"]


def test_no_digests_channel_means_neither_digest_nor_claim(
    sf: SessionFactory, clock: ManualClock, week: None
) -> None:
    bare = {k: v for k, v in TEST_CONFIG.items() if k != "digests"}
    desk = Desk(parse_config(bare), clock)
    clock.set(MOMENT)
    assert run_weekly_digest(sf, desk, replica="r1") is None
    assert run_csat_digest(sf, desk, replica="r1") is None
    assert claims(sf, WEEKLY_DIGEST) == [] and claims(sf, CSAT_DIGEST) == []
    assert digests_owed(sf) == []


def test_building_the_digest_takes_no_write_lock(
    sf: SessionFactory,
    desk: Desk,
    clock: ManualClock,
    week: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The digest's seconds of aggregates run in a read-only unit of work: on SQLite a handler's
    transaction (BEGIN IMMEDIATE) goes through meanwhile instead of waiting for the lock."""
    import threading

    from storage.models import AgentStatus
    from workflows import schedule

    real = schedule.build_weekly_digest
    wrote = threading.Event()

    def build_while_someone_writes(*args: Any, **kwargs: Any) -> Any:
        digest = real(*args, **kwargs)

        def handler() -> None:
            with sf.begin() as session:
                session.add(AgentStatus(user_id="U0NEW", away=True, updated_at=MOMENT))
            wrote.set()

        writer = threading.Thread(target=handler)
        writer.start()
        writer.join(timeout=5)
        assert wrote.is_set(), "a write waited for the digest's transaction"
        return digest

    monkeypatch.setattr(schedule, "build_weekly_digest", build_while_someone_writes)
    assert weekly_at(sf, desk, clock, MOMENT, "r1") is not None
    assert wrote.is_set()
