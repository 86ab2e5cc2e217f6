from __future__ import annotations

from storage.repositories import TicketRepository
from tests.conftest import DeskUnderTest


def test_question_in_watched_channel_gets_a_card(desk: DeskUnderTest) -> None:
    ts = desk.standin.seed_message("C0HELP", user="U0ALICE", text="How do I export invoices?")
    reply = desk.slack.send_event(
        desk.slack.message_event(
            channel="C0HELP", user="U0ALICE", text="How do I export invoices?", ts=ts
        )
    )
    assert reply.status == 200
    assert desk.deliver() == 2  # the card and its permalink
    [post] = desk.standin.calls("chat.postMessage")
    assert post.args["channel"] == "C0HELP"
    assert post.args["thread_ts"] == ts
    assert "Ticket #1" in post.args["text"]
    with desk.session() as session:
        ticket = TicketRepository(session).get_by_source("C0HELP", ts)
        assert ticket is not None
        assert ticket.card_ts is not None
