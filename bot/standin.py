"""A local stand-in for the Slack Web API.

The `supportbot demo` command and the test suite point a real ``slack_sdk.WebClient`` at this
server (``WebClient(token=..., base_url=standin.url)``) so the app runs end to end without
touching the network. Only the methods the app uses are implemented; they answer with Slack's
documented response shapes so the code under test cannot tell the difference. Every call is
recorded, and failures (rate limits, 5xx, API errors, latency) can be injected per method.

Files go up the way Slack's current upload API takes them: files.getUploadURLExternal hands out an
upload URL on this server, the client POSTs the bytes there (recorded as method ``"upload"``, and
failed with ``fail("upload", ...)``), and files.completeUploadExternal shares them, as a message in
the channel's history; `uploaded_files` shows what arrived, bytes included.

Standard library only (and the desk's clock protocol): it must run anywhere the app runs.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import email.parser
import email.policy
import itertools
import json
import mimetypes
import secrets
import struct
import sys
import threading
import time
import traceback
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self, cast
from urllib.parse import parse_qsl, urlsplit

from workflows.clock import Clock, SystemClock

__all__ = ["UPLOAD", "RecordedCall", "SlackStandin", "UploadedFile"]

Args = dict[str, Any]
Json = dict[str, Any]

# Arguments slack_sdk sends as JSON strings in form bodies but as objects in JSON bodies.
# Decoding them makes recorded args identical whatever the wire encoding was.
_JSON_ARGS = frozenset({"blocks", "view", "attachments", "metadata", "files"})

# What the POST of a file's bytes to its upload URL is recorded as (and failed with `fail`).
UPLOAD = "upload"
_UPLOAD_PATH = "/upload/v1/"
_ALT_TXT_LIMIT = 1000
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

_HISTORY_DEFAULT_LIMIT = 100
_REPLIES_DEFAULT_LIMIT = 1000
_MAX_LIMIT = 1000

# Error codes Slack uses in the bodies of its own 5xx answers.
_STATUS_ERRORS = {500: "internal_error", 503: "service_unavailable", 504: "request_timeout"}


@dataclass(frozen=True)
class RecordedCall:
    """One request the stand-in received; tests assert on these instead of mocking."""

    method: str
    args: dict[str, Any]
    at: float
    status: int = 200
    error: str | None = None

    @property
    def failed(self) -> bool:
        """True for HTTP errors and ``ok: false`` answers, so tests can filter them out."""
        return self.status != 200 or self.error is not None


@dataclass(frozen=True)
class _Failure:
    """A queued failure for one call; ``fail()`` builds these."""

    status: int
    retry_after: int | None
    error: str | None


@dataclass(frozen=True)
class UploadedFile:
    """A file shared with files.completeUploadExternal; `channel` is None for a private one."""

    id: str
    filename: str
    title: str
    alt_txt: str | None
    channel: str | None
    thread_ts: str | None
    initial_comment: str | None
    content: bytes = field(repr=False)


@dataclass
class _Upload:
    """A file between files.getUploadURLExternal and files.completeUploadExternal."""

    file_id: str
    token: str
    filename: str
    length: int
    alt_txt: str | None
    snippet_type: str | None
    content: bytes | None = None
    completed: bool = False


class _ApiError(Exception):
    """Raised by method handlers to answer ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def _ts_key(ts: str) -> int:
    """Turn a Slack ts into microseconds so comparisons are exact (floats are not)."""
    text = ts.strip()
    seconds, _, fraction = text.partition(".")
    if not seconds.isdigit() or (fraction and not fraction.isdigit()) or len(fraction) > 6:
        raise ValueError(f"not a Slack ts: {ts!r}")
    return int(seconds) * 1_000_000 + int(fraction.ljust(6, "0"))


def _format_ts(micros: int) -> str:
    """Format microseconds the way Slack writes ts values ("1763900000.000100")."""
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def _ts_arg(args: Args, key: str) -> str | None:
    """Read a ts argument and normalise it, so "1.1" and "1.100000" name the same message."""
    value = args.get(key)
    if value is None or value == "":
        return None
    try:
        return _format_ts(_ts_key(str(value)))
    except ValueError:
        error = f"invalid_ts_{key}" if key in ("latest", "oldest") else "invalid_arguments"
        raise _ApiError(error) from None


def _str_arg(args: Args, key: str) -> str | None:
    """Read an optional string argument; empty strings count as absent, like Slack does."""
    value = args.get(key)
    if value is None or value == "":
        return None
    return str(value)


def _bool_arg(args: Args, key: str) -> bool:
    """Read a boolean sent either as JSON true/false or as slack_sdk's form "1"/"0"."""
    value = args.get(key)
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes")


def _int_arg(args: Args, key: str, default: int) -> int:
    """Read an integer argument sent as a JSON number or a form string."""
    value = args.get(key)
    if value is None or value == "":
        return default
    try:
        number = int(str(value))
    except ValueError:
        raise _ApiError("invalid_arguments") from None
    return default if number <= 0 else min(number, _MAX_LIMIT)


def _metadata_arg(args: Args) -> Json:
    """Message metadata as Slack takes it: an `event_type` and an object `event_payload`."""
    metadata = args.get("metadata")
    if not isinstance(metadata, dict):
        raise _ApiError("invalid_metadata_format")
    if not isinstance(metadata.get("event_type"), str) or not isinstance(
        metadata.get("event_payload"), dict
    ):
        raise _ApiError("invalid_metadata_schema")
    return copy.deepcopy(metadata)


