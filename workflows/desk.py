"""The desk: what every workflow needs besides a session."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, time
from functools import cached_property
from typing import TYPE_CHECKING, Any

from workflows.business_time import BusinessCalendar
from workflows.clock import Clock

if TYPE_CHECKING:
    from bot.config import DeskConfig
    from workflows.knowledge import KnowledgeIndex


class ClosedDates:
    """The desk's closed dates: the explicit `holidays`, plus a country's public holidays. The
    `holidays` calendars fill in a year the first time it is asked about, so that is locked."""

    def __init__(self, explicit: frozenset[date], public: Any | None = None) -> None:
        self.explicit = explicit
        self.public = public
        self._lock = threading.Lock()

    def __contains__(self, day: object) -> bool:
        if day in self.explicit:
            return True
        if self.public is None:
            return False
        with self._lock:
            return day in self.public


@dataclass(frozen=True)
class Desk:
    """The desk's config and its clock, passed explicitly to every workflow."""

    config: DeskConfig
    clock: Clock

    @cached_property
    def business_calendar(self) -> BusinessCalendar:
        """The business clock SLA targets count in: business hours in the desk's zone minus
        holidays; without business hours, every day but the holidays."""
        config = self.config
        public = config.public_holidays.calendar() if config.public_holidays else None
        closed = ClosedDates(frozenset(config.holidays), public)
        hours = config.business_hours
        if hours is None:
            return BusinessCalendar.hours(
                config.tz, days=range(7), start=time(0), end=None, closed=closed
            )
        return BusinessCalendar.hours(
            config.tz, days=hours.weekdays, start=hours.start, end=hours.end, closed=closed
        )

    @cached_property
    def knowledge(self) -> KnowledgeIndex:
        """This process's ranking of the knowledge base (rebuilt when the index changes)."""
        from workflows.knowledge import KnowledgeIndex

        return KnowledgeIndex()
