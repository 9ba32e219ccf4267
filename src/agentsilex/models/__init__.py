"""The model layer: a small protocol, plain-data requests and responses, and string -> model resolution."""

from __future__ import annotations

import asyncio
import os
import threading
from dataclasses import dataclass, field, replace
from typing import Any, AsyncIterator, Iterator, Protocol, runtime_checkable

from ..errors import UserError


@dataclass
class Usage:
    """Token counts, summed over requests."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def add(self, other: Usage) -> None:
        self.requests += other.requests
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens


@dataclass(frozen=True)
class ModelSettings:
    """Sampling options sent with every request; `extra` is passed to the provider as-is."""

    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    tool_choice: str | dict | None = None
    parallel_tool_calls: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_kwargs(self) -> dict[str, Any]:
        known = {"temperature": self.temperature, "max_tokens": self.max_tokens, "top_p": self.top_p,
                 "tool_choice": self.tool_choice, "parallel_tool_calls": self.parallel_tool_calls}
        return {**{k: v for k, v in known.items() if v is not None}, **self.extra}

    def merged(self, **changes: Any) -> ModelSettings:
        return replace(self, **changes)


@dataclass
class ModelRequest:
    """Exactly what goes to the model: messages (system first), tool specs, settings (built by build_request)."""

    messages: list[dict]
    tools: list[dict] = field(default_factory=list)
    settings: ModelSettings = field(default_factory=ModelSettings)
    response_format: Any = None
    timeout: float | None = None  # seconds to wait for the reply (streams: for the first chunk)
    idle_timeout: float | None = None  # streams: seconds to wait between chunks
    output_mode: str | None = None  # how a structured output is asked for: "native", "tool", "prompted" or None


@dataclass
class ModelResponse:
    """The model's reply: one assistant message as a plain dict, and the tokens it cost."""

    message: dict
    usage: Usage = field(default_factory=Usage)
    finish_reason: str | None = None


@runtime_checkable
class Model(Protocol):
    """What the runner needs from a model: the whole contract of an adapter. `ModelBase` fills in three of four.

    **Request.** Send `request.messages` (OpenAI format, system first), `request.tools` (OpenAI `tools`
    entries; omit the key when empty), `request.settings.to_kwargs()` and, when set, `request.response_format`.
    Do not change the request: it may be shared with hooks and retries.

    **Reply** (`complete`, `complete_async`). A `ModelResponse` whose `message` is one assistant message as a
    plain JSON-safe dict: `{"role": "assistant", "content": str | None}` plus `"tool_calls": [{"id",
    "type": "function", "function": {"name", "arguments": <JSON text>}}]` when it calls tools (no empty list);
    `usage` with `requests=1` and the token counts; `finish_reason` as the provider gave it ("stop",
    "tool_calls", "length", ...; None if unknown).

    **Stream** (`stream`, `stream_async`). OpenAI-format chunk dicts: `{"choices": [{"delta": {"content":
    "...", "tool_calls": [{"index", "id", "function": {"name", "arguments"}}]}, "finish_reason": ...}],
    "usage": {"prompt_tokens", "completion_tokens"}}` (every key optional; tool call fragments are joined by
    `index`). The last chunk with choices carries the `finish_reason`: a stream that ends inside a tool call
    with no finish_reason counts as cut off and is retried or fails, never run. Closing the iterator
    (`close()` / `aclose()`) must hang up the connection.

    **Timeouts.** `request.timeout` (seconds to the reply, or to the first chunk) and `request.idle_timeout`
    (between chunks) are part of the request. A model that does blocking I/O must enforce them itself: the
    sync drivers cannot interrupt a blocking read. The async drivers also enforce them around each await.

    **Errors.** Raise `agentsilex.errors.ModelError` (or a child: `ModelTimeoutError`, `ModelAuthError`,
    `ModelBadRequestError`, ...) with `retryable=True` for failures worth retrying; the drivers retry, back
    off and fall back (`Runner(retry=...)`, `Agent(fallback_models=...)`). Any other exception is a bug.

    **Capabilities** (optional attributes, declared by the adapter; absent means True):
    `supports_response_format` (a JSON schema `response_format`) and `supports_response_format_with_tools`
    (the same together with tools). They decide the structured-output mode (control/output.py).
    """

    name: str

    def complete(self, request: ModelRequest) -> ModelResponse: ...

    async def complete_async(self, request: ModelRequest) -> ModelResponse: ...

    def stream(self, request: ModelRequest) -> Iterator[dict]: ...

    def stream_async(self, request: ModelRequest) -> AsyncIterator[dict]: ...


class ModelBase:
    """Convenience base: implement `complete`; async and streaming follow from it."""

    name: str = "model"

    def complete(self, request: ModelRequest) -> ModelResponse:
        raise NotImplementedError

    async def complete_async(self, request: ModelRequest) -> ModelResponse:
        return await asyncio.to_thread(self.complete, request)

    def stream(self, request: ModelRequest) -> Iterator[dict]:
        from .stream import response_to_chunks

        yield from response_to_chunks(self.complete(request))

    async def stream_async(self, request: ModelRequest) -> AsyncIterator[dict]:
        from .stream import response_to_chunks

        for chunk in response_to_chunks(await self.complete_async(request)):
            yield chunk


_cache: dict[Any, Model] = {}
_cache_lock = threading.Lock()


def resolve_model(model: str | Model) -> Model:
    """A LiteLLM model string becomes a (shared, connection-reusing) `LiteLLMModel`; a Model stays itself."""
    if isinstance(model, str):
        native = model.startswith("openai/") and os.environ.get("AGENTSILEX_OPENAI_HTTP", "0") not in ("", "0", "false")
        # The native model reads its endpoint from the environment when built: a changed env needs a new one.
        key = (model, *(os.environ.get(v) for v in ("OPENAI_BASE_URL", "OPENAI_API_BASE", "OPENAI_API_KEY"))) \
            if native else model
        with _cache_lock:
            if key not in _cache:
                _cache[key] = _model_for(model, native)
            return _cache[key]
    if all(hasattr(model, method) for method in ("complete", "complete_async", "stream", "stream_async")):
        return model
    raise UserError(f"Agent model must be a LiteLLM model string such as 'gpt-4o' or a Model object, "
                    f"got {model!r}.")


def _model_for(name: str, native: bool) -> Model:
    if native:
        from .openai_http import OpenAIHTTPModel  # the lean native path (opt-in)

        return OpenAIHTTPModel(name)
    from .litellm import LiteLLMModel

    return LiteLLMModel(name)


__all__ = ["Model", "ModelBase", "ModelRequest", "ModelResponse", "ModelSettings", "Usage", "resolve_model"]
