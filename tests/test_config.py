"""The config is the admin's interface: it must load the documented example, default sensibly, and
point at every mistake by its dotted key in plain English."""

from __future__ import annotations

from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import (
    BusinessHours,
    ConfigFileError,
    ConfigInvalid,
    ConfigProblem,
    DeskConfig,
    format_problems,
    load_config,
    parse_config,
    parse_duration,
)
from workflows.vocabulary import Priority

EXAMPLE = Path(__file__).resolve().parent.parent / "supportbot.example.yml"


def problems_of(data: Any) -> dict[str, str]:
    """Validate `data`, expecting failure; return {key: message}."""
    with pytest.raises(ConfigInvalid) as caught:
        parse_config(data)
    assert caught.value.problems, "ConfigInvalid without problems"
    return {p.key: p.message for p in caught.value.problems}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "supportbot.yml"
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------------
# The example and the defaults


def test_example_file_loads_with_every_key() -> None:
    config = load_config(EXAMPLE)
    assert config.timezone == "America/New_York"
    assert str(config.tz) == "America/New_York"
    assert config.agents == ("U0AGENT1", "U0AGENT2")
    assert config.agent_usergroup == "S0AGENTS"
    assert config.intake_for("C0HELP") is not None
    assert config.intake_for("C0HELP").queue == "general"  # type: ignore[union-attr]
    assert config.intake_for("C0NOPE") is None
    assert config.default_queue == "general"
    assert config.triage_channel == "C0TRIAGE"
    acme = config.customer_channel("C0ACME")
    assert acme is not None and (acme.customer, acme.tier) == ("Acme Corp", "enterprise")
    assert config.customer_channel("C0HELP") is None
    assert [(e.product, e.channel) for e in config.engineering] == [("default", "C0ENG")]
    assert config.engineering_for("Web app") == config.engineering[0]
    assert config.products == ("Web app", "Mobile app", "API")
    assert config.digests is not None and config.digests.channel == "C0MGRS"
    assert config.default_priority is Priority.MEDIUM
    assert config.business_hours == BusinessHours(
        days=("mon", "tue", "wed", "thu", "fri"), start=time(9), end=time(17)
    )
    assert config.holidays == (date(2026, 12, 25),)
    assert config.sla_for(Priority.URGENT).first_response == timedelta(minutes=15)
    assert config.sla_for("low").resolution == timedelta(hours=72)
    # A relative knowledge-base folder is the config file's neighbour, wherever serve runs.
    assert config.knowledge_base is not None
    assert config.knowledge_base.path == str(EXAMPLE.parent / "kb")
    assert config.feature_requests is not None and config.feature_requests.channel == "C0IDEAS"
    assert config.reactions.escalate == "rotating_light"


def test_example_file_mentions_every_key() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    for key in DeskConfig.model_fields:
        assert f"\n{key}:" in text, key


def test_empty_mapping_gives_all_defaults() -> None:
    config = parse_config({})
    assert config.timezone == "UTC"
    assert config.tz.key == "UTC"
    assert config.agents == ()
    assert config.agent_usergroup is None
    assert config.intake == ()
    assert config.default_queue == "general"
    assert config.triage_channel is None
    assert config.customer_channels == ()
    assert config.engineering == ()
    assert config.products == ()
    assert config.digests is None
    assert config.default_priority is Priority.MEDIUM
    assert config.business_hours is None
    assert config.holidays == ()
    assert config.knowledge_base is None
    assert config.feature_requests is None
    r = config.reactions
    assert (r.ticket, r.claim, r.resolve, r.escalate) == (
        "ticket",
        "eyes",
        "white_check_mark",
        "rotating_light",
    )
    expected = {
        Priority.URGENT: (timedelta(minutes=15), timedelta(hours=4)),
        Priority.HIGH: (timedelta(hours=1), timedelta(hours=8)),
        Priority.MEDIUM: (timedelta(hours=4), timedelta(hours=24)),
        Priority.LOW: (timedelta(hours=8), timedelta(hours=72)),
    }
    for priority, (first, resolution) in expected.items():
        target = config.sla_for(priority)
        assert (target.first_response, target.resolution) == (first, resolution)


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_empty_file_is_a_valid_config(tmp_path: Path, text: str) -> None:
    assert load_config(write(tmp_path, text)) == parse_config({})


