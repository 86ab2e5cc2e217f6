"""Wiring shared by `serve`, `demo` and the tests: engine -> sessions -> dispatcher -> Bolt app."""

from __future__ import annotations

from dataclasses import dataclass

from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.app import create_app
from bot.config import DeskConfig
from bot.outbox import Dispatcher
from bot.slack_client import interactive_client, outbox_client
from handlers.deps import Deps
from storage.db import SessionFactory, create_db_engine, create_session_factory
from workflows.clock import Clock
from workflows.delivery import DeliveryHooks
from workflows.desk import Desk


@dataclass
class Runtime:
    engine: Engine
    session_factory: SessionFactory
    desk: Desk
    dispatcher: Dispatcher
    app: App

    def close(self) -> None:
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
) -> Runtime:
    engine = engine or create_db_engine(database_url)
    session_factory = create_session_factory(engine)
    desk = Desk(config=config, clock=clock)
    dispatcher = Dispatcher(
        session_factory, outbox_client(bot_token, api_url), DeliveryHooks(config, clock), clock
    )
    deps = Deps(desk=desk, session_factory=session_factory, wake_outbox=dispatcher.wake)
    app = create_app(
        deps,
        client=client or interactive_client(bot_token, api_url),
        signing_secret=signing_secret,
    )
    return Runtime(engine, session_factory, desk, dispatcher, app)
