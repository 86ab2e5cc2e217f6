"""The desk's YAML config (`supportbot.yml`): a typed, frozen model, its loader and its validation.

Whoever edits the config is a Slack admin, not a Python developer, so every problem is reported in
plain English against the dotted key it concerns ("intake[1].channel"), all problems at once, and
nothing here leaks pydantic wording. The rest of the code only ever sees a valid `DeskConfig`.
"""

from __future__ import annotations

import difflib
import os
import re
import string
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from workflows.pleasantries import DEFAULT_PLEASANTRIES
from workflows.vocabulary import CsatRating, Priority, normalize_tag

__all__ = [
    "DEFAULT_SLA",
    "WEEKDAYS",
    "BusinessHours",
    "ConfigFileError",
    "ConfigInvalid",
    "ConfigProblem",
    "CsatPolicy",
    "CustomerChannel",
    "DeskConfig",
    "Digests",
    "EngineeringTarget",
    "FeatureRequests",
    "IntakeChannel",
    "KnowledgeBase",
    "PublicHolidays",
    "Queue",
    "Reactions",
    "Rule",
    "SlaOverride",
    "SlaOverrides",
    "SlaPolicy",
    "SlaTarget",
    "Taxonomy",
    "format_problems",
    "load_config",
    "parse_config",
    "parse_duration",
]

DEFAULT_PATH = "supportbot.yml"
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# --------------------------------------------------------------------------------------------------
# Errors


class ConfigFileError(Exception):
    """The file itself can't be used (missing, unreadable, not YAML, not a mapping).

    `str(e)` is one line naming the path and the cause, fit for a log line or a CLI error.
    """

    def __init__(self, path: str, cause: str = "cannot be used") -> None:
        self.path = path
        self.cause = " ".join(cause.split())
        super().__init__(f"{path}: {self.cause}")


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with the config; `key` is the dotted path ("" for the whole file)."""

    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}" if self.key else self.message


def format_problems(problems: Iterable[ConfigProblem]) -> str:
    """One "key: message" line per problem, as printed by `supportbot check-config`."""
    return "\n".join(str(problem) for problem in problems)


class ConfigInvalid(Exception):
    """The file was read but its content is wrong; `problems` holds every problem found."""

    def __init__(self, problems: Sequence[ConfigProblem], *, source: str = DEFAULT_PATH) -> None:
        self.problems: list[ConfigProblem] = list(problems)
        self.source = source
        super().__init__(format_problems(self.problems))


# --------------------------------------------------------------------------------------------------
# Small parsers and the plain-English errors they raise

_ERROR_TYPE = "supportbot_config"


def _problem(message: str, *, at: tuple[str | int, ...] = ()) -> PydanticCustomError:
    """A validation error whose message reaches the admin verbatim (optionally at a sub-key)."""
    return PydanticCustomError(_ERROR_TYPE, "{message}", {"message": message, "at": at})


def _problems(found: list[tuple[tuple[str | int, ...], str]]) -> PydanticCustomError:
    """Several problems raised at once, each at its own sub-key (used by whole-list checks)."""
    summary = "; ".join(message for _, message in found)
    return PydanticCustomError(_ERROR_TYPE, "{message}", {"message": summary, "many": found})


def _show(value: object) -> str:
    """How a bad value is quoted back to the admin."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_DURATION_RE = re.compile(
    r"(?:(?P<d>\d+)\s*d)?\s*(?:(?P<h>\d+)\s*h)?\s*(?:(?P<m>\d+)\s*m)?\s*(?:(?P<s>\d+)\s*s)?",
    re.IGNORECASE,
)


def parse_duration(text: str) -> timedelta:
    """Read "15m", "4h", "2d", "90s", "1h30m": the config's one spelling of a duration."""
    if not isinstance(text, str):
        raise ValueError(f"{_show(text)} is not a duration (use 15m, 4h, 2d)")
    cleaned = text.strip()
    match = _DURATION_RE.fullmatch(cleaned)
    if not cleaned or match is None or not any(match.groupdict().values()):
        raise ValueError(f"{text!r} is not a duration (use 15m, 4h, 2d)")
    parts = {unit: int(amount) for unit, amount in match.groupdict().items() if amount}
    return timedelta(
        days=parts.get("d", 0),
        hours=parts.get("h", 0),
        minutes=parts.get("m", 0),
        seconds=parts.get("s", 0),
    )


_CHANNEL_RE = re.compile(r"^[CG][A-Z0-9]{2,}$")
_USER_RE = re.compile(r"^[UW][A-Z0-9]{2,}$")
_USERGROUP_RE = re.compile(r"^S[A-Z0-9]{2,}$")
_EMOJI_RE = re.compile(r"^[a-z0-9_+'-]+$")
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")
_PRIORITY_HINT = "use low, medium, high or urgent"


def _text(value: object, what: str = "text") -> str:
    if not isinstance(value, str):
        raise _problem(f"expected {what}, not {_show(value)}")
    return value.strip()


def _channel_id(value: object) -> str:
    text = _text(value, "a Slack channel ID (like C0123ABCD)")
    if not _CHANNEL_RE.match(text):
        raise _problem(
            f"{text!r} is not a Slack channel ID (like C0123ABCD); "
            "copy it from the channel's details"
        )
    return text


def _user_id(value: object) -> str:
    text = _text(value, "a Slack user ID (like U0123ABCD)")
    if not _USER_RE.match(text):
        raise _problem(
            f"{text!r} is not a Slack user ID (like U0123ABCD); "
            "copy it from the person's profile (Copy member ID)"
        )
    return text


def _usergroup_id(value: object) -> str | None:
    if value is None:
        return None
    text = _text(value, "a Slack user group ID (like S0123ABCD)")
    if not _USERGROUP_RE.match(text):
        raise _problem(
            f"{text!r} is not a Slack user group ID (like S0123ABCD); use the group's ID, "
            "not its @handle"
        )
    return text


