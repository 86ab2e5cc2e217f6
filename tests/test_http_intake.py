"""Intake over HTTP: Slack-signed events, shortcuts and modals reach the real Bolt app, and the
tickets, event logs and Slack Web API calls they cause are checked end to end."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.signature import SignatureVerifier

from bot.slack_driver import Reply, select_value, text_value
from bot.standin import RecordedCall
from storage.models import Ticket, TicketEvent, TicketMessage
from storage.repositories import OutboxRepository, TicketRepository
from templates.ids import ActionId, BlockId
from tests.conftest import SIGNING_SECRET, DeskUnderTest

REQUESTER = "U0ALICE"
OTHER_USER = "U0BOB"
AGENT = "U0AGENT1"


# --- helpers ---------------------------------------------------------------------------------


def ts_to_utc(ts: str) -> datetime:
    """A Slack ts as an aware UTC datetime, computed exactly (no float rounding)."""
    seconds, _, fraction = ts.partition(".")
    micros = int(fraction.ljust(6, "0")[:6]) if fraction else 0
    return datetime.fromtimestamp(int(seconds), tz=UTC) + timedelta(microseconds=micros)


def all_tickets(desk: DeskUnderTest) -> list[Ticket]:
    with desk.session() as session:
        return list(TicketRepository(session).list_created_between(None, None))


def only_ticket(desk: DeskUnderTest) -> Ticket:
    tickets = all_tickets(desk)
    assert len(tickets) == 1, f"expected exactly one ticket, found {len(tickets)}"
    return tickets[0]


def event_kinds(desk: DeskUnderTest, ticket_id: int) -> list[str]:
    with desk.session() as session:
        return [entry.kind for entry in TicketRepository(session).events(ticket_id)]


def ticket_events(desk: DeskUnderTest, ticket_id: int, kind: str) -> list[TicketEvent]:
    with desk.session() as session:
        return [e for e in TicketRepository(session).events(ticket_id) if e.kind == kind]


def conversation(desk: DeskUnderTest, ticket_id: int) -> list[TicketMessage]:
    with desk.session() as session:
        return list(TicketRepository(session).conversation(ticket_id))


def outbox_pending(desk: DeskUnderTest) -> int:
    with desk.session() as session:
        return len(OutboxRepository(session).pending())


def posts(desk: DeskUnderTest) -> list[RecordedCall]:
    """Successful chat.postMessage calls."""
    return [call for call in desk.standin.calls("chat.postMessage") if not call.failed]


def posted_markup(calls: Sequence[RecordedCall]) -> str:
    """Everything the desk showed in Slack with these calls: fallback text and blocks."""
    return json.dumps(
        [{"text": c.args.get("text"), "blocks": c.args.get("blocks")} for c in calls],
        ensure_ascii=False,
    )


def send_message(
    desk: DeskUnderTest,
    *,
    channel: str,
    user: str,
    text: str,
    ts: str | None = None,
    thread_ts: str | None = None,
    event_id: str | None = None,
    retry_num: int | None = None,
    **extra: Any,
) -> tuple[Reply, str]:
    """A `message` event as Slack delivers it; returns the reply and the message ts."""
    ts = ts or desk.standin.next_ts()
    event = desk.slack.message_event(
        channel=channel, user=user, text=text, ts=ts, thread_ts=thread_ts, **extra
    )
    reply = desk.slack.send_event(event, event_id=event_id, retry_num=retry_num)
    return reply, ts


def open_ticket_from_message(
    desk: DeskUnderTest, *, channel: str = "C0HELP", text: str = "The export button is greyed out"
) -> Ticket:
    """A ticket opened the usual way: a question in a watched channel, card delivered."""
    ts = desk.standin.seed_message(channel, user=REQUESTER, text=text)
    reply, _ = send_message(desk, channel=channel, user=REQUESTER, text=text, ts=ts)
    assert reply.status == 200
    desk.deliver()
    return only_ticket(desk)


def message_changed(
    *, channel: str, user: str, ts: str, text: str, previous_text: str, edited_ts: str
) -> dict[str, Any]:
    """A `message_changed` event as Slack sends it for an edit."""
    return {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "channel": channel,
        "ts": edited_ts,
        "event_ts": edited_ts,
        "channel_type": "channel",
        "message": {
            "type": "message",
            "user": user,
            "text": text,
            "ts": ts,
            "edited": {"user": user, "ts": edited_ts},
        },
        "previous_message": {"type": "message", "user": user, "text": previous_text, "ts": ts},
    }


def message_deleted(*, channel: str, deleted_ts: str, event_ts: str) -> dict[str, Any]:
    return {
        "type": "message",
        "subtype": "message_deleted",
        "hidden": True,
        "channel": channel,
        "ts": event_ts,
        "event_ts": event_ts,
        "deleted_ts": deleted_ts,
        "channel_type": "channel",
        "previous_message": {"type": "message", "user": REQUESTER, "text": "x", "ts": deleted_ts},
    }


# --- 1. a message opens a ticket -------------------------------------------------------------


def test_message_in_watched_channel_opens_ticket_with_card_in_thread(desk: DeskUnderTest) -> None:
    """A question in #billing becomes ticket #1 in the billing queue, with its card in the
    question's thread telling the requester what happens next."""
    text = "Invoice 4411 was charged twice"
    ts = desk.standin.seed_message("C0BILLING", user=REQUESTER, text=text)

    reply, _ = send_message(desk, channel="C0BILLING", user=REQUESTER, text=text, ts=ts)

    assert reply.status == 200
    ticket = only_ticket(desk)
    assert ticket.id == 1
    assert ticket.source_channel == "C0BILLING"
    assert ticket.source_ts == ts
    assert ticket.requester == REQUESTER
    assert ticket.reporter == REQUESTER
    assert ticket.queue == "billing"
    assert ticket.status == "open"
    assert ticket.priority == "medium"
    assert ticket.description == text
    assert ticket.created_at == ts_to_utc(ts)
    assert ticket.intake_source == "message"
    assert event_kinds(desk, ticket.id) == ["opened"]

    # The card, then a chat.getPermalink for the question it answers.
    assert desk.deliver() == 2
    [post] = posts(desk)
    assert post.args["channel"] == "C0BILLING"
    assert post.args["thread_ts"] == ts
    assert post.args["text"] == "Ticket #1 · Open · Medium priority"
    markup = posted_markup([post])
    assert "*Ticket #1* · Open" in markup
    assert "Medium" in markup
    assert f"<@{REQUESTER}>" in markup
    assert "first response within 4 hours" in markup

    ticket = only_ticket(desk)
    assert (ticket.card_channel, ticket.card_ts) == (
        "C0BILLING",
        desk.standin.messages("C0BILLING")[-1]["ts"],
    )
    assert event_kinds(desk, ticket.id) == ["opened", "card_posted"]

    [link] = desk.standin.calls("chat.getPermalink")
    assert not link.failed
    assert (link.args["channel"], link.args["message_ts"]) == ("C0BILLING", ts)
    assert ticket.permalink == f"https://desk.slack.com/archives/C0BILLING/p{ts.replace('.', '')}"


