"""Parsing of Slack payloads into the workflows' small frozen inputs; pure, tested as data."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from templates.ids import ActionId, BlockId
from workflows.clock import slack_ts_to_datetime
from workflows.intake import IntakeAnswers, SlackMessage
from workflows.triage import ActionKind, TicketAction
from workflows.vocabulary import Via

# Message subtypes that are someone asking or saying something; joins, topic changes, pins and
# the like are not questions.
CONVERSATION_SUBTYPES = frozenset({None, "file_share", "thread_broadcast", "me_message"})


def is_external(payload: dict[str, Any], *, home_team: str | None) -> bool:
    """A user from another workspace (Slack Connect): decided from the event, never from a name."""
    user_team = payload.get("user_team") or payload.get("team")
    source_team = payload.get("source_team")
    if home_team is None:
        return False
    return bool(
        (user_team and user_team != home_team) or (source_team and source_team != home_team)
    )


# The prefix of replay keys among the processed event ids (Slack's event ids start with "Ev").
REPLAY_PREFIX = "trigger:"


def replay_key(body: Mapping[str, Any] | None) -> str | None:
    """What a slash command or a view submission has instead of an event id: its `trigger_id`
    (with the submitted view's id and hash), unique to one press of Enter or Submit. A proxy
    that retries the POST sends the same bytes, so the same key. None for any other request,
    or one without a trigger. Hashed: the processed-events column holds 64 characters."""
    if not isinstance(body, Mapping) or not body.get("trigger_id"):
        return None
    team = body.get("team_id") or (body.get("team") or {}).get("id") or ""
    if body.get("type") == "view_submission":
        view = body.get("view")
        view = view if isinstance(view, Mapping) else {}
        parts = [team, body["trigger_id"], view.get("id"), view.get("hash")]
    elif body.get("command"):
        parts = [team, body["trigger_id"]]
    else:
        return None
    digest = hashlib.sha256("|".join(str(part or "") for part in parts).encode()).hexdigest()
    return REPLAY_PREFIX + digest[: 64 - len(REPLAY_PREFIX)]


def message_from_event(
    event: dict[str, Any], *, home_team: str | None, shared: bool = False
) -> SlackMessage | None:
    """`shared`: the envelope's `is_ext_shared_channel` (the channel is shared with another
    workspace)."""
    user = event.get("user")
    if not user or event.get("bot_id"):
        return None
    return SlackMessage(
        channel=event["channel"],
        ts=event["ts"],
        user=user,
        text=event.get("text") or "",
        thread_ts=event.get("thread_ts"),
        team=event.get("user_team") or event.get("team"),
        is_external=is_external(event, home_team=home_team),
        in_shared_channel=shared,
    )


def message_from_shortcut(body: dict[str, Any], *, home_team: str | None) -> SlackMessage | None:
    message = body.get("message") or {}
    user = message.get("user")
    channel = (body.get("channel") or {}).get("id")
    if not user or not channel or message.get("bot_id"):
        return None
    return SlackMessage(
        channel=channel,
        ts=message["ts"],
        user=user,
        text=message.get("text") or "",
        thread_ts=message.get("thread_ts"),
        team=message.get("user_team") or message.get("team"),
        is_external=is_external(message, home_team=home_team),
    )


def chosen_option(body: dict[str, Any]) -> str:
    """The value of the option chosen in a block action's menu (the card's overflow), or ""."""
    action = (body.get("actions") or [{}])[0]
    return str((action.get("selected_option") or {}).get("value") or "")


def view_values(view: dict[str, Any]) -> dict[str, Any]:
    """A submitted view's input values, by block and action (empty when it has none)."""
    return (view.get("state") or {}).get("values") or {}


def selected_value(values: dict[str, Any], block: str, action: str) -> str | None:
    state = values.get(block, {}).get(action, {})
    option = state.get("selected_option")
    if option:
        return option.get("value")
    return state.get("value")


def intake_answers(view: dict[str, Any]) -> IntakeAnswers:
    """Answers from `view.state.values` of the intake modal (submission or a block action)."""
    values = view_values(view)
    block_ids = {block.get("block_id") for block in view.get("blocks", [])}
    return IntakeAnswers(
        issue_type=selected_value(values, BlockId.ISSUE_TYPE, ActionId.ISSUE_TYPE),
        priority=selected_value(values, BlockId.PRIORITY, ActionId.PRIORITY),
        product=selected_value(values, BlockId.PRODUCT, ActionId.PRODUCT),
        description=selected_value(values, BlockId.DESCRIPTION, ActionId.DESCRIPTION),
        users_affected=selected_value(values, BlockId.USERS_AFFECTED, ActionId.USERS_AFFECTED),
        site_down=selected_value(values, BlockId.SITE_DOWN, ActionId.SITE_DOWN),
        scale_shown=BlockId.USERS_AFFECTED in block_ids,
    )


def pressed_where(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """The channel and thread of the pressed message, to answer the presser privately there;
    (None, None) for a press in a view (App Home, a modal): the answer goes to their DM."""
    container = body.get("container") or {}
    if container.get("type") == "view":
        return None, None
    message = body.get("message") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    return channel, message.get("thread_ts") or message.get("ts")


def action_time(body: dict[str, Any], *, otherwise: datetime) -> datetime:
    """When the person pressed: the action's `action_ts` (Slack's clock, not ours); `otherwise`
    (the desk's now) when Slack gave none or one that isn't a time."""
    actions = body.get("actions") or [{}]
    first = actions[0] if isinstance(actions, list) and isinstance(actions[0], dict) else {}
    raw = first.get("action_ts") or body.get("action_ts")
    try:
        return slack_ts_to_datetime(raw) if raw else otherwise
    except ValueError:
        return otherwise


def ticket_action_from_block_action(
    body: dict[str, Any], kind: ActionKind, *, home_team: str | None, now: datetime
) -> tuple[TicketAction, tuple[str, str] | None]:
    """A card or App Home button press as a TicketAction. When the button carries no ticket id
    (the Reassign picker), the pressed message `(channel, ts)` is returned to look it up."""
    action = (body.get("actions") or [{}])[0]
    user = body.get("user") or {}
    container = body.get("container") or {}
    message = body.get("message") or {}
    reply_channel, reply_thread_ts = pressed_where(body)
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    in_view = container.get("type") == "view"
    raw = action.get("value") or (action.get("selected_option") or {}).get("value") or ""
    raw = raw.split(":", 1)[-1]
    # Digits only, short enough for an INTEGER column ("²".isdigit() is True, so no isdigit).
    ticket_id = int(raw) if re.fullmatch(r"[0-9]{1,9}", raw) else 0
    pressed_on = None
    if not ticket_id and channel and message.get("ts"):
        pressed_on = (channel, message["ts"])
    user_team = user.get("team_id")
    parsed = TicketAction(
        kind=kind,
        ticket_id=ticket_id,
        actor=user.get("id", ""),
        at=action_time(body, otherwise=now),
        via=Via.HOME if in_view else Via.BUTTON,
        actor_is_external=bool(home_team and user_team and user_team != home_team),
        target=action.get("selected_user"),
        reply_channel=reply_channel,
        reply_thread_ts=reply_thread_ts,
    )
    return parsed, pressed_on