def _name(value: object) -> str:
    """Queue, product, customer and tier names: any non-empty text (numbers are taken as text)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    text = _text(value)
    if not text:
        raise _problem("must not be empty")
    return text


def _priority(value: object) -> Priority:
    if isinstance(value, Priority):
        return value
    if isinstance(value, str):
        try:
            return Priority(value.strip().lower())
        except ValueError:
            pass
    raise _problem(f"{_show(value)} is not a priority ({_PRIORITY_HINT})")


def _duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        duration = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        raise _problem(f"{_show(value)} is not a duration; add a unit (use 15m, 4h, 2d)")
    elif isinstance(value, str):
        try:
            duration = parse_duration(value)
        except ValueError as exc:
            raise _problem(str(exc)) from None
    else:
        raise _problem(f"expected a duration (like 15m, 4h, 2d), not {_show(value)}")
    if duration <= timedelta(0):
        raise _problem("must be longer than zero")
    return duration


def _duration_or_off(value: object) -> timedelta:
    """A duration, or 0 / false for "off" (grouping_window)."""
    if value is False or (isinstance(value, int) and not isinstance(value, bool) and value == 0):
        return timedelta(0)
    if isinstance(value, str) and value.strip().lower() in ("0", "off"):
        return timedelta(0)
    return _duration(value)


def _target_duration(value: object) -> timedelta:
    """An SLA target: a duration, or off/false for "no target" (kept as zero)."""
    if value is False or (isinstance(value, str) and value.strip().lower() == "off"):
        return timedelta(0)
    return _duration(value)


def _clock_time(value: object) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        raise _problem(f'{value} is not a time; write it in quotes as HH:MM, like "09:00"')
    text = _text(value, 'a time as HH:MM (like "09:00")')
    match = _TIME_RE.match(text)
    if match and int(match[1]) < 24 and int(match[2]) < 60:
        return time(int(match[1]), int(match[2]))
    raise _problem(f"{text!r} is not a time (use 24-hour HH:MM, like 09:00 or 17:30)")


_FULL_DAY_NAMES = dict(
    zip(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
        WEEKDAYS,
        strict=True,
    )
)


def _day(value: object) -> str:
    """Accept "mon" or "Monday" (any case); keep the three-letter form the templates use."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in WEEKDAYS:
            return text
        if text in _FULL_DAY_NAMES:
            return _FULL_DAY_NAMES[text]
    raise _problem(f"{_show(value)} is not a day (use {', '.join(WEEKDAYS)})")


def _holiday(value: object) -> date:
    if isinstance(value, datetime):
        raise _problem(
            f"{value.isoformat()} has a time of day; give just the date, like 2026-12-25"
        )
    if isinstance(value, date):
        return value
    text = _text(value, "a date (like 2026-12-25)")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _problem(f"{text!r} is not a date (use YYYY-MM-DD, like 2026-12-25)") from None


def _reaction(value: object) -> str:
    text = _text(value, "an emoji name (like white_check_mark)")
    name = text.strip(":")
    if not _EMOJI_RE.match(name):
        raise _problem(f"{text!r} is not an emoji name (use a name like white_check_mark)")
    return name


def _timezone(value: object) -> str:
    text = _text(value, "a time zone name (like America/New_York)")
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise _problem(
            f"{text!r} is not a known time zone (use a name like America/New_York or UTC)"
        ) from None
    return text


def _as_list(value: object) -> object:
    """YAML gives lists; reject a lone string early (pydantic would say something obscure)."""
    if isinstance(value, str | Mapping) or not isinstance(value, list | tuple):
        raise _problem(f"expected a list, not {_show(value)}")
    return value


def _duplicates(
    values: Sequence[str], field: str, sub: tuple[str, ...], what: str
) -> list[tuple[tuple[str | int, ...], str]]:
    """A problem for every repeat of an earlier value, keyed at the repeat ("[2].channel")."""
    first: dict[str, int] = {}
    found: list[tuple[tuple[str | int, ...], str]] = []
    for index, value in enumerate(values):
        if value in first:
            earlier = _format_key((field, first[value], *sub))
            found.append(((index, *sub), f"{what} {value!r} is already listed at {earlier}"))
        else:
            first[value] = index
    return found


ChannelId = Annotated[str, BeforeValidator(_channel_id)]
UserId = Annotated[str, BeforeValidator(_user_id)]
Name = Annotated[str, BeforeValidator(_name)]
Day = Annotated[str, BeforeValidator(_day)]
Holiday = Annotated[date, BeforeValidator(_holiday)]
ClockTime = Annotated[time, BeforeValidator(_clock_time)]
Duration = Annotated[timedelta, BeforeValidator(_duration)]
DurationOrOff = Annotated[timedelta, BeforeValidator(_duration_or_off)]
TargetDuration = Annotated[timedelta, BeforeValidator(_target_duration)]
PriorityName = Annotated[Priority, BeforeValidator(_priority)]
ReactionName = Annotated[str, BeforeValidator(_reaction)]
AsList = BeforeValidator(_as_list)


# --------------------------------------------------------------------------------------------------
# The model


class _Section(BaseModel):
    """Common rules: frozen, unknown keys are problems, an empty value (`key:`) means "not set"."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    _example: ClassVar[str] = "key: value"

    @model_validator(mode="before")
    @classmethod
    def _drop_empty(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            return {k: v for k, v in data.items() if not (v is None and k in cls.model_fields)}
        if data is None or isinstance(data, cls):
            return {} if data is None else data
        raise _problem(f"expected a mapping of keys (like {cls._example}), not {_show(data)}")


class IntakeChannel(_Section):
    """A channel whose messages become tickets in `queue`."""

    _example: ClassVar[str] = "channel: C0123ABCD"

    channel: ChannelId
    queue: Name = "general"


DEFAULT_ACKNOWLEDGEMENT = (
    "Thanks for reaching out! We've logged your question as {ref} and someone from our team "
    "will reply in this thread."
)
ACKNOWLEDGEMENT_FIELDS = ("ref", "customer")
MAX_ACKNOWLEDGEMENT = 1000


def _acknowledgement(value: object) -> str:
    """The customer-facing acknowledgement: text with only {ref} and {customer} to fill in."""
    text = _text(value, "the acknowledgement text")
    if not text:
        raise _problem("must not be empty (use acknowledge: false to send none)")
    if len(text) > MAX_ACKNOWLEDGEMENT:
        raise _problem(f"keep it under {MAX_ACKNOWLEDGEMENT} characters")
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        raise _problem(f"{exc} (write {{{{ and }}}} for literal braces)") from None
    unknown = [name for name in fields if name not in ACKNOWLEDGEMENT_FIELDS]
    if unknown:
        allowed = ", ".join(f"{{{name}}}" for name in ACKNOWLEDGEMENT_FIELDS)
        raise _problem(f"unknown placeholder {{{unknown[0]}}} (use {allowed})")
    return text


def _phrase(value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    text = _text(value, "a phrase")
    if not text:
        raise _problem("must not be empty")
    return text.lower()


Acknowledgement = Annotated[str, BeforeValidator(_acknowledgement)]
Phrase = Annotated[str, BeforeValidator(_phrase)]


class CustomerChannel(_Section):
    """A Slack Connect channel shared with one customer; its tickets are mirrored to triage."""

    _example: ClassVar[str] = "channel: C0123ABCD"

    channel: ChannelId
    customer: Name
    tier: Name = "standard"
    # The short customer-safe reply a new ticket gets in the customer's thread.
    acknowledge: bool = True
    acknowledgement: Acknowledgement | None = None


class EngineeringTarget(_Section):
    """Where escalations about `product` go; product "default" catches the rest."""

    _example: ClassVar[str] = "product: default"

    product: Name
    channel: ChannelId


class Digests(_Section):
    """Where the weekly/SLA/CSAT digests are posted."""

    _example: ClassVar[str] = "channel: C0123ABCD"

    channel: ChannelId
    # When the daily SLA digest goes out, in the desk's time zone.
    sla_at: ClockTime = time(9, 0)
    # The weekly digest covers the 7 days before `weekly_on` and goes out that day at
    # `weekly_at`; the CSAT digest covers the same week and goes out at `csat_at`.
    weekly_on: Day = "mon"
    weekly_at: ClockTime = time(9, 0)
    csat_at: ClockTime = time(9, 0)

    @property
    def weekly_weekday(self) -> int:
        """`weekly_on` as Python's weekday number (0 = Monday)."""
        return WEEKDAYS.index(self.weekly_on)


