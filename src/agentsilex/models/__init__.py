"""The model layer: the `Model` protocol and its plain-data request and response (models/base.py, where the
whole contract is written), `ModelBase`, and string -> model resolution."""

from __future__ import annotations

import os
import threading
from typing import Any, AsyncIterator, Iterator

from ..errors import UserError
from .base import Model, ModelRequest, ModelResponse, ModelSettings, Usage, wrappers


class ModelBase:
    """Convenience base: implement `complete`; async and streaming follow from it."""

    name: str = "model"

    def complete(self, request: ModelRequest) -> ModelResponse:
        raise NotImplementedError

    async def complete_async(self, request: ModelRequest) -> ModelResponse:
        import asyncio

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
    """A model string becomes a shared, connection-reusing Model (`models.routing.backend_for` says which
    path: the native OpenAI one or LiteLLM); a Model object stays itself."""
    if wrappers or os.environ.get("AGENTSILEX_RECORD"):  # record()/replay() in agentsilex.testing
        from .recording import wrap_model

        return wrap_model(_resolve(model))
    return _resolve(model)


def _resolve(model: str | Model) -> Model:
    if isinstance(model, str):
        from .routing import build_model, cache_key

        key = cache_key(model)
        with _cache_lock:
            if key not in _cache:
                _cache[key] = build_model(model, key[1])
            return _cache[key]
    if all(hasattr(model, method) for method in ("complete", "complete_async", "stream", "stream_async")):
        return model
    raise UserError(f"Agent model must be a model string such as 'gpt-4o' or 'anthropic/claude-sonnet-4-5', or a "
                    f"Model object, got {model!r}.")


__all__ = ["Model", "ModelBase", "ModelRequest", "ModelResponse", "ModelSettings", "Usage", "resolve_model"]
