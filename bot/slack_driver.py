"""Plays Slack's side of the conversation: builds real payload shapes, signs them with the signing
secret, and POSTs them to the app's `/slack/events`. Used by `supportbot demo` and the tests, so the
app is always exercised the way Slack exercises it."""

from __future__ import annotations

import itertools
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.signature import slack_signature
from workflows.clock import Clock, SystemClock, datetime_to_slack_ts


@dataclass(frozen=True)
class Reply:
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class SlackDriver:
    def __init__(
        self,
        url: str,
        signing_secret: str,
        *,
        team_id: str = "T0DESK",
        app_id: str = "A0DESK",
        bot_user_id: str = "U0BOT",
        clock: Clock | None = None,
        next_ts: Callable[[], str] | None = None,
    ) -> None:
        self.url = url
        # Slack's clock for the times inside payloads (`event_time`, `event_ts`, `action_ts`);
        # signatures keep the wall clock, which is what the app checks them against. `next_ts`
        # (the stand-in's) makes every time Slack stamps unique and ordered with its messages',
        # as Slack's are, even while the clock stands still.
        self.clock: Clock = clock or SystemClock()
        self._next_ts = next_ts
        # Called after each event Slack was answered for: the tests' stand-in for the inbox
        # worker that, in `serve`, picks the event up a moment after the ack.
        self.after_event: Callable[[], Any] | None = None
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.app_id = app_id
        self.bot_user_id = bot_user_id
        self._ids = itertools.count(1)

    def now_ts(self) -> str:
        """Slack's "now" as a ts, for the times Slack stamps on what it sends."""
        if self._next_ts is not None:
            return self._next_ts()
        return datetime_to_slack_ts(self.clock.now())

    # --- transport ----------------------------------------------------------------------------

    def post(
        self,
        body: bytes,
        content_type: str,
        *,
        headers: dict[str, str] | None = None,
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> Reply:
        timestamp = int(time.time()) if timestamp is None else timestamp
        if signature is None:
            signature = slack_signature(self.signing_secret, str(timestamp), body)
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": str(timestamp),
                "X-Slack-Signature": signature,
                **(headers or {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return Reply(response.status, response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            return Reply(exc.code, exc.read().decode("utf-8"))

    def post_json(self, payload: dict[str, Any], **kwargs: Any) -> Reply:
        reply = self.post(json.dumps(payload).encode(), "application/json", **kwargs)
        if self.after_event is not None and payload.get("type") == "event_callback":
            self.after_event()
        return reply

    def post_form(self, fields: dict[str, str], **kwargs: Any) -> Reply:
        body = urllib.parse.urlencode(fields).encode()
        return self.post(body, "application/x-www-form-urlencoded", **kwargs)

    # --- Events API ---------------------------------------------------------------------------

    def event_envelope(
        self, event: dict[str, Any], *, event_id: str | None = None, shared: bool = False
    ) -> dict[str, Any]:
        """`shared`: the event happened in a channel shared with another workspace."""
        return {
            "token": "legacy-verification-token",
            "team_id": self.team_id,
            "api_app_id": self.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._ids):08d}",
            "event_time": int(self.clock.now().timestamp()),
            "authorizations": [
                {"team_id": self.team_id, "user_id": self.bot_user_id, "is_bot": True}
            ],
            "is_ext_shared_channel": shared,
        }

    def send_event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        shared: bool = False,
    ) -> Reply:
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        envelope = self.event_envelope(event, event_id=event_id, shared=shared)
        return self.post_json(envelope, headers=headers)

    def message_event(
        self,
        *,
        channel: str,
        user: str,
        text: str,
        ts: str,
        thread_ts: str | None = None,
        channel_type: str = "channel",
        user_team: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        event = {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "channel_type": channel_type,
            "team": user_team or self.team_id,
            "client_msg_id": f"msg-{ts}",
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        if user_team:
            event["user_team"] = user_team
        event.update(extra)
        return event

    def reaction_event(
        self,
        *,
        user: str,
        reaction: str,
        channel: str,
        ts: str,
        item_user: str,
        event_ts: str,
        removed: bool = False,
    ) -> dict[str, Any]:
        return {
            "type": "reaction_removed" if removed else "reaction_added",
            "user": user,
            "reaction": reaction,
            "item_user": item_user,
            "item": {"type": "message", "channel": channel, "ts": ts},
            "event_ts": event_ts,
        }

    def app_home_opened(self, *, user: str, tab: str = "home") -> dict[str, Any]:
        return {
            "type": "app_home_opened",
            "user": user,
            "channel": f"D{user[1:]}",
            "tab": tab,
            "event_ts": self.now_ts(),
        }

    # --- slash commands, shortcuts, modals ----------------------------------------------------

    def slash_command(
        self, *, user: str, channel: str, text: str = "", command: str = "/support"
    ) -> tuple[Reply, str]:
        trigger_id = f"{next(self._ids)}.trigger"
        fields = {
            "token": "legacy-verification-token",
            "team_id": self.team_id,
            "team_domain": "desk",
            "channel_id": channel,
            "channel_name": "channel",
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": self.app_id,
            "is_enterprise_install": "false",
            "response_url": "https://hooks.slack.com/commands/T0DESK/1/x",
            "trigger_id": trigger_id,
        }
        return self.post_form(fields), trigger_id

    def interaction(self, payload: dict[str, Any]) -> Reply:
        return self.post_form({"payload": json.dumps(payload)})

    def message_shortcut(
        self,
        *,
        user: str,
        channel: str,
        message: dict[str, Any],
        callback_id: str = "create_ticket",
    ) -> Reply:
        return self.interaction(
            {
                "type": "message_action",
                "token": "legacy-verification-token",
                "action_ts": self.now_ts(),
                "team": {"id": self.team_id, "domain": "desk"},
                "user": {"id": user, "team_id": self.team_id, "name": user.lower()},
                "channel": {"id": channel, "name": "channel"},
                "is_enterprise_install": False,
                "callback_id": callback_id,
                "trigger_id": f"{next(self._ids)}.trigger",
                "response_url": "https://hooks.slack.com/app/T0DESK/1/x",
                "message_ts": message["ts"],
                "message": {"type": "message", **message},
            }
        )

    def view_payload(
        self, view: dict[str, Any], values: dict[str, dict[str, Any]]
    ) -> dict[str, Any]:
        """A view as Slack sends it back: the opened view plus the user's `state.values`."""
        return {**view, "state": {"values": values}}

    def block_action(
        self,
        *,
        user: str,
        view: dict[str, Any],
        values: dict[str, dict[str, Any]],
        block_id: str,
        action_id: str,
    ) -> Reply:
        state = values[block_id][action_id]
        action = {
            "action_id": action_id,
            "block_id": block_id,
            "type": state.get("type"),
            "action_ts": self.now_ts(),
        }
        if "selected_option" in state:
            action["selected_option"] = state["selected_option"]
        return self.interaction(
            {
                "type": "block_actions",
                "token": "legacy-verification-token",
                "team": {"id": self.team_id, "domain": "desk"},
                "user": {"id": user, "team_id": self.team_id, "name": user.lower()},
                "api_app_id": self.app_id,
                "container": {"type": "view", "view_id": view["id"]},
                "trigger_id": f"{next(self._ids)}.trigger",
                "view": self.view_payload(view, values),
                "actions": [action],
                "is_enterprise_install": False,
            }
        )

    def press(
        self,
        *,
        user: str,
        message: dict[str, Any],
        channel: str,
        action_id: str,
        value: str | None = None,
        block_id: str = "ticket_actions",
        selected_user: str | None = None,
        selected_value: str | None = None,
        action_ts: str | None = None,
        user_team: str | None = None,
    ) -> Reply:
        """A button (or user picker, or overflow menu) pressed on a message the bot posted.
        `message` is the message as stored (ts, thread_ts, blocks...)."""
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id,
            "type": "button",
            "action_ts": action_ts or self.now_ts(),
        }
        if value is not None:
            action["value"] = value
        if selected_user is not None:
            action.update(type="users_select", selected_user=selected_user)
        if selected_value is not None:
            action.update(type="overflow", selected_option={"value": selected_value})
        container: dict[str, Any] = {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel,
            "is_ephemeral": False,
        }
        if message.get("thread_ts"):
            container["thread_ts"] = message["thread_ts"]
        team = user_team or self.team_id
        return self.interaction(
            {
                "type": "block_actions",
                "token": "legacy-verification-token",
                "team": {"id": self.team_id, "domain": "desk"},
                "user": {"id": user, "team_id": team, "name": user.lower()},
                "api_app_id": self.app_id,
                "container": container,
                "trigger_id": f"{next(self._ids)}.trigger",
                "channel": {"id": channel, "name": "channel"},
                "message": {"type": "message", **message},
                "response_url": "https://hooks.slack.com/actions/T0DESK/1/x",
                "actions": [action],
                "is_enterprise_install": False,
            }
        )

    def press_in_view(
        self,
        *,
        user: str,
        view: dict[str, Any],
        action_id: str,
        value: str | None = None,
        block_id: str = "ticket_actions",
        action_ts: str | None = None,
    ) -> Reply:
        """A button pressed in a published view (App Home) or an open modal."""
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id,
            "type": "button",
            "action_ts": action_ts or self.now_ts(),
        }
        if value is not None:
            action["value"] = value
        return self.interaction(
            {
                "type": "block_actions",
                "token": "legacy-verification-token",
                "team": {"id": self.team_id, "domain": "desk"},
                "user": {"id": user, "team_id": self.team_id, "name": user.lower()},
                "api_app_id": self.app_id,
                "container": {"type": "view", "view_id": view.get("id", "V0HOME")},
                "trigger_id": f"{next(self._ids)}.trigger",
                "view": {**view, "state": {"values": {}}},
                "actions": [action],
                "is_enterprise_install": False,
            }
        )

    def submit_view(
        self, *, user: str, view: dict[str, Any], values: dict[str, dict[str, Any]]
    ) -> Reply:
        return self.interaction(
            {
                "type": "view_submission",
                "token": "legacy-verification-token",
                "team": {"id": self.team_id, "domain": "desk"},
                "user": {"id": user, "team_id": self.team_id, "name": user.lower()},
                "api_app_id": self.app_id,
                "trigger_id": f"{next(self._ids)}.trigger",
                "view": self.view_payload(view, values),
                "response_urls": [],
                "is_enterprise_install": False,
            }
        )


def select_value(value: str, label: str | None = None) -> dict[str, Any]:
    """`state.values` entry of a static_select or radio_buttons answer."""
    return {
        "type": "static_select",
        "selected_option": {"text": {"type": "plain_text", "text": label or value}, "value": value},
    }


def text_value(value: str, kind: str = "plain_text_input") -> dict[str, Any]:
    return {"type": kind, "value": value}


def initial_values(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A view's `state.values` as Slack sends them when nobody changed anything: every input
    answers with its initial value (or nothing)."""
    values: dict[str, dict[str, Any]] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block["element"]
        kind = element["type"]
        if kind in ("static_select", "radio_buttons"):
            state = {"type": kind, "selected_option": element.get("initial_option")}
        elif kind in ("multi_static_select", "checkboxes"):
            state = {"type": kind, "selected_options": element.get("initial_options", [])}
        else:
            state = {"type": kind, "value": element.get("initial_value")}
        values[block["block_id"]] = {element["action_id"]: state}
    return values
