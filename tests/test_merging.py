"""Merge and Split, straight on the database: who may, which tickets and messages qualify, what
a merge or split changes, logs and owes Slack (outbox rows, delivered by a fake Slack through the
real delivery hooks), retries and two merges racing, and the modals' content within Slack's
limits."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.config import DeskConfig, parse_config
from bot.delivery import DeliveryHooks
from storage.db import SessionFactory, create_session_factory
from storage.models import OutboxMessage, Ticket, TicketTag
from storage.repositories import EscalationRepository, OutboxRepository, TicketRepository
from templates.merging import (
    MAX_LABEL,
    MergeCandidate,
    MergeForm,
    SplitCandidate,
    SplitForm,
    build_merge_modal,
    build_split_modal,
    customer_thread_message,
    merge_option_label,
    split_option_label,
)
from tests.conftest import TEST_CONFIG, run_together
from workflows.clock import ManualClock, datetime_to_slack_ts
from workflows.delivery import Purpose, SlackCall
from workflows.desk import Desk
from workflows.editing import Form, ModalRequest
from workflows.escalation import EscalationAnswers, escalate, relay_from_engineering
from workflows.intake import Outcome, SlackMessage, receive_message
from workflows.merging import (
    MergeResult,
    merge_form_for,
    split_form_for,
    submit_merge,
    submit_split,
)
from workflows.triage import Refusal
from workflows.vocabulary import EventKind, TicketStatus, Via

T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
REQUESTER, OTHER_REQUESTER = "U0REQ1", "U0REQ2"
CUSTOMER, CUSTOMER2, GLOBEX_USER = "U0ACMEJO", "U0ACMEKIM", "U0GLOBEX"
AGENT, AGENT2, NOT_AGENT = "U0AGENT1", "U0AGENT2", "U0BOB"
HELP, ACME, GLOBEX, TRIAGE = "C0HELP", "C0ACME", "C0GLOBEX", "C0TRIAGE"


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


# --- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture
def session_factory(engine: Engine) -> SessionFactory:
    return create_session_factory(engine)


@pytest.fixture
def config() -> DeskConfig:
    """The test config with a second customer, to merge across (which must never happen)."""
    customers = [
        *TEST_CONFIG["customer_channels"],
        {"channel": GLOBEX, "customer": "Globex", "tier": "standard"},
    ]
    return parse_config({**TEST_CONFIG, "customer_channels": customers})


@pytest.fixture
def desk(config: DeskConfig, clock: ManualClock) -> Desk:
    clock.set(minutes(60))
    return Desk(config, clock)


class FakeSlack:
    """Delivers the outbox like the dispatcher would, through the real hooks: each post lands
    with a fresh ts; what was sent is kept as (purpose, ticket id, call)."""

    def __init__(self, sf: SessionFactory, desk: Desk) -> None:
        self.sf = sf
        self.hooks = DeliveryHooks(desk.config, desk.clock)
        self.sent: list[tuple[str, int | None, SlackCall]] = []
        self.failing: set[str] = set()  # purposes Slack refuses for good
        self._ts = itertools.count(1)

    def deliver(self) -> list[tuple[str, int | None, SlackCall]]:
        start = len(self.sent)
        while True:
            with self.sf.begin() as session:
                pending = OutboxRepository(session).pending()
                if not pending:
                    break
                row = pending[0]
                call = self.hooks.prepare(session, row)
                if call is None:
                    row.status = "dropped"
                    continue
                now = minutes(61)
                if row.purpose in self.failing:
                    self.hooks.failed(session, row, "not_in_channel", now=now)
                    row.status = "failed"
                    continue
                ts = datetime_to_slack_ts(minutes(120) + timedelta(seconds=next(self._ts)))
                response = {
                    "channel": call.payload.get("channel"),
                    "ts": ts,
                    "permalink": f"https://desk.slack.com/archives/x/p{call.payload.get('message_ts')}",
                }
                follow_up = self.hooks.delivered(session, row, response, now=now)
                self.sent.append((str(row.purpose), row.ticket_id, call))
                if follow_up is None:
                    row.status = "sent"
                else:  # as the dispatcher does: the same row makes the follow-up call next
                    row.method = follow_up.method
                    kept = {k: v for k, v in row.payload.items() if k.startswith("_")}
                    row.payload = {**kept, **follow_up.payload}
        return self.sent[start:]


@pytest.fixture
def slack(session_factory: SessionFactory, desk: Desk) -> FakeSlack:
    return FakeSlack(session_factory, desk)


def ask(
    sf: SessionFactory,
    desk: Desk,
    *,
    when: datetime,
    text: str = "The export fails",
    user: str = REQUESTER,
    channel: str = HELP,
    external: bool | None = None,
) -> int:
    """A new top-level question: internal in C0HELP, or a customer's in their channel."""
    is_external = channel != HELP if external is None else external
    message = SlackMessage(
        channel=channel,
        ts=datetime_to_slack_ts(when),
        user=user,
        text=text,
        team="T0OTHER" if is_external else "T0DESK",
        is_external=is_external,
    )
    with sf.begin() as session:
        result = receive_message(session, desk, message)
    assert result.outcome == Outcome.OPENED and result.ticket_id is not None
    return result.ticket_id


