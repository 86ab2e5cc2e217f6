"""Listener for `reaction_added`: the ticket reaction opens a ticket from any message."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from handlers.deps import Deps
from workflows.clock import slack_ts_to_datetime
from workflows.intake import is_first_delivery, open_from_reaction


def register(app: App, deps: Deps) -> None:
    def handle_reaction_added(body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
        item = event.get("item") or {}
        # Skin tones arrive as "name::skin-tone-2"; the reaction is the same one.
        name = (event.get("reaction") or "").split("::")[0]
        if item.get("type") != "message" or name != deps.desk.config.reactions.ticket:
            return
        author = event.get("item_user")
        if not author:
            return  # a message with no human author (a bot's or a workflow's)
        with deps.transaction() as session:
            if not is_first_delivery(session, body.get("event_id"), desk=deps.desk):
                return
            open_from_reaction(
                session,
                deps.desk,
                channel=item["channel"],
                ts=item["ts"],
                author=author,
                reactor=event["user"],
                reacted_at=slack_ts_to_datetime(event.get("event_ts") or item["ts"]),
                author_is_external=bool(event.get("item_user_team"))
                and event.get("item_user_team") != context.team_id,
            )

    app.event("reaction_added")(handle_reaction_added)
