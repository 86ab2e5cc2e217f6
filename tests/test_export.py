"""`supportbot export --format csv` opens cleanly in a spreadsheet: RFC 4180, UTF-8, one cell per
field, and nothing a spreadsheet would run as a formula (OWASP's CSV-injection advice)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROJECT_ROOT
from workflows.export import EXPORT_FIELDS, FREE_TEXT_FIELDS, spreadsheet_safe, write_csv

EVIL = '=HYPERLINK("http://evil.example","Café → Acme")'


def record(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": 7,
        "ref": "#7",
        "status": "open",
        "priority": "medium",
        "issue_type": "question",
        "queue": "general",
        "customer": "",
        "requester": "U0ALICE",
        "assignee": "",
        "channel": "C0HELP",
        "thread_ts": "1763900000.000100",
        "created_at": "2026-11-02T14:00:00Z",
        "first_response_at": "",
        "resolved_at": "",
        "escalated": False,
        "csat": "",
        "tags": [],
        "first_response_due_at": "2026-11-02T18:00:00Z",
        "resolution_due_at": "",
        "sla_state": "ok",
    }
    assert set(fields) <= set(base)
    return {**base, **fields}


def as_csv(*records: dict[str, Any], bom: bool = False) -> str:
    out = io.StringIO(newline="")
    assert write_csv(records, out, bom=bom) == len(records)
    return out.getvalue()


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("=1+1", "'=1+1"),
        ("+33 1 23 45", "'+33 1 23 45"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=cmd", "'\t=cmd"),
        ("\r=cmd", "'\r=cmd"),
        ("Acme Corp", "Acme Corp"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_spreadsheet_safe(text: str, shown: str) -> None:
    assert spreadsheet_safe(text) == shown


def test_free_text_is_neutralised_ids_and_times_are_not() -> None:
    text = as_csv(
        record(
            customer=EVIL,
            requester="@here",
            assignee="-U0AGENT",
            queue="+ops",
            issue_type="=bug",
            tags=["-urgent", "billing"],
        )
    )
    [row] = list(csv.DictReader(io.StringIO(text, newline="")))
    assert row["customer"] == "'" + EVIL
    assert (row["requester"], row["assignee"]) == ("'@here", "'-U0AGENT")
    assert (row["queue"], row["issue_type"]) == ("'+ops", "'=bug")
    assert row["tags"] == "'-urgent;billing"
    assert row["thread_ts"] == "1763900000.000100"
    assert row["created_at"] == "2026-11-02T14:00:00Z"
    assert (row["id"], row["escalated"], row["sla_state"]) == ("7", "false", "ok")
    assert set(EXPORT_FIELDS) >= FREE_TEXT_FIELDS


def test_rfc_4180_crlf_one_cell_per_field_no_bom() -> None:
    text = as_csv(
        record(customer='Acme, "the" Corp\nEMEA', tags=["billing", "refund"], escalated=True),
        record(id=8, ref="#8"),
    )
    assert text.startswith("id,ref,status,")  # scripts read the header's first bytes as-is
    lines = text.split("\r\n")
    assert lines[0] == ",".join(EXPORT_FIELDS)
    assert text.endswith("\r\n")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [r["ref"] for r in rows] == ["#7", "#8"]
    assert rows[0]["customer"] == 'Acme, "the" Corp\nEMEA'  # quoted, one cell
    assert rows[0]["tags"] == "billing;refund"
    assert rows[0]["escalated"] == "true" and rows[1]["tags"] == ""


def test_byte_order_mark_only_when_asked() -> None:
    text = as_csv(record(), bom=True)
    assert text.startswith("\ufeffid,ref,")
    raw = text.encode("utf-8")
    assert raw.startswith(b"\xef\xbb\xbfid,")
    [row] = csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))
    assert row["id"] == "7"


def test_stdout_is_utf8_with_crlf_whatever_its_encoding() -> None:
    buffer = io.BytesIO()
    stream = io.TextIOWrapper(buffer, encoding="latin-1", newline="\r\n")
    write_csv([record(customer="Café → Acme")], stream)
    stream.flush()
    raw = buffer.getvalue()
    assert b"\r\r\n" not in raw and raw.count(b"\r\n") == 2
    assert "Café → Acme".encode() in raw


def test_cli_csv_export_opens_cleanly(tmp_path: Path) -> None:
    """The operator's command, end to end: raw bytes as a spreadsheet would read them."""
    config = tmp_path / "supportbot.yml"
    config.write_text(
        json.dumps(
            {
                "intake": [{"channel": "C0HELP", "queue": "-ops"}],
                "triage_channel": "C0TRIAGE",
                "customer_channels": [{"channel": "C0ACME", "customer": EVIL}],
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SUPPORTBOT_"))}
    env.update(
        HOME=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'desk.db'}",
        SUPPORTBOT_CONFIG=str(config),
        PYTHONPATH=str(PROJECT_ROOT),
        PYTHONIOENCODING="latin-1",  # a legacy terminal: the file is UTF-8 all the same
    )

    def run(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, str(PROJECT_ROOT / "app.py"), *args],
            env=env,
            capture_output=True,
            timeout=60,
            cwd=tmp_path,
        )

    assert run("migrate").returncode == 0
    seed(env["DATABASE_URL"], config)
    result = run("export", "--format", "csv")
    assert result.returncode == 0, result.stderr
    raw = result.stdout
    assert raw.startswith(b"id,ref,status,")
    assert raw.count(b"\r\n") == 3 and b"\r\r\n" not in raw
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")))
    assert tuple(rows[0]) == EXPORT_FIELDS
    internal, bridged = rows
    assert internal["queue"] == "'-ops" and internal["tags"] == "'+1;billing"
    assert bridged["customer"] == "'" + EVIL
    assert not any(
        cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row.values()
    )
    del env["PYTHONIOENCODING"]  # JSON lines are written in the terminal's encoding, as before
    jsonl = run("export")
    assert jsonl.returncode == 0, jsonl.stderr
    records = [json.loads(line) for line in jsonl.stdout.decode("utf-8").splitlines()]
    assert records[1]["customer"] == EVIL and records[0]["tags"] == ["+1", "billing"]


def seed(url: str, config_path: Path) -> None:
    from bot.config import load_config
    from storage.db import create_db_engine, create_session_factory
    from storage.models import TicketTag
    from workflows.clock import ManualClock, datetime_to_slack_ts
    from workflows.intake import Desk, SlackMessage, receive_message

    engine = create_db_engine(url)
    desk = Desk(load_config(config_path), ManualClock(datetime(2026, 11, 2, 16, tzinfo=UTC)))
    with create_session_factory(engine).begin() as session:
        for channel, hour in (("C0HELP", 14), ("C0ACME", 15)):
            ts = datetime_to_slack_ts(datetime(2026, 11, 2, hour, tzinfo=UTC))
            external = channel == "C0ACME"  # a customer's own people open tickets there
            message = SlackMessage(channel, ts, "U0ALICE", "help", is_external=external)
            result = receive_message(session, desk, message)
            assert result.ticket_id is not None
            if not external:
                session.add_all(
                    TicketTag(ticket_id=result.ticket_id, tag=tag) for tag in ("+1", "billing")
                )
    engine.dispose()


def test_the_cli_adds_a_bom_only_when_asked(tmp_path: Path) -> None:
    """`export --format csv --bom` starts with the UTF-8 byte-order mark; without it the first
    bytes are the header's `id`."""
    from tests.test_cli import GOOD_CONFIG, run

    config = tmp_path / "supportbot.yml"
    config.write_text(GOOD_CONFIG)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SUPPORTBOT_"))},
        "HOME": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'desk.db'}",
        "SUPPORTBOT_CONFIG": str(config),
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    assert run(["migrate"], env).returncode == 0
    plain = run(["export", "--format", "csv"], env)
    marked = run(["export", "--format", "csv", "--bom"], env)
    assert plain.returncode == marked.returncode == 0
    assert plain.stdout.startswith("id,ref,")
    assert marked.stdout.startswith("\ufeffid,ref,")


