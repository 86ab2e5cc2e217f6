"""Keeps the `agent_usergroup` members in the database, so every replica and request can tell an
agent without asking Slack. Refreshed at start, on a schedule, and when Slack says it changed."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from storage.db import SessionFactory
from workflows.agents import refresh_usergroup
from workflows.desk import Desk

logger = logging.getLogger(__name__)


def refresh_agent_usergroup(client: WebClient, session_factory: SessionFactory, desk: Desk) -> bool:
    """Read the user group's members from Slack and store them; False (and the old list kept)
    when Slack can't be asked right now."""
    group = desk.config.agent_usergroup
    if not group:
        return False
    try:
        response = client.usergroups_users_list(usergroup=group)
    except SlackApiError as exc:
        logger.warning("could not list agent_usergroup %s: %s", group, exc.response.get("error"))
        return False
    except OSError as exc:
        logger.warning("could not list agent_usergroup %s: %s", group, exc)
        return False
    members = [user for user in response.get("users") or [] if isinstance(user, str)]
    with session_factory.begin() as session:
        refresh_usergroup(session, desk, group, members)
    return True