# --- 2. messages that open nothing -----------------------------------------------------------


def test_message_in_unwatched_channel_opens_nothing(desk: DeskUnderTest) -> None:
    """Chatter in channels the desk does not watch never becomes a ticket."""
    reply, _ = send_message(desk, channel="C0RANDOM", user=REQUESTER, text="lunch anyone?")

    assert reply.status == 200
    assert all_tickets(desk) == []
    assert desk.deliver() == 0
    assert desk.standin.calls("chat.postMessage") == []


def test_bot_messages_and_channel_notices_open_nothing(desk: DeskUnderTest) -> None:
    """Bots, joins, topic changes and bot_message posts in a watched channel are not questions."""
    replies = [
        send_message(
            desk, channel="C0HELP", user="U0OTHERBOT", text="Deploy done", bot_id="B0OTHER"
        )[0],
        send_message(
            desk,
            channel="C0HELP",
            user=REQUESTER,
            text="<@U0ALICE> has joined",
            subtype="channel_join",
        )[0],
        send_message(
            desk,
            channel="C0HELP",
            user=REQUESTER,
            text="set the topic: help",
            subtype="channel_topic",
            topic="help",
        )[0],
        send_message(
            desk,
            channel="C0HELP",
            user=REQUESTER,
            text="Build failed",
            subtype="bot_message",
            bot_id="B0CI",
        )[0],
    ]

    assert [reply.status for reply in replies] == [200, 200, 200, 200]
    assert all_tickets(desk) == []
    assert desk.deliver() == 0
    assert desk.standin.calls("chat.postMessage") == []


