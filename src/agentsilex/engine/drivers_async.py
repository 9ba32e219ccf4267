"""The async driver: the same protocol as the sync one (drivers.py), awaiting instead of blocking, and its model call.

Loaded by the first `run_async` or `run_stream_async`. Every wait of a model call is bounded here with
`asyncio.timeout` as well (the model's own timeouts apply too). On a store, the loop (which calls the store) is
built, advanced and closed in a worker thread behind the store's gate, never on the event loop (stores/offload.py).
"""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from typing import Any, AsyncGenerator, AsyncIterator, Callable, Generator

from ..errors import ModelError, ModelTimeoutError
from ..events import Event
from ..models import ModelResponse
from ..models.retry import attempt_plan
from ..session import has_capabilities
from .capability import Emit, ModelCall, Outcome, RunTools, ToolRun
from .drivers import _Stream
from .model_call import answered, past, request_for
from .tool_calls import Limits, raise_interrupt, timeout_of


class AsyncRunStream(_Stream):
    """The async driver: the same protocol as RunStream, awaiting instead of blocking."""

    def __init__(self, loop: Generator | Callable[[], Generator], session: Any = None, *, stream_model: bool,
                 limits: Limits | None = None) -> None:
        """`loop`, or a function building it: on a store it is built, advanced and closed off the event loop."""
        if callable(loop) and not has_capabilities(session):
            loop = loop()  # no store: the loop is built here and advanced on the event loop, as always
        super().__init__(loop, stream_model=stream_model, limits=limits)
        self.session = session

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events

    async def __anext__(self) -> Event:
        return await self._events.__anext__()

    async def __aenter__(self) -> AsyncRunStream:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the run now (e.g. after breaking out of the loop); the session stays valid."""
        await self._events.aclose()

    async def _drive(self, loop: Any) -> AsyncGenerator[Event, None]:
        reply: Any = None
        error: BaseException | None = None
        steps = None
        if callable(loop):  # a store: its blocking calls in a worker thread, behind its gate
            from ..stores.offload import StoreSteps

            steps = await StoreSteps.open(self.session, loop)
        try:
            while True:
                try:
                    if steps is None:
                        request = loop.throw(error) if error is not None else loop.send(reply)
                    elif (request := await steps.advance(reply, error)) is steps:  # the loop returned
                        self._result = steps.result
                        return
                except StopIteration as done:
                    self._result = done.value
                    return
                reply, error = None, None
                try:
                    if isinstance(request, Emit):
                        yield request.event
                        continue
                    if isinstance(request, RunTools):
                        reply = await run_tools_async(request.calls, self.limits, request.deadline)
                        continue
                    items = (call_model_async(request, self.limits, self.stream_model and not request.quiet)
                             if isinstance(request, ModelCall) else request.run_async(self))
                    async with aclosing(items) as answers:  # events, then the answer as the last item
                        async for item in answers:
                            if isinstance(item, Event):
                                yield item
                            else:
                                reply = item
                except GeneratorExit:
                    raise
                except BaseException as exc:
                    error = exc
        finally:
            if steps is None:
                loop.close()
            for resource in self.resources.values():
                await resource.close()
            if steps is not None:
                await steps.close()


async def call_model_async(call: ModelCall, limits: Any, stream: bool) -> AsyncGenerator[Event | ModelResponse, None]:
    """Async model call; yields stream events (if streaming), then the reply as the last item."""
    plan = attempt_plan([call.model, *call.fallbacks], limits.retry)
    model, delay = next(plan)
    while True:
        if delay:
            await asyncio.sleep(delay)
        emitted = False
        try:
            request = request_for(call, model)
            if not stream:
                async with asyncio.timeout(request.timeout):
                    response = await model.complete_async(request)
                yield answered(response, model)
                return
            from ..models.stream import StreamAccumulator

            accumulator = StreamAccumulator(call.agent or "", request)  # the agent: its output_type, its name
            chunks = aiter(model.stream_async(request))
            try:
                timeout = request.timeout  # for the first chunk; then the idle timeout between chunks
                while True:
                    async with asyncio.timeout(timeout):
                        chunk = await anext(chunks, None)
                    if chunk is None:
                        break
                    events = accumulator.feed(chunk)
                    emitted = accumulator.shown  # a bare raw chunk is not yet an answer the consumer saw
                    for event in events:
                        yield event
                    timeout = request.idle_timeout
            finally:
                if hasattr(chunks, "aclose"):
                    await chunks.aclose()  # hang up now: no background reader left behind
            yield answered(accumulator.complete(model), model)
            return
        except TimeoutError:
            error: ModelError = _timeout_error(model, request, emitted)
        except ModelError as exc:
            error = exc
        if emitted or past(call):
            raise error
        model, delay = plan.send(error)


def _timeout_error(model: Any, request: Any, streaming: bool) -> ModelTimeoutError:
    which, seconds = (("stream_idle_timeout", request.idle_timeout) if streaming
                      else ("model_timeout", request.timeout))
    name = getattr(model, "name", None)
    waited = f"sent nothing for {seconds:g} s ({which})" if seconds is not None else "timed out"
    return ModelTimeoutError(f"Model {name!r} {waited}; raise Runner({which}=...) if the model is just slow.",
                             model=name, retryable=True)


async def run_tools_async(calls: list[ToolRun], limits: Limits, deadline: float | None = None) -> list[Outcome]:
    """The async driver's RunTools: every call concurrently, at most `max_parallel_tools` at a time."""
    from ..concurrency import run_batch

    timeouts = [timeout_of(call, limits, deadline) for call in calls]
    return raise_interrupt(await run_batch(calls, timeouts, limits.max_parallel_tools))


