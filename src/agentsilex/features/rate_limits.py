"""Rate limits shared by every run, and by every process through Redis: `Runner(rate_limits=RateLimits({...}))`.

A provider's limits (requests and tokens per minute) belong to an API key, shared by every process that uses it;
retrying each 429 on its own makes N workers stampede the provider together. Here every model request waits for
its turn first, in a smooth bucket per model for requests and one for tokens:

- the rate is the limit spread over the minute, so a model never gets more than its `rpm` or `tpm` in any 60 s,
  and at most one second's worth at once after a quiet spell (the bucket holds `burst` seconds, default 1);
- tokens are estimated before the request (its JSON at ~4 characters a token, plus `max_tokens` or
  `expected_output_tokens`) and corrected from the reply's usage; a request that fails gives its tokens back;
- a 429 (with Retry-After, or the provider's x-ratelimit-reset headers) pauses the model's buckets, so every run
  and every process sharing them waits, not only the one that got it;
- in process by default; `store="redis://..."` shares the buckets through one atomic Lua script
  (rate_limit_store.py); a Redis that goes away falls back to these per-process buckets, with a warning.

The turn is taken in the wrap (it can announce the wait as a `rate_limited` event, which tracing records), after
the model's lazy set-up (`warm_up`: imports, TLS, the HTTP client) and the wait itself is slept inside the
driver's attempt, right before the request is sent: waiting earlier lets set-up time bunch requests together.
Retries and fallbacks take a turn of their own.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import math
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, AsyncIterator, ClassVar, Generator, Iterator

from ..engine.capability import Emit, ModelCall
from ..errors import ModelError, ModelTimeoutError, UserError
from ..events import Event
from ..wrapping import Capability

RESOURCES = ("rpm", "tpm")
_INLINE = re.compile(r"data:[\w/.+-]+;base64,[A-Za-z0-9+/=]{256,}")  # content parts sent inline


@dataclass(frozen=True, repr=False)
class RateLimitedEvent(Event):
    """A model request waits for its turn under `Runner(rate_limits=...)`: `wait` seconds, because of `limit`."""

    model: str
    wait: float
    limit: str  # "rpm", "tpm", or "429" (a provider's rate limit answer paused the model)
    agent: str = ""
    type: ClassVar[str] = "rate_limited"


@dataclass
class Turn:
    """One request's place in its model's buckets: when it may be sent, and the tokens it was counted for."""

    key: str
    limits: dict[str, float]
    tokens: int
    at: float  # time.monotonic() when it may be sent
    limit: str  # the limit that made it wait


class RateLimits(Capability):
    """`RateLimits({"gpt-4o-mini": {"rpm": 500, "tpm": 200_000}, "*": {"rpm": 60}}, store=None)`.

    Keys are model names or patterns (`fnmatch`: "gpt-4o*", "anthropic/*", "*"); the most specific one that
    matches a model gives its limits, and each model has buckets of its own. `store` is None (this process), a
    Redis URL or a redis client (every process). One object may serve many Runners: they share its buckets."""

    def __init__(self, limits: dict[str, dict[str, float]], *, store: Any = None, burst: float = 1.0,
                 expected_output_tokens: int = 256, namespace: str = "default") -> None:
        self.limits = _checked(limits)
        if isinstance(burst, bool) or not isinstance(burst, (int, float)) or not 0 < burst <= 60:
            raise UserError(f"RateLimits(burst=...) is seconds' worth of requests at once, in (0, 60]; got {burst!r}.")
        self.burst, self.expected_output_tokens, self.namespace = float(burst), expected_output_tokens, namespace
        self.local = LocalBuckets()
        self.shared = None
        if store is not None:
            from .rate_limit_store import RedisBuckets  # loaded only for a shared store

            self.shared = RedisBuckets(store, namespace)

    def __repr__(self) -> str:
        return f"RateLimits({self.limits!r}, store={'redis' if self.shared else None})"

    # -- which limits a model has ----------------------------------------------------------------------------
    def limits_for(self, model_name: str) -> tuple[str, dict[str, float]] | None:
        """(the bucket key, {"rpm": ..., "tpm": ...}) for a model, or None when no pattern matches it."""
        names = [model_name, model_name.removeprefix("openai/"), model_name.removeprefix("litellm/")]
        for name in names:
            if name in self.limits:
                return name, self.limits[name]
        patterns = sorted((p for p in self.limits if p != "*" and any(fnmatch.fnmatchcase(n, p) for n in names)),
                          key=lambda p: (-len(p.replace("*", "")), p))
        found = patterns[0] if patterns else ("*" if "*" in self.limits else None)
        return None if found is None else (names[1], self.limits[found])

    # -- the buckets ---------------------------------------------------------------------------------------
    def take_turn(self, model_name: str, request: Any) -> Turn | None:
        """Reserve this request's turn (None: the model has no limits)."""
        found = self.limits_for(model_name)
        if found is None:
            return None
        key, limits = found
        tokens = estimate_tokens(request, self.expected_output_tokens) if "tpm" in limits else 0
        wait, limit = self._buckets("reserve", key, limits, tokens)
        return Turn(key, limits, tokens, time.monotonic() + wait, limit)

    def settle(self, turn: Turn, used: int | None) -> None:
        """The request ended: count the tokens it really used (`used`), or give them back (None: it failed)."""
        if "tpm" in turn.limits and (used or 0) != turn.tokens:
            self._buckets("adjust", turn.key, turn.limits, (used or 0) - turn.tokens)

    def pause(self, turn: Turn, seconds: float) -> None:
        """A provider answered 429: nobody sharing these buckets sends to this model for `seconds`."""
        if seconds > 0:
            self._buckets("pause", turn.key, turn.limits, seconds)

    def _buckets(self, op: str, key: str, limits: dict[str, float], amount: float) -> tuple[float, str]:
        rates = [limits.get(name, 0) / (60 + self.burst) for name in RESOURCES]  # per second; see module docstring
        if self.shared is not None:
            answer = self.shared.call(op, key, rates, self.burst, amount)
            if answer is not None:
                return answer
        return self.local.call(op, key, rates, self.burst, amount)

    # -- the capability ------------------------------------------------------------------------------------
    def wrap(self, loop: Any) -> Generator:
        return self._paced(loop)

    def _paced(self, loop: Any) -> Generator:
        answer: Any = None
        error: BaseException | None = None
        try:
            while True:
                try:
                    request = loop.throw(error) if error is not None else loop.send(answer)
                except StopIteration as done:
                    return done.value
                calls = [part for part in getattr(request, "requests", [request])
                         if isinstance(part, ModelCall) and not isinstance(part.model, Paced)]
                for call in calls:
                    event = self._turn_for(call)
                    if event is not None:
                        yield Emit(event, call.run)
                try:
                    answer, error = (yield request), None
                except GeneratorExit:
                    raise
                except BaseException as exc:  # the loop decides what a failure means
                    answer, error = None, exc
        finally:
            loop.close()

    def _turn_for(self, call: ModelCall) -> RateLimitedEvent | None:
        """Take the first attempt's turn now (after the model's lazy set-up) and say how long it waits."""
        model = call.model
        warm_up(model)
        turn = self.take_turn(getattr(model, "name", ""), call.request)
        call.model = Paced(model, self, turn, call.deadline)
        call.fallbacks = [Paced(each, self, None, call.deadline) for each in call.fallbacks]
        wait = turn.at - time.monotonic() if turn is not None else 0.0
        if wait <= 0.001:
            return None
        agent = getattr(call.agent, "name", "") if call.agent is not None else ""
        return RateLimitedEvent(getattr(model, "name", ""), round(wait, 4), turn.limit, agent)  # type: ignore


