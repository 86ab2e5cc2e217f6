"""Composition root and CLI: `supportbot COMMAND` (also `python app.py COMMAND`).

Commands only wire: settings -> config -> engine -> Bolt app -> scheduler. User mistakes (a bad
config, a missing token) end with a one-line message and an exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from dotenv import load_dotenv

if TYPE_CHECKING:
    from bot.config import DeskConfig
    from bot.runtime import Runtime
    from bot.settings import Settings

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
    }[args.command]
    try:
        return handler(settings, args)
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="supportbot", description="A support desk in Slack.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="run the app (HTTP on PORT, or Socket Mode)")
    serve.add_argument("--socket", action="store_true", help="use Socket Mode (SLACK_APP_TOKEN)")
    sub.add_parser("migrate", help="create or upgrade the database schema")
    sub.add_parser("check-config", help="validate the config file")
    export = sub.add_parser("export", help="print tickets, one per row or line")
    export.add_argument("--format", choices=["csv", "jsonl"], default="jsonl")
    export.add_argument("--since", type=_iso, help="ISO date/time; tickets created at or after")
    export.add_argument("--until", type=_iso, help="ISO date/time; tickets created before")
    demo = sub.add_parser("demo", help="play a scripted support day against a local Slack stand-in")
    demo.add_argument(
        "--database", help="database URL for the demo (default: a temporary SQLite file)"
    )
    return parser


def _iso(text: str) -> datetime:
    """ISO 8601 date or date-time; a time without an offset is UTC."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO date or date-time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


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


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
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


def _check_config(settings: Settings, args: argparse.Namespace) -> int:
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


def _export(settings: Settings, args: argparse.Namespace) -> int:
    from storage.db import create_db_engine, create_session_factory
    from workflows.export import export_records, write_csv, write_jsonl

    engine = create_db_engine(settings.database_url)
    try:
        with create_session_factory(engine).begin() as session:
            records = export_records(session, since=args.since, until=args.until)
            writer = write_csv if args.format == "csv" else write_jsonl
            writer(records, sys.stdout)
    except Exception as exc:
        print(f"error: could not read tickets: {_first_line(exc)}", file=sys.stderr)
        return EXIT_PROBLEMS
    finally:
        engine.dispose()
    return 0


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from apscheduler.schedulers.background import BackgroundScheduler

    from bot.agent_directory import refresh_agent_usergroup
    from bot.runtime import build_runtime
    from storage.migrate import upgrade_schema
    from workflows.housekeeping import close_resolved, forget_old_events

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
    runtime = build_runtime(
        config=config,
        database_url=settings.database_url,
        api_url=settings.api_url,
        bot_token=settings.bot_token,
        signing_secret=settings.signing_secret or "",
    )
    try:
        upgrade_schema(runtime.engine)
    except Exception as exc:
        print(f"error: could not prepare the database: {_first_line(exc)}", file=sys.stderr)
        return EXIT_PROBLEMS
    runtime.dispatcher.start()
    scheduler = BackgroundScheduler(timezone=config.tz)
    scheduler.add_job(
        forget_old_events,
        "interval",
        hours=6,
        id="forget-old-events",
        args=[runtime.session_factory, runtime.desk.clock, timedelta(days=3)],
        coalesce=True,
        max_instances=1,
        next_run_time=datetime.now(UTC),
    )
    scheduler.add_job(
        close_resolved,
        "interval",
        minutes=5,
        id="close-resolved",
        args=[runtime.session_factory, runtime.desk],
        coalesce=True,
        max_instances=1,
        next_run_time=datetime.now(UTC),
    )
    if config.agent_usergroup:
        scheduler.add_job(
            refresh_agent_usergroup,
            "interval",
            minutes=15,
            id="refresh-agent-usergroup",
            args=[runtime.app.client, runtime.session_factory, runtime.desk],
            coalesce=True,
            max_instances=1,
            next_run_time=datetime.now(UTC),
        )
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


def _serve_http(runtime: Runtime, port: int) -> None:
    from bot.server import create_http_server, create_wsgi_app

    server = create_http_server(
        create_wsgi_app(runtime.app, runtime.engine), host="0.0.0.0", port=port
    )
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


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    return run_demo(database_url=args.database, out=sys.stdout)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
