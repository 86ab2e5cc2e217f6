"""Agents editing a ticket's attributes (the Edit modal) and opening the Internal note modal.

Only agents may do either; anyone else who presses Edit or Internal note is told why, privately,
and gets no modal. An edit is applied as one change: the attributes that differ, ONE `edited` event
with each field's `from` and `to`, the tag set replaced, the routing rules run again and the card
refreshed. Nothing is logged and nothing is posted when the form changed nothing.

The modal carries a fingerprint of each value it opened with, so a submission only applies the
fields the agent actually changed: two agents editing one ticket at once, or a rule that changed
it meanwhile, don't have their work silently undone by a form's stale values.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from storage.models import Ticket, TicketTag
from storage.repositories import EscalationRepository, TicketRepository
from workflows.agents import is_agent
from workflows.delivery import Notice, Wording, refresh_card, tell_privately
from workflows.desk import Desk
from workflows.feature_requests import file_feature_request
from workflows.intake import MAX_PRODUCT, MAX_USERS_AFFECTED
from workflows.rules import MAX_TAGS, normalize_tag, route_ticket
from workflows.triage import MAX_NOTE, Refusal
from workflows.vocabulary import (
    LIVE_ESCALATION_STATES,
    EscalationKind,
    EventKind,
    IssueType,
    Priority,
    TicketStatus,
    Via,
)

if TYPE_CHECKING:
    from bot.config import DeskConfig

MAX_TAG = 64  # the size of ticket_tags.tag
# The attributes an edit can change, in the order they are shown and logged.
FIELDS = (
    "issue_type",
    "priority",
    "internal_priority",
    "product",
    "departments",
    "users_affected",
    "site_down",
    "support_type",
    "client_priority",
    "tags",
)


class Form(StrEnum):
    """Which agent modal a card button opens."""

    EDIT = "edit"
    NOTE = "note"
    REPLY = "reply"  # Reply to customer
    MERGE = "merge"
    SPLIT = "split"
    ESCALATE = "escalate"
    ENGINEERING_REPLY = "engineering_reply"  # Reply to engineering
    DE_ESCALATE = "de_escalate"
    ASK = "ask_customer"  # Ask customer: a question to the requester, then wait for them


@dataclass(frozen=True)
class ModalRequest:
    """Someone pressed Edit or Internal note on a ticket's card."""

    form: Form
    ticket_id: int
    user: str
    user_is_external: bool = False
    # Where the card is: refusals and confirmations are said there, to the presser only.
    reply_channel: str | None = None
    reply_thread_ts: str | None = None


@dataclass(frozen=True)
class ModalContext:
    """What a modal's private_metadata carries from the press to the submission."""

    ticket_id: int
    channel: str | None = None
    thread_ts: str | None = None
    opened: Mapping[str, str] = field(default_factory=dict)  # field -> fingerprint


@dataclass(frozen=True)
class EditAnswers:
    """The Edit modal's answers as Slack sends them, before validation (None: left empty)."""

    issue_type: str | None = None
    priority: str | None = None
    internal_priority: str | None = None
    product: str | None = None
    departments: tuple[str, ...] = ()
    users_affected: str | None = None
    site_down: str | None = None
    support_type: str | None = None
    client_priority: str | None = None
    tags: str | None = None


@dataclass(frozen=True)
class TicketEdit:
    """A ticket's attributes as they should be after the edit (None clears one)."""

    ticket_id: int
    priority: Priority
    issue_type: IssueType | None = None
    internal_priority: str | None = None
    product: str | None = None
    departments: tuple[str, ...] = ()
    users_affected: int | None = None
    site_down: bool | None = None
    support_type: str | None = None
    client_priority: str | None = None
    tags: tuple[str, ...] = ()  # normalized


@dataclass(frozen=True)
class EditCheck:
    """Validation of the Edit modal: errors by field, or the edit to make."""

    errors: dict[str, str] = field(default_factory=dict)
    edit: TicketEdit | None = None


