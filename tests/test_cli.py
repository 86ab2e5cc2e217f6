"""The operator contract's commands, run as an operator runs them: a subprocess of `app.py`."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.slack_driver import SlackDriver
from bot.standin import SlackStandin
from tests.conftest import PROJECT_ROOT
from workflows.export import EXPORT_FIELDS

GOOD_CONFIG = """
timezone: America/New_York
agents: [U0AGENT1]
intake:
  - channel: C0HELP
    queue: general
"""


def run(
    args: list[str], env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "app.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=env.get("HOME"),
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "supportbot.yml"
    config.write_text(GOOD_CONFIG)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SUPPORTBOT_"))}
    return {
        **base,
        "HOME": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'desk.db'}",
        "SUPPORTBOT_CONFIG": str(config),
        "PYTHONPATH": str(PROJECT_ROOT),
    }


def test_migrate_creates_the_schema_and_is_repeatable(env: dict[str, str]) -> None:
    """`supportbot migrate` twice: both succeed, the second is a no-op."""
    first = run(["migrate"], env)
    second = run(["migrate"], env)
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert "up to date" in second.stdout


def test_check_config_accepts_the_shipped_example(env: dict[str, str]) -> None:
    """The example config an operator copies is valid as shipped."""
    env["SUPPORTBOT_CONFIG"] = str(PROJECT_ROOT / "supportbot.example.yml")
    result = run(["check-config"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout


def test_check_config_lists_every_problem_with_its_key(env: dict[str, str], tmp_path: Path) -> None:
    """Each problem is printed with its key; exit code 1."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "timezone: Mars/Base\nintake:\n  - channel: help\n"
        "sla:\n  urgent: {first_response: 15x}\nagnets: []\n"
    )
    env["SUPPORTBOT_CONFIG"] = str(bad)
    result = run(["check-config"], env)
    assert result.returncode == 1
    out = result.stdout
    assert "timezone:" in out and "intake[0].channel:" in out
    assert "sla.urgent.first_response:" in out and "agnets: unknown key" in out
    assert "Traceback" not in out + result.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "file not found"),
        ("intake: [\n", "YAML syntax error"),
        ("- just\n- a list\n", "mapping"),
    ],
)
def test_missing_or_broken_config_is_one_line_and_exit_2(
    env: dict[str, str], tmp_path: Path, content: str | None, expected: str
) -> None:
    """A missing or unreadable config stops check-config and serve with one line, exit code 2."""
    path = tmp_path / "broken.yml"
    if content is not None:
        path.write_text(content)
    env.update(SUPPORTBOT_CONFIG=str(path), SLACK_BOT_TOKEN="xoxb-x", SLACK_SIGNING_SECRET="s")
    for command in (["check-config"], ["serve"]):
        result = run(command, env)
        assert result.returncode == 2, (command, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], result.stderr


def test_serve_without_a_token_explains_itself(env: dict[str, str]) -> None:
    result = run(["serve"], env)
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN" in result.stderr and "Traceback" not in result.stderr


def test_export_formats_follow_the_contract(env: dict[str, str]) -> None:
    """CSV header and JSONL keys are the contract's fields, in order; filters are half-open."""
    assert run(["migrate"], env).returncode == 0
    _seed_tickets(env["DATABASE_URL"])
    as_csv = run(["export", "--format", "csv"], env)
    assert as_csv.returncode == 0, as_csv.stderr
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert tuple(rows[0].keys()) == EXPORT_FIELDS
    assert [row["ref"] for row in rows] == ["#1", "#2"]
    assert rows[0]["created_at"] == "2026-11-02T14:00:00Z"
    assert rows[0]["escalated"] == "false" and rows[0]["thread_ts"] == rows[0]["thread_ts"]
    as_jsonl = run(["export", "--since", "2026-11-02T15:00:00Z", "--until", "2026-11-04"], env)
    records = [json.loads(line) for line in as_jsonl.stdout.splitlines()]
    assert [r["ref"] for r in records] == ["#2"]
    assert list(records[0]) == list(EXPORT_FIELDS)
    assert records[0]["tags"] == [] and records[0]["escalated"] is False
    empty = run(["export", "--since", "2026-11-03T12:00:00+00:00"], env)
    assert empty.stdout == ""
    bad = run(["export", "--since", "yesterday"], env)
    assert bad.returncode == 2 and "not an ISO date" in bad.stderr


def _seed_tickets(url: str) -> None:
    from datetime import UTC, datetime

    from bot.config import parse_config
    from storage.db import create_db_engine, create_session_factory
    from workflows.clock import ManualClock, datetime_to_slack_ts
    from workflows.intake import Desk, SlackMessage, receive_message

    engine = create_db_engine(url)
    desk = Desk(
        parse_config({"intake": [{"channel": "C0HELP"}]}),
        ManualClock(datetime(2026, 11, 3, 12, tzinfo=UTC)),
    )
    with create_session_factory(engine).begin() as session:
        for hour, day in ((14, 2), (9, 3)):
            ts = datetime_to_slack_ts(datetime(2026, 11, day, hour, tzinfo=UTC))
            receive_message(session, desk, SlackMessage("C0HELP", ts, "U0ALICE", "help"))
    engine.dispose()


