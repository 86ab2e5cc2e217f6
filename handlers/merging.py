"""The card's "Merge into another ticket…" and "Split into a new ticket…" overflow options and
the two modals they open.

The overflow menu has one listener (`handlers/actions.py`; Bolt stops at the first match), which
hands these two values here: the choice is acknowledged at once and whoever may not merge or split
is told why, privately; the modal opens in a lazy listener, as `views.open` needs the trigger
within three seconds of the press.
"""

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
    request_metadata,
)
from handlers.payloads import chosen_option, selected_value, view_values
from templates.edit_modal import edit_refusal
from templates.ids import ActionId, BlockId, CallbackId, MoreOption
from templates.merging import build_merge_modal, build_split_modal
from workflows.editing import (
    Form,
    ModalRequest,
    decode_modal_context,
)
from workflows.merging import (
    MergeResult,
    SplitResult,
    merge_form_for,
    split_form_for,
    submit_merge,
    submit_split,
)

_FORMS = {MoreOption.MERGE: Form.MERGE, MoreOption.SPLIT: Form.SPLIT}


def is_modal_option(body: dict[str, Any]) -> bool:
    """The overflow choice is Merge or Split (the others are handled by handlers/actions.py)."""
    return _form(body) is not None


def refuse_if_not_allowed_to(deps: Deps, body: dict[str, Any], context: Any) -> None:
    """Runs in the overflow's ack: tell a non-agent (or a customer) why nothing opens."""
    refuse_press(deps, more_request(body, home_team=context.team_id))


def open_modal(deps: Deps, body: dict[str, Any], client: WebClient, context: Any) -> None:
    """Runs after the ack (a lazy listener): the Merge or Split modal, for agents only."""
    request = more_request(body, home_team=context.team_id)
    if request is None:
        return
    desk = deps.desk
    metadata = request_metadata(request)
    with deps.transaction() as session:
        if request.form == Form.MERGE:
            merge = merge_form_for(session, desk, request)
            view = build_merge_modal(merge, private_metadata=metadata) if merge else None
        else:
            split = split_form_for(session, desk, request)
            view = (
                build_split_modal(split, tz=desk.config.tz, private_metadata=metadata)
                if split
                else None
            )
    if view is not None:
        open_view(client, body, view, ticket_id=request.ticket_id)


def register(app: App, deps: Deps) -> None:
    def submission(form: Form, block_id: str, action_id: str) -> Any:
        """The Merge or Split modal's submission: the chosen option goes to its workflow."""

        def handle(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: Any) -> None:
            modal = decode_modal_context(view.get("private_metadata"))
            if modal is None:
                ack()
                return
            values = view_values(view)
            chosen = selected_value(values, block_id, action_id)
            # Merge chooses the target ticket, Split the message to split off.
            submit, field = (submit_merge, "target") if form == Form.MERGE else (submit_split, "ts")
            with deps.transaction(request=body) as session:
                result = submit(
                    session,
                    deps.desk,
                    ticket_id=modal.ticket_id,
                    **{field: chosen},
                    agent=body["user"]["id"],
                    agent_is_external=actor_is_external(body, home_team=context.team_id),
                    at=deps.desk.clock.now(),  # a submission carries no action_ts
                )
            _answer(ack, block_id, form, modal.ticket_id, result)

        return handle

    app.view(CallbackId.MERGE_MODAL)(
        submission(Form.MERGE, BlockId.MERGE_TARGET, ActionId.MERGE_TARGET)
    )
    app.view(CallbackId.SPLIT_MODAL)(
        submission(Form.SPLIT, BlockId.SPLIT_MESSAGE, ActionId.SPLIT_MESSAGE)
    )


def _answer(
    ack: Ack, block_id: str, form: Form, ticket_id: int, result: MergeResult | SplitResult
) -> None:
    """Close the modal when it worked; else say why under the select (plain text)."""
    if result.refusal is not None:
        text = edit_refusal(result.refusal.value, ref=f"#{ticket_id}", form=form.value)["text"]
        ack(response_action="errors", errors={block_id: text})
    elif result.error is not None:
        ack(response_action="errors", errors={block_id: result.error})
    else:
        ack()


# --- parsing ---------------------------------------------------------------------------------


def _form(body: dict[str, Any]) -> Form | None:
    value = chosen_option(body)
    return next((form for prefix, form in _FORMS.items() if value.startswith(prefix)), None)


def more_request(body: dict[str, Any], *, home_team: str | None) -> ModalRequest | None:
    """A Merge or Split choice in a card's overflow menu ("merge:42"); None for anything else."""
    form = _form(body)
    return modal_request(body, form, home_team=home_team) if form is not None else None
