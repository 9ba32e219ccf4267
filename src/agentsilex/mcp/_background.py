"""One event loop on a daemon thread that owns every MCP connection.

A connection (the server process, its pipes, the SDK session) is a set of anyio context managers that must be
entered and left in one task of one loop, and it must outlive any single run: `Runner.run` makes a short-lived
loop per batch, `run_async` uses the caller's. So connections live here, and callers submit coroutines:
sync code waits on a concurrent future, async code awaits it without blocking its own loop.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from concurrent.futures import Future
from typing import Any, Awaitable, Callable, Coroutine

_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_lock = threading.Lock()
_at_exit: list[Callable[[], Awaitable[None]]] = []
EXIT_GRACE = 10.0  # seconds the interpreter waits at exit for servers to close (each is bounded by the SDK)


def loop() -> asyncio.AbstractEventLoop:
    """The background loop, started on first use."""
    global _loop, _thread
    with _lock:
        if _loop is None or not _loop.is_running():
            ready = threading.Event()
            new_loop = asyncio.new_event_loop()

            def run() -> None:
                asyncio.set_event_loop(new_loop)
                new_loop.call_soon(ready.set)
                new_loop.run_forever()

            _thread = threading.Thread(target=run, name="agentsilex-mcp", daemon=True)
            _thread.start()
            ready.wait()
            _loop = new_loop
        return _loop


def on_background_thread() -> bool:
    return threading.current_thread() is _thread


def submit(coroutine: Coroutine[Any, Any, Any]) -> Future:
    return asyncio.run_coroutine_threadsafe(coroutine, loop())


def run_sync(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run on the background loop and wait here (the coroutine bounds its own time)."""
    if on_background_thread():
        coroutine.close()
        raise RuntimeError("a sync MCP call from the MCP thread itself would deadlock; await the async form")
    return submit(coroutine).result()


async def run_async(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run on the background loop; the caller's loop stays free. Cancelling the caller cancels the call."""
    if on_background_thread():
        return await coroutine
    return await asyncio.wrap_future(submit(coroutine))


def at_exit(close: Callable[[], Awaitable[None]]) -> None:
    """Run `close()` on the background loop when the interpreter exits (closes what is still open)."""
    _at_exit.append(close)


@atexit.register
def _shutdown() -> None:
    if _loop is None or not _loop.is_running():
        return

    async def close_all() -> None:
        await asyncio.gather(*(close() for close in _at_exit), return_exceptions=True)

    try:
        asyncio.run_coroutine_threadsafe(close_all(), _loop).result(timeout=EXIT_GRACE)
    except Exception:  # exiting anyway; the SDK has already signalled each server to stop
        pass
    _loop.call_soon_threadsafe(_loop.stop)
