"""Buttons on the ticket card and in App Home: Claim, Resolve, Reopen, Reassign, and the card's
overflow menu (Unclaim, Waiting on requester; Merge and Split are handed to handlers/merging.py,
whose modals open in the menu's lazy listener). One listener per action id, each thin."""

from __future__ import annotations

import dataclasses
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from handlers import escalation, merging
from handlers.deps import Deps
from handlers.payloads import chosen_option, ticket_action_from_block_action
from templates.ids import ActionId, MoreOption
from workflows.triage import ActionKind, perform, ticket_for_message

_MORE = {MoreOption.UNCLAIM: ActionKind.UNCLAIM, MoreOption.WAIT: ActionKind.WAIT}


def register(app: App, deps: Deps) -> None:
    def act(body: dict[str, Any], kind: ActionKind, context: Any) -> None:
        action, pressed_on = ticket_action_from_block_action(
            body, kind, home_team=context.team_id, now=deps.desk.clock.now()
        )
        with deps.transaction() as session:
            if pressed_on is not None:
                ticket = ticket_for_message(session, *pressed_on)
                if ticket is None:
                    return
                action = dataclasses.replace(action, ticket_id=ticket.id)
            perform(session, deps.desk, action)

    def handle_claim(ack: Ack, body: dict[str, Any], context: Any) -> None:
        ack()
        act(body, ActionKind.CLAIM, context)

    def handle_resolve(ack: Ack, body: dict[str, Any], context: Any) -> None:
        ack()
        act(body, ActionKind.RESOLVE, context)

    def handle_reopen(ack: Ack, body: dict[str, Any], context: Any) -> None:
        ack()
        act(body, ActionKind.REOPEN, context)

    def handle_reassign(ack: Ack, body: dict[str, Any], context: Any) -> None:
        ack()
        act(body, ActionKind.REASSIGN, context)

    def handle_more(ack: Ack, body: dict[str, Any], context: Any) -> None:
        ack()
        if merging.is_modal_option(body):
            merging.refuse_if_not_allowed_to(deps, body, context)
            return
        if escalation.is_de_escalate_option(body):
            escalation.refuse_de_escalate(deps, body, context)
            return
        value = chosen_option(body)
        kind = next((k for prefix, k in _MORE.items() if value.startswith(prefix)), None)
        if kind is not None:
            act(body, kind, context)

    def open_more_modal(body: dict[str, Any], client: WebClient, context: Any) -> None:
        if merging.is_modal_option(body):
            merging.open_modal(deps, body, client, context)
        elif escalation.is_de_escalate_option(body):
            escalation.open_de_escalate_modal(deps, body, client, context)

    app.action(ActionId.CLAIM)(handle_claim)
    app.action(ActionId.RESOLVE)(handle_resolve)
    app.action(ActionId.REOPEN)(handle_reopen)
    app.action(ActionId.REASSIGN)(handle_reassign)
    app.action(ActionId.MORE)(ack=handle_more, lazy=[open_more_modal])
