"""What the HTTP-speaking models (LiteLLM, the native OpenAI one, the test kit's) share: the typed errors of a
provider's answer (ModelError's children, importable from agentsilex.errors too) and the one for an HTTP status
(what is worth retrying), Retry-After, the read timeout their clients get, recognising a connection
that closed without an answer, error text without secrets, and reading an error body (OpenAI's, or FastAPI's
{"detail": ...} from llama.cpp and vLLM)."""

from __future__ import annotations

import email.utils
import functools
import json
import re
import time
from base64 import b64encode
from typing import Any
from urllib.parse import unquote, urlsplit

from ..errors import ModelError
from ..redaction import redact as remove_secrets, remember
from .base import ModelRequest


class ModelAuthError(ModelError):
    """The provider rejected the credentials (HTTP 401/403); never retried."""


class ModelBadRequestError(ModelError):
    """The provider rejected the request itself (HTTP 400/404/422); never retried."""


class ResponseFormatNotSupportedError(ModelBadRequestError):
    """The server rejected `response_format`; unless the mode was forced, the run asks again in prompted mode."""


class ModelConnectionError(ModelError):
    """No connection to the model server (refused, reset, cut mid-answer): check base_url; retried like a 5xx."""


class ContextWindowExceededError(ModelBadRequestError):
    """The conversation no longer fits the model's context window; trim the session or pick a larger model."""


_RETRYABLE_STATUS = {408, 409, 429}
_BAD_REQUEST_STATUS = {400, 404, 413, 422}

_NO_ANSWER = {"APIConnectionError", "RemoteProtocolError", "ConnectError", "ReadError", "ServerDisconnectedError",
              "ClientConnectionError", "ClientOSError", "ConnectionResetError",
              "ClientConnectorError", "ConnectionRefusedError", "WriteError", "ClientPayloadError"}  # and issue 16's


def read_timeout(request: ModelRequest, stream: bool, sync: bool) -> float | None:
    """How long one read of the HTTP client may wait; it applies to every read, first chunk and gaps alike.

    The async driver times the first chunk (`timeout`) and each gap (`idle_timeout`) exactly, so there the
    client only needs the larger one as a backstop. A sync stream has no other clock: it gets the smaller.
    """
    waits = [t for t in (request.timeout, request.idle_timeout if stream else None) if t is not None]
    if not waits:
        return None
    return min(waits) if sync and stream else max(waits)


def redact(text: str, api_key: str | None = None) -> str:
    """An error message without secrets (see agentsilex.redaction), cut to a readable length."""
    return remove_secrets(text, api_key)[:2000]


def split_credentials(url: str | None) -> tuple[str | None, str | None]:
    """`http://user:pw@host/v1` -> ("http://host/v1", "Basic <user:pw>"): the URL kept and shown has no credentials;
    they go in the Authorization header (aiohttp refuses them in the URL next to it), and are redacted from now on."""
    parts = urlsplit(url or "")
    if "@" not in parts.netloc:
        return url, None
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    remember(password, parts.password)
    bare = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
    return bare, f"Basic {b64encode(f'{user}:{password}'.encode()).decode()}"


def chain_names(exc: BaseException) -> set[str]:
    """The type names of the exceptions behind `exc` (LiteLLM wraps the HTTP client's several times)."""
    names, seen = set(), set()
    cause: BaseException | None = exc.__cause__ or exc.__context__
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        names.add(type(cause).__name__)
        cause = cause.__cause__ or cause.__context__
    return names


def no_answer_in(causes: set[str]) -> bool:
    """The connection failed before any HTTP answer (LiteLLM reports some of these as HTTP 500)."""
    return bool(causes & _NO_ANSWER) and "HTTPStatusError" not in causes


