"""The event inbox: Slack gets its 200 as soon as an event is stored; workers process it after.

The ack path (`accept_event`) does one short transaction: insert the event under its `event_id`
(unique, so Slack's retries and double deliveries are stored once) and answer. It never calls
Slack and never runs a workflow, so an ack takes milliseconds whatever the desk is doing.

`InboxWorker` leases due rows (in order per channel: a reply after its question, an edit after
its message) and replays each through the Bolt app's listeners, the same code that handled
events before the inbox existed. A row that raises is retried with backoff, then parked as
`failed` with its reason; it never holds up the rows behind it. Processing is idempotent by the
event id (`processed_events`), so a row processed twice after a crash changes nothing twice.

A request that retrying can't fix (a field of the wrong shape, a `ts` that isn't one) is
stored parked at once and answered 200, so Slack doesn't retry it forever; a body that isn't
JSON gets a 400. Only what retrying can fix (the database is away) answers 500.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from bot.background import PassLoop
from bot.metrics import DeskMetrics
from bot.sanitize import clean_json, nesting_depth
from storage.db import SessionFactory
from storage.inbox import InboxIntake, InboxRepository
from storage.models import InboxEvent
from workflows.clock import Clock

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 5  # backoff 1, 2, 4, 8 s: a bug parks its row within seconds, Slack's blips don't
MAX_BACKOFF = timedelta(minutes=5)
MAX_NESTING = 64  # Slack's payloads nest a dozen levels; a deeper one is not Slack's
# A NUL or a surrogate can only be in a JSON text as an escape (raw ones aren't UTF-8 or JSON).
_MAY_NEED_CLEANING = re.compile(rb"\\u(0000|[dD][89a-fA-F])")
EVENT_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
SLACK_TS = re.compile(r"[0-9]{1,12}(\.[0-9]{1,6})?")
# Fields Slack always sends as strings when it sends them at all, and those that are times.
STRING_FIELDS = (
    "type",
    "subtype",
    "channel",
    "user",
    "text",
    "ts",
    "thread_ts",
    "event_ts",
    "deleted_ts",
    "reaction",
    "item_user",
    "team",
    "user_team",
    "source_team",
    "bot_id",
    "tab",
)
TS_FIELDS = ("ts", "thread_ts", "event_ts", "deleted_ts")
OBJECT_FIELDS = ("item", "message", "previous_message", "edited")
# What an event of these types can't do without.
REQUIRED = {
    "message": ("channel",),
    "app_mention": ("channel", "ts", "user"),
    "reaction_added": ("user", "reaction"),
    "reaction_removed": ("user", "reaction"),
    "app_home_opened": ("user",),
}


@dataclass(frozen=True)
class Accepted:
    """How the ack path answered: the HTTP status and, for a request it parked, why."""

    status: int
    problem: str | None = None
    duplicate: bool = False


def accept_body(raw: bytes, *, intake: InboxIntake, clock: Clock, metrics: DeskMetrics) -> Accepted:
    """An Events API request's body, signature already checked: parse it, then `accept_event`."""
    try:
        envelope = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        problem = f"the body is not JSON ({type(exc).__name__})"
        logger.warning("inbox: refused a request: %s", problem)
        metrics.events_refused.inc()
        return Accepted(400, problem)
    return accept_event(envelope, raw=raw, intake=intake, clock=clock, metrics=metrics)


def accept_event(
    envelope: Any,
    *,
    raw: bytes | None = None,
    intake: InboxIntake,
    clock: Clock,
    metrics: DeskMetrics,
) -> Accepted:
    """Store one Events API envelope (cleaned of NUL bytes and lone surrogates) and answer.
    A database error propagates: the caller answers 500 and Slack retries."""
    problem = event_problem(envelope, raw)
    if problem is None and raw is not None and not _MAY_NEED_CLEANING.search(raw):
        body = raw.decode("utf-8")  # the common case: stored as Slack sent it
    elif problem is None:
        envelope = clean_json(envelope)
        body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))
    else:
        body = _printable_body(envelope, raw)
    event = envelope.get("event") if isinstance(envelope, dict) else None
    event = event if isinstance(event, dict) else {}
    event_id = envelope.get("event_id") if isinstance(envelope, dict) else None
    if isinstance(event_id, str) and EVENT_ID.fullmatch(event_id):
        key = event_id
    else:  # a replay of the same bytes has the same key
        key = "sha256:" + hashlib.sha256(raw if raw is not None else body.encode()).hexdigest()
    event_type = event.get("type") if isinstance(event.get("type"), str) else None
    stored = intake.store(
        dedupe_key=key,
        kind="event",
        event_type=clean_json(event_type)[:64] if event_type else None,
        ordering_key=ordering_key(event) if problem is None else None,
        body=body,
        now=clock.now(),
        parked_because=problem,
    )
    if problem is not None:
        logger.warning("inbox: parked event %s without processing it: %s", key[:80], problem)
        metrics.events_refused.inc()
        return Accepted(200, problem, duplicate=not stored)
    if stored:
        metrics.events_acknowledged.inc()
    return Accepted(200, duplicate=not stored)


