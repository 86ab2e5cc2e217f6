"""Listeners for `message` and `app_mention` events: one listener per event type, routed inside."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from handlers.deps import Deps
from handlers.payloads import CONVERSATION_SUBTYPES, message_from_event
from workflows.clock import slack_ts_to_datetime
from workflows.escalation import relay_from_engineering
from workflows.intake import (
    delete_message,
    edit_message,
    is_first_delivery,
    receive_mention,
    receive_message,
)


def register(app: App, deps: Deps) -> None:
    def handle_message_event(body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
        subtype = event.get("subtype")
        if subtype == "message_changed":
            changed = event.get("message") or {}
            if changed.get("bot_id") or not changed.get("ts"):
                return
            edited = (changed.get("edited") or {}).get("ts") or event.get("event_ts") or event["ts"]
            with deps.transaction() as session:
                if is_first_delivery(session, body.get("event_id"), desk=deps.desk):
                    edit_message(
                        session,
                        deps.desk,
                        channel=event["channel"],
                        ts=changed["ts"],
                        text=changed.get("text") or "",
                        edited_at=slack_ts_to_datetime(edited),
                    )
            return
        if subtype == "message_deleted":
            deleted_ts = event.get("deleted_ts")
            if not deleted_ts:
                return
            with deps.transaction() as session:
                if is_first_delivery(session, body.get("event_id"), desk=deps.desk):
                    delete_message(
                        session,
                        deps.desk,
                        channel=event["channel"],
                        ts=deleted_ts,
                        deleted_at=slack_ts_to_datetime(event.get("event_ts") or event["ts"]),
                    )
            return
        if subtype not in CONVERSATION_SUBTYPES:
            return
        message = message_from_event(
            event, home_team=context.team_id, shared=bool(body.get("is_ext_shared_channel"))
        )
        if message is None:
            return
        with deps.transaction() as session:
            if not is_first_delivery(session, body.get("event_id"), desk=deps.desk):
                return
            # A reply in an escalation's thread goes to the ticket's room; anything else is intake.
            if relay_from_engineering(session, deps.desk, message) is None:
                receive_message(session, deps.desk, message)

    def handle_app_mention(body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
        message = message_from_event(
            event, home_team=context.team_id, shared=bool(body.get("is_ext_shared_channel"))
        )
        if message is None:
            return
        with deps.transaction() as session:
            if is_first_delivery(session, body.get("event_id"), desk=deps.desk):
                receive_mention(session, deps.desk, message)

    app.event("message")(handle_message_event)
    app.event("app_mention")(handle_app_mention)
