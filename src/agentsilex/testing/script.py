"""Scripted and function-driven models: deterministic stand-ins for an LLM, for users' own tests."""

from __future__ import annotations

import itertools
import json
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import AgentsilexError, UserError
from ..messages import assistant, tool_call
from ..models import ModelBase, ModelRequest, ModelResponse, Usage


class ScriptExhaustedError(AgentsilexError):
    """A scripted test model was asked for more replies than its script holds."""


@dataclass(frozen=True)
class ToolCallReply:
    """One tool call the fake model will make; build it with `call(...)`."""

    name: str
    arguments: str
    call_id: str | None = None  # None: the model makes up a unique one

    @property
    def id(self) -> str | None:
        """The older name of `call_id`."""
        return self.call_id


@dataclass(frozen=True)
class Fail:
    """Make the fake model fail with an HTTP-style error (on the loopback server: a real HTTP status)."""

    status: int = 500
    message: str = "scripted failure"
    headers: dict[str, str] = field(default_factory=dict)
    forever: bool = False  # stay at the head of the script: every later request fails too


@dataclass(frozen=True)
class Stall:
    """Loopback server only: send nothing for `seconds`, then hang up. With `reply`, stream its first
    `after` chunks before going quiet (a stall mid-stream)."""

    seconds: float = 30.0
    reply: Any = None
    after: int = 0


@dataclass(frozen=True)
class Cut:
    """Loopback server only: answer `reply` but hang up part-way -- a stream after `after` chunks (default:
    in the middle of the first tool call's arguments), a plain JSON body halfway through."""

    reply: Any
    after: int | None = None


MALFORMED_KINDS = ("html", "empty", "json_without_choices", "plain_json", "sse_error", "unfinished", "bad_json")


@dataclass(frozen=True)
class Malformed:
    """Loopback server only: answer HTTP 200 with a body no client should take for a complete answer.

    `kind`: "html" (a proxy's login page), "empty" (no body at all), "json_without_choices" ({"id": ...}),
    "plain_json" (a valid non-stream reply of `reply` to a stream request: a server ignoring `stream`),
    "sse_error" (a stream that starts `reply`, then sends {"error": ...}), "unfinished" (a stream of part of
    `reply` that ends cleanly with no finish_reason and no [DONE]), "bad_json" (a stream event that is not JSON).
    """

    kind: str
    reply: Any = "a partial answer that must never be stored"

    def __post_init__(self) -> None:
        if self.kind not in MALFORMED_KINDS:
            raise UserError(f"Malformed kind must be one of {', '.join(MALFORMED_KINDS)}, got {self.kind!r}.")


def call(name: str, /, arguments: dict | str | None = None, *, call_id: str | None = None,
         **kwargs: Any) -> ToolCallReply:
    """A scripted tool call: `call("add", a=1, b=2)`, `call("get", {"id": 7})`, raw arguments:
    `call("add", '{"a": 1')`. Every keyword but `call_id` is a tool argument (`id=` too); without
    `call_id` the model makes up an id that no other run, model or process repeats."""
    if isinstance(arguments, str):
        if kwargs:
            raise UserError(f"call({name!r}, ...): give the arguments either as raw text or as keywords, not both.")
        return ToolCallReply(name, arguments, call_id)
    return ToolCallReply(name, json.dumps({**(arguments or {}), **kwargs}), call_id)


Reply = str | ToolCallReply | list | dict | ModelResponse | Fail | Stall | Cut | Malformed | Exception


