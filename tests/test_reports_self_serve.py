"""The weekly digest's self-serve and feature-request figures, against a week seeded by hand.

The week is Mon 26 Oct – Sun 1 Nov 2026 in New York (as in test_reports.py). Questions and what
their requesters said of the knowledge-base answers the bot offered:

  P1  Mon 26 10:00, offered [Refunds], "This solved it" Mon 10:05: deflected.
  P2  Tue 27 10:00, offered [Refunds, Invoices], "I still need help".
  P3  Wed 28 10:00, offered [Invoices], "I still need help".
  P4  Wed 28 11:00, offered [SSO], no answer yet.
  P5  Thu 29 10:00, no offer; an agent's Suggest article [SSO] solved it: not a deflection.
  P6  Thu 29 12:00, offered [Refunds], merged away later: counted nowhere.
  PREV Tue 20 Oct (the week before), offered [SSO], solved: last week's deflection.
  NEXT exactly at UNTIL, offered and solved: next week's.

Feature requests: FR shipped Tue 27 with 3 requesters told then (one more linked and told Wed);
another shipped the week before; a third is planned (never shipped).

So the week's questions are P1–P5 (P6 merged away, NEXT next week's): 5, of which the bot
offered answers to 4 (P1–P4), 1 deflected, 2 unhelpful: 1/5 = 20% deflected; the week before,
1 of 1 = 100%. "Didn't help": Invoices twice (P2, P3), Refunds once (P2).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from storage.db import SessionFactory, create_session_factory
from storage.models import FeatureRequest, FeatureRequestLink, KbSuggestion, Ticket
from storage.reports import ReportRepository
from templates.reports import weekly_digest_message
from workflows.clock import ManualClock
from workflows.desk import Desk
from workflows.reports import Period, build_weekly_digest

NY = ZoneInfo("America/New_York")
SINCE = datetime(2026, 10, 26, tzinfo=NY)
UNTIL = datetime(2026, 11, 2, tzinfo=NY)
WEEK = Period(SINCE, UNTIL)
REQUESTER, AGENT = "U0REQ1", "U0AGENT1"


def ny(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=NY)


def article(title: str) -> dict[str, object]:
    path = title.lower().replace(" ", "-") + ".md"
    return {"article_id": 1, "path": path, "title": title, "url": None, "passage": "…"}


class Week:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.ids: dict[str, int] = {}

    def question(self, name: str, at: datetime, *, status: str = "open") -> int:
        ticket = Ticket(
            source_channel="C0HELP",
            source_ts=f"{at.timestamp():.0f}.{len(self.ids):06d}",
            intake_source="message",
            requester=REQUESTER,
            queue="general",
            status=status,
            priority="medium",
            description=f"question {name}",
            created_at=at,
            updated_at=at,
        )
        self.session.add(ticket)
        self.session.flush()
        self.ids[name] = ticket.id
        return ticket.id

    def offer(
        self,
        name: str,
        titles: list[str],
        *,
        outcome: str | None = None,
        answered: datetime | None = None,
        by: str | None = None,
        at: datetime | None = None,
    ) -> None:
        ticket = self.session.get(Ticket, self.ids[name])
        assert ticket is not None
        self.session.add(
            KbSuggestion(
                ticket_id=ticket.id,
                requester=REQUESTER,
                articles=[article(t) for t in titles],
                suggested_by=by,
                suggested_at=at or ticket.created_at,
                outcome=outcome,
                answered_by=REQUESTER if outcome else None,
                answered_at=answered,
            )
        )

    def shipped(self, title: str, at: datetime | None, told: list[datetime]) -> None:
        request = FeatureRequest(
            title=title,
            description=title,
            status="shipped" if at else "planned",
            created_at=ny(10, 1),
            updated_at=at or ny(10, 1),
            shipped_at=at,
        )
        self.session.add(request)
        self.session.flush()
        for index, moment in enumerate(told):
            ticket_id = self.question(f"{title}-{index}", ny(10, 1, 9, index))
            self.session.add(
                FeatureRequestLink(
                    feature_request_id=request.id,
                    ticket_id=ticket_id,
                    requester=f"U0R{index}",
                    linked_at=ny(10, 1, 9, index),
                    notified_at=moment,
                )
            )


@pytest.fixture
def sf(engine: object) -> SessionFactory:
    return create_session_factory(engine)  # type: ignore[arg-type]


@pytest.fixture
def desk(desk_config: object, clock: ManualClock) -> Desk:
    clock.set(UNTIL + timedelta(hours=9))
    return Desk(desk_config, clock)  # type: ignore[arg-type]


@pytest.fixture
def week(sf: SessionFactory) -> dict[str, int]:
    with sf.begin() as session:
        w = Week(session)
        w.question("PREV", ny(10, 20, 10), status="resolved")
        w.offer("PREV", ["SSO"], outcome="solved", answered=ny(10, 20, 10, 5))
        w.question("P1", ny(10, 26, 10), status="resolved")
        w.offer("P1", ["Refunds"], outcome="solved", answered=ny(10, 26, 10, 5))
        w.question("P2", ny(10, 27, 10))
        w.offer("P2", ["Refunds", "Invoices"], outcome="unhelpful", answered=ny(10, 27, 11))
        w.question("P3", ny(10, 28, 10))
        w.offer("P3", ["Invoices"], outcome="unhelpful", answered=ny(10, 28, 10, 1))
        w.question("P4", ny(10, 28, 11))
        w.offer("P4", ["SSO"])
        w.question("P5", ny(10, 29, 10), status="resolved")
        w.offer(
            "P5", ["SSO"], outcome="solved", answered=ny(10, 29, 11), by=AGENT, at=ny(10, 29, 10)
        )
        w.question("P6", ny(10, 29, 12))
        w.offer("P6", ["Refunds"], outcome="unhelpful", answered=ny(10, 29, 12, 5))
        w.session.flush()
        p6 = w.session.get(Ticket, w.ids["P6"])
        assert p6 is not None
        p6.merged_into_id = w.ids["P5"]
        w.question("NEXT", UNTIL, status="resolved")
        w.offer("NEXT", ["Refunds"], outcome="solved", answered=UNTIL + timedelta(minutes=1))
        w.shipped("Dark mode", ny(10, 27, 15), [ny(10, 27, 15)] * 3 + [ny(10, 28, 9)])
        w.shipped("CSV export", ny(10, 21, 15), [ny(10, 21, 15)])
        w.shipped("Audit log", None, [None, None])  # type: ignore[list-item]
        return w.ids


def test_self_serve_counts_the_bots_offers_of_the_weeks_questions(
    sf: SessionFactory, week: dict[str, int]
) -> None:
    with sf.begin() as session:
        reports = ReportRepository(session)
        assert reports.self_serve(SINCE, UNTIL) == {"solved": 1, "unhelpful": 2, None: 1}
        assert reports.unhelpful_articles(SINCE, UNTIL) == [("Invoices", 2), ("Refunds", 1)]
        assert reports.shipped(SINCE, UNTIL) == (1, 4)
        assert reports.shipped(SINCE - timedelta(days=7), SINCE) == (1, 1)


def test_the_weekly_digest_says_the_deflection_rate_and_what_didnt_help(
    sf: SessionFactory, desk: Desk, week: dict[str, int]
) -> None:
    with sf.begin() as session:
        digest = build_weekly_digest(session, desk, WEEK)
    current, previous = digest.current, digest.previous
    # Opened in the week: P1–P5 (P6 merged away; NEXT is next week's; the FR tickets are old).
    assert current.opened == 5
    assert (current.suggested, current.deflected, current.unhelpful) == (4, 1, 2)
    assert current.deflection_pct == 20.0
    assert (current.shipped, current.shipped_told) == (1, 4)
    assert (previous.suggested, previous.deflected, previous.deflection_pct) == (1, 1, 100.0)
    assert (previous.shipped, previous.shipped_told) == (1, 1)

    message = weekly_digest_message(digest, tz=NY)
    sections = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
    assert (
        "*Self-serve answers*: 1 of 5 questions solved by a knowledge-base article, *20% "
        "deflected* :small_red_triangle: · _before: 100%_\n"
        'Answers offered: 4 · *"I still need help"*: 2 · _before: 0_ · didn\'t help: '
        "Invoices (2), Refunds (1)"
    ) in sections
    assert any("*shipped*: 1 (4 requesters told) · _before: 1_" in section for section in sections)
    assert message["text"].endswith("; 20% deflected by knowledge-base answers.")
