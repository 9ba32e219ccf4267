"""`LiteLLMModel`: any provider through LiteLLM. The only module that imports litellm, and only on first use."""

from __future__ import annotations

import inspect
import os
import re
from typing import Any, AsyncIterator, Iterator

import httpx

from ..errors import ModelError, ModelTimeoutError, UserError
from ..messages import assistant, tool_call
from ..redaction import redact_url, remember
from . import reasoning
from .base import ModelRequest, ModelResponse
from .http import check_inline_total, chain_names, no_answer_in, read_timeout, redact, split_credentials
from .stream import usage_from_openai
from .http import error_for_status, retry_after_of

_litellm: Any = None
_MISSING_KEY = re.compile(r"missing credentials|api_key client option must be set|no api key", re.I)
_TIMEOUTS = {"Timeout", "APITimeoutError", "ReadTimeout", "ConnectTimeout"}
_CALLBACKS = ("callbacks", "success_callback", "failure_callback", "input_callback", "_async_success_callback")
_TRANSIENT = {"APIConnectionError", "InternalServerError", "ServiceUnavailableError", "RateLimitError",
              "MidStreamFallbackError"}


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
        self.base_url, self._basic_auth = split_credentials(base_url)  # user:pw@ in the URL: sent as a header
        self._api_key = api_key
        self.provider_kwargs = provider_kwargs
        self._response_format: bool | None = None
        self._warm = False  # warm_up() ran
        remember(api_key, **provider_kwargs)  # and aws_secret_access_key=..., vertex_credentials=...

    def __repr__(self) -> str:
        return f"LiteLLMModel({self.name!r}, base_url={redact_url(self.base_url)!r})"

    @property
    def supports_response_format(self) -> bool:
        """Capability (see the Model protocol), from LiteLLM's model table; unknown models say no."""
        if self._response_format is not None:
            return self._response_format
        try:
            return bool(load_litellm().supports_response_schema(model=self.name))
        except Exception:
            return False

    @supports_response_format.setter
    def supports_response_format(self, value: bool) -> None:  # e.g. learnt when a server rejects it
        self._response_format = value

    @property
    def supports_response_format_with_tools(self) -> bool:
        return self.supports_response_format

    def warm_up(self) -> None:
        """LiteLLM's lazy set-up now, so the next call sends at once (rate limits call it before a request takes its
        turn): its import, and what its first call imports and builds (~0.5 s), through LiteLLM's own
        `mock_response` (nothing is sent). Not when LiteLLM callbacks are set: they would log the mock call."""
        litellm = load_litellm()
        if self._warm or any(getattr(litellm, name, None) for name in _CALLBACKS):
            return
        self._warm = True
        try:
            litellm.completion(**{**self._kwargs(ModelRequest([{"role": "user", "content": "warm-up"}]), False),
                                  "mock_response": "warm"})
        except Exception:  # only a warm-up: the real call reports any problem
            pass

    def _kwargs(self, request: ModelRequest, stream: bool, sync: bool = True) -> dict[str, Any]:
        check_inline_total(request.messages)
        kwargs: dict[str, Any] = {"model": self.name, "messages": request.messages,
                                  "max_retries": 0,  # retries happen in one layer: ours
                                  **self.provider_kwargs, **request.settings.to_kwargs()}
        if request.tools:
            kwargs["tools"] = request.tools
        if request.response_format is not None:
            kwargs["response_format"] = request.response_format
        if isinstance(kwargs.get("metadata"), dict):  # LiteLLM writes its own bookkeeping into this dict
            kwargs["metadata"] = dict(kwargs["metadata"])
        if self.base_url:
            kwargs["api_base"] = self.base_url
        if self._basic_auth:  # LiteLLM's async client refuses credentials in the URL next to its own header
            kwargs["extra_headers"] = {**(kwargs.get("extra_headers") or {}), "Authorization": self._basic_auth}
        if self._api_key:
            kwargs["api_key"] = self._api_key
        if stream:
            kwargs["stream"] = True
            kwargs["stream_options"] = {"include_usage": True}
        read = read_timeout(request, stream, sync)
        if read is not None or request.connect_timeout is not None:  # httpx: LiteLLM's own HTTP client
            kwargs["timeout"] = httpx.Timeout(read, connect=request.connect_timeout)
        return kwargs

    def complete(self, request: ModelRequest) -> ModelResponse:
        litellm = load_litellm()
        try:
            return _to_response(litellm.completion(**self._kwargs(request, False)))
        except Exception as exc:
            error = self._error(exc)
        raise error  # raised outside the handler: the provider's exception (which may echo a key) is not chained

    async def complete_async(self, request: ModelRequest) -> ModelResponse:
        litellm = load_litellm()
        try:
            return _to_response(await litellm.acompletion(**self._kwargs(request, False, sync=False)))
        except Exception as exc:
            error = self._error(exc)
        raise error

    def stream(self, request: ModelRequest) -> Iterator[dict]:
        litellm = load_litellm()
        chunks, error = None, None
        try:
            chunks = litellm.completion(**self._kwargs(request, True))
            for chunk in chunks:
                yield _chunk_to_dict(chunk)
        except Exception as exc:
            error = self._error(exc)
        finally:  # a consumer that stops early must not leave the HTTP response open
            _close(getattr(chunks, "completion_stream", None), "close")
        if error is not None:
            raise error

    async def stream_async(self, request: ModelRequest) -> AsyncIterator[dict]:
        litellm = load_litellm()
        chunks, error = None, None
        try:
            chunks = await litellm.acompletion(**self._kwargs(request, True, sync=False))
            async for chunk in chunks:
                yield _chunk_to_dict(chunk)
        except Exception as exc:
            error = self._error(exc)
        finally:
            closing = _close(getattr(chunks, "completion_stream", None), "aclose", "close")
            if inspect.isawaitable(closing):
                await closing
        if error is not None:
            raise error

    def _error(self, exc: Exception) -> ModelError | UserError:
        if isinstance(exc, (ModelError, UserError)):  # UserError: refused before sending (check_inline_total)
            return exc
        status = getattr(exc, "status_code", None)
        status = status if isinstance(status, int) else None
        name = type(exc).__name__
        causes = chain_names(exc)
        timeout = name in _TIMEOUTS or bool(causes & _TIMEOUTS)
        no_answer = name in ("APIConnectionError", "MidStreamFallbackError") or no_answer_in(causes)
        if timeout or no_answer:
            status = None  # LiteLLM labels these 408/500; they never reached a server's answer
            name = "Timeout" if timeout else "the connection closed without an answer"
        text = redact(str(exc), self._api_key)
        missing_key = bool(_MISSING_KEY.search(text))
        connection = no_answer and not (timeout or missing_key)  # refused, reset, or cut off mid-answer
        if missing_key:  # LiteLLM reports a missing key as a 500; it is an auth error, never retried
            status = 401
        hint = {401: "check the provider's API key", 403: "check the key's permissions",
                404: "check the model name", 429: "slow down or raise your rate limit"}.get(status or 0, "")
        if connection:
            name, hint = "connection error", f"check that the server {redact_url(self.base_url) or ''} is running and reachable"
        message = f"Model {self.name!r} failed: {name}" + (f" (HTTP {status})" if status else "") + f": {text}"
        error = error_for_status(message + (f" -- {hint}." if hint else ""), status=status, model=self.name,
                                 retry_after=_retry_after(exc), context_window=name == "ContextWindowExceededError",
                                 transient=timeout or (no_answer or name in _TRANSIENT) and not missing_key,
                                 connection=connection)
        if timeout:
            error = ModelTimeoutError(f"{error} -- raise Runner(model_timeout=..., stream_idle_timeout=...) if the "
                                      "model is just slow.", model=self.name, retryable=True)
        return error


