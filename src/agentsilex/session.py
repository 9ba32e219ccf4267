"""`Session`: conversation memory as a plain list of OpenAI-format messages; state kept with a session; the lock.

What the Runner needs from any session is the seed's five names (`dialogs`, `get_dialogs`, `add_new_messages`,
`pop_turn`, `clean`); the in-memory `Session` below is the whole of it. The contract of every store, in two
protocols (`SessionStore`, and the optional `StoreCapabilities` of a store that keeps its data elsewhere), is
stated in stores/base.py, beside `PersistentSession`, which implements both; a session without the second gets
the in-process fallbacks below. One writer at a time: the Runner holds the session's writer lock for the whole
run (`hold_writer_lock`).
"""

from __future__ import annotations

import sys
import threading
import weakref
from typing import Any, Callable, Generator

from ._lazy import lazy_names
from .errors import SessionBusyError
from .messages import check_messages

DEFAULT_LOCK_TIMEOUT = 10.0  # seconds a second run waits for a busy session before SessionBusyError


class Session:
    """In-memory conversation history. `dialogs` is a plain list you may read, copy or replace."""

    lock_timeout: float = DEFAULT_LOCK_TIMEOUT  # seconds a second run on this session waits for the first

    def __init__(self, dialogs: list[dict] | None = None) -> None:
        self.dialogs: list[dict] = list(dialogs or [])

    def get_dialogs(self) -> list[dict]:
        """The whole history, oldest first (what the Runner sends to the model after the system prompt)."""
        return self.dialogs

    def add_new_messages(self, messages: dict | list[dict]) -> None:
        """Append one message or a list of messages (each checked first: a bad one adds nothing)."""
        self.dialogs.extend(check_messages([messages] if isinstance(messages, dict) else list(messages)))

    def pop_turn(self) -> list[dict]:
        """Remove the last turn -- the last user message and everything after it -- and return it."""
        from .turns import last_turn_start

        start = last_turn_start(self.dialogs)
        if start is None:
            return []
        turn = self.dialogs[start:]
        del self.dialogs[start:]
        return turn

    def clean(self) -> None:
        """Forget everything (the history and any state kept with it)."""
        self.dialogs = []
        vars(self).pop("memory_state", None)

    def __len__(self) -> int:
        return len(self.dialogs)

    def __repr__(self) -> str:
        return f"Session({len(self.dialogs)} messages)"


def has_capabilities(session: Any) -> bool:
    """Whether the session implements StoreCapabilities (stores/base.py)."""
    return all(callable(getattr(type(session), name, None)) for name in ("acquire_writer", "get_state", "set_state"))


# -- state kept with a session (a compaction summary, for instance) ----------------------------------------
def get_state(session: Any, key: str) -> Any:
    """A store keeps state in its database; any other session keeps it on the object (`memory_state`)."""
    if has_capabilities(session):
        return session.get_state(key)
    return vars(session).get("memory_state", {}).get(key)


def set_state(session: Any, key: str, value: Any) -> None:
    if has_capabilities(session):
        session.set_state(key, value)
    elif value is None:
        vars(session).get("memory_state", {}).pop(key, None)
    else:
        vars(session).setdefault("memory_state", {})[key] = value


# -- one writer per session ----------------------------------------------------------------------------------
# Stores lock where the data lives (a file lock for SQLite, a lease key in Redis, an advisory lock in
# PostgreSQL), so runs in other threads, tasks and processes are kept out too. Any other session gets a lock
# in this process. Inside a running event loop the lock is tried once, never waited for: waiting would block
# the loop, and with it the very task that holds the lock. Catch SessionBusyError there and retry after
# `await asyncio.sleep(...)`.
_local_locks: weakref.WeakKeyDictionary[Any, threading.Lock] = weakref.WeakKeyDictionary()
_local_guard = threading.Lock()
ASYNC_STEP = threading.local()  # .on: this thread runs a step of an async run for its event loop (stores/offload.py)


def hold_writer_lock(session: Any, loop: Generator[Any, Any, Any]) -> Generator[Any, Any, Any]:
    """Wrap an agent loop so it holds the session's writer lock from its first step to its end."""
    release = acquire_writer(session)
    try:
        return (yield from loop)
    finally:
        release()


def acquire_writer(session: Any) -> Callable[[], None]:
    """Take the session's writer lock (bounded wait) and return its release function, or raise SessionBusyError."""
    store = session if has_capabilities(session) else None
    own = store is not None or isinstance(session, Session)  # only these declare their lock_timeout
    timeout = 0.0 if _in_event_loop() else float(session.lock_timeout if own else DEFAULT_LOCK_TIMEOUT)
    if store is not None:
        return store.acquire_writer(timeout)
    lock = _local_lock(session)
    if not lock.acquire(timeout=timeout):
        raise busy(None, timeout)
    return lock.release


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
    asyncio = sys.modules.get("asyncio")  # not imported: no event loop runs
    if asyncio is None:
        return False
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return getattr(ASYNC_STEP, "on", False)  # an async run's step, off its event loop: the same rule
    return True


# The store protocols are stated beside the stores that implement them.
__getattr__ = lazy_names(__name__, {"stores.base": ("SessionStore", "StoreCapabilities")})
