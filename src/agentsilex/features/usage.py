"""Usage per request and per run, USD cost from LiteLLM's price table, and per-run limits (budgets).

Prices come from LiteLLM's bundled model table, read without importing LiteLLM (`models.catalog`).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageLimitExceeded, UserError
from ..models import Usage, resolve_model
from .guards import Deadline


@dataclass
class RequestUsage:
    """The tokens one model request used, and which agent and model made it."""

    agent: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0  # part of input_tokens
    cache_write_tokens: int = 0  # part of input_tokens
    reasoning_tokens: int = 0  # part of output_tokens
    estimated: bool = False  # the server reported no usage: the counts are guesses (~4 characters a token)

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def cost_usd(self) -> float | None:
        """Price from LiteLLM's table (cache reads and writes at their own prices), or None when the model is
        not in it."""
        cost = cost_usd(self.model, self.input_tokens, self.output_tokens)
        if cost is None or not (self.cached_input_tokens or self.cache_write_tokens):
            return cost
        return cost + cache_adjustment(self.model, self.cached_input_tokens, self.cache_write_tokens)


@dataclass
class RunUsage(Usage):
    """Totals for a run (`requests`, `input_tokens`, `output_tokens`) plus `per_request` detail."""

    per_request: list[RequestUsage] = field(default_factory=list)

    def add_request(self, usage: Usage, *, agent: str, model: str) -> RequestUsage:
        entry = RequestUsage(agent=agent, model=model, input_tokens=usage.input_tokens,
                             output_tokens=usage.output_tokens, cached_input_tokens=usage.cached_input_tokens,
                             cache_write_tokens=usage.cache_write_tokens, reasoning_tokens=usage.reasoning_tokens,
                             estimated=usage.estimated)
        self.add(usage)
        self.per_request.append(entry)
        return entry

    def plus(self, other: RunUsage) -> RunUsage:
        """A new RunUsage: this one, then `other`."""
        total = RunUsage()
        total.merge(self)
        total.merge(other)
        return total

    def merge(self, other: RunUsage) -> None:
        """Add a sub-run's usage (an agent used as a tool) to this one."""
        self.add(other)
        self.per_request.extend(other.per_request)

    @property
    def cost_usd(self) -> float | None:
        """Total USD cost of the requests whose model has a known price; None if none has."""
        costs = [c for c in (r.cost_usd for r in self.per_request) if c is not None]
        return sum(costs) if costs else None

    def to_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                "cached_input_tokens": self.cached_input_tokens, "cache_write_tokens": self.cache_write_tokens,
                "reasoning_tokens": self.reasoning_tokens, "estimated": self.estimated,
                "per_request": [vars(r) for r in self.per_request]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunUsage:
        return cls(requests=data["requests"], input_tokens=data["input_tokens"], output_tokens=data["output_tokens"],
                   cached_input_tokens=data.get("cached_input_tokens", 0),
                   cache_write_tokens=data.get("cache_write_tokens", 0),
                   reasoning_tokens=data.get("reasoning_tokens", 0),
                   estimated=bool(data.get("estimated")),
                   per_request=[RequestUsage(**r) for r in data.get("per_request", [])])


def cost_usd(model: str, input_tokens: int, output_tokens: int) -> float | None:
    """USD price of a request from LiteLLM's bundled price table (None for an unknown model).

    The table is read from the installed litellm package without importing it (`models.catalog`). A model
    missing from it is looked up in LiteLLM's live table only when litellm is already imported, which is
    where prices added with `litellm.register_model(...)` live."""
    from ..models.catalog import cost_usd as table_cost

    cost = table_cost(model, input_tokens, output_tokens)
    litellm = sys.modules.get("litellm")
    if cost is None and litellm is not None:
        try:
            prompt, completion = litellm.cost_per_token(
                model=model.removeprefix("litellm/"), prompt_tokens=input_tokens, completion_tokens=output_tokens)
        except Exception:  # litellm raises for models missing from its table
            return None
        cost = float(prompt) + float(completion)
    return cost


def cache_adjustment(model: str, cached_input_tokens: int, cache_write_tokens: int) -> float:
    """What prompt caching changes in a request's price: `cost_usd` bills every input token at the input
    price; cache reads and writes cost their own price instead (a model without those prices: no change)."""
    prices = price_entry(model) or {}
    base = prices.get("input_cost_per_token") or 0.0
    read = prices.get("cache_read_input_token_cost")
    write = prices.get("cache_creation_input_token_cost")
    return ((0.0 if read is None else cached_input_tokens * (read - base))
            + (0.0 if write is None else cache_write_tokens * (write - base)))


