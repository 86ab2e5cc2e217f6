"""Chart images through the outbox: `files.uploadV2` rows delivered against the Slack stand-in.

The dispatcher runs slack_sdk's three-step upload (files.getUploadURLExternal, a POST of the
bytes, files.completeUploadExternal); any step failing retries the whole upload later, and a
digest's charts always land just after the digest itself.
"""

from __future__ import annotations

import base64
import json
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.config import DeskConfig
from bot.delivery import DeliveryHooks
from bot.outbox import Dispatcher
from bot.slack_client import outbox_client
from bot.standin import UPLOAD, SlackStandin
from storage.db import SessionFactory, create_session_factory
from storage.models import OutboxMessage
from storage.repositories import OutboxRepository
from templates.charts import Chart, first_response_chart, volume_chart
from workflows.clock import ManualClock
from workflows.delivery import (
    CUSTOMER_SAFE_PURPOSES,
    UPLOAD_FILES,
    Purpose,
    digest_payload_with_charts,
    enqueue_charts,
)

TOKEN = "xoxb-standin"
CHANNEL = "C0MGRS"
VOLUME = Chart("volume.png", "Opened vs resolved", "Opened and resolved per day.", b"PNG-1\x00\xff")
RESPONSE = Chart("first-response.png", "First response", "Time to first response.", b"PNG-2")


@pytest.fixture
def session_factory(engine: Engine) -> SessionFactory:
    return create_session_factory(engine)


@pytest.fixture
def dispatcher(
    session_factory: SessionFactory,
    standin: SlackStandin,
    desk_config: DeskConfig,
    clock: ManualClock,
) -> Dispatcher:
    return Dispatcher(
        session_factory, outbox_client(TOKEN, standin.url), DeliveryHooks(desk_config, clock), clock
    )


def owe_charts(
    session_factory: SessionFactory,
    clock: ManualClock,
    charts: list[Chart],
    *,
    channel: str = CHANNEL,
    **options: Any,
) -> int:
    with session_factory.begin() as session:
        row = enqueue_charts(session, channel=channel, charts=charts, now=clock.now(), **options)
        assert row is not None
        return row.id


def owe_digest(session_factory: SessionFactory, clock: ManualClock, charts: list[Chart]) -> int:
    message = {"text": "Weekly digest: 12 opened, 10 resolved", "blocks": []}
    payload = {"channel": CHANNEL, **digest_payload_with_charts(message, charts, "This week")}
    with session_factory.begin() as session:
        row = OutboxRepository(session).enqueue(
            "chat.postMessage", payload, now=clock.now(), purpose=Purpose.DIGEST
        )
        return row.id


def load_row(session_factory: SessionFactory, row_id: int) -> OutboxMessage:
    with session_factory.begin() as session:
        row = OutboxRepository(session).get(row_id)
        assert row is not None
        return row


def stored(row: OutboxMessage) -> str:
    return json.dumps({"payload": row.payload, "response": row.response})


def test_charts_are_uploaded_and_shared_in_the_channel(
    session_factory: SessionFactory,
    dispatcher: Dispatcher,
    standin: SlackStandin,
    clock: ManualClock,
) -> None:
    """Real charts go up byte for byte, with their titles and alt text, in one message."""
    days = [date(2026, 11, 16) + timedelta(days=i) for i in range(7)]
    volume = volume_chart(days, [3] * 7, [2] * 7, list(range(7)), title="Volume, week 47")
    response = first_response_chart(["< 1h", "> 1h"], [5, 1], [0, 2], title="First response")
    charts = [
        Chart("volume.png", "Volume", "Opened and resolved per day", volume),
        Chart("first-response.png", "First response", "Time to first response", response),
    ]
    row_id = owe_charts(session_factory, clock, charts, initial_comment="Charts for week 47")

    assert dispatcher.drain() == 1

    uploaded = standin.uploaded_files(CHANNEL)
    assert [(f.filename, f.title, f.alt_txt) for f in uploaded] == [
        ("volume.png", "Volume", "Opened and resolved per day"),
        ("first-response.png", "First response", "Time to first response"),
    ]
    assert [f.content for f in uploaded] == [volume, response]
    [message] = standin.messages(CHANNEL)
    assert message["text"] == "Charts for week 47"
    assert [f["id"] for f in message["files"]] == [f.id for f in uploaded]
    assert message["files"][0]["original_w"] == 1200
    assert "thread_ts" not in message
    assert [c.method for c in standin.calls()] == [
        "files.getUploadURLExternal",
        "files.getUploadURLExternal",
        UPLOAD,
        UPLOAD,
        "files.completeUploadExternal",
    ]
    row = load_row(session_factory, row_id)
    assert (row.status, row.method, row.purpose) == ("sent", UPLOAD_FILES, Purpose.DIGEST_CHARTS)
    assert row.response == {"channel": CHANNEL, "file_ids": [f.id for f in uploaded]}
    # Delivered: the bodies are not kept in the table, the rest of the call is.
    assert "content_b64" not in stored(row)
    assert [f["filename"] for f in row.payload["files"]] == ["volume.png", "first-response.png"]