@dataclass(frozen=True)
class EditResult:
    done: bool
    ticket_id: int | None = None
    refusal: Refusal | None = None
    errors: dict[str, str] = field(default_factory=dict)
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class EditForm:
    """A ticket's attributes as the Edit modal shows them when it opens."""

    ticket_id: int
    ref: str
    priority: str
    issue_type: str | None = None
    internal_priority: str | None = None
    product: str | None = None
    departments: tuple[str, ...] = ()
    users_affected: int | None = None
    site_down: bool | None = None
    support_type: str | None = None
    client_priority: str | None = None
    tags: tuple[str, ...] = ()


# --- pressing Edit or Internal note -------------------------------------------------------------


def refuse_if_not_allowed(session: Session, desk: Desk, request: ModalRequest) -> Refusal | None:
    """Tell whoever may not open the modal why, privately; None when they may."""
    ticket = TicketRepository(session).get(request.ticket_id)
    refusal = _refusal(session, desk, ticket, request.user, request.user_is_external, request.form)
    if refusal is not None:
        facts = {"ref": f"#{request.ticket_id}", "form": request.form.value}
        _tell(session, desk, request, Notice(Wording.EDIT, refusal.value, facts))
    return refusal


def edit_form_for(session: Session, desk: Desk, request: ModalRequest) -> EditForm | None:
    """The Edit modal's content for an agent, from the ticket as it is now; None for anyone else
    (they were told by `refuse_if_not_allowed`)."""
    ticket = TicketRepository(session).get(request.ticket_id)
    if ticket is None or _refusal(
        session, desk, ticket, request.user, request.user_is_external, Form.EDIT
    ):
        return None
    return EditForm(
        ticket_id=ticket.id,
        ref=ticket.ref,
        priority=ticket.priority,
        issue_type=ticket.issue_type,
        internal_priority=ticket.internal_priority,
        product=ticket.product,
        departments=tuple(ticket.departments or ()),
        users_affected=ticket.users_affected,
        site_down=ticket.site_down,
        support_type=ticket.support_type,
        client_priority=ticket.client_priority,
        tags=tuple(sorted(t.tag for t in ticket.tags)),
    )


def may_open(session: Session, desk: Desk, request: ModalRequest) -> bool:
    """Whether the press's modal opens (the refusal is said by `refuse_if_not_allowed`)."""
    refusal = refusal_for(
        session,
        desk,
        request.ticket_id,
        request.user,
        user_is_external=request.user_is_external,
        form=request.form,
    )
    return refusal is None


def refusal_for(
    session: Session, desk: Desk, ticket_id: int, user: str, *, user_is_external: bool, form: Form
) -> Refusal | None:
    """Why `user` may not use `form` on the ticket now (checked again when a modal is submitted:
    things change while it is open)."""
    ticket = TicketRepository(session).get(ticket_id)
    return _refusal(session, desk, ticket, user, user_is_external, form)


def encode_modal_context(
    *, ticket_id: int, channel: str | None, thread_ts: str | None, form: EditForm | None = None
) -> str:
    """A modal's private_metadata (well under Slack's 3,000 characters: fingerprints, not
    values)."""
    data: dict[str, Any] = {"ticket": ticket_id, "channel": channel, "thread_ts": thread_ts}
    if form is not None:
        data["opened"] = {name: _fingerprint(name, getattr(form, name)) for name in FIELDS}
    return json.dumps(data, separators=(",", ":"))


def decode_modal_context(private_metadata: str | None) -> ModalContext | None:
    try:
        data = json.loads(private_metadata or "{}")
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("ticket"), int):
        return None
    opened = data.get("opened")
    return ModalContext(
        ticket_id=data["ticket"],
        channel=data.get("channel") if isinstance(data.get("channel"), str) else None,
        thread_ts=data.get("thread_ts") if isinstance(data.get("thread_ts"), str) else None,
        opened={str(k): str(v) for k, v in opened.items()} if isinstance(opened, dict) else {},
    )


