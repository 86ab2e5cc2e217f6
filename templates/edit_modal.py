"""Builders of the agent's Edit and Internal note modals, and of what a refused press is told.

Pure functions from plain data to a view or message payload. The Edit modal lists each attribute's
values from the config; a ticket's current value that the config no longer lists is offered too,
since Slack rejects a view whose `initial_option` is not among its options.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from templates.ids import ActionId, BlockId, CallbackId
from templates.render import MAX_PLAIN_INPUT, render_message, render_view
from workflows.editing import EditForm
from workflows.intake import MAX_PRODUCT, MAX_USERS_AFFECTED
from workflows.triage import MAX_NOTE
from workflows.vocabulary import ISSUE_TYPE_LABELS, PRIORITY_LABELS

if TYPE_CHECKING:
    from bot.config import DeskConfig

# The option that empties an optional select: once a static_select has a choice, Slack gives the
# person no way to deselect it, so "clear this" has to be a choice of its own.
NOT_SET = "__not_set__"
MAX_OPTIONS = 100  # Slack's limit for a static_select's options
SITE_DOWN_OPTIONS = (("yes", "Yes, the site is down"), ("no", "No, it is up"))


@dataclass(frozen=True)
class _Field:
    """One input block of the Edit modal, as the template renders it."""

    block_id: str
    action_id: str
    label: str
    kind: str  # select, multi, number or text
    initial: Any = None
    options: tuple[tuple[str, str], ...] = ()
    optional: bool = True
    placeholder: str = "Choose…"
    hint: str | None = None
    max_length: int = MAX_PLAIN_INPUT
    min_value: int = 1
    max_value: int = MAX_USERS_AFFECTED


def build_edit_modal(
    form: EditForm, config: DeskConfig, *, private_metadata: str
) -> dict[str, Any]:
    taxonomy = config.taxonomy
    fields = [
        _select(
            BlockId.ISSUE_TYPE,
            ActionId.ISSUE_TYPE,
            "Issue type",
            [(str(k), v) for k, v in ISSUE_TYPE_LABELS.items()],
            form.issue_type,
        ),
        _select(
            BlockId.PRIORITY,
            ActionId.PRIORITY,
            "Priority",
            [(str(k), v) for k, v in PRIORITY_LABELS.items()],
            form.priority,
            required=True,
        ),
        _select(
            BlockId.INTERNAL_PRIORITY,
            ActionId.INTERNAL_PRIORITY,
            "Internal priority",
            _named(taxonomy.internal_priorities),
            form.internal_priority,
            clear_label="Not set",
        ),
        _product(form, config.products),
        _departments(form, taxonomy.departments),
        _Field(
            BlockId.USERS_AFFECTED,
            ActionId.USERS_AFFECTED,
            "Users affected",
            "number",
            initial=form.users_affected,
        ),
        _select(
            BlockId.SITE_DOWN,
            ActionId.SITE_DOWN,
            "Is the site down?",
            list(SITE_DOWN_OPTIONS),
            None if form.site_down is None else ("yes" if form.site_down else "no"),
            clear_label="Not known",
        ),
        _select(
            BlockId.SUPPORT_TYPE,
            ActionId.SUPPORT_TYPE,
            "Support type",
            _named(taxonomy.support_types),
            form.support_type,
            clear_label="Not set",
        ),
        _select(
            BlockId.CLIENT_PRIORITY,
            ActionId.CLIENT_PRIORITY,
            "Client priority",
            _named(taxonomy.client_priorities),
            form.client_priority,
            clear_label="Not set",
        ),
        _Field(
            BlockId.TAGS,
            ActionId.TAGS,
            "Tags",
            "text",
            initial=", ".join(form.tags),
            hint="Comma-separated, like: billing, export. Tags are saved in lower case.",
        ),
    ]
    return render_view(
        "edit_modal.json.j2",
        ref=form.ref,
        fields=[asdict(field) for field in fields if field is not None],
        ids={"callback": str(CallbackId.EDIT_MODAL)},
        private_metadata=private_metadata,
    )


def build_note_modal(*, ref: str, private_metadata: str) -> dict[str, Any]:
    return render_view(
        "note_modal.json.j2",
        ref=ref,
        ids={
            "callback": str(CallbackId.NOTE_MODAL),
            "note_block": str(BlockId.NOTE),
            "note_action": str(ActionId.NOTE_INPUT),
        },
        private_metadata=private_metadata,
        max_note=MAX_NOTE,
    )


def edit_refusal(notice: str, *, ref: str, form: str) -> dict[str, Any]:
    """Why Edit or Internal note did nothing (kinds in edit_refusal.json.j2); `form` is "edit" or
    "note"."""
    return render_message("edit_refusal.json.j2", notice=notice, ref=ref, form=form)


# --- fields ------------------------------------------------------------------------------------


def _named(values: Iterable[str]) -> list[tuple[str, str]]:
    return [(value, value) for value in values]


def _with_current(
    options: Sequence[tuple[str, str]], current: str | None, *, room: int
) -> list[tuple[str, str]]:
    """The listed options within `room`, plus `current` when the list no longer has it."""
    known = any(value == current for value, _ in options)
    extra = [(current, current)] if current and not known else []
    return [*options[: room - len(extra)], *extra]


def _select(
    block_id: str,
    action_id: str,
    label: str,
    options: Sequence[tuple[str, str]],
    current: str | None,
    *,
    required: bool = False,
    clear_label: str | None = None,
) -> _Field | None:
    room = MAX_OPTIONS - (1 if clear_label else 0)
    shown = _with_current(options, current, room=room)
    if not shown:
        return None  # nothing configured and nothing set: no question to ask
    if clear_label:
        shown.append((NOT_SET, clear_label))
    return _Field(
        block_id,
        action_id,
        label,
        "select",
        initial=current,
        options=tuple(shown),
        optional=not required,
    )


def _product(form: EditForm, products: Sequence[str]) -> _Field | None:
    if not products:
        return _Field(
            BlockId.PRODUCT,
            ActionId.PRODUCT,
            "Product",
            "text",
            initial=form.product,
            max_length=MAX_PRODUCT,
        )
    return _select(
        BlockId.PRODUCT,
        ActionId.PRODUCT,
        "Product",
        _named(products),
        form.product,
        clear_label="Not set",
    )


def _departments(form: EditForm, departments: Sequence[str]) -> _Field | None:
    extras = [d for d in form.departments if d not in departments]
    shown = [*departments[: MAX_OPTIONS - len(extras)], *extras]
    if not shown:
        return None
    return _Field(
        BlockId.DEPARTMENTS,
        ActionId.DEPARTMENTS,
        "Department CC",
        "multi",
        initial=list(form.departments),
        options=tuple(_named(shown)),
    )
