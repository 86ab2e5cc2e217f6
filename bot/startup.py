"""Start-up checks an operator can act on: each problem is one line saying what failed and what
to check, instead of a library's traceback."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

# Slack's answers to auth.test that mean the token itself is wrong.
REFUSED_TOKEN = {
    "invalid_auth": "Slack doesn't know this token",
    "not_authed": "no token was sent",
    "token_revoked": "the token was revoked",
    "token_expired": "the token expired",
    "account_inactive": "the app's bot user or workspace was deactivated",
    "not_allowed_token_type": "this is not a bot token",
}


def database_problem(engine: Engine) -> str | None:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        where = make_url(str(engine.url)).render_as_string(hide_password=True)
        return (
            f"the database at {where} can't be reached ({_first_line(exc)}); check DATABASE_URL "
            "and that the server is up and accepts this user"
        )
    return None


def slack_problem(client: WebClient, api_url: str) -> str | None:
    """Ask Slack who the token is (`auth.test`), as Bolt would, but answer in one line (and
    keep slack_sdk from logging the same failure as a stack of its own lines)."""
    sdk_logger = logging.getLogger("slack_sdk.web.base_client")
    level = sdk_logger.level
    sdk_logger.setLevel(logging.CRITICAL)
    try:
        client.auth_test()
    except SlackApiError as exc:
        error = str(exc.response.get("error") or exc.response.status_code)
        if error in REFUSED_TOKEN:
            return (
                f"Slack refused SLACK_BOT_TOKEN: {REFUSED_TOKEN[error]} ({error}); copy the Bot "
                "User OAuth Token (xoxb-…) from your app's OAuth & Permissions page"
            )
        return f"Slack answered auth.test with {error}; check SLACK_API_URL ({api_url})"
    except OSError as exc:  # DNS, refused connections, timeouts, TLS (urllib wraps them all)
        reason = getattr(exc, "reason", exc)
        return (
            f"Slack's Web API at {api_url} can't be reached ({_first_line(reason)}); check the "
            "network, a proxy (HTTPS_PROXY) or SLACK_API_URL"
        )
    finally:
        sdk_logger.setLevel(level)
    return None


def _first_line(exc: object) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__
