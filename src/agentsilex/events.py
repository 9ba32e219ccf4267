"""Frozen events a streaming run yields; `.type` and `.data` keep agentsilex 1.0's names working."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar


@dataclass(frozen=True)
class Event:
    """Base of all events. `data` is a plain dict view: agentsilex 1.0's keys, then every field."""

    type: ClassVar[str] = "event"

    @property
    def data(self) -> dict[str, Any]:
        return {**self._legacy(), **{f.name: getattr(self, f.name) for f in fields(self) if f.repr}}

    def _legacy(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class RawChunkEvent(Event):
    """One streamed chunk from the provider, as a plain OpenAI-format dict."""

    chunk: dict
    type: ClassVar[str] = "raw_chunk"


@dataclass(frozen=True)
class PartialOutputEvent(Event):
    """A piece of the answer's text as it streams."""

    content: str
    agent: str = ""
    type: ClassVar[str] = "partial_output"


@dataclass(frozen=True)
class ToolCallDeltaEvent(Event):
    """A piece of a tool call's arguments as it streams (before the call is complete)."""

    index: int
    call_id: str | None
    name: str | None
    arguments_delta: str
    type: ClassVar[str] = "tool_call_delta"


@dataclass(frozen=True)
class ToolCallEvent(Event):
    """The model asked for a tool call; it is about to run."""

    call_id: str
    name: str
    arguments: str
    agent: str = ""
    type: ClassVar[str] = "tool_call"

    def _legacy(self) -> dict[str, Any]:
        return {"func_request": {"id": self.call_id, "name": self.name, "arguments": self.arguments}}


@dataclass(frozen=True)
class ToolResponseEvent(Event):
    """A tool call finished; `content` is what the model will read, `error` is set if it failed."""

    call_id: str
    name: str
    content: str
    error: str | None = None
    agent: str = ""
    type: ClassVar[str] = "tool_response"

    def _legacy(self) -> dict[str, Any]:
        return {"func_response": {"role": "tool", "tool_call_id": self.call_id, "content": self.content}}


@dataclass(frozen=True)
class ApprovalRequestedEvent(Event):
    """A tool call waits for a human decision; the run pauses after these (see `result.state`)."""

    call_id: str
    name: str
    arguments: str
    agent: str = ""
    type: ClassVar[str] = "approval_requested"


@dataclass(frozen=True)
class AgentHandoffEvent(Event):
    """Control passed to another agent: `agent` answers from now on, `from_agent` handed over."""

    agent: str
    from_agent: str = ""
    agent_name: str = field(init=False, default="")  # the older name of `agent`, kept for existing code
    type: ClassVar[str] = "agent_handoff"

    def __post_init__(self) -> None:
        object.__setattr__(self, "agent_name", self.agent)


@dataclass(frozen=True)
class FinalResultEvent(Event):
    """The run finished; emitted exactly once, last. `result` is the whole RunResult."""

    final_output: Any
    result: Any = field(default=None, repr=False, compare=False)
    type: ClassVar[str] = "final_result"
