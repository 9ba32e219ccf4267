"""One writer per session: the Runner holds the session's writer lock for the whole run.

Stores lock where the data lives (a file lock for SQLite, a lease key in Redis, an advisory lock in
PostgreSQL), so runs in other threads, tasks and processes are kept out too. Any other session object (the
in-memory `Session`, your own class) gets a lock in this process.

Inside a running event loop the lock is tried once, never waited for: waiting would block the loop, and with
it the very task that holds the lock. Catch SessionBusyError there and retry after `await asyncio.sleep(...)`.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from typing import Any, Callable, Generator

from ..errors import SessionBusyError
from .base import DEFAULT_LOCK_TIMEOUT

_local_locks: weakref.WeakKeyDictionary[Any, threading.Lock] = weakref.WeakKeyDictionary()
_local_guard = threading.Lock()


def hold_writer_lock(session: Any, loop: Generator[Any, Any, Any]) -> Generator[Any, Any, Any]:
    """Wrap an agent loop so it holds the session's writer lock from its first step to its end."""
    release = acquire_writer(session)
    try:
        return (yield from loop)
    finally:
        release()


def acquire_writer(session: Any) -> Callable[[], None]:
    """Take the session's writer lock (bounded wait) and return its release function, or raise SessionBusyError."""
    timeout = float(getattr(session, "lock_timeout", DEFAULT_LOCK_TIMEOUT))
    if _in_event_loop():
        timeout = 0.0
    acquire = getattr(session, "acquire_writer", None)
    if callable(acquire):
        return acquire(timeout)
    lock = _local_lock(session)
    if not lock.acquire(timeout=timeout):
        raise busy(getattr(session, "session_id", None), timeout)
    return lock.release


def poll(try_once: Callable[[], bool], timeout: float, session_id: str | None) -> None:
    """Call `try_once` until it succeeds or `timeout` passes (then SessionBusyError); backs off up to 50 ms."""
    deadline = time.monotonic() + timeout
    delay = 0.002
    while not try_once():
        if time.monotonic() >= deadline:
            raise busy(session_id, timeout)
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, 0.05)


def busy(session_id: str | None, timeout: float) -> SessionBusyError:
    name = f"Session {session_id!r}" if session_id else "This session"
    return SessionBusyError(
        f"{name} is in use by another run (waited {timeout:g} s). Runs on one session take turns: wait for the "
        "other run to finish, raise the store's lock_timeout, or fork the session to run in parallel.",
        session_id=session_id)


def _local_lock(session: Any) -> threading.Lock:
    with _local_guard:
        try:
            return _local_locks.setdefault(session, threading.Lock())
        except TypeError:  # not weak-referenceable or not hashable: keep the lock on the object itself
            lock = session.__dict__.get("_agentsilex_writer_lock")
            if lock is None:
                lock = session.__dict__["_agentsilex_writer_lock"] = threading.Lock()
            return lock


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
