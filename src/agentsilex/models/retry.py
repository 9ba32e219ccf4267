"""Retries and fallbacks, decided in one place and with no I/O: drivers only sleep and call.

`attempt_plan` is a small sans-I/O generator, like the agent loop: it yields `(model, delay)` -- wait
`delay` seconds, then call `model` -- and receives the ModelError that attempt raised. It retries
transient failures with capped exponential backoff and jitter (honouring Retry-After), then moves on to
the next fallback model, and raises the last error when every model has failed for good.
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass
from typing import Any, Callable, Generator, Sequence

from ..errors import ContextWindowExceededError, ModelAuthError, ModelBadRequestError, ModelConnectionError, ModelError, ResponseFormatNotSupportedError, UserError

_RETRYABLE_STATUS = {408, 409, 429}
_BAD_REQUEST_STATUS = {400, 404, 413, 422}


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
        if error.retry_after is not None:
            # The server said when; waiting less only earns another 429. Past our cap, give up (or fall back).
            return error.retry_after if error.retry_after <= self.max_delay else None
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
                if error.retryable and retry < policy.max_retries and (wait := error.retry_after) is not None:
                    error.args = (f"{error} -- the server asked to wait {wait:g} s (Retry-After), longer than "
                                  f"RetryPolicy(max_delay={policy.max_delay:g}) allows, so it was not retried: try "
                                  f"again in {wait:g} s, raise max_delay, or add fallback_models.", *error.args[1:])
                failures.append(error)
                break
            retry, delay = retry + 1, next_delay
    last = failures[-1]
    for earlier in failures[:-1]:
        last.add_note(f"Fallback chain: model {earlier.model!r} failed first: {earlier}")
    raise last


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
