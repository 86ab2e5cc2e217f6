"""The feature-request board: the card's Feature request button, an offer's Link and New request,
a board card's status menu and the Shipped modal.

Every press is recorded in its ack (one short transaction); whoever may not do it is told why,
privately, through the outbox. Shipped opens the release-note modal in a lazy listener, as
`views.open` is the one call that can't wait for the outbox (its trigger expires three seconds
after the pick).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from handlers.deps import Deps
from handlers.edit import actor_is_external, open_view
from handlers.payloads import action_time, view_values
from templates.feature_requests import build_ship_modal, feature_request_notice
from templates.ids import ActionId, BlockId, CallbackId
from workflows.feature_request_button import mark_feature_request
from workflows.feature_requests import (
    MAX_RELEASE_NOTE,
    LinkChoice,
    Press,
    ShipSubmission,
    StatusChoice,
    check_release_note,
    choose_request,
    choose_status,
    ship_form_for,
    ship_request,
)
from workflows.vocabulary import FeatureRequestStatus

_ID = re.compile(r"[0-9]{1,9}")  # digits only, short enough for an INTEGER column


def register(app: App, deps: Deps) -> None:
    def handle_mark(ack: Ack, body: dict[str, Any], context: Any) -> None:
        ack()
        ticket_id = _id(_value(body))
        if ticket_id is not None:
            with deps.transaction() as session:
                press = press_of(body, home_team=context.team_id, now=deps.desk.clock.now())
                mark_feature_request(session, deps.desk, ticket_id, press)

    def handle_choice(ack: Ack, body: dict[str, Any], context: Any) -> None:
        ack()
        choice = link_choice(body, home_team=context.team_id, now=deps.desk.clock.now())
        if choice is not None:
            with deps.transaction() as session:
                choose_request(session, deps.desk, choice)

    def ack_status(ack: Ack, body: dict[str, Any], context: Any) -> None:
        ack()
        choice = status_choice(body, home_team=context.team_id, now=deps.desk.clock.now())
        if choice is not None:
            with deps.transaction() as session:
                choose_status(session, deps.desk, choice)

    def open_ship_modal(body: dict[str, Any], client: WebClient, context: Any) -> None:
        choice = status_choice(body, home_team=context.team_id, now=deps.desk.clock.now())
        if choice is None or choice.status != FeatureRequestStatus.SHIPPED:
            return
        with deps.transaction() as session:
            form = ship_form_for(session, deps.desk, choice)
        if form is not None:
            view = build_ship_modal(
                request_id=form.request_id,
                ref=form.ref,
                title=form.title,
                requester_count=form.requester_count,
                release_note=form.release_note,
                max_note=MAX_RELEASE_NOTE,
            )
            open_view(client, body, view, ticket_id=0)

    def handle_ship_submission(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], context: Any
    ) -> None:
        values = view_values(view)
        note = (values.get(BlockId.RELEASE_NOTE, {}).get(ActionId.RELEASE_NOTE_INPUT) or {}).get(
            "value"
        )
        error = check_release_note(note)
        request_id = _id(view.get("private_metadata") or "")
        if error is not None:
            ack(response_action="errors", errors={BlockId.RELEASE_NOTE: error})
            return
        if request_id is None:
            ack()
            return
        submission = ShipSubmission(
            request_id=request_id,
            user=(body.get("user") or {}).get("id", ""),
            release_note=note or "",
            at=deps.desk.clock.now(),  # a submission carries no action_ts
            user_is_external=actor_is_external(body, home_team=context.team_id),
        )
        with deps.transaction(request=body) as session:
            result = ship_request(session, deps.desk, submission)
        if result.refusal is None:
            ack()
            return
        text = feature_request_notice(result.refusal.value, request_ref=result.request_ref)["text"]
        ack(response_action="errors", errors={BlockId.RELEASE_NOTE: text})

    app.action(ActionId.MARK_FEATURE_REQUEST)(handle_mark)
    app.action(ActionId.FEATURE_REQUEST_LINK)(handle_choice)
    app.action(ActionId.FEATURE_REQUEST_NEW)(handle_choice)
    app.action(ActionId.FEATURE_REQUEST_STATUS)(ack=ack_status, lazy=[open_ship_modal])
    app.view(CallbackId.SHIP_FEATURE_REQUEST_MODAL)(handle_ship_submission)


# --- parsing (pure) ----------------------------------------------------------------------------


def _value(body: dict[str, Any]) -> str:
    action = (body.get("actions") or [{}])[0]
    return str(action.get("value") or (action.get("selected_option") or {}).get("value") or "")


def _id(raw: str) -> int | None:
    return int(raw) if _ID.fullmatch(raw) else None


def press_of(body: dict[str, Any], *, home_team: str | None, now: datetime) -> Press:
    """Who pressed, when, and where (the pressed message and its thread)."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    in_view = container.get("type") == "view"
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    return Press(
        user=(body.get("user") or {}).get("id", ""),
        at=action_time(body, otherwise=now),
        user_is_external=actor_is_external(body, home_team=home_team),
        channel=None if in_view else channel,
        message_ts=None if in_view else message.get("ts"),
        thread_ts=None if in_view else message.get("thread_ts"),
    )


def link_choice(body: dict[str, Any], *, home_team: str | None, now: datetime) -> LinkChoice | None:
    """Link ("<ticket id>:<request id>") or New request ("<ticket id>")."""
    action_id = (body.get("actions") or [{}])[0].get("action_id")
    ticket_raw, _, request_raw = _value(body).partition(":")
    ticket_id = _id(ticket_raw)
    if ticket_id is None:
        return None
    press = press_of(body, home_team=home_team, now=now)
    if action_id == ActionId.FEATURE_REQUEST_NEW:
        return LinkChoice(ticket_id=ticket_id, request_id=None, press=press)
    request_id = _id(request_raw)
    if request_id is None:
        return None
    return LinkChoice(ticket_id=ticket_id, request_id=request_id, press=press)


def status_choice(
    body: dict[str, Any], *, home_team: str | None, now: datetime
) -> StatusChoice | None:
    """A status menu pick: "<request id>:<status>"."""
    request_raw, _, status = _value(body).partition(":")
    request_id = _id(request_raw)
    if request_id is None or status not in set(FeatureRequestStatus):
        return None
    return StatusChoice(
        request_id=request_id,
        status=FeatureRequestStatus(status),
        press=press_of(body, home_team=home_team, now=now),
    )
