"""Deflection: knowledge-base answers offered to a requester before an agent is needed.

When a question arrives (a message or mention in a watched or customer channel, or a `/support`
form that isn't a feature request), `offer_answers` searches the knowledge base with its words;
the articles search is sure enough of (confidence at or above `knowledge_base.threshold`, at most
`max_suggestions`) are offered in the requester's thread: a customer's own thread for a bridged
ticket (never the triage card's), the question's thread for a colleague, the card's thread for a
`/support` ticket (its rows go out in order, so the card has landed). An agent can send one too
(Suggest article). Each offer is a `KbSuggestion` keeping what was shown, as it was shown.

The ticket is never held back while its requester reads: it is in the queue from the start, so
an agent may answer meanwhile, and "I still need help" needs nothing more than saying so.

Only the requester answers an offer; anyone else pressing is told so privately and nothing is
recorded. The first answer stands (one conditional UPDATE: a double click or a retried request
changes nothing). "This solved it" resolves a still-active ticket through
`triage.resolve_by_requester`: the SLA clock stops and the card shows it, but nobody's work, so
no assignee and no CSAT. The offer's buttons are replaced by what the answer means.

Agents search privately (`/support kb`) and can draft an article from a resolved ticket (Save as
article): its question and the answers its requester read, never internal notes, written to
`<knowledge base>/drafts/` (never suggested) outside any database transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from storage.knowledge import SuggestionRepository
from storage.models import KbArticle, KbSuggestion, Ticket
from storage.repositories import OutboxRepository, TicketRepository
from templates.knowledge import article_draft, kb_notice
from workflows.agents import is_agent
from workflows.delivery import Notice, Purpose, Wording, tell_privately
from workflows.desk import Desk
from workflows.knowledge import DRAFTS_FOLDER, Match
from workflows.sla import first_response
from workflows.triage import requester_replied, resolve_by_requester
from workflows.vocabulary import (
    ACTIVE_STATUSES,
    EventKind,
    IssueType,
    SuggestionOutcome,
    TicketStatus,
    Via,
)

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)

BEST_MATCHES = 5  # the Suggest article picker's first group
SEARCH_RESULTS = 3  # `/support kb`
MIN_LIVE_QUERY = 12  # characters typed in the form before it is worth a search
MAX_ARTICLE_MESSAGE = 500  # the agent's line to the requester (the modal's max_length too)


# --- inputs and results ------------------------------------------------------------------------


class KbRefusal(StrEnum):
    """Why a knowledge-base action did nothing (each has its private explanation)."""

    NO_KB = "no_kb"
    NO_TICKET = "no_ticket"
    EXTERNAL = "external"
    NOT_AGENT = "not_agent"
    MERGED = "merged"
    NOT_ACTIVE = "not_active"  # Suggest article on a resolved or closed ticket
    NOT_RESOLVED = "not_resolved"  # Save as article before the ticket has its answer
    SUGGESTION_GONE = "suggestion_gone"
    NOT_REQUESTER = "suggestion_not_requester"
    NO_ARTICLE = "no_article"  # the modal was submitted without a choice
    ARTICLE_GONE = "article_gone"  # the chosen article left the knowledge base meanwhile


class KbAction(StrEnum):
    SUGGEST = "suggest"
    SAVE = "save"


@dataclass(frozen=True)
class SuggestionAnswer:
    """A press on This solved it / I still need help."""

    suggestion_id: int
    outcome: SuggestionOutcome
    user: str
    at: datetime  # the action's `action_ts`
    reply_channel: str | None = None
    reply_thread_ts: str | None = None


@dataclass(frozen=True)
class KbRequest:
    """An agent's press on a card's Suggest article or Save as article."""

    ticket_id: int
    user: str
    user_is_external: bool = False
    reply_channel: str | None = None
    reply_thread_ts: str | None = None


@dataclass(frozen=True)
class ArticleSubmission:
    """The Suggest article modal, submitted."""

    request: KbRequest
    article_id: int | None
    message: str | None
    at: datetime


@dataclass(frozen=True)
class KbResult:
    done: bool
    refusal: KbRefusal | None = None
    ref: str = ""


@dataclass(frozen=True)
class SuggestForm:
    """What the Suggest article modal shows: the best matches for the ticket's question (or
    for the agent's search), then every article by title."""

    ticket_id: int
    ref: str
    bridged: bool
    best: list[tuple[int, str]]
    articles: list[tuple[int, str]]
    query: str | None = None


