"""The card's Edit and Internal note buttons and the two agent modals they open.

A press is acknowledged at once; whoever is not an agent is told why (through the outbox) before
the answer goes back to Slack. The modal itself opens in a lazy listener: `views.open` is the one
call that can't wait for the outbox, as its trigger expires three seconds after the press.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.deps import Deps
from handlers.payloads import pressed_where, view_values
from storage.models import Ticket
from templates.edit_modal import NOT_SET, build_edit_modal, build_note_modal, edit_refusal
from templates.ids import ActionId, BlockId, CallbackId
from workflows.delivery import tell_privately
from workflows.editing import (
    EditAnswers,
    Form,
    ModalRequest,
    check_note,
    decode_modal_context,
    edit_form_for,
    encode_modal_context,
    may_open,
    refuse_if_not_allowed,
    submit_edit,
)
from workflows.triage import ActionKind, TicketAction, perform
from workflows.vocabulary import Via

logger = logging.getLogger(__name__)


def register(app: App, deps: Deps) -> None:
    def ack_edit(ack: Ack, body: dict[str, Any], context: Any) -> None:
        ack()
        refuse_press(deps, modal_request(body, Form.EDIT, home_team=context.team_id))

    def ack_note(ack: Ack, body: dict[str, Any], context: Any) -> None:
        ack()
        refuse_press(deps, modal_request(body, Form.NOTE, home_team=context.team_id))

    def open_edit_modal(body: dict[str, Any], client: WebClient, context: Any) -> None:
        request = modal_request(body, Form.EDIT, home_team=context.team_id)
        if request is None:
            return
        with deps.transaction() as session:
            form = edit_form_for(session, deps.desk, request)
        if form is not None:
            metadata = encode_modal_context(
                ticket_id=form.ticket_id,
                channel=request.reply_channel,
                thread_ts=request.reply_thread_ts,
                form=form,
            )
            view = build_edit_modal(form, deps.desk.config, private_metadata=metadata)
            open_view(client, body, view, ticket_id=request.ticket_id)

    def open_note_modal(body: dict[str, Any], client: WebClient, context: Any) -> None:
        request = modal_request(body, Form.NOTE, home_team=context.team_id)
        if request is None:
            return
        with deps.transaction() as session:
            allowed = may_open(session, deps.desk, request)
        if allowed:
            metadata = request_metadata(request)
            view = build_note_modal(ref=f"#{request.ticket_id}", private_metadata=metadata)
            open_view(client, body, view, ticket_id=request.ticket_id)

    def handle_edit_submission(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], context: Any
    ) -> None:
        modal = decode_modal_context(view.get("private_metadata"))
        if modal is None:
            ack()
            return
        with deps.transaction(request=body) as session:
            result = submit_edit(
                session,
                deps.desk,
                edit_answers(view),
                context=modal,
                editor=body["user"]["id"],
                editor_is_external=actor_is_external(body, home_team=context.team_id),
                at=deps.desk.clock.now(),  # a submission carries no action_ts
            )
        if result.refusal is not None:
            text = edit_refusal(
                result.refusal.value, ref=f"#{modal.ticket_id}", form=Form.EDIT.value
            )
            ack(response_action="errors", errors={BlockId.ISSUE_TYPE: text["text"]})
        elif result.errors:
            errors = {str(BlockId(name)): message for name, message in result.errors.items()}
            ack(response_action="errors", errors=errors)
        else:
            ack()

    def handle_note_submission(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], context: Any
    ) -> None:
        modal = decode_modal_context(view.get("private_metadata"))
        text = _answer(view_values(view), BlockId.NOTE, ActionId.NOTE_INPUT)
        errors = check_note(text)
        if errors:
            ack(response_action="errors", errors={str(BlockId(k)): v for k, v in errors.items()})
            return
        if modal is None:
            ack()
            return
        action = TicketAction(
            kind=ActionKind.NOTE,
            ticket_id=modal.ticket_id,
            actor=body["user"]["id"],
            at=deps.desk.clock.now(),
            via=Via.MODAL,
            actor_is_external=actor_is_external(body, home_team=context.team_id),
            text=text,
            reply_channel=modal.channel,
            reply_thread_ts=modal.thread_ts,
        )
        with deps.transaction(request=body) as session:
            perform(session, deps.desk, action)
        ack()

    app.action(ActionId.EDIT)(ack=ack_edit, lazy=[open_edit_modal])
    app.action(ActionId.NOTE)(ack=ack_note, lazy=[open_note_modal])
    app.view(CallbackId.EDIT_MODAL)(handle_edit_submission)
    app.view(CallbackId.NOTE_MODAL)(handle_note_submission)


def open_view(
    client: WebClient, body: dict[str, Any], view: dict[str, Any], *, ticket_id: int
) -> None:
    """Open an agent modal from a press; a trigger that expired (or any refusal) is logged, not
    raised: the press was acknowledged already."""
    if not body.get("trigger_id"):
        logger.warning(
            "no trigger to open the %s modal of ticket #%s", view.get("callback_id"), ticket_id
        )
        return
    try:
        client.views_open(trigger_id=body["trigger_id"], view=view)
    except SlackApiError as exc:
        logger.warning(
            "could not open the %s modal of ticket #%s: %s",
            view.get("callback_id"),
            ticket_id,
            exc.response.get("error"),
        )


def refuse_press(deps: Deps, request: ModalRequest | None) -> None:
    """In a press's ack: whoever may not open its modal is told why, privately (the modal
    itself opens in the lazy listener)."""
    if request is not None:
        with deps.transaction() as session:
            refuse_if_not_allowed(session, deps.desk, request)


def request_metadata(request: ModalRequest) -> str:
    """A modal's private_metadata: the ticket, and where the press was (for answers)."""
    return encode_modal_context(
        ticket_id=request.ticket_id,
        channel=request.reply_channel,
        thread_ts=request.reply_thread_ts,
    )


