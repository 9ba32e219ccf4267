"""What a run returns: the final output, the new messages, the tool calls made, usage, pending approvals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from .models.base import Usage


@dataclass
class FunctionCall:
    """One tool call; iterates as `(name, arguments, response)` like agentsilex 1.0's tuples."""

    name: str
    arguments: str
    content: str
    call_id: str = ""
    result: Any = None
    error: str | None = None
    attachments: list[dict] = field(default_factory=list)  # content parts the tool returned (features/content.py)

    @property
    def response(self) -> dict:
        """The tool message the model read."""
        return {"role": "tool", "tool_call_id": self.call_id, "content": self.content}

    def __iter__(self) -> Iterator[Any]:
        return iter((self.name, self.arguments, self.response))

    def __getitem__(self, index: int) -> Any:
        return (self.name, self.arguments, self.response)[index]


def answer(call: dict, content: str, *, failed: bool = False) -> FunctionCall:
    """The FunctionCall that answers an OpenAI tool call dict with `content` (an error if `failed`)."""
    return FunctionCall(call["function"]["name"], call["function"]["arguments"], content, call["id"],
                        error=content if failed else None)


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
        """Price from LiteLLM's table (cache reads and writes at their own prices); None for an unknown model."""
        from .models.catalog import request_cost

        return request_cost(self.model, self.input_tokens, self.output_tokens, self.cached_input_tokens,
                            self.cache_write_tokens)


@dataclass
class RunUsage(Usage):
    """Totals for a run (`requests`, `input_tokens`, `output_tokens`, ...) plus `per_request` detail."""

    per_request: list[RequestUsage] = field(default_factory=list)

    def add_request(self, usage: Usage, *, agent: str, model: str) -> RequestUsage:
        entry = RequestUsage(agent, model, usage.input_tokens, usage.output_tokens, usage.cached_input_tokens,
                             usage.cache_write_tokens, usage.reasoning_tokens, usage.estimated)
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
        return {**{name: getattr(self, name) for name in _TOTALS}, "per_request": [vars(r) for r in self.per_request]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunUsage:
        return cls(**{name: data.get(name, 0) for name in _TOTALS if name != "estimated"},
                   estimated=bool(data.get("estimated")),
                   per_request=[RequestUsage(**r) for r in data.get("per_request", [])])


_TOTALS = ("requests", "input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens",
           "reasoning_tokens", "estimated")


@dataclass
class RunResult:
    """The outcome of `Runner.run`; `final_output` is the answer, never an error string."""

    input: str | list[dict]  # the prompt: text, or content parts
    last_agent: Any
    final_output: Any = None
    new_messages: list[dict] = field(default_factory=list)
    function_calls: list[FunctionCall] = field(default_factory=list)
    usage: RunUsage = field(default_factory=RunUsage)
    finish_reason: str | None = None  # of the last model reply: "length" means it was cut off
    # Set when the run paused for human approval: the waiting calls, and the state to resume from.
    pending_approvals: list[Any] = field(default_factory=list)
    state: Any = None
    usage_before_pause: RunUsage | None = None  # a resumed run: `usage` counts only what came after the pause

    @property
    def total_usage(self) -> RunUsage:
        """`usage` plus `usage_before_pause`: the whole run, across pauses for approval."""
        return self.usage if self.usage_before_pause is None else self.usage_before_pause.plus(self.usage)

    def __repr__(self) -> str:
        return (f"RunResult(final_output={self.final_output!r}, last_agent={self.last_agent.name!r}, "
                f"tool_calls={len(self.function_calls)}, usage={self.usage})")
