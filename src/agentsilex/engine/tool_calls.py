"""Running one batch of tool calls for the drivers: concurrently, with a limit and a timeout per call.

Async tools run on an event loop; sync tools run in a shared thread pool so they never block that loop.
The sync driver uses the same code on one short-lived event loop when a batch needs concurrency or a
timeout, and calls a lone sync tool inline (the common case, and the cheapest). Outcomes come back in
call order; a failing call becomes an error Outcome and never stops its siblings.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .loop import Outcome, ToolRun
from .threads import in_thread
from ..validation import check_limits
from ..models.retry import RetryPolicy

# Model timeouts (s): connect; the reply or a stream's first chunk; between chunks. Not the clients' 600-6,000 s.
DEFAULT_CONNECT_TIMEOUT, DEFAULT_MODEL_TIMEOUT, DEFAULT_STREAM_IDLE_TIMEOUT = 10.0, 300.0, 60.0


@dataclass(frozen=True)
class Limits:
    """How a Runner calls models and tools: concurrency, timeouts (seconds) and the retry policy."""

    max_parallel_tools: int = 8
    tool_timeout: float | None = None
    model_timeout: float | None = DEFAULT_MODEL_TIMEOUT
    stream_idle_timeout: float | None = DEFAULT_STREAM_IDLE_TIMEOUT
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT

    def __post_init__(self) -> None:
        check_limits(self)


def run_tools_sync(calls: list[ToolRun], limits: Limits, deadline: float | None = None) -> list[Outcome]:
    """The sync driver's RunTools: inline for one sync call, else one event loop for the whole batch."""
    if len(calls) == 1 and _timeout(calls[0], limits, deadline)[0] is None and not calls[0].tool.is_async:
        return [_invoke_inline(calls[0])]
    return _raise_interrupt(run_coroutine_sync(_run_batch(calls, limits, deadline)))


async def run_tools_async(calls: list[ToolRun], limits: Limits, deadline: float | None = None) -> list[Outcome]:
    """The async driver's RunTools: every call concurrently, at most `max_parallel_tools` at a time."""
    return _raise_interrupt(await _run_batch(calls, limits, deadline))


async def _run_batch(calls: list[ToolRun], limits: Limits, deadline: float | None) -> list[Outcome]:
    gate = asyncio.Semaphore(limits.max_parallel_tools)
    return list(await asyncio.gather(*(_invoke_async(run, gate, *_timeout(run, limits, deadline))
                                       for run in calls)))


def _raise_interrupt(outcomes: list[Outcome]) -> list[Outcome]:
    """Ctrl-C or SystemExit inside a tool's worker thread: raise it here, once the batch has settled.

    Raised inside an asyncio task instead, it would escape the event loop and leave tasks behind."""
    for outcome in outcomes:
        if isinstance(outcome.error, (KeyboardInterrupt, SystemExit)):
            raise outcome.error
    return outcomes


def _timeout(run: ToolRun, limits: Limits, deadline: float | None = None) -> tuple[float | None, str]:
    """The call's timeout and where it was set: the tool's own wins over the Runner's; the run's deadline
    (Runner(run_timeout=...)) caps both."""
    own = getattr(run.tool, "timeout", None)
    found = (own, "@tool(timeout)") if own is not None else (limits.tool_timeout, "tool_timeout")
    if deadline is not None:
        left = max(deadline - time.monotonic(), 0.001)
        if found[0] is None or left < found[0]:
            return left, "run_timeout"
    return found


def _invoke_inline(run: ToolRun) -> Outcome:
    span = run.trace.tool_started(run) if run.trace is not None else None
    try:
        value = run.start()
        if inspect.isawaitable(value):
            value = run_coroutine_sync(value)
        outcome = Outcome(value=value)
    except Exception as exc:
        outcome = Outcome(error=exc)
    except BaseException as exc:
        if span is not None:
            run.trace.tool_finished(span, error=exc)
        raise
    if span is not None:
        run.trace.tool_finished(span, outcome.value, outcome.error)
    return outcome


async def _invoke_async(run: ToolRun, gate: asyncio.Semaphore, timeout: float | None, setting: str) -> Outcome:
    async with gate:
        if run.trace is None:
            return await _invoke_timed(run, timeout, setting)
        span = run.trace.tool_started(run)  # current in this task, and in the worker thread through the copied context
        try:
            outcome = await _invoke_timed(run, timeout, setting)
        except BaseException as exc:  # cancelled
            run.trace.tool_finished(span, error=exc)
            raise
        run.trace.tool_finished(span, outcome.value, outcome.error)
        return outcome


async def _invoke_timed(run: ToolRun, timeout: float | None, setting: str) -> Outcome:
    try:
        async with asyncio.timeout(timeout) as scope:
            if run.tool.is_async:
                value = await run.start()
            else:
                value, error = await in_thread(run.start)  # in a copy of this task's context
                if error is not None:  # returned, not raised: a StopIteration raised here would change
                    return Outcome(error=error)  # type: ignore[arg-type]
            if inspect.isawaitable(value):
                value = await value
        return Outcome(value=value)
    except TimeoutError as exc:
        if not scope.expired():
            return Outcome(error=exc)
        return Outcome(error=TimeoutError(
            f"the call did not finish within {setting}={timeout:g} s and was abandoned. "
            "Try fewer or smaller inputs, or raise @tool(timeout=...) or Runner(tool_timeout=...)"))
    except (Exception, KeyboardInterrupt, SystemExit) as exc:  # interrupts: see _raise_interrupt
        return Outcome(error=exc)  # type: ignore[arg-type]


def run_coroutine_sync(coroutine: Any) -> Any:
    """Run a coroutine from sync code, also when an event loop already runs in this thread (Jupyter)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coroutine)
        except BaseException as exc:
            box["error"] = exc

    worker = threading.Thread(target=target, name="agentsilex-async-tool")
    worker.start()
    worker.join()
    if "error" in box:
        raise box["error"]
    return box["value"]