# --- 3. retries and double deliveries --------------------------------------------------------


def test_retried_event_opens_one_ticket_and_one_card(desk: DeskUnderTest) -> None:
    """Slack retrying a delivery (same event_id, X-Slack-Retry-Num) doesn't duplicate anything."""
    ts = desk.standin.seed_message("C0HELP", user=REQUESTER, text="SSO login loops")
    event = desk.slack.message_event(
        channel="C0HELP", user=REQUESTER, text="SSO login loops", ts=ts
    )
    body = desk.slack.event_envelope(event, event_id="Ev0RETRY01")
    retry_headers = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}

    first = desk.slack.post_json(body)
    retry = desk.slack.post_json(body, headers=retry_headers)

    assert (first.status, retry.status) == (200, 200)
    ticket = only_ticket(desk)
    assert ticket.source_ts == ts
    assert desk.deliver() == 2  # the card and its permalink
    [post] = posts(desk)
    assert (post.args["channel"], post.args["thread_ts"]) == ("C0HELP", ts)
    assert event_kinds(desk, ticket.id) == ["opened", "card_posted"]


def test_message_and_app_mention_of_same_message_open_one_ticket(desk: DeskUnderTest) -> None:
    """A message mentioning the bot arrives twice (message + app_mention): one ticket, one card."""
    text = "<@U0BOT> the API returns 502"
    ts = desk.standin.seed_message("C0HELP", user=REQUESTER, text=text)
    message = desk.slack.message_event(channel="C0HELP", user=REQUESTER, text=text, ts=ts)
    mention = {**message, "type": "app_mention"}

    first = desk.slack.send_event(message, event_id="Ev0BOTH0001")
    second = desk.slack.send_event(mention, event_id="Ev0BOTH0002")

    assert (first.status, second.status) == (200, 200)
    ticket = only_ticket(desk)
    assert ticket.source_ts == ts
    assert ticket.intake_source == "message"
    assert desk.deliver() == 2  # the card and its permalink
    [post] = posts(desk)
    assert (post.args["channel"], post.args["thread_ts"]) == ("C0HELP", ts)


def test_app_mention_in_unwatched_channel_opens_ticket(desk: DeskUnderTest) -> None:
    """Mentioning the bot anywhere asks for help, even outside the intake channels."""
    text = "<@U0BOT> can someone reset my 2FA?"
    ts = desk.standin.seed_message("C0RANDOM", user=REQUESTER, text=text)
    mention = {
        **desk.slack.message_event(channel="C0RANDOM", user=REQUESTER, text=text, ts=ts),
        "type": "app_mention",
    }

    reply = desk.slack.send_event(mention)

    assert reply.status == 200
    ticket = only_ticket(desk)
    assert ticket.intake_source == "mention"
    assert (ticket.source_channel, ticket.source_ts) == ("C0RANDOM", ts)
    assert ticket.requester == REQUESTER
    assert ticket.queue == "general"
    assert ticket.description == text
    assert desk.deliver() == 2  # the card and its permalink
    [post] = posts(desk)
    assert (post.args["channel"], post.args["thread_ts"]) == ("C0RANDOM", ts)


# --- 4. the ticket reaction ------------------------------------------------------------------


def react(
    desk: DeskUnderTest, *, user: str, reaction: str, channel: str, ts: str, item_user: str
) -> Reply:
    event = desk.slack.reaction_event(
        user=user,
        reaction=reaction,
        channel=channel,
        ts=ts,
        item_user=item_user,
        event_ts=desk.standin.next_ts(),
    )
    return desk.slack.send_event(event)


