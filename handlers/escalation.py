"""Escalation's Slack surface: the card's Escalate and Reply to engineering buttons, the Reply to
engineering message shortcut, the De-escalate / Pass back overflow option, their modals, and
the escalation card's Take, Need info and Fixed buttons in engineering channels.

Presses are acknowledged at once and whoever may not use them is told why, privately; modals
open in lazy listeners (`views.open` needs the trigger within three seconds of the press).
"""

from __future__ import annotations

import re
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
from handlers.payloads import action_time, chosen_option, selected_value, view_values
from templates.edit_modal import edit_refusal
from templates.escalation import (
    build_de_escalate_modal,
    build_engineering_reply_modal,
    build_escalation_modal,
    escalation_refusal,
)
from templates.ids import ActionId, BlockId, CallbackId, MoreOption
from workflows.editing import (
    Form,
    ModalRequest,
    decode_modal_context,
)
from workflows.escalation import (
    LIMITS,
    MAX_CLOSE_NOTE,
    MAX_REPLY,
    EngineeringStep,
    EscalationAnswers,
    check_engineering_reply,
    de_escalate,
    de_escalate_form_for,
    engineering_reply_form_for,
    escalate,
    escalation_form_for,
    reply_to_engineering,
    ticket_for_thread_message,
    work_escalation,
)
from workflows.vocabulary import Via

# The Escalate modal's fields, by the block that shows each.
_ESCALATION_BLOCKS = {
    "target": (BlockId.ESCALATION_TARGET, ActionId.ESCALATION_TARGET),
    "severity": (BlockId.SEVERITY, ActionId.SEVERITY),
    "summary": (BlockId.SUMMARY, ActionId.SUMMARY),
    "steps": (BlockId.STEPS, ActionId.STEPS),
    "scale": (BlockId.SCALE, ActionId.SCALE),
    "tried": (BlockId.TRIED, ActionId.TRIED),
}
_STEPS = {
    ActionId.ESCALATION_TAKE: EngineeringStep.TAKE,
    ActionId.ESCALATION_NEED_INFO: EngineeringStep.NEED_INFO,
    ActionId.ESCALATION_FIXED: EngineeringStep.FIXED,
}


