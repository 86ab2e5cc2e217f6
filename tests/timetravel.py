"""Moves the wall clock of this Python process to `SUITE_TRAVEL_TO` (ISO 8601), ticking from
there: `.ci/run` loads it into every interpreter of its venv (the test run and the `supportbot`
subprocesses the tests start) to prove that no test depends on today's date or weekday.

Only the wall clock moves (`time.time`, `datetime.now`, …); `time.monotonic` and sleeping don't.
"""

from __future__ import annotations

import os
from datetime import datetime


def travel_from_env() -> None:
    destination = os.environ.get("SUITE_TRAVEL_TO")
    if not destination:
        return
    import time_machine

    time_machine.travel(datetime.fromisoformat(destination), tick=True).start()


travel_from_env()
