"""The CSAT survey's buttons and the requester's comment modal.

A rating press (or the answered message's "Change your answer" menu) is recorded in the ack path:
one short transaction. "Add a comment" tells anyone but the requester why not, in the ack; the
modal opens in a lazy listener, as `views.open` is the one call that can't wait for the outbox
(its trigger expires three seconds after the press).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from handlers.deps import Deps
from handlers.edit import open_view
from handlers.payloads import action_time, pressed_where, view_values
from templates.csat import RATING_ACTIONS, build_comment_modal, csat_notice
from templates.ids import ActionId, BlockId, CallbackId
from workflows.csat import (
    MAX_COMMENT,
    CommentRequest,
    CsatAnswer,
    check_comment,
    comment_form_for,
    may_comment,
    record_answer,
    record_comment,
)
from workflows.vocabulary import CsatRating

_SURVEY_ID = re.compile(r"[0-9]{1,9}")  # digits only, short enough for an INTEGER column


def register(app: App, deps: Deps) -> None:
    def handle_rating(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        answer = csat_answer(body, now=deps.desk.clock.now())
        if answer is not None:
            with deps.transaction() as session:
                record_answer(session, deps.desk, answer)

    def ack_comment(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        request = comment_request(body)
        if request is not None:
            with deps.transaction() as session:
                may_comment(session, deps.desk, request)

    def open_comment_modal(body: dict[str, Any], client: WebClient) -> None:
        request = comment_request(body)
        if request is None:
            return
        with deps.transaction() as session:
            form = comment_form_for(session, request)
        if form is not None:
            view = build_comment_modal(
                ref=form.ref,
                rating=form.rating,
                comment=form.comment,
                private_metadata=str(form.survey_id),
                max_comment=MAX_COMMENT,
            )
            open_view(client, body, view, ticket_id=form.ticket_id)

    def handle_comment_submission(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = view_values(view)
        text = (values.get(BlockId.CSAT_COMMENT, {}).get(ActionId.CSAT_COMMENT_INPUT) or {}).get(
            "value"
        )
        error = check_comment(text)
        if error is not None:
            ack(response_action="errors", errors={BlockId.CSAT_COMMENT: error})
            return
        raw = view.get("private_metadata") or ""
        if not _SURVEY_ID.fullmatch(raw):
            ack()
            return
        request = CommentRequest(survey_id=int(raw), user=(body.get("user") or {}).get("id", ""))
        with deps.transaction(request=body) as session:
            result = record_comment(session, deps.desk, request, text=text or "")
        if result.refusal is not None:
            notice = csat_notice(result.refusal.value, ref=result.ref)["text"]
            ack(response_action="errors", errors={BlockId.CSAT_COMMENT: notice})
        else:
            ack()

    for action_id in (*RATING_ACTIONS.values(), ActionId.CSAT_CHANGE):
        app.action(action_id)(handle_rating)
    app.action(ActionId.CSAT_COMMENT)(ack=ack_comment, lazy=[open_comment_modal])
    app.view(CallbackId.CSAT_COMMENT_MODAL)(handle_comment_submission)


# --- parsing (pure) ----------------------------------------------------------------------------


def csat_answer(body: dict[str, Any], *, now: datetime) -> CsatAnswer | None:
    """A rating button or menu choice: its value is "<survey id>:<rating>"."""
    action = (body.get("actions") or [{}])[0]
    raw = action.get("value") or (action.get("selected_option") or {}).get("value") or ""
    survey_id, _, rating = str(raw).partition(":")
    if not _SURVEY_ID.fullmatch(survey_id) or rating not in set(CsatRating):
        return None
    channel, thread_ts = pressed_where(body)
    return CsatAnswer(
        survey_id=int(survey_id),
        rating=CsatRating(rating),
        user=(body.get("user") or {}).get("id", ""),
        at=action_time(body, otherwise=now),
        reply_channel=channel,
        reply_thread_ts=thread_ts,
    )


def comment_request(body: dict[str, Any]) -> CommentRequest | None:
    """ "Add a comment": its value is the survey id."""
    raw = str((body.get("actions") or [{}])[0].get("value") or "")
    if not _SURVEY_ID.fullmatch(raw):
        return None
    channel, thread_ts = pressed_where(body)
    return CommentRequest(
        survey_id=int(raw),
        user=(body.get("user") or {}).get("id", ""),
        reply_channel=channel,
        reply_thread_ts=thread_ts,
    )
