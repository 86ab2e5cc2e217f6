"""Wiring shared by `serve`, `work`, `demo` and the tests: engine -> sessions -> outbox
dispatcher and inbox worker -> the front and worker Bolt apps -> the WSGI app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.app import create_app, event_processor
from bot.config import DeskConfig
from bot.delivery import DeliveryHooks
from bot.inbox import Accepted, AckGate, InboxWorker, accept_event
from bot.metrics import DeskMetrics
from bot.outbox import Dispatcher
from bot.server import WsgiApp, create_wsgi_app
from bot.slack_client import interactive_client, outbox_client
from handlers.deps import Deps
from storage.db import SessionFactory, create_db_engine, create_session_factory
from storage.inbox import InboxIntake
from workflows.clock import Clock
from workflows.desk import Desk


@dataclass
class Runtime:
    engine: Engine
    session_factory: SessionFactory
    desk: Desk
    dispatcher: Dispatcher
    inbox: InboxWorker
    metrics: DeskMetrics
    app: App  # the front app: what Slack's requests reach
    worker_app: App  # the same listeners, for events replayed from the inbox
    signing_secret: str
    intake: InboxIntake

    def accept(self, envelope: dict[str, Any]) -> Accepted:
        """Store an Events API envelope (Socket Mode's path; HTTP's is in `bot.server`)."""
        accepted = accept_event(
            envelope, intake=self.intake, clock=self.desk.clock, metrics=self.metrics
        )
        self.inbox.wake()
        return accepted

    def wsgi(self) -> WsgiApp:
        return create_wsgi_app(
            self.app,
            self.engine,
            intake=self.intake,
            clock=self.desk.clock,
            metrics=self.metrics,
            signing_secret=self.signing_secret,
            on_accepted=self.inbox.wake,
            gate=self.inbox.gate,
        )

    def settle(self, *, max_rounds: int = 50) -> int:
        """Process the inbox and send what the outbox owes until both are idle (tests, the demo,
        one-shot commands); how many rows and calls that took."""
        total = 0
        for _ in range(max_rounds):
            done = self.inbox.drain() + self.dispatcher.drain()
            total += done
            if done == 0:
                break
        return total

    def close(self) -> None:
        self.inbox.stop()
        self.dispatcher.stop()
        self.engine.dispose()


def build_runtime(
    *,
    config: DeskConfig,
    database_url: str,
    api_url: str,
    bot_token: str,
    signing_secret: str,
    clock: Clock,
    engine: Engine | None = None,
    client: WebClient | None = None,
    verify_token: bool = True,
) -> Runtime:
    """`verify_token`: Bolt checks the token with `auth.test` while building the front app (the
    worker app asks on its first event instead)."""
    engine = engine or create_db_engine(database_url)
    session_factory = create_session_factory(engine)
    metrics = DeskMetrics()
    metrics.watch_queues(session_factory, clock.now)
    desk = Desk(config=config, clock=clock)
    gate = AckGate()  # this process's Slack requests go first; its worker and senders wait
    dispatcher = Dispatcher(
        session_factory,
        outbox_client(bot_token, api_url, metrics=metrics),
        DeliveryHooks(config, clock),
        clock,
        gate=gate,
    )
    deps = Deps(desk=desk, session_factory=session_factory, wake_outbox=dispatcher.wake)
    interactive = client or interactive_client(bot_token, api_url, metrics=metrics)
    holder: dict[str, Runtime] = {}
    app = create_app(
        deps,
        client=interactive,
        signing_secret=signing_secret,
        accept=lambda envelope: holder["runtime"].accept(envelope),
        verify_token=verify_token,
    )
    worker_app = create_app(
        deps, client=interactive, signing_secret=signing_secret, verify_token=False
    )
    inbox = InboxWorker(
        session_factory,
        event_processor(worker_app),
        clock,
        metrics,
        on_processed=dispatcher.wake,
        gate=gate,
    )
    runtime = Runtime(
        engine,
        session_factory,
        desk,
        dispatcher,
        inbox,
        metrics,
        app,
        worker_app,
        signing_secret,
        InboxIntake(engine),
    )
    holder["runtime"] = runtime
    return runtime
