"""(Foundation stub; see issue 9.)"""

from __future__ import annotations

from slack_bolt import App

from handlers.deps import Deps


def register(app: App, deps: Deps) -> None:
    return None
