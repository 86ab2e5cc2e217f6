"""Small pieces of wording shared by several templates: durations and business hours."""

from __future__ import annotations

from datetime import time, timedelta

DAY_NAMES = {
    "mon": "Mon",
    "tue": "Tue",
    "wed": "Wed",
    "thu": "Thu",
    "fri": "Fri",
    "sat": "Sat",
    "sun": "Sun",
}
WEEK = list(DAY_NAMES)


def format_duration(delta: timedelta) -> str:
    """`timedelta(hours=1, minutes=30)` -> "1 hour 30 minutes"; the largest two units only."""
    seconds = int(delta.total_seconds())
    if seconds <= 0:
        return "0 minutes"
    parts: list[str] = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount} {unit}{'s' if amount != 1 else ''}")
    return " ".join(parts[:2])


def format_days(days: list[str] | tuple[str, ...]) -> str:
    """["mon", "tue", "wed", "thu", "fri"] -> "Mon–Fri"; gaps are listed: "Mon, Wed, Fri"."""
    indexes = sorted(WEEK.index(day) for day in days)
    if len(indexes) > 2 and indexes == list(range(indexes[0], indexes[-1] + 1)):
        return f"{DAY_NAMES[WEEK[indexes[0]]]}–{DAY_NAMES[WEEK[indexes[-1]]]}"
    return ", ".join(DAY_NAMES[WEEK[i]] for i in indexes)


def format_hours(start: time, end: time) -> str:
    return f"{start:%H:%M}–{end:%H:%M}"
