"""Customer channels, the agents' side: answering a customer from the triage thread.

Agents may answer in the customer's thread themselves (they are members of the shared channel);
Reply to customer lets them answer from the triage thread instead, through the bot. Either way
the first answer is the ticket's first response and the triage thread gets a copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from storage.models import Ticket
from storage.repositories import TicketRepository
from workflows.delivery import send_to_customer
from workflows.desk import Desk
from workflows.editing import Form, ModalRequest, may_open, refusal_for
from workflows.sla import first_response
from workflows.triage import Refusal, wait_on_requester
from workflows.vocabulary import EventKind, TicketStatus, Via

MAX_REPLY = 3000  # what one section block shows


@dataclass(frozen=True)
class ReplyResult:
    """What became of an agent's words sent on: to a customer, or to engineering."""

    done: bool
    ticket_id: int
    refusal: Refusal | None = None
    errors: dict[str, str] = field(default_factory=dict)


def check_reply(text: str | None, *, asking: bool = False) -> dict[str, str]:
    """Errors by field of the Reply to customer and Ask customer modals."""
    cleaned = (text or "").strip()
    if not cleaned:
        if asking:
            return {"reply": "Write the question the requester should answer."}
        return {"reply": "Write what the customer should read."}
    if len(cleaned) > MAX_REPLY:
        return {"reply": f"Keep it under {MAX_REPLY} characters; the customer reads it in Slack."}
    return {}


def reply_to_customer(
    session: Session,
    desk: Desk,
    *,
    ticket_id: int,
    agent: str,
    text: str | None,
    at: datetime,
    agent_is_external: bool = False,
) -> ReplyResult:
    """Send an agent's words to the customer's thread."""
    return _to_requester(
        session, desk, Form.REPLY, ticket_id, agent, text, at=at, external=agent_is_external
    )


def ask_customer(
    session: Session,
    desk: Desk,
    *,
    ticket_id: int,
    agent: str,
    text: str | None,
    at: datetime,
    agent_is_external: bool = False,
) -> ReplyResult:
    """Ask customer: the agent's question goes to the requester's thread (through the bot, in
    the agent's name), and the ticket waits on the requester: its resolution clock pauses until
    they answer."""
    return _to_requester(
        session, desk, Form.ASK, ticket_id, agent, text, at=at, external=agent_is_external
    )


def _to_requester(
    session: Session,
    desk: Desk,
    form: Form,
    ticket_id: int,
    agent: str,
    text: str | None,
    *,
    at: datetime,
    external: bool,
) -> ReplyResult:
    """Who may, and whether the ticket can still be answered, is checked now: the modal may have
    been open for a while. The words are the ticket's first response if none came before."""
    refusal = refusal_for(session, desk, ticket_id, agent, user_is_external=external, form=form)
    if refusal is not None:
        return ReplyResult(False, ticket_id, refusal=refusal)
    asking = form == Form.ASK
    errors = check_reply(text, asking=asking)
    if errors:
        return ReplyResult(False, ticket_id, errors=errors)
    tickets = TicketRepository(session)
    ticket = tickets.get(ticket_id)
    assert ticket is not None  # refusal_for said so
    send_to_customer(session, ticket, agent=agent, text=(text or "").strip(), now=desk.clock.now())
    kind = EventKind.ASKED_CUSTOMER if asking else EventKind.REPLIED_TO_CUSTOMER
    tickets.log(ticket, kind, at=at, actor=agent)
    ticket.updated_at = max(ticket.updated_at, at)
    if ticket.first_response_at is None:
        first_response(session, desk, ticket, by=agent, at=at)
    if asking and ticket.status != TicketStatus.WAITING_ON_CUSTOMER:
        wait_on_requester(session, desk, ticket, by=agent, at=at, via=Via.MODAL)
    return ReplyResult(True, ticket.id)


@dataclass(frozen=True)
class ReplyForm:
    ticket_id: int
    ref: str
    customer: str | None
    bridged: bool


def reply_form_for(session: Session, desk: Desk, request: ModalRequest) -> ReplyForm | None:
    """What the Reply to customer modal shows; None for whoever may not open it (they were told
    by `refuse_if_not_allowed`)."""
    if not may_open(session, desk, request):
        return None
    ticket = TicketRepository(session).get(request.ticket_id)
    assert ticket is not None
    return ReplyForm(
        ticket_id=ticket.id, ref=ticket.ref, customer=ticket.customer, bridged=ticket.bridged
    )


def ticket_for_room_message(
    session: Session, *, channel: str, ts: str, thread_ts: str | None
) -> Ticket | None:
    """The customer ticket whose triage thread (or card) a message is in, for the Reply to
    customer shortcut; None for a message anywhere else."""
    tickets = TicketRepository(session)
    ticket = tickets.get_by_thread(channel, thread_ts or ts)
    if ticket is None or not ticket.bridged or ticket.card_channel != channel:
        return None
    return ticket
