"""App Home: placeholder until the home view is built."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from bot.config import DeskConfig


def build_home(session: Session, config: DeskConfig, user: str) -> dict[str, Any]:
    return {"type": "home", "blocks": []}