def reply(
    sf: SessionFactory,
    desk: Desk,
    ticket: Ticket,
    *,
    when: datetime,
    text: str,
    user: str = REQUESTER,
    external: bool = False,
) -> str:
    """A reply in the ticket's requester-visible thread; returns its ts."""
    assert ticket.source_channel and ticket.thread_ts
    ts = datetime_to_slack_ts(when)
    message = SlackMessage(
        channel=ticket.source_channel,
        ts=ts,
        user=user,
        text=text,
        thread_ts=ticket.thread_ts,
        team="T0OTHER" if external else "T0DESK",
        is_external=external,
    )
    with sf.begin() as session:
        receive_message(session, desk, message)
    return ts


def load(sf: SessionFactory, ticket_id: int) -> Ticket:
    with sf.begin() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        ticket.tags  # noqa: B018 - load before the session closes
        return ticket


def kinds(sf: SessionFactory, ticket_id: int) -> list[str]:
    with sf.begin() as session:
        return [e.kind for e in TicketRepository(session).events(ticket_id)]


def event(sf: SessionFactory, ticket_id: int, kind: str) -> dict[str, Any]:
    with sf.begin() as session:
        [found] = [e for e in TicketRepository(session).events(ticket_id) if e.kind == kind]
        return {"actor": found.actor, "at": found.at, **found.data}


def last_row_id(sf: SessionFactory) -> int:
    with sf.begin() as session:
        return (
            session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id.desc())).first() or 0
        )


def rows_after(sf: SessionFactory, row_id: int) -> list[tuple[str | None, int | None, dict]]:
    with sf.begin() as session:
        rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.id > row_id).order_by(OutboxMessage.id)
        ).all()
        return [(r.purpose, r.ticket_id, r.payload) for r in rows]


def merge(
    sf: SessionFactory,
    desk: Desk,
    ticket_id: int,
    target: int | str | None,
    *,
    agent: str = AGENT,
    external: bool = False,
) -> MergeResult:
    with sf.begin() as session:
        return submit_merge(
            session,
            desk,
            ticket_id=ticket_id,
            target=None if target is None else str(target),
            agent=agent,
            agent_is_external=external,
            at=minutes(60),
        )


def split(
    sf: SessionFactory,
    desk: Desk,
    ticket_id: int,
    ts: str | None,
    *,
    agent: str = AGENT,
    external: bool = False,
) -> Any:
    with sf.begin() as session:
        return submit_split(
            session,
            desk,
            ticket_id=ticket_id,
            ts=ts,
            agent=agent,
            agent_is_external=external,
            at=minutes(60),
        )


def set_fields(
    sf: SessionFactory, ticket_id: int, *, tags: tuple[str, ...] = (), **fields: Any
) -> None:
    with sf.begin() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        for name, value in fields.items():
            setattr(ticket, name, value)
        for tag in tags:
            ticket.tags.append(TicketTag(tag=tag))


def request(ticket_id: int, form: Form, *, user: str = AGENT) -> ModalRequest:
    return ModalRequest(form=form, ticket_id=ticket_id, user=user, reply_channel=TRIAGE)


# --- which tickets a ticket may be merged into --------------------------------------------------


def test_merge_candidates_are_the_customers_open_tickets_newest_first(
    session_factory: SessionFactory, desk: Desk
) -> None:
    sf = session_factory
    older = ask(sf, desk, when=minutes(0), channel=ACME, user=CUSTOMER, text="Invoices fail")
    closed = ask(sf, desk, when=minutes(5), channel=ACME, user=CUSTOMER2, text="Old thing")
    merged = ask(sf, desk, when=minutes(10), channel=ACME, user=CUSTOMER2, text="Dup")
    newer = ask(sf, desk, when=minutes(15), channel=ACME, user=CUSTOMER2, text="Export slow")
    ticket = ask(sf, desk, when=minutes(20), channel=ACME, user=CUSTOMER, text="Still failing")
    ask(sf, desk, when=minutes(25), channel=GLOBEX, user=GLOBEX_USER, text="Globex asks")
    ask(sf, desk, when=minutes(30), text="An internal question", user=CUSTOMER)
    set_fields(sf, closed, status=TicketStatus.CLOSED)
    set_fields(sf, newer, status=TicketStatus.RESOLVED)
    assert merge(sf, desk, merged, older).done

    with sf.begin() as session:
        form = merge_form_for(session, desk, request(ticket, Form.MERGE))

    assert form is not None and form.customer == "Acme Corp"
    assert [(c.ticket_id, c.status) for c in form.candidates] == [
        (newer, "Resolved"),
        (older, "Open"),
    ]
    view = build_merge_modal(form, private_metadata="{}")
    [select_block] = [b for b in view["blocks"] if b["type"] == "input"]
    labels = [o["text"]["text"] for o in select_block["element"]["options"]]
    assert labels == [f"#{newer} · Resolved · Export slow", f"#{older} · Open · Invoices fail"]
    assert view["submit"]["text"] == "Merge"


