"""The model layer: the `Model` protocol and its plain-data request and response (models/base.py, where the
whole contract is written), `ModelBase`, and string -> model resolution."""

from __future__ import annotations

import asyncio
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
