"""The intake modal: live updates of its conditional fields and of the knowledge-base articles
listed under the description as it is typed, and its submission."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.deps import Deps
from handlers.payloads import intake_answers
from templates.ids import ActionId, BlockId, CallbackId
from templates.knowledge import modal_suggestions
from templates.modals import IntakeForm, build_intake_modal
from workflows.deflection import live_suggestions, suggests_while_typing
from workflows.intake import (
    IntakeAnswers,
    check_intake,
    decode_modal_context,
    needs_scale,
    open_from_modal,
    to_request,
)

logger = logging.getLogger(__name__)


def register(app: App, deps: Deps) -> None:
    def refresh_intake_modal(body: dict[str, Any], client: WebClient) -> None:
        """Issue type or priority changed: show or hide the scale questions. The view's hash makes
        Slack refuse a stale update when the requester changed two answers in quick succession."""
        view = intake_view(body)
        if view is None:
            return
        answers = intake_answers(view)
        show = needs_scale(answers.issue_type, answers.priority)
        if show == answers.scale_shown:
            return
        form = intake_form(deps, answers, show_scale=show, cut=description_was_cut(view))
        update_intake_modal(client, view, form)

    def suggest_while_typing(body: dict[str, Any], client: WebClient) -> None:
        """The description changed: list the articles that may answer it under it. Nothing is
        sent when the list shown would stay the same (most keystrokes)."""
        view = intake_view(body)
        if view is None:
            return
        typed = (body.get("actions") or [{}])[0].get("value")
        answers = intake_answers(view)
        if typed is not None:
            answers = dataclasses.replace(answers, description=typed)
        form = intake_form(
            deps, answers, show_scale=answers.scale_shown, cut=description_was_cut(view)
        )
        updated = build_intake_modal(form, products=deps.desk.config.products, private_metadata="")
        if shown_suggestions(updated) == shown_suggestions(view):
            return
        update_intake_modal(client, view, form)

    def update_intake_modal(client: WebClient, view: dict[str, Any], form: IntakeForm) -> None:
        updated = build_intake_modal(
            form,
            products=deps.desk.config.products,
            private_metadata=view.get("private_metadata") or "",
        )
        try:
            client.views_update(view_id=view["id"], hash=view.get("hash"), view=updated)
        except SlackApiError as exc:
            if exc.response.get("error") != "hash_conflict":
                logger.warning("could not update the intake modal: %s", exc.response.get("error"))

    def ack_modal_action(ack: Ack) -> None:
        ack()

    def handle_intake_submission(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], context: Any
    ) -> None:
        answers = intake_answers(view)
        check = check_intake(answers)
        if check.needs_scale:
            # The form changed faster than its update arrived: show the scale questions first.
            ack(
                response_action="update",
                view=build_intake_modal(
                    intake_form(deps, answers, show_scale=True, cut=description_was_cut(view)),
                    products=deps.desk.config.products,
                    private_metadata=view.get("private_metadata") or "",
                ),
            )
            return
        if check.errors:
            ack(response_action="errors", errors=check.errors)
            return
        user = body["user"]["id"]
        channel = decode_modal_context(view.get("private_metadata")) or user
        request = to_request(
            answers, requester=user, channel=channel, requester_team=body["user"].get("team_id")
        )
        with deps.transaction(request=body) as session:
            open_from_modal(session, deps.desk, request)
        ack()

    app.action(ActionId.ISSUE_TYPE)(ack=ack_modal_action, lazy=[refresh_intake_modal])
    app.action(ActionId.PRIORITY)(ack=ack_modal_action, lazy=[refresh_intake_modal])
    app.action(ActionId.DESCRIPTION)(ack=ack_modal_action, lazy=[suggest_while_typing])
    app.view(CallbackId.INTAKE_MODAL)(handle_intake_submission)


def intake_view(body: dict[str, Any]) -> dict[str, Any] | None:
    """The intake modal a block action came from; None (logged) when it came from anything
    else: a message carrying an input with the same action id has no `view` to update."""
    view = body.get("view")
    if isinstance(view, dict) and view.get("callback_id") == CallbackId.INTAKE_MODAL:
        return view
    action = (body.get("actions") or [{}])[0]
    logger.info("ignored %s: it came from no intake form", action.get("action_id"))
    return None


def description_was_cut(view: dict[str, Any]) -> bool:
    """The form says its pre-filled description was cut (it keeps saying so when updated)."""
    return any(
        block.get("block_id") == BlockId.DESCRIPTION_CUT for block in view.get("blocks") or []
    )


def intake_form(
    deps: Deps, answers: IntakeAnswers, *, show_scale: bool, cut: bool = False
) -> IntakeForm:
    """The form as answered so far, with the articles that may answer its description."""
    users = (answers.users_affected or "").strip()
    return IntakeForm(
        priority=answers.priority or deps.desk.config.default_priority,
        issue_type=answers.issue_type,
        product=answers.product,
        description=answers.description,
        users_affected=int(users) if users.isdigit() else None,
        site_down={"yes": True, "no": False}.get(answers.site_down or ""),
        show_scale=show_scale,
        suggest=suggests_while_typing(deps.desk),
        suggestions=suggestions_for(deps, answers.description),
        description_cut=cut,
    )


def suggestions_for(deps: Deps, description: str | None) -> tuple[dict[str, Any], ...]:
    """The articles listed under the form's description (none without a knowledge base)."""
    if not suggests_while_typing(deps.desk) or not (description or "").strip():
        return ()
    with deps.reading() as session:
        matches = live_suggestions(session, deps.desk, description)
    return tuple(modal_suggestions([match.as_record() for match in matches]))


def shown_suggestions(view: dict[str, Any]) -> str | None:
    """The text of a view's suggestion block (None: it lists no article). Compared by its
    words: Slack adds fields of its own to the blocks it stores."""
    for block in view.get("blocks") or []:
        if block.get("block_id") == BlockId.KB_MODAL_SUGGESTIONS:
            return str((block.get("text") or {}).get("text") or "")
    return None
