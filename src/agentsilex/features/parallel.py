"""Several nested runs in one step, still one loop: interleave their generators, batch their requests.

Agents used as tools run as nested `agent_loop` generators (sans-I/O). When a step calls several of them
(and plain tools next to them), `interleave` advances every generator until each waits for a model reply
or a tool batch, then hands all those requests to the driver as one `Batch`. The driver starts the ones it
has not started yet (tasks in the async driver, threads in the sync one) and answers as soon as any has
finished: an `Outcome` for each finished request, None for those still running. The jobs that got an
answer move on, and the next Batch holds their new requests with the ones still in flight: no job waits
for another's slow step. Events pass straight through. The generators themselves only ever run in the driver's
thread, so the run's state (usage, budget, hooks) is never touched by two threads at once.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, AsyncGenerator, Generator

from ..engine.capability import ModelCall, Outcome
from ..engine.drivers_async import call_model_async, run_tools_async
from ..engine.model_call import call_model_sync
from ..engine.tool_calls import run_tools_sync
from ..events import Event
from ..models import ModelResponse


@dataclass
class Batch:
    """Do these requests (ModelCall or RunTools) concurrently, each started once however many Batches name it;
    answer when at least one has finished: per request, in order, its Outcome or None (still running).
    A driver runs it with `run_sync(driver)` / `run_async(driver)`, which keep the run's threads or tasks in
    `driver.resources` from one Batch to the next."""

    requests: list[Any]

    def run_sync(self, driver: Any) -> Generator[Event, None, list[Outcome | None]]:
        batches = driver.resources.setdefault("batches", SyncBatches(driver.limits, driver.stream_model))
        return (yield from batches.run(self.requests))

    def run_async(self, driver: Any) -> AsyncGenerator[Event | list[Outcome | None], None]:
        batches = driver.resources.setdefault("batches", AsyncBatches(driver.limits, driver.stream_model))
        return batches.run(self.requests)


def interleave(jobs: list[Generator], *, passthrough: tuple[type, ...]) -> Generator[Any, Any, list[Any]]:
    """Run `jobs` side by side; return their return values in order. A job that raises stops the others
    (closed, so their cleanup runs) and the error goes up. `passthrough` requests (events) need no batching."""
    if len(jobs) == 1:
        return [(yield from jobs[0])]
    results: list[Any] = [None] * len(jobs)
    replies: dict[int, tuple[Any, BaseException | None]] = {i: (None, None) for i in range(len(jobs))}
    try:
        waiting: dict[int, Any] = {}  # the request each unfinished job waits on
        while replies:
            for index, (value, error) in replies.items():
                waiting.pop(index, None)
                request = yield from _advance(jobs[index], value, error, passthrough)
                if isinstance(request, _Done):
                    results[index] = request.value
                else:
                    waiting[index] = request
            replies = (yield from _answer(waiting)) if waiting else {}
    except BaseException:
        for job in jobs:
            job.close()
        raise
    return results


def ask(request: Any) -> Generator[Any, Any, Any]:
    """A job that only sends `request` to the driver and returns its reply."""
    return (yield request)


@dataclass
class _Done:
    value: Any


def _advance(job: Generator, value: Any, error: BaseException | None,
             passthrough: tuple[type, ...]) -> Generator[Any, Any, Any]:
    """Step one job until it waits for I/O (that request is returned) or finishes (`_Done`)."""
    while True:
        try:
            request = job.throw(error) if error is not None else job.send(value)
        except StopIteration as done:
            return _Done(done.value)
        if not isinstance(request, passthrough):
            return request
        value, error = yield from _one(request)


def _answer(waiting: dict[int, Any]) -> Generator[Any, Any, dict[int, tuple[Any, BaseException | None]]]:
    """Every waiting request goes in one Batch (even a lone one: the driver may be running it already). A job
    that waits on a Batch of its own (agents used as tools inside one) has its requests flattened into it, and
    gets its answer once one of them has finished."""
    parts = {index: (request.requests if isinstance(request, Batch) else [request])
             for index, request in waiting.items()}
    outcomes = iter((yield Batch([part for group in parts.values() for part in group])))
    replies: dict[int, tuple[Any, BaseException | None]] = {}
    for index, group in parts.items():
        answers = [next(outcomes) for _ in group]
        if not isinstance(waiting[index], Batch):
            if answers[0] is not None:
                replies[index] = (answers[0].value, answers[0].error)
        elif any(answer is not None for answer in answers):
            replies[index] = (answers, None)
    return replies


def _one(request: Any) -> Generator[Any, Any, tuple[Any, BaseException | None]]:
    try:
        return (yield request), None
    except GeneratorExit:
        raise
    except BaseException as exc:  # the driver's failure goes to the job that asked, as with `yield from`
        return None, exc


# -- how the drivers run Batches: threads (sync) or tasks (async), events as they come ---------------------
class _Finished:
    def __init__(self, request: Any, outcome: Outcome) -> None:
        self.request, self.outcome = request, outcome


def _collect(item: _Finished, requests: list[Any], finished: dict[int, Outcome], running: dict[int, Any]) -> None:
    if any(request is item.request for request in requests):
        finished[id(item.request)] = item.outcome
    else:  # left over from a step that was stopped: nobody waits for it
        running.pop(id(item.request), None)


def _finished_answers(requests: list[Any], finished: dict[int, Outcome],
                      running: dict[int, Any]) -> list[Outcome | None]:
    for key in finished:
        running.pop(key, None)
    return [finished.get(id(request)) for request in requests]


class SyncBatches:
    """The sync driver's Batches: one thread per request; finished requests and events come through a queue."""

    def __init__(self, limits: Any, stream: bool) -> None:
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
        return _finished_answers(requests, finished, self.running)

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

    def __init__(self, limits: Any, stream: bool) -> None:
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
        yield _finished_answers(requests, finished, self.running)

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
