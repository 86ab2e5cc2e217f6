"""The knowledge base's Slack surface: This solved it / I still need help on a suggestion in the
requester's thread, and the card's Suggest article (a modal) and Save as article buttons.

Presses are recorded in the ack path (one short transaction). Suggest article tells whoever may
not use it why, in the ack; its modal opens in a lazy listener (`views.open` needs the trigger
within three seconds), as does the modal's search. Save as article writes its draft file between
two short transactions, never inside one. `/support kb` is answered in handlers/commands.py.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.deps import Deps
from handlers.edit import actor_is_external, open_view
from handlers.payloads import action_time, pressed_where, selected_value, view_values
from templates.ids import ActionId, BlockId, CallbackId
from templates.knowledge import article_options, build_suggest_modal, parse_article_choice
from workflows.deflection import (
    ArticleSubmission,
    KbAction,
    KbRequest,
    SuggestForm,
    SuggestionAnswer,
    answer_suggestion,
    draft_article,
    record_draft,
    refusal_text,
    refuse_if_not_allowed,
    suggest_article,
    suggest_form_for,
    write_draft,
)
from workflows.editing import decode_modal_context, encode_modal_context
from workflows.vocabulary import SuggestionOutcome

logger = logging.getLogger(__name__)

_ID = re.compile(r"[0-9]{1,9}")  # digits only, short enough for an INTEGER column
_OUTCOMES = {
    ActionId.SUGGESTION_SOLVED: SuggestionOutcome.SOLVED,
    ActionId.SUGGESTION_UNHELPFUL: SuggestionOutcome.UNHELPFUL,
}


def register(app: App, deps: Deps) -> None:
    def handle_answer(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        answer = suggestion_answer(body, now=deps.desk.clock.now())
        if answer is not None:
            with deps.transaction() as session:
                answer_suggestion(session, deps.desk, answer)

    def ack_suggest(ack: Ack, body: dict[str, Any], context: Any) -> None:
        ack()
        request = kb_request(body, home_team=context.team_id)
        if request is not None:
            with deps.transaction() as session:
                refuse_if_not_allowed(session, deps.desk, request, KbAction.SUGGEST)

    def open_suggest_modal(body: dict[str, Any], client: WebClient, context: Any) -> None:
        request = kb_request(body, home_team=context.team_id)
        if request is None:
            return
        with deps.reading() as session:
            form = suggest_form_for(session, deps.desk, request)
        if form is not None:
            metadata = encode_modal_context(
                ticket_id=form.ticket_id,
                channel=request.reply_channel,
                thread_ts=request.reply_thread_ts,
            )
            open_view(client, body, suggest_view(form, metadata), ticket_id=form.ticket_id)

    def ack_modal_action(ack: Ack) -> None:
        ack()

    def search_in_modal(body: dict[str, Any], client: WebClient, context: Any) -> None:
        """Enter in the modal's search box: the picker's first group becomes the best matches
        for those words (the agent's line to the requester is kept)."""
        view = body.get("view") or {}
        request = modal_request(body, view, home_team=context.team_id)
        if request is None:
            return
        values = view_values(view)
        action = (body.get("actions") or [{}])[0]
        query = action.get("value") or selected_value(
            values, BlockId.ARTICLE_SEARCH, ActionId.ARTICLE_SEARCH_INPUT
        )
        with deps.reading() as session:
            form = suggest_form_for(session, deps.desk, request, query=query)
        if form is None:
            return
        message = selected_value(values, BlockId.ARTICLE_MESSAGE, ActionId.ARTICLE_MESSAGE_INPUT)
        updated = suggest_view(form, view.get("private_metadata") or "", message=message)
        update_view(client, view, updated)

    def handle_suggest_submission(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], context: Any
    ) -> None:
        request = modal_request(body, view, home_team=context.team_id)
        if request is None:
            ack()
            return
        values = view_values(view)
        submission = ArticleSubmission(
            request=request,
            article_id=parse_article_choice(
                selected_value(values, BlockId.ARTICLE, ActionId.ARTICLE_SELECT)
            ),
            message=selected_value(values, BlockId.ARTICLE_MESSAGE, ActionId.ARTICLE_MESSAGE_INPUT),
            at=deps.desk.clock.now(),  # a submission carries no action_ts
        )
        with deps.transaction(request=body) as session:
            result = suggest_article(session, deps.desk, submission)
        if result.refusal is not None:
            text = refusal_text(result.refusal, ref=result.ref)
            ack(response_action="errors", errors={BlockId.ARTICLE: text})
        else:
            ack()

    def handle_save(ack: Ack, body: dict[str, Any], context: Any) -> None:
        ack()
        request = kb_request(body, home_team=context.team_id)
        if request is None:
            return
        with deps.transaction() as session:
            draft = draft_article(session, deps.desk, request)
        if draft is None:
            return
        written = write_draft(draft)  # the file, outside any transaction
        with deps.transaction() as session:
            record_draft(session, deps.desk, request, draft, written)

    for action_id in _OUTCOMES:
        app.action(action_id)(handle_answer)
    app.action(ActionId.SUGGEST_ARTICLE)(ack=ack_suggest, lazy=[open_suggest_modal])
    app.action(ActionId.ARTICLE_SEARCH_INPUT)(ack=ack_modal_action, lazy=[search_in_modal])
    app.view(CallbackId.SUGGEST_ARTICLE_MODAL)(handle_suggest_submission)
    app.action(ActionId.SAVE_ARTICLE)(handle_save)