def test_demo_plays_the_scripted_day(env: dict[str, str], tmp_path: Path) -> None:
    """`supportbot demo` needs no workspace and shows all three intake paths and a customer
    channel, where the customer sees only the acknowledgement and the agent's reply; it ends
    with the scripted week's digest, posted once, and its charts written where it says."""
    charts = tmp_path / "charts"
    # A Monday: the scripted week (and so its counts) follows the weekdays from `--today`.
    result = run(["demo", "--today", "2026-11-23", "--charts", str(charts)], env, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Ticket #1" in out and "Ticket #2" in out and "Ticket #3" in out
    assert "Number of users affected" in out
    assert "Traceback" not in result.stderr
    lines = out.splitlines()
    said_to_customer = [
        lines[i + 1].strip()
        for i, line in enumerate(lines)
        if line.startswith("   bot → #acme [customer-visible]")
    ]
    assert said_to_customer == [
        "Thanks for reaching out! We've logged your question as #4 and someone from our team "
        "will reply in this thread.",
        "Sorry about that! The export limit is raised and tonight's run will catch up.",
        "Thanks for reaching out! We've logged your question as #9 and someone from our team "
        "will reply in this thread.",
        ":tada: *Good news:* the feature you asked for in #9 has shipped — *Could you add a dark "
        "mode to the dashboard? Our night shift finds it far too bright*.",
    ]
    assert "   bot → #support-triage [agents only]:" in lines  # the card, top-level in triage
    assert ">&lt;!channel&gt; our nightly CSV export has failed since Monday" in out
    pings = [line for line in lines if "<!channel>" in line]
    assert pings and all(line.startswith("   Jo (Acme Corp, customer) in #acme") for line in pings)
    assert (
        "Everything in #acme, what Acme Corp sees: 3 messages of their own, 2 acknowledgement(s), "
        "1 reply an agent sent, 0 knowledge-base answer(s), 1 shipped feature request(s); "
        "nothing else." in lines
    )
    # Self-serve: the refund question gets the refunds article; Dave's 2FA question is solved by
    # its article (deflected); Bob still needs help; Sam sends an article and saves a draft.
    refunds = "<https://help.example.com/billing/refunds|Refunds for annual and monthly plans>"
    assert f"*{refunds}*" in out
    assert "   → #6 is resolved: deflected, no agent needed" in lines
    assert "   Bob presses I still need help" in lines
    assert "   draft drafts/ticket-7.md:" in lines
    # Feature requests: one card for two asks, then everyone told once when it ships.
    assert "        *Requesters (2)*: <@U0ALICE>, <@U0ACMEJO>" in out
    assert out.count("has shipped — ") == 2
    assert "*Self-serve answers*: 1 of 21 questions solved by a knowledge-base article" in out
    # Escalation: the card in #eng, the engineer's answer copied to the triage thread only, and
    # a billing escalation by emoji that engineering fixes and hands back.
    assert "   bot → #eng:" in lines and "   bot → #eng-billing:" in lines
    relayed = lines.index("        :speech_balloon: <@U0MAX> replied in *Engineering* (<#C0ENG>):")
    assert lines[relayed - 1] == "   bot → #support-triage [agents only], in the thread:"
    assert "   → #3 is claimed again, with Sam (support agent); kept for the digests" in out
    assert "        >All of them since the 1st, e.g. INV-2291." in lines
    # The week: questions rated, a low rating told to the queue's lead, then the weekly digest
    # (once, with its charts) and the CSAT digest in #support-managers.
    assert "told of 1 low rating(s)" in out
    assert "   (another replica's job finds the week claimed and posts nothing)" in lines
    assert "        Weekly support digest" in lines and "        CSAT digest" in lines
    assert "        >Took most of the day and I had to chase it" in lines
    pngs = sorted(p.name for p in charts.glob("*.png"))
    assert len(pngs) == 2 and f"Charts written to {charts}: " in out
    assert all((charts / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n") for name in pngs)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serving(env: dict[str, str], *flags: str) -> Iterator[subprocess.Popen[str]]:
    """The real `supportbot serve` (with `flags`) on `env["PORT"]`, healthy, until the block
    ends (then SIGTERM; its stderr stays readable)."""
    process = subprocess.Popen(
        [sys.executable, str(PROJECT_ROOT / "app.py"), "serve", *flags],
        env=env,
        cwd=env["HOME"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_healthy(f"http://127.0.0.1:{env['PORT']}", process)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def served(env: dict[str, str]) -> Iterator[tuple[str, SlackStandin]]:
    with SlackStandin() as standin:
        port = _free_port()
        env.update(
            PORT=str(port),
            SLACK_BOT_TOKEN="xoxb-standin",
            SLACK_SIGNING_SECRET="secret",
            SLACK_API_URL=standin.url,
        )
        with serving(env):
            yield f"http://127.0.0.1:{port}", standin


def _wait_healthy(base: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited: {process.stderr.read() if process.stderr else ''}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("serve did not become healthy")


def test_serve_answers_a_question_within_a_second(served: tuple[str, SlackStandin]) -> None:
    """The real `serve` process: health check, then a watched-channel question gets its card in the
    thread in under a second, delivered by the background outbox dispatcher."""
    base, standin = served
    slack = SlackDriver(f"{base}/slack/events", "secret")
    ts = standin.seed_message("C0HELP", user="U0ALICE", text="Where is the invoice export?")
    started = time.monotonic()
    reply = slack.send_event(
        slack.message_event(
            channel="C0HELP", user="U0ALICE", text="Where is the invoice export?", ts=ts
        )
    )
    assert reply.status == 200
    [card] = standin.wait_for("chat.postMessage", timeout=5)
    assert time.monotonic() - started < 1.0
    assert card.args["thread_ts"] == ts and "Ticket #1" in card.args["text"]


def test_unknown_path_is_404_and_health_is_200(served: tuple[str, SlackStandin]) -> None:
    base, _ = served
    with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
        assert response.status == 200
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{base}/nowhere", timeout=2)
    assert caught.value.code == 404
