"""The base class that gives every persistent store the same behaviour.

A persistent store implements a handful of row primitives (`_read_since`, `_append`, `_truncate`, ...); everything
users call -- the seed's methods, turn-level editing, forking, state for memory strategies -- is written
once here, so all stores behave alike and one contract suite tests them all.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from typing import Any, Callable, Protocol, runtime_checkable

from ..errors import SessionError, UserError
from ..turns import turn_starts
from ..session import DEFAULT_LOCK_TIMEOUT
from ..messages import check_messages
from . import codec

__all__ = ["DEFAULT_LOCK_TIMEOUT", "PersistentSession", "SessionStore"]
CLAIMS = "\x1fclaims"  # the store-wide row owner of claim_once tokens: not a valid session id (not printable)


class SessionLockLostError(SessionError):
    """The run lost its session's writer lock (lease expired, database restarted); its step was not stored."""


class SessionUnavailableError(SessionError):
    """The session's database cannot be reached (down, restarting, wrong URL); nothing was stored by that call."""


def _mapped(method: Callable) -> Callable:
    """Run a public store method inside the store's error mapping (see PersistentSession._errors)."""
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self._errors():
            return method(self, *args, **kwargs)
    return wrapper


@runtime_checkable
class SessionStore(Protocol):
    """What the Runner needs from a session. The in-memory `Session` and every store satisfy it.

    `get_dialogs()` returns the history, oldest first, as plain JSON-safe OpenAI-format dicts (treat them as
    read-only); `add_new_messages` appends (a list is one step: store it whole or not at all) and refuses a
    message no provider accepts (`messages.check_messages`: UserError, nothing stored); assigning
    `dialogs` replaces the whole history (seed-style callbacks and `Compaction(rewrite=True)` do this).
    """

    @property
    def dialogs(self) -> list[dict]: ...

    def get_dialogs(self) -> list[dict]: ...

    def add_new_messages(self, messages: dict | list[dict]) -> None: ...

    def pop_turn(self) -> list[dict]: ...

    def clean(self) -> None: ...


@runtime_checkable
class StoreCapabilities(Protocol):
    """Optional: what a store that lives outside this process adds. Implement all of it or none."""

    session_id: str
    lock_timeout: float  # seconds a run waits for the writer lock

    def acquire_writer(self, timeout: float) -> Callable[[], None]:
        """Take the writer lock (waiting up to `timeout` s, else SessionBusyError); return its release.

        While held, every append must check the lock is still this writer's (else SessionLockLostError,
        nothing stored); the release must never raise. A store may add `claim_once(token) -> bool`, a
        store-wide at-most-once record (approvals use it so an approved call runs once across copies), and
        `run_gate() -> (what runs share, how many at once, seconds to wait for a slot) | None` if each running
        run holds one of a bounded number of connections (async runs then take turns: stores/offload.py)."""
        ...

    def get_state(self, key: str) -> Any:
        """The JSON value kept with the session under `key`, or None."""
        ...

    def set_state(self, key: str, value: Any) -> None:
        """Keep a JSON value with the session; None deletes it."""
        ...


