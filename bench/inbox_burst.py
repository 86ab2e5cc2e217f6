"""A burst of Slack events against `supportbot serve` and a bare Bolt app, in one run.

    python bench/inbox_burst.py [--events 2000] [--senders 16] [--postgres URL]

Both apps run as their own processes under waitress with 8 threads, against the Slack stand-in
(in a third process), and receive the same signed `message` events from 16 concurrent senders on
keep-alive connections. The bare app only acks; supportbot stores each event in its inbox, acks,
and its workers open the tickets and post their cards. Printed: acknowledged throughput and ack
latency (p50/p99/max) of both and their ratio; how long until every ticket had its card (and
whether any card was posted twice); cards per second; peak RSS of the serving processes.

supportbot runs twice per database: `serve` alone (its worker in the same process, competing for
the GIL with the acks) and `serve --no-worker` beside `supportbot work` (what the README advises
for bursts). Run by hand, not in CI.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET = "bench-signing-secret"
TOKEN = "xoxb-standin"
CHANNELS = ["C0BENCH1", "C0BENCH2", "C0BENCH3", "C0BENCH4"]
CONFIG = """
timezone: UTC
agents: [U0AGENT1]
intake:
""" + "".join(f"  - {{channel: {c}, queue: general}}\n" for c in CHANNELS)


# --- the helper processes ----------------------------------------------------------------------


def run_standin() -> None:
    """`--standin`: serve the Slack stand-in; answer `report` on stdin with what it was asked."""
    from bot.standin import SlackStandin

    with SlackStandin() as standin:
        for channel in CHANNELS:
            standin.add_channel(channel, name=channel.lower())
        print(standin.url, flush=True)
        for line in sys.stdin:
            if line.strip() == "report":
                cards: dict[tuple[str, str], int] = {}
                methods: dict[str, int] = {}
                for call in standin.calls():
                    methods[call.method] = methods.get(call.method, 0) + 1
                    text = str(call.args.get("text") or "")
                    if call.method == "chat.postMessage" and text.startswith("Ticket #"):
                        key = (str(call.args.get("channel")), str(call.args.get("thread_ts")))
                        cards[key] = cards.get(key, 0) + 1
                doubled = sum(1 for n in cards.values() if n > 1)
                print(json.dumps({"cards": len(cards), "doubled": doubled, "calls": methods}))
                sys.stdout.flush()


def run_bare(port: int, api_url: str) -> None:
    """`--bare`: a Bolt app that acks every message event and does nothing else."""
    from slack_bolt import App
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from slack_sdk import WebClient
    from waitress import serve

    app = App(
        client=WebClient(token=TOKEN, base_url=api_url),
        signing_secret=SECRET,
        process_before_response=True,
    )
    app.event("message")(lambda: None)
    handler = SlackRequestHandler(app, path="/slack/events")

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Length", "0")])
            return [b""]
        return handler(environ, start_response)

    serve(wsgi, host="127.0.0.1", port=port, threads=8, _quiet=True)


# --- the burst ----------------------------------------------------------------------------------


@dataclass
class Burst:
    latencies: list[float]
    seconds: float
    statuses: dict[int, int]
    ended_at: float


def send_burst(port: int, *, events: int, senders: int, run: str, first_ts: int) -> Burst:
    from bot.signature import slack_signature

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    barrier = threading.Barrier(senders + 1)
    per_sender = events // senders

    def sender(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        bodies = []
        for n in range(per_sender):
            number = index * per_sender + n
            ts = f"{first_ts + number}.{index:06d}"  # each run's own: cards counted by thread
            event = {
                "type": "message",
                "channel": CHANNELS[number % len(CHANNELS)],
                "user": f"U0REQ{number % 50:03d}",
                "text": f"Question {number}: the invoice export fails with error {number}",
                "ts": ts,
                "event_ts": ts,
                "channel_type": "channel",
                "team": "T0DESK",
            }
            envelope = {
                "token": "x",
                "team_id": "T0DESK",
                "api_app_id": "A0DESK",
                "event": event,
                "type": "event_callback",
                "event_id": f"Ev{run}{number:06d}",
                "event_time": int(time.time()),
                "authorizations": [{"team_id": "T0DESK", "user_id": "U0BOT", "is_bot": True}],
                "is_ext_shared_channel": False,
            }
            bodies.append(json.dumps(envelope).encode())
        mine: list[float] = []
        codes: dict[int, int] = {}
        barrier.wait()
        for body in bodies:
            stamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": slack_signature(SECRET, stamp, body),
            }
            started = time.perf_counter()
            connection.request("POST", "/slack/events", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            codes[response.status] = codes.get(response.status, 0) + 1
        connection.close()
        with lock:
            latencies.extend(mine)
            for code, count in codes.items():
                statuses[code] = statuses.get(code, 0) + count

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(senders)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return Burst(latencies, seconds, statuses, time.perf_counter())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the app exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the app did not become healthy")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def count_carded(database_url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(
                    text("SELECT count(*) FROM tickets WHERE card_ts IS NOT NULL")
                ).scalar_one()
            )
    except Exception:
        return 0
    finally:
        engine.dispose()


def reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def summary(burst: Burst) -> dict[str, float]:
    ordered = sorted(burst.latencies)
    return {
        "rate": len(ordered) / burst.seconds,
        "p50": statistics.median(ordered) * 1000,
        "p99": ordered[int(len(ordered) * 0.99) - 1] * 1000,
        "max": ordered[-1] * 1000,
    }


def run_bare_once(standin_url: str, args: argparse.Namespace) -> tuple[dict[str, float], float]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, __file__, "--bare", str(port), standin_url], cwd=ROOT
    )
    try:
        wait_healthy(port, process)
        burst = send_burst(
            port, events=args.events, senders=args.senders, run="BARE", first_ts=1_700_000_000
        )
        return summary(burst), peak_rss_mb(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


def run_product_once(
    standin: subprocess.Popen[str],
    standin_url: str,
    database_url: str,
    *,
    split: bool,
    args: argparse.Namespace,
    worker_after: bool = False,
    tmp: Path,
    run: str,
) -> dict[str, Any]:
    port = free_port()
    (tmp / "supportbot.yml").write_text(CONFIG)
    env = {
        **os.environ,
        "PORT": str(port),
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": standin_url,
        "DATABASE_URL": database_url,
        "SUPPORTBOT_CONFIG": str(tmp / "supportbot.yml"),
    }
    app = [sys.executable, str(ROOT / "app.py")]
    quiet = subprocess.DEVNULL
    serve = subprocess.Popen(
        [*app, "serve", *(["--no-worker"] if split or worker_after else [])],
        env=env,
        stderr=quiet,
        cwd=tmp,
    )
    processes = [serve]
    try:
        wait_healthy(port, serve)
        if split:
            processes.append(subprocess.Popen([*app, "work"], env=env, stderr=quiet, cwd=tmp))
        before = report(standin)["cards"]
        first_ts = 1_800_000_000 + sum(map(ord, run)) * 100_000
        burst = send_burst(
            port, events=args.events, senders=args.senders, run=run, first_ts=first_ts
        )
        if worker_after:
            processes.append(subprocess.Popen([*app, "work"], env=env, stderr=quiet, cwd=tmp))
        carded_after = None
        while time.perf_counter() - burst.ended_at < 120:
            if count_carded(database_url) >= args.events:
                carded_after = time.perf_counter() - burst.ended_at
                break
            time.sleep(0.2)
        total = time.perf_counter() - (burst.ended_at - burst.seconds)
        time.sleep(1.0)  # anything still in flight lands before the count
        seen = report(standin)
        return {
            **summary(burst),
            "statuses": burst.statuses,
            "carded_after": carded_after,
            "cards": seen["cards"] - before,
            "doubled": seen["doubled"],
            "cards_per_s": args.events / total if carded_after is not None else float("nan"),
            "rss": sum(peak_rss_mb(p.pid) for p in processes),
        }
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def report(standin: subprocess.Popen[str]) -> dict[str, Any]:
    assert standin.stdin is not None and standin.stdout is not None
    standin.stdin.write("report\n")
    standin.stdin.flush()
    return json.loads(standin.stdout.readline())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--senders", type=int, default=16)
    parser.add_argument("--postgres", help="also run on this PostgreSQL URL (its schema is reset)")
    parser.add_argument(
        "--ways",
        default="inside,split",
        help="comma-separated: inside (serve), split (serve --no-worker + work), "
        "acks (serve --no-worker during the burst, work started after it: the ack path alone)",
    )
    parser.add_argument("--standin", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bare", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.standin:
        run_standin()
        return
    if args.bare:
        run_bare(int(args.bare[0]), args.bare[1])
        return

    standin = subprocess.Popen(
        [sys.executable, __file__, "--standin"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert standin.stdout is not None
    standin_url = standin.stdout.readline().strip()
    databases: list[tuple[str, str | None]] = [("SQLite", None)]
    if args.postgres:
        databases.append(("PostgreSQL", args.postgres))
    print(f"{args.events} signed message events from {args.senders} senders, waitress 8 threads")
    try:
        bare, bare_rss = run_bare_once(standin_url, args)
        print(
            f"bare Bolt (acks only): {bare['rate']:,.0f} events/s, ack p50 {bare['p50']:.1f} ms, "
            f"p99 {bare['p99']:.1f} ms, max {bare['max']:.1f} ms, peak RSS {bare_rss:.0f} MB"
        )
        for name, url in databases:
            for way in args.ways.split(","):
                split, worker_after = way == "split", way == "acks"
                with tempfile.TemporaryDirectory(prefix="supportbot-bench-") as folder:
                    tmp = Path(folder)
                    if url is None:
                        database_url = f"sqlite:///{tmp / 'desk.db'}"
                    else:
                        reset_postgres(url)
                        database_url = url
                    run = f"{name[:2].upper()}{way[:2].upper()}"
                    result = run_product_once(
                        standin,
                        standin_url,
                        database_url,
                        split=split,
                        worker_after=worker_after,
                        args=args,
                        tmp=tmp,
                        run=run,
                    )
                how = {
                    "inside": "serve (worker inside)",
                    "split": "serve --no-worker + work",
                    "acks": "serve --no-worker, work after the burst",
                }[way]
                carded = (
                    f"all {args.events} carded {result['carded_after']:.1f} s after the last event"
                    if result["carded_after"] is not None
                    else "NOT all carded within 120 s"
                )
                print(
                    f"{name}, {how}: {result['rate']:,.0f} events/s "
                    f"({result['rate'] / bare['rate']:.2f}x bare), ack p50 {result['p50']:.1f} ms, "
                    f"p99 {result['p99']:.1f} ms, max {result['max']:.1f} ms; {carded}, "
                    f"{result['cards']} cards, {result['doubled']} doubled, "
                    f"{result['cards_per_s']:.0f} tickets carded/s; "
                    f"peak RSS {result['rss']:.0f} MB; HTTP {result['statuses']}"
                )
    finally:
        assert standin.stdin is not None
        standin.stdin.close()
        standin.wait(timeout=10)


if __name__ == "__main__":
    main()
