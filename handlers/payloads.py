"""Parsing of Slack payloads into the workflows' small frozen inputs; pure, tested as data."""

from __future__ import annotations

from typing import Any

from templates.ids import ActionId, BlockId
from workflows.intake import IntakeAnswers, SlackMessage

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


def message_from_event(event: dict[str, Any], *, home_team: str | None) -> SlackMessage | None:
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


def _selected(values: dict[str, Any], block: str, action: str) -> str | None:
    state = values.get(block, {}).get(action, {})
    option = state.get("selected_option")
    if option:
        return option.get("value")
    return state.get("value")


def intake_answers(view: dict[str, Any]) -> IntakeAnswers:
    """Answers from `view.state.values` of the intake modal (submission or a block action)."""
    values = (view.get("state") or {}).get("values") or {}
    block_ids = {block.get("block_id") for block in view.get("blocks", [])}
    return IntakeAnswers(
        issue_type=_selected(values, BlockId.ISSUE_TYPE, ActionId.ISSUE_TYPE),
        priority=_selected(values, BlockId.PRIORITY, ActionId.PRIORITY),
        product=_selected(values, BlockId.PRODUCT, ActionId.PRODUCT),
        description=_selected(values, BlockId.DESCRIPTION, ActionId.DESCRIPTION),
        users_affected=_selected(values, BlockId.USERS_AFFECTED, ActionId.USERS_AFFECTED),
        site_down=_selected(values, BlockId.SITE_DOWN, ActionId.SITE_DOWN),
        scale_shown=BlockId.USERS_AFFECTED in block_ids,
    )
