"""The desk: what every workflow needs besides a session."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from workflows.clock import Clock

if TYPE_CHECKING:
    from bot.config import DeskConfig


@dataclass(frozen=True)
class Desk:
    """The desk's config and its clock, passed explicitly to every workflow."""

    config: DeskConfig
    clock: Clock
