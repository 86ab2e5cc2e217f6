"""Composition root and CLI: `supportbot COMMAND` (also `python app.py COMMAND`).

Commands only wire: settings -> config -> engine -> Bolt app -> scheduler. User mistakes (a bad
config, a missing token) end with a one-line message and an exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from dotenv import load_dotenv

if TYPE_CHECKING:
    from bot.config import DeskConfig
    from bot.outbox import Dispatcher
    from bot.runtime import Runtime
    from bot.settings import Settings
    from storage.db import SessionFactory
    from workflows.clock import Clock
    from workflows.desk import Desk

EXIT_PROBLEMS = 1
EXIT_BAD_CONFIG = 2

logger = logging.getLogger("supportbot")


def main(argv: Sequence[str] | None = None) -> int:
    load_dotenv(override=False)
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.command == "serve" else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from bot.settings import Settings, SettingsError

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    handler = {
        "serve": _serve,
        "migrate": _migrate,
        "check-config": _check_config,
        "export": _export,
        "demo": _demo,
        "sla-check": _sla_check,
        "digest": _digest,
        "kb": _kb,
        "work": _work,
        "inbox": _inbox,
    }[args.command]
    from workflows.clock import SystemClock

    try:
        # The one wall clock of the process: every command reads the time from it.
        return handler(settings, args, SystemClock())
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="supportbot", description="A support desk in Slack.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="run the app (HTTP on PORT, or Socket Mode)")
    serve.add_argument("--socket", action="store_true", help="use Socket Mode (SLACK_APP_TOKEN)")
    serve.add_argument(
        "--no-worker",
        action="store_true",
        help="only acknowledge and store events; `supportbot work` processes them",
    )
    sub.add_parser("work", help="process the inbox and send the outbox, without serving HTTP")
    inbox = sub.add_parser("inbox", help="list parked inbox rows; `inbox retry ID` runs one again")
    inbox.add_argument("action", nargs="?", choices=["list", "retry"], default="list")
    inbox.add_argument("row", nargs="?", type=int, help="the row to run again (retry)")
    sub.add_parser("migrate", help="create or upgrade the database schema")
    sub.add_parser("check-config", help="validate the config file")
    export = sub.add_parser("export", help="print tickets, one per row or line")
    export.add_argument("--format", choices=["csv", "jsonl"], default="jsonl")
    export.add_argument(
        "--kind",
        choices=["tickets", "feature-requests"],
        default="tickets",
        help="what to list: tickets (default), or the feature-request board's requests",
    )
    export.add_argument(
        "--bom", action="store_true", help="csv: start with a UTF-8 byte-order mark (for Excel)"
    )
    export.add_argument("--since", type=_iso, help="ISO date/time; tickets created at or after")
    export.add_argument("--until", type=_iso, help="ISO date/time; tickets created before")
    sub.add_parser("sla-check", help="run one SLA sweep now (warnings and breach alerts)")
    kb = sub.add_parser("kb", help="the knowledge base: `kb reindex` reads its folder again")
    kb.add_argument("action", choices=["reindex"], help="what to do")
    digest = sub.add_parser("digest", help="build a digest and post it to the digests channel")
    digest.add_argument("kind", choices=["weekly", "sla", "csat"], help="which digest")
    digest.add_argument("--dry-run", action="store_true", help="print it instead of posting it")
    digest.add_argument(
        "--since",
        type=_local_iso,
        help="ISO date/time; default: 7 days before --until (weekly, csat: last week's start)",
    )
    digest.add_argument(
        "--until",
        type=_local_iso,
        help="ISO date/time, in `timezone` unless it has an offset; default: now (weekly, csat: "
        "last week's end)",
    )
    digest.add_argument(
        "--charts", metavar="DIR", help="weekly: also write the chart PNGs to this folder"
    )
    demo = sub.add_parser("demo", help="play a scripted support day against a local Slack stand-in")
    demo.add_argument(
        "--database", help="database URL for the demo (default: a temporary SQLite file)"
    )
    demo.add_argument(
        "--charts",
        metavar="DIR",
        help="where to write the weekly charts (default: a new temp folder)",
    )
    demo.add_argument(
        "--today",
        type=_date,
        help="the day the scripted week starts (YYYY-MM-DD; default: today in the demo's zone)",
    )
    return parser


def _iso(text: str) -> datetime:
    """ISO 8601 date or date-time; a time without an offset is UTC."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO date or date-time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _local_iso(text: str) -> datetime:
    """ISO 8601 date or date-time, kept naive when it has no offset (read in the desk's zone)."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO date or date-time") from None


def _in_zone(moment: datetime, tz: Any) -> datetime:
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


def _load_config_or_exit(path: str) -> DeskConfig:
    from bot.config import ConfigFileError, ConfigInvalid, format_problems, load_config

    try:
        return load_config(path)
    except ConfigFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except ConfigInvalid as exc:
        print(f"error: {path} has problems (run `supportbot check-config`):", file=sys.stderr)
        print(format_problems(exc.problems), file=sys.stderr)
    raise SystemExit(EXIT_BAD_CONFIG)


def _migrate(settings: Settings, args: argparse.Namespace, clock: Clock) -> int:
    from storage.db import create_db_engine
    from storage.migrate import upgrade_schema

    engine = create_db_engine(settings.database_url)
    try:
        upgrade_schema(engine)
    except Exception as exc:  # unreachable server, bad credentials: one line, not a traceback
        print(f"error: could not migrate the database: {_first_line(exc)}", file=sys.stderr)
        return EXIT_PROBLEMS
    finally:
        engine.dispose()
    print("database schema is up to date")
    return 0


def _check_config(settings: Settings, args: argparse.Namespace, clock: Clock) -> int:
    from bot.config import ConfigFileError, ConfigInvalid, load_config

    try:
        config = load_config(settings.config_path)
    except ConfigFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    except ConfigInvalid as exc:
        for problem in exc.problems:
            print(f"{problem.key or '(top level)'}: {problem.message}")
        count = len(exc.problems)
        print(f"{settings.config_path}: {count} problem{'s' if count != 1 else ''}")
        return EXIT_PROBLEMS
    print(
        f"{settings.config_path}: OK ({len(config.intake)} intake channel(s), "
        f"{len(config.agents)} agent(s), timezone {config.timezone})"
    )
    return 0


def _export(settings: Settings, args: argparse.Namespace, clock: Clock) -> int:
    """Tickets (default) or, `--kind feature-requests`, the board's requests, created in the
    period, as CSV or JSON lines on stdout."""
    from storage.db import create_db_engine, create_session_factory
    from workflows.export import (
        FEATURE_REQUEST_FIELDS,
        export_records,
        feature_request_csv_row,
        feature_request_records,
        write_csv,
        write_jsonl,
    )

    requests = getattr(args, "kind", "tickets") == "feature-requests"
    engine = create_db_engine(settings.database_url)
    try:
        with create_session_factory(engine).begin() as session:
            if requests:
                records = feature_request_records(session, since=args.since, until=args.until)
            else:
                records = export_records(
                    session, since=args.since, until=args.until, now=clock.now()
                )
            if args.format == "csv" and requests:
                write_csv(
                    records,
                    sys.stdout,
                    bom=args.bom,
                    fields=FEATURE_REQUEST_FIELDS,
                    to_row=feature_request_csv_row,
                )
            elif args.format == "csv":
                write_csv(records, sys.stdout, bom=args.bom)
            else:
                write_jsonl(records, sys.stdout)
    except Exception as exc:
        what = "feature requests" if requests else "tickets"
        print(f"error: could not read {what}: {_first_line(exc)}", file=sys.stderr)
        return EXIT_PROBLEMS
    finally:
        engine.dispose()
    return 0


def _kb(settings: Settings, args: argparse.Namespace, clock: Clock) -> int:
    """`kb reindex`: read the knowledge-base folder into the database; every serve process
    picks the new index up on its next search. Exit 1 when a file could not be indexed."""
    from pathlib import Path

    from storage.db import create_db_engine, create_session_factory
    from storage.migrate import upgrade_schema
    from workflows.knowledge import FolderMissing, reindex

    config = _load_config_or_exit(settings.config_path)
    if config.knowledge_base is None:
        print(
            f"error: {settings.config_path} has no knowledge_base (add `knowledge_base: "
            "{path: kb}`, a folder of Markdown articles)",
            file=sys.stderr,
        )
        return EXIT_BAD_CONFIG
    folder = Path(config.knowledge_base.path)
    engine = create_db_engine(settings.database_url)
    try:
        upgrade_schema(engine)
        with create_session_factory(engine).begin() as session:
            report = reindex(session, folder, now=clock.now())
    except FolderMissing:
        print(f"error: knowledge_base.path: folder {folder} does not exist", file=sys.stderr)
        return EXIT_BAD_CONFIG
    except Exception as exc:
        print(f"error: could not index the knowledge base: {_first_line(exc)}", file=sys.stderr)
        return EXIT_PROBLEMS
    finally:
        engine.dispose()
    print(
        f"knowledge base {folder}: {report.articles} article(s) indexed "
        f"({len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.removed)} removed, {report.unchanged} unchanged)"
    )
    for problem in report.problems:
        print(f"{problem.path}: {problem.problem}", file=sys.stderr)
    return EXIT_PROBLEMS if report.problems else 0


def _serve(settings: Settings, args: argparse.Namespace, clock: Clock) -> int:
    from bot.scheduler import build_scheduler
    from bot.slack_client import outbox_client
    from bot.startup import database_problem, slack_problem
    from storage.db import create_db_engine
    from storage.migrate import upgrade_schema

    if not settings.bot_token:
        print("error: SLACK_BOT_TOKEN is not set (the bot token, xoxb-…)", file=sys.stderr)
        return EXIT_BAD_CONFIG
    if args.socket and not settings.app_token:
        print("error: --socket needs SLACK_APP_TOKEN (an app-level token, xapp-…)", file=sys.stderr)
        return EXIT_BAD_CONFIG
    if not args.socket and not settings.signing_secret:
        print("error: SLACK_SIGNING_SECRET is not set (needed in HTTP mode)", file=sys.stderr)
        return EXIT_BAD_CONFIG
    config = _load_config_or_exit(settings.config_path)
    engine = create_db_engine(settings.database_url)
    problem = database_problem(engine) or slack_problem(
        outbox_client(settings.bot_token, settings.api_url, timeout=10), settings.api_url
    )
    if problem is not None:
        engine.dispose()
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    try:
        upgrade_schema(engine)
    except Exception as exc:
        engine.dispose()
        print(f"error: could not prepare the database: {_first_line(exc)}", file=sys.stderr)
        return EXIT_PROBLEMS
    runtime = _runtime(settings, config, clock, engine=engine)
    runtime.dispatcher.start()
    if not args.no_worker:
        # A thread busy with intake holds the interpreter for up to this long before an ack's
        # thread may run (5 ms by default): keep it short so acks stay within milliseconds.
        sys.setswitchinterval(0.001)
        runtime.inbox.start()
    scheduler = build_scheduler(runtime)
    scheduler.start()
    try:
        if args.socket:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            logger.info("serving in Socket Mode")
            SocketModeHandler(runtime.app, settings.app_token).start()
        else:
            _serve_http(runtime, settings.port)
    finally:
        scheduler.shutdown(wait=False)
        runtime.close()
    return 0


def _runtime(settings: Settings, config: DeskConfig, clock: Clock, **options: Any) -> Runtime:
    """The app's wiring from the operator's settings (`serve`, `work`, `inbox`)."""
    from bot.runtime import build_runtime

    return build_runtime(
        config=config,
        database_url=settings.database_url,
        api_url=settings.api_url,
        bot_token=settings.bot_token or "",
        signing_secret=settings.signing_secret or "",
        clock=clock,
        **options,
    )


def _serve_http(runtime: Runtime, port: int) -> None:
    from bot.server import create_http_server

    server = create_http_server(runtime.wsgi(), host="0.0.0.0", port=port)
    stopping = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        if not stopping.is_set():
            stopping.set()
            server.close()

    signal.signal(signal.SIGTERM, _stop)
    logger.info("serving Slack requests on http://0.0.0.0:%s/slack/events", server.effective_port)
    try:
        server.run()
    except OSError:
        if not stopping.is_set():
            raise


def _work(settings: Settings, args: argparse.Namespace, clock: Clock) -> int:
    """Process the inbox and send the outbox until SIGTERM or Ctrl-C: a replica that only
    works, beside `serve --no-worker` replicas that only answer Slack."""
    from storage.migrate import upgrade_schema

    if not settings.bot_token:
        print("error: SLACK_BOT_TOKEN is not set (the bot token, xoxb-…)", file=sys.stderr)
        return EXIT_BAD_CONFIG
    config = _load_config_or_exit(settings.config_path)
    runtime = _runtime(settings, config, clock, verify_token=False)
    try:
        upgrade_schema(runtime.engine)
    except Exception as exc:
        print(f"error: could not prepare the database: {_first_line(exc)}", file=sys.stderr)
        return EXIT_PROBLEMS
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())
    runtime.dispatcher.start()
    runtime.inbox.start()
    logger.warning("working the inbox and the outbox (%s); Ctrl-C to stop", runtime.inbox.owner)
    try:
        while not stopping.wait(1.0):
            pass
    finally:
        runtime.close()
    return 0


def _inbox(settings: Settings, args: argparse.Namespace, clock: Clock) -> int:
    """`inbox`: the parked rows, with their errors; `inbox retry ID`: run one again now."""
    from storage.inbox import InboxRepository
    from storage.migrate import upgrade_schema

    config = _load_config_or_exit(settings.config_path)
    runtime = _runtime(settings, config, clock, verify_token=False)
    try:
        try:
            upgrade_schema(runtime.engine)
            with runtime.session_factory.begin() as session:
                inbox = InboxRepository(session)
                if args.action == "list":
                    rows = inbox.parked()
                    for row in rows:
                        print(
                            f"{row.id}\t{row.received_at:%Y-%m-%dT%H:%M:%SZ}\t"
                            f"{row.event_type or row.kind}\t{row.dedupe_key}\t"
                            f"{row.attempts} attempt(s)\t{row.last_error or ''}"
                        )
                    print(
                        f"{len(rows)} parked row(s)"
                        + ("; `supportbot inbox retry ID` runs one again" if rows else "")
                    )
                    return 0
                if args.row is None:
                    print("error: `supportbot inbox retry` needs a row id", file=sys.stderr)
                    return EXIT_BAD_CONFIG
                if not inbox.requeue(args.row, now=clock.now()):
                    print(f"error: no parked inbox row {args.row}", file=sys.stderr)
                    return EXIT_PROBLEMS
        except Exception as exc:
            print(f"error: could not read the inbox: {_first_line(exc)}", file=sys.stderr)
            return EXIT_PROBLEMS
        if not settings.bot_token:
            print(f"row {args.row} is queued again; a running worker will process it")
            return 0
        outcome = runtime.inbox.run_now(args.row)
        runtime.dispatcher.drain()
        print(f"row {args.row}: {outcome}")
        return 0 if outcome == "done" else EXIT_PROBLEMS
    finally:
        runtime.close()


def _sla_check(settings: Settings, args: argparse.Namespace, clock: Clock) -> int:
    """One sweep now; its alerts are delivered before the command returns (or stay queued for
    `serve` when Slack can't be reached)."""
    from bot.scheduler import replica_name
    from workflows.schedule import run_sla_sweep

    if not settings.bot_token:
        print("error: SLACK_BOT_TOKEN is not set (the bot token, xoxb-…)", file=sys.stderr)
        return EXIT_BAD_CONFIG
    config = _load_config_or_exit(settings.config_path)
    with _one_shot_runtime(settings, config, clock) as runtime:
        result = run_sla_sweep(
            runtime.session_factory, runtime.desk, replica=replica_name(), claim=False
        )
        assert result is not None
        sent = runtime.dispatcher.drain()
    breaches = sum(1 for a in result.alerts if a.level == "breach")
    print(
        f"SLA check: {result.looked_at} ticket(s) coming due, {breaches} breach(es), "
        f"{len(result.alerts) - breaches} warning(s), {result.messages} message(s) "
        f"({sent} sent now)"
    )
    return 0


def _digest(settings: Settings, args: argparse.Namespace, clock: Clock) -> int:
    """`digest weekly|sla|csat`: build the digest of the period that just ended (or the one
    given) and post it, or print it (`--dry-run`); `--charts DIR` also writes the weekly charts."""
    from workflows.reports import Period, last_week
    from workflows.sla_digest import DEFAULT_PERIOD

    config = _load_config_or_exit(settings.config_path)
    if not args.dry_run and not settings.bot_token:
        print("error: SLACK_BOT_TOKEN is not set (the bot token, xoxb-…)", file=sys.stderr)
        return EXIT_BAD_CONFIG
    if config.digests is None and not args.dry_run:
        print("error: no digests channel in the config (digests: {channel: C…})", file=sys.stderr)
        return EXIT_BAD_CONFIG
    now = clock.now()
    if args.kind == "sla" or args.since or args.until:
        # A date or time without an offset is the desk's (its days are local days).
        until = _in_zone(args.until, config.tz) if args.until else now
        since = _in_zone(args.since, config.tz) if args.since else None
        if since is None:  # 7 local days back: wall-clock arithmetic in the desk's zone
            since = until.astimezone(config.tz) - DEFAULT_PERIOD
        period = Period(since.astimezone(UTC), until.astimezone(UTC))
    else:
        weekday = config.digests.weekly_weekday if config.digests else 0
        period = last_week(now, config.tz, weekday)
    if period.since >= period.until:
        print("error: --since must be before --until", file=sys.stderr)
        return EXIT_BAD_CONFIG
    with _one_shot_runtime(settings, config, clock) as runtime:
        with runtime.session_factory.begin() as session:
            printed = _build_digest(session, runtime.desk, args, period)
        if printed is not None:
            print(printed)
            return 0
        runtime.dispatcher.drain()
    print(
        f"{args.kind.upper() if args.kind != 'weekly' else 'Weekly'} digest for "
        f"{period.since.isoformat()} – {period.until.isoformat()} posted"
    )
    return 0


def _build_digest(session: Any, desk: Desk, args: argparse.Namespace, period: Any) -> str | None:
    """Post the digest (None) or return it as terminal text (`--dry-run`)."""
    from pathlib import Path

    from templates.reports import csat_digest_message, weekly_charts, weekly_digest_message
    from templates.sla import sla_digest_message
    from workflows.reports import (
        build_csat_digest,
        build_weekly_digest,
        post_csat_digest,
        post_weekly_digest,
    )
    from workflows.sla_digest import build_sla_digest, post_digest

    now, tz = desk.clock.now(), desk.config.tz
    if args.kind == "sla":
        sla = build_sla_digest(session, desk, since=period.since, until=period.until, now=now)
        if args.dry_run:
            return _readable(sla_digest_message(sla, tz=tz))
        post_digest(session, desk, sla, now=now)
        return None
    if args.kind == "csat":
        csat = build_csat_digest(session, desk, period)
        if args.dry_run:
            return _readable(csat_digest_message(csat, tz=tz))
        post_csat_digest(session, desk, csat, now=now)
        return None
    weekly = build_weekly_digest(session, desk, period)
    charts = weekly_charts(weekly, tz=tz) if (args.charts or not args.dry_run) else []
    if args.charts:
        folder = Path(args.charts)
        folder.mkdir(parents=True, exist_ok=True)
        for chart in charts:
            (folder / chart.filename).write_bytes(chart.png)
    if args.dry_run:
        text = _readable(weekly_digest_message(weekly, tz=tz))
        if args.charts:
            text += f"\n\nCharts written to {args.charts}: " + ", ".join(c.filename for c in charts)
        return text
    post_weekly_digest(session, desk, weekly, charts, now=now)
    return None


@dataclasses.dataclass
class _OneShot:
    """What a one-shot command needs: the database, the desk and the outbox (no Bolt app)."""

    session_factory: SessionFactory
    desk: Desk
    dispatcher: Dispatcher


@contextlib.contextmanager
def _one_shot_runtime(settings: Settings, config: DeskConfig, clock: Clock) -> Iterator[_OneShot]:
    """The database upgraded and the outbox ready; the outbox is delivered by the caller."""
    from bot.delivery import DeliveryHooks
    from bot.outbox import Dispatcher
    from bot.slack_client import outbox_client
    from storage.db import create_db_engine, create_session_factory
    from storage.migrate import upgrade_schema
    from workflows.desk import Desk

    engine = create_db_engine(settings.database_url)
    try:
        try:
            upgrade_schema(engine)
        except Exception as exc:
            print(f"error: could not prepare the database: {_first_line(exc)}", file=sys.stderr)
            raise SystemExit(EXIT_PROBLEMS) from None
        session_factory = create_session_factory(engine)
        client = outbox_client(settings.bot_token or "", settings.api_url)
        dispatcher = Dispatcher(session_factory, client, DeliveryHooks(config, clock), clock)
        yield _OneShot(session_factory, Desk(config=config, clock=clock), dispatcher)
    finally:
        engine.dispose()


def _demo(settings: Settings, args: argparse.Namespace, clock: Clock) -> int:
    from bot.demo import DEMO_CONFIG, run_demo

    today = args.today or clock.now().astimezone(ZoneInfo(DEMO_CONFIG["timezone"])).date()
    return run_demo(database_url=args.database, out=sys.stdout, charts=args.charts, today=today)


def _readable(message: dict[str, Any]) -> str:
    from templates.render import terminal_text

    return terminal_text(message)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
