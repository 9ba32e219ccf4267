"""Running one batch of tool calls for the drivers: concurrently, with a limit and a timeout per call.

Async tools run on an event loop; sync tools run in a shared thread pool so they never block that loop.
The sync driver uses the same code on one short-lived event loop when a batch needs concurrency or a
timeout, and calls a lone sync tool inline (the common case, and the cheapest). Outcomes come back in
call order; a failing call becomes an error Outcome and never stops its siblings.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable

from ._loop import Outcome, ToolRun
from .errors import UserError
from .models.retry import RetryPolicy

# Default model timeouts (seconds), so a provider that accepts and stays silent cannot hold a run for the
# 600-6,000 s of the HTTP clients' own defaults. Override per Runner; None turns one off.
DEFAULT_CONNECT_TIMEOUT = 10.0  # to open the connection
DEFAULT_MODEL_TIMEOUT = 300.0  # for the whole reply, or a stream's first chunk (long reasoning fits)
DEFAULT_STREAM_IDLE_TIMEOUT = 60.0  # between two chunks of a stream
MAX_TOOL_THREADS = 64  # sync tools running at once in this process (abandoned ones do not count)


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
        if not isinstance(self.max_parallel_tools, int) or self.max_parallel_tools < 1:
            raise UserError(f"max_parallel_tools must be at least 1, got {self.max_parallel_tools}.")
        for name in ("tool_timeout", "model_timeout", "stream_idle_timeout", "connect_timeout"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, (int, float)) or not value > 0):
                raise UserError(f"{name} must be a positive number of seconds or None, got {value!r}.")
        if not isinstance(self.retry, RetryPolicy):
            raise UserError(f"retry must be a RetryPolicy, got {type(self.retry).__name__}.")


class _Job:
    def __init__(self, function: Callable[[], Any]) -> None:
        self.function, self.future = function, Future()  # type: Future
        self.started = self.abandoned = self.finished = False


class ToolThreads:
    """The process's threads for sync tools: daemon threads, started on demand, at most `limit` counted.

    Not a ThreadPoolExecutor: its threads are joined at interpreter exit, so one hung tool kept the process
    alive forever, and hung tools kept their slots, starving every later sync tool. Here a call abandoned
    after its timeout (or a cancellation) stops counting at once; its thread ends when the tool returns.
    A job's outcome is always a *result* `(value, error)`: an exception set on the future (StopIteration
    above all) could not be copied into an asyncio future, and the run would wait forever.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)  # one permit per thread waiting for a job
        self._counted = 0  # threads that count against `limit`

    def submit(self, function: Callable[[], Any]) -> _Job:
        job = _Job(function)
        self._jobs.put(job)
        self._add_thread_if_needed()
        return job

    def abandon(self, job: _Job) -> None:
        """Stop waiting for `job`: its thread (if it started) no longer counts; a queued job never starts."""
        with self._lock:
            if job.abandoned or job.finished:
                return
            job.abandoned = True
            if job.started:
                self._counted -= 1
        if not self._jobs.empty():
            self._add_thread_if_needed()

    def _add_thread_if_needed(self) -> None:
        if self._idle.acquire(blocking=False):
            return  # a waiting thread takes the job
        with self._lock:
            if self._counted >= self.limit:
                return  # the job waits for a thread to free up
            self._counted += 1
        threading.Thread(target=self._work, name="agentsilex-tool", daemon=True).start()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            with self._lock:
                if job.abandoned or not job.future.set_running_or_notify_cancel():  # given up on before it started
                    self._idle.release()
                    continue
                job.started = True
            try:
                job.future.set_result((job.function(), None))
            except BaseException as exc:  # every outcome is a result; see the class docstring
                job.future.set_result((None, exc))
            with self._lock:
                job.finished = True
                if job.abandoned:
                    return  # no longer counted: this thread just ends
            self._idle.release()


_threads = ToolThreads(MAX_TOOL_THREADS)


def tool_threads() -> ToolThreads:
    """The process-wide threads for sync tools."""
    return _threads


def run_tools_sync(calls: list[ToolRun], limits: Limits) -> list[Outcome]:
    """The sync driver's RunTools: inline for one sync call, else one event loop for the whole batch."""
    if len(calls) == 1 and _timeout(calls[0], limits)[0] is None and not calls[0].tool.is_async:
        return [_invoke_inline(calls[0])]
    return _raise_interrupt(run_coroutine_sync(_run_batch(calls, limits)))


async def run_tools_async(calls: list[ToolRun], limits: Limits) -> list[Outcome]:
    """The async driver's RunTools: every call concurrently, at most `max_parallel_tools` at a time."""
    return _raise_interrupt(await _run_batch(calls, limits))


async def _run_batch(calls: list[ToolRun], limits: Limits) -> list[Outcome]:
    gate = asyncio.Semaphore(limits.max_parallel_tools)
    return list(await asyncio.gather(*(_invoke_async(run, gate, *_timeout(run, limits)) for run in calls)))


def _raise_interrupt(outcomes: list[Outcome]) -> list[Outcome]:
    """Ctrl-C or SystemExit inside a tool's worker thread: raise it here, once the batch has settled.

    Raised inside an asyncio task instead, it would escape the event loop and leave tasks behind."""
    for outcome in outcomes:
        if isinstance(outcome.error, (KeyboardInterrupt, SystemExit)):
            raise outcome.error
    return outcomes


def _timeout(run: ToolRun, limits: Limits) -> tuple[float | None, str]:
    """The call's timeout and where it was set: the tool's own wins over the Runner's."""
    own = getattr(run.tool, "timeout", None)
    return (own, "@tool(timeout)") if own is not None else (limits.tool_timeout, "tool_timeout")


def _invoke_inline(run: ToolRun) -> Outcome:
    try:
        value = run.start()
        if inspect.isawaitable(value):
            value = run_coroutine_sync(value)
        return Outcome(value=value)
    except Exception as exc:
        return Outcome(error=exc)


async def _invoke_async(run: ToolRun, gate: asyncio.Semaphore, timeout: float | None, setting: str) -> Outcome:
    async with gate:
        try:
            async with asyncio.timeout(timeout) as scope:
                if run.tool.is_async:
                    value = await run.start()
                else:
                    value, error = await _in_thread(run)
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


async def _in_thread(run: ToolRun) -> tuple[Any, BaseException | None]:
    context = contextvars.copy_context()  # what asyncio.to_thread does, on our own threads
    job = _threads.submit(lambda: context.run(run.start))
    try:
        return await asyncio.wrap_future(job.future)
    except BaseException:  # timed out or cancelled: let the thread go, it no longer holds a slot
        _threads.abandon(job)
        raise


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
