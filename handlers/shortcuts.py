"""The "Create ticket" message shortcut."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from handlers.deps import Deps
from handlers.payloads import message_from_shortcut
from templates.ids import CallbackId
from templates.notices import cannot_ticket_bot_message
from workflows.delivery import post_ephemeral
from workflows.intake import open_from_shortcut


def register(app: App, deps: Deps) -> None:
    def handle_create_ticket(ack: Ack, body: dict[str, Any], context: Any) -> None:
        reporter = body["user"]["id"]
        message = message_from_shortcut(body, home_team=context.team_id)
        with deps.transaction() as session:
            if message is None:
                channel = (body.get("channel") or {}).get("id") or reporter
                post_ephemeral(
                    session,
                    channel=channel,
                    user=reporter,
                    message=cannot_ticket_bot_message(),
                    now=deps.desk.clock.now(),
                )
            else:
                open_from_shortcut(session, deps.desk, message, reporter=reporter)
        ack()

    app.shortcut(CallbackId.CREATE_TICKET_SHORTCUT)(handle_create_ticket)