@dataclass(frozen=True)
class ArticleDraft:
    """A draft article made of a resolved ticket, to be written to `folder / relative`."""

    ticket_id: int
    ref: str
    folder: Path
    relative: str
    content: str


class DraftOutcome(StrEnum):
    SAVED = "draft_saved"
    EXISTS = "draft_exists"
    FAILED = "draft_failed"


@dataclass(frozen=True)
class DraftWrite:
    outcome: DraftOutcome
    error: str | None = None


# --- the bot's offer when a question arrives ---------------------------------------------------


def offer_answers(session: Session, desk: Desk, ticket: Ticket) -> KbSuggestion | None:
    """A new question arrived as `ticket`: offer the best knowledge-base answers in its thread
    when search is sure enough of them."""
    kb = desk.config.knowledge_base
    if kb is None or not kb.suggest or ticket.issue_type == IssueType.FEATURE_REQUEST:
        return None
    if not (ticket.description or "").strip():
        return None
    if SuggestionRepository(session).bot_offered(ticket.id):
        return None  # offered when the question came: a retry or a re-run offers nothing new
    matches = confident_matches(session, desk, ticket.description)
    if not matches:
        return None
    return _offer(session, desk, ticket, matches, by=None, at=ticket.created_at)


def confident_matches(session: Session, desk: Desk, text: str) -> list[Match]:
    """The articles search is sure answer `text` (at or above the threshold), best first."""
    kb = desk.config.knowledge_base
    if kb is None or not text.strip():
        return []
    found = desk.knowledge.search(session, text, limit=kb.max_suggestions)
    return [match for match in found if match.confidence >= kb.threshold]


def suggests_while_typing(desk: Desk) -> bool:
    """Whether the intake form lists articles under the description as it is typed."""
    kb = desk.config.knowledge_base
    return kb is not None and kb.suggest


def live_suggestions(session: Session, desk: Desk, text: str | None) -> list[Match]:
    """What the intake form shows under the description as the requester types (nothing until
    there is enough to search, and nothing when the desk doesn't offer answers)."""
    words = (text or "").strip()
    if not suggests_while_typing(desk) or len(words) < MIN_LIVE_QUERY:
        return []
    return confident_matches(session, desk, words)


def _offer(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    records: list[Match] | list[dict[str, Any]],
    *,
    by: str | None,
    at: datetime,
    message: str | None = None,
) -> KbSuggestion:
    articles = [r.as_record() if isinstance(r, Match) else r for r in records]
    suggestion = SuggestionRepository(session).add(
        KbSuggestion(
            ticket_id=ticket.id,
            requester=ticket.requester,
            articles=articles,
            suggested_by=by,
            suggested_at=at,
        )
    )
    data: dict[str, Any] = {
        "suggestion": suggestion.id,
        "articles": [a["path"] for a in articles],
        "scores": [a.get("score") for a in articles],
    }
    if message:
        data["message"] = message  # the agent's line, shown again when the offer is answered
    TicketRepository(session).log(ticket, EventKind.ARTICLES_SUGGESTED, at=at, actor=by, data=data)
    OutboxRepository(session).enqueue(
        "chat.postMessage",
        {"_suggestion": suggestion.id},
        now=desk.clock.now(),
        purpose=Purpose.KB_SUGGESTION,
        ticket_id=ticket.id,
    )
    return suggestion


# --- the requester's answer --------------------------------------------------------------------


