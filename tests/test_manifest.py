"""The manifest and the app agree: every subscribed event is answered 200, nothing else is asked."""

from __future__ import annotations

from typing import Any

import yaml

from templates.ids import CallbackId
from tests.conftest import PROJECT_ROOT, DeskUnderTest

SAMPLE_EVENTS: dict[str, dict[str, Any]] = {
    "app_mention": {
        "type": "app_mention",
        "user": "U0X",
        "text": "<@U0BOT> hi",
        "ts": "1.000100",
        "channel": "C0RANDOM",
        "event_ts": "1.000100",
    },
    "message.channels": {
        "type": "message",
        "channel": "C0RANDOM",
        "user": "U0X",
        "text": "hi",
        "ts": "1.000200",
        "channel_type": "channel",
    },
    "message.groups": {
        "type": "message",
        "channel": "G0PRIV",
        "user": "U0X",
        "text": "hi",
        "ts": "1.000300",
        "channel_type": "group",
    },
    "message.im": {
        "type": "message",
        "channel": "D0DM",
        "user": "U0X",
        "text": "hi",
        "ts": "1.000400",
        "channel_type": "im",
    },
    "message.mpim": {
        "type": "message",
        "channel": "G0MPIM",
        "user": "U0X",
        "text": "hi",
        "ts": "1.000500",
        "channel_type": "mpim",
    },
    "reaction_added": {
        "type": "reaction_added",
        "user": "U0X",
        "reaction": "thumbsup",
        "item_user": "U0Y",
        "item": {"type": "message", "channel": "C0RANDOM", "ts": "1.000100"},
        "event_ts": "1.000600",
    },
    "reaction_removed": {
        "type": "reaction_removed",
        "user": "U0X",
        "reaction": "eyes",
        "item_user": "U0Y",
        "item": {"type": "message", "channel": "C0RANDOM", "ts": "1.000100"},
        "event_ts": "1.000700",
    },
    "app_home_opened": {
        "type": "app_home_opened",
        "user": "U0X",
        "channel": "D0DM",
        "tab": "home",
        "event_ts": "1.000800",
    },
    "subteam_members_changed": {
        "type": "subteam_members_changed",
        "subteam_id": "S0OTHER",
        "team_id": "T0DESK",
        "date_previous_update": 1,
        "date_update": 2,
        "added_users": ["U0X"],
        "added_users_count": "1",
        "removed_users": [],
        "removed_users_count": "0",
        "event_ts": "1.000900",
    },
}


def manifest() -> dict[str, Any]:
    return yaml.safe_load((PROJECT_ROOT / "manifest.yml").read_text())


def test_every_subscribed_event_gets_200(desk: DeskUnderTest) -> None:
    """Slack disables apps whose deliveries fail: every subscribed event type is handled."""
    events = manifest()["settings"]["event_subscriptions"]["bot_events"]
    assert set(events) == set(SAMPLE_EVENTS)
    for name in events:
        reply = desk.slack.send_event(SAMPLE_EVENTS[name])
        assert reply.status == 200, name


def test_unusual_message_subtypes_get_200(desk: DeskUnderTest) -> None:
    for subtype in (
        "channel_join",
        "channel_topic",
        "pinned_item",
        "bot_message",
        "message_replied",
    ):
        event = {
            "type": "message",
            "subtype": subtype,
            "channel": "C0HELP",
            "ts": "2.000100",
            "user": "U0X",
            "text": "x",
            "bot_id": "B0OTHER" if subtype == "bot_message" else None,
        }
        assert desk.slack.send_event(event).status == 200, subtype
    assert desk.deliver() == 0


def test_manifest_declares_the_contract_surface() -> None:
    """`/support`, the message shortcuts and interactivity, all at /slack/events."""
    data = manifest()
    [command] = data["features"]["slash_commands"]
    assert command["command"] == "/support" and command["url"].endswith("/slack/events")
    shortcuts = {(s["name"], s["type"], s["callback_id"]) for s in data["features"]["shortcuts"]}
    assert shortcuts == {
        ("Create ticket", "message", CallbackId.CREATE_TICKET_SHORTCUT),
        ("Reply to customer", "message", CallbackId.REPLY_SHORTCUT),
        ("Reply to engineering", "message", CallbackId.ENGINEERING_REPLY_SHORTCUT),
    }
    assert data["settings"]["interactivity"]["is_enabled"] is True
    scopes = set(data["oauth_config"]["scopes"]["bot"])
    assert {"chat:write", "commands", "reactions:read", "channels:history"} <= scopes
    assert "files:write" in scopes  # the weekly digest's charts
