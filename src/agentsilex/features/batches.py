"""`Batch` requests for the drivers: model calls and tool batches at the same time, events as they come.

A driver keeps one `SyncBatches` / `AsyncBatches` per run. Each Batch names every request its jobs wait on;
requests not yet running are started (a thread each in the sync driver, a task each in the async one), and
the answer comes as soon as at least one has finished: its Outcome (a failure is an error Outcome that never
stops its siblings), None for the others, which keep running. Stream events of every request reach the
caller as they happen, each naming its agent.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from contextlib import aclosing
from typing import Any, AsyncGenerator, Generator

from ..engine.model_call import call_model_async, call_model_sync
from ..engine.loop import Outcome
from ..engine.request import ModelCall
from ..engine.tool_calls import Limits, run_tools_async, run_tools_sync
from ..events import Event
from ..models import ModelResponse


class _Finished:
    def __init__(self, request: Any, outcome: Outcome) -> None:
        self.request, self.outcome = request, outcome


def _collect(item: _Finished, requests: list[Any], finished: dict[int, Outcome], running: dict[int, Any]) -> None:
    if any(request is item.request for request in requests):
        finished[id(item.request)] = item.outcome
    else:  # left over from a step that was stopped: nobody waits for it
        running.pop(id(item.request), None)


def _answer(requests: list[Any], finished: dict[int, Outcome], running: dict[int, Any]) -> list[Outcome | None]:
    for key in finished:
        running.pop(key, None)
    return [finished.get(id(request)) for request in requests]


class SyncBatches:
    """The sync driver's Batches: one thread per request; finished requests and events come through a queue."""

    def __init__(self, limits: Limits, stream: bool) -> None:
        self.limits, self.stream = limits, stream
        self.running: dict[int, Any] = {}
        self.inbox: queue.Queue = queue.Queue()

    def run(self, requests: list[Any]) -> Generator[Event, None, list[Outcome | None]]:
        for request in requests:
            if id(request) not in self.running:
                self.running[id(request)] = request
                threading.Thread(target=self._work, args=(request,), name="agentsilex-batch", daemon=True).start()
        finished: dict[int, Outcome] = {}
        while not finished or not self.inbox.empty():
            item = self.inbox.get()
            if isinstance(item, _Finished):
                _collect(item, requests, finished, self.running)
            else:
                yield item
        return _answer(requests, finished, self.running)

    def _work(self, request: Any) -> None:
        try:
            if isinstance(request, ModelCall):
                calls = call_model_sync(request, self.limits, self.stream and not request.quiet)
                while True:
                    try:
                        self.inbox.put(next(calls))
                    except StopIteration as done:
                        outcome = Outcome(value=done.value)
                        break
            else:
                outcome = Outcome(value=run_tools_sync(request.calls, self.limits, request.deadline))
        except BaseException as exc:  # reported to the loop, which decides what it means
            outcome = Outcome(error=exc)  # type: ignore[arg-type]
        self.inbox.put(_Finished(request, outcome))


class AsyncBatches:
    """The async driver's Batches: one task per request; `close()` cancels what still runs."""

    def __init__(self, limits: Limits, stream: bool) -> None:
        self.limits, self.stream = limits, stream
        self.running: dict[int, asyncio.Task] = {}
        self.inbox: asyncio.Queue = asyncio.Queue()

    async def run(self, requests: list[Any]) -> AsyncGenerator[Event | list[Outcome | None], None]:
        """Yields events, then the answer (a list) as the last item."""
        for request in requests:
            if id(request) not in self.running:
                self.running[id(request)] = asyncio.create_task(self._work(request))
        finished: dict[int, Outcome] = {}
        while not finished or not self.inbox.empty():
            item = await self.inbox.get()
            if isinstance(item, _Finished):
                _collect(item, requests, finished, self.running)
            else:
                yield item
        yield _answer(requests, finished, self.running)

    async def _work(self, request: Any) -> None:
        try:
            if isinstance(request, ModelCall):
                async with aclosing(call_model_async(request, self.limits,
                                                     self.stream and not request.quiet)) as items:
                    async for item in items:
                        if isinstance(item, ModelResponse):
                            outcome = Outcome(value=item)
                        else:
                            await self.inbox.put(item)
            else:
                outcome = Outcome(value=await run_tools_async(request.calls, self.limits, request.deadline))
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            outcome = Outcome(error=exc)  # type: ignore[arg-type]
        await self.inbox.put(_Finished(request, outcome))

    async def close(self) -> None:
        """The run ended or was stopped: stop every request still running."""
        for task in self.running.values():
            task.cancel()
        await asyncio.gather(*self.running.values(), return_exceptions=True)
        self.running.clear()