# --- the Edit modal's submission ----------------------------------------------------------------


def submit_edit(
    session: Session,
    desk: Desk,
    answers: EditAnswers,
    *,
    context: ModalContext,
    editor: str,
    at: datetime,
    editor_is_external: bool = False,
) -> EditResult:
    """Check the answers against the ticket as it is now, then make the edit."""
    ticket = TicketRepository(session).get(context.ticket_id)
    refusal = _refusal(session, desk, ticket, editor, editor_is_external, Form.EDIT)
    if ticket is None or refusal is not None:
        return EditResult(False, context.ticket_id, refusal or Refusal.NO_TICKET)
    check = check_edit(answers, desk.config, ticket=ticket, opened=context.opened)
    if check.edit is None:
        return EditResult(False, ticket.id, errors=check.errors)
    return edit_ticket(
        session, desk, check.edit, editor=editor, at=at, editor_is_external=editor_is_external
    )


def check_edit(
    answers: EditAnswers,
    config: DeskConfig,
    *,
    ticket: Ticket,
    opened: Mapping[str, str] | None = None,
) -> EditCheck:
    """Validate the answers. A field whose answer is what the form opened with (per `opened`'s
    fingerprints) keeps the ticket's current value; the others must be valid, and a listed
    attribute one of the config's values or the value the ticket already has."""
    taxonomy = config.taxonomy
    current = _current(ticket)
    read: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in FIELDS:
        try:
            value = _READERS[name](getattr(answers, name))
        except ValueError as exc:
            errors[name] = str(exc)
            continue
        if opened and name in opened and opened[name] == _fingerprint(name, value):
            read[name] = current[name]  # untouched in the form: whatever it is now stays
            continue
        allowed: tuple[str, ...] | None = {
            "issue_type": tuple(item.value for item in IssueType),
            "priority": tuple(item.value for item in Priority),
            "internal_priority": taxonomy.internal_priorities,
            "product": config.products or None,
            "support_type": taxonomy.support_types,
            "client_priority": taxonomy.client_priorities,
        }.get(name)
        if name == "priority" and value is None:
            errors[name] = "Choose a priority."
        elif allowed is not None and value is not None and value not in (*allowed, current[name]):
            errors[name] = "Choose one of the listed values."
        elif name == "departments" and not set(value) <= {
            *taxonomy.departments,
            *current[name],
        }:
            errors[name] = "Choose departments from the list."
        else:
            read[name] = value
    if errors:
        return EditCheck(errors=errors)
    departments = [d for d in taxonomy.departments if d in read["departments"]]
    departments += [d for d in read["departments"] if d not in departments]
    edit = TicketEdit(
        ticket_id=ticket.id,
        priority=Priority(read["priority"]),
        issue_type=IssueType(read["issue_type"]) if read["issue_type"] else None,
        internal_priority=read["internal_priority"],
        product=read["product"],
        departments=tuple(departments),
        users_affected=read["users_affected"],
        site_down=read["site_down"],
        support_type=read["support_type"],
        client_priority=read["client_priority"],
        tags=tuple(read["tags"]),
    )
    return EditCheck(edit=edit)