def register(app: App, deps: Deps) -> None:
    def refuse(body: dict[str, Any], context: Any, form: Form) -> None:
        refuse_press(deps, modal_request(body, form, home_team=context.team_id))

    # --- Escalate ---------------------------------------------------------------------------

    def ack_escalate(ack: Ack, body: dict[str, Any], context: Any) -> None:
        ack()
        refuse(body, context, Form.ESCALATE)

    def open_escalate_modal(body: dict[str, Any], client: WebClient, context: Any) -> None:
        request = modal_request(body, Form.ESCALATE, home_team=context.team_id)
        if request is None:
            return
        with deps.transaction() as session:
            form = escalation_form_for(session, deps.desk, request)
        if form is not None:
            view = build_escalation_modal(
                form, private_metadata=request_metadata(request), limits=dict(LIMITS)
            )
            open_view(client, body, view, ticket_id=request.ticket_id)

    def handle_escalate_submission(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], context: Any
    ) -> None:
        modal = decode_modal_context(view.get("private_metadata"))
        if modal is None:
            ack()
            return
        values = view_values(view)
        answers = EscalationAnswers(
            **{
                name: selected_value(values, block, action)
                for name, (block, action) in _ESCALATION_BLOCKS.items()
            }
        )
        with deps.transaction(request=body) as session:
            result = escalate(
                session,
                deps.desk,
                answers,
                ticket_id=modal.ticket_id,
                agent=body["user"]["id"],
                at=deps.desk.clock.now(),  # a submission carries no action_ts
                via=Via.MODAL,
                agent_is_external=actor_is_external(body, home_team=context.team_id),
            )
        if result.refusal is not None:
            text = _refusal_text(result.refusal.value, modal.ticket_id, Form.ESCALATE)
            ack(response_action="errors", errors={BlockId.ESCALATION_TARGET: text})
        elif result.errors:
            errors = {
                str(_ESCALATION_BLOCKS[name][0]): text for name, text in result.errors.items()
            }
            ack(response_action="errors", errors=errors)
        else:
            ack()

    # --- Take, Need info, Fixed (the escalation card) ----------------------------------------

    def handle_step(ack: Ack, body: dict[str, Any], context: Any) -> None:
        ack()
        action = (body.get("actions") or [{}])[0]
        step = _STEPS.get(action.get("action_id", ""))
        raw = str(action.get("value") or "")
        if step is None or not re.fullmatch(r"[0-9]{1,9}", raw):
            return
        with deps.transaction() as session:
            work_escalation(
                session,
                deps.desk,
                step,
                escalation_id=int(raw),
                user=(body.get("user") or {}).get("id", ""),
                at=action_time(body, otherwise=deps.desk.clock.now()),
                user_is_external=actor_is_external(body, home_team=context.team_id),
                reply_channel=(body.get("channel") or {}).get("id"),
            )

    # --- Reply to engineering -----------------------------------------------------------------

    def ack_reply_button(ack: Ack, body: dict[str, Any], context: Any) -> None:
        ack()
        refuse(body, context, Form.ENGINEERING_REPLY)

    def open_from_button(body: dict[str, Any], client: WebClient, context: Any) -> None:
        request = modal_request(body, Form.ENGINEERING_REPLY, home_team=context.team_id)
        if request is not None:
            open_reply_modal(client, body, request, initial="")

    def ack_shortcut(ack: Ack, body: dict[str, Any], context: Any) -> None:
        ack()
        request = thread_message_request(body, context)
        if request is not None:
            not_here = escalation_refusal("not_a_ticket_thread", ref="")
            refuse_shortcut(deps, request, not_here=not_here)

    def open_from_shortcut(body: dict[str, Any], client: WebClient, context: Any) -> None:
        request = thread_message_request(body, context)
        if request is not None and request.ticket_id:
            text = (body.get("message") or {}).get("text") or ""
            open_reply_modal(client, body, request, initial=text)

    def thread_message_request(body: dict[str, Any], context: Any) -> ModalRequest | None:
        """The shortcut; ticket id 0 when the message is in no ticket's thread."""
        return shortcut_request(
            deps,
            body,
            form=Form.ENGINEERING_REPLY,
            home_team=context.team_id,
            find_ticket=ticket_for_thread_message,
        )

    def open_reply_modal(
        client: WebClient, body: dict[str, Any], request: ModalRequest, *, initial: str
    ) -> None:
        with deps.transaction() as session:
            form = engineering_reply_form_for(session, deps.desk, request)
        if form is None:
            return
        view = build_engineering_reply_modal(
            form, private_metadata=request_metadata(request), initial=initial, max_reply=MAX_REPLY
        )
        open_view(client, body, view, ticket_id=request.ticket_id)

    def handle_reply_submission(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], context: Any
    ) -> None:
        modal = decode_modal_context(view.get("private_metadata"))
        if modal is None:
            ack()
            return
        values = view_values(view)
        text = selected_value(values, BlockId.ENGINEERING_REPLY, ActionId.ENGINEERING_REPLY)
        chosen = selected_value(
            values, BlockId.ENGINEERING_ESCALATION, ActionId.ENGINEERING_ESCALATION
        )
        errors = check_engineering_reply(text)
        if errors:
            ack(response_action="errors", errors={BlockId.ENGINEERING_REPLY: errors["reply"]})
            return
        with deps.transaction(request=body) as session:
            result = reply_to_engineering(
                session,
                deps.desk,
                ticket_id=modal.ticket_id,
                escalation_id=int(chosen) if chosen and chosen.isdecimal() else None,
                agent=body["user"]["id"],
                text=text,
                at=deps.desk.clock.now(),
                agent_is_external=actor_is_external(body, home_team=context.team_id),
            )
        if result.refusal is not None:
            text = _refusal_text(result.refusal.value, modal.ticket_id, Form.ENGINEERING_REPLY)
            ack(response_action="errors", errors={BlockId.ENGINEERING_REPLY: text})
        elif result.errors:
            block = (
                BlockId.ENGINEERING_ESCALATION
                if "escalation" in result.errors and chosen
                else BlockId.ENGINEERING_REPLY
            )
            ack(response_action="errors", errors={block: next(iter(result.errors.values()))})
        else:
            ack()

    # --- De-escalate / Pass back ----------------------------------------------------------------

    def handle_de_escalate_submission(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], context: Any
    ) -> None:
        modal = decode_modal_context(view.get("private_metadata"))
        if modal is None:
            ack()
            return
        values = view_values(view)
        boxes = values.get(BlockId.DE_ESCALATE, {}).get(ActionId.DE_ESCALATE) or {}
        chosen = [
            int(option["value"])
            for option in boxes.get("selected_options") or []
            if str(option.get("value", "")).isdecimal()
        ]
        note = selected_value(values, BlockId.DE_ESCALATE_NOTE, ActionId.DE_ESCALATE_NOTE)
        with deps.transaction(request=body) as session:
            result = de_escalate(
                session,
                deps.desk,
                ticket_id=modal.ticket_id,
                escalation_ids=chosen,
                note=note,
                agent=body["user"]["id"],
                at=deps.desk.clock.now(),
                agent_is_external=actor_is_external(body, home_team=context.team_id),
            )
        if result.refusal is not None:
            text = _refusal_text(result.refusal.value, modal.ticket_id, Form.DE_ESCALATE)
            ack(response_action="errors", errors={BlockId.DE_ESCALATE: text})
        elif result.errors:
            blocks = {"note": BlockId.DE_ESCALATE_NOTE, "escalations": BlockId.DE_ESCALATE}
            ack(
                response_action="errors",
                errors={blocks[name]: text for name, text in result.errors.items()},
            )
        else:
            ack()

    app.action(ActionId.ESCALATE)(ack=ack_escalate, lazy=[open_escalate_modal])
    app.view(CallbackId.ESCALATE_MODAL)(handle_escalate_submission)
    for action_id in _STEPS:
        app.action(action_id)(handle_step)
    app.action(ActionId.REPLY_TO_ENGINEERING)(ack=ack_reply_button, lazy=[open_from_button])
    app.shortcut(CallbackId.ENGINEERING_REPLY_SHORTCUT)(ack=ack_shortcut, lazy=[open_from_shortcut])
    app.view(CallbackId.ENGINEERING_REPLY_MODAL)(handle_reply_submission)
    app.view(CallbackId.DE_ESCALATE_MODAL)(handle_de_escalate_submission)


# --- the card's overflow option (its one listener is in handlers/actions.py) -------------------


def is_de_escalate_option(body: dict[str, Any]) -> bool:
    return chosen_option(body).startswith(MoreOption.DE_ESCALATE)


def refuse_de_escalate(deps: Deps, body: dict[str, Any], context: Any) -> None:
    refuse_press(deps, modal_request(body, Form.DE_ESCALATE, home_team=context.team_id))


def open_de_escalate_modal(
    deps: Deps, body: dict[str, Any], client: WebClient, context: Any
) -> None:
    request = modal_request(body, Form.DE_ESCALATE, home_team=context.team_id)
    if request is None:
        return
    with deps.transaction() as session:
        form = de_escalate_form_for(session, deps.desk, request)
    if form is not None:
        view = build_de_escalate_modal(
            form, private_metadata=request_metadata(request), max_note=MAX_CLOSE_NOTE
        )
        open_view(client, body, view, ticket_id=request.ticket_id)


def _refusal_text(refusal: str, ticket_id: int, form: Form) -> str:
    return str(edit_refusal(refusal, ref=f"#{ticket_id}", form=form.value)["text"])