def test_empty_values_mean_not_set() -> None:
    config = parse_config(
        {"agents": None, "digests": None, "reactions": None, "sla": {"low": None}}
    )
    assert config == parse_config({})


def test_config_is_frozen() -> None:
    config = parse_config({})
    with pytest.raises(ValueError):
        config.timezone = "Europe/Paris"  # type: ignore[misc]


def test_products_default_to_engineering_products_but_default() -> None:
    config = parse_config(
        {
            "engineering": [
                {"product": "API", "channel": "C0API"},
                {"product": "default", "channel": "C0ENG"},
                {"product": "Web app", "channel": "C0WEB"},
            ]
        }
    )
    assert config.products == ("API", "Web app")
    assert config.engineering_for("API").channel == "C0API"  # type: ignore[union-attr]
    assert config.engineering_for("Other").channel == "C0ENG"  # type: ignore[union-attr]
    assert config.engineering_for(None).channel == "C0ENG"  # type: ignore[union-attr]


def test_explicit_products_win() -> None:
    config = parse_config(
        {"engineering": [{"product": "API", "channel": "C0API"}], "products": ["Web", "API"]}
    )
    assert config.products == ("Web", "API")


def test_customer_channel_settings() -> None:
    config = parse_config(
        {
            "triage_channel": "C0TRIAGE",
            "customer_channels": [
                {"channel": "C0ACME", "customer": "Acme", "acknowledge": False},
                {"channel": "C0GLOBEX", "customer": "Globex", "acknowledgement": "Hi {customer}"},
                {"channel": "C0INITECH", "customer": "Initech"},
            ],
            "customer_acknowledgement": "Logged as {ref}.",
            "grouping_window": "90s",
            "pleasantries": ["Thanks", "OK"],
        }
    )
    assert config.acknowledgement_for("C0ACME") is None
    assert config.acknowledgement_for("C0GLOBEX") == "Hi {customer}"
    assert config.acknowledgement_for("C0INITECH") == "Logged as {ref}."
    assert config.acknowledgement_for("C0HELP") is None
    assert config.grouping_window == timedelta(seconds=90)
    assert config.pleasantries == ("thanks", "ok")
    defaults = parse_config({})
    assert defaults.grouping_window == timedelta(minutes=2)
    for off in (0, "0", "off", False):
        assert parse_config({"grouping_window": off}).grouping_window == timedelta(0)
    assert "thanks" in defaults.pleasantries and "{ref}" in defaults.customer_acknowledgement


def test_lenient_spellings() -> None:
    config = parse_config(
        {
            "default_priority": "High",
            "business_hours": {"days": ["Friday", "mon", "mon"], "start": "9:00", "end": "17:30"},
            "holidays": [date(2026, 1, 1), "2026-12-25"],
            "sla": {"URGENT": {"first_response": "10m"}},
            "reactions": {"ticket": ":ticket:", "claim": ":raising_hand:"},
            "triage_channel": "C0TRIAGE",
            "customer_channels": [{"channel": "C0ACME", "customer": 3, "tier": "gold"}],
        }
    )
    assert config.default_priority is Priority.HIGH
    assert config.business_hours is not None
    assert config.business_hours.days == ("mon", "fri")
    assert config.business_hours.weekdays == frozenset({0, 4})
    assert config.business_hours.start == time(9)
    assert config.business_hours.end == time(17, 30)
    assert config.holidays == (date(2026, 1, 1), date(2026, 12, 25))
    # a half-given target keeps the other default
    assert config.sla_for(Priority.URGENT).first_response == timedelta(minutes=10)
    assert config.sla_for(Priority.URGENT).resolution == timedelta(hours=4)
    assert (config.reactions.ticket, config.reactions.claim) == ("ticket", "raising_hand")
    assert config.customer_channels[0].customer == "3"


def test_unquoted_times_and_dates_in_yaml(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "business_hours:\n  start: 9:00\n  end: 17:00\nholidays: [2026-12-25]\n",
    )
    config = load_config(path)
    assert config.business_hours is not None
    assert (config.business_hours.start, config.business_hours.end) == (time(9), time(17))
    assert config.holidays == (date(2026, 12, 25),)


# --------------------------------------------------------------------------------------------------
# Every validation, by key

CHANNEL_MESSAGE = "is not a Slack channel ID (like C0123ABCD); copy it from the channel's details"

