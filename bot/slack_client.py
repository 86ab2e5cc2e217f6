"""Slack Web API clients, all pointed at `SLACK_API_URL`.

Two flavours: the interactive client retries briefly in-process (slack_sdk's handlers) because a
modal must open within Slack's 3-second trigger window; the outbox client retries nothing itself, as
the outbox reschedules durably instead of sleeping in a thread.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)


def interactive_client(token: str | None, api_url: str, *, timeout: int = 10) -> WebClient:
    return WebClient(
        token=token,
        base_url=api_url,
        timeout=timeout,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=1),
            RateLimitErrorRetryHandler(max_retry_count=1),
            ServerErrorRetryHandler(max_retry_count=1),
        ],
    )


def outbox_client(token: str | None, api_url: str, *, timeout: int = 15) -> WebClient:
    return WebClient(token=token, base_url=api_url, timeout=timeout, retry_handlers=[])