def edit_ticket(
    session: Session,
    desk: Desk,
    edit: TicketEdit,
    *,
    editor: str,
    at: datetime,
    editor_is_external: bool = False,
    via: Via = Via.MODAL,
) -> EditResult:
    """Make the ticket's attributes what `edit` says: one `edited` event with what changed, the
    tags replaced, the rules run again and the card refreshed. Closed tickets stay as they are.
    A ticket whose type becomes feature request goes to the feature-request board (`via`: the
    Edit modal, or the card's Feature request button)."""
    ticket = TicketRepository(session).get(edit.ticket_id)
    refusal = _refusal(session, desk, ticket, editor, editor_is_external, Form.EDIT)
    if ticket is None or refusal is not None:
        return EditResult(False, edit.ticket_id, refusal or Refusal.NO_TICKET)
    wanted = _wanted(edit)
    before = _current(ticket)
    changes = {
        name: {"from": _logged(before[name]), "to": _logged(wanted[name])}
        for name in FIELDS
        if _fingerprint(name, before[name]) != _fingerprint(name, wanted[name])
    }
    if not changes:
        return EditResult(True, ticket.id)
    for name in changes:
        if name == "tags":
            _replace_tags(ticket, wanted["tags"])
        elif name == "departments":
            ticket.departments = list(wanted["departments"])
        else:
            setattr(ticket, name, wanted[name])
    ticket.updated_at = max(ticket.updated_at, at)
    session.flush()
    TicketRepository(session).log(
        ticket,
        EventKind.EDITED,
        at=at,
        actor=editor,
        data={"via": via.value, "changes": changes},
    )
    route_ticket(session, desk, ticket, at=at)
    refresh_card(session, ticket, now=desk.clock.now())
    if "issue_type" in changes and ticket.issue_type == IssueType.FEATURE_REQUEST:
        file_feature_request(session, desk, ticket, by=editor, at=at)
    return EditResult(True, ticket.id, changes=changes)


def edit_from(ticket: Ticket, **changes: Any) -> TicketEdit:
    """The edit that leaves `ticket` as it is but for `changes` (a button that sets one
    attribute goes through `edit_ticket` like the modal)."""
    wanted = {**_current(ticket), **changes}
    issue_type = wanted["issue_type"]
    return TicketEdit(
        ticket_id=ticket.id,
        priority=Priority(wanted["priority"]),
        issue_type=IssueType(issue_type) if issue_type else None,
        internal_priority=wanted["internal_priority"],
        product=wanted["product"],
        departments=tuple(wanted["departments"]),
        users_affected=wanted["users_affected"],
        site_down=wanted["site_down"],
        support_type=wanted["support_type"],
        client_priority=wanted["client_priority"],
        tags=tuple(wanted["tags"]),
    )


def check_note(text: str | None) -> dict[str, str]:
    """Errors of the Internal note modal by field; empty when the note can be added."""
    note = (text or "").strip()
    if not note:
        return {"note": "Write the note, or cancel."}
    if len(note) > MAX_NOTE:
        return {"note": f"Keep internal notes under {MAX_NOTE} characters."}
    return {}


# --- reading answers ---------------------------------------------------------------------------


def _text(raw: str | None) -> str | None:
    return (raw or "").strip() or None


def _product(raw: str | None) -> str | None:
    product = _text(raw)
    if product is not None and len(product) > MAX_PRODUCT:
        raise ValueError(f"Keep the product name under {MAX_PRODUCT} characters.")
    return product


def _users_affected(raw: str | None) -> int | None:
    text = _text(raw)
    if text is None:
        return None
    if not text.isdigit() or not 1 <= int(text) <= MAX_USERS_AFFECTED:
        raise ValueError(f"Enter a whole number of users from 1 to {MAX_USERS_AFFECTED:,}.")
    return int(text)


def _site_down(raw: str | None) -> bool | None:
    answer = _text(raw)
    if answer is None:
        return None
    if answer not in ("yes", "no"):
        raise ValueError("Choose yes or no.")
    return answer == "yes"


def _departments(raw: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(d.strip() for d in raw if d and d.strip()))


def _tags(raw: str | None) -> tuple[str, ...]:
    tags: dict[str, None] = {}
    for part in re.split(r"[,\n]", raw or ""):
        if not part.strip():
            continue
        if len(_unbounded_tag(part)) > MAX_TAG:
            raise ValueError(f"Keep each tag under {MAX_TAG} characters.")
        tag = normalize_tag(part)
        if tag:
            tags[tag] = None
    if len(tags) > MAX_TAGS:
        raise ValueError(f"Use at most {MAX_TAGS} tags.")
    return tuple(sorted(tags))


def _unbounded_tag(text: str) -> str:
    """`normalize_tag` without its cut at 64 characters: an edit refuses a long tag instead of
    storing a stump of it."""
    return "-".join(re.findall(r"[\w.+/-]+", text.lower())).strip("-")


