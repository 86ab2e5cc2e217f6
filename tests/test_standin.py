"""Tests for the Slack Web API stand-in, driven through a real slack_sdk WebClient.

The app's test suite and the demo trust the stand-in to behave like Slack, so these tests
exercise it the way the app does: over HTTP, with slack_sdk's own encodings and error handling.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from bot.standin import UPLOAD, RecordedCall, SlackStandin

TOKEN = "xoxb-standin"
BLOCKS: list[dict[str, Any]] = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Ticket* #42 opened"}}
]
MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "new_ticket",
    "title": {"type": "plain_text", "text": "New ticket"},
    "blocks": BLOCKS,
}


@pytest.fixture
def standin() -> Iterator[SlackStandin]:
    with SlackStandin() as server:
        yield server


@pytest.fixture
def client(standin: SlackStandin) -> WebClient:
    # No retry handlers: every injected failure must surface to the test exactly once.
    return WebClient(token=TOKEN, base_url=standin.url, retry_handlers=[], timeout=5)


def api_error(call: Any, *args: Any, **kwargs: Any) -> SlackApiError:
    """Run a client call that must fail and hand back the SlackApiError."""
    with pytest.raises(SlackApiError) as info:
        call(*args, **kwargs)
    return info.value


def test_url_and_lifecycle() -> None:
    standin = SlackStandin()
    with pytest.raises(RuntimeError):
        _ = standin.url
    standin.start()
    try:
        assert standin.url.startswith("http://127.0.0.1:")
        assert standin.url.endswith("/api/")
    finally:
        standin.stop()
    standin.stop()  # idempotent


def test_auth_test(standin: SlackStandin, client: WebClient) -> None:
    response = client.auth_test()
    assert response.status_code == 200
    assert response.data == {
        "ok": True,
        "url": "https://desk.slack.com/",
        "team": "Desk",
        "user": "supportbot",
        "team_id": "T0DESK",
        "user_id": "U0BOT",
        "bot_id": "B0BOT",
        "is_enterprise_install": False,
    }
    [call] = standin.calls("auth.test")
    assert call.args == {}  # the token is never recorded
    assert call.status == 200 and call.error is None and not call.failed


def test_missing_and_unknown_tokens(standin: SlackStandin) -> None:
    anonymous = WebClient(base_url=standin.url, retry_handlers=[])
    assert api_error(anonymous.auth_test).response["error"] == "not_authed"
    stranger = WebClient(token="xoxb-nope", base_url=standin.url, retry_handlers=[])
    assert api_error(stranger.auth_test).response["error"] == "invalid_auth"
    assert [c.error for c in standin.calls()] == ["not_authed", "invalid_auth"]


def test_unknown_method(client: WebClient) -> None:
    error = api_error(client.api_call, "files.frobnicate")
    assert error.response["error"] == "unknown_method"


def test_post_update_history_replies_round_trip(standin: SlackStandin, client: WebClient) -> None:
    standin.add_channel("C0HELP", name="help")
    question = standin.seed_message("C0HELP", user="U0ALICE", text="printer on fire")
    root = client.chat_postMessage(channel="C0HELP", text="Ticket #42", blocks=BLOCKS)
    assert root["channel"] == "C0HELP"
    assert root["message"]["user"] == "U0BOT" and root["message"]["bot_id"] == "B0BOT"
    assert root["message"]["blocks"] == BLOCKS and root["message"]["team"] == "T0DESK"
    assert float(root["ts"]) > float(question)

    reply = client.chat_postMessage(channel="C0HELP", text="on it", thread_ts=root["ts"])
    assert reply["message"]["thread_ts"] == root["ts"]
    human = standin.seed_message("C0HELP", user="U0ALICE", text="thanks", thread_ts=root["ts"])

    updated = client.chat_update(channel="C0HELP", ts=root["ts"], text="Ticket #42 (closed)")
    assert updated["ts"] == root["ts"] and updated["text"] == "Ticket #42 (closed)"
    assert updated["message"]["blocks"] == BLOCKS  # untouched when not sent

    history = client.conversations_history(channel="C0HELP")
    assert [m["ts"] for m in history["messages"]] == [root["ts"], question]  # newest first
    assert history["has_more"] is False and history["pin_count"] == 0
    assert history["response_metadata"] == {"next_cursor": ""}
    top = history["messages"][0]
    assert top["text"] == "Ticket #42 (closed)"
    assert top["reply_count"] == 2 and top["latest_reply"] == human
    assert top["reply_users"] == ["U0BOT", "U0ALICE"]

    for ts in (root["ts"], reply["ts"]):  # the root or any reply names the thread
        thread = client.conversations_replies(channel="C0HELP", ts=ts)["messages"]
        assert [m["ts"] for m in thread] == [root["ts"], reply["ts"], human]
        assert thread[2]["parent_user_id"] == "U0BOT"

    assert [m["text"] for m in standin.messages("C0HELP")] == [
        "printer on fire",
        "Ticket #42 (closed)",
        "on it",
        "thanks",
    ]
    cases: list[tuple[Any, dict[str, Any], str]] = [
        (client.chat_update, {"ts": question, "text": "x"}, "cant_update_message"),
        (client.chat_update, {"ts": "1.000001", "text": "x"}, "message_not_found"),
        (client.conversations_replies, {"ts": "1.000001"}, "thread_not_found"),
    ]
    for method, kwargs, expected in cases:
        assert api_error(method, channel="C0HELP", **kwargs).response["error"] == expected
    with pytest.warns(UserWarning, match="text"):  # slack_sdk nags about missing text
        error = api_error(client.chat_postMessage, channel="C0HELP")
    assert error.response["error"] == "no_text"


def test_history_range_and_pagination(standin: SlackStandin, client: WebClient) -> None:
    stamps = [standin.seed_message("C0HELP", user="U0ALICE", text=str(i)) for i in range(5)]
    assert stamps == sorted(stamps, key=float) and len(set(stamps)) == 5

    page = client.conversations_history(channel="C0HELP", limit=2)
    assert [m["text"] for m in page["messages"]] == ["4", "3"] and page["has_more"] is True
    cursor = page["response_metadata"]["next_cursor"]
    page = client.conversations_history(channel="C0HELP", limit=2, cursor=cursor)
    assert [m["text"] for m in page["messages"]] == ["2", "1"]

    ranged = client.conversations_history(channel="C0HELP", oldest=stamps[1], latest=stamps[3])
    assert [m["text"] for m in ranged["messages"]] == ["2"]
    ranged = client.conversations_history(
        channel="C0HELP", oldest=stamps[1], latest=stamps[3], inclusive=True
    )
    assert [m["text"] for m in ranged["messages"]] == ["3", "2", "1"]


def test_seeded_ts_keeps_generated_ts_increasing(standin: SlackStandin) -> None:
    far = "9999999999.000100"
    assert standin.seed_message("C0HELP", user="U0ALICE", text="x", ts=far) == far
    assert float(standin.next_ts()) > float(far)
    with pytest.raises(ValueError):
        standin.seed_message("C0HELP", user="U0ALICE", text="dup", ts=far)


def test_dm_by_user_id(standin: SlackStandin, client: WebClient) -> None:
    response = client.chat_postMessage(channel="U0ALICE", text="Your ticket was updated")
    assert response["channel"] == "D0ALICE"
    assert [m["text"] for m in standin.messages("D0ALICE")] == ["Your ticket was updated"]
    assert client.conversations_open(users="U0ALICE")["channel"]["id"] == "D0ALICE"
    info = client.conversations_info(channel="D0ALICE")["channel"]
    assert info["is_im"] is True and info["is_channel"] is False


def test_not_in_channel_and_missing_channel(standin: SlackStandin, client: WebClient) -> None:
    standin.not_in_channel.add("C0SECRET")
    standin.missing_channels.add("C0GONE")
    error = api_error(client.chat_postMessage, channel="C0SECRET", text="hello")
    assert error.response.status_code == 200
    assert error.response["error"] == "not_in_channel"
    error = api_error(client.chat_postMessage, channel="C0GONE", text="hello")
    assert error.response["error"] == "channel_not_found"
    assert standin.messages("C0SECRET") == []
    assert [(c.status, c.error, c.failed) for c in standin.calls("chat.postMessage")] == [
        (200, "not_in_channel", True),
        (200, "channel_not_found", True),
    ]
    standin.not_in_channel.clear()  # tests may flip membership at any time
    assert client.chat_postMessage(channel="C0SECRET", text="hello")["ok"] is True


def test_channel_info_ephemeral_permalink_users_reactions(
    standin: SlackStandin, client: WebClient
) -> None:
    standin.add_channel("C0VIP", name="vip-support", is_private=True, is_ext_shared=True)
    standin.add_user("U0ALICE", name="alice", real_name="Alice Liddell")

    info = client.conversations_info(channel="C0VIP")["channel"]
    assert info["id"] == "C0VIP" and info["name"] == "vip-support"
    assert info["is_channel"] is True and info["is_private"] is True
    assert info["is_ext_shared"] is True and info["is_member"] is True
    assert client.chat_postMessage(channel="#vip-support", text="hi")["channel"] == "C0VIP"

    user = client.users_info(user="U0ALICE")["user"]
    assert user["id"] == "U0ALICE" and user["team_id"] == "T0DESK" and user["is_bot"] is False
    assert user["profile"] == {"real_name": "Alice Liddell", "display_name": "alice"}
    assert api_error(client.users_info, user="U0NOBODY").response["error"] == "user_not_found"

    ephemeral = client.chat_postEphemeral(channel="C0VIP", user="U0ALICE", text="psst")
    assert set(ephemeral.data) == {"ok", "message_ts"}
    assert standin.ephemeral_messages("C0VIP", user="U0ALICE")[0]["text"] == "psst"
    assert [m["text"] for m in standin.messages("C0VIP")] == ["hi"]  # not in history

    ts = client.chat_postMessage(channel="C0VIP", text="ticket")["ts"]
    link = client.chat_getPermalink(channel="C0VIP", message_ts=ts)
    assert link["permalink"] == f"https://desk.slack.com/archives/C0VIP/p{ts.replace('.', '')}"

    assert client.reactions_add(channel="C0VIP", timestamp=ts, name="eyes").data == {"ok": True}
    assert standin.messages("C0VIP")[-1]["reactions"][0]["name"] == "eyes"


def test_views_open_update_and_hash_conflict(standin: SlackStandin, client: WebClient) -> None:
    opened = client.views_open(trigger_id="123.456.abc", view=MODAL)["view"]
    assert opened["id"].startswith("V") and opened["team_id"] == "T0DESK"
    assert opened["state"] == {"values": {}} and opened["type"] == "modal"
    assert opened["callback_id"] == "new_ticket" and opened["blocks"] == BLOCKS
    assert standin.views[opened["id"]]["hash"] == opened["hash"]

    changed = {**MODAL, "title": {"type": "plain_text", "text": "Step 2"}}
    updated = client.views_update(view_id=opened["id"], view=changed, hash=opened["hash"])["view"]
    assert updated["id"] == opened["id"] and updated["hash"] != opened["hash"]
    assert updated["title"]["text"] == "Step 2"

    stale = api_error(client.views_update, view_id=opened["id"], view=MODAL, hash=opened["hash"])
    assert stale.response["error"] == "hash_conflict"
    assert standin.views[opened["id"]]["title"]["text"] == "Step 2"
    missing = api_error(client.views_update, view_id="V404", view=MODAL)
    assert missing.response["error"] == "not_found"

    pushed = client.views_push(trigger_id="123.456.def", view={**MODAL, "external_id": "ext-1"})
    by_external = client.views_update(external_id="ext-1", view=changed)["view"]
    assert by_external["id"] == pushed["view"]["id"]

    standin.expired_triggers.add("old.trigger")
    expired = api_error(client.views_open, trigger_id="old.trigger", view=MODAL)
    assert expired.response["error"] == "expired_trigger_id"


def test_rate_limit_surfaces_retry_after(standin: SlackStandin, client: WebClient) -> None:
    standin.fail("chat.postMessage", status=429, retry_after=7)
    error = api_error(client.chat_postMessage, channel="C0HELP", text="hi")
    assert error.response.status_code == 429
    assert error.response.headers["Retry-After"] == "7"
    assert error.response["error"] == "ratelimited"
    assert client.chat_postMessage(channel="C0HELP", text="hi")["ok"] is True
    assert [(c.status, c.error) for c in standin.calls("chat.postMessage")] == [
        (429, "ratelimited"),
        (200, None),
    ]


def test_server_error_then_success(standin: SlackStandin, client: WebClient) -> None:
    standin.fail("chat.postMessage", status=500)
    error = api_error(client.chat_postMessage, channel="C0HELP", text="hi")
    assert error.response.status_code == 500
    assert client.chat_postMessage(channel="C0HELP", text="hi")["ok"] is True

    # slack_sdk's own server-error retry path recovers from a single 503.
    standin.fail("chat.postMessage", status=503)
    retrying = WebClient(
        token=TOKEN,
        base_url=standin.url,
        retry_handlers=[ServerErrorRetryHandler(1, FixedValueRetryIntervalCalculator(0.0))],
    )
    assert retrying.chat_postMessage(channel="C0HELP", text="again")["ok"] is True
    assert [c.status for c in standin.calls("chat.postMessage")] == [500, 200, 503, 200]
    assert [m["text"] for m in standin.messages("C0HELP")] == ["hi", "again"]


def test_injected_api_error_and_fifo(standin: SlackStandin, client: WebClient) -> None:
    standin.fail("views.open", error="expired_trigger_id", times=2)
    standin.fail("views.open", status=503)
    for _ in range(2):
        error = api_error(client.views_open, trigger_id="t", view=MODAL)
        assert error.response.status_code == 200
        assert error.response["error"] == "expired_trigger_id"
    assert api_error(client.views_open, trigger_id="t", view=MODAL).response.status_code == 503
    assert client.views_open(trigger_id="t", view=MODAL)["ok"] is True
    assert client.auth_test()["ok"] is True  # failures are per method


def test_encodings_are_recorded_alike(standin: SlackStandin, client: WebClient) -> None:
    args = {"channel": "C0HELP", "text": "hello", "blocks": BLOCKS}
    form_args = {**args, "blocks": json.dumps(BLOCKS)}

    client.chat_postMessage(**args)  # JSON body
    client.api_call("chat.postMessage", params=form_args)  # form-urlencoded body
    client.api_call("chat.postMessage", data=form_args)  # multipart/form-data body
    query = urlencode(form_args)
    request = urllib.request.Request(
        f"{standin.url}chat.postMessage?{query}", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # GET with query params
        assert json.loads(response.read())["ok"] is True
    form_token = urlencode({**form_args, "token": TOKEN}).encode()
    with urllib.request.urlopen(f"{standin.url}chat.postMessage", form_token, timeout=5) as r:
        assert json.loads(r.read())["ok"] is True  # token as an argument, not a header

    recorded = standin.calls("chat.postMessage")
    assert len(recorded) == 5
    assert all(call.args == args for call in recorded)
    assert all(m.get("blocks") == BLOCKS for m in standin.messages("C0HELP"))


def test_get_methods_accept_real_get(standin: SlackStandin) -> None:
    standin.add_user("U0ALICE", name="alice")
    request = urllib.request.Request(
        f"{standin.url}users.info?user=U0ALICE", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert json.loads(response.read())["user"]["name"] == "alice"
    assert standin.calls() == [
        RecordedCall("users.info", {"user": "U0ALICE"}, standin.calls()[0].at)
    ]


def test_wait_for(standin: SlackStandin, client: WebClient) -> None:
    worker = threading.Timer(0.05, lambda: client.chat_postMessage(channel="C0", text="later"))
    worker.start()
    try:
        [call] = standin.wait_for("chat.postMessage", timeout=2)
        assert call.args["text"] == "later"
    finally:
        worker.join()

    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"expected at least 2 call\(s\).*saw 1"):
        standin.wait_for("chat.postMessage", count=2, timeout=0.1)
    assert time.monotonic() - started < 1

    standin.reset_calls()
    assert standin.calls() == []


def test_latency(standin: SlackStandin, client: WebClient) -> None:
    standin.latency = 0.1
    started = time.monotonic()
    client.auth_test()
    assert time.monotonic() - started >= 0.1


# --- files: files.getUploadURLExternal, the upload URL, files.completeUploadExternal ----------


def post_bytes(url: str, data: bytes, *, content_type: str | None = None) -> tuple[int, str]:
    """POST to an upload URL as slack_sdk does (no token: the URL is the credential)."""
    headers = {"Content-Type": content_type} if content_type else {}
    request = urllib.request.Request(url, data=data, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def start_upload(client: WebClient, filename: str, content: bytes, **args: Any) -> dict[str, Any]:
    response = client.files_getUploadURLExternal(filename=filename, length=len(content), **args)
    return dict(response.data)  # type: ignore[arg-type]


def test_get_upload_url_external(standin: SlackStandin, client: WebClient) -> None:
    answer = start_upload(client, "chart.png", b"12345", alt_txt="A chart")
    assert set(answer) == {"ok", "upload_url", "file_id"}
    assert answer["file_id"].startswith("F")
    root = standin.url.removesuffix("api/")
    assert answer["upload_url"].startswith(f"{root}upload/v1/")
    [call] = standin.calls("files.getUploadURLExternal")
    assert call.args == {"filename": "chart.png", "length": "5", "alt_txt": "A chart"}
    assert start_upload(client, "other.png", b"1")["file_id"] != answer["file_id"]

    missing = api_error(client.api_call, "files.getUploadURLExternal", params={"length": 5})
    assert missing.response["error"] == "invalid_arguments"
    no_length = api_error(client.api_call, "files.getUploadURLExternal", params={"filename": "a"})
    assert no_length.response["error"] == "invalid_arguments"
    empty = api_error(client.files_getUploadURLExternal, filename="a", length=0)
    assert empty.response["error"] == "missing_argument"
    wordy = api_error(client.files_getUploadURLExternal, filename="a", length=1, alt_txt="x" * 1001)
    assert wordy.response["error"] == "alt_txt_too_large"


def test_upload_url_takes_raw_or_multipart_bytes(standin: SlackStandin, client: WebClient) -> None:
    raw = start_upload(client, "raw.bin", b"\x00\x01\xff")
    # What slack_sdk sends: raw bytes (urllib labels them form-encoded).
    assert post_bytes(raw["upload_url"], b"\x00\x01\xff") == (200, "OK - 3")
    form = start_upload(client, "form.txt", b"hello")
    boundary = "standinboundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="filename"; filename="form.txt"'
        f"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--{boundary}--\r\n"
    ).encode()
    status, _ = post_bytes(
        form["upload_url"], body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert status == 200
    client.files_completeUploadExternal(
        files=[{"id": raw["file_id"]}, {"id": form["file_id"], "title": "Form"}]
    )
    uploaded = standin.uploaded_files()
    assert [(f.filename, f.title, f.content) for f in uploaded] == [
        ("raw.bin", "raw.bin", b"\x00\x01\xff"),
        ("form.txt", "Form", b"hello"),
    ]
    assert [f.channel for f in uploaded] == [None, None]  # shared nowhere: private files
    assert [c.args["length"] for c in standin.calls(UPLOAD)] == [3, len(body)]

    assert post_bytes(standin.url.removesuffix("api/") + "upload/v1/nope", b"x")[0] == 404
    assert post_bytes(raw["upload_url"], b"again")[0] == 404  # completed: the URL is spent
    fresh = start_upload(client, "fresh.txt", b"x")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(fresh["upload_url"], timeout=5)  # a GET
    assert info.value.code == 405


def test_complete_upload_external_shares_in_the_channel(
    standin: SlackStandin, client: WebClient
) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00\x00\x04\xb0\x00\x00\x02\xa3" + b"."
    started = start_upload(client, "volume.png", png, alt_txt="Opened vs resolved")
    post_bytes(started["upload_url"], png)
    root = client.chat_postMessage(channel="C0MGRS", text="Weekly digest")["ts"]

    answer = client.files_completeUploadExternal(
        files=[{"id": started["file_id"], "title": "Volume"}],
        channel_id="C0MGRS",
        initial_comment="This week's charts",
        thread_ts=root,
    )

    [described] = answer["files"]
    assert described["id"] == started["file_id"]
    assert (described["name"], described["title"]) == ("volume.png", "Volume")
    assert (described["mimetype"], described["filetype"], described["size"]) == (
        "image/png",
        "png",
        len(png),
    )
    assert (described["original_w"], described["original_h"]) == (1200, 675)
    assert described["alt_txt"] == "Opened vs resolved"
    digest, shared = standin.messages("C0MGRS")
    assert shared["text"] == "This week's charts" and shared["thread_ts"] == root
    assert shared["user"] == "U0BOT" and shared["files"] == answer["files"]
    replies = client.conversations_replies(channel="C0MGRS", ts=root)["messages"]
    assert [m["ts"] for m in replies] == [digest["ts"], shared["ts"]]
    [uploaded] = standin.uploaded_files("C0MGRS")
    assert (uploaded.channel, uploaded.thread_ts, uploaded.content) == ("C0MGRS", root, png)
    assert uploaded.initial_comment == "This week's charts"
    assert standin.uploaded_files("C0OTHER") == []


def test_complete_upload_external_errors(standin: SlackStandin, client: WebClient) -> None:
    unknown = api_error(client.files_completeUploadExternal, files=[{"id": "F0NOPE"}])
    assert unknown.response["error"] == "file_not_found"
    pending = start_upload(client, "a.txt", b"a")
    not_sent = api_error(client.files_completeUploadExternal, files=[{"id": pending["file_id"]}])
    assert not_sent.response["error"] == "file_not_found"  # no bytes were uploaded yet
    no_files = api_error(client.api_call, "files.completeUploadExternal", params={"files": "[]"})
    assert no_files.response["error"] == "invalid_arguments"

    post_bytes(pending["upload_url"], b"a")
    standin.not_in_channel.add("C0SECRET")
    outside = api_error(
        client.files_completeUploadExternal,
        files=[{"id": pending["file_id"]}],
        channel_id="C0SECRET",
    )
    assert outside.response["error"] == "not_in_channel"
    standin.missing_channels.add("C0GONE")
    gone = api_error(
        client.files_completeUploadExternal, files=[{"id": pending["file_id"]}], channel_id="C0GONE"
    )
    assert gone.response["error"] == "channel_not_found"
    assert standin.uploaded_files() == []  # a refused completion shares nothing

    client.files_completeUploadExternal(files=[{"id": pending["file_id"]}], channel_id="C0HELP")
    twice = api_error(
        client.files_completeUploadExternal, files=[{"id": pending["file_id"]}], channel_id="C0HELP"
    )
    assert twice.response["error"] == "file_not_found"
    assert len(standin.messages("C0HELP")) == 1


def test_failures_can_be_injected_into_every_upload_step(
    standin: SlackStandin, client: WebClient
) -> None:
    standin.fail("files.getUploadURLExternal", status=429, retry_after=9)
    limited = api_error(client.files_getUploadURLExternal, filename="a", length=1)
    assert limited.response.status_code == 429
    assert limited.response.headers["Retry-After"] == "9"

    started = start_upload(client, "a.txt", b"a")
    standin.fail(UPLOAD, status=503)
    standin.fail(UPLOAD, status=429, retry_after=4)
    assert post_bytes(started["upload_url"], b"a") == (503, "service_unavailable")
    request = urllib.request.Request(started["upload_url"], data=b"a", method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=5)
    assert (info.value.code, info.value.headers["Retry-After"]) == (429, "4")
    assert post_bytes(started["upload_url"], b"a") == (200, "OK - 1")
    assert [c.failed for c in standin.calls(UPLOAD)] == [True, True, False]

    standin.fail("files.completeUploadExternal", error="file_uploads_disabled")
    refused = api_error(client.files_completeUploadExternal, files=[{"id": started["file_id"]}])
    assert refused.response["error"] == "file_uploads_disabled"
    client.files_completeUploadExternal(files=[{"id": started["file_id"]}])
    assert [f.content for f in standin.uploaded_files()] == [b"a"]


def test_files_upload_v2_end_to_end(standin: SlackStandin, client: WebClient) -> None:
    """slack_sdk's own helper, as the outbox calls it: three steps, one shared message."""
    response = client.files_upload_v2(
        file_uploads=[
            {"content": b"one", "filename": "1.txt", "title": "One", "alt_txt": "first"},
            {"content": b"two", "filename": "2.txt"},
        ],
        channel="C0MGRS",
        initial_comment="Two files",
    )
    assert [f["title"] for f in response["files"]] == ["One", "2.txt"]
    assert [(f.filename, f.content, f.alt_txt) for f in standin.uploaded_files("C0MGRS")] == [
        ("1.txt", b"one", "first"),
        ("2.txt", b"two", None),
    ]
    [message] = standin.messages("C0MGRS")
    assert message["text"] == "Two files" and len(message["files"]) == 2


