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
    """The wall clock: `serve` and the one-shot commands. Nothing else reads the time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to: the tests' and the demo's, shared by the desk, the
    Slack stand-in and the request driver so the three always agree what time it is."""

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


def slack_ts_to_datetime(ts: str) -> datetime:
    """Slack's `ts` ("1763900000.000100") is seconds since the epoch; it is also a message id."""
    try:
        seconds = Decimal(ts)
    except (InvalidOperation, TypeError) as exc:
        raise ValueError(f"not a Slack timestamp: {ts!r}") from exc
    return datetime.fromtimestamp(float(seconds), tz=UTC)


def datetime_to_slack_ts(moment: datetime) -> str:
    return f"{moment.timestamp():.6f}"
