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

from dataclasses import dataclass
from typing import Any, Generator


@dataclass
class Batch:
    """Do these requests (ModelCall or RunTools) concurrently, each started once however many Batches name it;
    answer when at least one has finished: per request, in order, its Outcome or None (still running)."""

    requests: list[Any]


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
