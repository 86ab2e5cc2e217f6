"""`subteam_members_changed`: the agents' user group changed; read its members again."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.agent_directory import refresh_agent_usergroup
from handlers.deps import Deps


def register(app: App, deps: Deps) -> None:
    def ack_change(ack: Ack) -> None:
        ack()

    def refresh_members(event: dict[str, Any], client: WebClient) -> None:
        if event.get("subteam_id") == deps.desk.config.agent_usergroup:
            refresh_agent_usergroup(client, deps.session_factory, deps.desk)

    app.event("subteam_members_changed")(ack=ack_change, lazy=[refresh_members])