def test_internal_candidates_are_the_same_requesters_internal_tickets(
    session_factory: SessionFactory, desk: Desk
) -> None:
    sf = session_factory
    mine = ask(sf, desk, when=minutes(0), text="VPN drops")
    ask(sf, desk, when=minutes(5), text="Printer jam", user=OTHER_REQUESTER)
    ticket = ask(sf, desk, when=minutes(10), text="VPN drops again")

    with sf.begin() as session:
        form = merge_form_for(session, desk, request(ticket, Form.MERGE))
        nothing = merge_form_for(session, desk, request(mine, Form.MERGE, user=NOT_AGENT))

    assert form is not None and [c.ticket_id for c in form.candidates] == [mine]
    assert nothing is None  # refused: not an agent


def test_no_candidate_opens_a_modal_without_submit(
    session_factory: SessionFactory, desk: Desk
) -> None:
    ticket = ask(session_factory, desk, when=minutes(0), channel=ACME, user=CUSTOMER)
    with session_factory.begin() as session:
        form = merge_form_for(session, desk, request(ticket, Form.MERGE))
    assert form is not None and form.candidates == ()

    view = build_merge_modal(form, private_metadata="{}")

    assert "submit" not in view
    assert not [b for b in view["blocks"] if b["type"] == "input"]
    assert "no other open ticket from *Acme Corp*" in view["blocks"][0]["text"]["text"]


# --- merging -----------------------------------------------------------------------------------


def test_merge_closes_the_ticket_and_the_target_takes_priority_and_tags(
    session_factory: SessionFactory, desk: Desk, slack: FakeSlack
) -> None:
    sf = session_factory
    target = ask(sf, desk, when=minutes(0), text="Export fails")
    ticket = ask(sf, desk, when=minutes(10), text="<!channel> export *still* fails\nsince Monday")
    slack.deliver()
    set_fields(sf, target, priority="medium", tags=("billing",), assignee=AGENT2, status="claimed")
    set_fields(sf, ticket, priority="urgent", tags=("billing", "export"))
    before = last_row_id(sf)

    result = merge(sf, desk, ticket, target)

    assert result == MergeResult(True, ticket, target)
    merged, kept = load(sf, ticket), load(sf, target)
    assert (merged.status, merged.closed_at, merged.merged_into_id) == (
        "closed",
        minutes(60),
        target,
    )
    assert (kept.status, kept.assignee, kept.priority) == ("claimed", AGENT2, "urgent")
    assert [t.tag for t in kept.tags] == ["billing", "export"]
    assert kept.description == "Export fails"
    logged = event(sf, target, EventKind.MERGED)
    assert logged["actor"] == AGENT and logged["at"] == minutes(60)
    assert logged["ticket"] == ticket
    assert logged["description"].startswith("<!channel> export")
    assert logged["changes"] == {"priority": {"from": "medium", "to": "urgent"}, "tags": ["export"]}
    assert event(sf, ticket, EventKind.MERGED_INTO)["into"] == target

    owed = rows_after(sf, before)
    assert (Purpose.THREAD_NOTICE, ticket) in [(p, t) for p, t, _ in owed]
    [notice] = [p for purpose, t, p in owed if purpose == Purpose.THREAD_NOTICE]
    assert notice == {"_notice": "merged", "_data": {"into": f"#{target}", "actor": AGENT}}
    [room] = [p for purpose, t, p in owed if purpose == Purpose.ROOM_NOTICE and t == target]
    assert room["_notice"] == "merged_here"
    assert {p for p, t, _ in owed if p == Purpose.CARD_UPDATE} == {Purpose.CARD_UPDATE}
    assert {t for p, t, _ in owed if p == Purpose.CARD_UPDATE} == {ticket, target}

    sent = slack.deliver()
    said = {(purpose, t): call.payload for purpose, t, call in sent}
    thread = said[(Purpose.THREAD_NOTICE, ticket)]
    assert thread["thread_ts"] == merged.thread_ts
    assert thread["text"].startswith(f":link: We're handling this together with #{target}")
    here = said[(Purpose.ROOM_NOTICE, target)]
    assert here["channel"] == HELP and here["thread_ts"] == kept.thread_ts
    assert here["text"].startswith(
        f":link: #{ticket} (from <@{REQUESTER}>) was merged into this ticket by <@{AGENT}>"
    )
    assert ">&lt;!channel&gt; export *still* fails\n>since Monday" in here["text"]
    assert "<!channel>" not in here["text"]
    card = said[(Purpose.CARD_UPDATE, ticket)]
    assert not [b for b in card["blocks"] if b["type"] == "actions"]
    assert f"Merged into #{target}" in str(card["blocks"])


