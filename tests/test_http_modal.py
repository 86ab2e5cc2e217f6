"""The /support intake modal over HTTP: opening it, its conditional scale questions, validation of
its submission, and where the ticket card of a submitted form lands."""

from __future__ import annotations

import json
import time
from typing import Any

from bot.slack_driver import Reply, select_value, text_value
from bot.standin import RecordedCall
from storage.models import Ticket, TicketMessage
from storage.repositories import OutboxRepository, TicketRepository
from templates.ids import ActionId, BlockId
from tests.conftest import DeskUnderTest

REQUESTER = "U0ALICE"
SCALE_BLOCKS = {str(BlockId.USERS_AFFECTED), str(BlockId.SITE_DOWN)}

Values = dict[str, dict[str, Any]]


# --- helpers ---------------------------------------------------------------------------------


def all_tickets(desk: DeskUnderTest) -> list[Ticket]:
    with desk.session() as session:
        return list(TicketRepository(session).list_created_between(None, None))


def only_ticket(desk: DeskUnderTest) -> Ticket:
    tickets = all_tickets(desk)
    assert len(tickets) == 1, f"expected exactly one ticket, found {len(tickets)}"
    return tickets[0]


def nothing_owed(desk: DeskUnderTest) -> bool:
    with desk.session() as session:
        return not OutboxRepository(session).pending()


def block_ids(view: dict[str, Any]) -> list[str]:
    return [block.get("block_id", "") for block in view["blocks"]]


