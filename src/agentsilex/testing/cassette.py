"""Record a real run once, replay it offline forever.

    with record("tests/cassettes/weather.json"):      # or AGENTSILEX_RECORD=tests/cassettes/weather.json
        Runner(session).run(agent, "Weather in Oslo?")  # talks to the real provider, writes every exchange

    agent = Agent(..., model=ReplayModel("tests/cassettes/weather.json"))   # offline, deterministic
    # or, keeping the agent's own model strings:  with replay("tests/cassettes/weather.json"): ...

A replayed request must equal a recorded one (strict, the default); otherwise `ReplayMismatchError` says
which request differs, with a unified diff. `strict=False` serves the exchanges in order without checking;
`match=function(recorded, actual) -> bool` is a looser rule of your own (both are request dicts).
"""

from __future__ import annotations

import difflib
import json
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterator

from ..errors import AgentsilexError, ModelError, UserError
from ..models import ModelRequest, ModelResponse, Usage
from ..models.recording import CASSETTE_VERSION, Cassette, RecordingModel, pop_wrapper, push_wrapper, request_to_dict
from ..models.http import error_for_status
from ..models.stream import StreamAccumulator, response_to_chunks

Matcher = Callable[[dict, dict], bool]


class ReplayMismatchError(AgentsilexError):
    """A replayed run sent a request that its cassette did not record; `.diff` shows what changed."""
    diff: str = ""


@contextmanager
def record(path: str | os.PathLike) -> Iterator[Cassette]:
    """Record every model exchange made inside the block to `path` (a new cassette, written as it goes)."""
    cassette = Cassette(path)
    cassette.save()

    def wrapper(model: Any) -> Any:
        return model if isinstance(model, RecordingModel) else RecordingModel(model, cassette)

    push_wrapper(wrapper)
    try:
        yield cassette
    finally:
        pop_wrapper(wrapper)


@contextmanager
def replay(path: str | os.PathLike, *, strict: bool = True, match: Matcher | None = None) -> Iterator[ReplayModel]:
    """Serve every model inside the block from the cassette: the agents keep their model strings, nothing
    reaches a provider."""
    source = ReplayModel(path, strict=strict, match=match)

    def wrapper(model: Any) -> Any:
        return model if isinstance(model, (ReplayModel, _Named)) else _Named(source, model)

    push_wrapper(wrapper)
    try:
        yield source
    finally:
        pop_wrapper(wrapper)


class ReplayModel:
    """A Model that answers from a cassette written by `record`; it never touches the network."""

    def __init__(self, path: str | os.PathLike, *, strict: bool = True, match: Matcher | None = None,
                 name: str | None = None) -> None:
        self.path = Path(path)
        self.strict = strict
        self.match = match
        self.exchanges = _load(self.path)
        self.name: str = name or next((str(e["model"]) for e in self.exchanges if e.get("model")), "replay")
        self.requests: list[ModelRequest] = []
        self._used: set[int] = set()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ReplayModel({str(self.path)!r}, {len(self.exchanges) - len(self._used)} left)"

    @property
    def remaining(self) -> int:
        return len(self.exchanges) - len(self._used)

    def take(self, request: ModelRequest) -> dict:
        """The recorded exchange that answers `request` (each is used once)."""
        actual = request_to_dict(request)
        with self._lock:
            self.requests.append(request)
            unused = [i for i in range(len(self.exchanges)) if i not in self._used]
            if not unused:
                raise _mismatch(
                    f"Cassette {str(self.path)!r} has no exchange left for request #{len(self.requests)} "
                    f"(it recorded {len(self.exchanges)}). The run now makes more model calls than when it "
                    "was recorded: record it again.", _dump(actual))
            found = next((i for i in unused if self._matches(self.exchanges[i]["request"], actual)), None)
            if found is None:
                recorded = self.exchanges[unused[0]]["request"]
                diff = "".join(difflib.unified_diff(_dump(recorded).splitlines(True), _dump(actual).splitlines(True),
                                                    "recorded", "sent now"))
                raise _mismatch(
                    f"Request #{len(self.requests)} does not match what {str(self.path)!r} recorded (exchange "
                    f"#{unused[0] + 1} shown). If the change is intended, record the cassette again; else fix "
                    f"the agent.\n{diff}", diff)
            self._used.add(found)
            return self.exchanges[found]

    def _matches(self, recorded: dict, actual: dict) -> bool:
        if self.match is not None:
            return bool(self.match(recorded, actual))
        return not self.strict or recorded == actual

    def complete(self, request: ModelRequest) -> ModelResponse:
        return _as_response(self.take(request), self.name)

    async def complete_async(self, request: ModelRequest) -> ModelResponse:
        return self.complete(request)

    def stream(self, request: ModelRequest) -> Iterator[dict]:
        yield from _as_chunks(self.take(request), self.name)

    async def stream_async(self, request: ModelRequest) -> AsyncIterator[dict]:
        for chunk in _as_chunks(self.take(request), self.name):
            yield chunk