def event_problem(envelope: Any, raw: bytes | None = None) -> str | None:
    """What makes this envelope unusable, in a few words, or None when the desk can use it."""
    if not isinstance(envelope, dict):
        return f"the body is a JSON {type(envelope).__name__}, not an object"
    # Fewer brackets than the limit in the whole body can't nest deeper (the common case,
    # counted in C); otherwise walk it.
    few_brackets = raw is not None and raw.count(b"{") + raw.count(b"[") <= MAX_NESTING
    if not few_brackets and nesting_depth(envelope, limit=MAX_NESTING) > MAX_NESTING:
        return f"the body nests more than {MAX_NESTING} levels deep"
    event_id = envelope.get("event_id")
    if not isinstance(event_id, str) or not EVENT_ID.fullmatch(event_id):
        return "event_id is missing or not a Slack event id"
    for key in ("team_id", "api_app_id"):
        if key in envelope and not isinstance(envelope[key], str | None):
            return f"{key} is not a string"
    event = envelope.get("event")
    if not isinstance(event, dict):
        return "event is missing or not an object"
    event_type = event.get("type")
    if not isinstance(event_type, str) or not event_type:
        return "event.type is missing or not a string"
    problem = _fields_problem(event, "event")
    if problem:
        return problem
    for name in REQUIRED.get(event_type, ()):
        if not event.get(name):
            return f"event.{name} is missing"
    if event_type == "message":
        subtype = event.get("subtype")
        if subtype == "message_changed":
            changed = event.get("message")
            if not isinstance(changed, dict):
                return "event.message is missing"
        elif subtype == "message_deleted":
            if not event.get("deleted_ts"):
                return "event.deleted_ts is missing"
        elif not event.get("ts"):
            return "event.ts is missing"
    if event_type.startswith("reaction_"):
        item = event.get("item")
        if not isinstance(item, dict):
            return "event.item is missing or not an object"
        if item.get("type") in (None, "message") and not (item.get("channel") and item.get("ts")):
            return "event.item has no channel or ts"
    return None


def _fields_problem(obj: dict[str, Any], where: str) -> str | None:
    for name in STRING_FIELDS:
        if name in obj and obj[name] is not None and not isinstance(obj[name], str):
            return f"{where}.{name} is a {type(obj[name]).__name__}, not a string"
    for name in TS_FIELDS:
        value = obj.get(name)
        if value and not SLACK_TS.fullmatch(value):
            return f"{where}.{name} is not a Slack timestamp"
    for name in OBJECT_FIELDS:
        if name in obj and obj[name] is not None and not isinstance(obj[name], dict):
            return f"{where}.{name} is not an object"
        if isinstance(obj.get(name), dict):
            problem = _fields_problem(obj[name], f"{where}.{name}")
            if problem:
                return problem
    for name in ("files", "blocks", "attachments"):
        if name in obj and obj[name] is not None and not isinstance(obj[name], list):
            return f"{where}.{name} is not a list"
    return None


def ordering_key(event: dict[str, Any]) -> str | None:
    """Events of one channel are processed in the order they arrived: grouping a customer's
    burst, a reply after its question, an edit after its message all depend on it."""
    item = event.get("item") if isinstance(event.get("item"), dict) else {}
    channel = event.get("channel") or item.get("channel")
    return str(channel)[:100] if isinstance(channel, str) and channel else None


def _printable_body(envelope: Any, raw: bytes | None) -> str:
    """A parked request's body as text for `supportbot inbox`, whatever was in it."""
    if raw is not None:
        text = raw.decode("utf-8", errors="replace")
    else:
        try:
            text = json.dumps(envelope, default=repr)
        except (TypeError, ValueError, RecursionError):
            text = repr(envelope)
    return clean_json(text)


# --- the worker ----------------------------------------------------------------------------------


class AckGate:
    """Acks first: Slack's requests in flight in this process make its inbox worker wait a few
    milliseconds before its next row (Python runs one thread at a time, so a worker busy with
    intake would otherwise stretch every ack). During a burst the worker catches up after it."""

    def __init__(self, *, longest_wait: float = 0.25) -> None:
        self._in_flight = 0
        self._quiet = threading.Condition()
        self.longest_wait = longest_wait

    def __enter__(self) -> AckGate:
        with self._quiet:
            self._in_flight += 1
        return self

    def __exit__(self, *exc: object) -> None:
        with self._quiet:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._quiet.notify_all()

    def wait_for_quiet(self) -> None:
        """Woken when the last request in flight is answered (no polling: a worker that woke
        every few milliseconds to look would itself take turns from the acks)."""
        with self._quiet:
            self._quiet.wait_for(lambda: self._in_flight == 0, timeout=self.longest_wait)


Processor = Callable[[dict[str, Any]], None]


