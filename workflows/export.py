"""`supportbot export`: every ticket as one row, in the contract's fields and order."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy.orm import Session

from storage.models import Ticket
from storage.repositories import TicketRepository
from workflows.sla_state import sla_state

EXPORT_FIELDS = (
    "id",
    "ref",
    "status",
    "priority",
    "issue_type",
    "queue",
    "customer",
    "requester",
    "assignee",
    "channel",
    "thread_ts",
    "created_at",
    "first_response_at",
    "resolved_at",
    "escalated",
    "csat",
    "tags",
    "first_response_due_at",
    "resolution_due_at",
    "sla_state",
)


def iso_utc(moment: datetime | None) -> str:
    """ISO 8601 in UTC with a `Z`, or empty: what spreadsheets and `date -d` both read."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def export_record(ticket: Ticket, *, now: datetime | None = None) -> dict[str, Any]:
    """One ticket's fields; `sla_state` as of `now` (else as the last sweep left it)."""
    state = sla_state(ticket, now=now) if now is not None else ticket.sla_state
    return {
        "id": ticket.id,
        "ref": ticket.ref,
        "status": ticket.status,
        "priority": ticket.priority,
        "issue_type": ticket.issue_type or "",
        "queue": ticket.queue,
        "customer": ticket.customer or "",
        "requester": ticket.requester,
        "assignee": ticket.assignee or "",
        "channel": ticket.source_channel or "",
        "thread_ts": ticket.thread_ts or "",
        "created_at": iso_utc(ticket.created_at),
        "first_response_at": iso_utc(ticket.first_response_at),
        "resolved_at": iso_utc(ticket.resolved_at),
        "escalated": bool(ticket.escalated),
        "csat": ticket.csat or "",
        "tags": [tag.tag for tag in ticket.tags],
        "first_response_due_at": iso_utc(ticket.first_response_due_at),
        "resolution_due_at": iso_utc(ticket.resolution_due_at),
        "sla_state": state or "",
    }


def export_records(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> Iterator[dict[str, Any]]:
    """Tickets created in `[since, until)`, oldest first."""
    for ticket in TicketRepository(session).list_created_between(since, until):
        yield export_record(ticket, now=now)


def write_jsonl(records: Iterable[dict[str, Any]], out: IO[str]) -> int:
    count = 0
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count


def write_csv(records: Iterable[dict[str, Any]], out: IO[str]) -> int:
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for record in records:
        row = dict(record)
        row["escalated"] = "true" if record["escalated"] else "false"
        row["tags"] = ";".join(record["tags"])
        writer.writerow(row)
        count += 1
    return count
