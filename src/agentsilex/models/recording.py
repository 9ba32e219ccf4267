"""Recording model exchanges: a wrapper around any `Model` that writes each request and reply to a cassette.

`agentsilex.testing.record(path)` (or AGENTSILEX_RECORD=path) turns it on: while active, `resolve_model`
hands the loop a `RecordingModel` around the real one, so the LiteLLM path, the native HTTP path and any
custom Model are recorded the same way. The cassette is plain JSON:

    {"version": 1, "exchanges": [{"model": "openai/gpt-4o", "mode": "complete" | "stream",
      "request": {"messages": [...], "tools": [...], "settings": {...}, "response_format": ...},
      "response": {"message": {...}, "usage": {...}, "finish_reason": "stop"}   (complete)
               or {"chunks": [{...}, ...]}                                       (stream, as received)
      "error": {"type": "ModelError", "message": "...", "status": 429}}]}        (when the call failed)

Secrets are stripped before anything is written: values of secret-looking keys, provider-key-shaped
strings, and the values of *_API_KEY / *_TOKEN / *_SECRET environment variables.
"""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterator

from .base import ModelRequest, ModelResponse, wrappers

CASSETTE_VERSION = 1
_SECRET_KEY = re.compile(r"^(api[_-]?key|x-api-key|authorization|proxy-authorization|secret|client[_-]secret|"
                         r"password|access[_-]?token|refresh[_-]?token|token|bearer)$", re.I)
_SECRET_VALUE = re.compile(r"\b(sk-(ant-|proj-)?[A-Za-z0-9_\-]{16,}|AIza[A-Za-z0-9_\-]{30,}|gsk_[A-Za-z0-9]{20,}|"
                           r"xai-[A-Za-z0-9]{20,}|hf_[A-Za-z0-9]{20,}|Bearer\s+[A-Za-z0-9._\-]{8,})")
_SECRET_ENV = re.compile(r"(_API_KEY|_TOKEN|_SECRET|_PASSWORD)$")
REDACTED = "[redacted]"
_TAIL = b"\n]}\n"  # how every cassette file ends

_wrappers_lock = threading.Lock()


def push_wrapper(wrapper: Callable[[Any], Any]) -> None:
    """From now on `resolve_model` hands out `wrapper(model)` (record() and replay() use this)."""
    with _wrappers_lock:
        wrappers.append(wrapper)


def pop_wrapper(wrapper: Callable[[Any], Any]) -> None:
    with _wrappers_lock:
        if wrapper in wrappers:
            wrappers.remove(wrapper)


def wrap_model(model: Any) -> Any:
    """What `resolve_model` returns while recording or replaying: the model inside the active wrappers."""
    for wrapper in list(wrappers):
        model = wrapper(model)
    path = os.environ.get("AGENTSILEX_RECORD")
    if path and not isinstance(model, RecordingModel):
        model = RecordingModel(model, Cassette.for_path(path))
    return model


def strip_secrets(value: Any, secrets: tuple[str, ...] | None = None) -> Any:
    """A copy of plain JSON data with secret values replaced by "[redacted]"."""
    if secrets is None:
        secrets = tuple(v for k, v in os.environ.items() if _SECRET_ENV.search(k) and len(v) >= 8)
    if isinstance(value, dict):
        return {k: REDACTED if isinstance(k, str) and _SECRET_KEY.match(k) and v else strip_secrets(v, secrets)
                for k, v in value.items()}
    if isinstance(value, list):
        return [strip_secrets(v, secrets) for v in value]
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return _SECRET_VALUE.sub(REDACTED, value)
    return value


def request_to_dict(request: ModelRequest) -> dict:
    """The request as the provider receives it (timeouts are transport settings, not part of it), secrets out."""
    data: dict[str, Any] = {"messages": request.messages}
    if request.tools:
        data["tools"] = request.tools
    settings = request.settings.to_kwargs()
    if settings:
        data["settings"] = settings
    if request.response_format is not None:
        data["response_format"] = _format_to_json(request.response_format)
    return strip_secrets(json.loads(json.dumps(data, default=str)))


def _format_to_json(response_format: Any) -> Any:
    schema = getattr(response_format, "model_json_schema", None)
    if callable(schema):  # a pydantic class: what LiteLLM sends is its JSON schema
        return {"type": "json_schema", "name": getattr(response_format, "__name__", "output"), "schema": schema()}
    return response_format


