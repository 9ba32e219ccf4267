"""`LiteLLMModel`: any provider through LiteLLM. The only module that imports litellm, and only on first use."""

from __future__ import annotations

import inspect
import os
import re
from typing import Any, AsyncIterator, Iterator

from ..errors import ModelError, ModelTimeoutError
from ..messages import assistant, tool_call
from .base import ModelRequest, ModelResponse
from .stream import usage_from_openai
from .retry import error_for_status, parse_retry_after

_litellm: Any = None
_MISSING_KEY = re.compile(r"missing credentials|api_key client option must be set|no api key", re.I)
_SECRET = re.compile(r"\b(sk|pk|key|rk|api|token)[-_][A-Za-z0-9_\-]{8,}")
_TIMEOUTS = {"Timeout", "APITimeoutError", "ReadTimeout", "ConnectTimeout"}
_TRANSIENT = {"APIConnectionError", "InternalServerError", "ServiceUnavailableError", "RateLimitError"}


def load_litellm() -> Any:
    """Import litellm once; without internet it would stall fetching its price map, so use the bundled one."""
    global _litellm
    if _litellm is None:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm

        litellm.suppress_debug_info = True  # no "Give Feedback" banners on every error
        _litellm = litellm
    return _litellm


class LiteLLMModel:
    """A LiteLLM model string (`"gpt-4o"`, `"anthropic/claude-..."`), optionally at a custom base URL."""

    def __init__(self, model: str, *, base_url: str | None = None, api_key: str | None = None,
                 **provider_kwargs: Any) -> None:
        self.name = model
        self.base_url = base_url
        self._api_key = api_key
        self.provider_kwargs = provider_kwargs

    def __repr__(self) -> str:
        return f"LiteLLMModel({self.name!r}, base_url={self.base_url!r})"

    @property
    def supports_response_format(self) -> bool:
        """Capability (see the Model protocol), from LiteLLM's model table; unknown models say no."""
        try:
            return bool(load_litellm().supports_response_schema(model=self.name))
        except Exception:
            return False

    @property
    def supports_response_format_with_tools(self) -> bool:
        return self.supports_response_format

    def _kwargs(self, request: ModelRequest, stream: bool) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"model": self.name, "messages": request.messages,
                                  "max_retries": 0,  # retries happen in one layer: ours
                                  **self.provider_kwargs, **request.settings.to_kwargs()}
        if request.tools:
            kwargs["tools"] = request.tools
        if request.response_format is not None:
            kwargs["response_format"] = request.response_format
        if self.base_url:
            kwargs["api_base"] = self.base_url
        if self._api_key:
            kwargs["api_key"] = self._api_key
        if stream:
            kwargs["stream"] = True
            kwargs["stream_options"] = {"include_usage": True}
        waits = [t for t in (request.timeout, request.idle_timeout if stream else None) if t is not None]
        if waits:  # httpx applies it to every read: a stall (before or between chunks) fails this fast
            kwargs["timeout"] = max(waits)
        return kwargs

    def complete(self, request: ModelRequest) -> ModelResponse:
        litellm = load_litellm()
        try:
            return _to_response(litellm.completion(**self._kwargs(request, False)))
        except Exception as exc:
            raise self._error(exc) from exc

    async def complete_async(self, request: ModelRequest) -> ModelResponse:
        litellm = load_litellm()
        try:
            return _to_response(await litellm.acompletion(**self._kwargs(request, False)))
        except Exception as exc:
            raise self._error(exc) from exc

    def stream(self, request: ModelRequest) -> Iterator[dict]:
        litellm = load_litellm()
        chunks = None
        try:
            chunks = litellm.completion(**self._kwargs(request, True))
            for chunk in chunks:
                yield _chunk_to_dict(chunk)
        except Exception as exc:
            raise self._error(exc) from exc
        finally:  # a consumer that stops early must not leave the HTTP response open
            _close(getattr(chunks, "completion_stream", None), "close")

    async def stream_async(self, request: ModelRequest) -> AsyncIterator[dict]:
        litellm = load_litellm()
        chunks = None
        try:
            chunks = await litellm.acompletion(**self._kwargs(request, True))
            async for chunk in chunks:
                yield _chunk_to_dict(chunk)
        except Exception as exc:
            raise self._error(exc) from exc
        finally:
            closing = _close(getattr(chunks, "completion_stream", None), "aclose", "close")
            if inspect.isawaitable(closing):
                await closing

    def _error(self, exc: Exception) -> ModelError:
        if isinstance(exc, ModelError):
            return exc
        status = getattr(exc, "status_code", None)
        status = status if isinstance(status, int) else None
        name = type(exc).__name__
        timeout = name in _TIMEOUTS
        if timeout or name == "APIConnectionError":
            status = None  # LiteLLM labels these 408/500; they never reached a server's answer
        text = redact(str(exc), self._api_key)
        missing_key = bool(_MISSING_KEY.search(text))
        if missing_key:  # LiteLLM reports a missing key as a 500; it is an auth error, never retried
            status = 401
        hint = {401: "check the provider's API key", 403: "check the key's permissions",
                404: "check the model name", 429: "slow down or raise your rate limit"}.get(status or 0, "")
        message = f"Model {self.name!r} failed: {name}" + (f" (HTTP {status})" if status else "") + f": {text}"
        error = error_for_status(message + (f" -- {hint}." if hint else ""), status=status, model=self.name,
                                 retry_after=_retry_after(exc), context_window=name == "ContextWindowExceededError",
                                 transient=timeout or (name in _TRANSIENT and not missing_key))
        if timeout:
            error = ModelTimeoutError(f"{error} -- raise Runner(model_timeout=..., stream_idle_timeout=...) if the "
                                      "model is just slow.", model=self.name, retryable=True)
        return error


def redact(text: str, api_key: str | None = None) -> str:
    """Remove anything that looks like a secret from an error message."""
    if api_key:
        text = text.replace(api_key, "[redacted]")
    return _SECRET.sub("[redacted]", text)[:2000]


def _retry_after(exc: Exception) -> float | None:
    headers = getattr(getattr(exc, "response", None), "headers", None)
    try:
        return parse_retry_after(headers.get("retry-after")) if headers is not None else None
    except AttributeError:
        return None


def _close(target: Any, *methods: str) -> Any:
    for method in methods:
        if hasattr(target, method):
            return getattr(target, method)()
    return None


def _to_response(response: Any) -> ModelResponse:
    message = response.choices[0].message
    calls = [tool_call(c.id, c.function.name, c.function.arguments or "") for c in message.tool_calls or []]
    usage = getattr(response, "usage", None)
    return ModelResponse(
        assistant(message.content, calls),
        usage_from_openai(usage),
        response.choices[0].finish_reason)


def _chunk_to_dict(chunk: Any) -> dict:
    """Plain-dict view of a LiteLLM stream chunk (only the fields the accumulator reads)."""
    out: dict[str, Any] = {"choices": []}
    for choice in chunk.choices or []:
        delta = choice.delta
        piece: dict[str, Any] = {}
        if getattr(delta, "content", None):
            piece["content"] = delta.content
        if getattr(delta, "tool_calls", None):
            piece["tool_calls"] = [
                {"index": c.index, "id": c.id,
                 "function": {"name": getattr(c.function, "name", None),
                              "arguments": getattr(c.function, "arguments", None)}}
                for c in delta.tool_calls]
        out["choices"].append({"index": choice.index, "delta": piece, "finish_reason": choice.finish_reason})
    usage = getattr(chunk, "usage", None)
    if usage is not None:
        out["usage"] = usage.model_dump() if hasattr(usage, "model_dump") else dict(usage)
    return out
