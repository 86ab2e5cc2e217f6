"""Review of issue 9 (knowledge-base deflection and the feature-request board): defects found,
each shown by a test that failed before its fix."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.config import parse_config
from storage.db import SessionFactory, create_session_factory
from storage.models import KbArticle, KbPassage, OutboxMessage
from tests.conftest import TEST_CONFIG
from workflows.clock import ManualClock
from workflows.delivery import Purpose
from workflows.desk import Desk
from workflows.feature_request_button import mark_feature_request
from workflows.feature_requests import Press
from workflows.intake import IntakeRequest, open_from_modal
from workflows.knowledge import refresh_if_changed, reindex
from workflows.vocabulary import IssueType, Priority

T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
AGENT, ALICE, BOB = "U0AGENT1", "U0ALICE", "U0BOB"
HELP, IDEAS = "C0HELP", "C0IDEAS"
DARK_MODE = "Please add a dark mode to the dashboard"
DARK_MODE_AGAIN = "Could we get a dark mode for the dashboard? My eyes hurt at night"


@pytest.fixture
def sf(engine: Engine) -> SessionFactory:
    return create_session_factory(engine)


def board_desk(clock: ManualClock, **extra: Any) -> Desk:
    clock.set(T0)
    config = {**TEST_CONFIG, "feature_requests": {"channel": IDEAS}, **extra}
    return Desk(parse_config(config), clock)


def modal_ticket(
    sf: SessionFactory,
    desk: Desk,
    text: str,
    *,
    user: str,
    issue_type: IssueType = IssueType.FEATURE_REQUEST,
) -> int:
    request = IntakeRequest(
        requester=user,
        channel=HELP,
        issue_type=issue_type,
        priority=Priority.MEDIUM,
        description=text,
    )
    with sf.begin() as session:
        result = open_from_modal(session, desk, request)
    assert result.ticket_id is not None
    return result.ticket_id


def outbox(sf: SessionFactory, purpose: str) -> list[OutboxMessage]:
    with sf.begin() as session:
        return list(
            session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.purpose == purpose)
                .order_by(OutboxMessage.id)
            )
        )


# --- idempotency -------------------------------------------------------------------------------


def test_feature_request_pressed_twice_offers_the_look_alikes_once(
    sf: SessionFactory, clock: ManualClock
) -> None:
    desk = board_desk(clock)
    modal_ticket(sf, desk, DARK_MODE, user=ALICE)  # on the board already
    ticket_id = modal_ticket(sf, desk, DARK_MODE_AGAIN, user=BOB, issue_type=IssueType.QUESTION)
    for _ in range(2):  # a double click, or Slack's retry of the action
        with sf.begin() as session:
            mark_feature_request(
                session, desk, ticket_id, Press(user=AGENT, at=T0 + timedelta(minutes=5))
            )
    offers = [
        row for row in outbox(sf, Purpose.FEATURE_REQUEST_OFFER) if row.ticket_id == ticket_id
    ]
    assert len(offers) == 1


# --- robustness --------------------------------------------------------------------------------

LONG_HEADING = "## " + "Configuring the single sign-on integration step by step " * 7
LONG_URL = "https://help.example.com/articles/sso?" + "&".join(
    f"utm_p{n}=value{n}" for n in range(40)
)


@pytest.mark.parametrize("where", ["heading", "url"])
def test_a_long_heading_or_url_does_not_break_the_reindex(
    sf: SessionFactory, tmp_path: Path, where: str
) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "billing.md").write_text("# Refunds\n\nRefunds take five days.\n")
    if where == "heading":
        sso = f"# SSO\n\n{LONG_HEADING.strip()}\n\nAsk your admin to add the app in Okta.\n"
    else:
        sso = f"---\ntitle: SSO\nurl: {LONG_URL}\n---\nAsk your admin to add the app in Okta.\n"
    (folder / "sso.md").write_text(sso)
    assert len(LONG_HEADING) > 300 and len(LONG_URL) > 500
    with sf.begin() as session:
        report = reindex(session, folder, now=T0)
    if where == "heading":
        assert sorted(report.added) == ["billing.md", "sso.md"]  # the heading is cut
    else:  # a link can't be cut: the article is refused, saying why, and the rest indexed
        assert report.added == ("billing.md",)
        assert [(p.path, p.problem) for p in report.problems] == [
            ("sso.md", "url is longer than 500 characters")
        ]
    with sf.begin() as session:
        headings = session.scalars(select(KbPassage.heading)).all()
        urls = session.scalars(select(KbArticle.url)).all()
    # Within the columns' sizes, as PostgreSQL requires (SQLite doesn't check).
    assert all(len(h or "") <= 300 for h in headings)
    assert all(len(u or "") <= 500 for u in urls)


def test_an_unreadable_folder_keeps_the_index_as_it_was(
    sf: SessionFactory, clock: ManualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "refunds.md").write_text("# Refunds\n\nRefunds take five days.\n")
    (folder / "sso.md").write_text("# SSO\n\nAsk your admin to add the app in Okta.\n")
    desk = board_desk(clock, knowledge_base={"path": str(folder)})
    assert refresh_if_changed(sf, desk) is not None
    # The volume is remounted with the wrong owner (chmod 000 as another user). The tests run as
    # root, whom permissions don't stop, so scandir is refused the way it is for the bot's user.
    real_scandir = os.scandir

    def refused(path: Any) -> Any:
        if Path(path) == folder:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", refused)
    refresh_if_changed(sf, desk)
    with sf.begin() as session:
        indexed = sorted(session.scalars(select(KbArticle.path)))
    assert indexed == ["refunds.md", "sso.md"]
