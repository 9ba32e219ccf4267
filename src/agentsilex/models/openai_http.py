"""`OpenAIHTTPModel`: the OpenAI Chat Completions wire format over httpx, without LiteLLM.

For OpenAI and OpenAI-compatible servers (vLLM, Ollama, llama.cpp, gateways) it costs a tenth of LiteLLM's
per-request overhead and none of its import time. LiteLLM stays the path for every other provider.
It is the default path for OpenAI model strings ("gpt-4o", "openai/...": see `models.routing.backend_for`).
Like LiteLLM it reads OPENAI_BASE_URL / OPENAI_API_BASE, OPENAI_API_KEY, the organization and project
(OPENAI_ORGANIZATION or OPENAI_ORG_ID, OPENAI_PROJECT_ID or OPENAI_PROJECT), and honours HTTPS_PROXY /
NO_PROXY and SSL_CERT_FILE / SSL_CERT_DIR in sync and async calls alike (one TLS context for both).
Connection pools close when their event loop ends (asyncio.run) and at interpreter exit.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import weakref
from typing import Any, AsyncIterator, Iterator

from ..errors import ModelError, ModelTimeoutError, UserError
from ..redaction import redact_url, remember
from ..messages import assistant, tool_call
from . import reasoning
from .base import ModelRequest, ModelResponse
from .catalog import is_reasoning_model, model_info, system_as_user
from .http import (check_inline_total, error_for_status, error_text, read_timeout, redact, retry_after_of,
                   split_credentials, tls_for)
from .stream import estimate_usage, usage_from_openai

_DEFAULT_WAIT = 600.0  # seconds; LLM answers can be slow, and our own timeouts are the ones that count


class OpenAIHTTPModel:
    """An OpenAI-compatible endpoint, called directly: httpx for sync calls, aiohttp for async ones."""

    def __init__(self, model: str, *, base_url: str | None = None, api_key: str | None = None,
                 headers: dict[str, str] | None = None, max_connections: int = 1000,
                 organization: str | None = None, project: str | None = None, **params: Any) -> None:
        self.name = model
        self.wire_model = model.removeprefix("openai/")
        env = os.environ
        self.base_url, basic = split_credentials((base_url or env.get("OPENAI_BASE_URL") or env.get("OPENAI_API_BASE")
                                                  or "https://api.openai.com/v1").rstrip("/"))
        self._api_key = api_key or env.get("OPENAI_API_KEY") or ""
        remember(self._api_key)
        # URL credentials win, as httpx would apply them; no key, no header ("Bearer " alone is an illegal value).
        auth = {"Authorization": basic or f"Bearer {self._api_key}"} if basic or self._api_key else {}
        self._headers = {**_account_headers(organization, project), **auth, **(headers or {})}
        # What LiteLLM changes for OpenAI's reasoning models (read from its table; see docs/engine.md).
        self._reasoning, self._system_as_user = is_reasoning_model(model), system_as_user(model)
        self.params = params  # extra body fields sent with every request
        self._max_connections = max_connections
        self._response_format: bool | None = None
        self._local = threading.local()
        self._tls: Any = None
        self._by_loop: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # aiohttp sessions, per event loop
        self._clients: weakref.WeakSet = weakref.WeakSet()  # every live thread's httpx client
        # Pools close when the model is garbage-collected or at interpreter exit, whichever comes first.
        weakref.finalize(self, _close_pools, self._clients, self._by_loop)

    @property
    def supports_response_format(self) -> bool:
        """Capability (see the Model protocol): what LiteLLM's model table says, as for `LiteLLMModel`, so a
        model string is asked the same way on both paths (models/catalog.py reads it without LiteLLM)."""
        if self._response_format is not None:
            return self._response_format
        info = model_info(self.name) or ("/" in self.name and model_info(self.name.partition("/")[2])) or {}
        return bool(info.get("supports_response_schema"))

    @supports_response_format.setter
    def supports_response_format(self, value: bool) -> None:  # e.g. learnt when a server rejects it
        self._response_format = value

    @property
    def supports_response_format_with_tools(self) -> bool:
        return self.supports_response_format

    def __repr__(self) -> str:
        return f"OpenAIHTTPModel({self.name!r}, base_url={redact_url(self.base_url)!r})"

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            import httpx

            # One client per thread: a single pool shared by hundreds of threads spends its time on its lock.
            # No retries here: they happen in one layer, the Runner's (httpx never retries requests).
            client = self._local.client = httpx.Client(base_url=self.base_url, headers=self._headers,
                                                       timeout=_DEFAULT_WAIT, trust_env=True, verify=self._tls_context())
            self._clients.add(client)
        return client

    def _tls_context(self) -> Any:
        # One context for every thread and event loop: each costs ~0.5 MB of CA certificates, and sync and async
        # calls must trust the same ones (certifi, or SSL_CERT_FILE / SSL_CERT_DIR when set).
        if self._tls is None:
            self._tls = tls_for(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
        return self._tls

    async def _session(self) -> Any:
        """The aiohttp session of the running event loop (aiohttp scales to a thousand concurrent requests)."""
        loop = asyncio.get_running_loop()
        entry = self._by_loop.get(loop)
        if entry is None:
            import aiohttp

            _close_sessions(self._by_loop, closed_loops_only=True)  # loops closed without asyncio.run's clean-up
            tls = self._tls_context() if self.base_url.startswith("https:") else True  # plain HTTP: no CA bundle
            connector = aiohttp.TCPConnector(limit=self._max_connections, ttl_dns_cache=300, ssl=tls)
            session = aiohttp.ClientSession(headers=self._headers, connector=connector, trust_env=True)
            closer = _close_at_loop_shutdown(session, self._by_loop, loop)
            await anext(closer)  # asyncio.run() finalizes live async generators: the session closes with its loop
            entry = self._by_loop[loop] = (session, closer)
        return entry[0]

    async def aclose(self) -> None:
        """Close this event loop's connections now (else they close when asyncio.run() ends)."""
        entry = self._by_loop.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry[1].aclose()

    def close(self) -> None:
        """Close every connection pool this model holds (sync clients, and async ones of loops not running)."""
        self._local = threading.local()
        _close_pools(self._clients, self._by_loop)

    def warm_up(self) -> None:
        """The lazy set-up now (imports, TLS, this thread's client), so the next call sends at once (rate limits)."""
        import aiohttp  # noqa: F401 -- for an async call; its session opens with the call (it belongs to a loop)

        self._client()

    def _body(self, request: ModelRequest, stream: bool) -> dict[str, Any]:
        check_inline_total(request.messages)
        body: dict[str, Any] = {"model": self.wire_model, "messages": request.messages, **self.params,
                                **request.settings.to_kwargs()}
        if self._reasoning and "max_tokens" in body:  # as LiteLLM does: these models reject max_tokens
            body["max_completion_tokens"] = body.pop("max_tokens")
        if self._system_as_user:
            body["messages"] = [{"role": "user", "content": m["content"]} if m.get("role") == "system" else m
                                for m in request.messages]
        if request.tools:
            body["tools"] = request.tools
        if request.response_format is not None:
            body["response_format"] = request.response_format
        if stream:
            body["stream"], body["stream_options"] = True, {"include_usage": True}
        return body

    def _wait(self, request: ModelRequest, stream: bool, sync: bool = True) -> float:
        wait = read_timeout(request, stream, sync)
        return wait if wait is not None else _DEFAULT_WAIT

    def _timeout(self, request: ModelRequest, stream: bool) -> Any:
        import httpx

        wait = self._wait(request, stream)  # httpx applies it to each read
        return httpx.Timeout(wait, connect=request.connect_timeout or wait)

    def _aiohttp_timeout(self, request: ModelRequest, stream: bool) -> Any:
        import aiohttp

        wait = self._wait(request, stream, sync=False)
        return aiohttp.ClientTimeout(total=None, sock_connect=request.connect_timeout or wait, sock_read=wait)

    def complete(self, request: ModelRequest) -> ModelResponse:
        try:
            response = self._client().post("/chat/completions", json=self._body(request, False),
                                            timeout=self._timeout(request, False))
            _check(self, response.status_code, response.headers, response.content)
            return _to_response(_json_body(self, response.content), self, request)
        except (ModelError, UserError):  # UserError: refused before sending (check_inline_total)
            raise
        except Exception as exc:
            error = self._error(exc)
        raise error

    async def complete_async(self, request: ModelRequest) -> ModelResponse:
        try:
            async with (await self._session()).post(self.base_url + "/chat/completions", json=self._body(request, False),
                                            timeout=self._aiohttp_timeout(request, False)) as response:
                data = await response.read()
                _check(self, response.status, response.headers, data)
            return _to_response(_json_body(self, data), self, request)
        except (ModelError, UserError):  # UserError: refused before sending (check_inline_total)
            raise
        except Exception as exc:
            error = self._error(exc)
        raise error

    def stream(self, request: ModelRequest) -> Iterator[dict]:
        try:
            with self._client().stream("POST", "/chat/completions", json=self._body(request, True),
                                       timeout=self._timeout(request, True)) as response:
                if response.status_code >= 400:
                    _check(self, response.status_code, response.headers, response.read())
                if not _is_sse(response.headers):
                    yield from _not_sse(self, response.headers, response.read())
                    return
                check = _StreamCheck(self)
                for line in response.iter_lines():
                    chunk = check.parse(line)
                    if chunk is _DONE:
                        return
                    if chunk is not None:
                        yield chunk
                check.ended()
        except (ModelError, UserError):  # UserError: refused before sending (check_inline_total)
            raise
        except Exception as exc:
            error = self._error(exc)
        raise error  # outside the except block: the provider's exception is not chained (it may hold secrets)

    async def stream_async(self, request: ModelRequest) -> AsyncIterator[dict]:
        try:
            async with (await self._session()).post(self.base_url + "/chat/completions", json=self._body(request, True),
                                            timeout=self._aiohttp_timeout(request, True)) as response:
                if response.status >= 400:
                    _check(self, response.status, response.headers, await response.read())
                if not _is_sse(response.headers):
                    for chunk in _not_sse(self, response.headers, await response.read()):
                        yield chunk
                    return
                check = _StreamCheck(self)
                async for line in response.content:
                    chunk = check.parse(line.decode())
                    if chunk is _DONE:
                        return
                    if chunk is not None:
                        yield chunk
                check.ended()
        except (ModelError, UserError):  # UserError: refused before sending (check_inline_total)
            raise
        except Exception as exc:
            error = self._error(exc)
        raise error

    def _error(self, exc: Exception) -> ModelError:
        import aiohttp
        import httpx

        text = f"Model {self.name!r} failed: {type(exc).__name__}: {redact(str(exc), self._api_key)}"
        if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
            return ModelTimeoutError(f"{text} -- raise Runner(model_timeout=..., stream_idle_timeout=...) if the "
                                     "model is just slow.", model=self.name, retryable=True)
        if isinstance(exc, (httpx.TransportError, aiohttp.ClientConnectionError, aiohttp.ClientPayloadError,
                            ConnectionError)):  # refused, reset, or cut off in the middle of the answer
            where = redact_url(self.base_url)
            return error_for_status(f"{text} -- a connection error: check that the server at {where} is running "
                                    "and reachable.", status=None, model=self.name, connection=True)
        return error_for_status(text, status=None, model=self.name, transient=isinstance(exc, aiohttp.ClientError))