BAD: list[tuple[dict[Any, Any], str, str]] = [
    ({"timezone": "Mars/Base"}, "timezone", "'Mars/Base' is not a known time zone"),
    ({"timezone": 5}, "timezone", "expected a time zone name"),
    ({"agents": ["U0AGENT1", "bob"]}, "agents[1]", "'bob' is not a Slack user ID"),
    ({"agents": "U0AGENT1"}, "agents", "expected a list"),
    ({"agent_usergroup": "@support"}, "agent_usergroup", "is not a Slack user group ID"),
    ({"intake": [{"channel": "help"}]}, "intake[0].channel", f"'help' {CHANNEL_MESSAGE}"),
    ({"intake": [{"queue": "billing"}]}, "intake[0].channel", "field required"),
    ({"intake": {"channel": "C0HELP"}}, "intake", "expected a list"),
    ({"intake": ["C0HELP"]}, "intake[0]", "expected a mapping"),
    ({"intake": [{"channel": "C0HELP", "queue": ""}]}, "intake[0].queue", "must not be empty"),
    (
        {"intake": [{"channel": "C0HELP"}, {"channel": "C0B"}, {"channel": "C0HELP"}]},
        "intake[2].channel",
        "'C0HELP' is already listed at intake[0].channel",
    ),
    ({"default_queue": ""}, "default_queue", "must not be empty"),
    ({"triage_channel": "#triage"}, "triage_channel", CHANNEL_MESSAGE),
    ({"customer_channels": [{"channel": "C0ACME"}]}, "customer_channels[0].customer", "required"),
    ({"customer_channels": [{"customer": "Acme"}]}, "customer_channels[0].channel", "required"),
    (
        {"customer_channels": [{"channel": "acme", "customer": "Acme"}]},
        "customer_channels[0].channel",
        CHANNEL_MESSAGE,
    ),
    (
        {"customer_channels": [{"channel": "C0ACME", "customer": "Acme"}]},
        "triage_channel",
        "required when customer_channels are listed",
    ),
    (
        {"triage_channel": "C0ACME", "customer_channels": [{"channel": "C0ACME", "customer": "A"}]},
        "triage_channel",
        "C0ACME is a customer channel; the triage channel must be internal",
    ),
    (
        {
            "triage_channel": "C0TRIAGE",
            "digests": {"channel": "C0ACME"},
            "customer_channels": [{"channel": "C0ACME", "customer": "A"}],
        },
        "digests.channel",
        "C0ACME is a customer channel; the managers' digests",
    ),
    (
        {
            "triage_channel": "C0TRIAGE",
            "intake": [{"channel": "C0ACME"}],
            "customer_channels": [{"channel": "C0ACME", "customer": "A"}],
        },
        "intake[0].channel",
        "C0ACME is also a customer channel",
    ),
    (
        {
            "triage_channel": "C0TRIAGE",
            "customer_channels": [{"channel": "C0ACME", "customer": "A"}],
            "rules": [{"if": {"customer": "A"}, "then": {"notify": ["C0ACME"]}}],
        },
        "rules[0].then.notify",
        "C0ACME is a customer channel; rule notices are internal",
    ),
    (
        {"customer_acknowledgement": "Got it, {name}!"},
        "customer_acknowledgement",
        "unknown placeholder {name} (use {ref}, {customer})",
    ),
    ({"customer_acknowledgement": "Got it {"}, "customer_acknowledgement", "write {{ and }}"),
    (
        {"customer_channels": [{"channel": "C0ACME", "customer": "A", "acknowledgement": ""}]},
        "customer_channels[0].acknowledgement",
        "use acknowledge: false to send none",
    ),
    ({"grouping_window": "soon"}, "grouping_window", "soon"),
    ({"pleasantries": "thanks"}, "pleasantries", "expected a list"),
    ({"engineering": [{"channel": "C0ENG"}]}, "engineering[0].product", "field required"),
    ({"engineering": [{"product": "default"}]}, "engineering[0].channel", "field required"),
    (
        {
            "engineering": [
                {"product": "api", "channel": "C0A"},
                {"product": "api", "channel": "C0B"},
            ]
        },
        "engineering[1].product",
        "'api' is already listed at engineering[0].product",
    ),
    ({"products": "Web app"}, "products", "expected a list"),
    ({"products": ["Web", "Web"]}, "products[1]", "already listed at products[0]"),
    ({"digests": {}}, "digests.channel", "field required"),
    ({"digests": "C0MGRS"}, "digests", "expected a mapping of keys (like channel: C0123ABCD)"),
    ({"feature_requests": {"channel": "ideas"}}, "feature_requests.channel", CHANNEL_MESSAGE),
    ({"default_priority": "critical"}, "default_priority", "'critical' is not a priority"),
    (
        {"business_hours": {"days": ["mon", "funday"], "start": "09:00", "end": "17:00"}},
        "business_hours.days[1]",
        "'funday' is not a day",
    ),
    (
        {"business_hours": {"days": [], "start": "09:00", "end": "17:00"}},
        "business_hours.days",
        "at least one day",
    ),
    (
        {"business_hours": {"start": "9am", "end": "17:00"}},
        "business_hours.start",
        "'9am' is not a time",
    ),
    ({"business_hours": {"start": "09:00", "end": "25:00"}}, "business_hours.end", "not a time"),
    ({"business_hours": {"start": "09:00", "end": 1020}}, "business_hours.end", "in quotes"),
    ({"business_hours": {"end": "17:00"}}, "business_hours.start", "field required"),
    (
        {"business_hours": {"start": "17:00", "end": "09:00"}},
        "business_hours.end",
        "must be later than start",
    ),
    (
        {"business_hours": {"start": "09:00", "end": "09:00"}},
        "business_hours.end",
        "must be later than start",
    ),
    ({"holidays": ["2026-13-01"]}, "holidays[0]", "'2026-13-01' is not a date"),
    ({"holidays": ["2026-12-24", "xmas"]}, "holidays[1]", "'xmas' is not a date"),
    ({"holidays": "2026-12-25"}, "holidays", "expected a list"),
    (
        {"sla": {"urgent": {"first_response": "15x", "resolution": "4h"}}},
        "sla.urgent.first_response",
        "'15x' is not a duration (use 15m, 4h, 2d)",
    ),
    (
        {"sla": {"low": {"first_response": "8h", "resolution": 72}}},
        "sla.low.resolution",
        "add a unit",
    ),
    ({"sla": {"critical": {}}}, "sla.critical", "'critical' is not a priority"),
    ({"sla": {"high": "1h"}}, "sla.high", "expected a mapping"),
    ({"sla": "fast"}, "sla", "expected a mapping of priorities"),
    (
        {"sla": {"high": {"first_response": "9h", "resolution": "8h"}}},
        "sla.high.first_response",
        "the first response target (9h) is longer than the resolution target (8h)",
    ),
    (
        {"sla": {"low": {"first_response": "80h"}}},  # against the default 72h resolution
        "sla.low.first_response",
        "longer than the resolution target (3d)",
    ),
    ({"sla": {"medium": {"resolution": "0m"}}}, "sla.medium.resolution", "longer than zero"),
    ({"knowledge_base": {"path": ""}}, "knowledge_base.path", "must not be empty"),
    ({"reactions": {"claim": "thumbs up"}}, "reactions.claim", "is not an emoji name"),
    ({"reactions": {"claim": "ticket"}}, "reactions.claim", "already the ticket reaction"),
    (
        {"reactions": {"escalate": ":white_check_mark:"}},
        "reactions.escalate",
        "'white_check_mark' is already the resolve reaction",
    ),
    ({"reactions": "eyes"}, "reactions", "expected a mapping"),
    ({"intak": []}, "intak", "unknown key (did you mean 'intake'?)"),
    ({"sla": {"urgent": {"first_respons": "5m"}}}, "sla.urgent.first_respons", "'first_response'"),
    ({"intake": [{"channel": "C0HELP", "queu": "x"}]}, "intake[0].queu", "did you mean 'queue'"),
    (
        {"business_hours": {"start": "09:00", "end": "17:00", "dayz": []}},
        "business_hours.dayz",
        "'days'",
    ),
    ({"reactions": {"resolved": "done"}}, "reactions.resolved", "did you mean 'resolve'"),
    ({1: "x"}, "1", "unknown key"),
]


