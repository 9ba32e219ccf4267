"""Helpers for writing capabilities: the optional `Capability` base class (the protocol is stated in
engine/capability.py); `intercept` forwards a run's requests and answers for a wrap, and shows them to you;
`split_history` and `calls_of` serve a prepare (the history without the system prompt; the model calls of a
prepare that needs a model first, as a summary does).

    class CountCalls(Capability):
        def wrap(self, loop):
            return intercept(loop, before=lambda request: ..., after=lambda request, answer, error: ...)

Loaded only when a capability with a wrap is in a run (the built-in ones use it too). `Loop` is what each wrap
receives: the run's generator, with the run about to start as `.run`.
"""

from __future__ import annotations

from typing import Any, Callable, Generator


class Capability:
    """A feature of a run; override any of the four plug points (the defaults do nothing)."""

    def prepare(self, request: Any, step: Any) -> Any:
        return request

    def decide(self, call: dict, step: Any) -> Any:
        return None

    def guard(self, step: Any) -> None:
        return None

    def wrap(self, loop: Generator) -> Generator:
        return loop


class Loop:
    """A run's generator with the run it drives (`.run`): what each capability's `wrap` receives."""

    def __init__(self, generator: Generator, run: Any) -> None:
        self.generator, self.run = generator, run

    def __iter__(self) -> Loop:
        return self

    def __next__(self) -> Any:
        return self.generator.send(None)

    def send(self, value: Any) -> Any:
        return self.generator.send(value)

    def throw(self, error: Any, value: Any = None, traceback: Any = None) -> Any:
        return self.generator.throw(error if value is None else value)

    def close(self) -> None:
        self.generator.close()


def intercept(loop: Generator, before: Callable[[Any], None] | None = None,
              after: Callable[[Any, Any, BaseException | None], None] | None = None) -> Generator:
    """`yield from loop`, calling `before(request)` as each request goes out and `after(request, answer, error)`
    when its answer (or failure) comes back. What either raises becomes that request's failure, as if the driver
    had raised it, and the loop decides what it means. The requests inside a Batch (agents used as tools, side by
    side) are seen one by one: each once when first sent, and again when it finishes."""
    answer: Any = None
    error: BaseException | None = None
    open_parts: dict[int, Any] = {}
    try:
        while True:
            try:
                request = loop.throw(error) if error is not None else loop.send(answer)
            except StopIteration as done:
                return done.value
            parts = getattr(request, "requests", None)
            if parts is not None:
                answer, error = yield from _through_batch(request, parts, open_parts, before, after)
                continue
            sent = False
            try:
                if before is not None:
                    before(request)
                sent = True
                answer, error = (yield request), None
            except GeneratorExit:
                raise
            except BaseException as exc:
                answer, error = None, exc
            if after is not None and sent:
                try:
                    after(request, answer, error)
                except BaseException as exc:
                    answer, error = None, exc
    finally:
        loop.close()


def _through_batch(batch: Any, parts: list[Any], open_parts: dict[int, Any], before: Any,
                   after: Any) -> Generator[Any, Any, tuple[Any, BaseException | None]]:
    try:
        for part in parts:
            if id(part) not in open_parts:
                if before is not None:
                    before(part)
                open_parts[id(part)] = part
        answers = list((yield batch))
    except GeneratorExit:
        raise
    except BaseException as exc:
        return None, exc
    for index, (part, outcome) in enumerate(zip(parts, answers)):
        if outcome is not None and open_parts.pop(id(part), None) is not None and after is not None:
            try:
                after(part, outcome.value, outcome.error)
            except BaseException as exc:
                answers[index] = type(outcome)(error=exc)
    return answers, None


def split_history(request: Any, step: Any) -> tuple[list[dict], list[dict]]:
    """The messages of a request as (the system prompt, when the agent has one; the history after it)."""
    head = 1 if step.instructions and request.messages and request.messages[0].get("role") == "system" else 0
    return request.messages[:head], request.messages[head:]


def calls_of(calls: Generator, run: Any) -> Generator[Any, Any, Any]:
    """`yield from calls`: a prepare's own model calls belong to the run and get the Runner's timeouts."""
    step: Callable[[Any], Any] = calls.send
    value: Any = None
    while True:
        try:
            call = step(value)
        except StopIteration as done:
            return done.value
        call.run = call.run or run
        if call.request.timeout is None:
            call.request.timeout = run.options.model_timeout
        try:
            step, value = calls.send, (yield call)
        except GeneratorExit:
            calls.close()
            raise
        except BaseException as exc:  # the driver's failure goes to the prepare, as with `yield from`
            step, value = calls.throw, exc
