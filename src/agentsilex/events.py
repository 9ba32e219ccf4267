"""Frozen events a run yields; `.type` and `.data` keep agentsilex 1.0's names working.

The events of one step are here; the pieces of a streamed reply (raw_chunk, partial_output, reasoning_delta,
tool_call_delta) are defined by the stream reassembly (models/stream.py), rate_limited by features/rate_limits.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from ._lazy import lazy_names


@dataclass(frozen=True, repr=False)
class Event:
    """Base of all events. `data` is a plain dict view: agentsilex 1.0's keys, then every field."""

    type: ClassVar[str] = "event"

    @property
    def data(self) -> dict[str, Any]:
        return {**self._legacy(), **{f.name: getattr(self, f.name) for f in fields(self) if f.repr}}

    def _legacy(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:  # the type first: programs written for agentsilex 1.0 print events and read it
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.repr)
        return f"{type(self).__name__}(type={self.type!r}{', ' if shown else ''}{shown})"


@dataclass(frozen=True, repr=False)
class ToolCallEvent(Event):
    """The model asked for a tool call; it is about to run."""

    call_id: str
    name: str
    arguments: str
    agent: str = ""
    type: ClassVar[str] = "tool_call"

    def _legacy(self) -> dict[str, Any]:
        return {"func_request": {"id": self.call_id, "name": self.name, "arguments": self.arguments}}


@dataclass(frozen=True, repr=False)
class ToolResponseEvent(Event):
    """A tool call finished; `content` is what the model will read, `error` is set if it failed."""

    call_id: str
    name: str
    content: str
    error: str | None = None
    agent: str = ""
    attachments: list[dict] = field(default_factory=list)  # content parts the tool returned (content.py)
    type: ClassVar[str] = "tool_response"

    def _legacy(self) -> dict[str, Any]:
        return {"func_response": {"role": "tool", "tool_call_id": self.call_id, "content": self.content}}


@dataclass(frozen=True, repr=False)
class ApprovalRequestedEvent(Event):
    """A tool call waits for a human decision; the run pauses after these (see `result.state`)."""

    call_id: str
    name: str
    arguments: str
    agent: str = ""
    type: ClassVar[str] = "approval_requested"


@dataclass(frozen=True, repr=False)
class AgentHandoffEvent(Event):
    """Control passed to another agent: `agent` answers from now on, `from_agent` handed over."""

    agent: str
    from_agent: str = ""
    agent_name: str = field(init=False, default="")  # the older name of `agent`, kept for existing code
    type: ClassVar[str] = "agent_handoff"

    def __post_init__(self) -> None:
        object.__setattr__(self, "agent_name", self.agent)


@dataclass(frozen=True, repr=False)
class FinalResultEvent(Event):
    """The run finished; emitted exactly once, last. `result` is the whole RunResult."""

    final_output: Any
    result: Any = field(default=None, repr=False, compare=False)
    finish_reason: str | None = None  # of the last model reply: "length" means it was cut off at max_tokens
    type: ClassVar[str] = "final_result"


# The events of a streamed reply are defined beside the stream reassembly that makes them.
__getattr__ = lazy_names(__name__, {"models.stream": ("RawChunkEvent", "PartialOutputEvent", "ReasoningDeltaEvent",
                                    "ToolCallDeltaEvent"), "features.rate_limits": ("RateLimitedEvent",)})