def block(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    [found] = [b for b in view["blocks"] if b.get("block_id") == block_id]
    return found


def open_modal(desk: DeskUnderTest, *, channel: str = "C0HELP", text: str = "") -> dict[str, Any]:
    """Run /support and return the modal as Slack stores it (with its `id` and `hash`)."""
    reply, trigger_id = desk.slack.slash_command(user=REQUESTER, channel=channel, text=text)
    assert reply.status == 200
    [opened] = desk.standin.wait_for("views.open")
    assert opened.args["trigger_id"] == trigger_id
    [view] = desk.standin.views.values()
    return dict(view)


def answers(
    *,
    issue_type: str | None = "technical_issue",
    priority: str | None = "medium",
    product: str | None = None,
    description: str | None = "Checkout returns 500",
    users_affected: str | None = None,
    site_down: str | None = None,
    scale: bool = False,
) -> Values:
    """`state.values` as Slack sends them back for the intake modal: unanswered inputs that are
    on the form come back as nulls, as Slack does."""
    values: Values = {}
    if issue_type is not None:
        values[BlockId.ISSUE_TYPE] = {ActionId.ISSUE_TYPE: select_value(issue_type)}
    if priority is not None:
        values[BlockId.PRIORITY] = {ActionId.PRIORITY: select_value(priority)}
    values[BlockId.PRODUCT] = {
        ActionId.PRODUCT: select_value(product)
        if product is not None
        else {"type": "static_select", "selected_option": None}
    }
    if description is not None:
        values[BlockId.DESCRIPTION] = {ActionId.DESCRIPTION: text_value(description)}
    if scale:
        values[BlockId.USERS_AFFECTED] = {
            ActionId.USERS_AFFECTED: text_value(users_affected, "number_input")
            if users_affected is not None
            else {"type": "number_input", "value": None}
        }
        values[BlockId.SITE_DOWN] = {
            ActionId.SITE_DOWN: select_value(site_down)
            if site_down is not None
            else {"type": "radio_buttons", "selected_option": None}
        }
    return values


def change(desk: DeskUnderTest, view: dict[str, Any], values: Values, block_id: str) -> Reply:
    """The requester picks an option in a select that dispatches its action."""
    action_ids = {BlockId.ISSUE_TYPE: ActionId.ISSUE_TYPE, BlockId.PRIORITY: ActionId.PRIORITY}
    return desk.slack.block_action(
        user=REQUESTER,
        view=view,
        values=values,
        block_id=block_id,
        action_id=action_ids[BlockId(block_id)],
    )


def modal_with_scale(desk: DeskUnderTest) -> dict[str, Any]:
    """Open the modal and pick technical + high, so Slack now shows the scale questions."""
    view = open_modal(desk)
    reply = change(desk, view, answers(priority="high"), BlockId.PRIORITY)
    assert reply.status == 200
    [update] = desk.standin.wait_for("views.update")
    assert not update.failed
    scaled = dict(desk.standin.views[view["id"]])
    assert set(block_ids(scaled)) >= SCALE_BLOCKS
    return scaled


def settle() -> None:
    """Give lazy listeners (Bolt runs them on a thread after the ack) a moment to act."""
    time.sleep(0.3)


def posts(desk: DeskUnderTest) -> list[RecordedCall]:
    return [call for call in desk.standin.calls("chat.postMessage") if not call.failed]


# --- opening the modal -----------------------------------------------------------------------


def test_support_opens_the_intake_modal(desk: DeskUnderTest) -> None:
    """Bare /support acks at once and opens the form with its four questions, medium priority
    preselected, the engineering products to choose from, and no scale questions yet."""
    reply, trigger_id = desk.slack.slash_command(user=REQUESTER, channel="C0HELP")

    assert reply.status == 200
    [opened] = desk.standin.wait_for("views.open")
    assert not opened.failed
    assert opened.args["trigger_id"] == trigger_id
    view = opened.args["view"]
    assert view["type"] == "modal"
    assert view["callback_id"] == "intake_modal"
    assert json.loads(view["private_metadata"]) == {"channel": "C0HELP"}
    assert block_ids(view) == ["issue_type", "priority", "product", "description"]
    priority = block(view, BlockId.PRIORITY)["element"]
    assert priority["action_id"] == ActionId.PRIORITY
    assert priority["initial_option"]["value"] == "medium"
    product = block(view, BlockId.PRODUCT)["element"]
    assert product["type"] == "static_select"
    assert [option["value"] for option in product["options"]] == ["Billing", "API"]
    description = block(view, BlockId.DESCRIPTION)["element"]
    assert "initial_value" not in description
    assert all_tickets(desk) == []


def test_support_with_text_prefills_the_description(desk: DeskUnderTest) -> None:
    """`/support reset my password` saves retyping: the description starts filled in."""
    view = open_modal(desk, text="reset my password")

    element = block(view, BlockId.DESCRIPTION)["element"]
    assert element["initial_value"] == "reset my password"


def test_support_help_answers_privately_without_a_modal(desk: DeskUnderTest) -> None:
    """`/support help` explains the command in an ephemeral reply and opens nothing."""
    reply, _ = desk.slack.slash_command(user=REQUESTER, channel="C0HELP", text="help")

    assert reply.status == 200
    body = reply.json()
    assert body["response_type"] == "ephemeral"
    assert "*/support* opens a support ticket" in body["text"]
    assert ":ticket:" in body["text"]
    settle()
    assert desk.standin.calls("views.open") == []


# --- conditional scale questions -------------------------------------------------------------


def test_serious_technical_issue_grows_scale_questions(desk: DeskUnderTest) -> None:
    """Technical issue + high priority adds "how many users" and "is the site down"; going back to
    low priority removes them. Each update names the view and the hash it was based on."""
    view = open_modal(desk)

    first = change(desk, view, answers(issue_type="technical_issue"), BlockId.ISSUE_TYPE)
    second = change(desk, view, answers(priority="high"), BlockId.PRIORITY)

    assert (first.status, second.status) == (200, 200)
    [update] = desk.standin.wait_for("views.update")
    assert not update.failed
    assert update.args["view_id"] == view["id"]
    assert update.args["hash"] == view["hash"]
    grown = update.args["view"]
    assert block_ids(grown) == [
        "issue_type",
        "priority",
        "product",
        "users_affected",
        "site_down",
        "description",
    ]
    assert block(grown, BlockId.USERS_AFFECTED)["element"]["type"] == "number_input"
    assert block(grown, BlockId.USERS_AFFECTED)["element"]["action_id"] == ActionId.USERS_AFFECTED
    assert block(grown, BlockId.SITE_DOWN)["element"]["type"] == "radio_buttons"
    assert block(grown, BlockId.SITE_DOWN)["element"]["action_id"] == ActionId.SITE_DOWN
    assert block(grown, BlockId.PRIORITY)["element"]["initial_option"]["value"] == "high"
    assert block(grown, BlockId.ISSUE_TYPE)["element"]["initial_option"]["value"] == (
        "technical_issue"
    )
    assert json.loads(grown["private_metadata"]) == {"channel": "C0HELP"}

    current = dict(desk.standin.views[view["id"]])
    back = change(desk, current, answers(priority="low"), BlockId.PRIORITY)

    assert back.status == 200
    updates = desk.standin.wait_for("views.update", count=2)
    settle()
    assert len(desk.standin.calls("views.update")) == 2
    shrink = updates[1]
    assert not shrink.failed
    assert shrink.args["view_id"] == view["id"]
    assert shrink.args["hash"] == current["hash"]
    assert block_ids(shrink.args["view"]) == ["issue_type", "priority", "product", "description"]


# --- submission validation -------------------------------------------------------------------


def test_blank_description_is_refused(desk: DeskUnderTest) -> None:
    """An empty or whitespace-only description keeps the form open with an error under it."""
    view = open_modal(desk)

    for description in ("", "   \n "):
        reply = desk.slack.submit_view(
            user=REQUESTER,
            view=view,
            values=answers(issue_type="question", description=description),
        )
        assert reply.status == 200
        body = reply.json()
        assert body["response_action"] == "errors"
        assert set(body["errors"]) == {"description"}
        assert body["errors"]["description"]

    assert all_tickets(desk) == []
    assert nothing_owed(desk)


def test_overlong_product_is_refused_not_truncated(desk: DeskUnderTest) -> None:
    """A product answer longer than the column is an inline error, not a database failure."""
    view = open_modal(desk)
    reply = desk.slack.submit_view(
        user=REQUESTER, view=view, values=answers(issue_type="question", product="P" * 201)
    )
    body = reply.json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"product"}
    assert all_tickets(desk) == []