def answer_suggestion(session: Session, desk: Desk, answer: SuggestionAnswer) -> KbResult:
    """The requester's verdict on an offer (the first one stands); anyone else is told
    privately. "This solved it" resolves the ticket when it is still active."""
    suggestion = SuggestionRepository(session).get(answer.suggestion_id)
    ticket = TicketRepository(session).get(suggestion.ticket_id) if suggestion else None
    if suggestion is None or ticket is None:
        return _tell_presser(session, desk, answer, KbRefusal.SUGGESTION_GONE, "")
    if suggestion.requester != answer.user:
        return _tell_presser(session, desk, answer, KbRefusal.NOT_REQUESTER, ticket.ref)
    if not SuggestionRepository(session).answer(
        suggestion, outcome=answer.outcome.value, by=answer.user, at=answer.at
    ):
        return KbResult(True, ref=ticket.ref)  # answered already: the first verdict stands
    paths = [a.get("path") for a in suggestion.articles]
    solved = answer.outcome == SuggestionOutcome.SOLVED
    TicketRepository(session).log(
        ticket,
        EventKind.SUGGESTION_SOLVED if solved else EventKind.SUGGESTION_UNHELPFUL,
        at=answer.at,
        actor=answer.user,
        data={"suggestion": suggestion.id, "articles": paths, "by": suggestion.suggested_by},
    )
    if solved and ticket.status in ACTIVE_STATUSES and ticket.merged_into_id is None:
        resolve_by_requester(
            session,
            desk,
            ticket,
            by=answer.user,
            at=answer.at,
            via=Via.SELF_SERVE,
            data={
                "deflected": suggestion.suggested_by is None,
                "article": paths[0] if paths else None,
                "suggestion": suggestion.id,
            },
        )
    elif not solved:
        # Said after the ticket was resolved (or while it waits on them): as a reply would.
        requester_replied(session, desk, ticket, user=answer.user, at=answer.at)
    OutboxRepository(session).enqueue_coalesced(
        "chat.update",
        {"_suggestion": suggestion.id},
        coalesce_key=f"kb_suggestion:{suggestion.id}",
        now=desk.clock.now(),
        purpose=Purpose.KB_SUGGESTION,
        ticket_id=ticket.id,
    )
    return KbResult(True, ref=ticket.ref)


def _tell_presser(
    session: Session, desk: Desk, answer: SuggestionAnswer, refusal: KbRefusal, ref: str
) -> KbResult:
    tell_privately(
        session,
        user=answer.user,
        message=Notice(Wording.KB, refusal.value, {"ref": ref}),
        now=desk.clock.now(),
        channel=answer.reply_channel,
        thread_ts=answer.reply_thread_ts,
    )
    return KbResult(False, refusal, ref)


# --- agents: the card's buttons and /support kb ------------------------------------------------


def search_for_agent(
    session: Session, desk: Desk, *, user: str, query: str
) -> list[Match] | KbRefusal:
    """`/support kb <query>`: the best articles whatever their confidence, for agents only."""
    if desk.config.knowledge_base is None:
        return KbRefusal.NO_KB
    if not is_agent(session, desk, user):
        return KbRefusal.NOT_AGENT
    return desk.knowledge.search(session, query, limit=SEARCH_RESULTS)


def refuse_if_not_allowed(
    session: Session, desk: Desk, request: KbRequest, action: KbAction
) -> KbRefusal | None:
    """In a press's ack: whoever may not use the button is told why, privately."""
    ticket = TicketRepository(session).get(request.ticket_id)
    refusal = _refusal(session, desk, ticket, request, action)
    if refusal is not None:
        _tell_agent(session, desk, request, refusal, action=action)
    return refusal


