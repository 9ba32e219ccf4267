"""Scripted and function-driven models: deterministic stand-ins for an LLM, for users' own tests."""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import ModelError, ScriptExhaustedError, UserError
from ..messages import assistant, tool_call
from ..models import ModelBase, ModelRequest, ModelResponse, Usage


@dataclass(frozen=True)
class ToolCallReply:
    """One tool call the fake model will make; build it with `call(...)`."""

    name: str
    arguments: str
    id: str | None = None


@dataclass(frozen=True)
class Fail:
    """Make the fake model fail with an HTTP-style error (on the loopback server: a real HTTP status)."""

    status: int = 500
    message: str = "scripted failure"
    headers: dict[str, str] = field(default_factory=dict)


def call(name: str, arguments: dict | str | None = None, /, *, id: str | None = None, **kwargs: Any) -> ToolCallReply:
    """A scripted tool call: `call("add", a=1, b=2)`, or raw arguments: `call("add", '{"a": 1')`."""
    if isinstance(arguments, str):
        return ToolCallReply(name, arguments, id)
    return ToolCallReply(name, json.dumps({**(arguments or {}), **kwargs}), id)


Reply = str | ToolCallReply | list | dict | ModelResponse | Fail | Exception


def estimate_tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: about four characters per token."""
    return max(1, len(text) // 4) if text else 0


class _IdCounter:
    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def next(self) -> str:
        return f"call_{next(self._counter)}"


def to_response(reply: Reply, request: ModelRequest | None, ids: _IdCounter) -> ModelResponse:
    """Turn one script item into the reply a provider would have sent."""
    if isinstance(reply, ModelResponse):
        return reply
    if isinstance(reply, Fail):
        raise ModelError(f"HTTP {reply.status}: {reply.message}", status_code=reply.status,
                         retryable=reply.status in (408, 409, 429) or reply.status >= 500)
    if isinstance(reply, BaseException):
        raise reply
    if isinstance(reply, str):
        message = assistant(reply)
    elif isinstance(reply, ToolCallReply):
        message = assistant(None, [tool_call(reply.id or ids.next(), reply.name, reply.arguments)])
    elif isinstance(reply, (list, tuple)) and reply and all(isinstance(r, ToolCallReply) for r in reply):
        message = assistant(None, [tool_call(r.id or ids.next(), r.name, r.arguments) for r in reply])
    elif isinstance(reply, dict):
        message = {"role": "assistant", "content": None, **reply}
    else:
        raise UserError(f"Cannot use {reply!r} as a scripted reply: use a str, call(...), a list of call(...), "
                        "an assistant message dict, Fail(...) or an exception.")
    prompt = json.dumps(request.messages) if request is not None else ""
    return ModelResponse(message, Usage(1, estimate_tokens(prompt), estimate_tokens(json.dumps(message))))


class ScriptedModel(ModelBase):
    """Answers each request with the next reply of a script; records every request; fails loudly when done."""

    def __init__(self, replies: list[Reply], *, name: str = "scripted") -> None:
        self.name = name
        self.replies = list(replies)
        self.requests: list[ModelRequest] = []
        self._ids = _IdCounter()
        self._lock = threading.Lock()

    @property
    def remaining(self) -> int:
        return len(self.replies)

    def complete(self, request: ModelRequest) -> ModelResponse:
        with self._lock:
            self.requests.append(request)
            if not self.replies:
                last = request.messages[-1] if request.messages else None
                raise ScriptExhaustedError(
                    f"ScriptedModel {self.name!r} was asked for reply #{len(self.requests)} but its script is "
                    f"used up. Add replies to the script. The last message it got: {last!r:.200}")
            reply = self.replies.pop(0)
        return to_response(reply, request, self._ids)

    async def complete_async(self, request: ModelRequest) -> ModelResponse:
        return self.complete(request)


class FunctionModel(ModelBase):
    """Each reply is decided by `function(messages, tools)`, which returns a script item."""

    def __init__(self, function: Callable[[list[dict], list[dict]], Reply], *, name: str = "function") -> None:
        self.name = name
        self.function = function
        self.requests: list[ModelRequest] = []
        self._ids = _IdCounter()
        self._lock = threading.Lock()

    def complete(self, request: ModelRequest) -> ModelResponse:
        with self._lock:
            self.requests.append(request)
        return to_response(self.function(request.messages, request.tools), request, self._ids)

    async def complete_async(self, request: ModelRequest) -> ModelResponse:
        return self.complete(request)


def echo(messages: list[dict], tools: list[dict]) -> str:
    """A FunctionModel function that repeats the last user message."""
    last = next((m.get("content") for m in reversed(messages) if m.get("role") == "user"), "")
    return f"You said: {last}"


def reply_from_json(item: Any) -> Reply:
    """Script items from JSON (the server's --script file): a string, {"tool_calls": [...]}, or {"fail": ...}."""
    if isinstance(item, str):
        return item
    if isinstance(item, dict) and "tool_calls" in item:
        return [call(c["name"], c.get("arguments") or {}, id=c.get("id")) for c in item["tool_calls"]]
    if isinstance(item, dict) and "fail" in item:
        spec = item["fail"]
        return Fail(spec.get("status", 500), spec.get("message", "scripted failure"), spec.get("headers", {}))
    raise UserError(f"Script item {item!r} is not a string, {{'tool_calls': [...]}} or {{'fail': {{...}}}}.")
