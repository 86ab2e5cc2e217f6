"""The outbox dispatcher: the one way the desk speaks to Slack.

Rows are written by workflows in the same transaction as the state change. The dispatcher leases due
rows (a conditional UPDATE, so several replicas never send one row twice), makes the call outside
any transaction, then records the outcome:

- success: the domain's `delivered` hook records what Slack answered (e.g. where a card landed);
- HTTP 429: retried after `Retry-After`, and that method pauses in this process meanwhile;
- 5xx, Slack's transient errors, connection errors: retried with exponential backoff;
- any other Slack error: the domain's `failed` hook may replace the call (a DM instead of a channel
  the bot isn't in); otherwise the row is marked failed and logged with its ticket.

`files.uploadV2` is not a Slack method but the desk's name for slack_sdk's three-step upload
(files.getUploadURLExternal, a POST of the bytes, files.completeUploadExternal); a row carries its
files base64-encoded. Any step failing makes the whole upload run again later: an upload URL that
was never completed is simply dropped by Slack.

Exactly once where Slack keeps no idempotency key. A chat.postMessage carries message metadata
naming its row (`supportbot_outbox`: the row id and a nonce kept in the row), and the lease's
transaction marks the row in flight (`_in_flight` in its payload bookkeeping: where the post goes,
and when) before the call; recording the answer clears the mark. A row leased again with the mark
still on had a post whose outcome nobody knows: the process died or the database went away before
the answer was recorded (the lease expired), or Slack answered 5xx, `internal_error` or
`fatal_error` ("some aspect of the operation may have succeeded"), or the connection broke. Before
anything is sent for it again, the post's thread (conversations.replies) or channel
(conversations.history since just before the attempt) is read with `include_all_metadata`, and a
message carrying the row's metadata is recorded as the delivery, as if chat.postMessage had just
answered. Cards, escalation cards, surveys and offers whose ts is known are updated
(chat.update), never posted anew (see workflows/delivery.py).

Still at-least-once: chat.postEphemeral and file uploads, which can't be read back, and a post
whose target the bot can't read (not a member, or a DM addressed by user ID without `im:write`):
then a rare duplicate beats a lost message. Updates, App Home, reactions and reads repeat safely.
"""

from __future__ import annotations

import base64
import logging
import random
import secrets
import urllib.error
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from sqlalchemy.orm import Session

from bot.background import PassLoop
from storage.db import SessionFactory
from storage.models import OutboxMessage
from storage.repositories import OutboxRepository
from workflows.clock import Clock, datetime_to_slack_ts
from workflows.delivery import UPLOAD_FILES, SlackCall

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
# Calls in flight at once from a running dispatcher. Slack answers in 100-300 ms, so one call at a
# time would post a few cards a second; rows of one ticket still go one at a time, in order
# (a pass lists at most one row per ticket). `drain` (tests, the demo) sends one at a time.
SENDERS = 2
MAX_BACKOFF = timedelta(minutes=10)
MAX_ATTEMPTS = 30  # with backoff capped at 10 minutes: about four hours of Slack trouble
TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
# Slack's read methods take form-encoded arguments; JSON bodies are for write methods.
FORM_METHODS = frozenset(
    {
        "chat.getPermalink",
        "conversations.history",
        "conversations.replies",
        "conversations.info",
        "conversations.open",
        "users.info",
        "usergroups.users.list",
    }
)
KEPT_RESPONSE_KEYS = ("channel", "ts", "message_ts", "file_ids")

# Exactly-once posts: the message metadata that names a row, and the row's bookkeeping for it.
OUTBOX_EVENT_TYPE = "supportbot_outbox"
IN_FLIGHT = "_in_flight"  # where and when a post went whose answer isn't recorded yet
NONCE = "_outbox_nonce"  # tells this desk's row 12 from another install's row 12 in one channel
# How far before an attempt to read back: clock skew between this host and Slack, with room.
LOOKBACK = timedelta(minutes=10)
LOOKUP_PAGE_SIZE = 100
LOOKUP_MAX_PAGES = 10


