"""Frozen events a streaming run yields; `.type` and `.data` keep the seed-era names working."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class Event:
    """Base of all events; `data` is a plain dict view for code written against agentsilex 1.0."""

    type: ClassVar[str] = "event"

    @property
    def data(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class RawChunkEvent(Event):
    """One streamed chunk from the provider, as a plain OpenAI-format dict."""

    chunk: dict
    type: ClassVar[str] = "raw_chunk"

    @property
    def data(self) -> dict[str, Any]:
        return {"chunk": self.chunk}


@dataclass(frozen=True)
class PartialOutputEvent(Event):
    """A piece of the answer's text as it streams."""

    content: str
    agent: str = ""
    type: ClassVar[str] = "partial_output"

    @property
    def data(self) -> dict[str, Any]:
        return {"content": self.content}


@dataclass(frozen=True)
class ToolCallDeltaEvent(Event):
    """A piece of a tool call's arguments as it streams (before the call is complete)."""

    index: int
    call_id: str | None
    name: str | None
    arguments_delta: str
    type: ClassVar[str] = "tool_call_delta"

    @property
    def data(self) -> dict[str, Any]:
        return {"index": self.index, "id": self.call_id, "name": self.name, "arguments": self.arguments_delta}


@dataclass(frozen=True)
class ToolCallEvent(Event):
    """The model asked for a tool call; it is about to run."""

    call_id: str
    name: str
    arguments: str
    agent: str = ""
    type: ClassVar[str] = "tool_call"

    @property
    def data(self) -> dict[str, Any]:
        request = {"id": self.call_id, "name": self.name, "arguments": self.arguments}
        return {"func_request": request, **request}


@dataclass(frozen=True)
class ToolResponseEvent(Event):
    """A tool call finished; `content` is what the model will read, `error` is set if it failed."""

    call_id: str
    name: str
    content: str
    error: str | None = None
    agent: str = ""
    type: ClassVar[str] = "tool_response"

    @property
    def data(self) -> dict[str, Any]:
        message = {"role": "tool", "tool_call_id": self.call_id, "content": self.content}
        return {"func_response": message, "name": self.name, "error": self.error}


@dataclass(frozen=True)
class AgentHandoffEvent(Event):
    """Control passed to another agent."""

    agent_name: str
    from_agent: str = ""
    type: ClassVar[str] = "agent_handoff"

    @property
    def data(self) -> dict[str, Any]:
        return {"agent_name": self.agent_name, "from_agent": self.from_agent}


@dataclass(frozen=True)
class FinalResultEvent(Event):
    """The run finished; emitted exactly once, last."""

    final_output: Any
    result: Any = field(default=None, repr=False, compare=False)
    type: ClassVar[str] = "final_result"

    @property
    def data(self) -> dict[str, Any]:
        return {"final_output": self.final_output}
