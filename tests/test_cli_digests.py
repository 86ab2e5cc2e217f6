"""`supportbot digest weekly|csat` as an operator runs them: a subprocess of `app.py` on a seeded
SQLite file; the dry run prints the digest and writes the charts; posting goes to the digests
channel through the stand-in, charts after the digest."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.standin import SlackStandin
from storage.db import create_db_engine, create_session_factory
from storage.migrate import upgrade_schema
from storage.models import CsatSurvey, Ticket
from templates.reports import period_label
from tests.conftest import PROJECT_ROOT
from tests.test_cli import run
from workflows.reports import last_week

CONFIG = """
timezone: America/New_York
agents: [U0AGENT1]
intake:
  - channel: C0HELP
    queue: general
digests:
  channel: C0MGRS
"""
NY = ZoneInfo("America/New_York")
PNG = b"\x89PNG\r\n\x1a\n"
# Tue 17 Nov 2026 15:00 UTC (10:00 in New York), in the week of Mon 16 – Sun 22 Nov.
TUESDAY = datetime(2026, 11, 17, 15, tzinfo=UTC)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "supportbot.yml"
    config.write_text(CONFIG)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SUPPORTBOT_"))}
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    seed(url)
    return {
        **base,
        "HOME": str(tmp_path),
        "DATABASE_URL": url,
        "SUPPORTBOT_CONFIG": str(config),
        "PYTHONPATH": str(PROJECT_ROOT),
    }


def seed(url: str) -> None:
    """Three tickets opened on Tuesday: two answered in 10 and 30 minutes and resolved, one of
    them rated "unsatisfied" with a comment that tries to ping the channel."""
    engine = create_db_engine(url)
    upgrade_schema(engine)
    with create_session_factory(engine).begin() as session:
        for n, answer in enumerate((10, 30, None)):
            created = TUESDAY + timedelta(hours=n)
            ticket = Ticket(
                intake_source="message",
                requester="U0ALICE",
                queue="general",
                status="resolved" if answer else "open",
                priority="medium",
                created_at=created,
                updated_at=created,
                assignee="U0AGENT1",
                first_response_at=created + timedelta(minutes=answer) if answer else None,
                first_response_seconds=answer * 60 if answer else None,
                resolved_at=created + timedelta(hours=2) if answer else None,
            )
            session.add(ticket)
            session.flush()
            if answer == 30:
                session.add(
                    CsatSurvey(
                        ticket_id=ticket.id,
                        requester="U0ALICE",
                        queue="general",
                        assignee="U0AGENT1",
                        asked_at=created + timedelta(hours=2),
                        rating="unsatisfied",
                        comment="<!channel> slow",
                        answered_at=created + timedelta(hours=3),
                    )
                )
    engine.dispose()


def test_weekly_dry_run_prints_the_digest_and_writes_the_charts(
    env: dict[str, str], tmp_path: Path
) -> None:
    charts = tmp_path / "charts"
    result = run(
        [
            "digest",
            "weekly",
            "--dry-run",
            "--since",
            "2026-11-16T05:00:00Z",
            "--until",
            "2026-11-23T05:00:00Z",
            "--charts",
            str(charts),
        ],
        env,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Weekly support digest" in out
    assert "*Mon 16 – Sun 22 Nov 2026*" in out
    assert "*Opened*: 3" in out and "*Resolved*: 2" in out
    assert "*First response, median*: 20m" in out
    assert "*CSAT*: 0% of 1 answer" in out
    assert "&lt;!channel&gt; slow" in out and "<!channel>" not in out
    written = sorted(p.name for p in charts.iterdir())
    assert written == [
        "weekly-first-response-2026-11-16.png",
        "weekly-volume-2026-11-16.png",
    ]
    assert all((charts / name).read_bytes().startswith(PNG) for name in written)
    assert f"Charts written to {charts}" in out


def test_plain_dates_are_the_desks_local_days(env: dict[str, str]) -> None:
    """`--since 2026-10-26 --until 2026-11-02` is Mon 26 Oct – Sun 1 Nov in New York (the DST
    change inside it), not UTC midnights."""
    result = run(
        ["digest", "weekly", "--dry-run", "--since", "2026-10-26", "--until", "2026-11-02"], env
    )
    assert result.returncode == 0, result.stderr
    assert "*Mon 26 Oct – Sun 1 Nov 2026*" in result.stdout
    only_until = run(["digest", "csat", "--dry-run", "--until", "2026-11-23"], env)
    assert "*Mon 16 – Sun 22 Nov 2026*" in only_until.stdout


def test_csat_dry_run_defaults_to_last_week(env: dict[str, str]) -> None:
    # The command reads its own clock: "last week" as of just before or just after it ran (a
    # run that straddles Monday 00:00 in New York sees the next week).
    before = last_week(datetime.now(UTC), NY, weekday=0)
    result = run(["digest", "csat", "--dry-run"], env)
    after = last_week(datetime.now(UTC), NY, weekday=0)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("CSAT digest")
    labels = {f"*{period_label(week, NY)}*" for week in (before, after)}
    assert any(label in result.stdout for label in labels)


def test_weekly_digest_posts_then_uploads_its_charts(env: dict[str, str]) -> None:
    with SlackStandin() as standin:
        standin.add_channel("C0MGRS", name="support-managers")
        env.update(SLACK_BOT_TOKEN="xoxb-standin", SLACK_API_URL=standin.url)
        result = run(["digest", "weekly", "--until", "2026-11-23T05:00:00Z"], env, timeout=120)
        assert result.returncode == 0, result.stderr
        assert "Weekly digest for 2026-11-16T05:00:00+00:00" in result.stdout
        methods = [c.method for c in standin.calls() if not c.failed]
        posted = methods.index("chat.postMessage")
        assert methods[posted + 1 :] == [
            "files.getUploadURLExternal",
            "files.getUploadURLExternal",
            "upload",  # the bytes, POSTed to each upload URL
            "upload",
            "files.completeUploadExternal",
        ]
        [message] = standin.calls("chat.postMessage")
        assert message.args["channel"] == "C0MGRS"
        assert message.args["text"].startswith("Weekly digest, Mon 16 – Sun 22 Nov 2026: 3 opened")
        assert not any(key.startswith("_") for key in message.args)
        uploads = standin.uploaded_files()
        assert [u.channel for u in uploads] == ["C0MGRS", "C0MGRS"]
        [digest] = [
            m for m in standin.messages("C0MGRS") if m.get("text", "").startswith("Weekly digest")
        ]
        assert [u.thread_ts for u in uploads] == [digest["ts"], digest["ts"]]  # in its thread
        assert all(u.content.startswith(PNG) for u in uploads)


def test_digest_without_a_channel_or_token_explains_itself(env: dict[str, str]) -> None:
    result = run(["digest", "weekly"], env)
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN is not set" in result.stderr
    assert "Traceback" not in result.stderr
