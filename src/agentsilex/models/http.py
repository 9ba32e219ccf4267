"""What the two HTTP-speaking models (LiteLLM, the native OpenAI one) share: the read timeout their clients
get, recognising a connection that closed without an answer, error text without secrets, and reading an
error body (OpenAI's, or FastAPI's {"detail": ...} from llama.cpp and vLLM)."""

from __future__ import annotations

import json
from base64 import b64encode
from urllib.parse import unquote, urlsplit

from ..redaction import redact as remove_secrets, remember
from .base import ModelRequest

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
