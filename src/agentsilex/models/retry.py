"""Retries and fallbacks, decided in one place and with no I/O: drivers only sleep and call.

`attempt_plan` is a small sans-I/O generator, like the agent loop: it yields `(model, delay)` -- wait
`delay` seconds, then call `model` -- and receives the ModelError that attempt raised. It retries
transient failures with capped exponential backoff and jitter (honouring Retry-After), then moves on to
the next fallback model, and raises the last error when every model has failed for good.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable, Generator, Sequence

from .._lazy import lazy_names
from ..errors import ModelError, UserError


@dataclass(frozen=True)
class RetryPolicy:
    """How transient model failures are retried: `RetryPolicy(max_retries=0)` turns retries off."""

    max_retries: int = 3
    initial_delay: float = 0.5
    max_delay: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.25  # each delay is scaled by a random factor in [1 - jitter, 1 + jitter]

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.initial_delay < 0 or self.max_delay < 0 or not 0 <= self.jitter <= 1:
            raise UserError(f"Invalid {self!r}: counts and delays must be >= 0 and jitter within [0, 1].")

    def delay(self, retry: int, error: ModelError, rand: Callable[[], float] = random.random) -> float | None:
        """Seconds to wait before retry number `retry` (0-based), or None when `error` must not be retried."""
        if not error.retryable or retry >= self.max_retries:
            return None
        if error.retry_after is not None:  # the server said when; waiting less only earns another 429
            if error.retry_after > self.max_delay:  # past our cap: give up (or fall back), the error saying why
                from .http import too_long_to_wait
                return too_long_to_wait(error, self)
            return error.retry_after
        backoff = min(self.max_delay, self.initial_delay * self.multiplier ** retry)
        return min(self.max_delay, backoff * (1 - self.jitter + 2 * self.jitter * rand()))


def attempt_plan(models: Sequence[Any], policy: RetryPolicy,
                 rand: Callable[[], float] = random.random) -> Generator[tuple[Any, float], ModelError, None]:
    """Yield (model, delay) attempts; send each attempt's ModelError back in; raises when all are spent."""
    failures: list[ModelError] = []
    for model in models:
        retry, delay = 0, 0.0
        while True:
            error = yield model, delay
            next_delay = policy.delay(retry, error, rand)
            if next_delay is None:
                failures.append(error)
                break
            retry, delay = retry + 1, next_delay
    last = failures[-1]
    for earlier in failures[:-1]:
        last.add_note(f"Fallback chain: model {earlier.model!r} failed first: {earlier}")
    raise last


# The HTTP status mapping lives in models/http.py (loaded by HTTP models only).
__getattr__ = lazy_names(__name__, {"models.http": ("error_for_status", "parse_retry_after")})
