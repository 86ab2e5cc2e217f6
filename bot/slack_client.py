"""Slack Web API clients, all pointed at `SLACK_API_URL`, each call counted for `/metrics`.

Two flavours: the interactive client retries briefly in-process (slack_sdk's handlers) because a
modal must open within Slack's 3-second trigger window; the outbox client retries nothing itself, as
the outbox reschedules durably instead of sleeping in a thread.
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.web import SlackResponse

from bot.metrics import DeskMetrics


class CountedWebClient(WebClient):
    """A WebClient that counts every call by method and result (ok, Slack's error code, or
    `connection_error`): every method, `files_upload_v2`'s steps included, goes through
    `api_call`."""

    metrics: DeskMetrics | None = None

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:  # type: ignore[override]
        try:
            response = super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            self._count(api_method, str(exc.response.get("error") or exc.response.status_code))
            raise
        except OSError:
            self._count(api_method, "connection_error")
            raise
        self._count(api_method, "ok")
        return response

    def _count(self, method: str, result: str) -> None:
        if self.metrics is not None:
            self.metrics.count_slack_call(method, result)


def interactive_client(
    token: str | None, api_url: str, *, timeout: int = 10, metrics: DeskMetrics | None = None
) -> WebClient:
    client = CountedWebClient(
        token=token,
        base_url=api_url,
        timeout=timeout,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=1),
            RateLimitErrorRetryHandler(max_retry_count=1),
            ServerErrorRetryHandler(max_retry_count=1),
        ],
    )
    client.metrics = metrics
    return client


def outbox_client(
    token: str | None, api_url: str, *, timeout: int = 15, metrics: DeskMetrics | None = None
) -> WebClient:
    client = CountedWebClient(token=token, base_url=api_url, timeout=timeout, retry_handlers=[])
    client.metrics = metrics
    return client
