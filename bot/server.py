"""HTTP mode: a small WSGI router in front of Bolt, served by waitress (a production server).

`POST /slack/events`: an Events API callback (a JSON body of type `event_callback`) is verified
and stored in the inbox right here, the shortest path to Slack's 200; everything else (slash
commands, interactions, URL verification) goes to Bolt. `GET /healthz` answers 200 when the
database is reachable and 503 when it is not, so a load balancer stops sending Slack's requests
to a replica that can't store them. `GET /metrics` is Prometheus' text format.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import Engine
from waitress.server import create_server

from bot.inbox import accept_body
from bot.metrics import CONTENT_TYPE, DeskMetrics
from bot.signature import is_signed_by_slack
from storage.db import database_is_reachable
from storage.inbox import InboxIntake
from workflows.clock import Clock

logger = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
MAX_BODY = 1 << 20  # Slack's events are a few KB; a megabyte is not Slack's


def create_wsgi_app(
    app: App,
    engine: Engine,
    *,
    intake: InboxIntake,
    clock: Clock,
    metrics: DeskMetrics,
    signing_secret: str,
    on_accepted: Callable[[], None] = lambda: None,
    gate: AbstractContextManager[Any] | None = None,
) -> WsgiApp:
    """`on_accepted`: nudged after an event is stored (this process's inbox worker); `gate`:
    held while a Slack request is answered (the worker waits for quiet)."""
    gate = gate or nullcontext()
    slack = SlackRequestHandler(app, path="/slack/events")

    def events(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY:
            return _plain(start_response, "413 Payload Too Large", b"too large\n")
        raw = environ["wsgi.input"].read(length) if length > 0 else b""
        content_type = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
        if content_type == "application/json" and _is_event_callback(raw):
            if not is_signed_by_slack(
                signing_secret,
                timestamp=environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", ""),
                signature=environ.get("HTTP_X_SLACK_SIGNATURE", ""),
                body=raw,
            ):
                return _plain(start_response, "401 Unauthorized", b"invalid request\n")
            try:
                accepted = accept_body(raw, intake=intake, clock=clock, metrics=metrics)
            except Exception as exc:  # the database is away: Slack's retry will store it
                logger.error("inbox: could not store an event, answering 500: %s", exc)
                return _plain(start_response, "500 Internal Server Error", b"")
            status = "200 OK" if accepted.status == 200 else "400 Bad Request"
            if accepted.status == 200 and accepted.problem is None and not accepted.duplicate:
                on_accepted()
            metrics.ack_seconds.labels(kind="event").observe(time.perf_counter() - started)
            return _plain(start_response, status, b"")
        environ["wsgi.input"] = io.BytesIO(raw)  # Bolt reads the body again
        answer = slack(environ, start_response)
        metrics.ack_seconds.labels(kind="interaction").observe(time.perf_counter() - started)
        return answer

    def wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/slack/events" and environ.get("REQUEST_METHOD") == "POST":
            with gate:
                return events(environ, start_response)
        if path == "/healthz":
            healthy = database_is_reachable(engine)
            status = "200 OK" if healthy else "503 Service Unavailable"
            return _plain(start_response, status, b"ok\n" if healthy else b"database unreachable\n")
        if path == "/metrics":
            body = metrics.exposition()
            start_response(
                "200 OK", [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(body)))]
            )
            return [body]
        if path == "/slack/events":
            return slack(environ, start_response)
        return _plain(start_response, "404 Not Found", b"not found\n")

    return wsgi


def _is_event_callback(raw: bytes) -> bool:
    """Whether a JSON body is the inbox's: an event callback says so near its top. Bolt keeps
    the other JSON requests Slack sends (`url_verification`, `app_rate_limited`); a body that
    isn't JSON, or isn't an object, is the inbox's to refuse."""
    if b'"event_callback"' in raw[:4096]:
        return True
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return True
    return not isinstance(body, dict) or body.get("type") == "event_callback"


def _plain(start_response: StartResponse, status: str, body: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def create_http_server(wsgi: Any, *, host: str, port: int, threads: int = 8) -> Any:
    """A waitress server; `.effective_port` tells the port when 0 asked for any free one."""
    return create_server(wsgi, host=host, port=port, threads=threads, ident="supportbot")