class PersistentSession(ABC):
    """A session kept in a database under `session_id`. Subclasses implement the `_` primitives only.

    It satisfies both protocols above: `SessionStore` and `StoreCapabilities`."""

    session_id: str
    lock_timeout: float

    # -- the seed's API --------------------------------------------------------------------------------
    @property
    @_mapped
    def dialogs(self) -> list[dict]:
        """The stored history as a new list (of read-only messages); assigning a list replaces the stored history."""
        return self._load()

    @dialogs.setter
    @_mapped
    def dialogs(self, messages: list[dict]) -> None:
        check_messages(list(messages))
        texts = [codec.encode(message) for message in messages]
        self._replace(texts)

    @_mapped
    def get_dialogs(self) -> list[dict]:
        """The whole history, oldest first; reads only what was appended since the last load."""
        return self._load()

    @_mapped
    def add_new_messages(self, messages: dict | list[dict]) -> None:
        """Append one message or a list of messages, all in one transaction (a tool step is never half-stored)."""
        batch = [messages] if isinstance(messages, dict) else list(messages)
        check_messages(batch)  # one bad message would break every later read and run of the session
        if batch:
            self._append([codec.encode(message) for message in batch])

    def pop_turn(self) -> list[dict]:
        """Remove the last turn -- the last user message and everything after it -- and return it."""
        return self.rewind(1)

    @_mapped
    def clean(self) -> None:
        """Forget this session's history and state (the session id stays usable)."""
        self._clear()

    # -- turn-level editing ----------------------------------------------------------------------------
    @_mapped
    def rewind(self, turns: int = 1) -> list[dict]:
        """Drop the last `turns` turns and return the removed messages (all of them if there are fewer turns)."""
        if not isinstance(turns, int) or turns < 0:
            raise UserError(f"rewind(turns) needs a whole number >= 0, got {turns!r}.")
        messages = self._load()
        starts = turn_starts(messages)
        if turns == 0 or not starts:
            return []
        cut = starts[-turns] if turns <= len(starts) else starts[0]
        self._truncate(cut)
        return messages[cut:]

    @_mapped
    def fork(self, new_id: str) -> PersistentSession:
        """Copy this session's history and state to `new_id` (which must be empty) and return it."""
        other = self._sibling(_check_id(new_id))
        if other._count():
            raise UserError(f"Cannot fork into session {new_id!r}: it already has messages. Pick a new id or "
                            "delete that session first.")
        other._replace([codec.encode(message) for message in self._load()])
        for key, value in self._state_items():
            other.set_state(key, value)
        return other

    @_mapped
    def list_sessions(self) -> list[str]:
        """Ids of every session in this store that has messages or state, sorted."""
        return sorted(i for i in self._ids() if i != CLAIMS)

    @_mapped
    def delete_session(self, session_id: str | None = None) -> None:
        """Delete a session (this one by default): its messages and its state."""
        self._sibling(_check_id(session_id or self.session_id))._clear()

    # -- state kept with the session (a compaction summary, for instance) -------------------------------
    @_mapped
    def get_state(self, key: str) -> Any:
        """A JSON value stored with the session under `key`, or None."""
        text = self._get_state(key)
        return None if text is None else json.loads(text)

    @_mapped
    def set_state(self, key: str, value: Any) -> None:
        """Store a JSON value with the session; None deletes it."""
        self._set_state(key, None if value is None else json.dumps(value, ensure_ascii=True))

    # -- at most once, across every copy and fork of a session ----------------------------------------
    @_mapped
    def claim_once(self, token: str) -> bool:
        """Record `token` in this store if it is new and return True; False if any session object did before.

        Store-wide (not per session), so a fork or a copy of a session cannot claim it again: approvals use
        it so that an approved call runs at most once."""
        return self._claim(token)

    # -- loading: only what was appended since the last load ------------------------------------------
    def _load(self) -> list[dict]:
        """The history, reading only rows appended since this object's last load, so loads stay cheap.

        Appends only add rows after the last one; anything else (truncate, replace, clear) bumps the
        session's revision, which makes the next load read everything again. Messages are shared with this
        cache: treat them as read-only (copy one before changing it), as with the in-memory Session.
        """
        lock, caches = self._caches()
        with lock:
            cache = caches.get(self.session_id)
            rev, after, messages, last = self._read_since(cache.rev if cache else None, cache.last if cache else -1)
            if cache is None or after == -1:
                cache = _Cache(rev, -1, messages)
            else:
                cache.messages.extend(messages)
            cache.rev, cache.last = rev, max(last, after)
            caches.put(self.session_id, cache)
            return list(cache.messages)

    def _caches(self) -> tuple[Any, _Caches]:
        """Where loaded messages are kept: per object here; SQLite shares them between objects on one file."""
        home = self.__dict__.get("_cache_home")
        if home is None:
            home = self.__dict__.setdefault("_cache_home", (threading.RLock(), _Caches()))
        return home

    # -- one writer at a time --------------------------------------------------------------------------
    @_mapped
    def acquire_writer(self, timeout: float) -> Callable[[], None]:
        """Take this session's writer lock, waiting up to `timeout` s; return the function that releases it."""
        return self._acquire(timeout)

    @_mapped
    def __len__(self) -> int:
        return self._count()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.session_id!r})"

    def _decode_rows(self, rows: list[tuple[Any, Any, Any]]) -> list[dict]:
        """(row id, version, text) rows to messages; a bad row raises SessionCorruptedError."""
        return [codec.decode(text, version, session_id=self.session_id, row=row) for row, version, text in rows]

    def _decode_fast(self, joined: str | None, count: int, versions_ok: bool,
                     rows: Callable[[], list[tuple[Any, Any, Any]]]) -> list[dict]:
        """Decode `count` rows joined by commas with one json.loads (several times faster than one per row).

        Any doubt -- a bad version, invalid JSON, a count or shape mismatch -- goes the row-by-row way,
        which names the bad row. A damaged row either breaks the joined JSON or changes the number of
        values in it, so it is always caught; only several rows damaged to fit together exactly could pass.
        """
        if not count:
            return []
        if versions_ok and joined is not None:
            messages = _parse_without_gc(f"[{joined}]")
            if isinstance(messages, list) and len(messages) == count and \
                    all(type(m) is dict and type(m.get("role")) is str for m in messages):
                return messages
        return self._decode_rows(rows())

    def _errors(self) -> Any:
        """A context manager turning the driver's outage errors into SessionUnavailableError (per store)."""
        return contextlib.nullcontext()

    # -- primitives a store implements -----------------------------------------------------------------
    @abstractmethod
    def _read_since(self, rev: int | None, after: int) -> tuple[int, int, list[dict], int]:
        """In one consistent read: (revision, after, messages after row `after`, last row).

        If the stored revision is not `rev`, read every message and return after = -1. Rows are numbered
        upward from 0 as they are appended; -1 means "before the first row".
        """

    @abstractmethod
    def _count(self) -> int: ...

    @abstractmethod
    def _append(self, texts: list[str]) -> None: ...

    @abstractmethod
    def _truncate(self, keep: int) -> None:
        """Keep only the first `keep` messages."""

    @abstractmethod
    def _replace(self, texts: list[str]) -> None:
        """Replace all messages at once (one transaction)."""

    @abstractmethod
    def _clear(self) -> None:
        """Delete messages and state."""

    @abstractmethod
    def _ids(self) -> list[str]: ...

    @abstractmethod
    def _sibling(self, session_id: str) -> PersistentSession:
        """Another session in the same database, sharing the connection."""

    @abstractmethod
    def _get_state(self, key: str) -> str | None: ...

    @abstractmethod
    def _set_state(self, key: str, text: str | None) -> None: ...

    @abstractmethod
    def _state_items(self) -> list[tuple[str, Any]]: ...

    @abstractmethod
    def _acquire(self, timeout: float) -> Callable[[], None]: ...

    @abstractmethod
    def _claim(self, token: str) -> bool:
        """Atomically record `token` store-wide; False if it was there already."""