class LocalBuckets:
    """The buckets of this process: per model, the time each bucket is next empty (GCRA), under one lock."""

    def __init__(self) -> None:
        self.state: dict[str, list[float]] = {}
        self.lock = threading.Lock()

    def call(self, op: str, key: str, rates: list[float], burst: float, amount: float) -> tuple[float, str]:
        with self.lock:
            now = time.monotonic()
            tats = self.state.setdefault(key, [now, now])
            return step(op, tats, rates, burst, amount, now)


def step(op: str, tats: list[float], rates: list[float], burst: float, amount: float, now: float) -> tuple[float, str]:
    """One operation on a model's two buckets (requests, tokens), each kept as the time it is next empty ("tat").
    The same arithmetic as the Lua script in rate_limit_store.py. Returns (seconds to wait, the limit that binds).

    reserve: a request costing 1 request and `amount` tokens may go once each bucket holds its cost (or is full,
             for a cost above the burst); both are charged at that moment.
    adjust:  add `amount` tokens (the reply used more) or give them back (negative).
    pause:   nobody goes for `amount` seconds (a 429)."""
    if op == "pause":
        for index, rate in enumerate(rates):
            if rate > 0:
                tats[index] = max(tats[index], now + amount + burst)
        return 0.0, "429"
    if op == "adjust":
        if rates[1] > 0:
            tats[1] = max(tats[1] + amount / rates[1], now - burst)
        return 0.0, "tpm"
    costs = (1.0, float(amount))
    waits = [max(0.0, max(tat, now) - now - burst + min(cost / rate, burst)) if rate > 0 else 0.0
             for tat, rate, cost in zip(tats, rates, costs)]
    wait = max(waits)
    start = now + wait
    for index, (rate, cost) in enumerate(zip(rates, costs)):
        if rate > 0:
            tats[index] = max(tats[index], start) + cost / rate
    return wait, ("rpm", "tpm")[waits.index(wait)] if wait > 0 else "rpm"


