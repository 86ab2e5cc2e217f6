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
    ESCALATE_MODAL = "escalate_ticket_modal"
    ENGINEERING_REPLY_SHORTCUT = "reply_to_engineering"
    ENGINEERING_REPLY_MODAL = "reply_to_engineering_modal"
    DE_ESCALATE_MODAL = "de_escalate_modal"
    ASK_MODAL = "ask_customer_modal"
    CSAT_COMMENT_MODAL = "csat_comment_modal"
    SUGGEST_ARTICLE_MODAL = "suggest_article_modal"
    SHIP_FEATURE_REQUEST_MODAL = "ship_feature_request_modal"


class BlockId(StrEnum):
    ISSUE_TYPE = "issue_type"
    PRIORITY = "priority"
    PRODUCT = "product"
    DESCRIPTION = "description"
    DESCRIPTION_CUT = "description_cut"  # the intake modal's line saying the text was cut
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
    ESCALATION_TARGET = "escalation_target"
    SEVERITY = "severity"
    SUMMARY = "summary"
    STEPS = "steps"
    SCALE = "scale"
    TRIED = "tried"
    ESCALATION_ACTIONS = "escalation_actions"
    ENGINEERING_ESCALATION = "engineering_escalation"
    ENGINEERING_REPLY = "engineering_reply"
    DE_ESCALATE = "de_escalate"
    DE_ESCALATE_NOTE = "de_escalate_note"
    CSAT_RATING = "csat_rating"
    CSAT_COMMENT = "csat_comment"
    # Knowledge base: the suggestion's buttons, the intake modal's live suggestions, and the
    # Suggest article modal's picker and search.
    KB_SUGGESTION = "kb_suggestion"
    KB_MODAL_SUGGESTIONS = "kb_modal_suggestions"
    ARTICLE = "article"
    ARTICLE_SEARCH = "article_search"
    ARTICLE_MESSAGE = "article_message"  # Suggest article: a line to the requester
    # Feature requests: the board card's status menu, the duplicate offer, the release note.
    FEATURE_REQUEST = "feature_request"
    FEATURE_REQUEST_OFFER = "feature_request_offer"
    RELEASE_NOTE = "release_note"


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
    ASK_CUSTOMER = "ticket_ask_customer"
    MERGE_TARGET = "merge_target_select"
    SPLIT_MESSAGE = "split_message_select"
    ESCALATE = "ticket_escalate"
    REPLY_TO_ENGINEERING = "ticket_reply_to_engineering"
    ESCALATION_TARGET = "escalation_target_select"
    SEVERITY = "severity_select"
    SUMMARY = "summary_input"
    STEPS = "steps_input"
    SCALE = "scale_input"
    TRIED = "tried_input"
    # The escalation card's buttons in the engineering channel; each carries the escalation id.
    ESCALATION_TAKE = "escalation_take"
    ESCALATION_NEED_INFO = "escalation_need_info"
    ESCALATION_FIXED = "escalation_fixed"
    ENGINEERING_ESCALATION = "engineering_escalation_select"
    ENGINEERING_REPLY = "engineering_reply_input"
    DE_ESCALATE = "de_escalate_choices"
    DE_ESCALATE_NOTE = "de_escalate_note_input"
    # The CSAT survey: one button per rating (a block's action ids must differ), each carrying
    # "<survey id>:<rating>"; the answered message's "Change answer" menu and "Add a comment".
    CSAT_EXTREMELY_SATISFIED = "csat_extremely_satisfied"
    CSAT_SATISFIED = "csat_satisfied"
    CSAT_UNSATISFIED = "csat_unsatisfied"
    CSAT_EXTREMELY_UNSATISFIED = "csat_extremely_unsatisfied"
    CSAT_CHANGE = "csat_change"
    CSAT_COMMENT = "csat_comment"
    CSAT_COMMENT_INPUT = "csat_comment_input"
    # A suggestion's buttons in the requester's thread; each carries the suggestion id.
    SUGGESTION_SOLVED = "kb_suggestion_solved"
    SUGGESTION_UNHELPFUL = "kb_suggestion_unhelpful"
    # The card's knowledge-base buttons (ticket id as value) and the Suggest article modal.
    SUGGEST_ARTICLE = "ticket_suggest_article"
    SAVE_ARTICLE = "ticket_save_article"
    ARTICLE_SELECT = "article_select"
    ARTICLE_SEARCH_INPUT = "article_search_input"
    ARTICLE_MESSAGE_INPUT = "article_message_input"
    # Feature requests: the card's button (ticket id), the board card's status menu (value
    # "<request id>:<status>"), the duplicate offer's Link ("<ticket id>:<request id>") and New
    # request (ticket id), the Shipped modal's release note.
    MARK_FEATURE_REQUEST = "ticket_feature_request"
    FEATURE_REQUEST_STATUS = "feature_request_status"
    FEATURE_REQUEST_LINK = "feature_request_link"
    FEATURE_REQUEST_NEW = "feature_request_new"
    RELEASE_NOTE_INPUT = "release_note_input"


class MoreOption(StrEnum):
    """Prefixes of the card's overflow-menu values ("unclaim:42"): the menu has one action id."""

    UNCLAIM = "unclaim:"
    WAIT = "wait:"
    MERGE = "merge:"
    SPLIT = "split:"
    DE_ESCALATE = "deescalate:"