class Hooks(Protocol):
    def prepare(self, session: Session, row: OutboxMessage) -> SlackCall | None: ...

    def delivered(
        self, session: Session, row: OutboxMessage, response: dict[str, Any], *, now: datetime
    ) -> SlackCall | None: ...

    def failed(
        self, session: Session, row: OutboxMessage, error: str, *, now: datetime
    ) -> SlackCall | None: ...


@dataclass(frozen=True)
class Attempt:
    ok: bool
    data: dict[str, Any]
    error: str | None = None
    retry_after: float | None = None  # seconds, when Slack or the network says "later"
    # The call may have taken effect though no answer says so (5xx, a broken connection).
    maybe_landed: bool = False
    method: str | None = None  # the method that failed, when it isn't the row's own


class Dispatcher:
    def __init__(
        self,
        session_factory: SessionFactory,
        client: WebClient,
        hooks: Hooks,
        clock: Clock,
        *,
        owner: str | None = None,
        senders: int = SENDERS,
        gate: Any = None,
    ) -> None:
        """`gate` (an `AckGate`): a running dispatcher's senders wait for this process's Slack
        requests in flight to be answered before each call, as its inbox worker does."""
        self.session_factory = session_factory
        self.senders = senders
        self.gate = gate
        self._pool: ThreadPoolExecutor | None = None
        self.client = client
        self.hooks = hooks
        self.clock = clock
        self.owner = owner or f"dispatcher-{uuid.uuid4().hex[:8]}"
        self._paused_until: dict[str, datetime] = {}
        self._loop = PassLoop("outbox-dispatcher", self.deliver_due, self._pass_failed)
        # `wake` is called after a commit that wrote rows: deliver at once, not at the next poll.
        self.wake, self.start = self._loop.wake, self._loop.start

    def stop(self, timeout: float = 10.0) -> None:
        self._loop.stop(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    # --- running --------------------------------------------------------------------------------

    @staticmethod
    def _pass_failed(exc: Exception) -> None:
        logger.error("outbox: delivery pass failed", exc_info=exc)

    def drain(self, *, max_passes: int = 100) -> int:
        """Deliver until nothing is due now; returns how many calls were made (tests, demo, CLI).
        A pass that only dropped rows still counts as progress: rows behind them may be due."""
        total = 0
        for _ in range(max_passes):
            made, handled = self._pass(limit=50)
            total += made
            if handled == 0:
                break
        return total

    # --- one pass -------------------------------------------------------------------------------

    def deliver_due(self, *, limit: int = 50) -> int:
        return self._pass(limit=limit, senders=self.senders)[0]

    def _pass(self, *, limit: int, senders: int = 1) -> tuple[int, int]:
        """One pass over the due rows: (calls made, rows settled: sent, failed or dropped)."""
        now = self.clock.now()
        with self.session_factory.begin() as session:
            due = OutboxRepository(session).due(now=now, limit=limit)
        # One lane per ticket (a pass has at most one row of each), and one for the rows of no
        # ticket (digests, App Home), which keep their order among themselves.
        lanes: dict[int | None, list[int]] = {}
        for row_id, ticket_id in due:
            lanes.setdefault(ticket_id, []).append(row_id)
        if senders > 1 and len(lanes) > 1:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(senders, thread_name_prefix="outbox-sender")
            outcomes = [
                outcome
                for lane in self._pool.map(self._deliver_gated_lane, lanes.values())
                for outcome in lane
            ]
        else:
            outcomes = self._deliver_lane([row_id for row_id, _ in due], gated=senders > 1)
        made = sum(outcome == "called" for outcome in outcomes)
        handled = sum(outcome != "skipped" for outcome in outcomes)
        return made, handled

    def _deliver_lane(self, row_ids: list[int], *, gated: bool = False) -> list[str]:
        outcomes = []
        for row_id in row_ids:
            if gated and self.gate is not None:
                self.gate.wait_for_quiet()
            outcomes.append(self._deliver_one(row_id))
        return outcomes

    def _deliver_gated_lane(self, row_ids: list[int]) -> list[str]:
        return self._deliver_lane(row_ids, gated=True)

    def _deliver_one(self, row_id: int) -> str:
        """What became of the row: called Slack, dropped (nothing to send), or skipped (taken,
        paused or not due)."""
        now = self.clock.now()
        with self.session_factory.begin() as session:
            outbox = OutboxRepository(session)
            row = outbox.get(row_id)
            if row is None or self._is_paused(row.method, now):
                return "skipped"
            if not outbox.lease(row_id, owner=self.owner, now=now, for_=LEASE):
                return "skipped"
            session.refresh(row)  # the lease was a bulk UPDATE: see its values
            unsettled = row.payload.get(IN_FLIGHT)
            call = self.hooks.prepare(session, row)
            if call is None:
                row.status = "dropped"
                row.lease_owner = row.lease_until = None
                return "dropped"
            call = _with_outbox_metadata(row, call)
            if unsettled is None:
                _mark_in_flight(row, call, now)
        attempt = self._settle(row_id, unsettled, call) if unsettled else self._call(call)
        with self.session_factory.begin() as session:
            row = OutboxRepository(session).get(row_id)
            if row is not None:
                self._record(session, row, call, attempt)
        return "called"

    def _settle(self, row_id: int, unsettled: dict[str, Any], call: SlackCall) -> Attempt:
        """The row's last post may have landed without its answer being recorded: look for it
        before anything is sent again. Found, it is the delivery; not there, `call` goes out."""
        found = self._find_posted(row_id, unsettled)
        if found is not None and found.ok:
            logger.info("outbox: row %s had been posted already (ts %s)", row_id, found.data["ts"])
            return found
        if found is not None and found.retry_after is not None:
            return replace(found, maybe_landed=True)  # Slack can't say now: look again later
        if found is not None:
            logger.warning(
                "outbox: could not check whether row %s was posted (%s); posting it again",
                row_id,
                found.error,
            )
        if call.method == "chat.postMessage":  # this post's outcome is the unknown one now
            with self.session_factory.begin() as session:
                row = OutboxRepository(session).get(row_id)
                if row is None:
                    return Attempt(ok=False, data={}, error="row gone")
                _mark_in_flight(row, call, self.clock.now())
        return self._call(call)

    def _find_posted(self, row_id: int, unsettled: dict[str, Any]) -> Attempt | None:
        """The message an earlier post of this row left, read back by its metadata from its
        thread or channel: an answer shaped like chat.postMessage's, None when it isn't there,
        or the failed read."""
        channel = str(unsettled.get("channel") or "")
        nonce = unsettled.get("nonce")
        if channel[:1] in ("U", "W"):  # a DM addressed to a person: history needs its own id
            opened = self._call(SlackCall("conversations.open", {"users": channel}))
            if not opened.ok:
                return replace(opened, method="conversations.open")
            channel = str((opened.data.get("channel") or {}).get("id") or channel)
        since = datetime.fromisoformat(unsettled["at"]) - LOOKBACK
        args: dict[str, Any] = {
            "channel": channel,
            "oldest": datetime_to_slack_ts(since),
            "inclusive": True,
            "include_all_metadata": True,
            "limit": LOOKUP_PAGE_SIZE,
        }
        method = "conversations.history"
        if unsettled.get("thread_ts"):
            method, args["ts"] = "conversations.replies", unsettled["thread_ts"]
        for _ in range(LOOKUP_MAX_PAGES):
            page = self._call(SlackCall(method, args))
            if not page.ok:
                return replace(page, method=method)
            for message in page.data.get("messages") or []:
                if _is_posted_by(message, row_id=row_id, nonce=nonce):
                    data = {"ok": True, "channel": channel, "ts": message["ts"], "message": message}
                    return Attempt(ok=True, data=data)
            cursor = (page.data.get("response_metadata") or {}).get("next_cursor")
            if not page.data.get("has_more") or not cursor:
                return None
            args = {**args, "cursor": cursor}
        return None

    def _call(self, call: SlackCall) -> Attempt:
        try:
            if call.method == UPLOAD_FILES:
                return self._upload(call.payload)
            if call.method in FORM_METHODS:
                response = self.client.api_call(call.method, data=call.payload)
            else:
                response = self.client.api_call(call.method, json=call.payload)
        except SlackApiError as exc:
            return _attempt_from_error(exc)
        except OSError as exc:  # connection refused or reset, DNS, timeouts
            return Attempt(
                ok=False,
                data={},
                error=f"connection error: {exc}",
                retry_after=0,
                maybe_landed=True,
            )
        data = response.data if isinstance(response.data, dict) else {}
        return Attempt(ok=True, data=data)

    def _upload(self, payload: dict[str, Any]) -> Attempt:
        """Upload a row's files (and share them in its channel). A 429 from either API step
        holds `files.uploadV2` rows, the only ones that call them."""
        try:
            uploads = [
                {
                    "content": base64.b64decode(item["content_b64"], validate=True),
                    "filename": item["filename"],
                    "title": item.get("title") or item["filename"],
                    "alt_txt": item.get("alt_txt") or None,
                }
                for item in payload.get("files") or []
            ]
        except (KeyError, TypeError, ValueError) as exc:  # binascii.Error is a ValueError
            return Attempt(ok=False, data={}, error=f"invalid_files: {exc!r}")
        if not uploads:
            return Attempt(ok=False, data={}, error="invalid_files: none to upload")
        try:
            response = self.client.files_upload_v2(
                file_uploads=uploads,
                channel=payload.get("channel"),
                initial_comment=payload.get("initial_comment") or None,
                thread_ts=payload.get("thread_ts") or None,
            )
        except urllib.error.HTTPError as exc:  # the POST of the bytes: urllib raises on 4xx/5xx
            retry_after = _retry_after(exc.headers or {}) if exc.code == 429 else 0
            return Attempt(
                ok=False, data={}, error=f"upload failed: HTTP {exc.code}", retry_after=retry_after
            )
        except SlackRequestError as exc:  # the POST answered, but not 200: try again later
            return Attempt(ok=False, data={}, error=f"upload failed: {exc}", retry_after=0)
        files = response.get("files") or []
        # Only the ids: the stored response stays small whatever Slack says about each file.
        file_ids = [item["id"] for item in files if isinstance(item, dict) and "id" in item]
        return Attempt(ok=True, data={"channel": payload.get("channel"), "file_ids": file_ids})

    def _record(
        self, session: Session, row: OutboxMessage, call: SlackCall, attempt: Attempt
    ) -> None:
        now = self.clock.now()
        row.attempts += 1
        row.lease_owner = None
        row.lease_until = None
        if IN_FLIGHT in row.payload and (attempt.ok or not attempt.maybe_landed):
            # The post's outcome is known: the next call needs no looking back first.
            row.payload = {k: v for k, v in row.payload.items() if k != IN_FLIGHT}
        if attempt.ok:
            replacement = self.hooks.delivered(session, row, attempt.data, now=now)
            if replacement is not None:
                _replace(row, replacement, now)
                return
            row.status = "sent"
            row.sent_at = now
            row.last_error = None
            row.response = {k: attempt.data[k] for k in KEPT_RESPONSE_KEYS if k in attempt.data}
            if row.method == UPLOAD_FILES:  # delivered: the file bodies need not stay in the table
                row.payload = _without_file_bodies(row.payload)
            return
        row.last_error = attempt.error
        if attempt.retry_after is not None and row.attempts < MAX_ATTEMPTS:
            delay = self._delay(row, attempt)
            row.next_attempt_at = now + delay
            logger.warning(
                "outbox: %s for ticket %s failed (%s); retrying in %.0fs",
                row.method,
                row.ticket_id,
                attempt.error,
                delay.total_seconds(),
            )
            return
        replacement = self.hooks.failed(session, row, attempt.error or "unknown", now=now)
        if replacement is not None:
            _replace(row, replacement, now)
            return
        row.status = "failed"
        logger.error(
            "outbox: %s for ticket %s failed for good: %s", row.method, row.ticket_id, attempt.error
        )

    def _delay(self, row: OutboxMessage, attempt: Attempt) -> timedelta:
        if attempt.retry_after:  # Slack said when: honour it, and hold this method meanwhile
            delay = timedelta(seconds=attempt.retry_after)
            self._paused_until[attempt.method or row.method] = self.clock.now() + delay
            return delay
        backoff = min(2 ** (row.attempts - 1), MAX_BACKOFF.total_seconds())
        return timedelta(seconds=backoff * random.uniform(0.8, 1.2))

    def _is_paused(self, method: str, now: datetime) -> bool:
        until = self._paused_until.get(method)
        return until is not None and now < until


def _with_outbox_metadata(row: OutboxMessage, call: SlackCall) -> SlackCall:
    """A post carries metadata naming its row, so it can be found if its answer is lost. (The
    dispatcher owns a post's metadata: a payload's own would be replaced.)"""
    if call.method != "chat.postMessage":
        return call
    nonce = row.payload.get(NONCE)
    if not nonce:
        nonce = secrets.token_hex(8)
        row.payload = {**row.payload, NONCE: nonce}
    metadata = {
        "event_type": OUTBOX_EVENT_TYPE,
        "event_payload": {"outbox_id": row.id, "nonce": nonce},
    }
    return SlackCall(call.method, {**call.payload, "metadata": metadata})


def _mark_in_flight(row: OutboxMessage, call: SlackCall, now: datetime) -> None:
    """Committed before a post goes out: should its answer never be recorded, the next lease
    knows to look for it first."""
    if call.method != "chat.postMessage":
        return
    row.payload = {
        **row.payload,
        IN_FLIGHT: {
            "channel": call.payload.get("channel"),
            "thread_ts": call.payload.get("thread_ts") or None,
            "nonce": row.payload.get(NONCE),
            "at": now.isoformat(),
        },
    }


def _is_posted_by(message: dict[str, Any], *, row_id: int, nonce: Any) -> bool:
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    return (
        metadata.get("event_type") == OUTBOX_EVENT_TYPE
        and payload.get("outbox_id") == row_id
        and payload.get("nonce") == nonce
    )


def _replace(row: OutboxMessage, call: SlackCall, now: datetime) -> None:
    row.method = call.method
    row.payload = {**{k: v for k, v in row.payload.items() if k.startswith("_")}, **call.payload}
    row.attempts = 0
    row.next_attempt_at = now
    row.status = "pending"


def _without_file_bodies(payload: dict[str, Any]) -> dict[str, Any]:
    files = [
        {k: v for k, v in item.items() if k != "content_b64"}
        for item in payload.get("files") or []
        if isinstance(item, dict)
    ]
    return {**payload, "files": files}


def _attempt_from_error(exc: SlackApiError) -> Attempt:
    response = exc.response
    status = getattr(response, "status_code", 0) or 0
    data = response.data if isinstance(getattr(response, "data", None), dict) else {}
    error = str(data.get("error") or f"HTTP {status}")
    if status == 429:
        headers = getattr(response, "headers", {}) or {}
        retry_after = _retry_after(headers)
        return Attempt(ok=False, data=data, error="ratelimited", retry_after=retry_after)
    if status >= 500 or error in TRANSIENT_ERRORS:
        # Slack's own words for internal_error and fatal_error: some of it may have been done.
        landed = error != "ratelimited"
        return Attempt(ok=False, data=data, error=error, retry_after=0, maybe_landed=landed)
    return Attempt(ok=False, data=data, error=error)


def _retry_after(headers: Any) -> float:
    for key, value in dict(headers).items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return max(float(raw), 1.0)
            except (TypeError, ValueError):
                break
    return 1.0