def suggest_view(form: SuggestForm, metadata: str, *, message: str | None = None) -> dict[str, Any]:
    return build_suggest_modal(
        ref=form.ref,
        bridged=form.bridged,
        option_groups=article_options(
            ref=form.ref, best=form.best, everything=form.articles, query=form.query
        ),
        total=len(form.articles),
        private_metadata=metadata,
        query=form.query,
        message=message,
    )


def update_view(client: WebClient, view: dict[str, Any], updated: dict[str, Any]) -> None:
    """`views.update` with the view's hash: a stale update (the form changed meanwhile) is
    refused by Slack and dropped here; the newer one follows."""
    try:
        client.views_update(view_id=view["id"], hash=view.get("hash"), view=updated)
    except SlackApiError as exc:
        if exc.response.get("error") != "hash_conflict":
            logger.warning("could not update the %s modal: %s", view.get("callback_id"), exc)


# --- parsing (pure) ----------------------------------------------------------------------------


def suggestion_answer(body: dict[str, Any], *, now: datetime) -> SuggestionAnswer | None:
    """This solved it / I still need help: the button's value is the suggestion id."""
    action = (body.get("actions") or [{}])[0]
    outcome = _OUTCOMES.get(action.get("action_id"))
    raw = str(action.get("value") or "")
    if outcome is None or not _ID.fullmatch(raw):
        return None
    reply_channel, reply_thread_ts = pressed_where(body)
    return SuggestionAnswer(
        suggestion_id=int(raw),
        outcome=outcome,
        user=(body.get("user") or {}).get("id", ""),
        at=action_time(body, otherwise=now),
        reply_channel=reply_channel,
        reply_thread_ts=reply_thread_ts,
    )


def kb_request(body: dict[str, Any], *, home_team: str | None) -> KbRequest | None:
    """A card button whose value is the ticket id."""
    raw = str((body.get("actions") or [{}])[0].get("value") or "")
    if not _ID.fullmatch(raw):
        return None
    reply_channel, reply_thread_ts = pressed_where(body)  # App Home: answers go to the DM
    return KbRequest(
        ticket_id=int(raw),
        user=(body.get("user") or {}).get("id", ""),
        user_is_external=actor_is_external(body, home_team=home_team),
        reply_channel=reply_channel,
        reply_thread_ts=reply_thread_ts,
    )


def modal_request(
    body: dict[str, Any], view: dict[str, Any], *, home_team: str | None
) -> KbRequest | None:
    """The Suggest article modal's ticket and the press it came from (its private_metadata)."""
    modal = decode_modal_context(view.get("private_metadata"))
    if modal is None:
        return None
    return KbRequest(
        ticket_id=modal.ticket_id,
        user=(body.get("user") or {}).get("id", ""),
        user_is_external=actor_is_external(body, home_team=home_team),
        reply_channel=modal.channel,
        reply_thread_ts=modal.thread_ts,
    )
