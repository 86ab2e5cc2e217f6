"""The intake modal: live updates of its conditional fields, and its submission."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.deps import Deps
from handlers.payloads import intake_answers
from templates.ids import ActionId, CallbackId
from templates.modals import IntakeForm, build_intake_modal
from workflows.intake import (
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
        view = body["view"]
        answers = intake_answers(view)
        show = needs_scale(answers.issue_type, answers.priority)
        if show == answers.scale_shown:
            return
        updated = build_intake_modal(
            _form(answers, deps, show_scale=show),
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
                    _form(answers, deps, show_scale=True),
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
        with deps.transaction() as session:
            open_from_modal(session, deps.desk, request)
        ack()

    app.action(ActionId.ISSUE_TYPE)(ack=ack_modal_action, lazy=[refresh_intake_modal])
    app.action(ActionId.PRIORITY)(ack=ack_modal_action, lazy=[refresh_intake_modal])
    app.view(CallbackId.INTAKE_MODAL)(handle_intake_submission)


def _form(answers: Any, deps: Deps, *, show_scale: bool) -> IntakeForm:
    users = (answers.users_affected or "").strip()
    return IntakeForm(
        priority=answers.priority or deps.desk.config.default_priority,
        issue_type=answers.issue_type,
        product=answers.product,
        description=answers.description,
        users_affected=int(users) if users.isdigit() else None,
        site_down={"yes": True, "no": False}.get(answers.site_down or ""),
        show_scale=show_scale,
    )
