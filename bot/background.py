"""The thread the outbox dispatcher and the inbox worker each run on: a pass, then a wait for
the next nudge (`wake`) or the poll interval, until stopped."""

from __future__ import annotations

import threading
from collections.abc import Callable


class PassLoop:
    def __init__(
        self, name: str, one_pass: Callable[[], int], on_error: Callable[[Exception], None]
    ) -> None:
        """`one_pass` returns how much it did (0: wait); `on_error` reports a pass that raised,
        after which the loop waits as if idle (the database may be briefly away)."""
        self.name = name
        self.one_pass = one_pass
        self.on_error = on_error
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self, *, poll_seconds: float = 1.0) -> None:
        self._thread = threading.Thread(
            target=self._run, args=(poll_seconds,), name=self.name, daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self, poll_seconds: float) -> None:
        while not self._stop.is_set():
            try:
                done = self.one_pass()
            except Exception as exc:
                self.on_error(exc)
                done = 0
            if done == 0:
                self._wake.wait(poll_seconds)
                self._wake.clear()
