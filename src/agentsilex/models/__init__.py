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
    """Exactly what goes to the model: messages (system first), tool specs, settings."""

    messages: list[dict]
    tools: list[dict] = field(default_factory=list)
    settings: ModelSettings = field(default_factory=ModelSettings)
    response_format: Any = None
    timeout: float | None = None  # seconds to wait for the reply (streams: for the first chunk)
    idle_timeout: float | None = None  # streams: seconds to wait between chunks


@dataclass
class ModelResponse:
    """The model's reply: one assistant message as a plain dict, and the tokens it cost."""

    message: dict
    usage: Usage = field(default_factory=Usage)
    finish_reason: str | None = None


@runtime_checkable
class Model(Protocol):
    """What the runner needs from a model. `stream` yields OpenAI-format chunk dicts."""

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
wrappers: list[Any] = []  # what record()/replay() wrap every resolved model in (see models/recording.py)
_cache_lock = threading.Lock()


def resolve_model(model: str | Model) -> Model:
    """A LiteLLM model string becomes a (shared, connection-reusing) `LiteLLMModel`; a Model stays itself."""
    if wrappers or os.environ.get("AGENTSILEX_RECORD"):  # record()/replay() in agentsilex.testing
        from .recording import wrap_model

        return wrap_model(_resolve(model))
    return _resolve(model)


def _resolve(model: str | Model) -> Model:
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
