"""Business-time arithmetic (`workflows.business_time`): hand-computed timestamps for a Mon–Fri
office desk, daylight-saving weekends in New York and London, measuring, opening and closing
edges, around-the-clock calendars, impossible calendars, and hypothesis properties (round trip,
landing inside a window, monotonicity, additivity, splitting, never more than real time)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflows.business_time import AROUND_THE_CLOCK, BusinessCalendar, NoBusinessHours

NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
H = timedelta(hours=1)
MIN = timedelta(minutes=1)
US = timedelta(microseconds=1)
WEEKDAYS = range(5)
EVERY_DAY = range(7)

OFFICE = BusinessCalendar.hours(
    NY, days=WEEKDAYS, start=time(9), end=time(17), closed=frozenset({date(2026, 12, 25)})
)


def ny(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=NY)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


# --- a Mon–Fri 09:00–17:00 desk in New York ------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "amount", "expected"),
    [
        # Thursday afternoon before a Friday holiday: 2h Thursday, the rest Monday morning.
        (ny(2026, 12, 24, 15), 4 * H, ny(2026, 12, 28, 11)),
        # Before opening: the clock starts at 09:00.
        (ny(2026, 12, 1, 7), H, ny(2026, 12, 1, 10)),
        (ny(2026, 12, 1, 0), 90 * MIN, ny(2026, 12, 1, 10, 30)),
        # At opening.
        (ny(2026, 12, 1, 9), H, ny(2026, 12, 1, 10)),
        # Exactly at closing: nothing left today.
        (ny(2026, 12, 1, 17), H, ny(2026, 12, 2, 10)),
        # Late evening: next morning.
        (ny(2026, 12, 1, 22, 30), 30 * MIN, ny(2026, 12, 2, 9, 30)),
        # During the weekend: Monday.
        (ny(2026, 12, 5, 12), H, ny(2026, 12, 7, 10)),
        (ny(2026, 12, 6, 23, 59), 8 * H, ny(2026, 12, 7, 17)),
        # Friday afternoon over the weekend.
        (ny(2026, 12, 4, 16), 2 * H, ny(2026, 12, 7, 10)),
        # An amount that exactly fills the day ends at 17:00, not at 09:00 next morning.
        (ny(2026, 12, 1, 9), 8 * H, ny(2026, 12, 1, 17)),
        (ny(2026, 12, 1, 13), 4 * H, ny(2026, 12, 1, 17)),
        (ny(2026, 12, 1, 7), 8 * H, ny(2026, 12, 1, 17)),
        (ny(2026, 12, 4, 16), H, ny(2026, 12, 4, 17)),
        # Multi-day: 24 business hours are three office days.
        (ny(2026, 12, 1, 9), 24 * H, ny(2026, 12, 3, 17)),
        (ny(2026, 12, 7, 12), 24 * H, ny(2026, 12, 10, 12)),
        (ny(2026, 12, 4, 16), 24 * H, ny(2026, 12, 9, 16)),
        # Over Christmas with a week's worth: Thu 2h, (Fri closed), Mon–Thu 32h, Fri 6h.
        (ny(2026, 12, 24, 15), 40 * H, ny(2027, 1, 1, 15)),
        # Sub-second precision is kept.
        (
            ny(2026, 12, 1, 16, 59, 59),
            timedelta(seconds=1, microseconds=1),
            ny(2026, 12, 2, 9, 0, 0, 1),
        ),
    ],
)
def test_office_add(start: datetime, amount: timedelta, expected: datetime) -> None:
    result = OFFICE.add(start, amount)
    assert result == expected
    assert OFFICE.between(start, result) == amount


def test_office_add_results_in_utc() -> None:
    assert OFFICE.add(ny(2026, 12, 24, 15), 4 * H) == utc(2026, 12, 28, 16)
    # Summer time: 09:00 EDT is 13:00 UTC.
    assert OFFICE.add(ny(2026, 7, 10, 16), 2 * H) == utc(2026, 7, 13, 14)
    # Input in another zone is the same instant.
    assert OFFICE.add(utc(2026, 12, 1, 12), H) == utc(2026, 12, 1, 15)


def test_zero_amount_returns_start_unchanged() -> None:
    for start in (ny(2026, 12, 5, 12), ny(2026, 12, 1, 10, 15), ny(2026, 12, 1, 17)):
        assert OFFICE.add(start, timedelta(0)) == start


def test_negative_amount_raises() -> None:
    with pytest.raises(ValueError, match="negative"):
        OFFICE.add(ny(2026, 12, 1, 10), -US)
    with pytest.raises(ValueError, match="negative"):
        AROUND_THE_CLOCK.add(ny(2026, 12, 1, 10), -H)


def test_naive_datetimes_raise() -> None:
    naive = datetime(2026, 12, 1, 10)
    aware = ny(2026, 12, 1, 10)
    with pytest.raises(ValueError, match="aware"):
        OFFICE.add(naive, H)
    with pytest.raises(ValueError, match="aware"):
        OFFICE.between(naive, aware)
    with pytest.raises(ValueError, match="aware"):
        OFFICE.between(aware, naive)
    with pytest.raises(ValueError, match="aware"):
        OFFICE.is_open(naive)
    with pytest.raises(ValueError, match="aware"):
        next(OFFICE.windows(naive))
    with pytest.raises(ValueError, match="aware"):
        AROUND_THE_CLOCK.add(naive, H)
    with pytest.raises(ValueError, match="aware"):
        AROUND_THE_CLOCK.between(naive, aware)


def test_office_windows() -> None:
    assert OFFICE.window_on(date(2026, 12, 1)) == (utc(2026, 12, 1, 14), utc(2026, 12, 1, 22))
    assert OFFICE.window_on(date(2026, 7, 1)) == (utc(2026, 7, 1, 13), utc(2026, 7, 1, 21))
    assert OFFICE.window_on(date(2026, 12, 5)) is None  # Saturday
    assert OFFICE.window_on(date(2026, 12, 25)) is None  # holiday
    windows = OFFICE.windows(ny(2026, 12, 24, 12))
    assert [next(windows) for _ in range(3)] == [
        (utc(2026, 12, 23, 14), utc(2026, 12, 23, 22)),  # from the day before `since` on
        (utc(2026, 12, 24, 14), utc(2026, 12, 24, 22)),
        (utc(2026, 12, 28, 14), utc(2026, 12, 28, 22)),
    ]


# --- daylight saving ----------------------------------------------------------------------------


def test_new_york_dst_windows_all_day() -> None:
    desk = BusinessCalendar.hours(NY, days=EVERY_DAY, start=time(0), end=None)
    # Spring forward: 00:00 EST to 24:00 EDT is 23 hours.
    assert desk.window_on(date(2026, 3, 8)) == (utc(2026, 3, 8, 5), utc(2026, 3, 9, 4))
    # Fall back: 00:00 EDT to 24:00 EST is 25 hours.
    assert desk.window_on(date(2026, 11, 1)) == (utc(2026, 11, 1, 4), utc(2026, 11, 2, 5))
    assert desk.between(ny(2026, 3, 8, 0), ny(2026, 3, 9, 0)) == 23 * H
    assert desk.between(ny(2026, 11, 1, 0), ny(2026, 11, 2, 0)) == 25 * H
    # Windows meet at midnight, so adding is real-time addition even across the change: Saturday
    # 12:00 EST plus 24h is Sunday 13:00 EDT.
    assert desk.add(ny(2026, 3, 7, 12), 24 * H) == utc(2026, 3, 8, 17)
    assert desk.add(ny(2026, 3, 7, 12), 24 * H) == ny(2026, 3, 8, 13)
    assert desk.add(ny(2026, 10, 31, 12), 24 * H) == utc(2026, 11, 1, 16)
    assert desk.add(ny(2026, 10, 31, 12), 24 * H) == ny(2026, 11, 1, 11)
    # Landing exactly on the end of the long day.
    assert desk.add(ny(2026, 11, 1, 0), 25 * H) == utc(2026, 11, 2, 5)


def test_new_york_dst_windows_one_to_three() -> None:
    desk = BusinessCalendar.hours(NY, days=EVERY_DAY, start=time(1), end=time(3))
    # Spring forward at 02:00: 01:00 EST to 03:00 EDT is one real hour.
    assert desk.window_on(date(2026, 3, 8)) == (utc(2026, 3, 8, 6), utc(2026, 3, 8, 7))
    # Fall back at 02:00: 01:00 EDT (the first 01:00) to 03:00 EST is three real hours.
    assert desk.window_on(date(2026, 11, 1)) == (utc(2026, 11, 1, 5), utc(2026, 11, 1, 8))
    # Ordinary days either side are two hours.
    assert desk.window_on(date(2026, 3, 7)) == (utc(2026, 3, 7, 6), utc(2026, 3, 7, 8))
    assert desk.window_on(date(2026, 3, 9)) == (utc(2026, 3, 9, 5), utc(2026, 3, 9, 7))
    # Saturday 01:00 EST + 3h: 2h Saturday, the single hour Sunday, ending 03:00 EDT.
    assert desk.add(ny(2026, 3, 7, 1), 3 * H) == utc(2026, 3, 8, 7)
    assert desk.add(ny(2026, 3, 7, 1), 3 * H + 30 * MIN) == utc(2026, 3, 9, 5, 30)
    # Saturday 02:00 EDT + 3h: 1h Saturday, 2h of Sunday's three, i.e. 02:00 EST (07:00Z).
    assert desk.add(ny(2026, 10, 31, 2), 3 * H) == utc(2026, 11, 1, 7)
    assert desk.add(ny(2026, 10, 31, 2), 4 * H) == utc(2026, 11, 1, 8)
    assert desk.add(ny(2026, 10, 31, 2), 4 * H + US) == utc(2026, 11, 2, 6, 0, 0, 1)
    assert desk.between(ny(2026, 3, 8, 0), ny(2026, 3, 9, 0)) == H
    assert desk.between(ny(2026, 11, 1, 0), ny(2026, 11, 2, 0)) == 3 * H
    # The second 01:30 of the fall-back night (EST) is after the first, still open.
    assert desk.is_open(utc(2026, 11, 1, 6, 30))
    assert not desk.is_open(utc(2026, 11, 1, 8))


def test_window_edge_in_the_spring_gap_reads_the_old_offset() -> None:
    # 02:30 does not exist on 2026-03-08 in New York; read as EST it is 07:30Z (03:30 EDT).
    desk = BusinessCalendar.hours(NY, days=EVERY_DAY, start=time(2, 30), end=time(4))
    assert desk.window_on(date(2026, 3, 8)) == (utc(2026, 3, 8, 7, 30), utc(2026, 3, 8, 8))
    # 02:15-02:45 on that day: both edges in the gap, 07:15Z-07:45Z.
    gap = BusinessCalendar.hours(NY, days=EVERY_DAY, start=time(2, 15), end=time(2, 45))
    assert gap.window_on(date(2026, 3, 8)) == (utc(2026, 3, 8, 7, 15), utc(2026, 3, 8, 7, 45))
    # 02:30-03:00: the opening read as EST (07:30Z) is after 03:00 EDT (07:00Z): nothing open.
    none = BusinessCalendar.hours(NY, days=EVERY_DAY, start=time(2, 30), end=time(3))
    assert none.window_on(date(2026, 3, 8)) is None
    assert none.add(ny(2026, 3, 8, 0), 15 * MIN) == utc(2026, 3, 9, 6, 45)


def test_london_dst() -> None:
    all_day = BusinessCalendar.hours(LONDON, days=EVERY_DAY, start=time(0), end=None)
    assert all_day.window_on(date(2026, 3, 29)) == (utc(2026, 3, 29, 0), utc(2026, 3, 29, 23))
    assert all_day.window_on(date(2026, 10, 25)) == (utc(2026, 10, 24, 23), utc(2026, 10, 26, 0))
    assert all_day.add(utc(2026, 3, 28, 12), 24 * H) == utc(2026, 3, 29, 12)
    assert all_day.add(utc(2026, 10, 24, 12), 24 * H) == utc(2026, 10, 25, 12)

    small_hours = BusinessCalendar.hours(LONDON, days=EVERY_DAY, start=time(1), end=time(3))
    # 01:00 does not exist on 2026-03-29: read as GMT it is 01:00Z; 03:00 BST is 02:00Z.
    assert small_hours.window_on(date(2026, 3, 29)) == (utc(2026, 3, 29, 1), utc(2026, 3, 29, 2))
    # 01:00 happens twice on 2026-10-25: the first (BST) is 00:00Z; 03:00 GMT is 03:00Z.
    assert small_hours.window_on(date(2026, 10, 25)) == (
        utc(2026, 10, 25, 0),
        utc(2026, 10, 25, 3),
    )
    assert small_hours.window_on(date(2026, 3, 28)) == (utc(2026, 3, 28, 1), utc(2026, 3, 28, 3))
    assert small_hours.window_on(date(2026, 3, 30)) == (utc(2026, 3, 30, 0), utc(2026, 3, 30, 2))
    assert small_hours.add(utc(2026, 3, 28, 2), 2 * H) == utc(2026, 3, 29, 2)
    assert small_hours.add(utc(2026, 3, 28, 2), 2 * H + MIN) == utc(2026, 3, 30, 0, 1)
    # Saturday 02:00 BST (01:00Z) + 3h: 1h Saturday, 2h of Sunday's 3h, i.e. 02:00 GMT.
    assert small_hours.add(utc(2026, 10, 24, 1), 3 * H) == utc(2026, 10, 25, 2)
    # Saturday 03:00 BST (02:00Z) is closing time: all of Sunday's 3h.
    assert small_hours.add(utc(2026, 10, 24, 2), 3 * H) == utc(2026, 10, 25, 3)
    assert small_hours.between(utc(2026, 10, 24, 0), utc(2026, 10, 26, 0)) == 5 * H

    office = BusinessCalendar.hours(LONDON, days=EVERY_DAY, start=time(9), end=time(17))
    # Saturday 16:00 GMT + 2h: one hour Saturday, then Sunday 09:00 BST (08:00Z) + 1h.
    assert office.add(utc(2026, 3, 28, 16), 2 * H) == utc(2026, 3, 29, 9)
    # Saturday 16:00 BST (15:00Z) + 2h: one hour Saturday, then Sunday 09:00 GMT + 1h.
    assert office.add(utc(2026, 10, 24, 15), 2 * H) == utc(2026, 10, 25, 10)
    assert office.window_on(date(2026, 3, 29)) == (utc(2026, 3, 29, 8), utc(2026, 3, 29, 16))
    assert office.window_on(date(2026, 10, 25)) == (utc(2026, 10, 25, 9), utc(2026, 10, 25, 17))


# --- between and is_open ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (ny(2026, 12, 1, 10), ny(2026, 12, 1, 10), timedelta(0)),
        (ny(2026, 12, 1, 12), ny(2026, 12, 1, 10), timedelta(0)),
        (ny(2026, 12, 2, 12), ny(2026, 12, 1, 10), timedelta(0)),
        (ny(2026, 12, 1, 10), ny(2026, 12, 1, 12, 30), 150 * MIN),
        (ny(2026, 12, 1, 7), ny(2026, 12, 1, 20), 8 * H),
        (ny(2026, 12, 1, 17), ny(2026, 12, 2, 9), timedelta(0)),
        (ny(2026, 12, 5, 0), ny(2026, 12, 7, 0), timedelta(0)),  # weekend
        (ny(2026, 12, 5, 10), ny(2026, 12, 6, 18), timedelta(0)),
        (ny(2026, 12, 25, 0), ny(2026, 12, 26, 0), timedelta(0)),  # holiday
        (ny(2026, 12, 24, 15), ny(2026, 12, 28, 11), 4 * H),
        (ny(2026, 12, 7, 10), ny(2026, 12, 11, 15), 37 * H),  # 7 + 8 + 8 + 8 + 6
        (ny(2026, 12, 4, 16, 30), ny(2026, 12, 7, 9, 15), 45 * MIN),
        (ny(2026, 12, 1, 16, 59, 59, 999_999), ny(2026, 12, 2, 9, 0, 0, 1), 2 * US),
        (utc(2026, 12, 1, 0), utc(2026, 12, 2, 0), 8 * H),
    ],
)
def test_office_between(start: datetime, end: datetime, expected: timedelta) -> None:
    assert OFFICE.between(start, end) == expected


def test_office_is_open() -> None:
    assert OFFICE.is_open(ny(2026, 12, 1, 9))  # at opening
    assert OFFICE.is_open(ny(2026, 12, 1, 16, 59, 59, 999_999))
    assert not OFFICE.is_open(ny(2026, 12, 1, 17))  # at closing
    assert not OFFICE.is_open(ny(2026, 12, 1, 8, 59, 59, 999_999))
    assert not OFFICE.is_open(ny(2026, 12, 25, 12))  # holiday
    assert not OFFICE.is_open(ny(2026, 12, 5, 12))  # Saturday
    assert OFFICE.is_open(utc(2026, 12, 1, 14))  # 09:00 EST in another zone


# --- around the clock ---------------------------------------------------------------------------


def test_around_the_clock_is_plain_arithmetic() -> None:
    # Real-time addition: across New York's spring-forward night, so the sum is taken in UTC
    # (Python's `aware + timedelta` in one zone would add wall-clock time instead).
    start = ny(2026, 3, 7, 23, 30)
    real = start.astimezone(UTC)
    for amount in (timedelta(0), US, 90 * MIN, 24 * H, timedelta(days=400, microseconds=3)):
        assert AROUND_THE_CLOCK.add(start, amount) == real + amount
        assert AROUND_THE_CLOCK.between(start, real + amount) == amount
    assert AROUND_THE_CLOCK.add(start, 24 * H) == ny(2026, 3, 9, 0, 30)
    assert AROUND_THE_CLOCK.between(ny(2026, 3, 8, 1), ny(2026, 3, 8, 4)) == 2 * H  # real time
    assert AROUND_THE_CLOCK.between(start, start - H) == timedelta(0)
    assert AROUND_THE_CLOCK.is_open(ny(2026, 12, 25, 3))


# --- impossible calendars -----------------------------------------------------------------------


class _EveryDate:
    def __contains__(self, item: object) -> bool:
        return True


def test_calendar_with_no_open_day_raises_no_business_hours() -> None:
    shut = BusinessCalendar.hours(
        NY, days=EVERY_DAY, start=time(9), end=time(17), closed=_EveryDate()
    )
    with pytest.raises(NoBusinessHours):
        shut.add(ny(2026, 12, 1, 10), H)
    with pytest.raises(ValueError):  # NoBusinessHours is a ValueError
        shut.add(ny(2026, 12, 1, 10), US)
    assert not shut.is_open(ny(2026, 12, 1, 10))
    assert shut.window_on(date(2026, 12, 1)) is None


@pytest.mark.parametrize(
    ("days", "start", "end"),
    [
        (WEEKDAYS, time(17), time(9)),
        (WEEKDAYS, time(9), time(9)),
        (WEEKDAYS, time(0), time(0)),
        ((), time(9), time(17)),
        ((), time(0), None),
    ],
)
def test_invalid_calendars_raise(
    days: range | tuple[int, ...], start: time, end: time | None
) -> None:
    with pytest.raises(ValueError):
        BusinessCalendar.hours(NY, days=days, start=start, end=end)


# --- properties ---------------------------------------------------------------------------------

ZONES = [
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",  # 30-minute daylight saving
    "Asia/Kolkata",
    "UTC",
    "America/Sao_Paulo",
]
FIRST = utc(2026, 1, 1)
LAST = utc(2028, 1, 1)
SPAN_US = (LAST - FIRST) // US
AMOUNT_MAX = 200 * H


@cache
def transitions(zone: str) -> tuple[datetime, ...]:
    """UTC instants in 2026-2027 at which `zone` changes its offset, to the second."""
    tz = ZoneInfo(zone)

    def offset(moment: datetime) -> timedelta | None:
        return moment.astimezone(tz).utcoffset()

    def at(second: int) -> datetime:
        return FIRST + timedelta(seconds=second)

    found = []
    day = 24 * 3600
    for first in range(0, (LAST - FIRST) // timedelta(seconds=1), day):
        low, high = first, first + day
        if offset(at(low)) == offset(at(high)):
            continue
        while high - low > 1:  # the offset at `low` is the old one, at `high` the new one
            middle = (low + high) // 2
            if offset(at(middle)) == offset(at(low)):
                low = middle
            else:
                high = middle
        found.append(at(high))
    return tuple(found)


def test_transition_table() -> None:
    assert transitions("America/New_York") == (
        utc(2026, 3, 8, 7),
        utc(2026, 11, 1, 6),
        utc(2027, 3, 14, 7),
        utc(2027, 11, 7, 6),
    )
    assert transitions("Europe/London")[:2] == (utc(2026, 3, 29, 1), utc(2026, 10, 25, 1))
    assert transitions("Australia/Lord_Howe")[:2] == (utc(2026, 4, 4, 15), utc(2026, 10, 3, 15, 30))
    assert transitions("Asia/Kolkata") == transitions("UTC") == ()
    assert transitions("America/Sao_Paulo") == ()


def _minutes_to_time(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    zone = draw(st.sampled_from(ZONES))
    days = draw(st.frozensets(st.integers(0, 6), min_size=1))
    if draw(st.booleans()):
        start_minutes = draw(st.integers(0, 95)) * 15
    else:
        start_minutes = draw(st.integers(0, 1438))
    end_kind = draw(st.sampled_from(["none", "quarter", "minute"]))
    end: time | None
    if end_kind == "quarter" and start_minutes < 1425:
        end = _minutes_to_time(draw(st.integers(start_minutes // 15 + 1, 95)) * 15)
    elif end_kind == "minute":
        end = _minutes_to_time(draw(st.integers(start_minutes + 1, 1439)))
    else:
        end = None
    closed = set(draw(st.frozensets(st.dates(date(2026, 1, 1), date(2027, 12, 31)), max_size=30)))
    if draw(st.booleans()):  # a block of consecutive closed days (a shutdown)
        first = draw(st.dates(date(2026, 1, 1), date(2027, 12, 31)))
        closed.update(first + timedelta(days=n) for n in range(draw(st.integers(1, 30))))
    return BusinessCalendar.hours(
        ZoneInfo(zone),
        days=days,
        start=_minutes_to_time(start_minutes),
        end=end,
        closed=frozenset(closed),
    )


@dataclass(frozen=True)
class Instant:
    """Where to put an instant, realised against a calendar by `at`: anywhere in 2026-2027, near
    one of the zone's clock changes, or on (or a hair either side of) a window edge; expressed in
    UTC, the calendar's zone or New York."""

    kind: str
    number: int
    seconds: int = 0
    day: date = date(2026, 1, 1)
    nudge: timedelta = timedelta(0)
    shown_in: int = 0

    def at(self, calendar: BusinessCalendar) -> datetime:
        if self.kind == "anywhere":
            moment = FIRST + self.number * US
        elif self.kind == "change":
            changes = transitions(calendar.tz.key) or transitions("America/New_York")
            moment = changes[self.number % len(changes)] + timedelta(seconds=self.seconds)
        else:
            window = calendar.window_on(self.day)
            if window is None:
                moment = datetime.combine(self.day, time(0), tzinfo=calendar.tz) + self.nudge
            else:
                moment = window[self.number % 2] + self.nudge
        return moment.astimezone((UTC, calendar.tz, NY)[self.shown_in])