def test_a_requesters_reply_in_the_merged_thread_joins_the_target(
    session_factory: SessionFactory, desk: Desk, slack: FakeSlack
) -> None:
    sf = session_factory
    target = ask(sf, desk, when=minutes(0), channel=ACME, user=CUSTOMER, text="Invoices fail")
    ticket = ask(sf, desk, when=minutes(10), channel=ACME, user=CUSTOMER2, text="Invoices 500")
    slack.deliver()
    assert merge(sf, desk, ticket, target).done
    sent = slack.deliver()
    [(_, _, customer_notice)] = [s for s in sent if s[0] == Purpose.THREAD_NOTICE]
    assert customer_notice.payload["channel"] == ACME
    assert customer_notice.payload["text"] == (
        f":link: We're handling this together with #{target}. Replies here still reach us."
    )

    ts = reply(
        sf,
        desk,
        load(sf, ticket),
        when=minutes(70),
        text="Any news?",
        user=CUSTOMER2,
        external=True,
    )

    with sf.begin() as session:
        kept = TicketRepository(session).get_message(ACME, ts)
        assert kept is not None and kept.ticket_id == target
    mirrored = [s for s in slack.deliver() if s[0] == Purpose.MIRROR]
    assert [(t, call.payload["channel"], call.payload["thread_ts"]) for _, t, call in mirrored] == [
        (target, TRIAGE, load(sf, target).card_ts)
    ]


@pytest.mark.parametrize(
    ("pair", "problem"),
    [
        ("globex", "another customer's ticket"),
        ("internal", "aren't both customer tickets"),
        ("itself", "can't be merged into itself"),
        ("closed", "is closed"),
        ("merged", "was merged into another ticket"),
        ("missing", "doesn't exist"),
        ("nothing", "Choose the ticket to merge"),
        ("garbage", "Choose the ticket to merge"),
    ],
)
def test_merge_refuses_a_target_that_would_send_replies_astray(
    session_factory: SessionFactory, desk: Desk, pair: str, problem: str
) -> None:
    sf = session_factory
    ticket = ask(sf, desk, when=minutes(0), channel=ACME, user=CUSTOMER)
    other = ask(sf, desk, when=minutes(10), channel=ACME, user=CUSTOMER2)
    third = ask(sf, desk, when=minutes(20), channel=ACME, user=CUSTOMER2, text="Third")
    target: int | str | None = {
        "globex": ask(sf, desk, when=minutes(30), channel=GLOBEX, user=GLOBEX_USER),
        "internal": ask(sf, desk, when=minutes(30), user=CUSTOMER, external=False),
        "itself": ticket,
        "closed": other,
        "merged": other,
        "missing": 999_999,
        "nothing": None,
        "garbage": "12; DROP TABLE tickets",
    }[pair]
    if pair == "closed":
        set_fields(sf, other, status=TicketStatus.CLOSED)
    if pair == "merged":
        assert merge(sf, desk, other, third).done
    before = last_row_id(sf)

    result = merge(sf, desk, ticket, target)

    assert not result.done and result.refusal is None
    assert result.error is not None and problem in result.error
    assert load(sf, ticket).status == TicketStatus.OPEN
    assert EventKind.MERGED_INTO not in kinds(sf, ticket)
    assert rows_after(sf, before) == []


def test_internal_tickets_of_two_requesters_are_not_merged(
    session_factory: SessionFactory, desk: Desk
) -> None:
    sf = session_factory
    ticket = ask(sf, desk, when=minutes(0))
    other = ask(sf, desk, when=minutes(5), user=OTHER_REQUESTER)

    result = merge(sf, desk, ticket, other)

    assert result.error is not None and "asked by someone else" in result.error