def suggest_form_for(
    session: Session, desk: Desk, request: KbRequest, *, query: str | None = None
) -> SuggestForm | None:
    """The Suggest article modal's choices; None for whoever may not suggest (told in the ack)."""
    ticket = TicketRepository(session).get(request.ticket_id)
    if ticket is None or _refusal(session, desk, ticket, request, KbAction.SUGGEST):
        return None
    words = (query or "").strip() or ticket.description
    best = desk.knowledge.search(session, words, limit=BEST_MATCHES) if words.strip() else []
    return SuggestForm(
        ticket_id=ticket.id,
        ref=ticket.ref,
        bridged=ticket.bridged,
        best=[(m.article_id, m.title) for m in best],
        articles=[(article_id, title) for article_id, _, title in desk.knowledge.articles(session)],
        query=(query or "").strip() or None,
    )


def suggest_article(session: Session, desk: Desk, submission: ArticleSubmission) -> KbResult:
    """An agent sends an article into the requester's thread, with the passage that best
    answers the ticket's question. It is the ticket's first response if it had none. A refusal
    is the modal's error (nothing is told privately as well)."""
    request = submission.request
    ticket = TicketRepository(session).get(request.ticket_id)
    refusal = _refusal(session, desk, ticket, request, KbAction.SUGGEST)
    if ticket is None or refusal is not None:
        return KbResult(False, refusal or KbRefusal.NO_TICKET, f"#{request.ticket_id}")
    if submission.article_id is None:
        return KbResult(False, KbRefusal.NO_ARTICLE, ticket.ref)
    article = SuggestionRepository(session).article(submission.article_id)
    if article is None or not article.passages:
        return KbResult(False, KbRefusal.ARTICLE_GONE, ticket.ref)
    message = (submission.message or "").strip()[:MAX_ARTICLE_MESSAGE] or None
    record = _best_passage(session, desk, article, ticket.description)
    _offer(session, desk, ticket, [record], by=request.user, at=submission.at, message=message)
    first_response(session, desk, ticket, by=request.user, at=submission.at)
    _tell_agent(session, desk, request, "suggestion_sent", ref=ticket.ref, title=article.title)
    return KbResult(True, ref=ticket.ref)


def _best_passage(
    session: Session, desk: Desk, article: KbArticle, question: str
) -> dict[str, Any]:
    """The article's passage that best answers the question, else its first."""
    if question.strip():
        for match in desk.knowledge.search(session, question, limit=10_000):
            if match.article_id == article.id:
                return match.as_record()
    first = article.passages[0]
    return {
        "article_id": article.id,
        "path": article.path,
        "title": article.title,
        "url": article.url,
        "heading": first.heading,
        "passage": first.text,
        "score": 0.0,
    }


# --- Save as article ---------------------------------------------------------------------------


def draft_article(session: Session, desk: Desk, request: KbRequest) -> ArticleDraft | None:
    """A draft article of a resolved ticket: its question and the answers its requester read
    (agents' messages in the requester's thread, replies sent to a customer), in order. Never
    an internal note: those live apart (`ticket_notes`), and messages said anywhere but the
    requester's thread are left out too. None, and the agent told why, when refused."""
    ticket = TicketRepository(session).get(request.ticket_id)
    kb = desk.config.knowledge_base
    refusal = _refusal(session, desk, ticket, request, KbAction.SAVE)
    if refusal is not None or ticket is None or kb is None:
        _tell_agent(session, desk, request, refusal or KbRefusal.NO_TICKET, action=KbAction.SAVE)
        return None
    answers = [
        message.text
        for message in TicketRepository(session).conversation(ticket.id)
        if message.deleted_at is None
        and message.channel == ticket.source_channel
        and message.author != ticket.requester
        and not message.author_is_external
        and (message.text or "").strip()
        and is_agent(session, desk, message.author)
    ]
    content = article_draft(
        ref=ticket.ref,
        question=ticket.description,
        answers=answers,
        tags=[tag.tag for tag in ticket.tags],
    )
    return ArticleDraft(
        ticket_id=ticket.id,
        ref=ticket.ref,
        folder=Path(kb.path),
        relative=f"{DRAFTS_FOLDER}/ticket-{ticket.id}.md",
        content=content,
    )


