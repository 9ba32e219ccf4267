"""What a run returns: the final output, the new messages, the tool calls made, usage, pending approvals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from .features.usage import RunUsage


@dataclass
class FunctionCall:
    """One tool call; iterates as `(name, arguments, response)` like agentsilex 1.0's tuples."""

    name: str
    arguments: str
    content: str
    call_id: str = ""
    result: Any = None
    error: str | None = None
    attachments: list[dict] = field(default_factory=list)  # content parts the tool returned (content.py)

    @property
    def response(self) -> dict:
        """The tool message the model read."""
        return {"role": "tool", "tool_call_id": self.call_id, "content": self.content}

    def __iter__(self) -> Iterator[Any]:
        return iter((self.name, self.arguments, self.response))

    def __getitem__(self, index: int) -> Any:
        return (self.name, self.arguments, self.response)[index]


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
