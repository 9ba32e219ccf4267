"""The two drivers: they send model replies and tool outcomes into the loop and hand its events to the caller.

A driver answers each request the loop yields: `Emit` (an event: yield it), `ModelCall` (model_call.py), `RunTools`
(tool_calls.py), or any other request that knows how to run itself with a driver (`run_sync(driver)` /
`run_async(driver)`: a Batch of agents side by side, features/parallel.py). A failure is thrown back into the
loop, which decides what it means. `RunStream` (here) blocks; `AsyncRunStream` (drivers_async.py, loaded by the
first async run) awaits; both are iterators of events with the RunResult on `.result` at the end. `run`,
`run_stream`, `run_async` and `run_stream_async` are views of these.
"""

from __future__ import annotations

from typing import Any, Generator, Iterator

from ..errors import UserError
from ..events import Event
from ..result import RunResult
from .capability import Emit, ModelCall, RunTools
from .model_call import call_model_sync
from .tool_calls import Limits, run_tools_sync


class _Stream:
    _result: RunResult | None = None

    def __init__(self, loop: Generator, *, stream_model: bool, limits: Limits | None = None) -> None:
        self.limits, self.stream_model = limits or Limits(), stream_model
        self.resources: dict[str, Any] = {}  # what a self-running request keeps for the whole run (its threads)
        self._events = self._drive(loop)

    @property
    def result(self) -> RunResult:
        if self._result is None:
            raise UserError("The run has not finished: iterate over the stream to the end before reading .result.")
        return self._result

    def _drive(self, loop: Generator) -> Any:
        raise NotImplementedError


class RunStream(_Stream):
    """The sync driver: sends model replies and tool outcomes into the loop, yields its events."""

    def __iter__(self) -> Iterator[Event]:
        return self._events

    def __next__(self) -> Event:
        return next(self._events)

    def __enter__(self) -> RunStream:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop the run now (e.g. after breaking out of the loop); the session stays valid."""
        self._events.close()

    def _drive(self, loop: Generator) -> Generator[Event, None, None]:
        reply: Any = None
        error: BaseException | None = None
        try:
            while True:
                try:
                    request = loop.throw(error) if error is not None else loop.send(reply)
                except StopIteration as done:
                    self._result = done.value
                    return
                reply, error = None, None
                try:
                    if isinstance(request, Emit):
                        yield request.event
                    elif isinstance(request, ModelCall):
                        streamed = self.stream_model and not request.quiet
                        reply = yield from call_model_sync(request, self.limits, streamed)
                    elif isinstance(request, RunTools):
                        reply = run_tools_sync(request.calls, self.limits, request.deadline)
                    else:
                        reply = yield from request.run_sync(self)
                except GeneratorExit:
                    raise
                except BaseException as exc:  # the loop decides what a failure means
                    error = exc
        finally:
            loop.close()
