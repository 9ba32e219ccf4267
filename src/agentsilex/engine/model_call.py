"""One model call for the drivers: timeouts, retries and fallbacks around a Model, streaming or not.

The retry decisions live in `models.retry.attempt_plan`; here the sync and async twins only sleep, call
and time out. A stream is retried only while nothing from it has reached the consumer: once a chunk was
handed out, replaying the request could show the user a second, different answer.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import aclosing
from dataclasses import replace
from typing import Any, AsyncGenerator, Generator

from .request import ModelCall
from .tool_calls import Limits
from ..errors import ModelError, ModelTimeoutError
from ..events import Event, RawChunkEvent
from ..validation import check_stream_complete, checked
from ..models import ModelResponse, reasoning, resolve_model
from ..models.retry import attempt_plan
from ..models.stream import StreamAccumulator
from ..tracing import log


def candidates(call: ModelCall) -> list[Any]:
    """The model the loop chose, then the agent's fallback models in order."""
    fallbacks = getattr(call.agent, "fallback_models", None) or ()
    return [call.model, *(resolve_model(model) for model in fallbacks)]


def call_model_sync(call: ModelCall, limits: Limits, stream: bool) -> Generator[Event, None, ModelResponse]:
    """Blocking model call; yields stream events (if streaming) and returns the reply.

    The model enforces the request's timeouts itself (the only way to stop a blocking read in sync code)."""
    plan = attempt_plan(candidates(call), limits.retry)
    model, delay = next(plan)
    chat, attempt = _chat_span(call, model), 0
    try:
        while True:
            if delay:
                time.sleep(delay)
            emitted, attempt = False, attempt + 1
            started = log.request_sent(call, model, attempt)
            try:
                request = request_for(call, model)
                if not stream:
                    return _done(chat, started, model, answered(checked(model.complete(request), model), model))
                accumulator = StreamAccumulator(call.agent.name, request)
                chunks = model.stream(request)
                try:
                    for chunk in chunks:
                        events = accumulator.feed(chunk)
                        emitted = emitted or any(not isinstance(e, RawChunkEvent) for e in events)  # not a bare chunk
                        yield from events
                finally:
                    getattr(chunks, "close", lambda: None)()  # hang up now, not when garbage-collected
                return _done(chat, started, model, answered(_complete(accumulator, model), model))
            except ModelError as exc:
                log.reply_received(started, model, error=exc)
                if emitted or _past(call):
                    raise
                model, delay = plan.send(exc)
                if chat is not None:
                    chat.attempt_failed(exc, model)
    except BaseException as exc:
        if chat is not None:
            chat.finish(error=exc)
        raise


async def call_model_async(call: ModelCall, limits: Limits, stream: bool) -> AsyncGenerator[Event | ModelResponse, None]:
    """Async model call; yields stream events (if streaming), then the reply as the last item."""
    plan = attempt_plan(candidates(call), limits.retry)
    model, delay = next(plan)
    chat = _chat_span(call, model)
    try:
        async with aclosing(_attempts_async(call, stream, plan, model, delay, chat)) as items:
            async for item in items:  # closed with us: a consumer that stops early hangs up the stream now
                yield item
    except BaseException as exc:
        if chat is not None:
            chat.finish(error=exc)
        raise


async def _attempts_async(call: ModelCall, stream: bool, plan: Any, model: Any, delay: float | None,
                          chat: Any) -> AsyncGenerator[Event | ModelResponse, None]:
    attempt = 0
    while True:
        if delay:
            await asyncio.sleep(delay)
        emitted, attempt = False, attempt + 1
        started = log.request_sent(call, model, attempt)
        try:
            request = request_for(call, model)
            if not stream:
                async with asyncio.timeout(call.request.timeout):
                    response = await model.complete_async(request)
                yield _done(chat, started, model, answered(checked(response, model), model))
                return
            accumulator = StreamAccumulator(call.agent.name, request)
            chunks = aiter(model.stream_async(request))
            try:
                timeout = call.request.timeout  # for the first chunk; then the idle timeout between chunks
                while True:
                    async with asyncio.timeout(timeout):
                        chunk = await anext(chunks, None)
                    if chunk is None:
                        break
                    events = accumulator.feed(chunk)
                    emitted = emitted or any(not isinstance(e, RawChunkEvent) for e in events)  # not a bare chunk
                    for event in events:
                        yield event
                    timeout = call.request.idle_timeout
            finally:
                if hasattr(chunks, "aclose"):
                    await chunks.aclose()  # hang up now: no background reader left behind
            yield _done(chat, started, model, answered(_complete(accumulator, model), model))
            return
        except TimeoutError:
            error: ModelError = _timeout_error(model, call, emitted)
        except ModelError as exc:
            error = exc
        log.reply_received(started, model, error=error)
        if emitted or _past(call):
            raise error
        model, delay = plan.send(error)
        if chat is not None:
            chat.attempt_failed(error, model)


def _past(call: ModelCall) -> bool:
    """The run's deadline (Runner(run_timeout=...)) has passed: no retry, no fallback."""
    return call.deadline is not None and time.monotonic() >= call.deadline


def _chat_span(call: ModelCall, model: Any) -> Any:
    if call.trace is None:
        return None
    from ..tracing.spans import ChatSpan  # loaded only when tracing is on

    return ChatSpan(call.trace.agent, model, call.request, call.agent, call.trace.conversation_id,
                    purpose="compaction" if call.quiet else None, content=call.trace.content)


def _done(chat: Any, started: float | None, model: Any, response: ModelResponse) -> ModelResponse:
    log.reply_received(started, model, response)
    if chat is not None:
        chat.finish(response)
    return response


def request_for(call: ModelCall, model: Any) -> Any:
    """The request as built, or for a fallback model of another provider: without the first one's reasoning."""
    if model is call.model or reasoning.provider_of(model) == reasoning.provider_of(call.model):
        return call.request
    return replace(call.request, messages=reasoning.strip_all(call.request.messages))


def answered(response: ModelResponse, model: Any) -> ModelResponse:
    """The reply, its reasoning marked with the provider that wrote it (models/reasoning.py)."""
    marked = reasoning.mark(response.message, model)
    return response if marked is response.message else replace(response, message=marked)


def _timeout_error(model: Any, call: ModelCall, streaming: bool) -> ModelTimeoutError:
    which, seconds = (("stream_idle_timeout", call.request.idle_timeout) if streaming
                      else ("model_timeout", call.request.timeout))
    name = getattr(model, "name", None)
    waited = f"sent nothing for {seconds:g} s ({which})" if seconds is not None else "timed out"
    return ModelTimeoutError(f"Model {name!r} {waited}; raise Runner({which}=...) if the model is just slow.",
                             model=name, retryable=True)


def _complete(accumulator: StreamAccumulator, model: Any) -> ModelResponse:
    check_stream_complete(accumulator, model)  # never a reply cut off mid tool call, nor an empty one
    return checked(accumulator.response(), model)