class _Named:
    """A shared ReplayModel in the place of one model: its name (usage, costs) and its declared abilities (the
    output mode) stay those of the model it replaces, so the requests come out as they were recorded."""

    def __init__(self, source: ReplayModel, original: Any) -> None:
        self.source, self.original, self.name = source, original, original.name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.original, attribute)

    def complete(self, request: ModelRequest) -> ModelResponse:
        return self.source.complete(request)

    async def complete_async(self, request: ModelRequest) -> ModelResponse:
        return self.source.complete(request)

    def stream(self, request: ModelRequest) -> Iterator[dict]:
        return self.source.stream(request)

    def stream_async(self, request: ModelRequest) -> AsyncIterator[dict]:
        return self.source.stream_async(request)


def _load(path: Path) -> list[dict]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"No cassette at {str(path)!r}: record one first with `with record({str(path)!r}): ...` "
                        "or AGENTSILEX_RECORD=path.") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"Cassette {str(path)!r} is not valid JSON ({exc}); record it again.") from None
    if not isinstance(data, dict) or data.get("version") != CASSETTE_VERSION or not isinstance(
            data.get("exchanges"), list):
        raise UserError(f"{str(path)!r} is not an agentsilex cassette (version {CASSETTE_VERSION}, 'exchanges').")
    return data["exchanges"]


def _mismatch(message: str, diff: str) -> ReplayMismatchError:
    error = ReplayMismatchError(message)
    error.diff = diff
    return error


def _dump(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _raise_recorded(exchange: dict, model: str) -> None:
    error = exchange.get("error")
    if error:
        raise error_for_status(f"(replayed) {error.get('message')}", status=error.get("status"), model=model,
                               retry_after=error.get("retry_after"), transient=bool(error.get("retryable")),
                               context_window=error.get("type") == "ContextWindowExceededError",
                               connection=error.get("type") == "ModelConnectionError")


def _as_response(exchange: dict, model: str) -> ModelResponse:
    response = exchange.get("response") or {}
    if "chunks" in response:  # recorded streaming, replayed as one reply
        accumulator = StreamAccumulator()
        for chunk in response["chunks"]:
            accumulator.feed(chunk)
        _raise_recorded(exchange, model)
        if exchange.get("interrupted"):
            raise ModelError(f"(replayed) the recorded stream from {model!r} was broken off", model=model)
        return accumulator.response()
    _raise_recorded(exchange, model)
    usage = response.get("usage") or {}
    return ModelResponse(response["message"], Usage(usage.get("requests", 1), usage.get("input_tokens", 0),
                                                    usage.get("output_tokens", 0)), response.get("finish_reason"))


def _as_chunks(exchange: dict, model: str) -> Iterator[dict]:
    response = exchange.get("response") or {}
    if "chunks" not in response:
        yield from response_to_chunks(_as_response(exchange, model))
        return
    yield from response["chunks"]
    _raise_recorded(exchange, model)  # a stream that failed part-way fails again at the same point
