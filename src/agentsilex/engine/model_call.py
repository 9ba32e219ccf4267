"""One model call for the drivers: timeouts, retries and fallbacks around a Model, streaming or not.

The retry decisions live in `models.retry.attempt_plan`; here the sync and async twins only sleep, call and time
out. A stream is retried only while nothing from it has reached the consumer: once a chunk was handed out,
replaying the request could show the user a second, different answer. Every wait is capped at the call's
deadline, on a copy of the request (the request as built and seen by the hooks is never edited).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, AsyncGenerator, Generator

from ..errors import ModelError, ModelTimeoutError
from ..events import Event, RawChunkEvent
from ..models import ModelResponse, reasoning
from ..models.retry import attempt_plan
from .capability import ModelCall


def call_model_sync(call: ModelCall, limits: Any, stream: bool) -> Generator[Event, None, ModelResponse]:
    """Blocking model call; yields stream events (if streaming) and returns the reply.

    The model enforces the request's timeouts itself (the only way to stop a blocking read in sync code)."""
    plan = attempt_plan([call.model, *call.fallbacks], limits.retry)
    model, delay = next(plan)
    while True:
        if delay:
            time.sleep(delay)
        emitted = False
        try:
            request = request_for(call, model)
            if not stream:
                return answered(checked(model.complete(request), model), model)
            from ..models.stream import StreamAccumulator  # only when streaming

            accumulator = StreamAccumulator(call.agent.name if call.agent else "", request)
            chunks = model.stream(request)
            try:
                for chunk in chunks:
                    events = accumulator.feed(chunk)
                    emitted = emitted or any(not isinstance(e, RawChunkEvent) for e in events)  # not a bare chunk
                    yield from events
            finally:
                getattr(chunks, "close", lambda: None)()  # hang up now, not when garbage-collected
            return answered(complete(accumulator, model), model)
        except ModelError as exc:
            if emitted or _past(call):
                raise
            model, delay = plan.send(exc)


async def call_model_async(call: ModelCall, limits: Any, stream: bool) -> AsyncGenerator[Event | ModelResponse, None]:
    """Async model call; yields stream events (if streaming), then the reply as the last item."""
    import asyncio

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
                yield answered(checked(response, model), model)
                return
            from ..models.stream import StreamAccumulator

            accumulator = StreamAccumulator(call.agent.name if call.agent else "", request)
            chunks = aiter(model.stream_async(request))
            try:
                timeout = request.timeout  # for the first chunk; then the idle timeout between chunks
                while True:
                    async with asyncio.timeout(timeout):
                        chunk = await anext(chunks, None)
                    if chunk is None:
                        break
                    events = accumulator.feed(chunk)
                    emitted = emitted or any(not isinstance(e, RawChunkEvent) for e in events)  # not a bare chunk
                    for event in events:
                        yield event
                    timeout = request.idle_timeout
            finally:
                if hasattr(chunks, "aclose"):
                    await chunks.aclose()  # hang up now: no background reader left behind
            yield answered(complete(accumulator, model), model)
            return
        except TimeoutError:
            error: ModelError = _timeout_error(model, request, emitted)
        except ModelError as exc:
            error = exc
        if emitted or _past(call):
            raise error
        model, delay = plan.send(error)


def _past(call: ModelCall) -> bool:
    """The run's deadline (Runner(run_timeout=...)) has passed: no retry, no fallback."""
    return call.deadline is not None and time.monotonic() >= call.deadline


def request_for(call: ModelCall, model: Any) -> Any:
    """What this attempt sends: the request as built; for a fallback model of another provider, without the first
    one's reasoning; with every wait capped at the run's deadline."""
    request = call.request
    if model is not call.model and reasoning.provider_of(model) != reasoning.provider_of(call.model):
        request = replace(request, messages=reasoning.strip_all(request.messages))
    if call.deadline is None:
        return request
    left = max(call.deadline - time.monotonic(), 0.001)
    return replace(request, timeout=min(request.timeout or left, left),
                   idle_timeout=min(request.idle_timeout or left, left),
                   connect_timeout=min(request.connect_timeout or left, left))


def answered(response: ModelResponse, model: Any) -> ModelResponse:
    """The reply, its reasoning marked with the provider that wrote it (models/reasoning.py)."""
    marked = reasoning.mark(response.message, model)
    return response if marked is response.message else replace(response, message=marked)


def checked(response: ModelResponse, model: Any) -> ModelResponse:
    """Every model reply passes here before the loop sees it: each tool call gets an id of its own."""
    calls = response.message.get("tool_calls") or []
    ids = [call.get("id") for call in calls]
    if all(ids) and len(set(ids)) == len(ids):
        return response
    from ..models.stream import with_unique_call_ids  # a model repeated (or left out) an id

    response.message = with_unique_call_ids(response.message)
    return response


def complete(accumulator: Any, model: Any) -> ModelResponse:
    """The reassembled stream, if it is whole: not cut in a tool call, not empty (both are retryable errors)."""
    name = getattr(model, "name", None)
    if accumulator.calls and accumulator.finish_reason is None:
        # A stream that stops mid tool call may be cut off anywhere, even inside the arguments: never run it.
        raise ModelError(f"Model {name!r} stream ended in the middle of a tool call (the connection was cut); "
                         "nothing of it was saved. Run the prompt again.", model=name, retryable=True)
    if not accumulator.calls and not accumulator.text:  # e.g. LiteLLM reading a page that was no stream at all
        raise ModelError(f"Model {name!r} streamed an empty answer (no text, no tool call); nothing was saved. "
                         "Retried like a server error.", model=name, retryable=True)
    return checked(accumulator.response(), model)


def _timeout_error(model: Any, request: Any, streaming: bool) -> ModelTimeoutError:
    which, seconds = (("stream_idle_timeout", request.idle_timeout) if streaming
                      else ("model_timeout", request.timeout))
    name = getattr(model, "name", None)
    waited = f"sent nothing for {seconds:g} s ({which})" if seconds is not None else "timed out"
    return ModelTimeoutError(f"Model {name!r} {waited}; raise Runner({which}=...) if the model is just slow.",
                             model=name, retryable=True)
