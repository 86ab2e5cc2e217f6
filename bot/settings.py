"""Process settings from the environment (and `.env`, loaded by the CLI): the operator contract."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_API_URL = "https://slack.com/api/"


@dataclass(frozen=True)
class Settings:
    bot_token: str | None
    signing_secret: str | None
    app_token: str | None
    api_url: str
    database_url: str
    config_path: str
    port: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        api_url = env.get("SLACK_API_URL") or DEFAULT_API_URL
        if not api_url.endswith("/"):
            api_url += "/"
        port_text = env.get("PORT") or "3000"
        try:
            port = int(port_text)
        except ValueError:
            raise SettingsError(f"PORT: {port_text!r} is not a port number") from None
        return cls(
            bot_token=env.get("SLACK_BOT_TOKEN") or None,
            signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
            app_token=env.get("SLACK_APP_TOKEN") or None,
            api_url=api_url,
            database_url=env.get("DATABASE_URL") or "sqlite:///supportbot.db",
            config_path=env.get("SUPPORTBOT_CONFIG") or "supportbot.yml",
            port=port,
        )

    def __repr__(self) -> str:  # never print secrets, even by accident in a traceback
        return (
            f"Settings(api_url={self.api_url!r}, database_url=<set>, "
            f"config_path={self.config_path!r}, port={self.port})"
        )


class SettingsError(Exception):
    """A setting an operator gave is unusable; the message names it."""
