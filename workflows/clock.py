"""The desk's one clock. Everything that asks "what time is it" asks this, so tests and the demo can
move time by hand and retries can be tested without sleeping."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment


class ShiftedClock:
    """The system clock, moved ahead by hand: the demo's "twelve minutes later" while every
    other part keeps running in real time."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._offset += delta
        return self.now()


def slack_ts_to_datetime(ts: str) -> datetime:
    """Slack's `ts` ("1763900000.000100") is seconds since the epoch; it is also a message id."""
    try:
        seconds = Decimal(ts)
    except (InvalidOperation, TypeError) as exc:
        raise ValueError(f"not a Slack timestamp: {ts!r}") from exc
    return datetime.fromtimestamp(float(seconds), tz=UTC)


def datetime_to_slack_ts(moment: datetime) -> str:
    return f"{moment.timestamp():.6f}"