def price_entry(model: str) -> dict[str, Any] | None:
    """The model's row of LiteLLM's price table."""
    from ..models.litellm import load_litellm

    try:
        return dict(load_litellm().get_model_info(model))
    except Exception:  # not in the table
        return None


@dataclass(frozen=True)
class RunLimits:
    """Per-run budgets for `Runner(limits=...)`; a limit that is hit raises `UsageLimitExceeded`."""

    max_total_tokens: int | None = None
    max_tool_calls: int | None = None
    max_cost_usd: float | None = None

    def __post_init__(self) -> None:
        for name in ("max_total_tokens", "max_tool_calls", "max_cost_usd"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, (int, float)) or value < 0):
                raise UserError(f"RunLimits.{name} must be a non-negative number or None, got {value!r}.")


class Budget:
    """Running totals of one run, shared with its nested agents, checked against the limits (and, through
    `meter`, against the conversation's limits: see control/conversation.py)."""

    def __init__(self, limits: RunLimits | None, meter: Any = None) -> None:
        self.limits = limits or RunLimits()
        self.meter = meter
        self.tokens = 0
        self.tool_calls = 0
        self.cost = 0.0
        self.priced: set[str] = set()
        self.deadline = Deadline(None)  # the whole run's, set by the outermost loop (Runner(run_timeout=...))

    def spent(self) -> dict[str, float]:
        return {"tokens": self.tokens, "tool_calls": self.tool_calls, "cost": self.cost}

    def restore(self, spent: dict[str, float]) -> None:
        self.tokens, self.tool_calls = int(spent["tokens"]), int(spent["tool_calls"])
        self.cost = float(spent["cost"])

    def check_prices(self, agent: Any, model: Any) -> None:
        """With a cost limit, every model the agent may call (fallbacks too) needs a price, before any request."""
        if self.limits.max_cost_usd is None:
            return
        names = [model.name, *(resolve_model(m).name for m in getattr(agent, "fallback_models", None) or ())]
        for name in names:
            if name not in self.priced and cost_usd(name, 1, 1) is None:
                raise _unpriced(name)
            self.priced.add(name)

    def check_request(self, request: Any, model: str) -> None:
        """Before a request: raise if it would take the run (or the conversation) past a token, request or cost
        limit, from an estimate: its input at ~4 characters a token, plus the reply's `max_tokens` if set."""
        limits = self.limits
        run_active = limits.max_total_tokens is not None or limits.max_cost_usd is not None
        if not run_active and not (self.meter is not None and self.meter.active):
            return  # no limit: no estimate (it serialises the whole request)
        input_tokens, output_tokens = estimate_request(request)
        _check("max_total_tokens", limits.max_total_tokens, self.tokens + input_tokens + output_tokens, "tokens",
               estimate=True)
        if limits.max_cost_usd is not None:
            cost = cost_usd(model, input_tokens, output_tokens) or 0.0
            _check("max_cost_usd", limits.max_cost_usd, self.cost + cost, "USD", estimate=True)
        if self.meter is not None:
            self.meter.check(input_tokens, output_tokens, model)

    def charge_request(self, entry: RequestUsage) -> None:
        """Count a model request; raise if it took the run over its token or cost limit."""
        if self.meter is not None:
            self.meter.charge(entry)
        self.tokens += entry.total_tokens
        _check("max_total_tokens", self.limits.max_total_tokens, self.tokens, "tokens")
        if self.limits.max_cost_usd is not None:
            cost = entry.cost_usd
            if cost is None:
                raise _unpriced(entry.model)
            self.cost += cost
            _check("max_cost_usd", self.limits.max_cost_usd, self.cost, "USD")

    def charge_tool_calls(self, count: int) -> None:
        """Count tool calls about to run; raise (before they run) if they would exceed the limit."""
        _check("max_tool_calls", self.limits.max_tool_calls, self.tool_calls + count, "tool calls")
        self.tool_calls += count


def _unpriced(model: str) -> UserError:
    return UserError(f"A cost limit is set but LiteLLM has no price for model {model!r}; nothing was sent. Register "
                     "one with litellm.register_model(...), or use max_total_tokens instead of max_cost_usd.")


def estimate_request(request: Any) -> tuple[int, int]:
    """(input, output) tokens a request may use: ~4 characters of its JSON a token, and its `max_tokens`."""
    chars = len(json.dumps(request.messages, default=str)) + len(json.dumps(request.tools, default=str))
    return chars // 4 + 1, int(request.settings.max_tokens or 0)


def _check(name: str, maximum: float | None, used: float, unit: str, *, estimate: bool = False) -> None:
    check_limit("RunLimits", name, maximum, used, unit, estimate=estimate)


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
