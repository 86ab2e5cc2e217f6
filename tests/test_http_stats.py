"""`/support stats [week|month]` over HTTP: the real app, a signed slash command, the figures in
the ephemeral ack; agents only; words after `stats` that are not a span open the intake form."""

from __future__ import annotations

from datetime import timedelta

from handlers.commands import Subcommand, parse_support_command
from tests.conftest import DeskUnderTest
from tests.test_http_home import AGENT, AGENT2, REQUESTER, ack_body, claim, open_ticket
from workflows.triage import ActionKind, TicketAction, perform
from workflows.vocabulary import Via


def stats(desk: DeskUnderTest, user: str, text: str = "stats") -> dict[str, object]:
    reply, _ = desk.slack.slash_command(user=user, channel="C0HELP", text=text)
    assert reply.status == 200
    return ack_body(reply)


def lines(body: dict[str, object]) -> list[str]:
    blocks = body["blocks"]
    assert isinstance(blocks, list)
    return blocks[0]["text"]["text"].splitlines()


def resolve(desk: DeskUnderTest, ticket_id: int, agent: str) -> None:
    with desk.session() as session:
        action = TicketAction(
            kind=ActionKind.RESOLVE,
            ticket_id=ticket_id,
            actor=agent,
            at=desk.clock.now(),
            via=Via.BUTTON,
        )
        assert perform(session, desk.runtime.desk, action).done
    desk.deliver()


def test_stats_show_the_last_week_beside_the_week_before(desk: DeskUnderTest) -> None:
    """Three tickets opened now, one resolved: the ack says so, privately, with the week before
    (nothing) beside each figure."""
    first = open_ticket(desk, "Export button greyed out")
    open_ticket(desk, "Invoices fail")
    open_ticket(desk, "Cannot log in")
    claim(desk, first, AGENT2)
    desk.clock.advance(timedelta(minutes=5))
    resolve(desk, first, AGENT2)
    desk.clock.advance(timedelta(minutes=1))

    body = stats(desk, AGENT)

    assert body["response_type"] == "ephemeral"
    said = lines(body)
    assert said[0].startswith("*Support figures, last 7 days*")
    assert "• Opened: *3* :small_red_triangle: · _before: 0_" in said
    assert "• Resolved: *1* · _before: 0_" in said
    assert "• Backlog at end: *2* :small_red_triangle: · _before: 0_" in said
    assert "• Net change: *+2* :small_red_triangle: · _before: 0_" in said
    assert "• SLA met, first response: *no tickets* · _before: no tickets_" in said
    assert "• CSAT: *no answers* · _before: no answers_" in said


def test_stats_month_covers_thirty_days(desk: DeskUnderTest) -> None:
    open_ticket(desk, "Old question")
    desk.clock.advance(timedelta(days=10))

    week, month = stats(desk, AGENT, "stats week"), stats(desk, AGENT, "Stats  Month")

    assert "• Opened: *0* · _before: 1_" in lines(week)
    assert lines(month)[0].startswith("*Support figures, last 30 days*")
    assert "• Opened: *1* :small_red_triangle: · _before: 0_" in lines(month)


def test_stats_are_for_agents_only(desk: DeskUnderTest) -> None:
    open_ticket(desk, "A question")

    body = stats(desk, REQUESTER)

    assert body["response_type"] == "ephemeral"
    assert "The support figures are for support agents" in str(body["text"])
    assert "Opened" not in str(body)


def test_only_the_exact_words_are_the_stats_subcommand() -> None:
    def kind(text: str) -> Subcommand:
        command = {"text": text, "user_id": AGENT, "channel_id": "C0HELP"}
        return parse_support_command(command).kind

    assert kind("stats") == kind("stats week") == kind("STATS month") == Subcommand.STATS
    assert kind("stats are wrong on the dashboard") == Subcommand.INTAKE
    assert kind("stats year") == Subcommand.INTAKE
