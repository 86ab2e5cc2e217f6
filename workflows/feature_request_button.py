"""The card's **Feature request** button: an agent says a ticket is a feature request. Its type is
set as an edit would set it, and the edit files it on the board; on its own module because the
board (`workflows.feature_requests`) is what editing files into."""

from __future__ import annotations

from sqlalchemy.orm import Session

from storage.repositories import TicketRepository
from workflows.agents import is_agent
from workflows.desk import Desk
from workflows.editing import edit_from, edit_ticket
from workflows.feature_requests import (
    BoardRefusal,
    BoardResult,
    Press,
    file_feature_request,
    refuse_press,
)
from workflows.vocabulary import IssueType, Via


def mark_feature_request(session: Session, desk: Desk, ticket_id: int, press: Press) -> BoardResult:
    """An agent says the ticket is a feature request: its type is set as an edit would (one
    `edited` event, the card refreshed), which files it (see `workflows.editing.edit_ticket`)."""
    ref = f"#{ticket_id}"
    if desk.config.feature_requests is None:
        return refuse_press(session, desk, press, BoardRefusal.NO_BOARD, ref=ref)
    if not is_agent(session, desk, press.user, is_external=press.user_is_external):
        return refuse_press(session, desk, press, BoardRefusal.NOT_AGENT, ref=ref)
    ticket = TicketRepository(session).get(ticket_id)
    if ticket is None:
        return refuse_press(session, desk, press, BoardRefusal.NO_TICKET, ref=ref)
    if ticket.issue_type == IssueType.FEATURE_REQUEST:
        # A feature request from before the board existed: nothing to edit, only to file.
        filed = file_feature_request(session, desk, ticket, by=press.user, at=press.at)
        return BoardResult(filed is not None, ref=ref)
    edit = edit_from(ticket, issue_type=IssueType.FEATURE_REQUEST)
    result = edit_ticket(
        session,
        desk,
        edit,
        editor=press.user,
        at=press.at,
        editor_is_external=press.user_is_external,
        via=Via.BUTTON,
    )
    if result.refusal is not None:
        refusal = {
            "closed": BoardRefusal.CLOSED,
            "merged": BoardRefusal.MERGED,
            "no_ticket": BoardRefusal.NO_TICKET,
        }.get(result.refusal.value, BoardRefusal.NOT_AGENT)
        return refuse_press(session, desk, press, refusal, ref=ref)
    return BoardResult(True, ref=ref)