def test_ticket_reaction_opens_ticket_and_reads_the_message(desk: DeskUnderTest) -> None:
    """Reacting :ticket: to someone's message opens a ticket for its author, reported by the
    reactor; the text is read from Slack and the card lands in the message's thread."""
    text = "Our webhook deliveries stopped at 09:12"
    ts = desk.standin.seed_message("C0RANDOM", user=REQUESTER, text=text)

    reply = react(
        desk, user=OTHER_USER, reaction="ticket", channel="C0RANDOM", ts=ts, item_user=REQUESTER
    )

    assert reply.status == 200
    ticket = only_ticket(desk)
    assert ticket.requester == REQUESTER
    assert ticket.reporter == OTHER_USER
    assert ticket.intake_source == "reaction"
    assert (ticket.source_channel, ticket.source_ts) == ("C0RANDOM", ts)
    assert ticket.description == ""

    assert desk.deliver() == 3  # the history read, the card and its permalink
    [history] = desk.standin.calls("conversations.history")
    assert history.args["channel"] == "C0RANDOM"
    assert history.args["latest"] == ts
    assert history.args["oldest"] == ts
    assert history.args["inclusive"] in ("1", "true", "True", True)
    assert desk.standin.calls("conversations.replies") == []
    [post] = posts(desk)
    assert (post.args["channel"], post.args["thread_ts"]) == ("C0RANDOM", ts)
    assert f"<@{REQUESTER}>" in posted_markup([post])

    ticket = only_ticket(desk)
    assert ticket.description == text
    opened = ticket_events(desk, ticket.id, "opened")
    assert [(e.actor, e.data) for e in opened] == [(OTHER_USER, {"via": "reaction"})]


def test_two_people_reacting_open_one_ticket(desk: DeskUnderTest) -> None:
    """A second :ticket: on the same message adds no ticket and no second card."""
    ts = desk.standin.seed_message("C0HELP", user=REQUESTER, text="Search is slow")

    react(desk, user=OTHER_USER, reaction="ticket", channel="C0HELP", ts=ts, item_user=REQUESTER)
    react(desk, user="U0CAROL", reaction="ticket", channel="C0HELP", ts=ts, item_user=REQUESTER)
    desk.deliver()

    ticket = only_ticket(desk)
    assert ticket.reporter == OTHER_USER
    [post] = posts(desk)
    assert (post.args["channel"], post.args["thread_ts"]) == ("C0HELP", ts)
    also = ticket_events(desk, ticket.id, "also_requested")
    assert [e.actor for e in also] == ["U0CAROL"]


def test_other_reactions_open_nothing(desk: DeskUnderTest) -> None:
    """Only the ticket reaction opens tickets; :eyes: and friends are just reactions."""
    ts = desk.standin.seed_message("C0HELP", user=REQUESTER, text="Is the dashboard down?")

    reply = react(
        desk, user=OTHER_USER, reaction="eyes", channel="C0HELP", ts=ts, item_user=REQUESTER
    )

    assert reply.status == 200
    assert all_tickets(desk) == []
    assert desk.deliver() == 0
    assert desk.standin.calls("conversations.history") == []
    assert desk.standin.calls("chat.postMessage") == []


def test_ticket_reaction_with_skin_tone_counts(desk: DeskUnderTest) -> None:
    """`ticket::skin-tone-2` is the same reaction as `ticket`."""
    ts = desk.standin.seed_message("C0HELP", user=REQUESTER, text="Cannot upload CSV")

    react(
        desk,
        user=OTHER_USER,
        reaction="ticket::skin-tone-2",
        channel="C0HELP",
        ts=ts,
        item_user=REQUESTER,
    )

    ticket = only_ticket(desk)
    assert (ticket.source_channel, ticket.source_ts) == ("C0HELP", ts)
    desk.deliver()
    assert only_ticket(desk).description == "Cannot upload CSV"