def anthropic_params(model: str, request: ModelRequest) -> dict[str, Any]:
    """The Anthropic Messages parameters LiteLLM would send for this request (a message batch line's `params`)."""
    config = _anthropic_config()
    name = model.removeprefix("litellm/").removeprefix("anthropic/")
    given = {**request.settings.to_kwargs(), **({"tools": request.tools} if request.tools else {}),
             **({"response_format": request.response_format} if request.response_format is not None else {})}
    params = config.transform_request(name, request.messages, config.map_openai_params(given, {}, name, False), {}, {})
    params.pop("json_mode", None)  # LiteLLM's own note (the answer comes back as a tool call): not Anthropic's
    return params


def from_anthropic(message: dict, request: ModelRequest) -> ModelResponse:
    """An Anthropic message (a message batch's result) as the reply LiteLLM would have returned for `request`."""
    load_litellm()
    raw = httpx.Response(200, json=message)
    return _to_response(_anthropic_config().transform_parsed_response(
        completion_response=message, raw_response=raw, model_response=_litellm.ModelResponse(),
        json_mode=request.response_format is not None))


def _anthropic_config() -> Any:
    load_litellm()
    from litellm.llms.anthropic.chat.transformation import AnthropicConfig

    return AnthropicConfig()


def _retry_after(exc: Exception) -> float | None:
    headers = getattr(getattr(exc, "response", None), "headers", None)
    try:
        return retry_after_of(headers)
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
        {**assistant(message.content, calls), **reasoning.extract(message)},  # kept for the next request
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
        piece.update(reasoning.delta_fields(delta))
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
