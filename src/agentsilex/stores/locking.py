"""Lock helpers for the stores. The writer lock itself (what the Runner holds for a run) is in session.py."""

from __future__ import annotations

import time
from typing import Callable

from ..session import busy

__all__ = ["busy", "poll"]


def poll(try_once: Callable[[], bool], timeout: float, session_id: str | None) -> None:
    """Call `try_once` until it succeeds or `timeout` passes (then SessionBusyError); backs off up to 50 ms."""
    deadline = time.monotonic() + timeout
    delay = 0.002
    while not try_once():
        if time.monotonic() >= deadline:
            raise busy(session_id, timeout)
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, 0.05)