def test_charts_in_a_thread(
    session_factory: SessionFactory,
    dispatcher: Dispatcher,
    standin: SlackStandin,
    clock: ManualClock,
) -> None:
    root = standin.seed_message(CHANNEL, user="U0LEAD", text="How was the week?")
    owe_charts(session_factory, clock, [VOLUME], thread_ts=root)
    dispatcher.drain()
    [uploaded] = standin.uploaded_files()
    assert (uploaded.channel, uploaded.thread_ts) == (CHANNEL, root)
    reply = standin.messages(CHANNEL)[-1]
    assert reply["thread_ts"] == root and reply["text"] == ""


def test_rate_limited_upload_waits_for_retry_after_then_goes_up_once(
    session_factory: SessionFactory,
    dispatcher: Dispatcher,
    standin: SlackStandin,
    clock: ManualClock,
) -> None:
    row_id = owe_charts(session_factory, clock, [VOLUME, RESPONSE])
    standin.fail("files.getUploadURLExternal", status=429, retry_after=7)
    failed_at = clock.now()

    dispatcher.drain()

    row = load_row(session_factory, row_id)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "ratelimited")
    assert row.next_attempt_at == failed_at + timedelta(seconds=7)
    assert standin.uploaded_files() == []
    clock.advance(timedelta(seconds=6))
    assert dispatcher.drain() == 0
    clock.advance(timedelta(seconds=1))
    assert dispatcher.drain() == 1
    assert load_row(session_factory, row_id).status == "sent"
    assert [f.content for f in standin.uploaded_files(CHANNEL)] == [VOLUME.png, RESPONSE.png]
    assert len(standin.messages(CHANNEL)) == 1