@pytest.mark.parametrize(("data", "key", "fragment"), BAD, ids=[case[1] for case in BAD])
def test_each_validation_names_its_key(data: dict[Any, Any], key: str, fragment: str) -> None:
    problems = problems_of(data)
    assert key in problems, problems
    assert fragment in problems[key]


def test_unknown_key_without_a_close_match_has_no_hint() -> None:
    assert problems_of({"colour": "blue"}) == {"colour": "unknown key"}


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(ConfigInvalid) as caught:
        parse_config(
            {
                "timezone": "Mars/Base",
                "agents": ["U0AGENT1", "bob"],
                "intake": [{"channel": "help"}],
                "default_priority": "critical",
                "business_hours": {"start": "09:00", "end": "08:00"},
                "sla": {"urgent": {"first_response": "15x"}},
                "reactions": {"resolve": "eyes"},
                "intak": [],
            }
        )
    keys = [p.key for p in caught.value.problems]
    assert set(keys) == {
        "timezone",
        "agents[1]",
        "intake[0].channel",
        "default_priority",
        "business_hours.end",
        "sla.urgent.first_response",
        "reactions.resolve",
        "intak",
    }
    text = str(caught.value)
    assert len(text.splitlines()) == len(keys)
    assert "intake[0].channel: 'help' is not a Slack channel ID" in text
    assert "sla.urgent.first_response: '15x' is not a duration (use 15m, 4h, 2d)" in text
    assert "timezone: 'Mars/Base' is not a known time zone" in text


