"""HTTP mode: a small WSGI router in front of Bolt, served by waitress (a production server).

`POST /slack/events` goes to Bolt; `GET /healthz` answers 200 when the database is reachable and 503
when it is not, so a load balancer stops sending Slack's requests to a replica that can't
store them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import Engine
from waitress.server import create_server

from storage.db import database_is_reachable

StartResponse = Callable[..., Any]


def create_wsgi_app(
    app: App, engine: Engine
) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    slack = SlackRequestHandler(app, path="/slack/events")

    def wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            healthy = database_is_reachable(engine)
            status = "200 OK" if healthy else "503 Service Unavailable"
            body = b"ok\n" if healthy else b"database unreachable\n"
            start_response(
                status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
            )
            return [body]
        if path == "/slack/events":
            return slack(environ, start_response)
        body = b"not found\n"
        start_response(
            "404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
        )
        return [body]

    return wsgi


def create_http_server(wsgi: Any, *, host: str, port: int, threads: int = 8) -> Any:
    """A waitress server; `.effective_port` tells the port when 0 asked for any free one."""
    return create_server(wsgi, host=host, port=port, threads=threads, ident="supportbot")
