"""Block Kit ids, shared by the templates that render them and the handlers that listen for them."""

from __future__ import annotations

from enum import StrEnum


class CallbackId(StrEnum):
    INTAKE_MODAL = "intake_modal"
    CREATE_TICKET_SHORTCUT = "create_ticket"
    EDIT_MODAL = "edit_ticket_modal"
    NOTE_MODAL = "note_modal"
    DETAILS_MODAL = "ticket_details_modal"
    REPLY_SHORTCUT = "reply_to_customer"
    REPLY_MODAL = "reply_to_customer_modal"
    MERGE_MODAL = "merge_ticket_modal"
    SPLIT_MODAL = "split_ticket_modal"


class BlockId(StrEnum):
    ISSUE_TYPE = "issue_type"
    PRIORITY = "priority"
    PRODUCT = "product"
    DESCRIPTION = "description"
    USERS_AFFECTED = "users_affected"
    SITE_DOWN = "site_down"
    TICKET_ACTIONS = "ticket_actions"
    NOTE = "note"
    INTERNAL_PRIORITY = "internal_priority"
    DEPARTMENTS = "departments"
    SUPPORT_TYPE = "support_type"
    CLIENT_PRIORITY = "client_priority"
    TAGS = "tags"
    REPLY = "reply"
    MERGE_TARGET = "merge_target"
    SPLIT_MESSAGE = "split_message"


class ActionId(StrEnum):
    ISSUE_TYPE = "issue_type_select"
    PRIORITY = "priority_select"
    PRODUCT = "product_input"
    DESCRIPTION = "description_input"
    USERS_AFFECTED = "users_affected_input"
    SITE_DOWN = "site_down_choice"
    # Card and App Home buttons; each carries the ticket id as its value.
    CLAIM = "ticket_claim"
    UNCLAIM = "ticket_unclaim"
    REASSIGN = "ticket_reassign"
    RESOLVE = "ticket_resolve"
    REOPEN = "ticket_reopen"
    WAITING = "ticket_waiting"
    EDIT = "ticket_edit"
    NOTE = "ticket_note"
    OPEN = "ticket_open"
    MORE = "ticket_more"
    NOTE_INPUT = "note_input"
    INTERNAL_PRIORITY = "internal_priority_select"
    DEPARTMENTS = "departments_select"
    SUPPORT_TYPE = "support_type_select"
    CLIENT_PRIORITY = "client_priority_select"
    TAGS = "tags_input"
    REPLY = "ticket_reply_to_customer"
    REPLY_INPUT = "reply_input"
    MERGE_TARGET = "merge_target_select"
    SPLIT_MESSAGE = "split_message_select"


class MoreOption(StrEnum):
    """Prefixes of the card's overflow-menu values ("unclaim:42"): the menu has one action id."""

    UNCLAIM = "unclaim:"
    WAIT = "wait:"
    MERGE = "merge:"
    SPLIT = "split:"