def test_every_duplicate_is_reported() -> None:
    problems = problems_of(
        {"intake": [{"channel": "C0A"}, {"channel": "C0B"}, {"channel": "C0A"}, {"channel": "C0B"}]}
    )
    assert set(problems) == {"intake[2].channel", "intake[3].channel"}


def test_invalid_file_content_raises_config_invalid(tmp_path: Path) -> None:
    path = write(tmp_path, "timezone: Mars/Base\nagents: [bob]\n")
    with pytest.raises(ConfigInvalid) as caught:
        load_config(path)
    assert {p.key for p in caught.value.problems} == {"timezone", "agents[0]"}
    assert caught.value.source == str(path)


def test_non_mapping_given_to_parse_config() -> None:
    assert problems_of(["timezone"]) == {"": "expected a mapping of keys (key: value), not a list"}


NON_MAPPINGS_AND_BAD_VALUES: list[Any] = [
    ["timezone"],
    {"timezone": "Mars/Base", "agents": "x", "intake": [1, {"channel": []}], "zz": 1},
    {"sla": {"urgent": {"first_response": None, "resolution": "x"}, 3: []}, "holidays": [1.5]},
    {"business_hours": {"days": "mon", "start": [], "end": {}}, "reactions": {"claim": 5}},
    {"digests": [], "knowledge_base": 3, "engineering": [{"product": [], "channel": 5}]},
]


@pytest.mark.parametrize("data", NON_MAPPINGS_AND_BAD_VALUES)
def test_messages_carry_no_pydantic_jargon(data: Any) -> None:
    with pytest.raises(ConfigInvalid) as caught:
        parse_config(data)
    for problem in caught.value.problems:
        for jargon in (
            "pydantic",
            "Input should",
            "Value error",
            "http",
            "[key]",
            "Field required",
        ):
            assert jargon not in str(problem), problem


def test_jargon_free_across_the_whole_bad_table() -> None:
    for data, _, _ in BAD:
        with pytest.raises(ConfigInvalid) as caught:
            parse_config(data)
        text = str(caught.value)
        assert "pydantic" not in text.lower()
        assert "Input should" not in text
        assert "Value error" not in text


def test_format_problems_and_str() -> None:
    problems = [ConfigProblem("sla.urgent.first_response", "bad"), ConfigProblem("", "top")]
    assert format_problems(problems) == "sla.urgent.first_response: bad\ntop"
    assert str(ConfigInvalid(problems)) == format_problems(problems)
    assert ConfigInvalid(problems).problems == problems


# --------------------------------------------------------------------------------------------------
# The file itself


def one_line_error(path: Path) -> str:
    with pytest.raises(ConfigFileError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "supportbot.yml"
    assert one_line_error(path) == f"{path}: file not found"


def test_missing_file_relative_path_is_named_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigFileError) as caught:
        load_config("supportbot.yml")
    assert str(caught.value) == "supportbot.yml: file not found"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    assert "directory" in one_line_error(tmp_path)


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "timezone: UTC\nagents: [U0AGENT1\n\nintake:\n  - channel: C0HELP\n")
    message = one_line_error(path)
    assert f"{path}: YAML syntax error at line " in message
    assert ", column " in message