def test_users_affected_must_be_a_positive_whole_number(desk: DeskUnderTest) -> None:
    """With the scale questions shown, "abc" or 0 users affected is refused."""
    view = modal_with_scale(desk)

    for count in ("abc", "0"):
        values = answers(priority="high", users_affected=count, site_down="no", scale=True)
        reply = desk.slack.submit_view(user=REQUESTER, view=view, values=values)
        assert reply.status == 200
        body = reply.json()
        assert body["response_action"] == "errors"
        assert set(body["errors"]) == {"users_affected"}

    assert all_tickets(desk) == []
    assert nothing_owed(desk)


def test_site_down_must_be_answered(desk: DeskUnderTest) -> None:
    """With the scale questions shown, leaving "is the site down" unanswered is refused."""
    view = modal_with_scale(desk)

    reply = desk.slack.submit_view(
        user=REQUESTER, view=view, values=answers(priority="high", users_affected="25", scale=True)
    )

    assert reply.status == 200
    body = reply.json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"site_down"}
    assert all_tickets(desk) == []


def test_urgent_technical_issue_submitted_too_fast_grows_the_form(desk: DeskUnderTest) -> None:
    """Submitting technical + urgent before the scale questions appeared updates the form to ask
    them, instead of opening a ticket without them."""
    view = open_modal(desk)

    reply = desk.slack.submit_view(
        user=REQUESTER, view=view, values=answers(priority="urgent", description="Site is down")
    )

    assert reply.status == 200
    body = reply.json()
    assert body["response_action"] == "update"
    grown = body["view"]
    assert grown["callback_id"] == "intake_modal"
    assert set(block_ids(grown)) >= SCALE_BLOCKS
    assert block(grown, BlockId.PRIORITY)["element"]["initial_option"]["value"] == "urgent"
    assert block(grown, BlockId.DESCRIPTION)["element"]["initial_value"] == "Site is down"
    assert json.loads(grown["private_metadata"]) == {"channel": "C0HELP"}
    assert all_tickets(desk) == []
    assert nothing_owed(desk)


# --- valid submissions -----------------------------------------------------------------------


