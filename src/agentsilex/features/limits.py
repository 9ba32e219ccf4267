"""Limits on a run: budgets (tokens, tool calls, USD), a wall-clock deadline, the same tool call repeated, and the
limits of a whole conversation (checked by features/conversation.py).

`RunGuards` is the run's capability, loaded only when one of these is set. It holds one budget for the whole run,
shared with its nested agents (their requests pass through its wrap too): before each model request it checks an
estimate and caps the driver's waits at the deadline; after it, it counts what the reply used; before tools run
it counts the calls. Nothing is estimated or counted when no limit asks for it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Generator

from ..engine.capability import AlreadyAnswered, ModelCall, RunTools, Step
from ..errors import ModelBehaviorError, RunStopped, UserError
from ..models.catalog import request_cost
from ..result import RequestUsage, RunUsage, answer
from ..wrapping import Capability, intercept

REPEAT_ACTIONS = ("raise", "note")
__all__ = ["RunLimits", "ConversationLimits", "RunGuards", "RequestUsage", "RunUsage"]


class RunTimeoutError(RunStopped):
    """The run passed Runner(run_timeout=...); the session stays valid, `.result` holds what was done so far."""

    def __init__(self, message: str, *, timeout: float, result: Any = None) -> None:
        super().__init__(message)
        self.timeout = timeout
        self.result = result


class RepeatedToolCallError(ModelBehaviorError):
    """The model made the identical tool call too many times in a row (Runner(max_repeated_tool_calls=...))."""

    def __init__(self, message: str, *, tool_name: str, times: int, result: Any = None) -> None:
        super().__init__(message)
        self.tool_name = tool_name
        self.times = times
        self.result = result


class UsageLimitExceeded(RunStopped):
    """A run hit one of its `RunLimits` (tokens, tool calls, USD); `.result` holds what was done so far."""

    def __init__(self, message: str, *, limit: str, maximum: float, used: float, result: Any = None) -> None:
        super().__init__(message)
        self.limit = limit
        self.maximum = maximum
        self.used = used
        self.result = result


@dataclass(frozen=True)
class RunLimits:
    """Limits for `Runner(limits=...)`. Budgets raise `UsageLimitExceeded` (`max_total_tokens`, `max_tool_calls`,
    `max_cost_usd`); `max_repeated_tool_calls` stops (or, with `on_repeated_tool_call="note"`, answers) the same
    call made that many times in a row; `max_handoffs`, `max_agent_depth` and `max_parallel_tools` bound handoff
    chains, agents used as tools nesting, and tool calls running at once."""

    max_total_tokens: int | None = None
    max_tool_calls: int | None = None
    max_cost_usd: float | None = None
    max_repeated_tool_calls: int | None = None
    on_repeated_tool_call: str = "raise"
    max_handoffs: int = 10
    max_agent_depth: int = 3
    max_parallel_tools: int = 8

    def __post_init__(self) -> None:
        for name in ("max_total_tokens", "max_tool_calls", "max_cost_usd"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
                raise UserError(f"RunLimits.{name} must be a non-negative number or None, got {value!r}.")
        check_options(None, vars(self))


@dataclass(frozen=True)
class ConversationLimits:
    """A budget for one conversation (all runs on one session), for `Runner(conversation_limits=...)`."""

    max_requests: int | None = None
    max_total_tokens: int | None = None
    max_cost_usd: float | None = None

    def __post_init__(self) -> None:
        for name in ("max_requests", "max_total_tokens", "max_cost_usd"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
                raise UserError(f"ConversationLimits.{name} must be a non-negative number or None, got {value!r}.")


def check_options(limits: Any, settings: dict[str, Any]) -> None:
    """The limits given to a Runner (a RunLimits, or the flat keywords), before anything runs."""
    if limits is not None and not isinstance(limits, RunLimits):
        raise UserError(f"limits must be a RunLimits(...) or None, got {limits!r}.")
    times = settings.get("max_repeated_tool_calls")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 2):
        raise UserError(f"max_repeated_tool_calls must be an int of at least 2, got {times!r}.")
    if settings.get("on_repeated_tool_call", "raise") not in REPEAT_ACTIONS:
        raise UserError(f"on_repeated_tool_call must be one of {REPEAT_ACTIONS}, "
                        f"got {settings['on_repeated_tool_call']!r}.")


class RunGuards(Capability):
    """Budgets, the deadline and the repeated-call guard of one run (see the module docstring)."""

    def __init__(self, limits: RunLimits | None, run_timeout: float | None, settings: dict[str, Any]) -> None:
        self.limits = limits or RunLimits()
        self.seconds, self.at = run_timeout, None
        self.repeats = (settings["max_repeated_tool_calls"], settings["on_repeated_tool_call"])
        self.tokens, self.tool_calls, self.cost = 0, 0, 0.0
        self.priced: set[str] = set()

    def wrap(self, loop: Any) -> Generator:
        self.top = loop.run  # (a generator: this runs when the run starts, after the outer wraps' set-up)
        self.at = None if self.seconds is None else time.monotonic() + self.seconds
        spent = self.top.state.get("spent")
        if spent:  # a resumed run is the same run: it counts what was spent before the pause
            self.tokens, self.tool_calls = int(spent["tokens"]), int(spent["tool_calls"])
            self.cost = float(spent["cost"])
        self._keep()
        return (yield from intercept(loop, self._before, self._after))

    def guard(self, step: Step) -> None:
        if step.phase == "tools":  # before anything starts: the step is not stored
            self._check_deadline()
            self._check("max_tool_calls", self.limits.max_tool_calls, self.tool_calls + len(step.ready), "tool calls")
            self.tool_calls += len(step.ready)
            self._keep()

    def decide(self, call: dict, step: Step) -> Any:
        times, action = self.repeats
        if times is None or step.resumed:
            return None
        seen = step.run.state.setdefault("repeats", {"step": None, "found": {}, "last": None, "count": 0})
        if seen["step"] is not step:  # the first call of a step: count the whole step, in order
            seen["step"], seen["found"] = step, _repeats(seen, step.message["tool_calls"], times)
            if seen["found"] and action == "raise":
                first = next(c for c in step.message["tool_calls"] if c["id"] in seen["found"])
                raise _repeated(first, seen["found"][first["id"]], self.top.result)
        count = seen["found"].get(call["id"])
        if count is None:
            return None
        return AlreadyAnswered(call, answer(call, repeat_note(call["function"]["name"], count), failed=True))

    def _before(self, request: Any) -> None:
        if isinstance(request, (ModelCall, RunTools)):
            self._check_deadline()
            request.deadline = self.at  # no wait outlives the run
        if isinstance(request, ModelCall) and not request.quiet:
            self._check_prices([request.model, *request.fallbacks])
            self._check_request(request.request, request.model.name)

    def _after(self, request: Any, response: Any, error: BaseException | None) -> None:
        if not isinstance(request, ModelCall):
            return
        if error is not None:
            self._check_deadline(error)  # a wait cut short by the deadline is the run's timeout
        elif not request.quiet:
            self._charge(request, response)

    def _check_deadline(self, cause: BaseException | None = None) -> None:
        if self.at is not None and time.monotonic() >= self.at:
            raise RunTimeoutError(
                f"The run did not finish within run_timeout={self.seconds:g} s. Raise Runner(run_timeout=...) "
                "or simplify the task; the session is valid and the partial result is on .result.",
                timeout=float(self.seconds or 0), result=self.top.result) from cause

    def _check_prices(self, models: list[Any]) -> None:
        """With a cost limit, every model the agent may call (fallbacks too) needs a price, before any request."""
        if self.limits.max_cost_usd is None:
            return
        for name in (model.name for model in models):
            if name not in self.priced and request_cost(name, 1, 1) is None:
                raise _unpriced(name)
            self.priced.add(name)

    def _check_request(self, request: Any, model: str) -> None:
        """Raise if the request would take the run past a token or cost limit, from an estimate (not sent)."""
        limits = self.limits
        if limits.max_total_tokens is None and limits.max_cost_usd is None:
            return  # no limit: no estimate (it serialises the whole request)
        input_tokens, output_tokens = estimate_request(request)
        self._check("max_total_tokens", limits.max_total_tokens, self.tokens + input_tokens + output_tokens, "tokens",
                    estimate=True)
        if limits.max_cost_usd is not None:
            cost = request_cost(model, input_tokens, output_tokens) or 0.0
            self._check("max_cost_usd", limits.max_cost_usd, self.cost + cost, "USD", estimate=True)

    def _charge(self, call: ModelCall, response: Any) -> None:
        """Count a reply; past a limit, raise (its usage still counts in the run's result)."""
        entry = RequestUsage(call.agent.name if call.agent else "", call.model.name, response.usage.input_tokens,
                             response.usage.output_tokens, response.usage.cached_input_tokens,
                             response.usage.cache_write_tokens)
        self.tokens += entry.total_tokens
        cost = entry.cost_usd if self.limits.max_cost_usd is not None else 0.0
        if cost is None:
            raise _unpriced(entry.model)
        self.cost += cost
        self._keep()
        try:
            self._check("max_total_tokens", self.limits.max_total_tokens, self.tokens, "tokens")
            self._check("max_cost_usd", self.limits.max_cost_usd, self.cost, "USD")
        except UsageLimitExceeded:
            call.run.result.usage.add_request(response.usage, agent=entry.agent, model=entry.model)
            raise

    def _check(self, name: str, maximum: float | None, used: float, unit: str, *, estimate: bool = False) -> None:
        check_limit("RunLimits", name, maximum, used, unit, estimate=estimate)

    def _keep(self) -> None:
        """What was spent, with the run (a run that pauses for approval saves it in its state)."""
        self.top.state["spent"] = {"tokens": self.tokens, "tool_calls": self.tool_calls, "cost": self.cost}


def _repeats(seen: dict[str, Any], calls: list[dict], times: int) -> dict[str, int]:
    """Feed one step's calls in order; {call id: times in a row} for the calls at or past the limit."""
    found: dict[str, int] = {}
    for call in calls:
        key = (call["function"]["name"], _canonical(call["function"]["arguments"]))
        seen["count"] = seen["count"] + 1 if key == seen["last"] else 1
        seen["last"] = key
        if seen["count"] >= times:
            found[call["id"]] = seen["count"]
    return found


def _repeated(call: dict, times: int, result: Any) -> RepeatedToolCallError:
    name = call["function"]["name"]
    return RepeatedToolCallError(
        f"The model called {name!r} with the same arguments {times} times in a row. Give it a clearer "
        "instruction or another tool, or use Runner(on_repeated_tool_call=\"note\") to let it try another "
        "approach; the partial result is on .result.", tool_name=name, times=times, result=result)


def repeat_note(name: str, times: int) -> str:
    """The answer to a repeated call in "note" mode (it did not run)."""
    return (f"Error: you called {name!r} with the same arguments {times} times in a row; it did not run again "
            "and its result would not change. Try a different approach or answer with what you have.")


def _canonical(arguments: Any) -> str:
    try:
        return json.dumps(json.loads(arguments) if isinstance(arguments, str) else arguments, sort_keys=True)
    except (TypeError, ValueError):
        return str(arguments)


def _unpriced(model: str) -> UserError:
    return UserError(f"A cost limit is set but LiteLLM has no price for model {model!r}; nothing was sent. Register "
                     "one with litellm.register_model(...), or use max_total_tokens instead of max_cost_usd.")


def estimate_request(request: Any) -> tuple[int, int]:
    """(input, output) tokens a request may use: ~4 characters of its JSON a token, and its `max_tokens`."""
    chars = len(json.dumps(request.messages, default=str)) + len(json.dumps(request.tools, default=str))
    return chars // 4 + 1, int(request.settings.max_tokens or 0)


def check_limit(kind: str, name: str, maximum: float | None, used: float, unit: str, *, estimate: bool = False,
                conversation: bool = False) -> None:
    """Raise UsageLimitExceeded if `used` is past `maximum` (the error's `limit` is "conversation.<name>" for a
    conversation limit; `estimate` means the request was not sent)."""
    if maximum is None or used <= maximum:
        return
    what = "This conversation" if conversation else "The run"
    happened = (f"would go past {kind}({name}={maximum}) with the next request: about {used:g} {unit} with it "
                "(estimated before sending; the request was not sent)" if estimate else
                f"went past {kind}({name}={maximum}): {used:g} {unit} used")
    advice = ("Start a new conversation (a new session) or raise the limit" if conversation
              else "Raise the limit or simplify the task")
    raise UsageLimitExceeded(f"{what} {happened}. {advice}; the partial result is on .result.",
                             limit=f"conversation.{name}" if conversation else name, maximum=maximum, used=used)
