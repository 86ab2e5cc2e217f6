"""App Home: the Home tab (published through the outbox, rendered when sent) and its Open button,
which shows a ticket's details in a modal. App Home's Claim button is the card's own listener
(handlers/actions.py), which republishes the home after the change."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.deps import Deps
from templates.home import build_ticket_details_modal
from templates.ids import ActionId
from workflows.home import home_opened, open_ticket_details

logger = logging.getLogger(__name__)


def register(app: App, deps: Deps) -> None:
    def handle_app_home_opened(event: dict[str, Any]) -> None:
        user = event.get("user")
        if event.get("tab") != "home" or not user:
            return  # the Messages tab: nothing to show
        with deps.transaction() as session:
            home_opened(session, deps.desk, user)

    def ack_open(ack: Ack) -> None:
        ack()

    def open_details_modal(body: dict[str, Any], client: WebClient, context: Any) -> None:
        """Runs after the ack (a lazy listener): views.open can't wait for the outbox, as the
        trigger expires three seconds after the press."""
        raw = str(((body.get("actions") or [{}])[0]).get("value") or "")
        user = body.get("user") or {}
        if not raw.isdigit() or not user.get("id"):
            return
        home_team, user_team = context.team_id, user.get("team_id")
        with deps.transaction() as session:
            details = open_ticket_details(
                session,
                deps.desk,
                ticket_id=int(raw),
                viewer=user["id"],
                viewer_is_external=bool(home_team and user_team and user_team != home_team),
            )
        if details is None:
            return  # refused or gone; the outbox tells them
        try:
            client.views_open(
                trigger_id=body["trigger_id"], view=build_ticket_details_modal(details)
            )
        except SlackApiError as exc:
            logger.warning(
                "could not open the details of ticket %s: %s",
                details.line.ref,
                exc.response.get("error"),
            )

    app.event("app_home_opened")(handle_app_home_opened)
    app.action(ActionId.OPEN)(ack=ack_open, lazy=[open_details_modal])