class InboxWorker:
    """Works the inbox on a thread of its own (`serve`, `work`), or by hand (`drain`: tests,
    `supportbot inbox retry`). Several workers, in one process or many, share the rows."""

    def __init__(
        self,
        session_factory: SessionFactory,
        process: Processor,
        clock: Clock,
        metrics: DeskMetrics,
        *,
        owner: str | None = None,
        on_processed: Callable[[], None] | None = None,
        gate: AckGate | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.process = process
        self.clock = clock
        self.metrics = metrics
        self.owner = owner or f"inbox-{uuid.uuid4().hex[:8]}"
        self.on_processed = on_processed or (lambda: None)
        self.gate = gate
        self._loop = PassLoop("inbox-worker", self.work_due, self._pass_failed)
        self.wake, self.start, self.stop = self._loop.wake, self._loop.start, self._loop.stop

    def _pass_failed(self, exc: Exception) -> None:
        logger.warning("inbox: could not read the inbox (%s); trying again", _line(exc))

    def drain(self, *, max_passes: int = 1000) -> int:
        """Process until nothing is due now; how many rows were settled."""
        total = 0
        for _ in range(max_passes):
            handled = self.work_due()
            total += handled
            if handled == 0:
                break
        return total

    def work_due(self, *, limit: int = 20) -> int:
        """One pass: lease what is due (one row per channel), process it, and mark what went
        through done in one statement (a crash before that only repeats idempotent work)."""
        now = self.clock.now()
        leased: list[tuple[int, str, int, datetime, str]] = []
        with self.session_factory.begin() as session:
            inbox = InboxRepository(session)
            for row_id in inbox.due_ids(now=now, limit=limit):
                if inbox.lease(row_id, owner=self.owner, now=now, for_=LEASE):
                    row = inbox.get(row_id)
                    assert row is not None
                    leased.append((row.id, row.body, row.attempts, row.received_at, _label(row)))
        done: list[int] = []
        lags: list[float] = []
        for row_id, body, attempts, received_at, label in leased:
            if self.gate is not None:
                self.gate.wait_for_quiet()
            if self._process(row_id, body, attempts, label):
                done.append(row_id)
                lags.append((self.clock.now() - received_at).total_seconds())
        if done:
            self._finish(done)
            for lag in lags:
                self.metrics.event_lag_seconds.observe(max(lag, 0.0))
        if leased:
            self.on_processed()
        return len(leased)

    def run_now(self, row_id: int) -> str:
        """Lease one row and process it now (`supportbot inbox retry`): what became of it."""
        now = self.clock.now()
        with self.session_factory.begin() as session:
            inbox = InboxRepository(session)
            row = (
                inbox.get(row_id)
                if inbox.lease(row_id, owner=self.owner, now=now, for_=LEASE)
                else None
            )
            taken = (row.body, row.attempts, _label(row)) if row is not None else None
        if taken is None:
            return "taken by another worker, or not due"
        if self._process(row_id, *taken):
            self._finish([row_id])
            self.on_processed()
            return "done"
        with self.session_factory.begin() as session:
            row = InboxRepository(session).get(row_id)
            status, error = (row.status, row.last_error) if row is not None else ("gone", None)
        return f"{'parked again' if status == 'failed' else 'will be retried'}: {error}"

    def _finish(self, row_ids: list[int]) -> None:
        with self.session_factory.begin() as session:
            InboxRepository(session).finish(row_ids, owner=self.owner, now=self.clock.now())
        self.metrics.events_processed.labels(outcome="done").inc(len(row_ids))

    def _process(self, row_id: int, body: str, attempts: int, label: str) -> bool:
        """Run the row's event through the listeners; False when it failed (and was recorded)."""
        started = time.perf_counter()
        try:
            self.process(json.loads(body))
        except Exception as exc:
            self._failed(row_id, label, attempts, exc)
            return False
        self.metrics.processing_seconds.observe(time.perf_counter() - started)
        return True

    def _failed(self, row_id: int, label: str, attempts: int, exc: Exception) -> str:
        now = self.clock.now()
        error = f"{type(exc).__name__}: {_line(exc)}"
        transient = _is_transient(exc)  # the database went away mid-way: not the row's fault
        with self.session_factory.begin() as session:
            inbox = InboxRepository(session)
            if attempts + 1 >= MAX_ATTEMPTS and not transient:
                inbox.park(row_id, owner=self.owner, error=error, now=now)
                outcome = "failed"
            else:
                backoff = min(2.0**attempts, MAX_BACKOFF.total_seconds())
                delay = timedelta(seconds=backoff * random.uniform(0.8, 1.2))
                inbox.retry_later(
                    row_id, owner=self.owner, error=error, at=now + delay, count=not transient
                )
                outcome = "retry"
        self.metrics.events_processed.labels(outcome=outcome).inc()
        if outcome == "failed":
            logger.error(
                "inbox: parked %s after %d attempts: %s (supportbot inbox retry %d)",
                label,
                attempts + 1,
                error,
                row_id,
            )
        else:
            logger.warning("inbox: %s failed (%s); trying again", label, error)
        return outcome


def _is_transient(exc: BaseException) -> bool:
    """A database that is away or busy, which retrying fixes, unlike a payload or a bug."""
    return isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


def _label(row: InboxEvent) -> str:
    return f"event {row.dedupe_key} ({row.event_type or row.kind}, row {row.id})"


def _line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__
