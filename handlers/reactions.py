"""Listeners for `reaction_added` and `reaction_removed`: the ticket emoji opens a ticket from any
message; the claim and resolve emoji work the ticket whose message or card they are put on, and
the escalate emoji escalates it to its default target."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from handlers.deps import Deps
from workflows.clock import slack_ts_to_datetime
from workflows.escalation import escalate_by_reaction
from workflows.intake import is_first_delivery, open_from_reaction
from workflows.triage import react


def _reaction_name(event: dict[str, Any]) -> str:
    # Skin tones arrive as "name::skin-tone-2"; the reaction is the same one.
    return (event.get("reaction") or "").split("::")[0]


def register(app: App, deps: Deps) -> None:
    def handle_reaction(body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
        item = event.get("item") or {}
        if item.get("type") != "message" or not event.get("user"):
            return
        name = _reaction_name(event)
        removed = event.get("type") == "reaction_removed"
        reacted_at = slack_ts_to_datetime(event.get("event_ts") or item["ts"])
        is_ticket_emoji = name == deps.desk.config.reactions.ticket
        user_team = event.get("user_team")
        user_is_external = bool(user_team) and user_team != context.team_id
        if is_ticket_emoji and (removed or not event.get("item_user")):
            return  # no human author (a bot's or a workflow's message), or an emoji taken back
        with deps.transaction() as session:
            if not is_first_delivery(session, body.get("event_id"), desk=deps.desk):
                return
            if is_ticket_emoji:
                open_from_reaction(
                    session,
                    deps.desk,
                    channel=item["channel"],
                    ts=item["ts"],
                    author=event["item_user"],
                    reactor=event["user"],
                    reacted_at=reacted_at,
                    author_is_external=bool(event.get("item_user_team"))
                    and event.get("item_user_team") != context.team_id,
                )
                return
            if name == deps.desk.config.reactions.escalate:
                if not removed:
                    escalate_by_reaction(
                        session,
                        deps.desk,
                        channel=item["channel"],
                        ts=item["ts"],
                        user=event["user"],
                        at=reacted_at,
                        user_is_external=user_is_external,
                    )
                return
            react(
                session,
                deps.desk,
                reaction=name,
                channel=item["channel"],
                ts=item["ts"],
                user=event["user"],
                at=reacted_at,
                user_is_external=user_is_external,
                removed=removed,
            )

    app.event("reaction_added")(handle_reaction)
    app.event("reaction_removed")(handle_reaction)
