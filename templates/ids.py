"""Block Kit ids, shared by the templates that render them and the handlers that listen for them."""

from __future__ import annotations

from enum import StrEnum


class CallbackId(StrEnum):
    INTAKE_MODAL = "intake_modal"
    CREATE_TICKET_SHORTCUT = "create_ticket"


class BlockId(StrEnum):
    ISSUE_TYPE = "issue_type"
    PRIORITY = "priority"
    PRODUCT = "product"
    DESCRIPTION = "description"
    USERS_AFFECTED = "users_affected"
    SITE_DOWN = "site_down"


class ActionId(StrEnum):
    ISSUE_TYPE = "issue_type_select"
    PRIORITY = "priority_select"
    PRODUCT = "product_input"
    DESCRIPTION = "description_input"
    USERS_AFFECTED = "users_affected_input"
    SITE_DOWN = "site_down_choice"
