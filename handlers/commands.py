"""The `/support` slash command: bare or with text it opens the intake modal; `help` explains."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.deps import Deps
from templates.modals import IntakeForm, build_intake_modal
from templates.notices import support_help
from workflows.intake import encode_modal_context

logger = logging.getLogger(__name__)


def register(app: App, deps: Deps) -> None:
    def ack_support(ack: Ack, command: dict[str, Any]) -> None:
        text = (command.get("text") or "").strip()
        if text.lower() in {"help", "?"}:
            ack(
                **support_help(
                    command.get("command") or "/support", reaction=deps.desk.config.reactions.ticket
                )
            )
            return
        ack()

    def open_intake_modal(command: dict[str, Any], client: WebClient) -> None:
        """Runs after the ack (a lazy listener): views.open is the one call that can't wait for the
        outbox, as the trigger expires three seconds after the command."""
        text = (command.get("text") or "").strip()
        if text.lower() in {"help", "?"}:
            return
        form = IntakeForm(
            priority=deps.desk.config.default_priority,
            description=text or None,
        )
        view = build_intake_modal(
            form,
            products=deps.desk.config.products,
            private_metadata=encode_modal_context(channel=command["channel_id"]),
        )
        try:
            client.views_open(trigger_id=command["trigger_id"], view=view)
        except SlackApiError as exc:
            logger.warning("could not open the intake modal: %s", exc.response.get("error"))

    app.command("/support")(ack=ack_support, lazy=[open_intake_modal])