class Paced:
    """A model as the driver calls it under rate limits: each attempt waits for its turn right before it is sent
    (the first attempt's turn was taken by the wrap; a retry or a fallback takes its own), then settles it."""

    def __init__(self, model: Any, limits: RateLimits, turn: Turn | None, deadline: float | None) -> None:
        self.__dict__.update(_model=model, _limits=limits, _turn=turn, _deadline=deadline)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._model, name, value)

    def _next_turn(self, request: Any) -> Turn | None:
        turn, self.__dict__["_turn"] = self._turn, None
        if turn is None:  # a retry or a fallback
            warm_up(self._model)
            turn = self._limits.take_turn(getattr(self._model, "name", ""), request)
        return turn

    def _wait(self, turn: Turn | None) -> float:
        """Seconds to sleep before sending: until the turn, or until the run's deadline if that comes first."""
        if turn is None:
            return 0.0
        until = turn.at if self._deadline is None else min(turn.at, self._deadline)
        return max(0.0, until - time.monotonic())

    def _due(self, turn: Turn | None) -> None:
        """After the sleep: a turn past the run's deadline is the run's timeout (RunGuards says so)."""
        if turn is not None and self._deadline is not None and turn.at > self._deadline:
            self._limits.settle(turn, None)
            raise ModelTimeoutError(f"Model {self._model.name!r} waited for its turn under its {turn.limit} limit "
                                    "until the run's deadline (run_timeout).", model=self._model.name, retryable=False)

    def _failed(self, turn: Turn | None, error: ModelError) -> None:
        if turn is None:
            return
        self._limits.settle(turn, None)
        if error.status_code == 429:
            self._limits.pause(turn, error.retry_after if error.retry_after is not None else 1.0)

    def _ended(self, turn: Turn | None, usage: Any) -> None:
        if turn is not None:
            total = getattr(usage, "input_tokens", 0) + getattr(usage, "output_tokens", 0)
            self._limits.settle(turn, total if total else turn.tokens)

    def complete(self, request: Any) -> Any:
        turn = self._next_turn(request)
        time.sleep(self._wait(turn))
        self._due(turn)
        try:
            response = self._model.complete(request)
        except ModelError as exc:
            self._failed(turn, exc)
            raise
        self._ended(turn, response.usage)
        return response

    async def complete_async(self, request: Any) -> Any:
        turn = self._next_turn(request)
        await asyncio.sleep(self._wait(turn))
        self._due(turn)
        try:
            response = await self._model.complete_async(request)
        except ModelError as exc:
            self._failed(turn, exc)
            raise
        self._ended(turn, response.usage)
        return response

    def stream(self, request: Any) -> Iterator[dict]:
        turn = self._next_turn(request)
        time.sleep(self._wait(turn))
        self._due(turn)
        usage = _StreamUsage()
        chunks = iter(self._model.stream(request))
        try:
            for chunk in chunks:
                yield usage.seen(chunk)
        except ModelError as exc:
            self._failed(turn, exc)
            raise
        finally:
            getattr(chunks, "close", lambda: None)()
        self._ended(turn, usage)

    async def stream_async(self, request: Any) -> AsyncIterator[dict]:
        turn = self._next_turn(request)
        await asyncio.sleep(self._wait(turn))
        self._due(turn)
        usage = _StreamUsage()
        chunks = aiter(self._model.stream_async(request))
        try:
            async for chunk in chunks:
                yield usage.seen(chunk)
        except ModelError as exc:
            self._failed(turn, exc)
            raise
        finally:
            if hasattr(chunks, "aclose"):
                await chunks.aclose()
        self._ended(turn, usage)