def test_message_metadata_is_read_back_only_when_asked(
    standin: SlackStandin, client: WebClient
) -> None:
    """Posted metadata is kept; history and replies show it only with include_all_metadata."""
    metadata = {"event_type": "supportbot_outbox", "event_payload": {"outbox_id": 7}}
    root = client.chat_postMessage(channel="C0HELP", text="card", metadata=metadata)["ts"]
    client.chat_postMessage(channel="C0HELP", text="reply", thread_ts=root, metadata=metadata)
    client.chat_update(channel="C0HELP", ts=root, text="card, updated")  # keeps the metadata

    def shown(response: Any) -> list[Any]:
        return [message.get("metadata") for message in response["messages"]]

    assert shown(client.conversations_history(channel="C0HELP")) == [None]
    assert shown(client.conversations_replies(channel="C0HELP", ts=root)) == [None, None]
    history = client.conversations_history(channel="C0HELP", include_all_metadata=True)
    assert shown(history) == [metadata]
    replies = client.conversations_replies(channel="C0HELP", ts=root, include_all_metadata=True)
    assert shown(replies) == [metadata, metadata]
    refused = api_error(client.chat_postMessage, channel="C0HELP", text="x", metadata={"a": 1})
    assert refused.response["error"] == "invalid_metadata_schema"