def estimate_tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: about four characters per token."""
    return max(1, len(text) // 4) if text else 0


class _IdCounter:
    """Call ids `call_<random>_<n>`: numbered in order for one model object, with a random part chosen when
    the object is made, so two models, two runs in two processes, or a run after a restart never share one."""

    def __init__(self) -> None:
        self._prefix = f"call_{secrets.token_hex(4)}_"
        self._counter = itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter)}"


def to_response(reply: Reply, request: ModelRequest | None, ids: _IdCounter) -> ModelResponse:
    """Turn one script item into the reply a provider would have sent."""
    if isinstance(reply, ModelResponse):
        return reply
    if isinstance(reply, Fail):
        from ..models.http import error_for_status, parse_retry_after  # as an HTTP model would raise it

        raise error_for_status(f"HTTP {reply.status}: {reply.message}", status=reply.status,
                               retry_after=parse_retry_after(_header(reply.headers, "retry-after")))
    if isinstance(reply, BaseException):
        raise reply
    if isinstance(reply, str):
        message = assistant(reply)
    elif isinstance(reply, ToolCallReply):
        message = assistant(None, [tool_call(reply.call_id or ids.next(), reply.name, reply.arguments)])
    elif isinstance(reply, (list, tuple)) and reply and all(isinstance(r, ToolCallReply) for r in reply):
        message = assistant(None, [tool_call(r.call_id or ids.next(), r.name, r.arguments) for r in reply])
    elif isinstance(reply, dict):
        message = {"role": "assistant", "content": None, **reply}
    else:
        raise UserError(f"Cannot use {reply!r} as a scripted reply: use a str, call(...), a list of call(...), "
                        "an assistant message dict, Fail(...) or an exception.")
    prompt = json.dumps(request.messages) if request is not None else ""
    return ModelResponse(message, Usage(1, estimate_tokens(prompt), estimate_tokens(json.dumps(message))),
                         "tool_calls" if message.get("tool_calls") else "stop")


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

    def assert_complete(self) -> None:
        """Fail the test if the script was not used up: the agent made fewer model calls than it was written for."""
        left = [reply for reply in self.replies if not getattr(reply, "forever", False)]
        if left:
            raise AssertionError(f"ScriptedModel {self.name!r} answered {len(self.requests)} request(s) but "
                                 f"{len(left)} scripted repl{'y was' if len(left) == 1 else 'ies were'} never used: "
                                 f"{left!r:.300}")

    def complete(self, request: ModelRequest) -> ModelResponse:
        with self._lock:
            self.requests.append(request)
            if not self.replies:
                last = request.messages[-1] if request.messages else None
                raise ScriptExhaustedError(
                    f"ScriptedModel {self.name!r} was asked for reply #{len(self.requests)} but its script is "
                    f"used up. Add replies to the script. The last message it got: {last!r:.200}")
            reply = self.replies[0] if getattr(self.replies[0], "forever", False) else self.replies.pop(0)
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
    if isinstance(last, str):
        return f"You said: {last}"
    from ..features.content import text_of  # content parts, as short labels

    return f"You said: {text_of(last)}"


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((value for key, value in headers.items() if key.lower() == name), None)


def reply_from_json(item: Any) -> Reply:
    """Script items from JSON (the server's --script file): a string, {"tool_calls": [...]} (with
    "reasoning_content", "thinking_blocks" and "content" beside it: a reasoning model's reply), {"fail": {...}},
    {"stall": {"seconds": s, "reply": item, "after": n}} or {"cut": {"reply": item, "after": n}}."""
    if isinstance(item, str):
        return item
    if isinstance(item, dict) and ("tool_calls" in item or "reasoning_content" in item or "thinking_blocks" in item):
        calls = [call(c["name"], c.get("arguments") or {}, call_id=c.get("id")) for c in item.get("tool_calls") or []]
        if item.keys() <= {"tool_calls"}:
            return calls
        # An assistant message with reasoning (models/reasoning.py), as a reasoning model would send it.
        # Calls without an id get a unique one, as a scripted model makes up (see _IdCounter).
        prefix = f"call_{secrets.token_hex(4)}_"
        return {"content": item.get("content"),
                **{k: v for k, v in item.items() if k not in ("tool_calls", "content")},
                **({"tool_calls": [tool_call(c.call_id or f"{prefix}{i}", c.name, c.arguments) for i, c in
                                   enumerate(calls, 1)]} if calls else {})}
    if isinstance(item, dict) and "fail" in item:
        spec = item["fail"]
        return Fail(spec.get("status", 500), spec.get("message", "scripted failure"), spec.get("headers", {}),
                    bool(spec.get("forever", False)))
    if isinstance(item, dict) and "stall" in item:
        spec = item["stall"]
        reply = spec.get("reply")
        return Stall(spec.get("seconds", 30.0), None if reply is None else reply_from_json(reply), spec.get("after", 0))
    if isinstance(item, dict) and "cut" in item:
        return Cut(reply_from_json(item["cut"]["reply"]), item["cut"].get("after"))
    if isinstance(item, dict) and "malformed" in item:
        spec = item["malformed"]
        return Malformed(spec["kind"], reply_from_json(spec.get("reply", Malformed.reply)))
    raise UserError(f"Script item {item!r} is not a string, {{'tool_calls': [...]}}, {{'fail': {{...}}}}, "
                    "{'stall': {...}}, {'cut': {...}} or {'malformed': {'kind': ...}}.")
