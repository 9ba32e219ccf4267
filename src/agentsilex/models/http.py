"""What the two HTTP-speaking models (LiteLLM, the native OpenAI one) share: the read timeout their clients
get, recognising a connection that closed without an answer, and error text without secrets."""

from __future__ import annotations

from ..redaction import redact as remove_secrets
from .base import ModelRequest

_NO_ANSWER = {"APIConnectionError", "RemoteProtocolError", "ConnectError", "ReadError", "ServerDisconnectedError",
              "ClientConnectionError", "ClientOSError", "ConnectionResetError"}


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