# --- message shortcuts on a ticket's messages (Reply to customer, Reply to engineering) -------


def shortcut_request(
    deps: Deps,
    body: dict[str, Any],
    *,
    form: Form,
    home_team: str | None,
    find_ticket: Callable[..., Ticket | None],
) -> ModalRequest | None:
    """A message shortcut as a ModalRequest for `form`; ticket id 0 when `find_ticket` finds no
    ticket for the message."""
    user = (body.get("user") or {}).get("id")
    channel = (body.get("channel") or {}).get("id")
    message = body.get("message") or {}
    if not user or not channel or not message.get("ts"):
        return None
    with deps.transaction() as session:
        ticket = find_ticket(
            session, channel=channel, ts=message["ts"], thread_ts=message.get("thread_ts")
        )
        ticket_id = ticket.id if ticket is not None else 0
    return ModalRequest(
        form=form,
        ticket_id=ticket_id,
        user=user,
        user_is_external=actor_is_external(body, home_team=home_team),
        reply_channel=channel,
        reply_thread_ts=message.get("thread_ts") or message["ts"],
    )


def refuse_shortcut(deps: Deps, request: ModalRequest, *, not_here: dict[str, Any]) -> None:
    """In the shortcut's ack: whoever may not use it, or used it on a message of no ticket, is
    told why at once (the modal opens in the lazy listener)."""
    if request.ticket_id:
        refuse_press(deps, request)
        return
    with deps.transaction() as session:
        tell_privately(
            session,
            user=request.user,
            message=not_here,
            now=deps.desk.clock.now(),
            channel=request.reply_channel,
            thread_ts=request.reply_thread_ts,
        )


# --- parsing ---------------------------------------------------------------------------------


def modal_request(
    body: dict[str, Any], form: Form, *, home_team: str | None
) -> ModalRequest | None:
    """A press that opens an agent modal: a button whose value is the ticket id, or an overflow
    option "merge:42". None when it carries no ticket id (digits only, short enough for an
    INTEGER column)."""
    action = (body.get("actions") or [{}])[0]
    raw = action.get("value") or (action.get("selected_option") or {}).get("value") or ""
    raw = raw.split(":", 1)[-1]
    if not re.fullmatch(r"[0-9]{1,9}", raw):
        return None
    reply_channel, reply_thread_ts = pressed_where(body)  # App Home: answers go to the DM
    return ModalRequest(
        form=form,
        ticket_id=int(raw),
        user=(body.get("user") or {}).get("id", ""),
        user_is_external=actor_is_external(body, home_team=home_team),
        reply_channel=reply_channel,
        reply_thread_ts=reply_thread_ts,
    )


def edit_answers(view: dict[str, Any]) -> EditAnswers:
    """The Edit modal's `state.values`; the "Not set" choice reads as an empty answer."""
    values = view_values(view)
    departments = values.get(BlockId.DEPARTMENTS, {}).get(ActionId.DEPARTMENTS) or {}
    return EditAnswers(
        issue_type=_answer(values, BlockId.ISSUE_TYPE, ActionId.ISSUE_TYPE),
        priority=_answer(values, BlockId.PRIORITY, ActionId.PRIORITY),
        internal_priority=_answer(values, BlockId.INTERNAL_PRIORITY, ActionId.INTERNAL_PRIORITY),
        product=_answer(values, BlockId.PRODUCT, ActionId.PRODUCT),
        departments=tuple(
            option.get("value", "") for option in departments.get("selected_options") or []
        ),
        users_affected=_answer(values, BlockId.USERS_AFFECTED, ActionId.USERS_AFFECTED),
        site_down=_answer(values, BlockId.SITE_DOWN, ActionId.SITE_DOWN),
        support_type=_answer(values, BlockId.SUPPORT_TYPE, ActionId.SUPPORT_TYPE),
        client_priority=_answer(values, BlockId.CLIENT_PRIORITY, ActionId.CLIENT_PRIORITY),
        tags=_answer(values, BlockId.TAGS, ActionId.TAGS),
    )


def _answer(values: dict[str, Any], block: str, action: str) -> str | None:
    state = values.get(block, {}).get(action) or {}
    option = state.get("selected_option")
    value = option.get("value") if option else state.get("value")
    return None if value == NOT_SET else value


def actor_is_external(body: dict[str, Any], *, home_team: str | None) -> bool:
    """A user from another workspace (Slack Connect) is never an agent."""
    user_team = (body.get("user") or {}).get("team_id")
    return bool(home_team and user_team and user_team != home_team)
