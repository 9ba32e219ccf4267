"""Tool calls side by side: async tools on an event loop, sync tools on the process's tool threads.

`run_batch` runs one batch concurrently, at most `max_parallel_tools` at a time, each call with its timeout (the
tool's own, the Runner's, capped by the run's deadline). Loaded when a batch needs it (the sync driver runs a lone
sync tool inline, without it).

The threads for sync tools: daemon threads, started on demand, at most MAX_TOOL_THREADS counted.

Not a ThreadPoolExecutor: its threads are joined at interpreter exit, so one hung tool kept the process
alive forever, and hung tools kept their slots, starving every later sync tool. Here a call abandoned after
its timeout (or a cancellation) stops counting at once; its thread ends when the tool returns.
"""

from __future__ import annotations

import asyncio
import contextvars
import queue
import threading
from concurrent.futures import Future
from typing import Any, Callable

from .engine.capability import Outcome, ToolRun

MAX_TOOL_THREADS = 64  # sync tools running at once in this process (abandoned ones do not count)


class _Job:
    def __init__(self, function: Callable[[], Any]) -> None:
        self.function, self.future = function, Future()  # type: Future
        self.started = self.abandoned = self.finished = False


class ToolThreads:
    """Daemon threads for sync tools (see the module docstring).

    A job's outcome is always a *result* `(value, error)`: an exception set on the future (StopIteration above
    all) could not be copied into an asyncio future, and the run would wait forever.
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


async def in_thread(function: Callable[[], Any]) -> tuple[Any, BaseException | None]:
    """Run `function` on one of these threads, in a copy of the current context (as asyncio.to_thread does);
    return (value, error). Timed out or cancelled, the call is abandoned: it no longer holds a slot."""
    context = contextvars.copy_context()
    job = _threads.submit(lambda: context.run(function))
    try:
        return await asyncio.wrap_future(job.future)
    except BaseException:
        _threads.abandon(job)
        raise


# -- one batch of calls --------------------------------------------------------------------------------
async def run_batch(calls: list[ToolRun], timeouts: list[tuple[float | None, str]], parallel: int) -> list[Outcome]:
    """Each call with its (timeout, where it was set), at most `parallel` at a time; Outcomes in call order."""
    gate = asyncio.Semaphore(parallel)
    return list(await asyncio.gather(*(_invoke_async(run, gate, *timeout) for run, timeout in zip(calls, timeouts))))


async def _invoke_async(run: ToolRun, gate: Any, timeout: float | None, setting: str) -> Outcome:
    async with gate:
        try:
            async with asyncio.timeout(timeout) as scope:
                if run.tool.is_async:
                    value = await run.start()
                else:
                    value, error = await in_thread(run.start)  # in a copy of this task's context
                    if error is not None:  # returned, not raised: a StopIteration raised here would change
                        return Outcome(error=error)
                if hasattr(value, "__await__"):
                    value = await value
            return Outcome(value=value)
        except TimeoutError as exc:
            if not scope.expired():
                return Outcome(error=exc)
            return Outcome(error=TimeoutError(
                f"the call did not finish within {setting}={timeout:g} s and was abandoned. "
                "Try fewer or smaller inputs, or raise @tool(timeout=...) or Runner(tool_timeout=...)"))
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # interrupts too: see _raise_interrupt
            return Outcome(error=exc)


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
