"""The feature-request board straight on the database (and the dispatcher, against the stand-in):
filing (a new request, or look-alikes offered: similarity, product, declined), Link and New
request, the card's Feature request button and the Edit hook, statuses (agents and owners only),
shipping (every requester told once, in their own thread or by DM, customer-safe and escaped),
and the export's records."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.config import parse_config
from bot.delivery import DeliveryHooks
from bot.outbox import Dispatcher
from bot.slack_client import outbox_client
from bot.standin import SlackStandin
from storage.db import SessionFactory, create_session_factory
from storage.feature_requests import FeatureRequestRepository
from storage.models import (
    FeatureRequest,
    FeatureRequestLink,
    OutboxMessage,
    Ticket,
    TicketNote,
)
from storage.repositories import NoteRepository, TicketRepository
from templates.feature_requests import board_card, offer_message, shipped_message
from templates.ids import ActionId
from tests.conftest import TEST_CONFIG, as_told
from workflows.clock import ManualClock
from workflows.delivery import CUSTOMER_SAFE_PURPOSES, Purpose
from workflows.desk import Desk
from workflows.editing import edit_from, edit_ticket
from workflows.export import (
    FEATURE_REQUEST_FIELDS,
    feature_request_csv_row,
    feature_request_records,
)
from workflows.feature_request_button import mark_feature_request
from workflows.feature_requests import (
    MAX_TITLE,
    SIMILARITY_THRESHOLD,
    BoardRefusal,
    Filed,
    LinkChoice,
    Press,
    ShipSubmission,
    StatusChoice,
    check_release_note,
    choose_request,
    choose_status,
    file_feature_request,
    ship_form_for,
    ship_request,
    similarity,
    title_from,
)
from workflows.intake import (
    IntakeRequest,
    Outcome,
    SlackMessage,
    open_from_modal,
    receive_message,
)
from workflows.vocabulary import EventKind, FeatureRequestStatus, IssueType, Priority

T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"
AGENT, OWNER, STRANGER = "U0AGENT1", "U0PM", "U0RANDO"
CUSTOMER, CUSTOMER_TEAM = "U0ACMEJO", "T0ACME"
HELP, ACME, GLOBEX, TRIAGE, IDEAS = "C0HELP", "C0ACME", "C0GLOBEX", "C0TRIAGE", "C0IDEAS"
DARK_MODE = "Please add a dark mode to the dashboard"
DARK_MODE_AGAIN = "Could we get a dark mode for the dashboard? My eyes hurt at night"
EVIL = "Shipped! <!channel> <@U1> see <https://evil.example|the docs> & enjoy"
SECRET = "SECRET-internal-note-do-not-share"


def board_config(**board: Any) -> dict[str, Any]:
    return {
        **TEST_CONFIG,
        "customer_channels": [
            {"channel": ACME, "customer": "Acme Corp", "tier": "enterprise"},
            {"channel": GLOBEX, "customer": "Globex", "tier": "pro"},
        ],
        "feature_requests": {"channel": IDEAS, "owners": [OWNER], **board},
    }


@pytest.fixture
def sf(engine: Engine) -> SessionFactory:
    return create_session_factory(engine)


@pytest.fixture
def desk(clock: ManualClock) -> Desk:
    clock.set(T0)
    return Desk(parse_config(board_config()), clock)


@pytest.fixture
def dispatcher(sf: SessionFactory, standin: SlackStandin, desk: Desk) -> Iterator[Dispatcher]:
    yield Dispatcher(
        sf,
        outbox_client("xoxb-standin", standin.url),
        DeliveryHooks(desk.config, desk.clock),
        desk.clock,
    )


# --- helpers -----------------------------------------------------------------------------------


def modal_ticket(
    sf: SessionFactory,
    desk: Desk,
    text: str = DARK_MODE,
    *,
    user: str = ALICE,
    product: str | None = None,
    issue_type: IssueType = IssueType.FEATURE_REQUEST,
) -> int:
    request = IntakeRequest(
        requester=user,
        channel=HELP,
        issue_type=issue_type,
        priority=Priority.MEDIUM,
        description=text,
        product=product,
    )
    with sf.begin() as session:
        result = open_from_modal(session, desk, request)
    assert result.ticket_id is not None
    return result.ticket_id


def message_ticket(
    sf: SessionFactory,
    desk: Desk,
    standin: SlackStandin,
    text: str,
    *,
    channel: str = HELP,
    user: str = BOB,
) -> int:
    customer = channel in (ACME, GLOBEX)
    ts = standin.seed_message(channel, user=user, text=text)
    message = SlackMessage(
        channel=channel,
        ts=ts,
        user=user,
        text=text,
        team=CUSTOMER_TEAM if customer else None,
        is_external=customer,
        in_shared_channel=customer,
    )
    with sf.begin() as session:
        result = receive_message(session, desk, message)
    assert result.outcome == Outcome.OPENED and result.ticket_id is not None
    return result.ticket_id


def press(user: str = AGENT, **kw: Any) -> Press:
    return Press(user=user, at=T0 + timedelta(minutes=5), **kw)


def requests(sf: SessionFactory) -> list[FeatureRequest]:
    with sf.begin() as session:
        found = list(session.scalars(select(FeatureRequest).order_by(FeatureRequest.id)))
        for request in found:
            request.links  # noqa: B018 - load before the session closes
        return found


def links(sf: SessionFactory) -> list[FeatureRequestLink]:
    with sf.begin() as session:
        return list(session.scalars(select(FeatureRequestLink).order_by(FeatureRequestLink.id)))


def rows(sf: SessionFactory, purpose: str | None = None) -> list[SimpleNamespace]:
    """Outbox rows, private notices as their people read them."""
    with sf.begin() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if purpose is not None:
            query = query.where(OutboxMessage.purpose == purpose)
        return as_told(session.scalars(query).all())


def file(sf: SessionFactory, desk: Desk, ticket_id: int, *, by: str | None = AGENT) -> Filed | None:
    with sf.begin() as session:
        ticket = TicketRepository(session).get(ticket_id)
        assert ticket is not None
        ticket.issue_type = IssueType.FEATURE_REQUEST
        return file_feature_request(session, desk, ticket, by=by, at=T0)


def bot_posts(standin: SlackStandin, channel: str) -> list[dict[str, Any]]:
    return [m for m in standin.messages(channel) if m.get("bot_id")]


def flat(message: dict[str, Any]) -> str:
    return str(message.get("text")) + str(message.get("blocks"))


# --- similarity --------------------------------------------------------------------------------


def _request(title: str, description: str = "") -> FeatureRequest:
    return FeatureRequest(title=title, description=description or title, status="under_review")


@pytest.mark.parametrize(
    ("question", "title", "description"),
    [
        (DARK_MODE_AGAIN, DARK_MODE, ""),
        (
            "Could you add a dark mode to the dashboard? Our night shift finds it far too bright.",
            "Dark mode for the dashboard: our reps demo it in dim rooms at night",
            "",
        ),
        ("Allow exporting invoices in CSV format", "Export invoices as CSV", ""),
        ("We need SSO login with Okta", "Single sign-on: SSO login through Okta", ""),
        # A short question matching the title isn't diluted by a long first description.
        (
            "Dark mode please",
            "Dark mode",
            "Dark mode\nOur support staff work nights and the white dashboard is blinding; "
            "several customers mentioned it in their quarterly reviews as well",
        ),
    ],
)
def test_near_duplicates_read_alike(question: str, title: str, description: str) -> None:
    assert similarity(question, _request(title, description)) >= SIMILARITY_THRESHOLD


@pytest.mark.parametrize(
    ("question", "title"),
    [
        ("Export invoices as CSV", DARK_MODE),
        ("Add SSO login to the dashboard", "Dark mode in the dashboard"),  # one shared word
        ("Let admins export the audit log as CSV", "Export invoices as CSV from the billing page"),
        ("Hi team, thanks!", DARK_MODE),  # courtesies only
        ("", DARK_MODE),
    ],
)
def test_unrelated_requests_do_not(question: str, title: str) -> None:
    assert similarity(question, _request(title)) < SIMILARITY_THRESHOLD


def test_title_is_the_first_line_within_the_limit() -> None:
    assert title_from("\n  Dark mode  \nmore words", fallback="x") == "Dark mode"
    long = title_from("a" * 400, fallback="x")
    assert len(long) == MAX_TITLE and long.endswith("…")
    assert title_from("   ", fallback="Feature request from #4") == "Feature request from #4"


# --- filing ------------------------------------------------------------------------------------


def test_no_board_means_nothing_is_filed(sf: SessionFactory, clock: ManualClock) -> None:
    desk = Desk(parse_config(TEST_CONFIG), clock)
    modal_ticket(sf, desk)
    assert requests(sf) == [] and rows(sf, Purpose.FEATURE_REQUEST_CARD) == []


def test_a_modal_feature_request_opens_a_request_with_its_card(
    sf: SessionFactory, desk: Desk
) -> None:
    ticket_id = modal_ticket(sf, desk, DARK_MODE + "\nIt would help at night.", product="Billing")
    [request] = requests(sf)
    assert (request.title, request.product, request.status) == (
        DARK_MODE,
        "Billing",
        "under_review",
    )
    assert request.created_by == ALICE and request.ref == f"FR-{request.id}"
    [link] = links(sf)
    assert (link.ticket_id, link.requester, link.customer, link.linked_by) == (
        ticket_id,
        ALICE,
        None,
        None,
    )
    with sf.begin() as session:
        [filed] = TicketRepository(session).events_of_kind(
            ticket_id, EventKind.FEATURE_REQUEST_FILED
        )
        assert filed.data == {"request": request.id, "ref": request.ref, "via": "new"}
    [card] = rows(sf, Purpose.FEATURE_REQUEST_CARD)
    assert card.method == "chat.postMessage" and card.ticket_id == ticket_id
    # Filing again (a retry, an edit back and forth) changes nothing.
    assert file(sf, desk, ticket_id) == Filed.ALREADY
    assert len(requests(sf)) == 1 and len(rows(sf, Purpose.FEATURE_REQUEST_CARD)) == 1


def test_a_similar_request_is_offered_not_filed(
    sf: SessionFactory, desk: Desk, standin: SlackStandin
) -> None:
    modal_ticket(sf, desk, DARK_MODE, product="Billing")
    second = message_ticket(sf, desk, standin, DARK_MODE_AGAIN, channel=ACME, user=CUSTOMER)
    with sf.begin() as session:
        TicketRepository(session).get(second).product = "Billing"  # type: ignore[union-attr]
    assert file(sf, desk, second) == Filed.OFFERED
    assert len(requests(sf)) == 1 and len(links(sf)) == 1
    [offer] = rows(sf, Purpose.FEATURE_REQUEST_OFFER)
    [request] = requests(sf)
    assert offer.ticket_id == second and offer.payload["_candidates"] == [request.id]
    with sf.begin() as session:
        assert not TicketRepository(session).events_of_kind(second, EventKind.FEATURE_REQUEST_FILED)


def test_product_and_status_decide_what_may_be_a_duplicate(
    sf: SessionFactory, desk: Desk, standin: SlackStandin
) -> None:
    modal_ticket(sf, desk, DARK_MODE, product="Billing")
    # Another product: a request of its own.
    api = message_ticket(sf, desk, standin, DARK_MODE_AGAIN)
    with sf.begin() as session:
        TicketRepository(session).get(api).product = "API"  # type: ignore[union-attr]
    assert file(sf, desk, api) == Filed.NEW
    # No product: every product's requests may be the one.
    anything = message_ticket(sf, desk, standin, DARK_MODE_AGAIN)
    assert file(sf, desk, anything) == Filed.OFFERED
    [offer] = [r for r in rows(sf, Purpose.FEATURE_REQUEST_OFFER) if r.ticket_id == anything]
    assert len(offer.payload["_candidates"]) == 2
    # Declined requests are never offered: a Billing ticket now matches nothing.
    with sf.begin() as session:
        for request in session.scalars(select(FeatureRequest)):
            request.status = FeatureRequestStatus.DECLINED.value
    billing = message_ticket(sf, desk, standin, DARK_MODE_AGAIN)
    with sf.begin() as session:
        TicketRepository(session).get(billing).product = "Billing"  # type: ignore[union-attr]
    assert file(sf, desk, billing) == Filed.NEW


def test_the_offer_lists_candidates_with_link_and_new_request() -> None:
    from templates.feature_requests import Candidate

    candidates = [Candidate(3, "FR-3", "<!here> Dark mode", "Billing", "Planned", 2)]
    message = offer_message(ticket_id=42, ref="#42", candidates=candidates)
    buttons = [
        (e["action_id"], e["value"], e["text"]["text"])
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    assert buttons == [
        (ActionId.FEATURE_REQUEST_LINK, "42:3", "Link to FR-3"),
        (ActionId.FEATURE_REQUEST_NEW, "42", "New request"),
    ]
    assert "&lt;!here&gt; Dark mode" in flat(message) and "<!here>" not in flat(message)
    assert "Planned · 2 requesters · Billing" in flat(message)
    done = offer_message(
        ticket_id=42, ref="#42", candidates=[], outcome="linked", chosen_ref="FR-3", by=AGENT
    )
    assert "Linked to *FR-3*" in flat(done) and f"<@{AGENT}>" in flat(done)
    assert not [b for b in done["blocks"] if b["type"] == "actions"]


# --- Link and New request ----------------------------------------------------------------------


def offered(sf: SessionFactory, desk: Desk, standin: SlackStandin) -> tuple[int, int, int]:
    """A request from Alice's form, and Acme's customer asking the same: (request, first ticket,
    offered ticket)."""
    first = modal_ticket(sf, desk, DARK_MODE)
    second = message_ticket(sf, desk, standin, DARK_MODE_AGAIN, channel=ACME, user=CUSTOMER)
    assert file(sf, desk, second) == Filed.OFFERED
    [request] = requests(sf)
    return request.id, first, second


def test_link_adds_the_requester_and_customer(
    sf: SessionFactory, desk: Desk, standin: SlackStandin
) -> None:
    request_id, first, second = offered(sf, desk, standin)
    where = {"channel": TRIAGE, "message_ts": "1.000200", "thread_ts": "1.000100"}
    with sf.begin() as session:
        result = choose_request(session, desk, LinkChoice(second, request_id, press(**where)))
    assert result.done and result.request_ref == f"FR-{request_id}"
    [_, link] = links(sf)
    assert (link.ticket_id, link.requester, link.customer, link.tier, link.linked_by) == (
        second,
        CUSTOMER,
        "Acme Corp",
        "enterprise",
        AGENT,
    )
    [update] = [r for r in rows(sf, Purpose.FEATURE_REQUEST_OFFER) if r.method == "chat.update"]
    assert (update.payload["channel"], update.payload["ts"]) == (TRIAGE, "1.000200")
    assert update.payload["_outcome"] == "linked"
    with sf.begin() as session:
        [request] = FeatureRequestRepository(session).get_many([request_id])
        card = board_card(request, FeatureRequestRepository(session).linked_tickets(request_id))
    text = flat(card)
    assert "asked by *2* requesters" in text and "Acme Corp · enterprise" in text
    assert f"<@{ALICE}>" in text and f"<@{CUSTOMER}>" in text and f"#{first}" in text
    # Pressing again (or another offer of the same ticket): told privately, nothing changes.
    with sf.begin() as session:
        again = choose_request(session, desk, LinkChoice(second, request_id, press(**where)))
        assert again.refusal == BoardRefusal.ALREADY_LINKED
        again = choose_request(session, desk, LinkChoice(second, None, press(**where)))
        assert again.refusal == BoardRefusal.ALREADY_LINKED
    assert len(links(sf)) == 2 and len(requests(sf)) == 1
    notices = [r for r in rows(sf, Purpose.NOTICE)]
    assert all(r.payload["channel"] == TRIAGE for r in notices)
    assert f"already on the board as FR-{request_id}" in notices[-1].payload["text"]


def test_only_agents_link_or_file(sf: SessionFactory, desk: Desk, standin: SlackStandin) -> None:
    request_id, _, second = offered(sf, desk, standin)
    for who, external in ((STRANGER, False), (OWNER, False), (AGENT, True)):
        with sf.begin() as session:
            result = choose_request(
                session,
                desk,
                LinkChoice(second, request_id, press(who, user_is_external=external)),
            )
        assert result.refusal == BoardRefusal.NOT_AGENT
    assert len(links(sf)) == 1
    told = [
        r.payload["channel"]  # no channel pressed in: a DM
        for r in rows(sf, Purpose.NOTICE)
        if "Only support agents can put tickets" in r.payload.get("text", "")
    ]
    assert told == [STRANGER, OWNER, AGENT]


def test_new_request_files_it_separately(
    sf: SessionFactory, desk: Desk, standin: SlackStandin
) -> None:
    request_id, _, second = offered(sf, desk, standin)
    with sf.begin() as session:
        result = choose_request(session, desk, LinkChoice(second, None, press()))
    assert result.done and result.request_id != request_id
    assert [len(r.links) for r in requests(sf)] == [1, 1]
    new = requests(sf)[1]
    assert (new.title, new.created_by) == (DARK_MODE_AGAIN.split("\n")[0], AGENT)
    cards = [r for r in rows(sf, Purpose.FEATURE_REQUEST_CARD) if r.method == "chat.postMessage"]
    assert len(cards) == 2


# --- the card's button and the Edit modal -------------------------------------------------------


def test_the_feature_request_button_edits_the_type_and_files(
    sf: SessionFactory, desk: Desk, standin: SlackStandin, dispatcher: Dispatcher
) -> None:
    ticket_id = message_ticket(sf, desk, standin, "Export invoices as CSV please")
    dispatcher.drain()
    with sf.begin() as session:
        refused = mark_feature_request(session, desk, ticket_id, press(STRANGER, channel=HELP))
    assert refused.refusal == BoardRefusal.NOT_AGENT and requests(sf) == []
    with sf.begin() as session:
        assert mark_feature_request(session, desk, ticket_id, press(channel=HELP)).done
        ticket = TicketRepository(session).get(ticket_id)
        assert ticket is not None and ticket.issue_type == IssueType.FEATURE_REQUEST
        [edited] = TicketRepository(session).events_of_kind(ticket_id, EventKind.EDITED)
        assert edited.data["via"] == "button" and edited.actor == AGENT
        assert edited.data["changes"] == {
            "issue_type": {"from": None, "to": IssueType.FEATURE_REQUEST.value}
        }
    [request] = requests(sf)
    assert request.links[0].linked_by == AGENT
    assert any(r.purpose == Purpose.CARD_UPDATE for r in rows(sf))


def test_an_edit_to_feature_request_files_it(
    sf: SessionFactory, desk: Desk, standin: SlackStandin
) -> None:
    ticket_id = message_ticket(sf, desk, standin, "Export invoices as CSV please")
    with sf.begin() as session:
        ticket = TicketRepository(session).get(ticket_id)
        assert ticket is not None
        edit = edit_from(ticket, priority="high")
        assert edit_ticket(session, desk, edit, editor=AGENT, at=T0).done
    assert requests(sf) == []  # not the type: nothing to file
    with sf.begin() as session:
        ticket = TicketRepository(session).get(ticket_id)
        assert ticket is not None
        edit = edit_from(ticket, issue_type=IssueType.FEATURE_REQUEST)
        assert edit_ticket(session, desk, edit, editor=AGENT, at=T0).done
    [request] = requests(sf)
    assert request.links[0].ticket_id == ticket_id


# --- statuses and shipping -----------------------------------------------------------------------


def status(sf: SessionFactory, desk: Desk, request_id: int, value: str, user: str) -> Any:
    choice = StatusChoice(request_id, FeatureRequestStatus(value), press(user, channel=IDEAS))
    with sf.begin() as session:
        return choose_status(session, desk, choice)


def ship(sf: SessionFactory, desk: Desk, request_id: int, note: str, user: str = OWNER) -> Any:
    submission = ShipSubmission(request_id, user, note, at=T0 + timedelta(hours=1))
    with sf.begin() as session:
        return ship_request(session, desk, submission)


def test_owners_and_agents_set_statuses_others_are_refused(sf: SessionFactory, desk: Desk) -> None:
    modal_ticket(sf, desk)
    [request] = requests(sf)
    assert status(sf, desk, request.id, "planned", OWNER).done
    assert (requests(sf)[0].status, requests(sf)[0].status_by) == ("planned", OWNER)
    assert status(sf, desk, request.id, "declined", AGENT).done
    refused = status(sf, desk, request.id, "under_review", STRANGER)
    assert refused.refusal == BoardRefusal.NOT_ALLOWED
    assert requests(sf)[0].status == "declined"
    [notice] = rows(sf, Purpose.NOTICE)
    assert (notice.payload["channel"], notice.payload["user"]) == (IDEAS, STRANGER)
    # Shipped waits for its modal: only those who may ship get one.
    choice = StatusChoice(request.id, FeatureRequestStatus.SHIPPED, press(OWNER, channel=IDEAS))
    with sf.begin() as session:
        assert not choose_status(session, desk, choice).done
        form = ship_form_for(session, desk, choice)
        assert form is not None and form.requester_count == 1
        stranger = StatusChoice(request.id, FeatureRequestStatus.SHIPPED, press(STRANGER))
        assert ship_form_for(session, desk, stranger) is None
    assert requests(sf)[0].status == "declined"
    assert ship(sf, desk, request.id, "Out now", user=STRANGER).refusal == BoardRefusal.NOT_ALLOWED


def test_release_note_is_required_and_bounded() -> None:
    assert check_release_note("  ") is not None
    assert check_release_note("x" * 2001) is not None
    assert check_release_note("Dark mode is live: Settings → Appearance.") is None


def test_shipping_tells_every_requester_once(
    sf: SessionFactory, desk: Desk, standin: SlackStandin, dispatcher: Dispatcher
) -> None:
    request_id, first, second = offered(sf, desk, standin)
    with sf.begin() as session:
        choose_request(session, desk, LinkChoice(second, request_id, press()))
        NoteRepository(session).add(
            TicketNote(ticket_id=second, author=AGENT, text=SECRET, created_at=T0)
        )
    dispatcher.drain()
    standin.reset_calls()

    assert ship(sf, desk, request_id, EVIL).done
    assert all(link.notified_at is not None for link in links(sf))
    shipped = rows(sf, Purpose.FEATURE_REQUEST_SHIPPED)
    assert sorted(r.ticket_id or 0 for r in shipped) == sorted([first, second])
    # Submitted again (a double click), or shipped again after a status change: nobody twice.
    assert ship(sf, desk, request_id, EVIL).done
    status(sf, desk, request_id, "planned", OWNER)
    assert ship(sf, desk, request_id, "Second note").done
    assert len(rows(sf, Purpose.FEATURE_REQUEST_SHIPPED)) == 2

    dispatcher.drain()
    with sf.begin() as session:
        alice_ticket = TicketRepository(session).get(first)
        customer_ticket = TicketRepository(session).get(second)
        assert alice_ticket is not None and customer_ticket is not None
    # Alice: the /support card's thread, with the board's title.
    [to_alice] = [m for m in bot_posts(standin, HELP) if "Good news" in m["text"]]
    assert to_alice["thread_ts"] == alice_ticket.card_ts
    assert f"asked for in #{first} has shipped — {DARK_MODE}" in to_alice["text"]
    # The customer: their own thread, their own words, escaped, nothing internal.
    [to_customer] = [m for m in bot_posts(standin, ACME) if "Good news" in m["text"]]
    assert to_customer["thread_ts"] == customer_ticket.source_ts
    said = flat(to_customer)
    assert f"in #{second} has shipped — Could we get a dark mode" in said
    assert "&lt;!channel&gt;" in said and "&lt;@U1&gt;" in said
    assert "&lt;https://evil.example|the docs&gt;" in said and "&amp; enjoy" in said
    assert "<!channel>" not in said and "<@U1>" not in said and "<https://" not in said
    assert SECRET not in said and "Alice" not in said and ALICE not in said
    # Only customer-safe messages went into the customer's channel; the news was one of them.
    into_acme = [r for r in rows(sf) if (r.response or {}).get("channel") == ACME]
    assert {r.purpose for r in into_acme} <= CUSTOMER_SAFE_PURPOSES
    assert Purpose.FEATURE_REQUEST_SHIPPED in {r.purpose for r in into_acme}
    with sf.begin() as session:
        for ticket_id in (first, second):
            assert (
                len(
                    TicketRepository(session).events_of_kind(
                        ticket_id, EventKind.FEATURE_REQUEST_SHIPPED
                    )
                )
                == 1
            )


def test_a_requester_linked_after_shipping_is_told_at_once(
    sf: SessionFactory, desk: Desk, standin: SlackStandin
) -> None:
    request_id, _, second = offered(sf, desk, standin)
    assert ship(sf, desk, request_id, "Live now").done
    assert len(rows(sf, Purpose.FEATURE_REQUEST_SHIPPED)) == 1
    with sf.begin() as session:
        choose_request(session, desk, LinkChoice(second, request_id, press()))
    told = rows(sf, Purpose.FEATURE_REQUEST_SHIPPED)
    assert [r.ticket_id for r in told][1:] == [second]
    assert all(link.notified_at is not None for link in links(sf))


def test_an_unreachable_thread_falls_back_to_a_dm_for_colleagues_only(
    sf: SessionFactory, desk: Desk, standin: SlackStandin, dispatcher: Dispatcher
) -> None:
    internal = message_ticket(sf, desk, standin, DARK_MODE, user=CAROL)
    assert file(sf, desk, internal) == Filed.NEW
    [request] = requests(sf)
    customer = message_ticket(sf, desk, standin, DARK_MODE_AGAIN, channel=ACME, user=CUSTOMER)
    with sf.begin() as session:
        choose_request(session, desk, LinkChoice(customer, request.id, press()))
    dispatcher.drain()
    standin.not_in_channel.update({HELP, ACME})
    assert ship(sf, desk, request.id, "Live now").done
    dispatcher.drain()
    [dm] = [m for m in bot_posts(standin, CAROL) if "Good news" in m["text"]]
    assert f"#{internal} has shipped" in dm["text"]
    assert not [m for m in bot_posts(standin, CUSTOMER) if "Good news" in m["text"]]
    statuses = {r.ticket_id: r.status for r in rows(sf, Purpose.FEATURE_REQUEST_SHIPPED)}
    assert statuses == {internal: "sent", customer: "failed"}


def test_shipped_message_wording() -> None:
    message = shipped_message(ref="#42", title="Dark mode.", release_note="It's <b>live</b>")
    assert message["text"] == (
        "Good news: the feature you asked for in #42 has shipped — Dark mode. "
        "It's &lt;b&gt;live&lt;/b&gt;"
    )
    assert shipped_message(ref="#42", title=None, release_note="x")["text"].startswith(
        "Good news: the feature you asked for in #42 has shipped. x"
    )


# --- the board card on the board -----------------------------------------------------------------


def test_the_board_card_lands_on_the_board_and_follows_changes(
    sf: SessionFactory, desk: Desk, standin: SlackStandin, dispatcher: Dispatcher
) -> None:
    request_id, _, second = offered(sf, desk, standin)
    dispatcher.drain()
    [card] = bot_posts(standin, IDEAS)
    [request] = requests(sf)
    assert (request.card_channel, request.card_ts) == (IDEAS, card["ts"])
    assert "asked by *1* requester" in flat(card)
    [menu] = [e for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert menu["action_id"] == ActionId.FEATURE_REQUEST_STATUS
    assert menu["initial_option"]["value"] == f"{request_id}:under_review"
    assert [o["value"].split(":")[1] for o in menu["options"]] == [
        "under_review",
        "planned",
        "shipped",
        "declined",
    ]
    # The offer went to the customer ticket's triage thread, never the customer's channel.
    [offer] = [m for m in bot_posts(standin, TRIAGE) if "looks like a feature request" in m["text"]]
    with sf.begin() as session:
        customer_ticket = session.get(Ticket, second)
        assert customer_ticket is not None
        assert offer["thread_ts"] == customer_ticket.card_ts
    assert not [m for m in bot_posts(standin, ACME) if "feature request" in m["text"]]
    with sf.begin() as session:
        choose_request(
            session,
            desk,
            LinkChoice(second, request_id, press(channel=TRIAGE, message_ts=offer["ts"])),
        )
    status(sf, desk, request_id, "planned", OWNER)
    dispatcher.drain()
    [card] = bot_posts(standin, IDEAS)
    assert "asked by *2* requesters" in flat(card) and "*Planned*" in flat(card)
    [offer] = [m for m in bot_posts(standin, TRIAGE) if m["ts"] == offer["ts"]]
    assert f"Linked to *FR-{request_id}*" in flat(offer)


# --- export ------------------------------------------------------------------------------------


def test_export_records_list_counts_and_customers(
    sf: SessionFactory, desk: Desk, standin: SlackStandin
) -> None:
    request_id, first, second = offered(sf, desk, standin)
    with sf.begin() as session:
        choose_request(session, desk, LinkChoice(second, request_id, press()))
    ship(sf, desk, request_id, '=HYPERLINK("http://evil")')
    with sf.begin() as session:
        [record] = list(feature_request_records(session))
        assert list(feature_request_records(session, since=T0 + timedelta(days=1))) == []
    assert tuple(record) == FEATURE_REQUEST_FIELDS
    assert record["requesters"] == 2
    assert record["requester_ids"] == [ALICE, CUSTOMER]
    assert (record["customers"], record["tiers"]) == (["Acme Corp"], ["enterprise"])
    assert record["tickets"] == [f"#{first}", f"#{second}"]
    assert record["status"] == "shipped" and record["shipped_at"].endswith("Z")
    row = feature_request_csv_row(record)
    assert row["requester_ids"] == f"{ALICE};{CUSTOMER}" and row["tickets"] == f"#{first};#{second}"
    assert row["release_note"].startswith("'=HYPERLINK")