def _country(value: object) -> str:
    import holidays

    text = _text(value, "a country code (like US or GB)").upper()
    if text not in holidays.list_supported_countries():
        raise _problem(
            f"{text!r} is not a country the holidays calendar knows (use an ISO code like US, "
            "GB, DE or FR)"
        )
    return text


class PublicHolidays(_Section):
    """A country's public holidays (the `holidays` package), optionally one region's."""

    _example: ClassVar[str] = "country: US"

    country: Annotated[str, BeforeValidator(_country)]
    subdivision: Name | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_country(cls, data: Any) -> Any:
        return {"country": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _known_subdivision(self) -> PublicHolidays:
        import holidays

        if self.subdivision is not None:
            known = holidays.list_supported_countries().get(self.country, [])
            if self.subdivision.upper() not in {s.upper() for s in known}:
                listed = ", ".join(known[:12]) + (", …" if len(known) > 12 else "")
                raise _problem(
                    f"{self.subdivision!r} is not a subdivision of {self.country} "
                    f"(known: {listed or 'none'})",
                    at=("subdivision",),
                )
        return self

    def calendar(self) -> Any:
        """The holidays calendar; `date in calendar` answers for any year."""
        import holidays

        return holidays.country_holidays(
            self.country, subdiv=self.subdivision.upper() if self.subdivision else None
        )


class BusinessHours(_Section):
    """When set, SLA targets count only this time (in the desk's time zone)."""

    _example: ClassVar[str] = 'start: "09:00"'

    days: tuple[Day, ...] = Field(default=WEEKDAYS[:5], validate_default=True)
    start: ClockTime
    end: ClockTime

    @field_validator("days", mode="before")
    @classmethod
    def _days_list(cls, value: Any) -> Any:
        value = _as_list(value)
        if not value:
            raise _problem("list at least one day (mon, tue, wed, thu, fri, sat, sun)")
        return value

    @field_validator("days")
    @classmethod
    def _week_order(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(day for day in WEEKDAYS if day in value)

    @field_validator("end")
    @classmethod
    def _after_start(cls, value: time, info: ValidationInfo) -> time:
        start = info.data.get("start")
        if start is not None and value <= start:
            raise _problem(f"{value:%H:%M} must be later than start ({start:%H:%M})")
        return value

    @property
    def weekdays(self) -> frozenset[int]:
        """Open days as `date.weekday()` numbers (Monday is 0)."""
        return frozenset(WEEKDAYS.index(day) for day in self.days)


class SlaTarget(_Section):
    """How soon a ticket of one priority must get its first response and its resolution. A target
    set to `off` does not apply (`timedelta(0)`); `around_the_clock` counts every hour, ignoring
    business hours and holidays (typical for urgent)."""

    _example: ClassVar[str] = "first_response: 15m"

    first_response: TargetDuration
    resolution: TargetDuration
    around_the_clock: bool = False

    @model_validator(mode="after")
    def _first_response_fits(self) -> SlaTarget:
        if self.first_response and self.resolution and self.first_response > self.resolution:
            raise _problem(
                f"the first response target ({_spell(self.first_response)}) is longer than the "
                f"resolution target ({_spell(self.resolution)})",
                at=("first_response",),
            )
        return self


class SlaOverride(_Section):
    """Part of a priority's target, changed for one customer tier or one queue; keys left out
    keep the priority's own."""

    _example: ClassVar[str] = "first_response: 30m"

    first_response: TargetDuration | None = None
    resolution: TargetDuration | None = None
    around_the_clock: bool | None = None

    def over(self, base: SlaTarget) -> SlaTarget:
        return SlaTarget(
            first_response=_pick(self.first_response, base.first_response),
            resolution=_pick(self.resolution, base.resolution),
            around_the_clock=_pick(self.around_the_clock, base.around_the_clock),
        )


def _pick(value: Any, default: Any) -> Any:
    return default if value is None else value


def _priority_keys(value: Any) -> Any:
    """Priority keys are case-insensitive ("URGENT:" works)."""
    if not isinstance(value, Mapping):
        return value
    out: dict[Any, Any] = {}
    for key, item in value.items():
        try:
            out[_priority(key).value] = item
        except PydanticCustomError:
            out[key] = item
    return out


class SlaOverrides(_Section):
    """Targets that differ for one tier or queue, by priority."""

    _example: ClassVar[str] = "high: {first_response: 30m, resolution: 4h}"

    urgent: SlaOverride | None = None
    high: SlaOverride | None = None
    medium: SlaOverride | None = None
    low: SlaOverride | None = None

    @model_validator(mode="before")
    @classmethod
    def _keys(cls, data: Any) -> Any:
        data = _priority_keys(data)
        if isinstance(data, Mapping):
            for key in data:
                if key not in cls.model_fields:
                    raise _problem(f"{key!r} is not a priority ({_PRIORITY_HINT})", at=(str(key),))
        return data

    def for_priority(self, priority: Priority) -> SlaOverride | None:
        override: SlaOverride | None = getattr(self, priority.value)
        return override


def _warning_at(value: object) -> float:
    """When the warning goes out: "75%" (or 75) of the target; off/false for no warnings."""
    if value is False or (isinstance(value, str) and value.strip().lower() == "off"):
        return 0.0
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip().removesuffix("%").strip()
        try:
            number = float(text)
        except ValueError:
            number = None
    if number is None or not 1 <= number <= 99:
        raise _problem(f"{_show(value)} is not a share of the target (use 50% to 99%, or off)")
    return number / 100


WarningAt = Annotated[float, BeforeValidator(_warning_at)]


class SlaPolicy(_Section):
    """SLA targets by priority, changed per customer tier and per queue, and how alerts go out.

    A tier's target wins over a queue's, which wins over the priority's own, key by key: the
    customer's contract is the promise that matters most."""

    _example: ClassVar[str] = "urgent: {first_response: 15m, resolution: 4h}"

    urgent: SlaTarget = Field(default_factory=lambda: DEFAULT_SLA[Priority.URGENT])
    high: SlaTarget = Field(default_factory=lambda: DEFAULT_SLA[Priority.HIGH])
    medium: SlaTarget = Field(default_factory=lambda: DEFAULT_SLA[Priority.MEDIUM])
    low: SlaTarget = Field(default_factory=lambda: DEFAULT_SLA[Priority.LOW])
    # Share of a target after which a warning goes out (0: no warnings).
    warning_at: WarningAt = 0.75
    # Where the sweep's grouped alerts go; default: the triage channel.
    alert_channel: ChannelId | None = None
    tiers: dict[Name, SlaOverrides] = Field(default_factory=dict)
    queues: dict[Name, SlaOverrides] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _entries(cls, data: Any) -> Any:
        """Half-given targets ("urgent: {first_response: 10m}") keep the other default."""
        if isinstance(data, SlaPolicy) or data is None:
            return data
        if not isinstance(data, Mapping):
            raise _problem(f"expected a mapping of priorities (like urgent:), not {_show(data)}")
        merged: dict[Any, Any] = {}
        for key, value in _priority_keys(data).items():
            if key in PRIORITY_KEYS:
                target = value
                if target is None or isinstance(target, Mapping):
                    default = DEFAULT_SLA[Priority(key)]
                    target = {
                        "first_response": default.first_response,
                        "resolution": default.resolution,
                        **{k: v for k, v in (target or {}).items() if v is not None},
                    }
                merged[key] = target
            elif key in cls.model_fields:
                merged[key] = value
            else:
                close = difflib.get_close_matches(str(key), list(cls.model_fields), n=1, cutoff=0.7)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise _problem(
                    f"{key!r} is not a priority ({_PRIORITY_HINT}) nor an SLA setting{hint}",
                    at=(str(key),),
                )
        return merged

    @model_validator(mode="after")
    def _overrides_fit(self) -> SlaPolicy:
        found: list[tuple[tuple[str | int, ...], str]] = []
        for section, entries in (("tiers", self.tiers), ("queues", self.queues)):
            for name, overrides in entries.items():
                for priority in Priority:
                    override = overrides.for_priority(priority)
                    if override is None:
                        continue
                    try:
                        override.over(self.target(priority))
                    except ValidationError as exc:
                        message = str(exc.errors()[0].get("ctx", {}).get("message", exc))
                        found.append(((section, name, priority.value, "first_response"), message))
        if found:
            raise _problems(found)
        return self

    def target(self, priority: Priority | str) -> SlaTarget:
        target: SlaTarget = getattr(self, Priority(priority).value)
        return target


PRIORITY_KEYS = frozenset(p.value for p in Priority)


def _spell(delta: timedelta) -> str:
    """timedelta -> the config's own spelling ("1h30m"), for messages."""
    seconds = int(delta.total_seconds())
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, seconds = divmod(seconds, size)
        if amount:
            out += f"{amount}{unit}"
    return out or "0s"


DEFAULT_SLA: dict[Priority, SlaTarget] = {
    Priority.URGENT: SlaTarget(first_response=timedelta(minutes=15), resolution=timedelta(hours=4)),
    Priority.HIGH: SlaTarget(first_response=timedelta(hours=1), resolution=timedelta(hours=8)),
    Priority.MEDIUM: SlaTarget(first_response=timedelta(hours=4), resolution=timedelta(hours=24)),
    Priority.LOW: SlaTarget(first_response=timedelta(hours=8), resolution=timedelta(hours=72)),
}


class Reactions(_Section):
    """Emoji names (without colons) that act on tickets; each must be different."""

    _example: ClassVar[str] = "claim: eyes"

    model_config = ConfigDict(validate_default=True)

    ticket: ReactionName = "ticket"
    claim: ReactionName = "eyes"
    resolve: ReactionName = "white_check_mark"
    escalate: ReactionName = "rotating_light"

    @field_validator("claim", "resolve", "escalate")
    @classmethod
    def _distinct(cls, value: str, info: ValidationInfo) -> str:
        for other, name in info.data.items():
            if name == value:
                raise _problem(f"{value!r} is already the {other} reaction; use a different emoji")
        return value


AUTO_ASSIGN_MODES = ("none", "round_robin", "least_loaded")


def _auto_assign(value: object) -> str:
    if isinstance(value, bool) and not value:
        return "none"
    if isinstance(value, str) and value.strip().lower().replace("-", "_") in AUTO_ASSIGN_MODES:
        return value.strip().lower().replace("-", "_")
    raise _problem(
        f"{_show(value)} is not an auto-assignment mode (use {', '.join(AUTO_ASSIGN_MODES)})"
    )


class Queue(_Section):
    """A team queue: who works it, whether new tickets are handed out, who leads it."""

    _example: ClassVar[str] = "name: tier2"

    name: Name
    agents: Annotated[tuple[UserId, ...], AsList] = ()  # empty: every agent of the desk
    auto_assign: Annotated[str, BeforeValidator(_auto_assign)] = "none"
    lead: UserId | None = None


CSAT_PLACES = ("thread", "dm")


def _csat_place(value: object) -> str:
    if isinstance(value, str) and value.strip().lower() in CSAT_PLACES:
        return value.strip().lower()
    raise _problem(f"{_show(value)} is not where to ask (use thread or dm)")


def _csat_sample(value: object) -> int:
    """Ask one in N resolved tickets: a whole number, 1 (every ticket) or more."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None or number < 1:
        raise _problem(
            f"{_show(value)} is not a sample size (use a whole number: 1 asks about every "
            "resolved ticket, 5 about one in five)"
        )
    return number


def _csat_threshold(value: object) -> CsatRating | None:
    """The best rating that still notifies the queue's lead (and every worse one), or off."""
    if value is False or (isinstance(value, str) and value.strip().lower() == "off"):
        return None
    if isinstance(value, str):
        try:
            return CsatRating(value.strip().lower().replace(" ", "_"))
        except ValueError:
            pass
    ratings = ", ".join(rating.value for rating in CsatRating)
    raise _problem(f"{_show(value)} is not a rating (use {ratings}, or off)")


def _switch(value: object) -> bool:
    """`on` or `off` (YAML reads both as booleans; quoted ones are accepted too)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("on", "off", "true", "false"):
        return value.strip().lower() in ("on", "true")
    raise _problem(f"{_show(value)} is neither on nor off")


Switch = Annotated[bool, BeforeValidator(_switch)]


def _score_threshold(value: object) -> float:
    """How sure search must be before it suggests an article: a number from 0 to 1."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1:
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = -1.0
        if 0 <= number <= 1:
            return number
    raise _problem(
        f"{_show(value)} is not a score threshold (use a number from 0 to 1; higher suggests "
        "less often, and more surely)"
    )


def _suggestion_count(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 3:
        return value
    raise _problem(f"{_show(value)} is not a number of suggestions (use 1, 2 or 3)")


# Tuned on the shipped sample knowledge base (bench/kb_ranking.py): see README.
DEFAULT_SUGGEST_THRESHOLD = 0.27


class KnowledgeBase(_Section):
    """Folder of Markdown articles used for self-serve answers. A relative `path` is read from
    the config file's folder."""

    _example: ClassVar[str] = "path: kb"

    path: Name = "kb"
    # Offer answers in the thread of each new question (off: agents still search and suggest).
    suggest: Switch = True
    threshold: Annotated[float, BeforeValidator(_score_threshold)] = DEFAULT_SUGGEST_THRESHOLD
    max_suggestions: Annotated[int, BeforeValidator(_suggestion_count)] = 3


class FeatureRequests(_Section):
    """The feature-request board. `owners` (product people) may set a request's status, as
    agents may."""

    _example: ClassVar[str] = "channel: C0123ABCD"

    channel: ChannelId
    owners: Annotated[tuple[UserId, ...], AsList] = ()


class CsatPolicy(_Section):
    """The "How did we do?" survey a requester gets when their ticket is resolved.

    Whether a ticket is asked: its customer's switch, else its queue's, else `enabled`; then one
    in `sample` tickets, by ticket number (deterministic: a rerun or a retry decides the same)."""

    _example: ClassVar[str] = "sample: 5"

    enabled: Switch = True
    ask_in: Annotated[str, BeforeValidator(_csat_place)] = "thread"
    sample: Annotated[int, BeforeValidator(_csat_sample)] = 1
    # This rating and every worse one DM the lead of the ticket's queue (None: nobody is told).
    notify_at: Annotated[CsatRating | None, BeforeValidator(_csat_threshold)] = (
        CsatRating.UNSATISFIED
    )
    queues: dict[Name, Switch] = Field(default_factory=dict)
    customers: dict[Name, Switch] = Field(default_factory=dict)

    def asks(self, *, queue: str, customer: str | None) -> bool:
        """Whether tickets of this queue and customer are asked at all (before sampling)."""
        if customer is not None and customer in self.customers:
            return self.customers[customer]
        return self.queues.get(queue, self.enabled)


DEFAULT_DEPARTMENTS = (
    "Sales",
    "Marketing",
    "Accounting",
    "Customer success",
    "Product",
    "Engineering",
)
DEFAULT_SUPPORT_TYPES = (
    "Quick fix",
    "Resource building",
    "Engineering investigation",
    "Feature request",
)
DEFAULT_CLIENT_PRIORITIES = ("Customer size/revenue", "Implementation/new", "At risk")
DEFAULT_INTERNAL_PRIORITIES = ("Low", "Medium", "High", "Critical")


class Taxonomy(_Section):
    """Value lists of the Edit modal's attributes; the defaults are what support teams use."""

    _example: ClassVar[str] = "departments: [Sales, Marketing]"

    departments: Annotated[tuple[Name, ...], AsList] = DEFAULT_DEPARTMENTS
    support_types: Annotated[tuple[Name, ...], AsList] = DEFAULT_SUPPORT_TYPES
    client_priorities: Annotated[tuple[Name, ...], AsList] = DEFAULT_CLIENT_PRIORITIES
    internal_priorities: Annotated[tuple[Name, ...], AsList] = DEFAULT_INTERNAL_PRIORITIES

    @field_validator("departments", "support_types", "client_priorities", "internal_priorities")
    @classmethod
    def _unique_values(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        found = _duplicates(list(value), f"taxonomy.{info.field_name}", (), "value")
        if found:
            raise _problems(found)
        return value


# What a rule may test, and what it may do. Attribute names are the ticket's, as exported.
RULE_CONDITIONS = (
    "issue_type",
    "priority",
    "queue",
    "customer",
    "tier",
    "product",
    "channel",
    "internal_priority",
    "support_type",
    "client_priority",
    "department",
    "tag",
    "text",
    "external",
)
RULE_ACTIONS = (
    "priority",
    "issue_type",
    "internal_priority",
    "support_type",
    "client_priority",
    "product",
    "queue",
    "assign",
    "notify",
    "tags",
)


def _condition_values(value: object) -> tuple[str, ...]:
    """`high`, `[high, urgent]` or `{in: [high, urgent]}`: the accepted values of one test."""
    if isinstance(value, Mapping):
        if set(value) == {"in"}:
            value = value["in"]
        elif set(value) == {"eq"}:
            value = [value["eq"]]
        else:
            raise _problem("use a value, a list of values, or {in: [values]}")
    if isinstance(value, bool):
        return ("true" if value else "false",)
    if isinstance(value, str | int | float):
        value = [value]
    if isinstance(value, list | tuple) and not value:
        raise _problem("list at least one value")
    if not isinstance(value, list | tuple):
        raise _problem(f"expected a value or a list of values, not {_show(value)}")
    out: list[str] = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise _problem(f"{_show(item)} is not a value to compare with")
        text = str(item).strip()
        if not text:
            raise _problem("values must not be empty")
        out.append(text)
    return tuple(out)


def _vocabulary_check(
    key: str, values: Sequence[str], at: tuple[str | int, ...]
) -> list[tuple[tuple[str | int, ...], str]]:
    from workflows.vocabulary import IssueType

    known, what = {
        "priority": ([p.value for p in Priority], "is not a priority"),
        "issue_type": ([i.value for i in IssueType], "is not an issue type"),
        "external": (["true", "false"], "is neither true nor false"),
    }.get(key, ([], ""))
    if not known:
        return []
    return [
        (at, f"{value!r} {what} (use {', '.join(known)})")
        for value in values
        if value.lower() not in known
    ]


class Rule(_Section):
    """`{if: {attribute: value or [values]}, then: {action: value}}`; every test must hold."""

    _example: ClassVar[str] = "if: {priority: high}"

    model_config = ConfigDict(populate_by_name=True)

    when: dict[str, tuple[str, ...]] = Field(alias="if")
    then: dict[str, Any]

    @field_validator("when", mode="before")
    @classmethod
    def _conditions(cls, value: Any) -> Any:
        if isinstance(value, Mapping) and not value:
            raise _problem("give at least one test (like priority: high)")
        if not isinstance(value, Mapping):
            raise _problem(f"expected a mapping of tests (like priority: high), not {_show(value)}")
        found: list[tuple[tuple[str | int, ...], str]] = []
        out: dict[str, tuple[str, ...]] = {}
        for key, raw in value.items():
            if key not in RULE_CONDITIONS:
                close = difflib.get_close_matches(str(key), RULE_CONDITIONS, n=1, cutoff=0.6)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                found.append(((str(key),), f"cannot test {key!r}{hint}"))
                continue
            try:
                values = _condition_values(raw)
            except PydanticCustomError as exc:
                found.append(((str(key),), str(exc.context["message"] if exc.context else exc)))
                continue
            found.extend(_vocabulary_check(key, values, (str(key),)))
            if key == "text":
                out[key] = values
            elif key == "tag":
                out[key] = tuple(normalize_tag(v) for v in values)
            else:
                out[key] = tuple(v.lower() for v in values)
        if found:
            raise _problems(found)
        return out

    @field_validator("then", mode="before")
    @classmethod
    def _actions(cls, value: Any) -> Any:
        if isinstance(value, Mapping) and not value:
            raise _problem("give at least one action (like priority: urgent)")
        if not isinstance(value, Mapping):
            raise _problem(
                f"expected a mapping of actions (like priority: urgent), not {_show(value)}"
            )
        found: list[tuple[tuple[str | int, ...], str]] = []
        out: dict[str, Any] = {}
        for key, raw in value.items():
            at: tuple[str | int, ...] = (str(key),)
            if key not in RULE_ACTIONS:
                close = difflib.get_close_matches(str(key), RULE_ACTIONS, n=1, cutoff=0.6)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                found.append((at, f"unknown action {key!r}{hint}"))
                continue
            try:
                if key == "notify":
                    items = raw if isinstance(raw, list | tuple) else [raw]
                    out[key] = tuple(_channel_id(item) for item in items)
                elif key == "assign":
                    text = _text(raw, "a user ID or auto")
                    out[key] = "auto" if text.lower() == "auto" else _user_id(text)
                elif key == "tags":
                    items = raw if isinstance(raw, list | tuple) else [raw]
                    out[key] = tuple(_name(item) for item in items)
                elif key == "priority":
                    out[key] = _priority(raw).value
                else:
                    out[key] = _name(raw)
            except PydanticCustomError as exc:
                found.append((at, str(exc.context["message"] if exc.context else exc)))
                continue
            if key == "issue_type":
                found.extend(_vocabulary_check(key, [out[key]], at))
                out[key] = out[key].lower()
        if found:
            raise _problems(found)
        return out


def _unknown_names(
    key: tuple[str, ...], names: Iterable[str], known: Iterable[str], *, what: str, none: str
) -> list[tuple[tuple[str | int, ...], str]]:
    """A problem per name of a config section that names nothing the desk has (a queue, a tier,
    a customer): such an entry would never apply."""
    have = set(known)
    listed = ", ".join(sorted(have)) or none
    return [
        ((*key, name), f"{name!r} is not {what} (known: {listed})")
        for name in names
        if name not in have
    ]


class DeskConfig(_Section):
    """Everything `supportbot.yml` says; frozen so no handler can change it behind the others."""

    timezone: Annotated[str, BeforeValidator(_timezone)] = "UTC"
    agents: Annotated[tuple[UserId, ...], AsList] = ()
    agent_usergroup: Annotated[str | None, BeforeValidator(_usergroup_id)] = None
    intake: Annotated[tuple[IntakeChannel, ...], AsList] = ()
    default_queue: Name = "general"
    triage_channel: ChannelId | None = None
    customer_channels: Annotated[tuple[CustomerChannel, ...], AsList] = ()
    engineering: Annotated[tuple[EngineeringTarget, ...], AsList] = ()
    products: Annotated[tuple[Name, ...], AsList] = Field(default=None, validate_default=True)
    digests: Digests | None = None
    default_priority: PriorityName = Priority.MEDIUM
    business_hours: BusinessHours | None = None
    holidays: Annotated[tuple[Holiday, ...], AsList] = ()
    public_holidays: PublicHolidays | None = None
    sla: SlaPolicy = Field(default_factory=SlaPolicy)
    knowledge_base: KnowledgeBase | None = None
    feature_requests: FeatureRequests | None = None
    reactions: Reactions = Field(default_factory=Reactions)
    queues: Annotated[tuple[Queue, ...], AsList] = ()
    # The second-line queue tickets can be escalated to; a queue named "tier2" is it by default.
    second_line: Name | None = Field(default=None, validate_default=True)
    taxonomy: Taxonomy = Field(default_factory=Taxonomy)
    rules: Annotated[tuple[Rule, ...], AsList] = ()
    reopen_window: Duration = timedelta(days=7)
    customer_acknowledgement: Acknowledgement = DEFAULT_ACKNOWLEDGEMENT
    grouping_window: DurationOrOff = timedelta(minutes=2)
    pleasantries: Annotated[tuple[Phrase, ...], AsList] = DEFAULT_PLEASANTRIES
    csat: CsatPolicy = Field(default_factory=CsatPolicy)

    @model_validator(mode="after")
    def _triage_is_internal(self) -> DeskConfig:
        """Customer tickets need an internal room, and nothing internal may point at a channel
        the customer reads."""
        found: list[tuple[tuple[str | int, ...], str]] = []
        customer = {c.channel for c in self.customer_channels}
        if self.customer_channels and self.triage_channel is None:
            found.append(
                (
                    ("triage_channel",),
                    "required when customer_channels are listed: customer "
                    "tickets are mirrored there for agents",
                )
            )
        if self.triage_channel in customer:
            found.append(
                (
                    ("triage_channel",),
                    f"{self.triage_channel} is a customer channel; the triage "
                    "channel must be internal",
                )
            )
        if self.digests is not None and self.digests.channel in customer:
            found.append(
                (
                    ("digests", "channel"),
                    f"{self.digests.channel} is a customer channel; the managers' digests "
                    "(other customers, CSAT comments, agents' figures) are internal",
                )
            )
        for index, rule in enumerate(self.rules):
            for channel in rule.then.get("notify", ()):
                if channel in customer:
                    found.append(
                        (
                            ("rules", index, "then", "notify"),
                            f"{channel} is a customer channel; rule notices are internal",
                        )
                    )
        for index, target in enumerate(self.engineering):
            if target.channel in customer:
                found.append(
                    (
                        ("engineering", index, "channel"),
                        f"{target.channel} is a customer channel; engineering threads are internal",
                    )
                )
        for index, entry in enumerate(self.intake):
            if entry.channel in customer:
                found.append(
                    (
                        ("intake", index, "channel"),
                        f"{entry.channel} is also a customer channel; list it in one place",
                    )
                )
        if found:
            raise _problems(found)
        return self

    @field_validator("queues")
    @classmethod
    def _unique_queues(cls, value: tuple[Queue, ...]) -> tuple[Queue, ...]:
        found = _duplicates([q.name for q in value], "queues", ("name",), "queue")
        if found:
            raise _problems(found)
        return value

    @field_validator("second_line", mode="before")
    @classmethod
    def _second_line_default(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            queues = info.data.get("queues", ())
            return "tier2" if any(q.name == "tier2" for q in queues) else None
        return value

    @field_validator("second_line")
    @classmethod
    def _second_line_is_a_queue(cls, value: str | None, info: ValidationInfo) -> str | None:
        queues = info.data.get("queues")
        if value is not None and queues is not None and value not in {q.name for q in queues}:
            listed = ", ".join(q.name for q in queues) or "none"
            raise _problem(
                f"{value!r} is not a queue listed under queues: (listed: {listed}); the second "
                "line needs its agents listed there"
            )
        return value

    @field_validator("intake")
    @classmethod
    def _unique_intake(cls, value: tuple[IntakeChannel, ...]) -> tuple[IntakeChannel, ...]:
        found = _duplicates([i.channel for i in value], "intake", ("channel",), "channel")
        if found:
            raise _problems(found)
        return value

    @field_validator("customer_channels")
    @classmethod
    def _unique_customer_channels(
        cls, value: tuple[CustomerChannel, ...]
    ) -> tuple[CustomerChannel, ...]:
        found = _duplicates(
            [c.channel for c in value], "customer_channels", ("channel",), "channel"
        )
        if found:
            raise _problems(found)
        return value

    @field_validator("engineering")
    @classmethod
    def _unique_products(
        cls, value: tuple[EngineeringTarget, ...]
    ) -> tuple[EngineeringTarget, ...]:
        found = _duplicates([e.product for e in value], "engineering", ("product",), "product")
        if found:
            raise _problems(found)
        return value

    @field_validator("products", mode="before")
    @classmethod
    def _products_default(cls, value: Any, info: ValidationInfo) -> Any:
        """Not given: the products engineering knows about, so the modal matches escalation."""
        if value is None:
            targets = info.data.get("engineering", ())
            return tuple(t.product for t in targets if t.product != "default")
        return value

    @field_validator("products")
    @classmethod
    def _unique_product_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        found = _duplicates(list(value), "products", (), "product")
        if found:
            raise _problems(found)
        return value

    @model_validator(mode="after")
    def _sla_names(self) -> DeskConfig:
        """Overrides must name tiers and queues tickets can have, or they never apply."""
        found = self._unknown_queues("sla", self.sla.queues)
        found += _unknown_names(
            ("sla", "tiers"),
            self.sla.tiers,
            {c.tier for c in self.customer_channels},
            what="the tier of any customer channel",
            none="none: list customer_channels with a tier",
        )
        channel = self.sla.alert_channel
        if channel is not None and self.customer_channel(channel) is not None:
            found.append(
                (
                    ("sla", "alert_channel"),
                    f"{channel} is a customer channel; SLA alerts are internal",
                )
            )
        if found:
            raise _problems(found)
        return self

    @model_validator(mode="after")
    def _csat_names(self) -> DeskConfig:
        """CSAT switches must name queues and customers tickets can have, or they never apply."""
        found = self._unknown_queues("csat", self.csat.queues)
        found += _unknown_names(
            ("csat", "customers"),
            self.csat.customers,
            {c.customer for c in self.customer_channels},
            what="the customer of any customer channel",
            none="none: list customer_channels",
        )
        if found:
            raise _problems(found)
        return self

    def _unknown_queues(
        self, section: str, names: Iterable[str]
    ) -> list[tuple[tuple[str | int, ...], str]]:
        return _unknown_names(
            (section, "queues"), names, self.queue_names(), what="a queue of this desk", none=""
        )

    @property
    def tz(self) -> ZoneInfo:
        """The desk's time zone; business hours and holidays are read in it."""
        return ZoneInfo(self.timezone)

    def intake_for(self, channel_id: str) -> IntakeChannel | None:
        """The intake entry for a channel, or None if its messages don't open tickets."""
        return next((i for i in self.intake if i.channel == channel_id), None)

    def acknowledgement_for(self, channel_id: str) -> str | None:
        """The text a new customer ticket is acknowledged with, or None when switched off."""
        entry = self.customer_channel(channel_id)
        if entry is None or not entry.acknowledge:
            return None
        return entry.acknowledgement or self.customer_acknowledgement

    def customer_channel(self, channel_id: str) -> CustomerChannel | None:
        """The customer a Slack Connect channel belongs to, or None."""
        return next((c for c in self.customer_channels if c.channel == channel_id), None)

    def engineering_for(self, product: str | None) -> EngineeringTarget | None:
        """Where to escalate about `product`: its own target, else "default", else None."""
        by_product = {e.product: e for e in self.engineering}
        return by_product.get(product or "default") or by_product.get("default")

    def escalation_targets(self) -> list[tuple[str, str]]:
        """Where a ticket can be escalated, as (kind, target): each engineering product, then
        the second line."""
        targets = [("engineering", e.product) for e in self.engineering]
        if self.second_line is not None:
            targets.append(("second_line", self.second_line))
        return targets

    def queue(self, name: str) -> Queue | None:
        """The `queues:` entry of a queue name, or None (a queue with no settings)."""
        return next((q for q in self.queues if q.name == name), None)

    def customer_tier(self, customer: str | None) -> str | None:
        """A customer's tier, from its channel entry."""
        return next((c.tier for c in self.customer_channels if c.customer == customer), None)

    def sla_for(self, priority: Priority | str) -> SlaTarget:
        """The SLA target of a priority (every priority has one; defaults fill the gaps)."""
        return self.sla.target(priority)

    def sla_target(
        self, priority: Priority | str, *, tier: str | None = None, queue: str | None = None
    ) -> SlaTarget:
        """The target a ticket is held to: its tier's, else its queue's, else its priority's,
        key by key."""
        priority = Priority(priority)
        target = self.sla.target(priority)
        for overrides in (self.sla.queues.get(queue or ""), self.sla.tiers.get(tier or "")):
            override = overrides.for_priority(priority) if overrides else None
            if override is not None:
                target = override.over(target)
        return target

    def queue_names(self) -> set[str]:
        """Every queue a ticket can be in: listed, intake, default and second-line ones."""
        names = {q.name for q in self.queues} | {i.queue for i in self.intake}
        names.add(self.default_queue)
        if self.second_line:
            names.add(self.second_line)
        return names

    @property
    def sla_alert_channel(self) -> str | None:
        """Where grouped SLA alerts are posted: `sla.alert_channel`, else the triage channel."""
        return self.sla.alert_channel or self.triage_channel


# --------------------------------------------------------------------------------------------------
# Turning pydantic's errors into ConfigProblems

_PLAIN_MESSAGES: dict[str, str] = {
    "missing": "field required",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
    "iterable_type": "expected a list",
    "model_type": "expected a mapping of keys (key: value)",
    "model_attributes_type": "expected a mapping of keys (key: value)",
    "dict_type": "expected a mapping of keys (key: value)",
    "mapping_type": "expected a mapping of keys (key: value)",
    "string_type": "expected text",
    "invalid_key": "unknown key (keys must be text)",
}


def _strip_optional(annotation: Any) -> Any:
    """`Annotated[X, ...]` and `X | None` -> X, to walk the model along an error's location."""
    while True:
        origin = typing.get_origin(annotation)
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if origin is Annotated or (origin in (Union, types.UnionType) and len(args) == 1):
            annotation = args[0]
        else:
            return annotation


def _known_keys(loc: Sequence[str | int]) -> list[str]:
    """The keys the section at `loc` accepts, for "did you mean" hints."""
    annotation: Any = DeskConfig
    for part in loc:
        annotation = _strip_optional(annotation)
        origin = typing.get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return []
            annotation = field.annotation
        elif origin is tuple:
            annotation = typing.get_args(annotation)[0]
        elif origin is dict:
            annotation = typing.get_args(annotation)[1]
        else:
            return []
    annotation = _strip_optional(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []


def _format_key(loc: Iterable[str | int]) -> str:
    key = ""
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int):
            key += f"[{part}]"
        else:
            key += f".{part}" if key else str(part)
    return key


def _unknown_key(loc: tuple[str | int, ...]) -> str:
    *parent, name = loc
    message = "unknown key"
    known = _known_keys(parent)
    close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
    if close:
        message += f" (did you mean {close[0]!r}?)"
    return message


def _to_problems(error: ValidationError) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        kind = item["type"]
        ctx = item.get("ctx") or {}
        if kind == _ERROR_TYPE and "many" in ctx:
            for at, message in ctx["many"]:
                problems.append(ConfigProblem(_format_key((*loc, *at)), message))
            continue
        if kind == _ERROR_TYPE:
            message = ctx["message"]
            loc = (*loc, *ctx.get("at", ()))
        elif kind in ("extra_forbidden", "invalid_key"):
            loc = (*loc[:-1], str(loc[-1]))  # a YAML key like `1:` is a name here, not an index
            message = _unknown_key(loc)
        elif kind in _PLAIN_MESSAGES:
            message = _PLAIN_MESSAGES[kind]
            if kind.endswith("_type") and "input" in item:
                message += f", not {_show(item['input'])}"
        else:  # not expected; keep it readable anyway
            message = str(item["msg"]).removeprefix("Value error, ")
            message = message.replace("Input should be", "should be")
        problems.append(ConfigProblem(_format_key(loc), message))
    order = list(DeskConfig.model_fields)
    return sorted(problems, key=lambda p: _top_index(p.key, order))


def _top_index(key: str, order: list[str]) -> int:
    top = re.split(r"[.\[]", key, maxsplit=1)[0]
    return order.index(top) if top in order else len(order)


# --------------------------------------------------------------------------------------------------
# Loading


def parse_config(data: Mapping[str, Any], *, source: str = DEFAULT_PATH) -> DeskConfig:
    """Validate already-parsed YAML; raises ConfigInvalid listing every problem at once."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigInvalid(
            [ConfigProblem("", f"expected a mapping of keys (key: value), not {_show(data)}")],
            source=source,
        )
    try:
        return DeskConfig.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigInvalid(_to_problems(exc), source=source) from None


# YAML 1.1 reads an unquoted 17:00 as the number 1020 (base 60); the config means a clock time.
_SEXAGESIMAL = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")


class _DuplicateKey(yaml.constructor.ConstructorError):
    def __init__(self, key: str, first: yaml.Mark, again: yaml.Mark) -> None:
        super().__init__(None, None, f"duplicate key {key!r}", again)
        self.key = key
        self.first_line = first.line + 1
        self.again_line = again.line + 1


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps 17:00 a string and refuses a key given twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[str, yaml.Mark] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                if key_node.value in seen:
                    raise _DuplicateKey(key_node.value, seen[key_node.value], key_node.start_mark)
                seen[key_node.value] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    first: list(resolvers) for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _first in "+-0123456789":
    _Loader.yaml_implicit_resolvers.setdefault(_first, []).insert(
        0, ("tag:yaml.org,2002:str", _SEXAGESIMAL)
    )


def _read_yaml(path: str | os.PathLike[str]) -> Any:
    shown = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise ConfigFileError(shown, "file not found") from None
    except IsADirectoryError:
        raise ConfigFileError(shown, "is a directory, not a file") from None
    except PermissionError:
        raise ConfigFileError(shown, "permission denied (cannot read the file)") from None
    except UnicodeDecodeError:
        raise ConfigFileError(shown, "not a text file (it is not valid UTF-8)") from None
    except OSError as exc:
        raise ConfigFileError(shown, f"cannot read the file ({exc.strerror or exc})") from None
    try:
        return yaml.load(text, Loader=_Loader)
    except _DuplicateKey as exc:
        raise ConfigFileError(
            shown,
            f"key {exc.key!r} appears twice in the same section "
            f"(lines {exc.first_line} and {exc.again_line}); keep one",
        ) from None
    except yaml.MarkedYAMLError as exc:
        where = ""
        if exc.problem_mark is not None:
            mark = exc.problem_mark
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        cause = exc.problem or exc.context or "not valid YAML"
        if "mapping values are not allowed" in cause:
            cause += " (put values that contain ': ' or start with ':' in quotes)"
        raise ConfigFileError(shown, f"YAML syntax error{where}: {cause}") from None
    except yaml.YAMLError as exc:
        raise ConfigFileError(shown, f"YAML syntax error: {exc}") from None


def load_config(path: str | os.PathLike[str]) -> DeskConfig:
    """Read and validate the config file; ConfigFileError if unusable, ConfigInvalid if wrong."""
    data = _read_yaml(path)
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigFileError(
            os.fspath(path),
            f"the top level must be a mapping of keys (like 'timezone: UTC'), not {_show(data)}",
        )
    config = parse_config(data, source=os.fspath(path))
    return with_folder(config, Path(path).resolve().parent)


def with_folder(config: DeskConfig, folder: Path) -> DeskConfig:
    """Relative paths in the config (the knowledge base's) are read from the config's folder."""
    kb = config.knowledge_base
    if kb is None or Path(kb.path).is_absolute():
        return config
    located = kb.model_copy(update={"path": str(folder / kb.path)})
    return config.model_copy(update={"knowledge_base": located})
