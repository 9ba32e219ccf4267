"""One model call for the drivers: timeouts, retries and fallbacks around a Model, streaming or not.

The retry decisions live in `models.retry.attempt_plan`; here the sync call (and its async twin in drivers_async.py)
only sleep, call and time out. A stream is retried only while nothing from it has reached the consumer: once a chunk was
handed out, replaying the request could show the user a second, different answer. Every wait is capped at the call's
deadline, on a copy of the request (the request as built and seen by the hooks is never edited).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Generator

from ..errors import ModelError
from ..events import Event
from ..messages import carries_reasoning
from ..models import ModelResponse
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
                return answered(model.complete(request), model)
            from ..models.stream import StreamAccumulator  # only when streaming

            accumulator = StreamAccumulator(call.agent or "", request)  # the agent: its output_type, its name
            chunks = model.stream(request)
            try:
                for chunk in chunks:
                    events = accumulator.feed(chunk)
                    emitted = accumulator.shown  # a bare raw chunk is not yet an answer the consumer saw
                    yield from events
            finally:
                getattr(chunks, "close", lambda: None)()  # hang up now, not when garbage-collected
            return answered(accumulator.complete(model), model)
        except ModelError as exc:
            if emitted or past(call):
                raise
            model, delay = plan.send(exc)


def past(call: ModelCall) -> bool:
    """The run's deadline (Runner(run_timeout=...)) has passed: no retry, no fallback."""
    return call.deadline is not None and time.monotonic() >= call.deadline


def request_for(call: ModelCall, model: Any) -> Any:
    """What this attempt sends: the request as built; for a fallback model of another provider, without the first
    one's reasoning; with every wait capped at the run's deadline."""
    request = call.request
    if model is not call.model and carries_reasoning(request.messages):
        from ..models import reasoning

        if reasoning.provider_of(model) != reasoning.provider_of(call.model):
            request = replace(request, messages=reasoning.strip_all(request.messages))
    if call.deadline is None:
        return request
    left = max(call.deadline - time.monotonic(), 0.001)
    return replace(request, timeout=min(request.timeout or left, left),
                   idle_timeout=min(request.idle_timeout or left, left),
                   connect_timeout=min(request.connect_timeout or left, left))


def answered(response: ModelResponse, model: Any) -> ModelResponse:
    """Every reply passes here before the loop sees it: each tool call gets an id of its own (a model may repeat or
    leave one out), and its reasoning is marked with the provider that wrote it (models/reasoning.py)."""
    message = response.message
    ids = [call.get("id") for call in message.get("tool_calls") or []]
    if not all(ids) or len(set(ids)) != len(ids):
        from ..models.stream import with_unique_call_ids

        message = with_unique_call_ids(message)
    if carries_reasoning([message]):
        from ..models import reasoning

        message = reasoning.mark(message, model)
    return response if message is response.message else replace(response, message=message)
    from ..models.stream import with_unique_call_ids  # a model repeated (or left out) an id

    response.message = with_unique_call_ids(response.message)
    return response
