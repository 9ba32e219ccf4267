"""`OpenAIHTTPModel`: the OpenAI Chat Completions wire format over httpx, without LiteLLM.

For OpenAI and OpenAI-compatible servers (vLLM, Ollama, llama.cpp, gateways) it costs a tenth of LiteLLM's
per-request overhead and none of its import time. LiteLLM stays the path for every other provider.
Select it with `OpenAIHTTPModel("gpt-4o")`, or for "openai/..." model strings with
AGENTSILEX_OPENAI_HTTP=1. Like LiteLLM it reads OPENAI_BASE_URL / OPENAI_API_BASE and OPENAI_API_KEY.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import weakref
from typing import Any, AsyncIterator, Iterator

from ..errors import ModelError, ModelTimeoutError
from ..messages import assistant, tool_call
from .base import ModelRequest, ModelResponse
from .stream import usage_from_openai
from .litellm import redact
from .retry import error_for_status, parse_retry_after

_DEFAULT_WAIT = 600.0  # seconds; LLM answers can be slow, and our own timeouts are the ones that count


class OpenAIHTTPModel:
    """An OpenAI-compatible endpoint, called directly: httpx for sync calls, aiohttp for async ones."""

    def __init__(self, model: str, *, base_url: str | None = None, api_key: str | None = None,
                 headers: dict[str, str] | None = None, max_connections: int = 1000, **params: Any) -> None:
        self.name = model
        self.wire_model = model.removeprefix("openai/")
        env = os.environ
        self.base_url = (base_url or env.get("OPENAI_BASE_URL") or env.get("OPENAI_API_BASE")
                         or "https://api.openai.com/v1").rstrip("/")
        self._api_key = api_key or env.get("OPENAI_API_KEY") or ""
        self._headers = {"Authorization": f"Bearer {self._api_key}", **(headers or {})}
        self.params = params  # extra body fields sent with every request
        self._max_connections = max_connections
        self._local = threading.local()
        self._tls: Any = None
        self._by_loop: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # aiohttp sessions, per event loop

    def __repr__(self) -> str:
        return f"OpenAIHTTPModel({self.name!r}, base_url={self.base_url!r})"

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            import httpx

            # One client per thread: a single pool shared by hundreds of threads spends its time on its lock.
            # No retries here: they happen in one layer, the Runner's (httpx never retries requests).
            if self._tls is None:  # one TLS context for all threads: each costs ~0.5 MB of CA certificates
                self._tls = httpx.create_ssl_context(trust_env=True)
            client = self._local.client = httpx.Client(base_url=self.base_url, headers=self._headers,
                                                       timeout=_DEFAULT_WAIT, trust_env=True, verify=self._tls)
        return client

    async def _session(self) -> Any:
        """The aiohttp session of the running event loop (aiohttp scales to a thousand concurrent requests)."""
        loop = asyncio.get_running_loop()
        entry = self._by_loop.get(loop)
        if entry is None:
            import aiohttp

            connector = aiohttp.TCPConnector(limit=self._max_connections, ttl_dns_cache=300)
            session = aiohttp.ClientSession(headers=self._headers, connector=connector, trust_env=True)
            closer = _close_at_loop_shutdown(session)
            await anext(closer)  # asyncio.run() finalizes live async generators: the session closes with its loop
            entry = self._by_loop[loop] = (session, closer)
        return entry[0]

    async def aclose(self) -> None:
        """Close this event loop's connections now (else they close when asyncio.run() ends)."""
        entry = self._by_loop.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry[1].aclose()

    def _body(self, request: ModelRequest, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.wire_model, "messages": request.messages, **self.params,
                                **request.settings.to_kwargs()}
        if request.tools:
            body["tools"] = request.tools
        if request.response_format is not None:
            body["response_format"] = request.response_format
        if stream:
            body["stream"], body["stream_options"] = True, {"include_usage": True}
        return body

    def _timeout(self, request: ModelRequest, stream: bool) -> Any:
        waits = [t for t in (request.timeout, request.idle_timeout if stream else None) if t is not None]
        return max(waits) if waits else _DEFAULT_WAIT  # httpx applies it to each connect and each read

    def _aiohttp_timeout(self, request: ModelRequest, stream: bool) -> Any:
        import aiohttp

        wait = self._timeout(request, stream)
        return aiohttp.ClientTimeout(total=None, sock_connect=wait, sock_read=wait)

    def complete(self, request: ModelRequest) -> ModelResponse:
        try:
            response = self._client().post("/chat/completions", json=self._body(request, False),
                                            timeout=self._timeout(request, False))
            _check(self, response.status_code, response.headers, response.content)
            return _to_response(json.loads(response.content))
        except ModelError:
            raise
        except Exception as exc:
            raise self._error(exc) from exc

    async def complete_async(self, request: ModelRequest) -> ModelResponse:
        try:
            async with (await self._session()).post(self.base_url + "/chat/completions", json=self._body(request, False),
                                            timeout=self._aiohttp_timeout(request, False)) as response:
                data = await response.read()
                _check(self, response.status, response.headers, data)
            return _to_response(json.loads(data))
        except ModelError:
            raise
        except Exception as exc:
            raise self._error(exc) from exc

    def stream(self, request: ModelRequest) -> Iterator[dict]:
        try:
            with self._client().stream("POST", "/chat/completions", json=self._body(request, True),
                                       timeout=self._timeout(request, True)) as response:
                if response.status_code >= 400:
                    _check(self, response.status_code, response.headers, response.read())
                for line in response.iter_lines():
                    chunk = _parse_sse(line)
                    if chunk is _DONE:
                        return
                    if chunk is not None:
                        yield chunk
        except ModelError:
            raise
        except Exception as exc:
            raise self._error(exc) from exc

    async def stream_async(self, request: ModelRequest) -> AsyncIterator[dict]:
        try:
            async with (await self._session()).post(self.base_url + "/chat/completions", json=self._body(request, True),
                                            timeout=self._aiohttp_timeout(request, True)) as response:
                if response.status >= 400:
                    _check(self, response.status, response.headers, await response.read())
                async for line in response.content:
                    chunk = _parse_sse(line.decode())
                    if chunk is _DONE:
                        return
                    if chunk is not None:
                        yield chunk
        except ModelError:
            raise
        except Exception as exc:
            raise self._error(exc) from exc

    def _error(self, exc: Exception) -> ModelError:
        import aiohttp
        import httpx

        text = f"Model {self.name!r} failed: {type(exc).__name__}: {redact(str(exc), self._api_key)}"
        if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
            return ModelTimeoutError(f"{text} -- raise Runner(model_timeout=..., stream_idle_timeout=...) if the "
                                     "model is just slow.", model=self.name, retryable=True)
        transient = isinstance(exc, (httpx.TransportError, aiohttp.ClientError, ConnectionError))
        return error_for_status(text, status=None, model=self.name, transient=transient)


