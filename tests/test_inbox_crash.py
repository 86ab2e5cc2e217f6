"""`kill -9` with events acknowledged but not processed: after the restart each is processed,
once (the real `serve` processes, over HTTP)."""

from __future__ import annotations

import signal
import time

from bot.slack_driver import SlackDriver
from bot.standin import SlackStandin
from tests.test_cli import _free_port, env, serving  # noqa: F401  (env is a fixture)


def test_events_acknowledged_before_a_kill_are_processed_once_after_restart(
    env: dict[str, str],  # noqa: F811
) -> None:
    with SlackStandin() as standin:
        port = _free_port()
        env.update(
            PORT=str(port),
            SLACK_BOT_TOKEN="xoxb-standin",
            SLACK_SIGNING_SECRET="secret",
            SLACK_API_URL=standin.url,
        )
        slack = SlackDriver(f"http://127.0.0.1:{port}/slack/events", "secret")
        questions = [f"Question {n}: the export fails" for n in range(5)]
        with serving(env, "--no-worker") as process:
            for text in questions:
                ts = standin.seed_message("C0HELP", user="U0ALICE", text=text)
                event = slack.message_event(channel="C0HELP", user="U0ALICE", text=text, ts=ts)
                assert slack.send_event(event).status == 200
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        assert standin.calls("chat.postMessage") == []  # acknowledged, not yet processed

        with serving(env):
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                cards = [
                    c
                    for c in standin.calls("chat.postMessage")
                    if str(c.args.get("text", "")).startswith("Ticket #")
                ]
                if len(cards) >= len(questions):
                    break
                time.sleep(0.1)
            time.sleep(1.0)  # a second worker pass would show a double now
        cards = [
            c
            for c in standin.calls("chat.postMessage")
            if str(c.args.get("text", "")).startswith("Ticket #")
        ]
        assert sorted(str(c.args["thread_ts"]) for c in cards) == sorted(
            m["ts"] for m in standin.messages("C0HELP") if not m.get("bot_id")
        )