@pytest.mark.parametrize(
    ("who", "refusal"),
    [("not_agent", Refusal.NOT_AGENT), ("external", Refusal.EXTERNAL), ("closed", Refusal.CLOSED)],
)
def test_merge_is_refused_to_non_agents_customers_and_for_closed_tickets(
    session_factory: SessionFactory, desk: Desk, who: str, refusal: Refusal
) -> None:
    sf = session_factory
    target = ask(sf, desk, when=minutes(0))
    ticket = ask(sf, desk, when=minutes(5))
    if who == "closed":
        set_fields(sf, ticket, status=TicketStatus.CLOSED)
    agent = NOT_AGENT if who == "not_agent" else AGENT

    result = merge(sf, desk, ticket, target, agent=agent, external=who == "external")

    assert result == MergeResult(False, ticket, refusal=refusal)
    assert load(sf, ticket).merged_into_id is None


def test_a_retried_merge_changes_nothing_and_a_merged_ticket_is_not_merged_again(
    session_factory: SessionFactory, desk: Desk
) -> None:
    sf = session_factory
    target = ask(sf, desk, when=minutes(0))
    other = ask(sf, desk, when=minutes(5))
    ticket = ask(sf, desk, when=minutes(10))
    assert merge(sf, desk, ticket, target).done
    before = last_row_id(sf)

    again = merge(sf, desk, ticket, target)
    elsewhere = merge(sf, desk, ticket, other)

    assert again == MergeResult(True, ticket, target)
    assert elsewhere == MergeResult(False, ticket, refusal=Refusal.MERGED)
    assert rows_after(sf, before) == []
    assert kinds(sf, target).count(EventKind.MERGED) == 1
    assert load(sf, ticket).merged_into_id == target


def test_merges_in_opposite_directions_at_once_leave_exactly_one(
    session_factory: SessionFactory, desk: Desk
) -> None:
    """Each request has its own transaction; both start together. Never a cycle, never both."""
    sf = session_factory
    for round_ in range(5):
        first = ask(sf, desk, when=minutes(round_ * 10))
        second = ask(sf, desk, when=minutes(round_ * 10 + 5))

        results = run_together(
            partial(merge, sf, desk, first, second),
            partial(merge, sf, desk, second, first, agent=AGENT2),
        )

        assert sorted(r.done for r in results) == [False, True], results
        a, b = load(sf, first), load(sf, second)
        assert {a.merged_into_id, b.merged_into_id} in ({None, second}, {None, first})
        survivor = a if a.merged_into_id is None else b
        assert survivor.status != TicketStatus.CLOSED


# --- splitting ---------------------------------------------------------------------------------


def conversation_ticket(
    sf: SessionFactory, desk: Desk, slack: FakeSlack, *, channel: str = HELP
) -> tuple[int, list[str]]:
    """A delivered ticket with three replies: the requester's, an agent's, a deleted one."""
    customer = channel != HELP
    user = CUSTOMER if customer else REQUESTER
    ticket_id = ask(sf, desk, when=minutes(0), channel=channel, user=user, text="Invoices fail")
    slack.deliver()
    ticket = load(sf, ticket_id)
    replies = [
        reply(
            sf,
            desk,
            ticket,
            when=minutes(5),
            text="Also: <@U0BOSS> can't log in",
            user=user,
            external=customer,
        ),
        reply(sf, desk, ticket, when=minutes(6), text="Looking into both", user=AGENT),
        reply(
            sf,
            desk,
            ticket,
            when=minutes(7),
            text="oops wrong thread",
            user=user,
            external=customer,
        ),
    ]
    with sf.begin() as session:
        kept = TicketRepository(session).get_message(ticket.source_channel or "", replies[2])
        assert kept is not None
        kept.deleted_at = minutes(8)
    return ticket_id, replies


def test_split_form_lists_the_conversation_newest_first(
    session_factory: SessionFactory, desk: Desk, slack: FakeSlack
) -> None:
    ticket, (login, looking, _deleted) = conversation_ticket(session_factory, desk, slack)

    with session_factory.begin() as session:
        form = split_form_for(session, desk, request(ticket, Form.SPLIT))

    assert form is not None
    assert [(c.ts, c.role) for c in form.candidates] == [(looking, "agent"), (login, "requester")]
    view = build_split_modal(form, tz=desk.config.tz, private_metadata="{}")
    [select_block] = [b for b in view["blocks"] if b["type"] == "input"]
    options = select_block["element"]["options"]
    # 15:06 UTC is 10:06 in New York.
    assert [o["text"]["text"] for o in options] == [
        "10:06 agent · Looking into both",
        "10:05 requester · Also: <@U0BOSS> can't log in",
    ]
    assert [o["value"] for o in options] == [looking, login]