def write_draft(draft: ArticleDraft) -> DraftWrite:
    """Create the draft's file, never overwriting one (an agent may be editing it). File I/O:
    called outside any database transaction."""
    if not draft.folder.is_dir():
        return DraftWrite(DraftOutcome.FAILED, "the folder doesn't exist")
    target = draft.folder / draft.relative
    try:
        target.parent.mkdir(exist_ok=True)
    except OSError as exc:  # FileExistsError too: a file where the drafts folder should be
        return _write_failed(draft, target.parent, exc)
    try:
        with target.open("x", encoding="utf-8") as file:
            file.write(draft.content)
    except FileExistsError:
        return DraftWrite(DraftOutcome.EXISTS)
    except OSError as exc:
        return _write_failed(draft, target, exc)
    return DraftWrite(DraftOutcome.SAVED)


def _write_failed(draft: ArticleDraft, where: Path, exc: OSError) -> DraftWrite:
    logger.warning("ticket %s: could not write the draft article at %s (%s)", draft.ref, where, exc)
    reason = exc.strerror or type(exc).__name__
    if isinstance(exc, FileExistsError):
        reason = f"{where.name} is a file, not a folder"
    return DraftWrite(DraftOutcome.FAILED, reason)


def record_draft(
    session: Session, desk: Desk, request: KbRequest, draft: ArticleDraft, written: DraftWrite
) -> None:
    """Log a saved draft on its ticket, and tell the agent where it is (or why not)."""
    ticket = TicketRepository(session).get(draft.ticket_id)
    if written.outcome == DraftOutcome.SAVED and ticket is not None:
        TicketRepository(session).log(
            ticket,
            EventKind.ARTICLE_SAVED,
            at=desk.clock.now(),
            actor=request.user,
            data={"path": draft.relative},
        )
    _tell_agent(
        session,
        desk,
        request,
        written.outcome.value,
        ref=draft.ref,
        path=draft.relative,
        folder=str(draft.folder),
        error=written.error or "",
    )


# --- who may do what ---------------------------------------------------------------------------


def _refusal(
    session: Session, desk: Desk, ticket: Ticket | None, request: KbRequest, action: KbAction
) -> KbRefusal | None:
    if desk.config.knowledge_base is None:
        return KbRefusal.NO_KB
    if ticket is None:
        return KbRefusal.NO_TICKET
    if request.user_is_external:
        return KbRefusal.EXTERNAL
    if not is_agent(session, desk, request.user):
        return KbRefusal.NOT_AGENT
    if ticket.merged_into_id is not None:
        return KbRefusal.MERGED
    if action == KbAction.SUGGEST and ticket.status not in ACTIVE_STATUSES:
        return KbRefusal.NOT_ACTIVE
    if action == KbAction.SAVE and ticket.status not in (
        TicketStatus.RESOLVED,
        TicketStatus.CLOSED,
    ):
        return KbRefusal.NOT_RESOLVED
    return None


def refusal_text(refusal: KbRefusal, *, ref: str, action: KbAction = KbAction.SUGGEST) -> str:
    """A refusal as plain text (a modal's error)."""
    return str(kb_notice(_notice(refusal, action), ref=ref)["text"])


def _notice(refusal: KbRefusal | str, action: KbAction | None) -> str:
    if refusal == KbRefusal.NOT_AGENT:
        return f"not_agent_{action.value if action else KbAction.SUGGEST.value}"
    return str(refusal)


def _tell_agent(
    session: Session,
    desk: Desk,
    request: KbRequest,
    notice: KbRefusal | str,
    *,
    action: KbAction | None = None,
    **context: Any,
) -> None:
    context.setdefault("ref", f"#{request.ticket_id}")
    tell_privately(
        session,
        user=request.user,
        message=Notice(Wording.KB, _notice(notice, action), context),
        now=desk.clock.now(),
        channel=request.reply_channel,
        thread_ts=request.reply_thread_ts,
    )
