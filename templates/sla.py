"""SLA wording: the grouped alerts, the card's time-left line and the SLA digest.

Times are said twice: relative, as of rendering ("due in 18m", "breached 2h ago"), and absolute in
Slack's date syntax (the `slack_date` macro), which every reader's Slack shows in their own time
zone and which stays true however long the message stays on screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from templates.render import render_message
from workflows.sla_state import STOPPED_STATUSES
from workflows.vocabulary import (
    PRIORITY_LABELS,
    SLA_TARGET_LABELS,
    AlertLevel,
    Priority,
    SlaState,
    SlaTarget,
)

if TYPE_CHECKING:
    from storage.models import Ticket
    from workflows.sla import Alert
    from workflows.sla_digest import SlaDigest

# How many alerts one grouped message lists; the rest are counted.
MAX_ALERTS_LISTED = 20


def short_duration(delta: timedelta) -> str:
    """`2h 5m`, `18m`, `3d 4h`, `40s`: the two largest units, compact for a card line."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return " ".join(parts[:2])


def date_parts(moment: datetime, tz: ZoneInfo) -> dict[str, Any]:
    """What the `slack_date` macro needs: the Unix time and a fallback in the desk's zone."""
    return {
        "ts": int(moment.timestamp()),
        "fallback": moment.astimezone(tz).strftime("%a %d %b %H:%M %Z"),
    }


def relative(moment: datetime, now: datetime) -> str:
    """`in 18m` or `2h ago`."""
    if moment >= now:
        return f"in {short_duration(moment - now)}"
    return f"{short_duration(now - moment)} ago"


def clock_lines(
    ticket: Ticket, states: dict[SlaTarget, SlaState | None], *, now: datetime, tz: ZoneInfo
) -> list[dict[str, Any]]:
    """The card's time-left line, per target: met or late (how fast), due (when), breached (how
    long ago), paused."""
    lines: list[dict[str, Any]] = []
    stopped = ticket.status in STOPPED_STATUSES
    for target in SlaTarget:
        state = states.get(target)
        if target == SlaTarget.FIRST_RESPONSE:
            due, took = ticket.first_response_due_at, ticket.first_response_seconds
            finished = ticket.first_response_at is not None
        else:
            due, took = ticket.resolution_due_at, ticket.resolution_seconds
            finished = stopped
        if state is None or due is None or (stopped and not finished):
            continue
        if finished:
            kind = "late" if state == SlaState.BREACHED else "met"
        else:
            kind = {
                SlaState.BREACHED: "breached",
                SlaState.PAUSED: "paused",
                SlaState.WARNING: "warning",
            }.get(state, "due")
        lines.append(
            {
                "kind": kind,
                "label": SLA_TARGET_LABELS[target],
                "when": relative(due, now),
                "took": short_duration(timedelta(seconds=took)) if took is not None else None,
                "due": date_parts(due, tz),
            }
        )
    return lines


def _alert_view(alert: Alert, *, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "ref": alert.ref,
        "breach": alert.level == AlertLevel.BREACH,
        "target": SLA_TARGET_LABELS[alert.target],
        "when": relative(alert.due_at, now),
        "due": date_parts(alert.due_at, tz),
        "priority": PRIORITY_LABELS.get(Priority(alert.priority), alert.priority),
        "queue": alert.queue,
        "assignee": alert.assignee,
        "customer": alert.customer,
        "link": alert.link,
    }


def sla_alert_message(
    alerts: Sequence[Alert], *, now: datetime, tz: ZoneInfo, personal: bool
) -> dict[str, Any]:
    """One grouped message for every alert of a sweep: breaches first, then warnings."""
    ordered = sorted(alerts, key=lambda a: (a.level != AlertLevel.BREACH, a.due_at, a.ticket_id))
    breaches = sum(1 for a in alerts if a.level == AlertLevel.BREACH)
    return render_message(
        "sla_alert.json.j2",
        alerts=[_alert_view(a, now=now, tz=tz) for a in ordered[:MAX_ALERTS_LISTED]],
        more=max(0, len(ordered) - MAX_ALERTS_LISTED),
        breaches=breaches,
        warnings=len(alerts) - breaches,
        personal=personal,
    )


def _pct(value: float | None) -> str:
    return "no tickets" if value is None else f"{value:g}%"


def sla_digest_message(digest: SlaDigest, *, tz: ZoneInfo) -> dict[str, Any]:
    """The SLA digest: the headline numbers first (they are the notification's text)."""
    last_day = digest.until - timedelta(microseconds=1)
    period = f"{digest.since.astimezone(tz):%a %d %b} – {last_day.astimezone(tz):%a %d %b %Y}"
    rows = [
        {
            "label": a.label,
            "opened": a.opened,
            "first": _pct(a.first_pct),
            "first_counts": f"{a.first_met}/{a.first_met + a.first_missed}",
            "resolution": _pct(a.resolution_pct),
            "resolution_counts": f"{a.resolution_met}/{a.resolution_met + a.resolution_missed}",
        }
        for a in digest.attainment
    ]
    return render_message(
        "sla_digest.json.j2",
        period=period,
        opened=digest.opened,
        first=_pct(digest.first_pct),
        resolution=_pct(digest.resolution_pct),
        rows=rows,
        buckets=digest.buckets,
        breached=digest.breached[:MAX_ALERTS_LISTED],
        breached_more=max(0, len(digest.breached) - MAX_ALERTS_LISTED),
        at_risk=digest.at_risk[:MAX_ALERTS_LISTED],
        at_risk_more=max(0, len(digest.at_risk) - MAX_ALERTS_LISTED),
    )