def test_split_of_an_internal_ticket_opens_a_ticket_with_its_own_top_level_card(
    session_factory: SessionFactory, desk: Desk, slack: FakeSlack
) -> None:
    sf = session_factory
    ticket, (login, _, _) = conversation_ticket(sf, desk, slack)
    set_fields(sf, ticket, priority="urgent", queue="billing", assignee=AGENT2, status="claimed")
    before = last_row_id(sf)

    result = split(sf, desk, ticket, login)

    assert result.done and result.new_ticket_id is not None
    new = load(sf, result.new_ticket_id)
    assert (new.description, new.requester, new.reporter) == (
        "Also: <@U0BOSS> can't log in",
        REQUESTER,
        AGENT,
    )
    assert (new.queue, new.priority, new.status, new.assignee) == (
        "billing",
        "medium",
        "open",
        None,
    )
    assert (new.intake_source, new.created_at, new.bridged) == ("split", minutes(5), False)
    assert new.source_ts is None
    assert event(sf, ticket, EventKind.SPLIT) | {"at": None} == {
        "actor": AGENT,
        "at": None,
        "via": "modal",
        "ticket": new.id,
        "ts": login,
    }
    assert event(sf, new.id, EventKind.SPLIT_FROM)["ticket"] == ticket
    assert kinds(sf, new.id)[:2] == [EventKind.OPENED, EventKind.SPLIT_FROM]
    owed = rows_after(sf, before)
    assert [(p, t) for p, t, _ in owed] == [
        (Purpose.TICKET_CARD, new.id),
        (Purpose.THREAD_NOTICE, ticket),
    ]
    assert owed[0][2] == {"channel": HELP, "thread_ts": None, "_fallback_user": REQUESTER}

    sent = slack.deliver()
    card = next(call for p, t, call in sent if p == Purpose.TICKET_CARD)
    assert "thread_ts" not in card.payload  # top-level: its thread is the new conversation
    new = load(sf, new.id)
    assert (
        (new.source_channel, new.source_ts)
        == (new.card_channel, new.card_ts)
        == (HELP, new.card_ts)
    )
    notice = next(call for p, t, call in sent if p == Purpose.THREAD_NOTICE)
    assert notice.payload["thread_ts"] == load(sf, ticket).thread_ts
    assert notice.payload["text"] == (
        f":thread: #{new.id} is now its own ticket (split off by <@{AGENT}>): follow up on it in"
        " its thread.\n>Also: &lt;@U0BOSS&gt; can't log in"
    )

    ts = reply(sf, desk, new, when=minutes(130), text="Here's the login error")
    with sf.begin() as session:
        kept = TicketRepository(session).get_message(HELP, ts)
        assert kept is not None and kept.ticket_id == new.id


def test_split_of_a_customer_ticket_opens_a_customer_thread_before_its_triage_card(
    session_factory: SessionFactory, desk: Desk, slack: FakeSlack
) -> None:
    sf = session_factory
    ticket, (login, _, _) = conversation_ticket(sf, desk, slack, channel=ACME)
    set_fields(sf, ticket, queue="SECRET-QUEUE", priority="urgent")
    before = last_row_id(sf)

    result = split(sf, desk, ticket, login)

    new = load(sf, result.new_ticket_id)
    assert (new.bridged, new.customer, new.customer_tier) == (True, "Acme Corp", "enterprise")
    assert (new.requester, new.requester_is_external) == (CUSTOMER, True)
    owed = rows_after(sf, before)
    assert [(p, t) for p, t, _ in owed] == [
        (Purpose.CUSTOMER_THREAD, new.id),
        (Purpose.TICKET_CARD, new.id),
        (Purpose.ROOM_NOTICE, ticket),
        (Purpose.THREAD_NOTICE, ticket),
    ]

    sent = slack.deliver()
    starter = next(call for p, t, call in sent if p == Purpose.CUSTOMER_THREAD)
    assert starter.payload["channel"] == ACME and "thread_ts" not in starter.payload
    assert starter.payload["text"] == (
        f"<@{CUSTOMER}>, we've opened #{new.id} for your question:\n"
        ">Also: &lt;@U0BOSS&gt; can't log in\nWe'll follow up on it in this thread."
    )
    new = load(sf, new.id)
    assert (new.source_channel, new.source_thread_ts) == (ACME, None)
    assert new.card_channel == TRIAGE and new.source_ts != login
    assert new.permalink == f"https://desk.slack.com/archives/x/p{new.source_ts}"
    told = next(call for p, t, call in sent if p == Purpose.THREAD_NOTICE and t == ticket)
    assert told.payload["channel"] == ACME
    assert told.payload["thread_ts"] == load(sf, ticket).thread_ts
    assert f"We've opened #{new.id} for this question" in told.payload["text"]
    for call in (c for _, _, c in sent if c.payload.get("channel") == ACME):
        assert "SECRET" not in str(call.payload) and "Urgent" not in str(call.payload)
        assert f"<@{AGENT}>" not in str(call.payload)

    # The customer answers in the new thread: it is the new ticket's conversation.
    ts = reply(sf, desk, new, when=minutes(130), text="Error 401", user=CUSTOMER, external=True)
    with sf.begin() as session:
        kept = TicketRepository(session).get_message(ACME, ts)
        assert kept is not None and kept.ticket_id == new.id
    # ...and a reply in the old thread still belongs to the old ticket.
    old = reply(
        sf, desk, load(sf, ticket), when=minutes(131), text="ok", user=CUSTOMER2, external=True
    )
    with sf.begin() as session:
        kept = TicketRepository(session).get_message(ACME, old)
        assert kept is not None and kept.ticket_id == ticket


