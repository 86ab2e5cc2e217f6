"""Reply to customer and Ask customer: the card's buttons and the message shortcut open one modal;
submitting it sends the agent's words to the requester's thread (through the outbox). Ask customer
then leaves the ticket waiting on the requester."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from handlers.deps import Deps
from handlers.edit import (
    actor_is_external,
    modal_request,
    open_view,
    refuse_press,
    refuse_shortcut,
    request_metadata,
    shortcut_request,
)
from handlers.payloads import view_values
from templates.customers import build_reply_modal, room_only
from templates.edit_modal import edit_refusal
from templates.ids import ActionId, BlockId, CallbackId
from workflows.customers import (
    MAX_REPLY,
    ask_customer,
    check_reply,
    reply_form_for,
    reply_to_customer,
    ticket_for_room_message,
)
from workflows.editing import (
    Form,
    ModalRequest,
    decode_modal_context,
)


def register(app: App, deps: Deps) -> None:
    def ack_ask_button(ack: Ack, body: dict[str, Any], context: Any) -> None:
        ack()
        refuse_press(deps, modal_request(body, Form.ASK, home_team=context.team_id))

    def open_ask_modal(body: dict[str, Any], client: WebClient, context: Any) -> None:
        request = modal_request(body, Form.ASK, home_team=context.team_id)
        if request is not None:
            open_reply_modal(client, body, request, initial="")

    def ack_reply_button(ack: Ack, body: dict[str, Any], context: Any) -> None:
        ack()
        refuse_press(deps, modal_request(body, Form.REPLY, home_team=context.team_id))

    def open_from_button(body: dict[str, Any], client: WebClient, context: Any) -> None:
        request = modal_request(body, Form.REPLY, home_team=context.team_id)
        if request is not None:
            open_reply_modal(client, body, request, initial="")

    def ack_shortcut(ack: Ack, body: dict[str, Any], context: Any) -> None:
        ack()
        request = room_message_request(body, context)
        if request is not None:
            refuse_shortcut(deps, request, not_here=room_only(None))

    def open_from_shortcut(body: dict[str, Any], client: WebClient, context: Any) -> None:
        request = room_message_request(body, context)
        if request is not None and request.ticket_id:
            text = (body.get("message") or {}).get("text") or ""
            open_reply_modal(client, body, request, initial=text)

    def room_message_request(body: dict[str, Any], context: Any) -> ModalRequest | None:
        """The shortcut; ticket id 0 when the message is in no triage room."""
        return shortcut_request(
            deps,
            body,
            form=Form.REPLY,
            home_team=context.team_id,
            find_ticket=ticket_for_room_message,
        )

    def open_reply_modal(
        client: WebClient, body: dict[str, Any], request: ModalRequest, *, initial: str
    ) -> None:
        with deps.transaction() as session:
            form = reply_form_for(session, deps.desk, request)
        if form is None:
            return
        metadata = request_metadata(request)
        view = build_reply_modal(
            ref=form.ref,
            customer=form.customer,
            private_metadata=metadata,
            initial=initial,
            max_reply=MAX_REPLY,
            asking=request.form == Form.ASK,
            bridged=form.bridged,
        )
        open_view(client, body, view, ticket_id=request.ticket_id)

    def handle_submission(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], context: Any
    ) -> None:
        asking = view.get("callback_id") == CallbackId.ASK_MODAL
        modal = decode_modal_context(view.get("private_metadata"))
        values = view_values(view)
        text = (values.get(BlockId.REPLY, {}).get(ActionId.REPLY_INPUT) or {}).get("value")
        if modal is None:
            ack()
            return
        errors = check_reply(text, asking=asking)
        if errors:
            ack(response_action="errors", errors={BlockId.REPLY: errors["reply"]})
            return
        send = ask_customer if asking else reply_to_customer
        with deps.transaction(request=body) as session:
            result = send(
                session,
                deps.desk,
                ticket_id=modal.ticket_id,
                agent=body["user"]["id"],
                text=text,
                at=deps.desk.clock.now(),  # a submission carries no action_ts
                agent_is_external=actor_is_external(body, home_team=context.team_id),
            )
        if result.refusal is not None:
            form = Form.ASK if asking else Form.REPLY
            notice = edit_refusal(result.refusal.value, ref=f"#{modal.ticket_id}", form=form.value)
            ack(response_action="errors", errors={BlockId.REPLY: notice["text"]})
        elif result.errors:
            ack(response_action="errors", errors={BlockId.REPLY: result.errors["reply"]})
        else:
            ack()

    app.action(ActionId.REPLY)(ack=ack_reply_button, lazy=[open_from_button])
    app.action(ActionId.ASK_CUSTOMER)(ack=ack_ask_button, lazy=[open_ask_modal])
    app.view(CallbackId.ASK_MODAL)(handle_submission)
    app.shortcut(CallbackId.REPLY_SHORTCUT)(ack=ack_shortcut, lazy=[open_from_shortcut])
    app.view(CallbackId.REPLY_MODAL)(handle_submission)
