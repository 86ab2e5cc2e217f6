"""`supportbot export`: every ticket (or, `--kind feature-requests`, every request of the
feature-request board) as one row, in the contract's fields and order.

The CSV opens cleanly in a spreadsheet: RFC 4180 (CRLF line ends, quoted where needed), UTF-8,
tags in one cell ("billing;refund", as before), and no cell a spreadsheet would run as a
formula: free text that starts like one gets a leading `'` (OWASP's advice against CSV
injection), so a customer named `=HYPERLINK(...)` is shown, not run. Ids, times and vocabulary
values are written as they are. No byte-order mark unless asked (`export --bom`), so the first
bytes are the header's `id` for scripts; Excel on Windows wants one to read UTF-8.
JSON lines are the raw values, untouched (lists stay lists: tags, a request's requesters,
customers, tiers and tickets; the CSV joins them with ";").
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy.orm import Session

from storage.feature_requests import FeatureRequestRepository
from storage.models import FeatureRequest, Ticket
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
# Fields whose words come from people or config, not from the desk's own vocabulary or Slack ids:
# the ones a formula could hide in.
FREE_TEXT_FIELDS = frozenset({"issue_type", "queue", "customer", "requester", "assignee", "tags"})
FEATURE_REQUEST_FIELDS = (
    "id",
    "ref",
    "title",
    "product",
    "status",
    "requesters",
    "requester_ids",
    "customers",
    "tiers",
    "tickets",
    "created_at",
    "status_at",
    "shipped_at",
    "release_note",
)
# A request's lists: one cell each in the CSV, joined with ";" (as a ticket's tags).
FEATURE_REQUEST_LISTS = ("requester_ids", "customers", "tiers", "tickets")
FEATURE_REQUEST_FREE_TEXT = frozenset(
    {"title", "product", "release_note", "requester_ids", "customers", "tiers"}
)
# How a cell starts when a spreadsheet would evaluate it (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


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


def spreadsheet_safe(text: str) -> str:
    """Text a spreadsheet shows rather than runs: a would-be formula gets a leading `'`."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_row(record: dict[str, Any]) -> dict[str, str]:
    """One export record as CSV cells."""
    row = {key: "" if value is None else str(value) for key, value in record.items()}
    row["escalated"] = "true" if record["escalated"] else "false"
    row["tags"] = ";".join(record["tags"])
    for key in FREE_TEXT_FIELDS:
        row[key] = spreadsheet_safe(row[key])
    return row


def feature_request_record(request: FeatureRequest) -> dict[str, Any]:
    """One request's fields: distinct requesters (`requesters` counts them) and customers in the
    order they asked, each customer's tier at the same place in `tiers` ("" when it has none),
    and the refs of every ticket that asked."""
    links = list(request.links)
    requesters = list(dict.fromkeys(link.requester for link in links))
    tiers: dict[str, str] = {}
    for link in links:
        if link.customer:
            tiers[link.customer] = tiers.get(link.customer) or link.tier or ""
    return {
        "id": request.id,
        "ref": request.ref,
        "title": request.title,
        "product": request.product or "",
        "status": request.status,
        "requesters": len(requesters),
        "requester_ids": requesters,
        "customers": list(tiers),
        "tiers": list(tiers.values()),
        "tickets": [f"#{link.ticket_id}" for link in links],
        "created_at": iso_utc(request.created_at),
        "status_at": iso_utc(request.status_at),
        "shipped_at": iso_utc(request.shipped_at),
        "release_note": request.release_note or "",
    }


def feature_request_records(
    session: Session, *, since: datetime | None = None, until: datetime | None = None
) -> Iterator[dict[str, Any]]:
    """Requests created in `[since, until)`, oldest first."""
    for request in FeatureRequestRepository(session).created_between(since, until):
        yield feature_request_record(request)


def feature_request_csv_row(record: dict[str, Any]) -> dict[str, str]:
    """One request record as CSV cells."""
    row = {key: "" if value is None else str(value) for key, value in record.items()}
    for key in FEATURE_REQUEST_LISTS:
        row[key] = ";".join(record[key])
    for key in FEATURE_REQUEST_FREE_TEXT:
        row[key] = spreadsheet_safe(row[key])
    return row


def write_csv(
    records: Iterable[dict[str, Any]],
    out: IO[str],
    *,
    bom: bool = False,
    fields: Sequence[str] = EXPORT_FIELDS,
    to_row: Callable[[dict[str, Any]], dict[str, str]] = csv_row,
) -> int:
    """The header (`fields`), then one row per record (`to_row` makes its cells: tickets by
    default); `bom` starts the file with a UTF-8 byte-order mark (for Excel, which otherwise
    reads the bytes in the machine's legacy code page)."""
    if isinstance(out, io.TextIOWrapper):
        # stdout may be in a legacy encoding, or turn "\n" into "\r\n" (Windows): the file is
        # UTF-8 with CRLF whatever the platform.
        out.reconfigure(encoding="utf-8", newline="")
    if bom:
        out.write("\ufeff")
    writer = csv.DictWriter(out, fieldnames=list(fields), lineterminator="\r\n")
    writer.writeheader()
    count = 0
    for record in records:
        writer.writerow(to_row(record))
        count += 1
    return count