def test_a_customer_thread_slack_refuses_leaves_the_ticket_in_the_old_thread(
    session_factory: SessionFactory, desk: Desk, slack: FakeSlack
) -> None:
    sf = session_factory
    ticket, (login, _, _) = conversation_ticket(sf, desk, slack, channel=ACME)
    slack.failing.add(Purpose.CUSTOMER_THREAD)

    result = split(sf, desk, ticket, login)
    sent = slack.deliver()

    new = load(sf, result.new_ticket_id)
    original = load(sf, ticket)
    assert (new.source_channel, new.source_ts) == (ACME, login)
    assert new.thread_ts == original.thread_ts  # notices and replies for it go there
    assert new.card_channel == TRIAGE  # the card never becomes the source
    with sf.begin() as session:
        assert not TicketRepository(session).is_bridged_channel(TRIAGE)
    warned = next(call for p, t, call in sent if p == Purpose.ROOM_NOTICE and t == new.id)
    assert warned.payload["channel"] == TRIAGE and warned.payload["thread_ts"] == new.card_ts
    assert "couldn't get its own thread" in warned.payload["text"]


def test_an_agents_message_split_off_keeps_the_original_requester(
    session_factory: SessionFactory, desk: Desk, slack: FakeSlack
) -> None:
    ticket, (_, looking, _) = conversation_ticket(session_factory, desk, slack)

    result = split(session_factory, desk, ticket, looking)

    assert load(session_factory, result.new_ticket_id).requester == REQUESTER


@pytest.mark.parametrize(
    ("which", "problem"),
    [
        ("opening", "opened #"),
        ("deleted", "no longer part of"),
        ("unknown", "no longer part of"),
        ("nothing", "Choose the message"),
    ],
)
def test_split_refuses_messages_that_cannot_be_split(
    session_factory: SessionFactory, desk: Desk, slack: FakeSlack, which: str, problem: str
) -> None:
    sf = session_factory
    ticket, (_, _, deleted) = conversation_ticket(sf, desk, slack)
    ts = {
        "opening": load(sf, ticket).source_ts,
        "deleted": deleted,
        "unknown": "1700000000.000100",
        "nothing": None,
    }[which]
    before = last_row_id(sf)

    result = split(sf, desk, ticket, ts)

    assert not result.done and result.error is not None and problem in result.error
    assert rows_after(sf, before) == []
    assert EventKind.SPLIT not in kinds(sf, ticket)


def test_a_message_is_split_off_once(
    session_factory: SessionFactory, desk: Desk, slack: FakeSlack
) -> None:
    sf = session_factory
    ticket, (login, _, _) = conversation_ticket(sf, desk, slack, channel=ACME)
    first = split(sf, desk, ticket, login)
    before = last_row_id(sf)

    again = split(sf, desk, ticket, login)

    assert first.done and not again.done
    assert again.error == f"That message is already its own ticket: #{first.new_ticket_id}."
    assert rows_after(sf, before) == []
    assert kinds(sf, ticket).count(EventKind.SPLIT) == 1
    with sf.begin() as session:
        form = split_form_for(session, desk, request(ticket, Form.SPLIT))
    assert form is not None and login not in [c.ts for c in form.candidates]


@pytest.mark.parametrize(
    ("who", "refusal"),
    [("not_agent", Refusal.NOT_AGENT), ("external", Refusal.EXTERNAL), ("merged", Refusal.MERGED)],
)
def test_split_is_refused_to_non_agents_customers_and_for_merged_tickets(
    session_factory: SessionFactory, desk: Desk, slack: FakeSlack, who: str, refusal: Refusal
) -> None:
    sf = session_factory
    ticket, (login, _, _) = conversation_ticket(sf, desk, slack)
    if who == "merged":
        other = ask(sf, desk, when=minutes(30))
        assert merge(sf, desk, ticket, other).done

    result = split(
        sf,
        desk,
        ticket,
        login,
        agent=NOT_AGENT if who == "not_agent" else AGENT,
        external=who == "external",
    )

    assert (result.done, result.refusal) == (False, refusal)


