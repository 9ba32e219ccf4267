"""Async runs on a store: the store's blocking calls run off the event loop, behind a gate sized to the store.

A run's loop (engine/loop.py) calls its session synchronously: the writer lock, loading the history, committing a
step, the state kept with the session. On a store those are network or disk calls (a PostgreSQL pool checkout may
wait for seconds), and inside `run_async` they would freeze the event loop -- and with it the very runs that hold
the connections, which then never finish: a deadlock, not a slowdown (issue 21). So the async driver
(engine/drivers_async.py) builds, advances and closes the loop of a run on a store here: each step in a worker
thread, one step at a time, in the run's own context (contextvars), while the event loop awaits it. Model calls
and tools still run on the event loop, as before. The writer lock keeps the async rule (session.py): tried once,
never waited for -- a busy session is SessionBusyError at once, so a web app can answer 409 -- and so no worker
thread ever sits waiting for a lock that a run needing a thread holds.

The gate. A store that holds a pooled connection per running run (SQLAlchemySession: its writer lock) says how
many runs it can serve at once (`run_gate()`: what the runs share, how many, how long to wait for a slot). A run
takes a slot before it takes its lock, waiting on the event loop, never in a thread; past the wait it fails with
SessionUnavailableError, nothing stored. So a pool of 10 serves hundreds of concurrent runs, a few at a time.
Slots are counted per event loop: runs in several event loops (or threads running sync runs) on one pool share
the pool without a common gate, and a pool checkout there may wait, in a worker thread, up to the pool's timeout.

Cancelled while a step runs in its thread, the step finishes first (a store call is not stopped halfway); the
loop then hears the cancellation at the request it yielded, exactly as it would have inline.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import weakref
from typing import Any, Callable, Generator

from ..concurrency import ToolThreads
from ..session import ASYNC_STEP
from .base import SessionUnavailableError

MAX_STEP_THREADS = 256  # runs' steps in worker threads at once, in this process (threads are reused)
_threads = ToolThreads(MAX_STEP_THREADS)
_gates: weakref.WeakKeyDictionary[Any, dict[Any, asyncio.Semaphore]] = weakref.WeakKeyDictionary()  # per event loop


class StoreSteps:
    """One async run's loop on a store, driven off the event loop: `open`, `advance` until it returns itself (the
    loop returned `result`: a coroutine cannot raise StopIteration), then `close`."""

    def __init__(self, slot: asyncio.Semaphore | None) -> None:
        self.slot, self.loop, self.result = slot, None, None
        self.context = contextvars.copy_context()  # the run's context, kept from one step to the next
        self.cancelled: BaseException | None = None  # a cancellation that arrived while a step ran

    @classmethod
    async def open(cls, session: Any, build: Callable[[], Generator]) -> StoreSteps:
        """Take a slot in the store's gate (waiting on the event loop), then build the run's loop in a thread."""
        steps = cls(await _take_slot(session))
        try:
            steps.loop = await steps._call(build)
            steps._raise_cancelled()
        except BaseException:
            steps._free()
            raise
        return steps

    async def advance(self, reply: Any, error: BaseException | None) -> Any:
        """Send `reply` (or throw `error`) into the loop; its next request, or this object once it returned."""
        done, value = await self._call(_step, self.loop, reply, error)
        if self.cancelled is not None:  # the loop hears it at the request it just yielded, as it would inline
            cancel, self.cancelled = self.cancelled, None
            if done:
                raise cancel
            done, value = await self._call(_step, self.loop, None, cancel)
        if done:
            self.result = value
            return self
        return value

    async def close(self) -> None:
        """Close the loop in a thread (its cleanup stores what it must and releases the writer lock); free the slot."""
        try:
            if self.loop is not None:
                await self._call(self.loop.close)
        finally:
            self._free()
        self._raise_cancelled()

    async def _call(self, function: Callable[..., Any], *arguments: Any) -> Any:
        job = _threads.submit(functools.partial(_in_step, self.context, function, *arguments))
        future = asyncio.wrap_future(job.future)
        while True:
            try:
                value, error = await asyncio.shield(future)
                break
            except asyncio.CancelledError as cancel:  # the step runs on to its end; the cancellation waits for it
                self.cancelled = self.cancelled or cancel
        if error is not None:
            raise error
        return value

    def _raise_cancelled(self) -> None:
        if self.cancelled is not None:
            cancel, self.cancelled = self.cancelled, None
            raise cancel

    def _free(self) -> None:
        if self.slot is not None:
            self.slot.release()
            self.slot = None


def _in_step(context: contextvars.Context, function: Callable[..., Any], *arguments: Any) -> Any:
    ASYNC_STEP.on = True  # the writer lock is tried once, as on the event loop (session.acquire_writer)
    try:
        return context.run(function, *arguments)
    finally:
        ASYNC_STEP.on = False


def _step(loop: Generator, reply: Any, error: BaseException | None) -> tuple[bool, Any]:
    try:
        return False, (loop.throw(error) if error is not None else loop.send(reply))
    except StopIteration as done:
        return True, done.value


async def _take_slot(session: Any) -> asyncio.Semaphore | None:
    """A slot in the gate of what the session's runs share (None: its store needs no gate)."""
    gate = getattr(session, "run_gate", None)
    found = gate() if callable(gate) else None
    if found is None:
        return None
    key, size, wait = found
    slots = _gates.setdefault(asyncio.get_running_loop(), {})
    slot = slots.get(key)
    if slot is None:
        slot = slots[key] = asyncio.Semaphore(size)
    try:
        async with asyncio.timeout(wait):
            await slot.acquire()
    except TimeoutError:
        raise SessionUnavailableError(
            f"Session {session.session_id!r} could not start: its store serves {size} runs at once in this event "
            f"loop (each holds a pooled connection) and none finished within {wait:g} s; nothing was stored. Raise "
            "the engine's pool_size or max_overflow (docs/sessions.md, 'Pool sizing'), or run fewer at once.") from None
    return slot