def _parse_without_gc(text: str) -> Any:
    """json.loads with the cyclic GC paused: parsing builds no cycles, and at 40,000 messages the collections
    it triggers would otherwise cost more than the parse itself."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return json.loads(text)
    except ValueError:
        return None
    finally:
        if enabled:
            gc.enable()


class _Cache:
    def __init__(self, rev: int, last: int, messages: list[dict]) -> None:
        self.rev, self.last, self.messages = rev, last, messages


class _Caches(OrderedDict):
    """The most recently loaded sessions (64), so a process serving many sessions does not keep them all."""

    limit = 64

    def get(self, key: Any, default: Any = None) -> Any:
        if key in self:
            self.move_to_end(key)
        return super().get(key, default)

    def put(self, key: Any, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)


def _check_id(session_id: Any) -> str:
    if not isinstance(session_id, str) or not session_id or not session_id.isprintable():
        raise UserError(f"A session id must be a non-empty printable str, got {session_id!r}.")
    if len(session_id) > 255:  # what every store's column holds
        raise UserError(f"A session id must be at most 255 characters, got {len(session_id)}: {session_id[:40]!r}...; "
                        "use a hash of a longer key.")
    try:
        session_id.encode("utf-8")
    except UnicodeEncodeError:
        raise UserError(f"A session id must be valid Unicode text (no lone surrogates), got {session_id!r}.") from None
    return session_id