def test_nothing_to_split_opens_a_modal_without_submit(
    session_factory: SessionFactory, desk: Desk
) -> None:
    ticket = ask(session_factory, desk, when=minutes(0))
    with session_factory.begin() as session:
        form = split_form_for(session, desk, request(ticket, Form.SPLIT))
    assert form is not None and form.candidates == ()

    view = build_split_modal(form, tz=desk.config.tz, private_metadata="{}")

    assert "submit" not in view and view["close"]["text"] == "Close"
    assert "nothing to split" in view["blocks"][0]["text"]["text"]


# --- templates ---------------------------------------------------------------------------------


def test_labels_fit_slack_and_a_select_holds_at_most_100_options(desk: Desk) -> None:
    long = "word " * 100
    merge_label = merge_option_label(MergeCandidate(123456, "#123456", "Waiting on customer", long))
    split_label = split_option_label(
        SplitCandidate("1.0", T0, "colleague", "x" * 300), tz=desk.config.tz
    )
    assert len(merge_label) <= MAX_LABEL and merge_label.endswith("word…")
    assert len(split_label) <= MAX_LABEL and split_label.endswith("…")
    assert merge_option_label(MergeCandidate(1, "#1", "Open", "  \n ")) == "#1 · Open · (no text)"

    many = tuple(MergeCandidate(n, f"#{n}", "Open", "q") for n in range(1, 150))
    view = build_merge_modal(
        MergeForm(200, "#200", many, customer="<Acme>", requester="U1"), private_metadata="{}"
    )
    [select_block] = [b for b in view["blocks"] if b["type"] == "input"]
    assert len(select_block["element"]["options"]) == 100
    assert len(view["title"]["text"]) <= 24
    splits = tuple(SplitCandidate(f"{n}.0", T0, "customer", "q") for n in range(150))
    split_view = build_split_modal(
        SplitForm(200, "#200", splits), tz=desk.config.tz, private_metadata="{}"
    )
    [split_block] = [b for b in split_view["blocks"] if b["type"] == "input"]
    assert len(split_block["element"]["options"]) == 100


def test_the_customer_thread_message_is_escaped_and_says_nothing_internal() -> None:
    ticket = Ticket(
        id=7,
        requester="U0ACMEJO",
        description="<!here> pay <https://evil.example|here>",
        queue="SECRET-QUEUE",
        priority="urgent",
        assignee="U0AGENT1",
    )
    message = customer_thread_message(ticket)
    assert message["text"] == (
        "<@U0ACMEJO>, we've opened #7 for your question:\n"
        ">&lt;!here&gt; pay &lt;https://evil.example|here&gt;\n"
        "We'll follow up on it in this thread."
    )


def test_a_merged_tickets_escalation_carries_on_with_the_ticket_that_lives_on(
    session_factory: SessionFactory, desk: Desk, slack: FakeSlack
) -> None:
    sf = session_factory
    target = ask(sf, desk, when=minutes(0), text="Export fails")
    ticket = ask(sf, desk, when=minutes(10), text="Export still fails")
    slack.deliver()
    set_fields(sf, target, assignee=AGENT2, status="claimed")
    with sf.begin() as session:
        escalated = escalate(
            session,
            desk,
            EscalationAnswers(target="engineering:API", severity="sev2", summary="Export fails"),
            ticket_id=ticket,
            agent=AGENT,
            at=minutes(20),
            via=Via.MODAL,
        )
    assert escalated.done and escalated.escalation_id is not None
    slack.deliver()

    assert merge(sf, desk, ticket, target).done
    kept = load(sf, target)
    assert (kept.status, kept.assignee, kept.escalated) == ("escalated", AGENT2, True)
    with sf.begin() as session:
        escalation = EscalationRepository(session).get(escalated.escalation_id)
        assert escalation is not None and escalation.ticket_id == target
        channel, card_ts = escalation.channel, escalation.card_ts
    assert channel == "C0ENGAPI" and card_ts

    # An engineer's reply lands in the room of the ticket that lives on.
    before = last_row_id(sf)
    message = SlackMessage(
        channel=channel,
        ts=datetime_to_slack_ts(minutes(70)),
        user="U0ENG",
        text="On it",
        thread_ts=card_ts,
    )
    with sf.begin() as session:
        assert relay_from_engineering(session, desk, message) == escalated.escalation_id
    [room] = [t for purpose, t, _ in rows_after(sf, before) if purpose == Purpose.ESCALATION_ROOM]
    assert room == target
