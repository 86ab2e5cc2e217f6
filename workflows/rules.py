"""Routing rules from `rules:` in the config, run on every new or edited ticket, then
auto-assignment.

A rule is `{if: {attribute: value or [values]}, then: {action: value}}`. Every test must hold;
a list means "any of these" and `text` means "any of these words appear". Rules run in order and
each sees what the earlier ones changed. A rule's channel notification goes out once per ticket,
however often the ticket is edited afterwards.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Ticket, TicketEvent, TicketTag
from storage.repositories import TicketRepository
from workflows.delivery import post_channel_notice, refresh_card
from workflows.desk import Desk
from workflows.sla import plan as plan_sla
from workflows.triage import assign_ticket, auto_assign
from workflows.vocabulary import ACTIVE_STATUSES, EventKind, Via, normalize_tag

if TYPE_CHECKING:
    from bot.config import Rule

SET_ACTIONS = (
    "priority",
    "issue_type",
    "internal_priority",
    "support_type",
    "client_priority",
    "product",
    "queue",
)
MAX_TAGS = 20


def ticket_facts(ticket: Ticket, desk: Desk) -> dict[str, set[str]]:
    """What a rule can test about a ticket, each as a set of lower-case values."""

    def one(value: Any) -> set[str]:
        return {str(value).lower()} if value not in (None, "") else set()

    return {
        "issue_type": one(ticket.issue_type),
        "priority": one(ticket.priority),
        "queue": one(ticket.queue),
        "customer": one(ticket.customer),
        "tier": one(ticket.customer_tier or desk.config.customer_tier(ticket.customer)),
        "product": one(ticket.product),
        "channel": one(ticket.source_channel),
        "internal_priority": one(ticket.internal_priority),
        "support_type": one(ticket.support_type),
        "client_priority": one(ticket.client_priority),
        "department": {d.lower() for d in ticket.departments or []},
        "tag": {t.tag for t in ticket.tags},
        "external": {"true" if ticket.requester_is_external else "false"},
    }


def rule_matches(rule: Rule, ticket: Ticket, desk: Desk) -> bool:
    facts = ticket_facts(ticket, desk)
    for key, wanted in rule.when.items():
        if key == "text":
            if not any(_has_words(ticket.description or "", words) for words in wanted):
                return False
        elif not facts.get(key, set()) & set(wanted):
            return False
    return True


def _has_words(text: str, words: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(words)}(?!\w)", text, re.IGNORECASE) is not None


def route_ticket(session: Session, desk: Desk, ticket: Ticket, *, at: datetime) -> list[int]:
    """Run the rules, then auto-assign: after a ticket opens or its attributes change."""
    if ticket.status not in ACTIVE_STATUSES:
        return []
    applied = apply_rules(session, desk, ticket, at=at)
    auto_assign(session, desk, ticket, at=at)
    # Its priority, queue or tier may be new: the SLA due times follow.
    plan_sla(session, desk, ticket, at=at, retarget=True)
    return applied


def apply_rules(session: Session, desk: Desk, ticket: Ticket, *, at: datetime) -> list[int]:
    """Run every rule on `ticket`; returns the indexes of the rules that changed something."""
    if not desk.config.rules:
        return []  # the common case: no query for past notifications
    applied: list[int] = []
    notified = _rules_notified(session, ticket.id)
    for index, rule in enumerate(desk.config.rules):
        if not rule_matches(rule, ticket, desk):
            continue
        changes = _apply(session, desk, ticket, rule, at=at)
        notify = [] if index in notified else list(rule.then.get("notify", ()))
        for channel in notify:
            post_channel_notice(
                session, ticket, "rule_matched", channel=channel, now=desk.clock.now()
            )
        if changes or notify:
            TicketRepository(session).log(
                ticket,
                EventKind.RULE_APPLIED,
                at=at,
                data={"rule": index, "changes": changes, "notified": notify},
            )
            applied.append(index)
    if applied:
        refresh_card(session, ticket, now=desk.clock.now())
    return applied


def _apply(
    session: Session, desk: Desk, ticket: Ticket, rule: Rule, *, at: datetime
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for key in SET_ACTIONS:
        value = rule.then.get(key)
        if value is not None and getattr(ticket, key) != value:
            changes[key] = {"from": getattr(ticket, key), "to": value}
            setattr(ticket, key, value)
    added = add_tags(session, ticket, rule.then.get("tags", ()))
    if added:
        changes["tags"] = added
    if changes:
        ticket.updated_at = max(ticket.updated_at, at)
        session.flush()
    assignee = rule.then.get("assign")
    if assignee and ticket.assignee is None:
        if assignee == "auto":
            if auto_assign(session, desk, ticket, at=at):
                changes["assignee"] = ticket.assignee
        elif (
            assign_ticket(
                session,
                desk,
                ticket,
                assignee,
                at=at,
                by=None,
                via=Via.RULE,
                only_if_unassigned=True,
            )
            is None
        ):
            changes["assignee"] = assignee
    return changes


def add_tags(session: Session, ticket: Ticket, tags: Any) -> list[str]:
    """Add tags not already there (normalized, at most MAX_TAGS); returns those added."""
    have = {t.tag for t in ticket.tags}
    added: list[str] = []
    for raw in tags:
        tag = normalize_tag(str(raw))
        if tag and tag not in have and len(have) < MAX_TAGS:
            ticket.tags.append(TicketTag(tag=tag))
            have.add(tag)
            added.append(tag)
    return added


def _rules_notified(session: Session, ticket_id: int) -> set[int]:
    events = session.scalars(
        select(TicketEvent).where(
            TicketEvent.ticket_id == ticket_id, TicketEvent.kind == EventKind.RULE_APPLIED
        )
    ).all()
    return {int(e.data.get("rule", -1)) for e in events if e.data.get("notified")}
