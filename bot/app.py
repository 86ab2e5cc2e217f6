"""The Bolt app factory. No module-level App: tests and the demo hand in a client pointed at the
stand-in, `serve` one pointed at `SLACK_API_URL`."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient

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
from handlers.deps import Deps

logger = logging.getLogger(__name__)


def create_app(deps: Deps, *, client: WebClient, signing_secret: str) -> App:
    app = App(
        client=client,
        signing_secret=signing_secret,
        # Listeners finish their database write before Slack gets its 200, so an acknowledged event
        # is never lost; anything slow happens in lazy listeners or the outbox.
        process_before_response=True,
    )
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

    def handle_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
        # Answer 500 so Slack retries an event; idempotent intake makes the retry safe.
        logger.exception(
            "request failed (type=%s, event_id=%s)",
            body.get("type"),
            body.get("event_id"),
            exc_info=error,
        )
        return BoltResponse(status=500, body="")

    app.error(handle_error)
    return app