def test_valid_submission_opens_ticket_with_card_as_its_root(desk: DeskUnderTest) -> None:
    """A complete form opens a ticket with every answer; its card is posted in the channel the
    command came from and becomes the ticket's thread, where replies join the conversation."""
    view = modal_with_scale(desk)
    values = answers(
        priority="high",
        product="API",
        description="  Checkout returns 500  ",
        users_affected="25",
        site_down="yes",
        scale=True,
    )

    reply = desk.slack.submit_view(user=REQUESTER, view=view, values=values)

    assert reply.status == 200
    assert not reply.body or reply.json() in (None, {})
    ticket = only_ticket(desk)
    assert ticket.intake_source == "modal"
    assert ticket.requester == REQUESTER
    assert ticket.reporter == REQUESTER
    assert ticket.queue == "general"
    assert ticket.status == "open"
    assert ticket.issue_type == "technical_issue"
    assert ticket.priority == "high"
    assert ticket.product == "API"
    assert ticket.users_affected == 25
    assert ticket.site_down is True
    assert ticket.description == "Checkout returns 500"
    assert ticket.created_at == desk.clock.now()
    assert (ticket.source_channel, ticket.source_ts) == (None, None)

    # The card, then a chat.getPermalink for the card itself: it is the ticket's thread.
    assert desk.deliver() == 2
    [post] = posts(desk)
    assert post.args["channel"] == "C0HELP"
    assert "thread_ts" not in post.args
    assert post.args["text"] == "Ticket #1 · Open · High priority"
    [card] = [m for m in desk.standin.messages("C0HELP") if m.get("bot_id")]
    ticket = only_ticket(desk)
    assert (ticket.card_channel, ticket.card_ts) == ("C0HELP", card["ts"])
    assert (ticket.source_channel, ticket.source_ts) == ("C0HELP", card["ts"])
    with desk.session() as session:
        kinds = [e.kind for e in TicketRepository(session).events(ticket.id)]
    assert kinds == ["opened", "card_posted"]
    [link] = desk.standin.calls("chat.getPermalink")
    assert not link.failed
    assert (link.args["channel"], link.args["message_ts"]) == ("C0HELP", card["ts"])
    assert ticket.permalink == (
        f"https://desk.slack.com/archives/C0HELP/p{card['ts'].replace('.', '')}"
    )

    reply_ts = desk.standin.next_ts()
    event = desk.slack.message_event(
        channel="C0HELP", user=REQUESTER, text="Since 10:02 UTC", ts=reply_ts, thread_ts=card["ts"]
    )
    assert desk.slack.send_event(event).status == 200

    assert len(all_tickets(desk)) == 1
    with desk.session() as session:
        kept: list[TicketMessage] = list(TicketRepository(session).conversation(ticket.id))
    assert [(m.channel, m.ts, m.author, m.text) for m in kept] == [
        ("C0HELP", reply_ts, REQUESTER, "Since 10:02 UTC")
    ]


def test_submission_from_channel_without_bot_goes_to_dm(desk: DeskUnderTest) -> None:
    """When the bot can't post where /support was typed, nor in the triage channel (the next
    place), the card is DMed to the requester and that DM becomes the ticket's thread."""
    desk.standin.not_in_channel.update({"C0RANDOM", "C0TRIAGE"})
    view = open_modal(desk, channel="C0RANDOM")

    reply = desk.slack.submit_view(
        user=REQUESTER, view=view, values=answers(issue_type="question", priority="low")
    )

    assert reply.status == 200
    ticket = only_ticket(desk)
    assert ticket.priority == "low"
    assert ticket.issue_type == "question"
    assert (ticket.users_affected, ticket.site_down) == (None, None)

    desk.deliver()
    calls = desk.standin.calls("chat.postMessage")
    assert [(c.args["channel"], c.error) for c in calls][:3] == [
        ("C0RANDOM", "not_in_channel"),
        ("C0TRIAGE", "not_in_channel"),
        (REQUESTER, None),
    ]
    assert "thread_ts" not in calls[2].args
    assert calls[2].args["text"] == "Ticket #1 · Open · Low priority"
    dm_card, told = desk.standin.messages(REQUESTER)
    assert "The card of ticket #1 is here, not in <#C0RANDOM>" in told["text"]
    ticket = only_ticket(desk)
    assert ticket.card_ts == dm_card["ts"]
    assert (ticket.source_channel, ticket.source_ts) == (ticket.card_channel, dm_card["ts"])
    assert ticket.source_channel is not None
    assert ticket.source_channel.startswith("D")