def test_ticket_reaction_on_thread_reply_answers_in_thread_root(desk: DeskUnderTest) -> None:
    """A :ticket: on a reply opens a ticket whose card goes to the thread's root, with the
    reply's text found in the thread once the channel history doesn't have it."""
    parent = desk.standin.seed_message("C0HELP", user=OTHER_USER, text="Anyone seeing errors?")
    reply_ts = desk.standin.seed_message(
        "C0HELP", user=REQUESTER, text="Yes: 403 on every export", thread_ts=parent
    )

    react(desk, user=AGENT, reaction="ticket", channel="C0HELP", ts=reply_ts, item_user=REQUESTER)
    desk.deliver()

    [history] = desk.standin.calls("conversations.history")
    assert history.args["latest"] == reply_ts
    [replies] = desk.standin.calls("conversations.replies")
    assert (replies.args["channel"], replies.args["ts"]) == ("C0HELP", reply_ts)
    assert "_wanted_ts" not in replies.args
    [post] = posts(desk)
    assert (post.args["channel"], post.args["thread_ts"]) == ("C0HELP", parent)

    ticket = only_ticket(desk)
    assert (ticket.source_ts, ticket.source_thread_ts) == (reply_ts, parent)
    assert ticket.description == "Yes: 403 on every export"
    assert ticket.requester == REQUESTER
    assert ticket.reporter == AGENT


# --- 5. the "Create ticket" message shortcut -------------------------------------------------


def test_create_ticket_shortcut_opens_ticket_then_says_it_exists(desk: DeskUnderTest) -> None:
    """The shortcut files someone else's message as their ticket; using it again on the same
    message tells the reporter privately that it is already ticket #1."""
    ts = desk.standin.seed_message("C0RANDOM", user=REQUESTER, text="Billing page 500s")
    message = {"user": REQUESTER, "text": "Billing page 500s", "ts": ts}

    first = desk.slack.message_shortcut(user=OTHER_USER, channel="C0RANDOM", message=message)

    assert first.status == 200
    ticket = only_ticket(desk)
    assert ticket.requester == REQUESTER
    assert ticket.reporter == OTHER_USER
    assert ticket.intake_source == "shortcut"
    assert ticket.description == "Billing page 500s"
    assert (ticket.source_channel, ticket.source_ts) == ("C0RANDOM", ts)
    assert desk.deliver() == 2  # the card and its permalink
    [post] = posts(desk)
    assert (post.args["channel"], post.args["thread_ts"]) == ("C0RANDOM", ts)

    again = desk.slack.message_shortcut(user=OTHER_USER, channel="C0RANDOM", message=message)

    assert again.status == 200
    assert len(all_tickets(desk)) == 1
    assert desk.deliver() == 1
    assert len(posts(desk)) == 1
    [ephemeral] = desk.standin.calls("chat.postEphemeral")
    assert ephemeral.args["channel"] == "C0RANDOM"
    assert ephemeral.args["user"] == OTHER_USER
    assert "already ticket #1" in ephemeral.args["text"]


# --- 6. thread replies -----------------------------------------------------------------------


def test_requester_reply_joins_the_conversation(desk: DeskUnderTest) -> None:
    """A reply in the ticket's thread is kept as conversation and opens no ticket."""
    ticket = open_ticket_from_message(desk)

    reply, reply_ts = send_message(
        desk,
        channel="C0HELP",
        user=REQUESTER,
        text="It started after the update",
        thread_ts=ticket.source_ts,
    )

    assert reply.status == 200
    assert len(all_tickets(desk)) == 1
    [kept] = conversation(desk, ticket.id)
    assert (kept.channel, kept.ts, kept.author) == ("C0HELP", reply_ts, REQUESTER)
    assert kept.text == "It started after the update"
    assert kept.posted_at == ts_to_utc(reply_ts)
    assert only_ticket(desk).first_response_at is None
    assert desk.deliver() == 0


def test_agent_reply_is_the_first_response(desk: DeskUnderTest) -> None:
    """An agent answering in the thread stamps the ticket's first response time."""
    ticket = open_ticket_from_message(desk)

    _, reply_ts = send_message(
        desk, channel="C0HELP", user=AGENT, text="Looking into it", thread_ts=ticket.source_ts
    )

    assert only_ticket(desk).first_response_at == ts_to_utc(reply_ts)
    assert [m.author for m in conversation(desk, ticket.id)] == [AGENT]


