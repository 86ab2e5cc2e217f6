"""The Bolt app factory. No module-level App: tests and the demo hand in a client pointed at the
stand-in, `serve` one pointed at `SLACK_API_URL`.

Two apps are built from the same listeners: the *front* app answers Slack (events go to the inbox
at once, through `accept`; interactive requests run their listeners, which do only what the
answer needs), and the *worker* app replays stored events through the listeners, off the ack path
(`event_processor`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient

from bot.inbox import Accepted
from bot.sanitize import clean_in_place
from handlers import (
    actions,
    commands,
    csat,
    customers,
    directory,
    edit,
    escalation,
    feature_requests,
    home,
    knowledge,
    merging,
    messages,
    reactions,
    shortcuts,
    views,
)
from handlers.deps import Deps, skip_replays

logger = logging.getLogger(__name__)


# Where the worker app's error handler leaves a listener's exception for the worker to see.
LISTENER_ERRORS = "supportbot_listener_errors"


class _GivenClientNotice(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment even when handed a client, then warns
    that the token (the client's own) will be unused: true and harmless, but it reads like a
    mistake at every start."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "As you gave `client` as well" not in record.getMessage()


def create_app(
    deps: Deps,
    *,
    client: WebClient,
    signing_secret: str,
    accept: Callable[[dict[str, Any]], Accepted] | None = None,
    verify_token: bool = True,
) -> App:
    """`accept` (the front app): where Events API envelopes go instead of the listeners.
    `verify_token`: call `auth.test` now (else on the first request)."""
    bolt_logger = logging.getLogger("slack_bolt.App")
    if not any(isinstance(f, _GivenClientNotice) for f in bolt_logger.filters):
        bolt_logger.addFilter(_GivenClientNotice())
    app = App(
        client=client,
        signing_secret=signing_secret,
        token_verification_enabled=verify_token,
        # Interactive listeners finish their database write before Slack gets its 200; events
        # only reach listeners from the inbox, where nobody waits.
        process_before_response=True,
    )

    @app.middleware
    def clean_strings(body: dict[str, Any], next: Callable[[], None]) -> None:
        clean_in_place(body)
        next()

    # A replayed command or form submission (same trigger) is answered empty; see handlers/deps.
    app.middleware(skip_replays(deps))

    if accept is not None:

        @app.middleware
        def store_events(body: dict[str, Any], next: Callable[[], None]) -> BoltResponse | None:
            if body.get("type") != "event_callback":
                next()
                return None
            accepted = accept(body)
            return BoltResponse(status=accepted.status, body="")

    surfaces = (
        messages,
        reactions,
        commands,
        views,
        shortcuts,
        actions,
        edit,
        customers,
        merging,
        escalation,
        home,
        directory,
        csat,
        knowledge,
        feature_requests,
    )
    for surface in surfaces:
        surface.register(app, deps)

    def handle_error(error: Exception, body: dict[str, Any], context: Any) -> BoltResponse:
        errors = context.get(LISTENER_ERRORS)
        if errors is not None:  # replayed from the inbox: the worker records it and retries
            errors.append(error)
            return BoltResponse(status=500, body="")
        # Answer 500 so Slack retries; idempotent intake makes the retry safe.
        logger.exception(
            "request failed (type=%s, event_id=%s)",
            body.get("type"),
            body.get("event_id"),
            exc_info=error,
        )
        return BoltResponse(status=500, body="")

    app.error(handle_error)
    return app


def event_processor(app: App) -> Callable[[dict[str, Any]], None]:
    """Process a stored Events API envelope through the worker app's listeners; raises what a
    listener raised, so the inbox can retry or park the row."""

    def process(envelope: dict[str, Any]) -> None:
        errors: list[Exception] = []
        request = BoltRequest(
            body=envelope,
            # Socket Mode's path: the signature was checked when the event was acknowledged.
            mode="socket_mode",
            context={LISTENER_ERRORS: errors},
        )
        response = app.dispatch(request)
        if errors:
            raise errors[0]
        if response.status >= 500:
            raise RuntimeError(f"the app answered {response.status}: {response.body[:200]}")

    return process
