"""One model call for the drivers: timeouts, retries and fallbacks around a Model, streaming or not.

The retry decisions live in `models.retry.attempt_plan`; here the sync and async twins only sleep, call
and time out. A stream is retried only while nothing from it has reached the consumer: once a chunk was
handed out, replaying the request could show the user a second, different answer.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, AsyncGenerator, Generator

from ._request import ModelCall
from ._run_tools import Limits
from .errors import ModelError, ModelTimeoutError
from .events import Event
from .models import ModelResponse, resolve_model
from .models.retry import attempt_plan
from .models.stream import StreamAccumulator


def candidates(call: ModelCall) -> list[Any]:
    """The model the loop chose, then the agent's fallback models in order."""
    fallbacks = getattr(call.agent, "fallback_models", None) or ()
    return [call.model, *(resolve_model(model) for model in fallbacks)]


def call_model_sync(call: ModelCall, limits: Limits, stream: bool) -> Generator[Event, None, ModelResponse]:
    """Blocking model call; yields stream events (if streaming) and returns the reply.

    The model enforces the request's timeouts itself (the only way to stop a blocking read in sync code)."""
    plan = attempt_plan(candidates(call), limits.retry)
    model, delay = next(plan)
    while True:
        if delay:
            time.sleep(delay)
        emitted = False
        try:
            if not stream:
                return model.complete(call.request)
            accumulator = StreamAccumulator(call.agent.name)
            chunks = model.stream(call.request)
            try:
                for chunk in chunks:
                    events = accumulator.feed(chunk)
                    emitted = True
                    yield from events
            finally:
                getattr(chunks, "close", lambda: None)()  # hang up now, not when garbage-collected
            return _complete(accumulator, model)
        except ModelError as exc:
            if emitted or _past(call):
                raise
            model, delay = plan.send(exc)


async def call_model_async(call: ModelCall, limits: Limits, stream: bool) -> AsyncGenerator[Event | ModelResponse, None]:
    """Async model call; yields stream events (if streaming), then the reply as the last item."""
    plan = attempt_plan(candidates(call), limits.retry)
    model, delay = next(plan)
    while True:
        if delay:
            await asyncio.sleep(delay)
        emitted = False
        try:
            if not stream:
                async with asyncio.timeout(call.request.timeout):
                    response = await model.complete_async(call.request)
                yield response
                return
            accumulator = StreamAccumulator(call.agent.name)
            chunks = aiter(model.stream_async(call.request))
            try:
                timeout = call.request.timeout  # for the first chunk; then the idle timeout between chunks
                while True:
                    async with asyncio.timeout(timeout):
                        chunk = await anext(chunks, None)
                    if chunk is None:
                        break
                    events = accumulator.feed(chunk)
                    emitted = True
                    for event in events:
                        yield event
                    timeout = call.request.idle_timeout
            finally:
                if hasattr(chunks, "aclose"):
                    await chunks.aclose()  # hang up now: no background reader left behind
            yield _complete(accumulator, model)
            return
        except TimeoutError:
            error: ModelError = _timeout_error(model, call, emitted)
        except ModelError as exc:
            error = exc
        if emitted or _past(call):
            raise error
        model, delay = plan.send(error)


def _past(call: ModelCall) -> bool:
    """The run's deadline (Runner(run_timeout=...)) has passed: no retry, no fallback."""
    return call.deadline is not None and time.monotonic() >= call.deadline


def _timeout_error(model: Any, call: ModelCall, streaming: bool) -> ModelTimeoutError:
    which, seconds = (("stream_idle_timeout", call.request.idle_timeout) if streaming
                      else ("model_timeout", call.request.timeout))
    name = getattr(model, "name", None)
    waited = f"sent nothing for {seconds:g} s ({which})" if seconds is not None else "timed out"
    return ModelTimeoutError(f"Model {name!r} {waited}; raise Runner({which}=...) if the model is just slow.",
                             model=name, retryable=True)


def _complete(accumulator: StreamAccumulator, model: Any) -> ModelResponse:
    if accumulator.calls and accumulator.finish_reason is None:
        # A stream that stops mid tool call may be cut off anywhere, even inside the arguments: never run it.
        raise ModelError(f"Model {getattr(model, 'name', model)!r} stream ended in the middle of a tool call "
                         "(the connection was cut); nothing of it was saved. Run the prompt again.",
                         model=getattr(model, "name", None), retryable=True)
    return accumulator.response()