def test_reply_in_thread_of_non_ticket_message_is_ignored(desk: DeskUnderTest) -> None:
    """Threads that aren't tickets are none of the desk's business."""
    ticket = open_ticket_from_message(desk)
    other_root = desk.standin.seed_message("C0HELP", user=OTHER_USER, text="FYI: maintenance")

    reply, _ = send_message(
        desk, channel="C0HELP", user=REQUESTER, text="thanks!", thread_ts=other_root
    )

    assert reply.status == 200
    assert len(all_tickets(desk)) == 1
    assert conversation(desk, ticket.id) == []


def test_reply_delivered_twice_is_kept_once(desk: DeskUnderTest) -> None:
    """A retried reply (and the same reply under a fresh event id) is stored once."""
    ticket = open_ticket_from_message(desk)
    reply_ts = desk.standin.next_ts()

    for event_id, retry in (("Ev0REPLY01", None), ("Ev0REPLY01", 1), ("Ev0REPLY02", None)):
        reply, _ = send_message(
            desk,
            channel="C0HELP",
            user=REQUESTER,
            text="more detail",
            ts=reply_ts,
            thread_ts=ticket.source_ts,
            event_id=event_id,
            retry_num=retry,
        )
        assert reply.status == 200

    assert [m.ts for m in conversation(desk, ticket.id)] == [reply_ts]


# --- 7. edits and deletions ------------------------------------------------------------------


def test_editing_the_question_updates_the_description(desk: DeskUnderTest) -> None:
    """Editing the message a ticket came from updates its description and logs the edit."""
    ticket = open_ticket_from_message(desk, text="Export fails")
    edited_ts = desk.standin.next_ts()

    reply = desk.slack.send_event(
        message_changed(
            channel="C0HELP",
            user=REQUESTER,
            ts=ticket.source_ts or "",
            text="Export fails for PDF",
            previous_text="Export fails",
            edited_ts=edited_ts,
        )
    )

    assert reply.status == 200
    assert only_ticket(desk).description == "Export fails for PDF"
    [edit] = ticket_events(desk, ticket.id, "description_edited")
    assert edit.data == {"previous": "Export fails"}
    assert edit.at == ts_to_utc(edited_ts)


def test_message_changed_without_new_text_logs_nothing(desk: DeskUnderTest) -> None:
    """Slack sends message_changed when a thread gains a reply; that is no edit."""
    ticket = open_ticket_from_message(desk, text="Export fails")

    desk.slack.send_event(
        message_changed(
            channel="C0HELP",
            user=REQUESTER,
            ts=ticket.source_ts or "",
            text="Export fails",
            previous_text="Export fails",
            edited_ts=desk.standin.next_ts(),
        )
    )

    assert only_ticket(desk).description == "Export fails"
    assert event_kinds(desk, ticket.id) == ["opened", "card_posted"]


def test_editing_a_kept_reply_updates_it(desk: DeskUnderTest) -> None:
    """An edited reply is kept as it now reads, with when it was edited."""
    ticket = open_ticket_from_message(desk)
    _, reply_ts = send_message(
        desk, channel="C0HELP", user=REQUESTER, text="on Chrome", thread_ts=ticket.source_ts
    )
    edited_ts = desk.standin.next_ts()

    desk.slack.send_event(
        message_changed(
            channel="C0HELP",
            user=REQUESTER,
            ts=reply_ts,
            text="on Firefox",
            previous_text="on Chrome",
            edited_ts=edited_ts,
        )
    )

    [kept] = conversation(desk, ticket.id)
    assert kept.text == "on Firefox"
    assert kept.edited_at == ts_to_utc(edited_ts)
    assert only_ticket(desk).description == "The export button is greyed out"
    assert "message_edited" in event_kinds(desk, ticket.id)


