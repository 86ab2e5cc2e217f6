"""Business-time arithmetic: when is "4 business hours after Friday 16:00", and how much business
time lies between two moments. Pure (no config, no database): the SLA engine builds one
`BusinessCalendar` per clock and asks it.

A calendar is a list of daily windows in a time zone, `[start, end)` in local wall-clock time on
open weekdays, minus closed dates (holidays). Windows are turned into UTC instants day by day, so
a daylight-saving change shortens or lengthens that day's window by exactly the hour the clocks
moved: 09:00-17:00 is always "office open to office closed", never 8 hours of UTC taken blindly.
A window edge that does not exist that day (02:30 when clocks jump from 02:00 to 03:00) is read
with the offset in force before the change, like any zoneinfo wall time.

`add(start, amount)` is the earliest moment with exactly `amount` of business time since `start`;
for a positive amount it always lies inside a window (after its opening, at the latest its
closing). `between(a, b)` measures; `between(a, add(a, d)) == d` for every `a` and `d >= 0`.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["AROUND_THE_CLOCK", "BusinessCalendar", "NoBusinessHours"]

# How far to look for an open window before deciding there is none (a calendar whose every day
# is closed): twenty years of days.
_MAX_DAYS = 366 * 20
_ZERO = timedelta(0)
_MIDNIGHT = time(0)


class NoBusinessHours(ValueError):
    """The calendar has no open time within the search horizon (every day closed)."""


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("business time needs aware datetimes")
    return moment


@dataclass(frozen=True)
class BusinessCalendar:
    """Open hours in a time zone. `end=None` means midnight at the end of the day (24:00).
    `around_the_clock` calendars count every instant: no days, hours, zone or holidays apply."""

    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    days: frozenset[int] = frozenset(range(7))  # date.weekday(): Monday is 0
    start: time = _MIDNIGHT
    end: time | None = None
    closed: Container[date] = frozenset()
    around_the_clock: bool = False

    def __post_init__(self) -> None:
        if not self.around_the_clock:
            if not self.days or not self.days <= frozenset(range(7)):
                raise ValueError("a business calendar needs open days among 0-6 (Monday is 0)")
            if self.end is not None and self.end <= self.start:
                raise ValueError("business hours must end after they start")

    @classmethod
    def hours(
        cls,
        tz: ZoneInfo,
        *,
        days: Iterable[int],
        start: time,
        end: time | None,
        closed: Container[date] = frozenset(),
    ) -> BusinessCalendar:
        return cls(tz=tz, days=frozenset(days), start=start, end=end, closed=closed)

    # --- windows --------------------------------------------------------------------------------

    def window_on(self, day: date) -> tuple[datetime, datetime] | None:
        """The UTC window of one local date, or None when the desk is closed that day."""
        if day.weekday() not in self.days or day in self.closed:
            return None
        opens = datetime.combine(day, self.start, tzinfo=self.tz).astimezone(UTC)
        if self.end is None:
            closes = datetime.combine(day + timedelta(days=1), _MIDNIGHT, tzinfo=self.tz)
        else:
            closes = datetime.combine(day, self.end, tzinfo=self.tz)
        closes = closes.astimezone(UTC)
        if closes <= opens:  # both edges fell in a clock change: nothing left of the day
            return None
        return opens, closes

    def windows(self, since: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open windows in time order, from the one of `since`'s local date on; raises
        NoBusinessHours after twenty years without one."""
        day = _aware(since).astimezone(self.tz).date() - timedelta(days=1)
        empty = 0
        while empty < _MAX_DAYS:
            window = self.window_on(day)
            day += timedelta(days=1)
            if window is None:
                empty += 1
                continue
            empty = 0
            yield window
        raise NoBusinessHours("no open business hours within twenty years")

    # --- arithmetic -----------------------------------------------------------------------------

    def add(self, start: datetime, amount: timedelta) -> datetime:
        """The moment `amount` of business time after `start`."""
        start = _aware(start).astimezone(UTC)
        if amount < _ZERO:
            raise ValueError("cannot add a negative amount of business time")
        if self.around_the_clock or amount == _ZERO:
            return start + amount
        remaining = amount
        for opens, closes in self.windows(start):
            if closes <= start:
                continue
            begin = max(opens, start)
            span = closes - begin
            if remaining <= span:
                return begin + remaining
            remaining -= span
        raise AssertionError("unreachable: windows() never ends without raising")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time from `start` to `end` (zero when `end` is not after `start`)."""
        start = _aware(start).astimezone(UTC)
        end = _aware(end).astimezone(UTC)
        if end <= start:
            return _ZERO
        if self.around_the_clock:
            return end - start
        total = _ZERO
        for opens, closes in self.windows(start):
            if opens >= end:
                break
            overlap = min(closes, end) - max(opens, start)
            if overlap > _ZERO:
                total += overlap
        return total

    def is_open(self, moment: datetime) -> bool:
        """Whether `moment` lies in a window, `[opens, closes)`."""
        moment = _aware(moment).astimezone(UTC)
        if self.around_the_clock:
            return True
        local = moment.astimezone(self.tz).date()
        for day in (local - timedelta(days=1), local):
            window = self.window_on(day)
            if window is not None and window[0] <= moment < window[1]:
                return True
        return False


AROUND_THE_CLOCK = BusinessCalendar(around_the_clock=True)
