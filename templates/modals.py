"""Builders of modal views, pure functions from plain data to a view payload."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from templates.ids import ActionId, BlockId, CallbackId
from templates.render import MAX_PLAIN_INPUT, render_view
from workflows.vocabulary import ISSUE_TYPE_LABELS, PRIORITY_LABELS


@dataclass(frozen=True)
class IntakeForm:
    """What the intake modal shows: the requester's answers so far."""

    priority: str
    issue_type: str | None = None
    product: str | None = None
    description: str | None = None
    users_affected: int | None = None
    site_down: bool | None = None
    show_scale: bool = False
    # A knowledge base answers while the requester types: the description dispatches its
    # action, and the articles that may answer (templates.knowledge.modal_suggestions) follow it.
    suggest: bool = False
    suggestions: tuple[dict[str, Any], ...] = ()
    # The text typed after /support was longer than the description holds: the form keeps its
    # start and says so (kept through the form's updates).
    description_cut: bool = False


INTAKE_IDS = {
    "callback": CallbackId.INTAKE_MODAL,
    "issue_type_block": BlockId.ISSUE_TYPE,
    "issue_type_action": ActionId.ISSUE_TYPE,
    "priority_block": BlockId.PRIORITY,
    "priority_action": ActionId.PRIORITY,
    "product_block": BlockId.PRODUCT,
    "product_action": ActionId.PRODUCT,
    "description_block": BlockId.DESCRIPTION,
    "description_action": ActionId.DESCRIPTION,
    "description_cut_block": BlockId.DESCRIPTION_CUT,
    "users_affected_block": BlockId.USERS_AFFECTED,
    "users_affected_action": ActionId.USERS_AFFECTED,
    "site_down_block": BlockId.SITE_DOWN,
    "site_down_action": ActionId.SITE_DOWN,
    "suggestions_block": BlockId.KB_MODAL_SUGGESTIONS,
}


def build_intake_modal(
    form: IntakeForm, *, products: tuple[str, ...], private_metadata: str
) -> dict[str, Any]:
    """A description longer than the field's `max_length` is cut to it (Slack refuses a view
    whose initial value is longer, and so would the desk's own check of the submission)."""
    if form.description and len(form.description) > MAX_PLAIN_INPUT:
        cut = form.description[:MAX_PLAIN_INPUT].rstrip()
        form = replace(form, description=cut, description_cut=True)
    return render_view(
        "intake_modal.json.j2",
        form=asdict(form),
        products=list(products),
        issue_types=[(str(k), v) for k, v in ISSUE_TYPE_LABELS.items()],
        priorities=[(str(k), v) for k, v in PRIORITY_LABELS.items()],
        ids={key: str(value) for key, value in INTAKE_IDS.items()},
        private_metadata=private_metadata,
        max_description=MAX_PLAIN_INPUT,
    )