def test_unquoted_colon_value_gets_a_quoting_hint(tmp_path: Path) -> None:
    message = one_line_error(write(tmp_path, "reactions:\n  claim: :eyes:\n"))
    assert "YAML syntax error at line 2, column" in message
    assert "quotes" in message


def test_top_level_list(tmp_path: Path) -> None:
    message = one_line_error(write(tmp_path, "- timezone: UTC\n- agents: []\n"))
    assert "top level must be a mapping" in message


def test_top_level_scalar(tmp_path: Path) -> None:
    assert "top level must be a mapping" in one_line_error(write(tmp_path, "just text\n"))


def test_key_given_twice(tmp_path: Path) -> None:
    message = one_line_error(write(tmp_path, "agents: [U0A1]\ntimezone: UTC\nagents: [U0A2]\n"))
    assert "'agents' appears twice" in message
    assert "lines 1 and 3" in message


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "supportbot.yml"
    path.write_bytes(b"timezone: \xff\xfe\n")
    assert "UTF-8" in one_line_error(path)


# --------------------------------------------------------------------------------------------------
# Durations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", timedelta(minutes=15)),
        ("4h", timedelta(hours=4)),
        ("2d", timedelta(days=2)),
        ("90s", timedelta(seconds=90)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("2d3h4m5s", timedelta(days=2, hours=3, minutes=4, seconds=5)),
        ("1h 30m", timedelta(hours=1, minutes=30)),
        (" 72h ", timedelta(hours=72)),
        ("0m", timedelta(0)),
        ("15M", timedelta(minutes=15)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "15", "15x", "m", "h1", "1.5h", "30m1h", "1h1h", "-5m", "1 hour", "4 h x"]
)
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not a duration \(use 15m, 4h, 2d\)"):
        parse_duration(text)


def test_parse_duration_rejects_non_text() -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(15)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# Escalation: the second line and engineering channels


def test_second_line_defaults_to_a_queue_named_tier2() -> None:
    with_tier2 = parse_config({"queues": [{"name": "general"}, {"name": "tier2"}]})
    without = parse_config({"queues": [{"name": "general"}, {"name": "tier3"}]})

    assert with_tier2.second_line == "tier2"
    assert without.second_line is None
    assert parse_config({}).second_line is None
    assert parse_config({"queues": [{"name": "tier2"}], "second_line": None}).second_line == (
        "tier2"
    )


def test_explicit_second_line_names_a_listed_queue() -> None:
    config = parse_config(
        {
            "engineering": [{"product": "default", "channel": "C0ENG"}],
            "queues": [{"name": "tier2"}, {"name": "experts"}],
            "second_line": "experts",
        }
    )
    assert config.second_line == "experts"
    assert config.escalation_targets() == [("engineering", "default"), ("second_line", "experts")]
    assert parse_config({}).escalation_targets() == []


@pytest.mark.parametrize(
    ("data", "listed"),
    [
        ({"queues": [{"name": "general"}], "second_line": "tier2"}, "general"),
        ({"second_line": "tier2"}, "none"),
    ],
)
def test_second_line_naming_an_unlisted_queue_is_a_problem(data: Any, listed: str) -> None:
    problems = problems_of(data)
    assert set(problems) == {"second_line"}, problems
    assert "'tier2' is not a queue listed under queues" in problems["second_line"]
    assert f"(listed: {listed})" in problems["second_line"]


def test_engineering_channel_may_not_be_a_customer_channel() -> None:
    problems = problems_of(
        {
            "triage_channel": "C0TRIAGE",
            "customer_channels": [{"channel": "C0ACME", "customer": "Acme Corp"}],
            "engineering": [
                {"product": "default", "channel": "C0ENG"},
                {"product": "API", "channel": "C0ACME"},
            ],
        }
    )
    assert set(problems) == {"engineering[1].channel"}, problems
    assert "C0ACME is a customer channel" in problems["engineering[1].channel"]

    first = problems_of(
        {
            "triage_channel": "C0TRIAGE",
            "customer_channels": [{"channel": "C0ACME", "customer": "Acme Corp"}],
            "engineering": [{"product": "default", "channel": "C0ACME"}],
        }
    )
    assert set(first) == {"engineering[0].channel"}, first