def response_to_dict(response: ModelResponse) -> dict:
    usage = response.usage
    return {"message": response.message, "finish_reason": response.finish_reason,
            "usage": {"requests": usage.requests, "input_tokens": usage.input_tokens,
                      "output_tokens": usage.output_tokens}}


def error_to_dict(error: BaseException) -> dict:
    return {"type": type(error).__name__, "message": str(error), "status": getattr(error, "status_code", None),
            "retryable": getattr(error, "retryable", None), "retry_after": getattr(error, "retry_after", None)}


class Cassette:
    """The exchanges of one recording; written whole after each exchange, so a crash keeps what was done."""

    _open: dict[str, Cassette] = {}
    _open_lock = threading.Lock()

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.exchanges: list[dict] = []
        self._lock = threading.Lock()

    @classmethod
    def for_path(cls, path: str) -> Cassette:
        """One cassette per path for the whole process (AGENTSILEX_RECORD): a fresh file, appended to."""
        with cls._open_lock:
            if path not in cls._open:
                cls._open[path] = cls(path)
            return cls._open[path]

    def add(self, exchange: dict) -> None:
        with self._lock:
            self.exchanges.append(strip_secrets(exchange))
            if len(self.exchanges) == 1 or not self.path.exists():
                self.save()
                return
            # Append in place of the closing brackets: the file stays valid JSON, and a long recording
            # costs one write per exchange, not a rewrite of everything recorded so far.
            with open(self.path, "r+b") as handle:
                handle.seek(-len(_TAIL), os.SEEK_END)
                handle.write((",\n" + json.dumps(self.exchanges[-1], indent=1)).encode() + _TAIL)

    def save(self) -> None:
        """Write the whole cassette."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        items = ",".join("\n" + json.dumps(exchange, indent=1) for exchange in self.exchanges)
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_bytes(f'{{"version": {CASSETTE_VERSION}, "exchanges": ['.encode() + items.encode() + _TAIL)
        temporary.replace(self.path)


class RecordingModel:
    """Calls the wrapped model and writes each exchange to a cassette; everything else is the model's own."""

    def __init__(self, model: Any, cassette: Cassette) -> None:
        self.model = model
        self.cassette = cassette

    @property
    def name(self) -> str:
        return self.model.name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.model, attribute)

    def __repr__(self) -> str:
        return f"RecordingModel({self.model!r}, {str(self.cassette.path)!r})"

    def _add(self, mode: str, request: ModelRequest, **outcome: Any) -> None:
        self.cassette.add({"model": self.name, "mode": mode, "request": request_to_dict(request), **outcome})

    def complete(self, request: ModelRequest) -> ModelResponse:
        try:
            response = self.model.complete(request)
        except Exception as exc:
            self._add("complete", request, error=error_to_dict(exc))
            raise
        self._add("complete", request, response=response_to_dict(response))
        return response

    async def complete_async(self, request: ModelRequest) -> ModelResponse:
        try:
            response = await self.model.complete_async(request)
        except Exception as exc:
            self._add("complete", request, error=error_to_dict(exc))
            raise
        self._add("complete", request, response=response_to_dict(response))
        return response

    def stream(self, request: ModelRequest) -> Iterator[dict]:
        chunks: list[dict] = []
        outcome: dict[str, Any] = {}
        inner = self.model.stream(request)
        try:
            for chunk in inner:
                chunks.append(chunk)
                yield chunk
        except GeneratorExit:
            outcome["interrupted"] = True  # the consumer stopped early (a cancel): keep what it saw
            raise
        except Exception as exc:
            outcome["error"] = error_to_dict(exc)
            raise
        finally:
            getattr(inner, "close", lambda: None)()
            self._add("stream", request, response={"chunks": chunks}, **outcome)

    async def stream_async(self, request: ModelRequest) -> AsyncIterator[dict]:
        chunks: list[dict] = []
        outcome: dict[str, Any] = {}
        inner = self.model.stream_async(request)
        try:
            async for chunk in inner:
                chunks.append(chunk)
                yield chunk
        except GeneratorExit:
            outcome["interrupted"] = True
            raise
        except BaseException as exc:
            if isinstance(exc, Exception):
                outcome["error"] = error_to_dict(exc)
            else:
                outcome["interrupted"] = True  # cancelled
            raise
        finally:
            if hasattr(inner, "aclose"):
                await inner.aclose()
            self._add("stream", request, response={"chunks": chunks}, **outcome)