def _decode_json_args(args: Args) -> Args:
    """Decode JSON-string values of structured args so every encoding records alike."""
    for key in _JSON_ARGS & args.keys():
        value = args[key]
        if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
            # Undecodable values stay strings; the method handler rejects them as Slack would.
            with contextlib.suppress(ValueError):
                args[key] = json.loads(value)
    return args


def _parse_multipart(raw: bytes, content_type: str) -> Args:
    """Parse a multipart/form-data body (slack_sdk uses it when called with ``data=``)."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
    args: Args = {}
    for part in cast(EmailMessage, message).iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if part.get_filename() is None:
            args[name] = data.decode("utf-8", errors="replace")
        else:
            args[name] = data
    return args


def _parse_body(raw: bytes, content_type: str) -> Args:
    """Parse a request body in any of the encodings slack_sdk (sync or async) produces.

    slack_sdk labels body-less requests ``application/json``, so an empty body is valid for
    every content type.
    """
    if not raw.strip():
        return {}
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json":
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("JSON body must be an object")
        return data
    if media_type == "multipart/form-data":
        return _parse_multipart(raw, content_type)
    return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))


def _encode_cursor(ts: str) -> str:
    """Build a cursor shaped like Slack's (base64 of "next_ts:<ts>")."""
    return base64.b64encode(f"next_ts:{ts}".encode()).decode()


def _decode_cursor(cursor: str) -> int:
    """Invert `_encode_cursor`; bad cursors answer ``invalid_cursor`` as Slack does."""
    try:
        text = base64.b64decode(cursor, validate=True).decode()
        prefix, _, ts = text.partition(":")
        if prefix != "next_ts":
            raise ValueError(cursor)
        return _ts_key(ts)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _ApiError("invalid_cursor") from None


def _paginate(
    messages: list[Json], cursor: str | None, limit: int, *, newest_first: bool
) -> tuple[list[Json], bool, str]:
    """Cut one page out of ``messages`` (already in answer order) by ts cursor."""
    start = 0
    if cursor:
        key = _decode_cursor(cursor)
        start = len(messages)
        for index, message in enumerate(messages):
            message_key = _ts_key(message["ts"])
            if (message_key <= key) if newest_first else (message_key >= key):
                start = index
                break
    page = messages[start : start + limit]
    rest = messages[start + limit :]
    return page, bool(rest), _encode_cursor(rest[0]["ts"]) if rest else ""


def _in_range(ts: str, oldest: str | None, latest: str | None, inclusive: bool) -> bool:
    """Apply conversations.* oldest/latest bounds (exclusive unless ``inclusive``)."""
    key = _ts_key(ts)
    if oldest is not None:
        low = _ts_key(oldest)
        if key < low or (key == low and not inclusive):
            return False
    if latest is not None:
        high = _ts_key(latest)
        if key > high or (key == high and not inclusive):
            return False
    return True


def _is_top_level(message: Json) -> bool:
    """Top-level messages are those not in a thread, or the thread's root."""
    thread_ts = message.get("thread_ts")
    return thread_ts is None or thread_ts == message["ts"]


def _make_request_handler(standin: SlackStandin) -> type[BaseHTTPRequestHandler]:
    """Bind a request handler class to one stand-in (http.server wants a class)."""

    class _Handler(BaseHTTPRequestHandler):
        server_version = "SlackStandin/1.0"

        def do_GET(self) -> None:
            standin._serve(self)

        def do_POST(self) -> None:
            standin._serve(self)

        def log_message(self, format: str, *args: Any) -> None:
            """Stay quiet: test and demo output should not be drowned in access logs."""

    return _Handler


