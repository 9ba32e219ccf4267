"""The drivers' settings (`Limits`, and `Timeouts` as the Runner takes them), and running one batch of tool calls.

The sync driver calls a lone sync tool inline (the common case, and the cheapest: no event loop, no thread);
anything else runs side by side, with a limit and a timeout per call (concurrency.py). Outcomes come back in call
order; a failing call becomes an error Outcome and never stops its siblings.
"""

from __future__ import annotations

import time
from contextvars import copy_context
from dataclasses import dataclass, field

from ..errors import UserError
from ..models.retry import RetryPolicy
from .capability import Outcome, ToolRun

# Model timeouts (s): connect; the reply or a stream's first chunk; between chunks. Not the clients' 600-6,000 s.
DEFAULT_CONNECT_TIMEOUT, DEFAULT_MODEL_TIMEOUT, DEFAULT_STREAM_IDLE_TIMEOUT = 10.0, 300.0, 60.0


@dataclass(frozen=True)
class Timeouts:
    """How long a run waits, in seconds (None: no limit): `Runner(timeouts=Timeouts(model=60, run=300))`.

    `model`: the reply, or a stream's first chunk; `stream_idle`: between chunks; `connect`: opening the
    connection; `tool`: one tool call (`@tool(timeout=...)` overrides it); `run`: the whole run."""

    model: float | None = DEFAULT_MODEL_TIMEOUT
    stream_idle: float | None = DEFAULT_STREAM_IDLE_TIMEOUT
    connect: float | None = DEFAULT_CONNECT_TIMEOUT
    tool: float | None = None
    run: float | None = None

    def __post_init__(self) -> None:
        for name in ("model", "stream_idle", "connect", "tool", "run"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
                raise UserError(f"Timeouts({name}=...) must be a positive number of seconds or None, got {value!r}.")


@dataclass(frozen=True)
class Limits:
    """How the drivers call models and tools: concurrency, timeouts (seconds) and the retry policy."""

    max_parallel_tools: int = 8
    tool_timeout: float | None = None
    model_timeout: float | None = DEFAULT_MODEL_TIMEOUT
    stream_idle_timeout: float | None = DEFAULT_STREAM_IDLE_TIMEOUT
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT

    def __post_init__(self) -> None:
        if isinstance(self.max_parallel_tools, bool) or not isinstance(self.max_parallel_tools, int) \
                or self.max_parallel_tools < 1:
            raise UserError(f"max_parallel_tools must be a whole number of at least 1, "
                            f"got {self.max_parallel_tools!r}.")
        Timeouts(self.model_timeout, self.stream_idle_timeout, self.connect_timeout, self.tool_timeout)
        if not isinstance(self.retry, RetryPolicy):
            raise UserError(f"retry must be a RetryPolicy, got {type(self.retry).__name__}.")


def run_tools_sync(calls: list[ToolRun], limits: Limits, deadline: float | None = None) -> list[Outcome]:
    """The sync driver's RunTools: inline for one sync call, else one event loop for the whole batch."""
    if len(calls) == 1 and timeout_of(calls[0], limits, deadline)[0] is None and not calls[0].tool.is_async:
        return [_invoke_inline(calls[0])]
    from ..concurrency import run_batch, run_coroutine_sync  # side by side, or with a timeout

    timeouts = [timeout_of(call, limits, deadline) for call in calls]
    return raise_interrupt(run_coroutine_sync(run_batch(calls, timeouts, limits.max_parallel_tools)))


def raise_interrupt(outcomes: list[Outcome]) -> list[Outcome]:
    """Ctrl-C, SystemExit or any other BaseException that is not an Exception, inside a tool: raise it here, once
    the batch has settled, in every driver alike (a tool error is an Exception; anything else stops the run).

    Raised inside an asyncio task instead, it would escape the event loop and leave tasks behind."""
    for outcome in outcomes:
        if outcome.error is not None and not isinstance(outcome.error, Exception):
            raise outcome.error
    return outcomes


def timeout_of(run: ToolRun, limits: Limits, deadline: float | None = None) -> tuple[float | None, str]:
    """The call's timeout and where it was set: the tool's own wins over the Runner's; the run's deadline
    (Runner(run_timeout=...)) caps both."""
    own = getattr(run.tool, "timeout", None)
    found = (own, "@tool(timeout)") if own is not None else (limits.tool_timeout, "tool_timeout")
    if deadline is not None:
        left = max(deadline - time.monotonic(), 0.001)
        if found[0] is None or left < found[0]:
            return left, "run_timeout"
    return found


def _invoke_inline(run: ToolRun) -> Outcome:
    try:
        value = copy_context().run(run.start)  # the call's own context (current_tool_call), as in a thread
        if hasattr(value, "__await__"):  # a sync function that returned a coroutine
            from ..concurrency import run_coroutine_sync

            value = run_coroutine_sync(value)
        return Outcome(value=value)
    except Exception as exc:
        return Outcome(error=exc)
