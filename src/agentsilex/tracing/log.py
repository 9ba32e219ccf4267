"""The `agentsilex` logger at DEBUG: what each model request contained and how long it took, keys redacted.

Silent by default (standard logging: nothing shows until the application enables DEBUG for "agentsilex"). A run
started while DEBUG is enabled gets the `RequestLog` capability (a wrap); any other run does not load this module.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Generator

from ..engine.capability import ModelCall
from ..wrapping import Capability, intercept

logger = logging.getLogger("agentsilex")


class RequestLog(Capability):
    """Logs each model request as it goes out and its reply (or failure) as it comes back."""

    def wrap(self, loop: Any) -> Generator:
        started: dict[int, float | None] = {}

        def sent(call: Any) -> None:
            if isinstance(call, ModelCall):
                started[id(call)] = request_sent(call, call.model)

        def received(call: Any, response: Any, error: BaseException | None) -> None:
            if isinstance(call, ModelCall):
                reply_received(started.pop(id(call), None), call.model, response, error)

        return (yield from intercept(loop, sent, received))


def request_sent(call: Any, model: Any) -> float | None:
    """Log the request about to go out; returns the start time to pass to `reply_received`."""
    if not logger.isEnabledFor(logging.DEBUG):
        return None
    request = call.request
    body = {"messages": request.messages, "tools": [t.get("function", {}).get("name") for t in request.tools],
            "settings": request.settings.to_kwargs(), "response_format": bool(request.response_format),
            "output_mode": getattr(request, "output_mode", None)}
    text = json.dumps(body, ensure_ascii=False, default=str)
    logger.debug("model request to %s for agent %r: %d messages, %d tools: %s",
                 getattr(model, "name", model), getattr(call.agent, "name", None), len(request.messages),
                 len(request.tools), _redact(text, model))
    return time.perf_counter()


def reply_received(started: float | None, model: Any, response: Any = None, error: BaseException | None = None) -> None:
    if started is None:
        return
    elapsed = (time.perf_counter() - started) * 1000
    name = getattr(model, "name", model)
    if error is not None:
        logger.debug("model %s failed after %.1f ms: %s: %s", name, elapsed, type(error).__name__,
                     _redact(str(error), model))
        return
    usage = response.usage
    logger.debug("model %s replied in %.1f ms: finish_reason=%s, %d input + %d output tokens, tool calls: %s",
                 name, elapsed, response.finish_reason, usage.input_tokens, usage.output_tokens,
                 [c["function"]["name"] for c in response.message.get("tool_calls") or []])


def _redact(text: str, model: Any) -> str:
    """The model's key and every key the process knows of, by value, and anything shaped like a key."""
    from ..redaction import redact

    return redact(text, getattr(model, "_api_key", None))