_DONE = object()


async def _close_at_loop_shutdown(session: Any, sessions: Any, loop: Any) -> AsyncIterator[None]:
    try:
        yield
    finally:
        if sessions.get(loop, (None,))[0] is session:
            del sessions[loop]  # else the entry would keep the finished loop alive
        await session.close()


class _StreamCheck:
    """Reads SSE lines, and refuses what is not a complete answer: an error event, an event that is not
    JSON, a stream that ends with neither a finish_reason nor [DONE] (cut off, by a proxy for instance)."""

    def __init__(self, model: OpenAIHTTPModel) -> None:
        self.model, self.finished = model, False

    def parse(self, line: str) -> Any:
        if not line.startswith("data:"):
            return None  # comments, event names, keep-alive blank lines
        data = line[5:].strip()
        if data == "[DONE]":
            return _DONE
        try:
            chunk = json.loads(data)
        except ValueError:
            raise _malformed(self.model, "sent a stream event that is not JSON") from None
        if not isinstance(chunk, dict):
            raise _malformed(self.model, "sent a stream event that is not a JSON object")
        if chunk.get("error"):
            raise _error_event(self.model, chunk["error"])
        self.finished = self.finished or any(c.get("finish_reason") for c in chunk.get("choices") or [])
        return chunk

    def ended(self) -> None:
        if not self.finished:
            raise _malformed(self.model, "ended the stream before the answer was complete (no finish_reason, "
                                         "no [DONE]); nothing of it was kept")


