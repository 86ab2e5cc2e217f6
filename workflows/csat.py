"""CSAT: "How did we do?" asked of a ticket's requester when it is resolved, and their answer.

Every resolution goes through `workflows.triage._resolve` (button, emoji, App Home, command),
which calls `ask_for_feedback` once per status change: a retried event or a double click finds
the ticket resolved already and asks nothing, and the survey row is unique per resolution
`(ticket_id, asked_at)`. A reopened ticket resolved again is a new resolution, so a new survey.

Whether a ticket is asked (`should_ask`): not when it was merged away, nor when the requester
resolved it themself (they would rate their own work); then the customer's switch, else the
queue's, else `csat.enabled`; then one in `csat.sample` tickets, by ticket number, so a rerun or a
retry decides the same. The prompt goes to the requester's thread (a customer's own thread for a
bridged ticket, whatever `ask_in` says) or, with `ask_in: dm`, to their DM.

Only the requester's answer counts; anyone else pressing is told so privately and nothing is
recorded. A second answer replaces the first (rating and `answered_at`, the action's time); the
prompt's buttons are replaced by the answer given. A low answer (at or below `csat.notify_at`)
DMs the lead of the queue the ticket was resolved in, once per answer and once per comment.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from storage.models import CsatSurvey, Ticket
from storage.repositories import CsatRepository, OutboxRepository, TicketRepository
from workflows.delivery import (
    Notice,
    Purpose,
    Wording,
    tell_privately,
)
from workflows.desk import Desk
from workflows.vocabulary import CsatRating

if TYPE_CHECKING:
    from bot.config import DeskConfig

logger = logging.getLogger(__name__)

MAX_COMMENT = 2000


class CsatRefusal(StrEnum):
    """Why a press on a survey recorded nothing (each has its private explanation)."""

    NO_SURVEY = "no_survey"
    NOT_REQUESTER = "not_requester"


@dataclass(frozen=True)
class CsatAnswer:
    """A press on a survey's rating button (or its "Change your answer" menu)."""

    survey_id: int
    rating: CsatRating
    user: str
    at: datetime  # the action's `action_ts`
    # Where the press was, to answer someone else privately there.
    reply_channel: str | None = None
    reply_thread_ts: str | None = None


@dataclass(frozen=True)
class CommentRequest:
    """A press on "Add a comment", or the comment modal's submission."""

    survey_id: int
    user: str
    reply_channel: str | None = None
    reply_thread_ts: str | None = None


@dataclass(frozen=True)
class CommentForm:
    """What the comment modal shows when it opens."""

    survey_id: int
    ticket_id: int
    ref: str
    rating: str | None
    comment: str | None


@dataclass(frozen=True)
class CsatResult:
    done: bool
    refusal: CsatRefusal | None = None
    ref: str = ""  # the ticket's, for the refusal's wording


# --- asking ------------------------------------------------------------------------------------


def should_ask(config: DeskConfig, ticket: Ticket, *, resolved_by: str) -> bool:
    """Whether this resolution of `ticket` is asked about (deterministic: see the module doc)."""
    csat = config.csat
    if ticket.merged_into_id is not None or resolved_by == ticket.requester:
        return False
    if not csat.asks(queue=ticket.queue, customer=ticket.customer):
        return False
    return ticket.id % csat.sample == 0


def ask_for_feedback(
    session: Session, desk: Desk, ticket: Ticket, *, resolved_by: str, at: datetime
) -> CsatSurvey | None:
    """The ticket was just resolved at `at`: owe its requester the survey, when it is asked."""
    if not should_ask(desk.config, ticket, resolved_by=resolved_by):
        return None
    survey = CsatRepository(session).add(
        CsatSurvey(
            ticket_id=ticket.id,
            requester=ticket.requester,
            queue=ticket.queue,
            customer=ticket.customer,
            assignee=ticket.assignee,
            asked_at=at,
        )
    )
    if survey is None:
        return None  # this resolution was asked about already
    # A customer is asked in their own thread: a DM across Slack Connect is not ours to open.
    by_dm = desk.config.csat.ask_in == "dm" and not ticket.bridged
    OutboxRepository(session).enqueue(
        "chat.postMessage",
        {"_survey": survey.id, "_dm": by_dm},
        now=desk.clock.now(),
        purpose=Purpose.CSAT_PROMPT,
        ticket_id=ticket.id,
    )
    return survey


# --- answering ---------------------------------------------------------------------------------


def record_answer(session: Session, desk: Desk, answer: CsatAnswer) -> CsatResult:
    """The requester's answer (a later one replaces it); anyone else is told privately."""
    surveys = CsatRepository(session)
    found = _survey_for(session, desk, answer.survey_id, answer.user, answer)
    if isinstance(found, CsatResult):
        return found
    survey, ticket = found
    previous = survey.rating
    if not surveys.answer(survey, rating=answer.rating.value, at=answer.at):
        return CsatResult(True)  # a click delivered late: the newer answer stands
    ticket.csat = surveys.latest_rating(ticket.id)
    _refresh_prompt(session, desk, survey)
    if answer.rating.value != previous and is_low(desk.config, answer.rating.value):
        _tell_lead(session, desk, survey, ticket, "rating")
    return CsatResult(True)