_READERS: dict[str, Any] = {
    "issue_type": _text,
    "priority": _text,
    "internal_priority": _text,
    "product": _product,
    "departments": _departments,
    "users_affected": _users_affected,
    "site_down": _site_down,
    "support_type": _text,
    "client_priority": _text,
    "tags": _tags,
}


# --- internals ---------------------------------------------------------------------------------


def _refusal(
    session: Session,
    desk: Desk,
    ticket: Ticket | None,
    user: str,
    user_is_external: bool,
    form: Form,
) -> Refusal | None:
    if ticket is None:
        return Refusal.NO_TICKET
    if user_is_external:
        return Refusal.EXTERNAL
    if not is_agent(session, desk, user):
        return Refusal.NOT_AGENT
    if form == Form.REPLY and not ticket.bridged:
        return Refusal.NOT_CUSTOMER_TICKET
    if ticket.merged_into_id is not None and form != Form.NOTE:
        return Refusal.MERGED
    if form != Form.NOTE and ticket.status == TicketStatus.CLOSED:
        return Refusal.CLOSED
    if form == Form.ASK and ticket.status == TicketStatus.RESOLVED:
        return Refusal.ALREADY_RESOLVED
    if form == Form.ESCALATE:
        if ticket.status == TicketStatus.RESOLVED:
            return Refusal.ALREADY_RESOLVED
        if not desk.config.escalation_targets():
            return Refusal.NO_ESCALATION_TARGETS
    if form in (Form.ENGINEERING_REPLY, Form.DE_ESCALATE):
        live = EscalationRepository(session).for_ticket(ticket.id, states=LIVE_ESCALATION_STATES)
        if form == Form.ENGINEERING_REPLY:
            live = [e for e in live if e.kind == EscalationKind.ENGINEERING]
        if not live:
            return Refusal.NOT_ESCALATED
    return None


def _current(ticket: Ticket) -> dict[str, Any]:
    return {
        "issue_type": ticket.issue_type,
        "priority": ticket.priority,
        "internal_priority": ticket.internal_priority,
        "product": ticket.product,
        "departments": tuple(ticket.departments or ()),
        "users_affected": ticket.users_affected,
        "site_down": ticket.site_down,
        "support_type": ticket.support_type,
        "client_priority": ticket.client_priority,
        "tags": tuple(sorted(t.tag for t in ticket.tags)),
    }


def _wanted(edit: TicketEdit) -> dict[str, Any]:
    wanted = {name: getattr(edit, name) for name in FIELDS}
    wanted["priority"] = edit.priority.value
    wanted["issue_type"] = edit.issue_type.value if edit.issue_type else None
    wanted["tags"] = tuple(sorted({normalize_tag(t) for t in edit.tags} - {""}))
    return wanted


def _comparable(name: str, value: Any) -> Any:
    """What counts as "the same" for a field: lists regardless of order, "" as nothing."""
    if name in ("departments", "tags"):
        return sorted(value or ())
    if isinstance(value, StrEnum):
        return value.value
    return None if value == "" else value


def _fingerprint(name: str, value: Any) -> str:
    canonical = json.dumps(_comparable(name, value), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def _logged(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, StrEnum):
        return value.value
    return value


def _replace_tags(ticket: Ticket, tags: tuple[str, ...]) -> None:
    """Keep the rows of tags that stay (no delete and re-insert of one key), drop the rest."""
    for row in list(ticket.tags):
        if row.tag not in tags:
            ticket.tags.remove(row)
    have = {row.tag for row in ticket.tags}
    for tag in tags:
        if tag not in have:
            ticket.tags.append(TicketTag(tag=tag))


def _tell(session: Session, desk: Desk, request: ModalRequest, message: Notice) -> None:
    tell_privately(
        session,
        user=request.user,
        message=message,
        now=desk.clock.now(),
        channel=request.reply_channel,
        thread_ts=request.reply_thread_ts,
    )
