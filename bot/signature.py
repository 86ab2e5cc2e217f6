"""Slack's request signature (`v0=` HMAC-SHA256 of `v0:<timestamp>:<body>`), over the body's
bytes as they came: a body that isn't UTF-8 is still checked (then refused 400), not a crash."""

from __future__ import annotations

import hashlib
import hmac
import time

MAX_AGE_SECONDS = 60 * 5  # Slack's advice: refuse requests older than five minutes (replays)


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode("ascii", errors="replace") + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def is_signed_by_slack(secret: str, *, timestamp: str, signature: str, body: bytes) -> bool:
    """The wall clock judges the timestamp: it is the one clock Slack and we share."""
    try:
        age = abs(time.time() - int(timestamp))
    except ValueError:
        return False
    if age > MAX_AGE_SECONDS:
        return False
    return hmac.compare_digest(slack_signature(secret, timestamp, body), signature)