def check_comment(text: str | None) -> str | None:
    """The comment modal's error, or None when the comment can be kept."""
    comment = (text or "").strip()
    if not comment:
        return "Write your comment, or close this form to skip it."
    if len(comment) > MAX_COMMENT:
        return f"Keep your comment under {MAX_COMMENT} characters (this one has {len(comment)})."
    return None


def may_comment(session: Session, desk: Desk, request: CommentRequest) -> bool:
    """In the press's ack: whoever may not comment on this survey is told why, privately."""
    found = _survey_for(session, desk, request.survey_id, request.user, request)
    return not isinstance(found, CsatResult)


def comment_form_for(session: Session, request: CommentRequest) -> CommentForm | None:
    """What the comment modal opens with; None for anyone but the survey's requester."""
    survey = CsatRepository(session).get(request.survey_id)
    ticket = TicketRepository(session).get(survey.ticket_id) if survey else None
    if survey is None or ticket is None or survey.requester != request.user:
        return None
    return CommentForm(survey.id, ticket.id, ticket.ref, survey.rating, survey.comment)


def record_comment(
    session: Session, desk: Desk, request: CommentRequest, *, text: str
) -> CsatResult:
    """Keep the requester's comment (the caller checked it with `check_comment`). A refusal
    is the modal's error, so it is not told privately as well."""
    found = _survey_for(session, desk, request.survey_id, request.user, None)
    if isinstance(found, CsatResult):
        return found
    survey, ticket = found
    comment = text.strip()
    if comment == (survey.comment or ""):
        return CsatResult(True)  # the same words again: nothing new to tell anyone
    first = survey.comment is None
    survey.comment = comment
    session.flush()
    if first:
        _refresh_prompt(session, desk, survey)  # "Add a comment" becomes "Edit your comment"
    if survey.rating is not None and is_low(desk.config, survey.rating):
        _tell_lead(session, desk, survey, ticket, "comment")
    return CsatResult(True)


def is_low(config: DeskConfig, rating: str) -> bool:
    """At or below `csat.notify_at` (ratings are listed best first)."""
    threshold = config.csat.notify_at
    if threshold is None:
        return False
    order = list(CsatRating)
    return order.index(CsatRating(rating)) >= order.index(threshold)


def _survey_for(
    session: Session,
    desk: Desk,
    survey_id: int,
    user: str,
    where: CsatAnswer | CommentRequest | None,
) -> tuple[CsatSurvey, Ticket] | CsatResult:
    """The survey and its ticket when `user` may answer it; else the refusal, told privately
    where they pressed (`where`; None: not told)."""
    survey = CsatRepository(session).get(survey_id) if survey_id else None
    ticket = TicketRepository(session).get(survey.ticket_id) if survey else None
    if survey is None or ticket is None:
        refusal, ref = CsatRefusal.NO_SURVEY, ""
    elif survey.requester != user:
        refusal, ref = CsatRefusal.NOT_REQUESTER, ticket.ref
    else:
        return survey, ticket
    if where is not None:
        tell_privately(
            session,
            user=user,
            message=Notice(Wording.CSAT, refusal.value, {"ref": ref}),
            now=desk.clock.now(),
            channel=where.reply_channel,
            thread_ts=where.reply_thread_ts,
        )
    return CsatResult(False, refusal, ref)


def _refresh_prompt(session: Session, desk: Desk, survey: CsatSurvey) -> None:
    """The survey message shows the answer (rendered when sent; a burst is one chat.update). It
    goes out after the prompt itself: a ticket's rows are sent in order."""
    OutboxRepository(session).enqueue_coalesced(
        "chat.update",
        {"_survey": survey.id},
        coalesce_key=f"csat:{survey.id}",
        now=desk.clock.now(),
        purpose=Purpose.CSAT_PROMPT,
        ticket_id=survey.ticket_id,
    )


def _tell_lead(session: Session, desk: Desk, survey: CsatSurvey, ticket: Ticket, kind: str) -> None:
    """DM the lead of the queue the ticket was resolved in (none configured: nobody). What the
    answer was is kept in the row; the ticket's link is read when it is sent."""
    queue = desk.config.queue(survey.queue)
    if queue is None or queue.lead is None:
        return
    OutboxRepository(session).enqueue(
        "chat.postMessage",
        {
            "channel": queue.lead,
            "_survey": survey.id,
            "_kind": kind,
            "_rating": survey.rating,
            "_comment": survey.comment,
        },
        now=desk.clock.now(),
        purpose=Purpose.CSAT_ALERT,
        ticket_id=ticket.id,
    )