_DONE = object()


async def _close_at_loop_shutdown(session: Any) -> AsyncIterator[None]:
    try:
        yield
    finally:
        await session.close()


def _parse_sse(line: str) -> Any:
    if not line.startswith("data:"):
        return None  # comments, event names, keep-alive blank lines
    data = line[5:].strip()
    return _DONE if data == "[DONE]" else json.loads(data)


def _check(model: OpenAIHTTPModel, status: int, headers: Any, body: bytes) -> None:
    if status < 400:
        return
    try:
        error = json.loads(body).get("error") or {}
    except ValueError:
        error = {"message": body[:500].decode(errors="replace")}
    message = str(error.get("message") if isinstance(error, dict) else error)
    code = str(error.get("code") or "") if isinstance(error, dict) else ""
    hint = {401: "check the provider's API key", 403: "check the key's permissions",
            404: "check the model name and base_url", 429: "slow down or raise your rate limit"}.get(status)
    text = f"Model {model.name!r} failed (HTTP {status}): {redact(message, model._api_key)}" + (
        f" -- {hint}." if hint else "")
    raise error_for_status(text, status=status, model=model.name,
                           retry_after=parse_retry_after(headers.get("retry-after")),
                           context_window="context_length" in code or "maximum context length" in message)


def _to_response(data: dict) -> ModelResponse:
    choice = (data.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    calls = [tool_call(c["id"], c["function"]["name"], c["function"].get("arguments") or "")
             for c in message.get("tool_calls") or []]
    usage = data.get("usage") or {}
    return ModelResponse(assistant(message.get("content"), calls),
                         usage_from_openai(usage),
                         choice.get("finish_reason"))