def _is_sse(headers: Any) -> bool:
    return "text/event-stream" in (headers.get("content-type") or "")


def _not_sse(model: OpenAIHTTPModel, headers: Any, body: bytes) -> Iterator[dict]:
    """A server that ignored `stream: true` sent a plain reply (use it); anything else is an error."""
    from .stream import response_to_chunks

    try:
        data = json.loads(body)
    except ValueError:
        kind = headers.get("content-type") or "no content type"
        raise _malformed(model, f"answered a stream request with {len(body)} bytes of {kind}, not an event "
                                "stream (a proxy or captive portal page?)") from None
    if isinstance(data, dict) and data.get("error"):
        raise _error_event(model, data["error"])
    return response_to_chunks(_to_response(data, model))


def _json_body(model: OpenAIHTTPModel, body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise _malformed(model, f"answered with {len(body)} bytes that are not JSON (a proxy page?)") from None


def _malformed(model: OpenAIHTTPModel, what: str) -> ModelError:
    return error_for_status(f"Model {model.name!r} {what}. Retried like a server error; if it persists, check "
                            "base_url and any proxy in between.", status=None, model=model.name, transient=True)


def _error_event(model: OpenAIHTTPModel, error: Any) -> ModelError:
    message = error.get("message") if isinstance(error, dict) else error
    return error_for_status(f"Model {model.name!r} reported an error in its answer: "
                            f"{redact(str(message), model._api_key)}", status=None, model=model.name, transient=True)


def _close_pools(clients: Any, sessions: Any) -> None:
    for client in list(clients):
        client.close()
    _close_sessions(sessions, closed_loops_only=False)


def _close_sessions(sessions: Any, *, closed_loops_only: bool) -> None:
    """Close the aiohttp sessions of closed event loops (and, unless `closed_loops_only`, of idle ones)."""
    for loop, (session, _) in list(sessions.items()):
        if loop.is_closed() or (not closed_loops_only and not loop.is_running()):
            sessions.pop(loop, None)
            _close_now(session)


def _close_now(session: Any) -> None:
    """Close an aiohttp session without its event loop (closed, or not running): what aiohttp's own
    finalizer does, minus the "Unclosed client session" warning."""
    connector = session.connector
    if connector is not None and not connector.closed:
        connector._close()  # synchronous: closes the transports (if the loop still exists) and marks it closed
    session.detach()


def _account_headers(organization: str | None, project: str | None) -> dict[str, str]:
    env = os.environ
    organization = organization or env.get("OPENAI_ORGANIZATION") or env.get("OPENAI_ORG_ID")
    project = project or env.get("OPENAI_PROJECT_ID") or env.get("OPENAI_PROJECT")
    return {**({"OpenAI-Organization": organization} if organization else {}),
            **({"OpenAI-Project": project} if project else {})}


def _check(model: OpenAIHTTPModel, status: int, headers: Any, body: bytes) -> None:
    if status < 400:
        return
    message, code = error_text(body)
    hint = {401: "check the provider's API key", 403: "check the key's permissions",
            404: "check the model name and base_url", 429: "slow down or raise your rate limit"}.get(status)
    if status == 404 and not model.base_url.endswith("/v1"):
        hint = f"check the base_url: OpenAI-compatible servers answer under /v1 (try {redact_url(model.base_url)}/v1)"
    text = f"Model {model.name!r} failed (HTTP {status}): {redact(message, model._api_key)}" + (
        f" -- {hint}." if hint else "")
    raise error_for_status(text, status=status, model=model.name,
                           retry_after=retry_after_of(headers),
                           context_window="context_length" in code or "maximum context length" in message)


def _to_response(data: Any, model: OpenAIHTTPModel, request: ModelRequest | None = None) -> ModelResponse:
    """The reply in a JSON body; usage estimated (and marked so) when the server reports none."""
    choices = data.get("choices") if isinstance(data, dict) else None
    if not choices or not isinstance(choices[0], dict) or not isinstance(choices[0].get("message"), dict):
        if isinstance(data, dict) and data.get("error"):
            raise _error_event(model, data["error"])
        raise _malformed(model, "answered without a message (no 'choices' in the body)")
    choice = choices[0]
    message = choice["message"]
    calls = [tool_call(c["id"], c["function"]["name"], c["function"].get("arguments") or "")
             for c in message.get("tool_calls") or []]
    reply, usage = {**assistant(message.get("content"), calls), **reasoning.extract(message)}, data.get("usage") or {}
    return ModelResponse(reply, usage_from_openai(usage) if usage or request is None
                         else estimate_usage(request, reply), choice.get("finish_reason"))