def test_deleting_the_question_keeps_the_ticket(desk: DeskUnderTest) -> None:
    """Deleting the source message is logged; the ticket and what was asked stay."""
    ticket = open_ticket_from_message(desk)

    reply = desk.slack.send_event(
        message_deleted(
            channel="C0HELP", deleted_ts=ticket.source_ts or "", event_ts=desk.standin.next_ts()
        )
    )

    assert reply.status == 200
    kept = only_ticket(desk)
    assert kept.description == "The export button is greyed out"
    assert kept.status == "open"
    [deleted] = ticket_events(desk, ticket.id, "source_deleted")
    assert deleted.data == {"ts": ticket.source_ts}


def test_deleting_a_reply_marks_it_deleted(desk: DeskUnderTest) -> None:
    """A deleted reply stays in the conversation, marked with when it was deleted."""
    ticket = open_ticket_from_message(desk)
    _, reply_ts = send_message(
        desk, channel="C0HELP", user=REQUESTER, text="oops", thread_ts=ticket.source_ts
    )
    deleted_ts = desk.standin.next_ts()

    desk.slack.send_event(
        message_deleted(channel="C0HELP", deleted_ts=reply_ts, event_ts=deleted_ts)
    )

    [kept] = conversation(desk, ticket.id)
    assert kept.deleted_at == ts_to_utc(deleted_ts)
    assert kept.text == "oops"
    assert "message_deleted" in event_kinds(desk, ticket.id)


# --- 8. request signatures -------------------------------------------------------------------


def test_wrong_signature_is_refused(desk: DeskUnderTest) -> None:
    """A request not signed with the app's secret is refused and changes nothing."""
    event = desk.slack.message_event(
        channel="C0HELP", user=REQUESTER, text="forged", ts=desk.standin.next_ts()
    )

    reply = desk.slack.post_json(desk.slack.event_envelope(event), signature="v0=" + "0" * 64)

    assert reply.status == 401
    assert all_tickets(desk) == []
    assert outbox_pending(desk) == 0


def test_stale_timestamp_is_refused(desk: DeskUnderTest) -> None:
    """A correctly signed request older than five minutes (a replay) is refused."""
    event = desk.slack.message_event(
        channel="C0HELP", user=REQUESTER, text="replayed", ts=desk.standin.next_ts()
    )
    body = json.dumps(desk.slack.event_envelope(event))
    old = int(time.time()) - 6 * 60
    signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=str(old), body=body)

    reply = desk.slack.post(body.encode(), "application/json", timestamp=old, signature=signature)

    assert reply.status == 401
    assert all_tickets(desk) == []
    assert outbox_pending(desk) == 0


# --- 9. escaping -----------------------------------------------------------------------------


def test_mrkdwn_in_a_modal_description_is_shown_escaped(desk: DeskUnderTest) -> None:
    """`<!channel>` or a disguised link typed into /support never pings or links from the card."""
    desk.slack.slash_command(user=REQUESTER, channel="C0HELP")
    desk.standin.wait_for("views.open")
    [view] = desk.standin.views.values()
    description = "Urgent <!channel> see <https://evil.example|click>"
    values: dict[str, dict[str, Any]] = {
        BlockId.ISSUE_TYPE: {ActionId.ISSUE_TYPE: select_value("question")},
        BlockId.PRIORITY: {ActionId.PRIORITY: select_value("medium")},
        BlockId.PRODUCT: {ActionId.PRODUCT: {"type": "static_select", "selected_option": None}},
        BlockId.DESCRIPTION: {ActionId.DESCRIPTION: text_value(description)},
    }

    reply = desk.slack.submit_view(user=REQUESTER, view=view, values=values)

    assert reply.status == 200
    assert only_ticket(desk).description == description
    desk.deliver()
    [post] = posts(desk)
    markup = posted_markup([post])
    assert "&lt;!channel&gt;" in markup
    assert "&lt;https://evil.example|click&gt;" in markup
    assert "<!channel>" not in markup
    assert "<https://evil.example" not in markup


# --- 10. health ------------------------------------------------------------------------------


def test_healthz_answers_ok(desk: DeskUnderTest) -> None:
    """The load balancer's health check answers 200 while the database is reachable."""
    base = desk.slack.url.removesuffix("/slack/events")

    with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
        assert response.status == 200
        assert response.read() == b"ok\n"