class SlackStandin:
    """An in-process HTTP server that answers like ``https://slack.com/api/``.

    Use it as a context manager (or call `start`/`stop`) and give ``standin.url`` to
    ``slack_sdk.WebClient(base_url=...)``. State (channels, users, messages, views) lives in
    memory; the public sets ``not_in_channel``, ``missing_channels`` and ``expired_triggers``
    and the ``latency`` attribute may be changed at any time to steer the next answers.
    """

    def __init__(
        self,
        *,
        team_id: str = "T0DESK",
        team_domain: str = "desk",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        bot_token: str = "xoxb-standin",
        clock: Clock | None = None,
    ) -> None:
        # Slack's clock: every `ts` it hands out, and when it says a file was made. Give it the
        # desk's clock (tests, the demo) and Slack's times agree with the desk's.
        self.clock: Clock = clock or SystemClock()
        self.team_id = team_id
        self.team_domain = team_domain
        self.team_name = team_domain.capitalize()
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = "supportbot"
        self.bot_token = bot_token
        self.app_id = "A0STANDIN"
        # Tokens accepted in addition to ``bot_token`` (e.g. a user token in some tests).
        self.tokens: set[str] = {bot_token}

        self.not_in_channel: set[str] = set()
        self.missing_channels: set[str] = set()
        self.expired_triggers: set[str] = set()
        self.latency: float = 0.0
        self.views: dict[str, dict[str, Any]] = {}
        # User group ID -> member user IDs, as `usergroups.users.list` answers.
        self.usergroups: dict[str, list[str]] = {}

        self._lock = threading.RLock()
        self._calls: list[RecordedCall] = []
        self._calls_changed = threading.Condition()
        self._failures: dict[str, deque[_Failure]] = {}

        self._channels: dict[str, Json] = {}
        self._users: dict[str, Json] = {}
        self._messages: dict[str, list[Json]] = {}
        self._message_index: dict[tuple[str, str], Json] = {}
        self._ephemerals: list[Json] = []
        self._home_views: dict[str, str] = {}
        self._last_ts_micros = self._clock_micros()
        self._view_numbers = itertools.count(1)
        self._hash_numbers = itertools.count(1)
        self._file_numbers = itertools.count(1)
        self._uploads: dict[str, _Upload] = {}  # by upload URL token
        self._uploaded: list[UploadedFile] = []

        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

        self._handlers: dict[str, Callable[[Args], Json]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "conversations.open": self._conversations_open,
            "conversations.info": self._conversations_info,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "users.info": self._users_info,
            "usergroups.users.list": self._usergroups_users_list,
            "reactions.add": self._reactions_add,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
        }
        self.add_user(bot_user_id, name=self.bot_name, real_name="Support Bot", is_bot=True)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        """Bind an ephemeral port on 127.0.0.1 and serve from a daemon thread."""
        if self._server is not None:
            raise RuntimeError("SlackStandin is already running")
        server = ThreadingHTTPServer(("127.0.0.1", 0), _make_request_handler(self))
        server.daemon_threads = True
        # A short poll interval keeps stop() (and so every test teardown) fast.
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="slack-standin",
            daemon=True,
        )
        self._server, self._thread = server, thread
        thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port; safe to call twice."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL for ``WebClient(base_url=...)``; slack_sdk appends the method name."""
        if self._server is None:
            raise RuntimeError("SlackStandin is not running; call start() first")
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}/api/"

    # ------------------------------------------------------------------ recording

    def calls(self, method: str | None = None) -> list[RecordedCall]:
        """Calls recorded so far, oldest first, optionally only those of one method."""
        with self._calls_changed:
            return [c for c in self._calls if method is None or c.method == method]

    def reset_calls(self) -> None:
        """Forget recorded calls, e.g. after a test's setup phase."""
        with self._calls_changed:
            self._calls.clear()

    def wait_for(self, method: str, *, count: int = 1, timeout: float = 5.0) -> list[RecordedCall]:
        """Block until ``count`` calls of ``method`` were recorded; for work done off-thread."""
        deadline = time.monotonic() + timeout
        with self._calls_changed:
            while True:
                matching = [c for c in self._calls if c.method == method]
                if len(matching) >= count:
                    return matching
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = Counter(c.method for c in self._calls)
                    summary = ", ".join(f"{m} x{n}" for m, n in sorted(seen.items())) or "none"
                    raise AssertionError(
                        f"SlackStandin: expected at least {count} call(s) to {method!r} within "
                        f"{timeout}s but saw {len(matching)}; calls recorded: {summary}"
                    )
                self._calls_changed.wait(remaining)

    def _record(self, call: RecordedCall) -> None:
        """Store a call and wake `wait_for` waiters."""
        with self._calls_changed:
            self._calls.append(call)
            self._calls_changed.notify_all()

    # ------------------------------------------------------------------ failure injection

    def fail(
        self,
        method: str,
        *,
        status: int | None = None,
        times: int = 1,
        retry_after: int | None = None,
        error: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail, in FIFO order with earlier fail()s.

        ``status=429`` answers a rate limit with ``Retry-After``; other statuses answer that
        HTTP status. ``error`` alone answers HTTP 200 ``{"ok": false, "error": error}``.
        Without either, the call answers HTTP 500.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        if status is None:
            status = 200 if error is not None else 500
        if status == 200 and error is None:
            raise ValueError("a failure with HTTP 200 needs an error code")
        failure = _Failure(status=status, retry_after=retry_after, error=error)
        with self._lock:
            self._failures.setdefault(method, deque()).extend([failure] * times)

    def _take_failure(self, method: str) -> _Failure | None:
        """Pop the next queued failure for ``method``, if any."""
        with self._lock:
            queue = self._failures.get(method)
            return queue.popleft() if queue else None

    # ------------------------------------------------------------------ state helpers

    def add_channel(
        self, channel_id: str, *, name: str, is_private: bool = False, is_ext_shared: bool = False
    ) -> None:
        """Register a channel so conversations.info and ``#name`` lookups know it."""
        with self._lock:
            self._channels[channel_id] = {
                "id": channel_id,
                "name": name,
                "is_private": is_private,
                "is_ext_shared": is_ext_shared,
            }

    def add_user(
        self,
        user_id: str,
        *,
        name: str,
        real_name: str | None = None,
        team_id: str | None = None,
        is_bot: bool = False,
    ) -> None:
        """Register a user for users.info."""
        real = real_name if real_name is not None else name
        with self._lock:
            self._users[user_id] = {
                "id": user_id,
                "team_id": team_id or self.team_id,
                "name": name,
                "real_name": real,
                "deleted": False,
                "is_bot": is_bot,
                "profile": {"real_name": real, "display_name": name},
            }

    def seed_message(
        self,
        channel: str,
        *,
        user: str,
        text: str,
        thread_ts: str | None = None,
        ts: str | None = None,
    ) -> str:
        """Store a human message as if it was posted in Slack; returns its ts."""
        with self._lock:
            channel_id = self._dm_channel(channel)
            if ts is None:
                ts = self._next_ts_locked()
            else:
                ts = _format_ts(_ts_key(ts))
                if (channel_id, ts) in self._message_index:
                    raise ValueError(f"{channel_id} already has a message with ts {ts}")
                # Keep generated ts values after every seeded one, as in Slack.
                self._last_ts_micros = max(self._last_ts_micros, _ts_key(ts))
            message: Json = {"type": "message", "user": user, "text": text, "ts": ts}
            if thread_ts is not None:
                message["thread_ts"] = _format_ts(_ts_key(thread_ts))
            message["team"] = self.team_id
            self._store(channel_id, message)
            return ts

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """All messages stored in ``channel`` (thread replies too), oldest first."""
        with self._lock:
            return copy.deepcopy(self._messages.get(self._dm_channel(channel), []))

    def ephemeral_messages(
        self, channel: str | None = None, *, user: str | None = None
    ) -> list[dict[str, Any]]:
        """Ephemeral messages posted so far (they never show up in history)."""
        with self._lock:
            return [
                copy.deepcopy(e)
                for e in self._ephemerals
                if (channel is None or e["channel"] == self._dm_channel(channel))
                and (user is None or e["user"] == user)
            ]

    def next_ts(self) -> str:
        """A fresh ts, strictly greater than every ts handed out or seeded before."""
        with self._lock:
            return self._next_ts_locked()

    def _clock_micros(self) -> int:
        moment = self.clock.now()
        return int(moment.timestamp()) * 1_000_000 + moment.microsecond

    def _next_ts_locked(self) -> str:
        """Advance the ts counter: tracks the clock but never repeats or goes back."""
        self._last_ts_micros = max(self._last_ts_micros + 100, self._clock_micros())
        return _format_ts(self._last_ts_micros)

    def _store(self, channel: str, message: Json) -> None:
        """Insert a message keeping the channel list sorted by ts."""
        stored = self._messages.setdefault(channel, [])
        stored.append(message)
        if len(stored) > 1 and _ts_key(stored[-2]["ts"]) > _ts_key(message["ts"]):
            stored.sort(key=lambda m: _ts_key(m["ts"]))
        self._message_index[(channel, message["ts"])] = message

    @staticmethod
    def _dm_channel(channel: str) -> str:
        """Posting to a user ID means posting to that user's DM with the bot."""
        if channel[:1] in ("U", "W"):
            return "D" + channel[1:]
        return channel

    def _resolve_channel(self, args: Args, key: str = "channel") -> str:
        """Resolve a channel argument (ID, user ID or ``#name``) or answer channel_not_found."""
        raw = _str_arg(args, key)
        if raw is None:
            raise _ApiError("channel_not_found")
        channel = self._dm_channel(raw)
        name = raw.removeprefix("#")
        for channel_id, info in self._channels.items():
            if info["name"] == name and (raw.startswith("#") or raw not in self._channels):
                channel = channel_id
                break
        if raw in self.missing_channels or channel in self.missing_channels:
            raise _ApiError("channel_not_found")
        return channel

    def _check_member(self, raw: str, channel: str) -> None:
        """Bot tokens can only read and write channels the bot is in."""
        if raw in self.not_in_channel or channel in self.not_in_channel:
            raise _ApiError("not_in_channel")

    # ------------------------------------------------------------------ HTTP plumbing

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        """Handle one HTTP request: parse, record, maybe fail, dispatch, answer."""
        parts = urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length > 0 else b""
        if parts.path.startswith(_UPLOAD_PATH):
            self._serve_upload(request, parts.path.removeprefix(_UPLOAD_PATH), raw)
            return
        if not parts.path.startswith("/api/"):
            self._send(request, 404, {"ok": False, "error": "unknown_method"}, {})
            return
        method = parts.path.removeprefix("/api/")

        error: str | None = None
        try:
            args: Args = dict(parse_qsl(parts.query, keep_blank_values=True))
            args.update(_parse_body(raw, request.headers.get("Content-Type", "")))
        except (ValueError, UnicodeDecodeError):
            args, error = {}, "invalid_json"
        _decode_json_args(args)
        token = self._token(request, args)

        if self.latency > 0:
            time.sleep(self.latency)

        status, body, headers = self._answer(method, args, token, error)
        self._record(
            RecordedCall(
                method=method,
                args=copy.deepcopy(args),
                at=self.clock.now().timestamp(),
                status=status,
                error=None if body.get("ok") else str(body.get("error")),
            )
        )
        self._send(request, status, body, headers)

    def _serve_upload(self, request: BaseHTTPRequestHandler, token: str, raw: bytes) -> None:
        """The upload URL: takes a file's bytes, raw or as multipart form data (Slack takes
        both; slack_sdk sends them raw), and answers in plain text as Slack's file service does."""
        failure = self._take_failure(UPLOAD)
        with self._lock:
            upload = self._uploads.get(token)
        if self.latency > 0:
            time.sleep(self.latency)
        headers: dict[str, str] = {}
        error: str | None = None
        if failure is not None:
            status = failure.status
            error = failure.error or _STATUS_ERRORS.get(status, "upload_failed")
            if status == 429:
                retry_after = 1 if failure.retry_after is None else failure.retry_after
                headers["Retry-After"] = str(retry_after)
            text = error
        elif request.command != "POST":
            status, text, error = 405, "Method Not Allowed", "method_not_allowed"
        elif upload is None or upload.completed:
            status, text, error = 404, "Not Found", "upload_not_found"
        else:
            content = raw
            content_type = request.headers.get("Content-Type", "")
            if content_type.split(";", 1)[0].strip().lower() == "multipart/form-data":
                try:
                    parts = _parse_multipart(raw, content_type)
                except ValueError:
                    parts = {}
                content = next((v for v in parts.values() if isinstance(v, bytes)), b"")
            with self._lock:
                upload.content = content
            status, text = 200, f"OK - {len(content)}"
        self._record(
            RecordedCall(
                method=UPLOAD,
                args={
                    "file_id": upload.file_id if upload else None,
                    "filename": upload.filename if upload else None,
                    "length": len(raw),
                },
                at=self.clock.now().timestamp(),
                status=status,
                error=error,
            )
        )
        self._write(request, status, text.encode("utf-8"), "text/plain", headers)

    @staticmethod
    def _token(request: BaseHTTPRequestHandler, args: Args) -> str | None:
        """Take the token from ``Authorization: Bearer`` or the ``token`` arg (not recorded)."""
        token = args.pop("token", None)
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return str(token) if token else None

    def _answer(
        self, method: str, args: Args, token: str | None, parse_error: str | None
    ) -> tuple[int, Json, dict[str, str]]:
        """Decide status, body and extra headers for one call."""
        failure = self._take_failure(method)
        if failure is not None:
            return self._failure_answer(failure)
        if parse_error is not None:
            return 200, {"ok": False, "error": parse_error}, {}
        handler = self._handlers.get(method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method", "req_method": method}, {}
        if token is None:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if token not in self.tokens:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        try:
            with self._lock:
                result = handler(args)
        except _ApiError as exc:
            return 200, {"ok": False, "error": exc.error}, {}
        except Exception:
            # A bug in the stand-in itself: show it, and answer like a Slack outage.
            traceback.print_exc(file=sys.stderr)
            return 500, {"ok": False, "error": "internal_error"}, {}
        return 200, {"ok": True, **result}, {}

    @staticmethod
    def _failure_answer(failure: _Failure) -> tuple[int, Json, dict[str, str]]:
        """Render an injected failure the way Slack would send it."""
        if failure.status == 429:
            retry_after = 1 if failure.retry_after is None else failure.retry_after
            body = {"ok": False, "error": failure.error or "ratelimited"}
            return 429, body, {"Retry-After": str(retry_after)}
        if failure.status == 200:
            return 200, {"ok": False, "error": failure.error}, {}
        error = failure.error or _STATUS_ERRORS.get(failure.status, "fatal_error")
        return failure.status, {"ok": False, "error": error}, {}

    @staticmethod
    def _send(
        request: BaseHTTPRequestHandler, status: int, body: Json, headers: dict[str, str]
    ) -> None:
        """Write a JSON answer."""
        SlackStandin._write(
            request, status, json.dumps(body).encode("utf-8"), "application/json", headers
        )

    @staticmethod
    def _write(
        request: BaseHTTPRequestHandler,
        status: int,
        data: bytes,
        content_type: str,
        headers: dict[str, str],
    ) -> None:
        """Write an answer; a client that hung up (timeout tests) is not an error."""
        try:
            request.send_response(status)
            request.send_header("Content-Type", f"{content_type}; charset=utf-8")
            request.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                request.send_header(name, value)
            request.end_headers()
            request.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    # ------------------------------------------------------------------ auth / chat

    def _auth_test(self, args: Args) -> Json:
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_name,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    @staticmethod
    def _require_content(args: Args) -> None:
        """Slack refuses messages with neither text, blocks nor attachments."""
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            raise _ApiError("no_text")

    def _chat_post_message(self, args: Args) -> Json:
        channel = self._resolve_channel(args)
        self._require_content(args)
        self._check_member(str(args["channel"]), channel)
        thread_ts = _ts_arg(args, "thread_ts")
        ts = self._next_ts_locked()
        message: Json = {
            "type": "message",
            "text": _str_arg(args, "text") or "",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "ts": ts,
        }
        for key in ("blocks", "attachments"):
            if args.get(key):
                message[key] = copy.deepcopy(args[key])
        if args.get("metadata"):
            message["metadata"] = _metadata_arg(args)
        if thread_ts is not None:
            message["thread_ts"] = thread_ts
        message["team"] = self.team_id
        self._store(channel, message)
        return {"channel": channel, "ts": ts, "message": copy.deepcopy(message)}

    def _chat_update(self, args: Args) -> Json:
        channel = self._resolve_channel(args)
        ts = _ts_arg(args, "ts")
        message = self._message_index.get((channel, ts)) if ts else None
        if message is None or ts is None:
            raise _ApiError("message_not_found")
        if message.get("user") != self.bot_user_id or message.get("bot_id") != self.bot_id:
            raise _ApiError("cant_update_message")
        if "text" in args:
            message["text"] = _str_arg(args, "text") or ""
        for key in ("blocks", "attachments"):
            if key in args:
                if args[key]:
                    message[key] = copy.deepcopy(args[key])
                else:
                    message.pop(key, None)
        if args.get("metadata"):  # without it, an update keeps the message's metadata
            message["metadata"] = _metadata_arg(args)
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts_locked()}
        return {
            "channel": channel,
            "ts": ts,
            "text": message["text"],
            "message": copy.deepcopy(message),
        }

    def _chat_post_ephemeral(self, args: Args) -> Json:
        channel = self._resolve_channel(args)
        user = _str_arg(args, "user")
        if user is None:
            raise _ApiError("user_not_found")
        self._require_content(args)
        self._check_member(str(args["channel"]), channel)
        ts = self._next_ts_locked()
        ephemeral: Json = {
            "channel": channel,
            "user": user,
            "text": _str_arg(args, "text") or "",
            "ts": ts,
        }
        for key in ("blocks", "attachments"):
            if args.get(key):
                ephemeral[key] = copy.deepcopy(args[key])
        thread_ts = _ts_arg(args, "thread_ts")
        if thread_ts is not None:
            ephemeral["thread_ts"] = thread_ts
        self._ephemerals.append(ephemeral)
        return {"message_ts": ts}

    def _chat_get_permalink(self, args: Args) -> Json:
        channel = self._resolve_channel(args)
        ts = _ts_arg(args, "message_ts")
        if ts is None:
            raise _ApiError("message_not_found")
        permalink = (
            f"https://{self.team_domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        )
        message = self._message_index.get((channel, ts))
        if message is not None and not _is_top_level(message):
            permalink += f"?thread_ts={message['thread_ts']}&cid={channel}"
        return {"channel": channel, "permalink": permalink}

    # ------------------------------------------------------------------ conversations

    def _with_thread_fields(
        self, channel: str, messages: Iterable[Json], *, include_metadata: bool = False
    ) -> list[Json]:
        """Copy messages adding the reply_count/parent_user_id fields Slack derives. A message's
        `metadata` is there only when the caller asked (`include_all_metadata`), as in Slack."""
        stored = self._messages.get(channel, [])
        replies: dict[str, list[Json]] = {}
        for message in stored:
            if not _is_top_level(message):
                replies.setdefault(message["thread_ts"], []).append(message)
        answer = []
        for message in messages:
            out = copy.deepcopy(message)
            if not include_metadata:
                out.pop("metadata", None)
            thread = replies.get(message["ts"])
            if thread and _is_top_level(message):
                users = list(dict.fromkeys(r["user"] for r in thread if "user" in r))
                out.update(
                    thread_ts=message["ts"],
                    reply_count=len(thread),
                    reply_users=users,
                    reply_users_count=len(users),
                    latest_reply=thread[-1]["ts"],
                )
            elif not _is_top_level(message):
                root = self._message_index.get((channel, message["thread_ts"]))
                if root is not None and "user" in root:
                    out["parent_user_id"] = root["user"]
            answer.append(out)
        return answer

    def _conversations_history(self, args: Args) -> Json:
        channel = self._resolve_channel(args)
        self._check_member(str(args["channel"]), channel)
        oldest, latest = _ts_arg(args, "oldest"), _ts_arg(args, "latest")
        inclusive = _bool_arg(args, "inclusive")
        selected = [
            m
            for m in reversed(self._messages.get(channel, []))
            if _is_top_level(m) and _in_range(m["ts"], oldest, latest, inclusive)
        ]
        limit = _int_arg(args, "limit", _HISTORY_DEFAULT_LIMIT)
        page, has_more, next_cursor = _paginate(
            selected, _str_arg(args, "cursor"), limit, newest_first=True
        )
        return {
            "messages": self._with_thread_fields(
                channel, page, include_metadata=_bool_arg(args, "include_all_metadata")
            ),
            "has_more": has_more,
            "pin_count": 0,
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _conversations_replies(self, args: Args) -> Json:
        channel = self._resolve_channel(args)
        self._check_member(str(args["channel"]), channel)
        ts = _ts_arg(args, "ts")
        if ts is None:
            raise _ApiError("thread_not_found")
        asked = self._message_index.get((channel, ts))
        root_ts = ts if asked is None or _is_top_level(asked) else asked["thread_ts"]
        root = self._message_index.get((channel, root_ts))
        oldest, latest = _ts_arg(args, "oldest"), _ts_arg(args, "latest")
        inclusive = _bool_arg(args, "inclusive")
        # Lenient on purpose: replies posted under a root that was never seeded (e.g. the ts
        # of a fabricated event) still form a thread.
        thread = [
            m
            for m in self._messages.get(channel, [])
            if m.get("thread_ts") == root_ts
            and m["ts"] != root_ts
            and _in_range(m["ts"], oldest, latest, inclusive)
        ]
        if root is None and not thread:
            raise _ApiError("thread_not_found")
        selected = ([root] if root is not None else []) + thread
        limit = _int_arg(args, "limit", _REPLIES_DEFAULT_LIMIT)
        page, has_more, next_cursor = _paginate(
            selected, _str_arg(args, "cursor"), limit, newest_first=False
        )
        return {
            "messages": self._with_thread_fields(
                channel, page, include_metadata=_bool_arg(args, "include_all_metadata")
            ),
            "has_more": has_more,
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _conversations_open(self, args: Args) -> Json:
        channel = _str_arg(args, "channel")
        if channel is not None:
            return {"no_op": True, "already_open": True, "channel": {"id": channel}}
        users_arg = args.get("users")
        if isinstance(users_arg, list):
            users = [str(u) for u in users_arg]
        else:
            users = [u.strip() for u in str(users_arg or "").split(",") if u.strip()]
        if not users:
            raise _ApiError("users_list_not_supplied")
        if len(users) == 1:
            channel_id = self._dm_channel(users[0])
        else:
            # Multi-person DMs get a stable made-up ID per set of members.
            channel_id = "G" + "".join(u[1:] for u in sorted(users))[:10]
        return {"no_op": False, "already_open": False, "channel": {"id": channel_id}}

    def _conversations_info(self, args: Args) -> Json:
        channel = self._resolve_channel(args)
        is_member = (
            channel not in self.not_in_channel and args["channel"] not in self.not_in_channel
        )
        if channel.startswith("D"):
            info: Json = {
                "id": channel,
                "is_im": True,
                "is_channel": False,
                "is_group": False,
                "is_private": True,
                "is_ext_shared": False,
                "user": "U" + channel[1:],
            }
        else:
            # Unregistered channels still answer, so tests only register what they care about.
            registered = self._channels.get(channel, {"name": channel.lower()})
            info = {
                "id": channel,
                "name": registered["name"],
                "is_im": False,
                "is_channel": True,
                "is_group": False,
                "is_private": registered.get("is_private", False),
                "is_ext_shared": registered.get("is_ext_shared", False),
                "is_archived": False,
            }
        info["is_member"] = is_member
        return {"channel": info}

    # ------------------------------------------------------------------ views

    def _new_hash(self) -> str:
        return f"{next(self._hash_numbers)}.{secrets.token_hex(4)}"

    def _view_arg(self, args: Args) -> Json:
        view = args.get("view")
        if not isinstance(view, dict):
            raise _ApiError("invalid_arguments")
        return view

    def _build_view(self, view: Json, *, view_id: str, previous: Json | None = None) -> Json:
        """Fill in the fields Slack adds to a stored view; ``previous`` keeps ids stable."""
        built: Json = {
            "type": "modal",
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "title": None,
            "close": None,
            "submit": None,
            "clear_on_close": False,
            "notify_on_close": False,
            "external_id": "",
            "previous_view_id": None,
            "root_view_id": view_id,
        }
        if previous is not None:
            built.update(
                external_id=previous.get("external_id", ""),
                previous_view_id=previous.get("previous_view_id"),
                root_view_id=previous.get("root_view_id", view_id),
            )
        built.update(copy.deepcopy(view))
        built.update(
            id=view_id,
            team_id=self.team_id,
            state={"values": {}},
            hash=self._new_hash(),
            app_id=self.app_id,
            app_installed_team_id=self.team_id,
            bot_id=self.bot_id,
        )
        self.views[view_id] = built
        return {"view": copy.deepcopy(built)}

    def _open_view(self, args: Args) -> Json:
        trigger_id = _str_arg(args, "trigger_id")
        if trigger_id is None:
            raise _ApiError("invalid_arguments")
        if trigger_id in self.expired_triggers:
            raise _ApiError("expired_trigger_id")
        view = self._view_arg(args)
        return self._build_view(view, view_id=f"V{next(self._view_numbers):07d}")

    def _views_open(self, args: Args) -> Json:
        return self._open_view(args)

    def _views_push(self, args: Args) -> Json:
        return self._open_view(args)

    def _views_update(self, args: Args) -> Json:
        view = self._view_arg(args)
        view_id = _str_arg(args, "view_id")
        external_id = _str_arg(args, "external_id")
        current: Json | None = None
        if view_id is not None:
            current = self.views.get(view_id)
        elif external_id is not None:
            current = next(
                (v for v in self.views.values() if v.get("external_id") == external_id), None
            )
        if current is None:
            raise _ApiError("not_found")
        expected = _str_arg(args, "hash")
        if expected is not None and expected != current["hash"]:
            raise _ApiError("hash_conflict")
        return self._build_view(view, view_id=current["id"], previous=current)

    def _views_publish(self, args: Args) -> Json:
        user_id = _str_arg(args, "user_id")
        if user_id is None:
            raise _ApiError("invalid_arguments")
        view = self._view_arg(args)
        current = self.views.get(self._home_views.get(user_id, ""))
        if current is None:
            view_id = f"V{next(self._view_numbers):07d}"
            self._home_views[user_id] = view_id
            return self._build_view(view, view_id=view_id)
        expected = _str_arg(args, "hash")
        if expected is not None and expected != current["hash"]:
            raise _ApiError("hash_conflict")
        return self._build_view(view, view_id=current["id"], previous=current)

    def uploaded_files(self, channel: str | None = None) -> list[UploadedFile]:
        """Files shared so far (completed uploads), oldest first, optionally in one channel."""
        with self._lock:
            wanted = self._dm_channel(channel) if channel is not None else None
            return [f for f in self._uploaded if wanted is None or f.channel == wanted]

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        """The App Home view last published for `user_id`, as Slack stores it."""
        with self._lock:
            view = self.views.get(self._home_views.get(user_id, ""))
            return copy.deepcopy(view) if view is not None else None

    # ------------------------------------------------------------------ users / reactions

    def _usergroups_users_list(self, args: Args) -> Json:
        group = _str_arg(args, "usergroup")
        if group is None:
            raise _ApiError("invalid_arguments")
        if group not in self.usergroups:
            raise _ApiError("no_such_subteam")
        return {"users": list(self.usergroups[group])}

    def _users_info(self, args: Args) -> Json:
        user = self._users.get(_str_arg(args, "user") or "")
        if user is None:
            raise _ApiError("user_not_found")
        return {"user": copy.deepcopy(user)}

    def _reactions_add(self, args: Args) -> Json:
        name = _str_arg(args, "name")
        if name is None:
            raise _ApiError("invalid_name")
        channel = self._resolve_channel(args)
        ts = _ts_arg(args, "timestamp")
        message = self._message_index.get((channel, ts)) if ts else None
        if message is not None:
            reactions: list[Json] = message.setdefault("reactions", [])
            entry = next((r for r in reactions if r["name"] == name), None)
            if entry is None:
                entry = {"name": name, "users": [], "count": 0}
                reactions.append(entry)
            if self.bot_user_id not in entry["users"]:
                entry["users"].append(self.bot_user_id)
                entry["count"] = len(entry["users"])
        return {}

    # ------------------------------------------------------------------ files

    def _files_get_upload_url_external(self, args: Args) -> Json:
        filename = _str_arg(args, "filename")
        raw_length = _str_arg(args, "length")
        if filename is None or raw_length is None:
            raise _ApiError("invalid_arguments")
        try:
            length = int(raw_length)
        except ValueError:
            raise _ApiError("invalid_arguments") from None
        if length <= 0:
            raise _ApiError("missing_argument")  # Slack's answer to a length of 0
        alt_txt = _str_arg(args, "alt_txt")
        if alt_txt is not None and len(alt_txt) > _ALT_TXT_LIMIT:
            raise _ApiError("alt_txt_too_large")
        file_id = f"F0{next(self._file_numbers):09d}"
        token = secrets.token_urlsafe(16)
        self._uploads[token] = _Upload(
            file_id=file_id,
            token=token,
            filename=filename,
            length=length,
            alt_txt=alt_txt,
            snippet_type=_str_arg(args, "snippet_type"),
        )
        root = self.url.removesuffix("api/")
        return {"upload_url": f"{root}{_UPLOAD_PATH.lstrip('/')}{token}", "file_id": file_id}

    def _files_complete_upload_external(self, args: Args) -> Json:
        wanted = args.get("files")
        if (
            not isinstance(wanted, list)
            or not wanted
            or not all(isinstance(f, dict) and f.get("id") for f in wanted)
        ):
            raise _ApiError("invalid_arguments")
        by_id = {upload.file_id: upload for upload in self._uploads.values()}
        uploads = [by_id.get(str(f["id"])) for f in wanted]
        if any(u is None or u.content is None or u.completed for u in uploads):
            raise _ApiError("file_not_found")
        targets: list[str] = []
        if _str_arg(args, "channel_id") is not None:
            channel = self._resolve_channel(args, "channel_id")
            self._check_member(str(args["channel_id"]), channel)
            targets.append(channel)
        else:
            for raw in (_str_arg(args, "channels") or "").split(","):
                if raw.strip():
                    channel = self._resolve_channel({"channel": raw.strip()})
                    self._check_member(raw.strip(), channel)
                    targets.append(channel)
        thread_ts = _ts_arg(args, "thread_ts")
        if thread_ts is not None and len(targets) != 1:
            raise _ApiError("invalid_arguments")  # a thread is in one channel
        comment = _str_arg(args, "initial_comment")
        files: list[Json] = []
        for request, upload in zip(wanted, uploads, strict=True):
            assert upload is not None and upload.content is not None
            upload.completed = True
            title = str(request.get("title") or upload.filename)
            files.append(self._file_object(upload, title=title, channels=targets))
            shared_in: list[str | None] = [*targets] or [None]  # None: a private file
            for where in shared_in:
                self._uploaded.append(
                    UploadedFile(
                        id=upload.file_id,
                        filename=upload.filename,
                        title=title,
                        alt_txt=upload.alt_txt,
                        channel=where,
                        thread_ts=thread_ts,
                        initial_comment=comment,
                        content=upload.content,
                    )
                )
        for channel in targets:
            # One message per share, as Slack posts it: the comment as its text, the files on it.
            message: Json = {
                "type": "message",
                "text": comment or "",
                "files": copy.deepcopy(files),
                "upload": True,
                "user": self.bot_user_id,
                "bot_id": self.bot_id,
                "app_id": self.app_id,
                "display_as_bot": False,
                "ts": self._next_ts_locked(),
            }
            if thread_ts is not None:
                message["thread_ts"] = thread_ts
            message["team"] = self.team_id
            self._store(channel, message)
        return {"files": files}

    def _file_object(self, upload: _Upload, *, title: str, channels: list[str]) -> Json:
        """The file as Slack describes it (the fields the app could look at)."""
        content = upload.content or b""
        extension = upload.filename.rpartition(".")[2].lower() if "." in upload.filename else ""
        mimetype = mimetypes.guess_type(upload.filename)[0] or "application/octet-stream"
        now = self._clock_micros() // 1_000_000  # Slack's clock
        described: Json = {
            "id": upload.file_id,
            "created": now,
            "timestamp": now,
            "name": upload.filename,
            "title": title,
            "mimetype": mimetype,
            "filetype": extension or "binary",
            "pretty_type": extension.upper() or "Binary",
            "user": self.bot_user_id,
            "user_team": self.team_id,
            "mode": "hosted",
            "is_external": False,
            "is_public": any(c.startswith("C") for c in channels),
            "size": len(content),
            "permalink": f"https://{self.team_domain}.slack.com/files/{self.bot_user_id}/"
            f"{upload.file_id}/{upload.filename}",
        }
        if upload.alt_txt is not None:
            described["alt_txt"] = upload.alt_txt
        if content.startswith(_PNG_SIGNATURE) and len(content) >= 24:
            described["original_w"], described["original_h"] = struct.unpack(">II", content[16:24])
        return described