# --- export --kind feature-requests --------------------------------------------------------------


def test_feature_request_rows_are_spreadsheet_safe_with_lists_in_one_cell() -> None:
    from workflows.export import FEATURE_REQUEST_FIELDS, feature_request_csv_row

    record = {
        "id": 3,
        "ref": "FR-3",
        "title": "=cmd|' /C calc'!A0",
        "product": "Billing",
        "status": "shipped",
        "requesters": 2,
        "requester_ids": ["U0ALICE", "U0ACMEJO"],
        "customers": ["-Acme", "Globex"],
        "tiers": ["enterprise", ""],
        "tickets": ["#4", "#9"],
        "created_at": "2026-11-02T14:00:00Z",
        "status_at": "2026-11-09T10:00:00Z",
        "shipped_at": "2026-11-09T10:00:00Z",
        "release_note": "@channel it's live",
    }
    out = io.StringIO(newline="")
    write_csv(
        [record], out, fields=FEATURE_REQUEST_FIELDS, to_row=feature_request_csv_row, bom=True
    )
    text = out.getvalue()
    assert text.startswith("\ufeffid,ref,title,product,status,requesters,")
    assert text.split("\r\n")[0].lstrip("\ufeff") == ",".join(FEATURE_REQUEST_FIELDS)
    [row] = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    assert row["title"] == "'=cmd|' /C calc'!A0" and row["release_note"] == "'@channel it's live"
    assert (row["requester_ids"], row["customers"], row["tiers"]) == (
        "U0ALICE;U0ACMEJO",
        "'-Acme;Globex",
        "enterprise;",
    )
    assert (row["tickets"], row["requesters"], row["shipped_at"]) == (
        "#4;#9",
        "2",
        "2026-11-09T10:00:00Z",
    )


