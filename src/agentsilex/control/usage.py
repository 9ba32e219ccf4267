"""Usage per request and per run, USD cost from LiteLLM's price table, and per-run limits (budgets).

Prices come from LiteLLM's bundled model table, read without importing LiteLLM (`models.catalog`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageLimitExceeded, UserError
from ..models import Usage, resolve_model


@dataclass
class RequestUsage:
    """The tokens one model request used, and which agent and model made it."""

    agent: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    estimated: bool = False  # the server reported no usage: the counts are guesses (~4 characters a token)

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def cost_usd(self) -> float | None:
        """Price from LiteLLM's table, or None when the model is not in it."""
        return cost_usd(self.model, self.input_tokens, self.output_tokens)


@dataclass
class RunUsage(Usage):
    """Totals for a run (`requests`, `input_tokens`, `output_tokens`) plus `per_request` detail."""

    per_request: list[RequestUsage] = field(default_factory=list)

    def add_request(self, usage: Usage, *, agent: str, model: str) -> RequestUsage:
        entry = RequestUsage(agent, model, usage.input_tokens, usage.output_tokens, usage.estimated)
        self.add(usage)
        self.per_request.append(entry)
        return entry

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
                "estimated": self.estimated, "per_request": [vars(r) for r in self.per_request]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunUsage:
        return cls(data["requests"], data["input_tokens"], data["output_tokens"], bool(data.get("estimated")),
                   [RequestUsage(**r) for r in data.get("per_request", [])])


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
    """Running totals of one run, shared with its nested agents, checked against the limits."""

    def __init__(self, limits: RunLimits | None) -> None:
        self.limits = limits or RunLimits()
        self.tokens = 0
        self.tool_calls = 0
        self.cost = 0.0
        self.priced: set[str] = set()

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

    def charge_request(self, entry: RequestUsage) -> None:
        """Count a model request; raise if it took the run over its token or cost limit."""
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


def _check(name: str, maximum: float | None, used: float, unit: str) -> None:
    if maximum is not None and used > maximum:
        raise UsageLimitExceeded(
            f"The run exceeded RunLimits({name}={maximum}): {used:g} {unit} used. Raise the limit or simplify "
            "the task; the partial result is on .result.", limit=name, maximum=maximum, used=used)