class _StreamUsage:
    input_tokens = output_tokens = 0

    def seen(self, chunk: dict) -> dict:
        usage = chunk.get("usage") if isinstance(chunk, dict) else None
        if isinstance(usage, dict):
            self.input_tokens, self.output_tokens = usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0
        return chunk


def warm_up(model: Any) -> None:
    """The model's lazy set-up (imports, TLS, an HTTP client), done before its turn is taken (see the docstring)."""
    ready = getattr(model, "warm_up", None)
    if callable(ready):
        ready()


def estimate_tokens(request: Any, expected_output: int) -> int:
    """Tokens a request will count against tpm: its JSON at ~4 characters a token (an image, audio or file inline
    as ~1,000, not its base64), plus its output allowance."""
    sent = json.dumps([request.messages, request.tools], default=str)
    inline = _INLINE.findall(sent)
    size = len(sent) - sum(len(data) for data in inline) + 4000 * len(inline)
    allowance = getattr(request.settings, "max_tokens", None) or expected_output
    return math.ceil(size / 4) + int(allowance)


def _checked(limits: Any) -> dict[str, dict[str, float]]:
    if not isinstance(limits, dict) or not limits:
        raise UserError(f"RateLimits takes a dict of model name (or pattern) -> {{'rpm': ..., 'tpm': ...}}, "
                        f"e.g. RateLimits({{'gpt-4o-mini': {{'rpm': 500, 'tpm': 200_000}}}}); got {limits!r:.100}.")
    for pattern, values in limits.items():
        if not isinstance(pattern, str) or not isinstance(values, dict) or not values:
            raise UserError(f"RateLimits: {pattern!r} -> {values!r:.80} is not a model pattern with a dict of limits.")
        unknown = set(values) - set(RESOURCES)
        if unknown:
            raise UserError(f"RateLimits[{pattern!r}]: unknown limit(s) {sorted(unknown)}; use 'rpm' (requests per "
                            "minute) and 'tpm' (tokens per minute).")
        for name, value in values.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise UserError(f"RateLimits[{pattern!r}][{name!r}] must be a positive number, got {value!r}.")
    return {pattern: dict(values) for pattern, values in limits.items()}