_shown_in = st.integers(0, 2)
instants = st.one_of(
    st.builds(Instant, st.just("anywhere"), st.integers(0, SPAN_US - 1), shown_in=_shown_in),
    st.builds(
        Instant,
        st.just("change"),
        st.integers(0, 7),
        seconds=st.integers(-30 * 3600, 30 * 3600),
        shown_in=_shown_in,
    ),
    st.builds(
        Instant,
        st.just("edge"),
        st.integers(0, 1),
        day=st.dates(date(2026, 1, 1), date(2027, 12, 31)),
        nudge=st.sampled_from([timedelta(0), timedelta(0), US, -US, MIN, -MIN]),
        shown_in=_shown_in,
    ),
)
# Offsets of later instants from an earlier one; kept to two months as `between` walks each day.
offsets = st.one_of(
    st.integers(0, 60 * 24 * 3600 * 10**6).map(lambda n: n * US),
    st.integers(0, 60 * 24 * 4).map(lambda n: n * 15 * MIN),
)
amounts = st.one_of(
    st.just(timedelta(0)),
    st.integers(0, AMOUNT_MAX // US).map(lambda n: n * US),
    st.integers(0, AMOUNT_MAX // timedelta(seconds=1)).map(lambda n: timedelta(seconds=n)),
    st.integers(0, AMOUNT_MAX // (15 * MIN)).map(lambda n: n * 15 * MIN),
    st.integers(0, 12 * 60).map(lambda n: n * MIN),
)


def _plus(moment: datetime, delta: timedelta) -> datetime:
    """Real-time addition. `moment + delta` on a datetime in a zone with clock changes adds
    wall-clock time (and drops `fold`), which is not what an elapsed duration means."""
    return moment.astimezone(UTC) + delta


PROPERTY = settings(max_examples=120, deadline=None)


@PROPERTY
@given(calendar=calendars(), where=instants, amount=amounts)
def test_round_trip_and_earliest(
    calendar: BusinessCalendar, where: Instant, amount: timedelta
) -> None:
    start = where.at(calendar)
    result = calendar.add(start, amount)
    assert result >= start
    assert result - start.astimezone(UTC) >= amount
    assert calendar.between(start, result) == amount
    if amount > timedelta(0):
        # The earliest such moment: a microsecond sooner there is not yet enough.
        assert calendar.between(start, result - US) == amount - US


def _windows_around(
    calendar: BusinessCalendar, moment: datetime
) -> list[tuple[datetime, datetime]]:
    local = moment.astimezone(calendar.tz).date()
    found = [calendar.window_on(local - timedelta(days=1)), calendar.window_on(local)]
    return [window for window in found if window is not None]


@PROPERTY
@given(calendar=calendars(), where=instants, amount=amounts.filter(lambda d: d > timedelta(0)))
def test_positive_add_lands_inside_a_window(
    calendar: BusinessCalendar, where: Instant, amount: timedelta
) -> None:
    result = calendar.add(where.at(calendar), amount)
    assert any(opens < result <= closes for opens, closes in _windows_around(calendar, result))
    # Open just before the result (the window's last microsecond at the latest).
    assert calendar.is_open(result - US)


@PROPERTY
@given(calendar=calendars(), where=instants, later=offsets, first=amounts, second=amounts)
def test_add_is_monotonic(
    calendar: BusinessCalendar,
    where: Instant,
    later: timedelta,
    first: timedelta,
    second: timedelta,
) -> None:
    start = where.at(calendar)
    small, large = sorted((first, second))
    assert calendar.add(start, small) <= calendar.add(start, large)
    # ...and in the start.
    assert calendar.add(start, small) <= calendar.add(_plus(start, later), small)


@PROPERTY
@given(calendar=calendars(), where=instants, first=amounts, second=amounts)
def test_add_is_additive(
    calendar: BusinessCalendar, where: Instant, first: timedelta, second: timedelta
) -> None:
    start = where.at(calendar)
    assert calendar.add(calendar.add(start, first), second) == calendar.add(start, first + second)


@PROPERTY
@given(
    calendar=calendars(),
    where=instants,
    apart=st.lists(offsets, min_size=2, max_size=2),
    on_edge=st.none() | st.integers(0, 3),
)
def test_between_splits_additively(
    calendar: BusinessCalendar, where: Instant, apart: list[timedelta], on_edge: int | None
) -> None:
    a = where.at(calendar)
    b, c = (_plus(a, offset) for offset in sorted(apart))
    if on_edge is not None:  # split exactly on a window edge
        edges = [edge for window in _windows_around(calendar, b) for edge in window]
        if edges:
            a, b, c = sorted((a.astimezone(UTC), edges[on_edge % len(edges)], c))
    assert calendar.between(a, c) == calendar.between(a, b) + calendar.between(b, c)


@PROPERTY
@given(calendar=calendars(), where=instants, apart=offsets)
def test_between_never_exceeds_real_time(
    calendar: BusinessCalendar, where: Instant, apart: timedelta
) -> None:
    a = where.at(calendar)
    c = _plus(a, apart)
    assert timedelta(0) <= calendar.between(a, c) <= c - a
    assert calendar.between(c, a) == timedelta(0)
    assert calendar.between(a, a) == timedelta(0)


@PROPERTY
@given(calendar=calendars(), where=instants)
def test_is_open_agrees_with_between(calendar: BusinessCalendar, where: Instant) -> None:
    moment = where.at(calendar)
    # Open at `moment` exactly when the microsecond from it is business time.
    assert calendar.is_open(moment) == (calendar.between(moment, _plus(moment, US)) == US)


def _near_a_change(calendar: BusinessCalendar, day: date) -> bool:
    changed = {change.astimezone(calendar.tz).date() for change in transitions(calendar.tz.key)}
    return any(abs((day - other).days) <= 1 for other in changed)


@PROPERTY
@given(calendar=calendars(), where=instants)
def test_is_open_matches_the_wall_clock(calendar: BusinessCalendar, where: Instant) -> None:
    """An independent reading away from clock changes: open when the local weekday is open, the
    local date is not closed and the wall-clock time is in [start, end)."""
    moment = where.at(calendar)
    local = moment.astimezone(calendar.tz)
    if _near_a_change(calendar, local.date()):
        return
    wall = local.time().replace(tzinfo=None)
    expected = (
        local.weekday() in calendar.days
        and local.date() not in calendar.closed
        and calendar.start <= wall
        and (calendar.end is None or wall < calendar.end)
    )
    assert calendar.is_open(moment) == expected


@PROPERTY
@given(calendar=calendars(), where=instants, apart=offsets)
def test_add_of_between_reaches_no_further(
    calendar: BusinessCalendar, where: Instant, apart: timedelta
) -> None:
    a = where.at(calendar)
    b = _plus(a, apart)
    measured = calendar.between(a, b)
    reached = calendar.add(a, measured)
    assert reached <= b
    assert calendar.between(reached, b) == timedelta(0)
    if calendar.is_open(b - US) and measured > timedelta(0):
        assert reached == b


@PROPERTY
@given(calendar=calendars(), day=st.dates(date(2026, 1, 1), date(2027, 12, 31)))
def test_windows_are_ordered_and_disjoint(calendar: BusinessCalendar, day: date) -> None:
    since = datetime.combine(day, time(12), tzinfo=calendar.tz)
    windows = calendar.windows(since)
    previous = None
    for _ in range(10):
        opens, closes = next(windows)
        assert opens < closes
        if previous is not None:
            assert previous <= opens
        previous = closes
