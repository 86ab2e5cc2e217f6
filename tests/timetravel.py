"""Moves the wall clock of this Python process to `SUITE_TRAVEL_TO` (ISO 8601), ticking from
there: `.ci/run` loads it into every interpreter of its venv (the test run and the `supportbot`
subprocesses the tests start) to prove that no test depends on today's date or weekday.

Only the wall clock moves (`time.time`, `datetime.now`, …); `time.monotonic` and sleeping don't.
Every process keeps the same moved clock: the first one (the test run) notes when it set out in
`SUITE_TRAVEL_SINCE`, which its subprocesses inherit, and a subprocess started minutes into the
run arrives minutes after `SUITE_TRAVEL_TO`, not back at it (a run across Monday 00:00 would
otherwise have a `supportbot` subprocess on Sunday while its test is on Monday).
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta


def travel_from_env() -> None:
    destination = os.environ.get("SUITE_TRAVEL_TO")
    if not destination:
        return
    import time_machine

    set_out = float(os.environ.setdefault("SUITE_TRAVEL_SINCE", repr(time.time())))
    arrival = datetime.fromisoformat(destination) + timedelta(seconds=time.time() - set_out)
    time_machine.travel(arrival, tick=True).start()


travel_from_env()