@pytest.mark.parametrize(
    ("method", "status", "expected"),
    [
        (UPLOAD, 500, "upload failed: HTTP 500"),  # urllib raises HTTPError for the POST
        (UPLOAD, 202, "upload failed: Failed to upload"),  # SlackRequestError: not 200
        (UPLOAD, 429, "upload failed: HTTP 429"),
        ("files.completeUploadExternal", 503, "service_unavailable"),
        ("files.getUploadURLExternal", 500, "internal_error"),
    ],
)
def test_a_failed_step_retries_the_whole_upload(
    session_factory: SessionFactory,
    dispatcher: Dispatcher,
    standin: SlackStandin,
    clock: ManualClock,
    method: str,
    status: int,
    expected: str,
) -> None:
    row_id = owe_charts(session_factory, clock, [VOLUME])
    standin.fail(method, status=status, retry_after=2 if status == 429 else None)

    dispatcher.drain()

    row = load_row(session_factory, row_id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error and row.last_error.startswith(expected)
    assert standin.uploaded_files() == []
    clock.advance(timedelta(seconds=3))
    assert dispatcher.drain() == 1
    assert load_row(session_factory, row_id).status == "sent"
    [uploaded] = standin.uploaded_files(CHANNEL)
    assert uploaded.content == VOLUME.png
    assert len(standin.messages(CHANNEL)) == 1


def test_a_channel_the_bot_is_not_in_fails_for_good(
    session_factory: SessionFactory,
    dispatcher: Dispatcher,
    standin: SlackStandin,
    clock: ManualClock,
) -> None:
    standin.not_in_channel.add(CHANNEL)
    row_id = owe_charts(session_factory, clock, [VOLUME])
    dispatcher.drain()
    row = load_row(session_factory, row_id)
    assert (row.status, row.last_error) == ("failed", "not_in_channel")
    assert standin.uploaded_files() == []


def test_unreadable_file_content_fails_without_calling_slack(
    session_factory: SessionFactory,
    dispatcher: Dispatcher,
    standin: SlackStandin,
    clock: ManualClock,
) -> None:
    with session_factory.begin() as session:
        payload = {"channel": CHANNEL, "files": [{"filename": "x.png", "content_b64": "%%"}]}
        row_id = (
            OutboxRepository(session)
            .enqueue(UPLOAD_FILES, payload, now=clock.now(), purpose=Purpose.DIGEST_CHARTS)
            .id
        )
    dispatcher.drain()
    row = load_row(session_factory, row_id)
    assert row.status == "failed" and (row.last_error or "").startswith("invalid_files")
    assert standin.calls() == []


def test_charts_never_go_to_a_customer_channel(
    session_factory: SessionFactory,
    dispatcher: Dispatcher,
    standin: SlackStandin,
    clock: ManualClock,
) -> None:
    assert Purpose.DIGEST_CHARTS not in CUSTOMER_SAFE_PURPOSES
    row_id = owe_charts(session_factory, clock, [VOLUME], channel="C0ACME")
    dispatcher.drain()
    assert load_row(session_factory, row_id).status == "dropped"
    assert standin.calls() == []


def test_no_charts_no_row(session_factory: SessionFactory, clock: ManualClock) -> None:
    with session_factory.begin() as session:
        assert enqueue_charts(session, channel=CHANNEL, charts=[], now=clock.now()) is None
        assert OutboxRepository(session).pending() == []
    assert digest_payload_with_charts({"text": "t"}, [], "c") == {"text": "t"}


def test_alt_text_is_cut_to_slacks_limit(
    session_factory: SessionFactory,
    dispatcher: Dispatcher,
    standin: SlackStandin,
    clock: ManualClock,
) -> None:
    wordy = Chart("a.png", "A", "x" * 1500, b"png")
    owe_charts(session_factory, clock, [wordy])
    dispatcher.drain()
    [uploaded] = standin.uploaded_files()
    assert uploaded.alt_txt == "x" * 1000


def test_digest_lands_first_then_its_charts_below_it(
    session_factory: SessionFactory,
    dispatcher: Dispatcher,
    standin: SlackStandin,
    clock: ManualClock,
) -> None:
    """One row: the digest message, then (same row, replaced) the charts' upload to where the
    digest landed. Slack never sees the bookkeeping, and the table keeps no second copy."""
    row_id = owe_digest(session_factory, clock, [VOLUME, RESPONSE])

    assert dispatcher.drain() == 2

    methods = [c.method for c in standin.calls()]
    assert methods[0] == "chat.postMessage"
    assert methods[1:] == [
        "files.getUploadURLExternal",
        "files.getUploadURLExternal",
        UPLOAD,
        UPLOAD,
        "files.completeUploadExternal",
    ]
    [post] = standin.calls("chat.postMessage")
    assert not any(key.startswith("_") for key in post.args)
    encoded = base64.b64encode(VOLUME.png).decode()
    assert encoded not in json.dumps(post.args)
    digest, charts = standin.messages(CHANNEL)
    assert digest["text"] == "Weekly digest: 12 opened, 10 resolved"
    assert "files" not in digest
    assert charts["text"] == "This week" and float(charts["ts"]) > float(digest["ts"])
    assert [f["name"] for f in charts["files"]] == ["volume.png", "first-response.png"]
    assert [f.content for f in standin.uploaded_files(CHANNEL)] == [VOLUME.png, RESPONSE.png]

    row = load_row(session_factory, row_id)
    assert (row.status, row.method, row.purpose) == ("sent", UPLOAD_FILES, Purpose.DIGEST_CHARTS)
    assert row.payload["_digest_ts"] == digest["ts"]
    assert "_charts" not in row.payload and "_charts_comment" not in row.payload
    assert "content_b64" not in stored(row) and encoded not in stored(row)


def test_a_failed_chart_upload_does_not_post_the_digest_twice(
    session_factory: SessionFactory,
    dispatcher: Dispatcher,
    standin: SlackStandin,
    clock: ManualClock,
) -> None:
    row_id = owe_digest(session_factory, clock, [VOLUME])
    standin.fail("files.completeUploadExternal", status=500)
    dispatcher.drain()
    row = load_row(session_factory, row_id)
    assert (row.method, row.status, row.attempts) == (UPLOAD_FILES, "pending", 1)
    # Waiting to retry, the row holds the charts once: in the upload's own payload.
    assert "_charts" not in row.payload and len(row.payload["files"]) == 1
    clock.advance(timedelta(seconds=2))
    dispatcher.drain()
    assert len(standin.calls("chat.postMessage")) == 1
    assert [m.get("files") is not None for m in standin.messages(CHANNEL)] == [False, True]
