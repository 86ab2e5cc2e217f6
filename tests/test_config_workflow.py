"""The config keys of the ticket workflow: `queues`, `taxonomy`, `rules` and `reopen_window`. Each
mistake is reported at its dotted key, in plain English, all at once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import (
    ConfigInvalid,
    DeskConfig,
    Queue,
    Rule,
    Taxonomy,
    load_config,
    parse_config,
)
from tests.conftest import TEST_CONFIG

EXAMPLE = Path(__file__).resolve().parent.parent / "supportbot.example.yml"

DEFAULT_TAXONOMY = {
    "departments": (
        "Sales",
        "Marketing",
        "Accounting",
        "Customer success",
        "Product",
        "Engineering",
    ),
    "support_types": (
        "Quick fix",
        "Resource building",
        "Engineering investigation",
        "Feature request",
    ),
    "client_priorities": ("Customer size/revenue", "Implementation/new", "At risk"),
    "internal_priorities": ("Low", "Medium", "High", "Critical"),
}


def problems_of(data: dict[str, Any]) -> dict[str, str]:
    """Validate `data`, expecting failure; return {key: message}."""
    with pytest.raises(ConfigInvalid) as caught:
        parse_config(data)
    problems = caught.value.problems
    assert problems, "ConfigInvalid without problems"
    keys = [p.key for p in problems]
    assert len(keys) == len(set(keys)), f"a key reported twice: {keys}"
    return {p.key: p.message for p in problems}


def one_rule(when: Any, then: Any) -> Rule:
    return parse_config({"rules": [{"if": when, "then": then}]}).rules[0]


def rule_problems(when: Any, then: Any) -> dict[str, str]:
    return problems_of({"rules": [{"if": when, "then": then}]})


# --- the example and the defaults --------------------------------------------------------------


def test_example_file_loads_the_workflow_keys() -> None:
    config = load_config(EXAMPLE)
    assert config.queues == (
        Queue(name="general", auto_assign="round_robin"),
        Queue(name="tier2", agents=("U0AGENT2",), auto_assign="least_loaded", lead="U0AGENT2"),
    )
    assert config.queue("tier2") is config.queues[1]
    assert config.queue("billing") is None
    assert config.taxonomy == Taxonomy(**DEFAULT_TAXONOMY)
    assert [(r.when, r.then) for r in config.rules] == [
        (
            {"issue_type": ("technical_issue",), "priority": ("high",)},
            {"priority": "urgent", "queue": "tier2", "notify": ("C0TIER2",)},
        ),
        (
            {"tier": ("enterprise",), "text": ("outage", "down", "can't log in")},
            {"priority": "urgent", "tags": ("outage",)},
        ),
    ]
    assert config.reopen_window == timedelta(days=7)


def test_workflow_defaults() -> None:
    config = parse_config({})
    assert (config.queues, config.rules) == ((), ())
    assert config.taxonomy == Taxonomy(**DEFAULT_TAXONOMY)
    assert config.reopen_window == timedelta(days=7)
    assert parse_config(TEST_CONFIG).reopen_window == timedelta(days=7)
    # `key:` with nothing after it means "not set".
    empty = parse_config({"queues": None, "taxonomy": None, "rules": None, "reopen_window": None})
    assert empty == config


def test_workflow_keys_are_in_the_example() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    for key in ("queues", "taxonomy", "rules", "reopen_window"):
        assert key in DeskConfig.model_fields
        assert f"\n{key}:" in text, key


# --- queues ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "mode"),
    [
        ("none", "none"),
        ("round_robin", "round_robin"),
        ("round-robin", "round_robin"),
        (" Round-Robin ", "round_robin"),
        ("least_loaded", "least_loaded"),
        ("LEAST-LOADED", "least_loaded"),
        (False, "none"),  # YAML's `no`/`off`/`false`
        (None, "none"),  # `auto_assign:` left empty
    ],
)
def test_auto_assign_spellings(given: Any, mode: str) -> None:
    [queue] = parse_config({"queues": [{"name": "general", "auto_assign": given}]}).queues
    assert queue.auto_assign == mode


@pytest.mark.parametrize("given", ["random", "roundrobin", True, 1, ["round_robin"]])
def test_unknown_auto_assign_mode(given: Any) -> None:
    problems = problems_of({"queues": [{"name": "general", "auto_assign": given}]})
    assert list(problems) == ["queues[0].auto_assign"]
    message = problems["queues[0].auto_assign"]
    assert "is not an auto-assignment mode (use none, round_robin, least_loaded)" in message


def test_queue_entries() -> None:
    config = parse_config(
        {
            "queues": [
                {"name": "tier2", "agents": ["U0AGENT2", "W0ENTERPRISE"], "lead": "U0AGENT2"},
                {"name": 2026},  # numbers are names too
            ]
        }
    )
    assert config.queues == (
        Queue(name="tier2", agents=("U0AGENT2", "W0ENTERPRISE"), lead="U0AGENT2"),
        Queue(name="2026"),
    )


def test_duplicate_queue_names_are_reported_at_the_repeat() -> None:
    problems = problems_of(
        {"queues": [{"name": "tier2"}, {"name": "tier3"}, {"name": "tier2"}, {"name": "tier3"}]}
    )
    assert problems == {
        "queues[2].name": "queue 'tier2' is already listed at queues[0].name",
        "queues[3].name": "queue 'tier3' is already listed at queues[1].name",
    }


def test_bad_user_ids_in_a_queue() -> None:
    problems = problems_of(
        {"queues": [{"name": "tier2", "agents": ["U0AGENT2", "bob", "@carol"], "lead": "#lead"}]}
    )
    assert set(problems) == {"queues[0].agents[1]", "queues[0].agents[2]", "queues[0].lead"}
    assert problems["queues[0].agents[1]"].startswith("'bob' is not a Slack user ID")
    assert "Copy member ID" in problems["queues[0].agents[2]"]
    assert problems["queues[0].lead"].startswith("'#lead' is not a Slack user ID")


@pytest.mark.parametrize(
    ("queues", "key", "message"),
    [
        ("general", "queues", "expected a list, not 'general'"),
        ([{"auto_assign": "none"}], "queues[0].name", "field required"),
        ([{"name": ""}], "queues[0].name", "must not be empty"),
        ([{"name": "a", "agents": "U0AGENT1"}], "queues[0].agents", "expected a list"),
        (
            [{"name": "a", "auto_assing": "none"}],
            "queues[0].auto_assing",
            "unknown key (did you mean 'auto_assign'?)",
        ),
        (["tier2"], "queues[0]", "expected a mapping of keys (like name: tier2)"),
    ],
)
def test_queue_shape_problems(queues: Any, key: str, message: str) -> None:
    problems = problems_of({"queues": queues})
    assert list(problems) == [key]
    assert problems[key].startswith(message)


# --- taxonomy ----------------------------------------------------------------------------------


def test_taxonomy_lists_can_be_replaced_one_at_a_time() -> None:
    taxonomy = parse_config({"taxonomy": {"departments": ["Ops", "Finance"]}}).taxonomy
    assert taxonomy.departments == ("Ops", "Finance")
    assert taxonomy.support_types == DEFAULT_TAXONOMY["support_types"]
    assert taxonomy.client_priorities == DEFAULT_TAXONOMY["client_priorities"]
    assert taxonomy.internal_priorities == DEFAULT_TAXONOMY["internal_priorities"]


def test_taxonomy_duplicates_are_reported_at_the_repeat() -> None:
    problems = problems_of(
        {
            "taxonomy": {
                "departments": ["Sales", "Ops", "Sales"],
                "internal_priorities": ["P1", "P2", "P2"],
            }
        }
    )
    assert problems == {
        "taxonomy.departments[2]": "value 'Sales' is already listed at taxonomy.departments[0]",
        "taxonomy.internal_priorities[2]": (
            "value 'P2' is already listed at taxonomy.internal_priorities[1]"
        ),
    }


@pytest.mark.parametrize(
    ("taxonomy", "key", "message"),
    [
        ({"support_types": "Quick fix"}, "taxonomy.support_types", "expected a list"),
        ({"departments": ["", "Ops"]}, "taxonomy.departments[0]", "must not be empty"),
        (
            {"deparments": ["Ops"]},
            "taxonomy.deparments",
            "unknown key (did you mean 'departments'?)",
        ),
        ("Sales", "taxonomy", "expected a mapping of keys"),
    ],
)
def test_taxonomy_shape_problems(taxonomy: Any, key: str, message: str) -> None:
    problems = problems_of({"taxonomy": taxonomy})
    assert list(problems) == [key]
    assert problems[key].startswith(message)


# --- rules -------------------------------------------------------------------------------------


def test_rule_tests_are_normalized() -> None:
    rule = one_rule(
        {
            "priority": "High",
            "issue_type": ["technical_issue", "Question"],
            "tier": {"in": ["Enterprise", "Gold"]},
            "customer": {"eq": "Acme Corp"},
            "external": True,
            "product": 42,
            "text": ["Outage", "can't log in"],
        },
        {"priority": "URGENT"},
    )
    assert rule.when == {
        "priority": ("high",),
        "issue_type": ("technical_issue", "question"),
        "tier": ("enterprise", "gold"),
        "customer": ("acme corp",),
        "external": ("true",),
        "product": ("42",),
        "text": ("Outage", "can't log in"),  # words keep their case: they match in any case
    }
    assert rule.then == {"priority": "urgent"}


def test_rule_actions_are_normalized() -> None:
    rule = one_rule(
        {"priority": "high"},
        {
            "priority": "Urgent",
            "queue": "tier2",
            "notify": "C0TIER2",
            "tags": "outage",
            "assign": "AUTO",
            "internal_priority": "Critical",
            "support_type": "Quick fix",
            "client_priority": "At risk",
            "product": "API",
            "issue_type": "technical_issue",
        },
    )
    assert rule.then == {
        "priority": "urgent",
        "queue": "tier2",
        "notify": ("C0TIER2",),
        "tags": ("outage",),
        "assign": "auto",
        "internal_priority": "Critical",
        "support_type": "Quick fix",
        "client_priority": "At risk",
        "product": "API",
        "issue_type": "technical_issue",
    }
    assert one_rule({"text": "vip"}, {"assign": "U0AGENT1", "notify": ["C0A1", "G0PRIV"]}).then == {
        "assign": "U0AGENT1",
        "notify": ("C0A1", "G0PRIV"),
    }


def test_unknown_rule_test_with_a_hint() -> None:
    assert rule_problems({"prio": "high"}, {"priority": "urgent"}) == {
        "rules[0].if.prio": "cannot test 'prio' (did you mean 'priority'?)"
    }
    assert rule_problems({"departement": "Sales"}, {"priority": "urgent"}) == {
        "rules[0].if.departement": "cannot test 'departement' (did you mean 'department'?)"
    }
    assert rule_problems({"colour": "red"}, {"priority": "urgent"}) == {
        "rules[0].if.colour": "cannot test 'colour'"
    }


def test_bad_priority_values() -> None:
    problems = rule_problems({"priority": ["high", "hihg"]}, {"priority": "asap"})
    assert set(problems) == {"rules[0].if.priority", "rules[0].then.priority"}
    assert problems["rules[0].if.priority"].startswith("'hihg' is not a priority (use low")
    assert problems["rules[0].then.priority"].startswith("'asap' is not a priority (use low")


@pytest.mark.parametrize(
    ("then", "key", "message"),
    [
        ({"notify": "#tier2"}, "rules[0].then.notify", "'#tier2' is not a Slack channel ID"),
        ({"notify": ["C0OK1", "tier2"]}, "rules[0].then.notify", "'tier2' is not a Slack channel"),
        ({"escalate": True}, "rules[0].then.escalate", "unknown action 'escalate'"),
        ({"asign": "auto"}, "rules[0].then.asign", "unknown action 'asign' (did you mean 'assign'"),
        ({"assign": "bob"}, "rules[0].then.assign", "'bob' is not a Slack user ID"),
        ({"assign": 5}, "rules[0].then.assign", "expected a user ID or auto, not 5"),
        ({"tags": ""}, "rules[0].then.tags", "must not be empty"),
        ({"issue_type": "bug"}, "rules[0].then.issue_type", "'bug' is not a"),
    ],
)
def test_bad_rule_actions(then: dict[str, Any], key: str, message: str) -> None:
    problems = rule_problems({"priority": "high"}, then)
    assert list(problems) == [key]
    assert problems[key].startswith(message)


@pytest.mark.parametrize(
    ("rule", "key", "message"),
    [
        ({"then": {"priority": "high"}}, "rules[0].if", "field required"),
        ({"if": {"priority": "high"}}, "rules[0].then", "field required"),
        (
            {"if": {"priority": "high"}, "then": {"priority": "urgent"}, "else": {}},
            "rules[0].else",
            "unknown key",
        ),
        ("priority high", "rules[0]", "expected a mapping of keys (like if: {priority: high})"),
        (
            {"if": {"priority": {"gt": "high"}}, "then": {"priority": "urgent"}},
            "rules[0].if.priority",
            "use a value, a list of values, or {in: [values]}",
        ),
        (
            {"if": {"external": "maybe"}, "then": {"priority": "urgent"}},
            "rules[0].if.external",
            "'maybe' is neither true nor false",
        ),
        (
            {"if": {"issue_type": "bug"}, "then": {"priority": "urgent"}},
            "rules[0].if.issue_type",
            "'bug' is not",
        ),
    ],
)
def test_rule_shape_problems(rule: Any, key: str, message: str) -> None:
    problems = problems_of({"rules": [rule]})
    assert list(problems) == [key]
    assert problems[key].startswith(message)


def test_every_rule_problem_is_reported_at_once() -> None:
    problems = problems_of(
        {
            "queues": [{"name": "general", "auto_assign": "sometimes"}],
            "rules": [
                {"if": {"prio": "high"}, "then": {"priority": "urgent"}},
                {"if": {"priority": "high"}, "then": {"priority": "urgent"}},
                {"if": {"tier": "gold"}, "then": {"notify": "general", "bogus": 1}},
            ],
            "reopen_window": "soon",
        }
    )
    assert list(problems) == [
        "queues[0].auto_assign",
        "rules[0].if.prio",
        "rules[2].then.notify",
        "rules[2].then.bogus",
        "reopen_window",
    ]
    assert "rules" not in problems and "rules[1]" not in "".join(problems)


def test_rule_issue_type_action_is_stored_in_its_canonical_form() -> None:
    assert one_rule({"priority": "high"}, {"issue_type": "Technical_Issue"}).then == {
        "issue_type": "technical_issue"
    }


@pytest.mark.parametrize(
    ("when", "key"),
    [
        ({"issue_type": "bug"}, "rules[0].if.issue_type"),
        ({"external": "maybe"}, "rules[0].if.external"),
    ],
)
def test_vocabulary_problems_read_as_plain_english(when: dict[str, Any], key: str) -> None:
    message = rule_problems(when, {"priority": "urgent"})[key]
    assert " a issue" not in message and " a external" not in message, message


@pytest.mark.parametrize(
    ("rule", "key"),
    [
        ({"if": {}, "then": {"priority": "urgent"}}, "rules[0].if"),
        ({"if": {"priority": "high"}, "then": {}}, "rules[0].then"),
        ({"if": {"priority": []}, "then": {"priority": "urgent"}}, "rules[0].if.priority"),
    ],
)
def test_empty_rule_parts_are_explained(rule: dict[str, Any], key: str) -> None:
    message = problems_of({"rules": [rule]})[key]
    assert "not a mapping" not in message and "not a list" not in message, message


# --- reopen_window -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "window"),
    [
        ("7d", timedelta(days=7)),
        ("3d", timedelta(days=3)),
        ("36h", timedelta(hours=36)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        (" 2D ", timedelta(days=2)),
    ],
)
def test_reopen_window_durations(given: str, window: timedelta) -> None:
    assert parse_config({"reopen_window": given}).reopen_window == window


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (7, "7 is not a duration; add a unit (use 15m, 4h, 2d)"),
        ("0m", "must be longer than zero"),
        ("a week", "'a week' is not a duration (use 15m, 4h, 2d)"),
        ("-1d", "'-1d' is not a duration (use 15m, 4h, 2d)"),
        ([], "expected a duration (like 15m, 4h, 2d), not a list"),
    ],
)
def test_bad_reopen_window(given: Any, message: str) -> None:
    assert problems_of({"reopen_window": given}) == {"reopen_window": message}


def test_workflow_keys_from_a_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "supportbot.yml"
    path.write_text(
        "queues:\n"
        "  - name: general\n"
        "    auto_assign: no\n"  # YAML 1.1 reads `no` as false
        "  - name: tier2\n"
        "    auto_assign: round-robin\n"
        "    agents: [U0AGENT2]\n"
        "rules:\n"
        "  - if: {issue_type: technical_issue, priority: [high, urgent]}\n"
        "    then: {queue: tier2, assign: auto, notify: C0TIER2}\n"
        "  - if: {external: true}\n"
        "    then: {tags: [Slack Connect]}\n"
        "reopen_window: 3d\n",
        encoding="utf-8",
    )
    config = load_config(path)
    assert [(q.name, q.auto_assign, q.agents) for q in config.queues] == [
        ("general", "none", ()),
        ("tier2", "round_robin", ("U0AGENT2",)),
    ]
    assert config.rules[0].when == {
        "issue_type": ("technical_issue",),
        "priority": ("high", "urgent"),
    }
    assert config.rules[0].then == {"queue": "tier2", "assign": "auto", "notify": ("C0TIER2",)}
    assert config.rules[1].when == {"external": ("true",)}
    assert config.rules[1].then == {"tags": ("Slack Connect",)}
    assert config.reopen_window == timedelta(days=3)


def test_yaml_problems_keep_their_source(tmp_path: Path) -> None:
    path = tmp_path / "desk.yml"
    path.write_text(
        "rules:\n  - if: {prio: high}\n    then: {priority: urgent}\n", encoding="utf-8"
    )
    with pytest.raises(ConfigInvalid) as caught:
        load_config(path)
    assert caught.value.source == str(path)
    assert str(caught.value) == "rules[0].if.prio: cannot test 'prio' (did you mean 'priority'?)"