def seed_feature_requests(url: str, config_path: Path) -> None:
    """Two requests: one asked by a colleague and a customer (shipped), one later."""
    from bot.config import load_config
    from storage.db import create_db_engine, create_session_factory
    from storage.models import Ticket
    from workflows.clock import ManualClock, datetime_to_slack_ts
    from workflows.feature_requests import (
        LinkChoice,
        Press,
        ShipSubmission,
        choose_request,
        file_feature_request,
        ship_request,
    )
    from workflows.intake import Desk, SlackMessage, receive_message

    engine = create_db_engine(url)
    clock = ManualClock(datetime(2026, 11, 2, 14, tzinfo=UTC))
    desk = Desk(load_config(config_path), clock)
    asked = [
        ("C0HELP", "U0ALICE", "Please add a dark mode to the dashboard", 14),
        ("C0ACME", "U0ACMEJO", "Could we get a dark mode for the dashboard?", 15),
        ("C0HELP", "U0BOB", "Export invoices as CSV", 16),
    ]
    ids = []
    with create_session_factory(engine).begin() as session:
        for channel, user, text, hour in asked:
            when = datetime(2026, 11, 2, hour, tzinfo=UTC)
            clock.set(when)
            customer = channel == "C0ACME"
            message = SlackMessage(
                channel,
                datetime_to_slack_ts(when),
                user,
                text,
                team="T0ACME" if customer else None,
                is_external=customer,
                in_shared_channel=customer,
            )
            result = receive_message(session, desk, message)
            assert result.ticket_id is not None
            ticket = session.get(Ticket, result.ticket_id)
            assert ticket is not None
            ticket.issue_type = "feature_request"
            file_feature_request(session, desk, ticket, by="U0AGENT1", at=when)
            ids.append(ticket.id)
        press = Press(user="U0AGENT1", at=datetime(2026, 11, 3, tzinfo=UTC))
        result = choose_request(session, desk, LinkChoice(ids[1], 1, press))
        assert result.done
        shipped = ShipSubmission(1, "U0AGENT1", "=Live now", at=datetime(2026, 11, 9, tzinfo=UTC))
        assert ship_request(session, desk, shipped).done
    engine.dispose()


def test_cli_exports_feature_requests(tmp_path: Path) -> None:
    """`export --kind feature-requests`: one row per request with its counts and customers, as
    CSV (spreadsheet-safe) or JSON lines; `--since` narrows to requests created then."""
    config = tmp_path / "supportbot.yml"
    config.write_text(
        json.dumps(
            {
                "agents": ["U0AGENT1"],
                "intake": [{"channel": "C0HELP", "queue": "general"}],
                "triage_channel": "C0TRIAGE",
                "customer_channels": [
                    {"channel": "C0ACME", "customer": "Acme Corp", "tier": "enterprise"}
                ],
                "feature_requests": {"channel": "C0IDEAS"},
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SUPPORTBOT_"))}
    env.update(
        HOME=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'desk.db'}",
        SUPPORTBOT_CONFIG=str(config),
        PYTHONPATH=str(PROJECT_ROOT),
    )

    def run(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, str(PROJECT_ROOT / "app.py"), *args],
            env=env,
            capture_output=True,
            timeout=60,
            cwd=tmp_path,
        )

    from workflows.export import FEATURE_REQUEST_FIELDS

    assert run("migrate").returncode == 0
    seed_feature_requests(env["DATABASE_URL"], config)
    result = run("export", "--kind", "feature-requests", "--format", "csv")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"id,ref,title,") and b"\r\r\n" not in result.stdout
    rows = list(csv.DictReader(io.StringIO(result.stdout.decode("utf-8"), newline="")))
    assert tuple(rows[0]) == FEATURE_REQUEST_FIELDS
    dark, export = rows
    assert (dark["ref"], dark["status"], dark["requesters"]) == ("FR-1", "shipped", "2")
    assert dark["requester_ids"] == "U0ALICE;U0ACMEJO" and dark["tickets"] == "#1;#2"
    assert (dark["customers"], dark["tiers"]) == ("Acme Corp", "enterprise")
    assert dark["release_note"] == "'=Live now" and dark["shipped_at"] == "2026-11-09T00:00:00Z"
    assert (export["ref"], export["status"], export["requesters"]) == ("FR-2", "under_review", "1")
    assert export["title"] == "Export invoices as CSV" and export["shipped_at"] == ""

    jsonl = run("export", "--kind", "feature-requests", "--since", "2026-11-02T15:30:00Z")
    assert jsonl.returncode == 0, jsonl.stderr
    [record] = [json.loads(line) for line in jsonl.stdout.decode("utf-8").splitlines()]
    assert record["ref"] == "FR-2" and record["requester_ids"] == ["U0BOB"]
    assert record["customers"] == [] and record["requesters"] == 1

    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'missing' / 'desk.db'}"
    broken = run("export", "--kind", "feature-requests")
    assert broken.returncode == 1 and broken.stdout == b""
    [line] = broken.stderr.decode("utf-8").splitlines()
    assert line.startswith("error: could not read feature requests:")