def error_text(body: bytes) -> tuple[str, str]:
    """(message, code) of an error body: OpenAI's {"error": {...}}, FastAPI's {"detail": ...}, or raw text."""
    try:
        data = json.loads(body)
    except ValueError:
        return body[:500].decode(errors="replace"), ""
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        return str(error.get("message")), str(error.get("code") or "")
    detail = data.get("detail") if isinstance(data, dict) else None  # llama.cpp's and vLLM's FastAPI routes
    if isinstance(detail, list):  # a validation error: where, and what is wrong
        detail = "; ".join(f"{'.'.join(map(str, d.get('loc', [])))}: {d.get('msg')}" if isinstance(d, dict)
                           else str(d) for d in detail)
    found = error or detail
    return str(found if found is not None else data)[:500], ""


def error_for_status(message: str, *, status: int | None, model: str | None = None, retry_after: float | None = None,
                     context_window: bool = False, transient: bool = False, connection: bool = False) -> ModelError:
    """The typed ModelError for an HTTP status: the one place that decides what is worth retrying."""
    kind: type[ModelError] = ModelConnectionError if connection else ModelError
    rejected_format = status in (400, 422, 500) and "response_format" in message  # llama.cpp says so with a 500
    if context_window:
        kind = ContextWindowExceededError
    elif rejected_format:
        kind = ResponseFormatNotSupportedError
    elif status in (401, 403):
        kind = ModelAuthError
    elif status in _BAD_REQUEST_STATUS:
        kind = ModelBadRequestError
    retryable = not (context_window or rejected_format) and (transient or connection or status in _RETRYABLE_STATUS
                                                             or (status is not None and status >= 500))
    return kind(message, model=model, status_code=status, retryable=retryable, retry_after=retry_after)


def retry_after_of(headers: Any) -> float | None:
    """Seconds to wait, from an answer's headers: Retry-After, else the reset time of the provider's exhausted
    rate limit (OpenAI's `x-ratelimit-remaining-requests: 0` with `x-ratelimit-reset-requests: 1.5s`, and tokens)."""
    if headers is None:
        return None
    seconds = parse_retry_after(headers.get("retry-after"))
    if seconds is not None:
        return seconds
    resets = [_duration(headers.get(f"x-ratelimit-reset-{kind}")) for kind in ("requests", "tokens")
              if str(headers.get(f"x-ratelimit-remaining-{kind}")).strip() == "0"]
    return max((r for r in resets if r is not None), default=None)


def _duration(value: Any) -> float | None:
    """"6m0s", "1.5s", "20ms" -> seconds (None if it is not one)."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", str(value or ""))
    if not parts:
        return None
    return sum(float(number) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit] for number, unit in parts)


def parse_retry_after(value: Any) -> float | None:
    """Seconds from a Retry-After header value: delta-seconds or an HTTP date."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        pass
    try:
        when = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def too_long_to_wait(error: ModelError, policy: Any) -> None:
    """Not retried: the server's Retry-After is past `policy.max_delay`. The error then names the wait and what to
    do, so the run ends at once with a hint rather than waiting minutes (RetryPolicy.delay calls this)."""
    wait = error.retry_after
    error.args = (f"{error} -- the server asked to wait {wait:g} s (Retry-After), longer than RetryPolicy(max_delay="
                  f"{policy.max_delay:g}) allows, so it was not retried: try again in {wait:g} s, raise max_delay, or "
                  "add fallback_models.", *error.args[1:])
    return None


def check_inline_total(messages: list[dict]) -> None:
    """Refuse, before sending, a request whose images, audio and files weigh more than the per-request limit (the
    limits live in features/content.py, loaded only when a message holds parts)."""
    if any(type(message.get("content")) is list for message in messages):
        from ..features.content import check_request

        check_request(messages)


@functools.lru_cache(maxsize=4)
def tls_for(cafile: str | None, capath: str | None) -> Any:
    """The TLS context for these CA settings, shared by every model in the process (loading CAs takes ~20 ms)."""
    import httpx

    return httpx.create_ssl_context(trust_env=True)  # reads SSL_CERT_FILE / SSL_CERT_DIR: the cache key
