"""`supportbot serve` where something an operator can fix is wrong: one line saying what and
where to look, exit 2, no traceback; and a normal start that warns about nothing."""

from __future__ import annotations

import subprocess
import time

from bot.standin import SlackStandin
from tests.test_cli import _free_port, env, run, serving  # noqa: F401  (env is a fixture)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ")
    return line


def test_slack_unreachable_is_one_line(env: dict[str, str]) -> None:  # noqa: F811
    env.update(
        SLACK_BOT_TOKEN="xoxb-x", SLACK_SIGNING_SECRET="s", SLACK_API_URL="http://127.0.0.1:9/api/"
    )
    line = one_error_line(run(["serve"], env))
    assert "can't be reached" in line and "SLACK_API_URL" in line


def test_a_token_slack_refuses_is_one_line(env: dict[str, str]) -> None:  # noqa: F811
    with SlackStandin() as standin:
        env.update(
            SLACK_BOT_TOKEN="xoxb-wrong", SLACK_SIGNING_SECRET="s", SLACK_API_URL=standin.url
        )
        line = one_error_line(run(["serve"], env))
    assert "Slack refused SLACK_BOT_TOKEN" in line and "invalid_auth" in line


def test_a_database_that_isnt_there_is_one_line(env: dict[str, str]) -> None:  # noqa: F811
    env.update(
        SLACK_BOT_TOKEN="xoxb-x",
        SLACK_SIGNING_SECRET="s",
        DATABASE_URL="postgresql+psycopg://desk:secret@127.0.0.1:9/desk",
    )
    line = one_error_line(run(["serve"], env))
    assert "the database at postgresql+psycopg://desk:***@127.0.0.1:9/desk" in line
    assert "secret" not in line


def test_a_normal_start_warns_about_nothing(env: dict[str, str]) -> None:  # noqa: F811
    with SlackStandin() as standin:
        port = _free_port()
        env.update(
            PORT=str(port),
            SLACK_BOT_TOKEN="xoxb-standin",
            SLACK_SIGNING_SECRET="secret",
            SLACK_API_URL=standin.url,
        )
        with serving(env) as process:
            time.sleep(1.0)  # the scheduler's first runs
        assert process.stderr is not None
        stderr = process.stderr.read()
    levels = [line for line in stderr.splitlines() if " WARNING " in line or " ERROR " in line]
    assert levels == [], stderr
    assert "Traceback" not in stderr
