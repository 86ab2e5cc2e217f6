"""Templates: interpolations are escaped or JSON, Slack's limits hold, the card is right."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from bot.config import DeskConfig
from storage.models import Ticket
from templates.cards import build_ticket_card
from templates.modals import IntakeForm, build_intake_modal
from templates.mrkdwn import escape_mrkdwn
from templates.render import MAX_SECTION_TEXT, TEMPLATE_DIR, fit_blocks, truncate
from templates.wording import format_days, format_duration

INTERPOLATION = re.compile(r"{{(.*?)}}", re.S)
# Macros escape inside: `option` (modal choices), `slack_date` and `clock_line`
# (sla_macros.j2), `attention` (sla_digest.json.j2), `fields` (weekly_digest.json.j2), `line`
# (stats_answer.json.j2).
SAFE = re.compile(
    r"\|\s*(mrkdwn|tojson)\b|^\s*(option|slack_date|clock_line|attention|fields|line)\("
)


def test_every_interpolation_is_escaped_or_json() -> None:
    """No template can repeat user text raw: each `{{ }}` uses `mrkdwn` or `tojson`."""
    offenders = []
    for path in TEMPLATE_DIR.glob("*.j2"):
        for expression in INTERPOLATION.findall(path.read_text()):
            if not SAFE.search(expression):
                offenders.append(f"{path.name}: {{{{{expression}}}}}")
    assert offenders == []


def test_escape_neutralises_pings_and_links() -> None:
    text = "<!channel> <@U123> <#C1> <https://evil.example|bank> & co"
    escaped = escape_mrkdwn(text)
    assert "<" not in escaped and ">" not in escaped
    assert escaped.startswith("&lt;!channel&gt;") and escaped.endswith("&amp; co")


def _ticket(**overrides: object) -> Ticket:
    now = datetime(2026, 11, 23, 15, tzinfo=UTC)
    fields: dict[str, object] = dict(
        id=42,
        intake_source="modal",
        requester="U0ALICE",
        queue="billing",
        status="open",
        priority="urgent",
        issue_type="technical_issue",
        product="Billing",
        users_affected=250,
        site_down=True,
        description="<!here> invoices fail\nsecond line",
        escalated=False,
        created_at=now,
        updated_at=now,
        requester_is_external=False,
    )
    fields.update(overrides)
    return Ticket(**fields)


def test_ticket_card_shows_what_the_requester_needs(desk_config: DeskConfig) -> None:
    """Ref, status, priority, requester, queue, scale, the escaped question, what happens next."""
    card = build_ticket_card(_ticket(), desk_config, show_description=True)
    assert card["text"] == "Ticket #42 · Open · Urgent priority"
    flat = str(card["blocks"])
    assert "*Ticket #42* · Open" in flat and "<@U0ALICE>" in flat
    assert "250 users affected, site down" in flat
    assert "&lt;!here&gt; invoices fail" in flat and "<!here>" not in flat
    assert ">second line" in flat
    assert "first response within 15 minutes" in flat and "Mon–Fri 09:00–17:00" in flat


def test_long_description_is_cut_within_slack_limits(desk_config: DeskConfig) -> None:
    card = build_ticket_card(_ticket(description="a&b " * 2000), desk_config, show_description=True)
    for block in card["blocks"]:
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= MAX_SECTION_TEXT
    assert truncate("x" * 10 + "&amp;", 13).endswith("…")
    assert "&am…" not in truncate("x" * 10 + "&amp;", 13)


def test_blocks_over_the_limit_are_cut_with_a_note() -> None:
    blocks = [{"type": "divider"} for _ in range(60)]
    fitted = fit_blocks(blocks, 50)
    assert len(fitted) == 50 and fitted[-1]["type"] == "context"


def test_intake_modal_is_valid_block_kit_shape() -> None:
    """Initial options must be one of the options, or Slack rejects the view."""
    view = build_intake_modal(
        IntakeForm(
            priority="high",
            issue_type="technical_issue",
            product="API",
            show_scale=True,
            users_affected=12,
            site_down=False,
            description="x",
        ),
        products=("Billing", "API"),
        private_metadata='{"channel": "C1"}',
    )
    assert view["type"] == "modal" and len(view["title"]["text"]) <= 24
    for block in view["blocks"]:
        element = block["element"]
        if "initial_option" in element:
            assert element["initial_option"] in element["options"]
    by_id = {block["block_id"]: block for block in view["blocks"]}
    assert by_id["users_affected"]["element"]["initial_value"] == "12"
    assert by_id["site_down"]["element"]["initial_option"]["value"] == "no"


def test_wording_helpers() -> None:
    assert format_duration(timedelta(hours=1, minutes=30)) == "1 hour 30 minutes"
    assert format_duration(timedelta(minutes=15)) == "15 minutes"
    assert format_duration(timedelta(days=2)) == "2 days"
    assert format_days(["mon", "tue", "wed", "thu", "fri"]) == "Mon–Fri"
    assert format_days(["mon", "wed", "fri"]) == "Mon, Wed, Fri"
