"""agentsilex: a transparent, minimal, hackable LLM agent framework."""

from .agent import Agent
from .errors import (AgentsilexError, ContextWindowExceededError, MaxTurnsExceeded, ModelAuthError,
                     ModelBadRequestError, ModelBehaviorError, ModelError, ModelTimeoutError, ToolArgumentsError,
                     ToolError, UnknownToolError, UserError)
from .events import (AgentHandoffEvent, Event, FinalResultEvent, PartialOutputEvent, RawChunkEvent,
                     ToolCallDeltaEvent, ToolCallEvent, ToolResponseEvent)
from .models import Model, ModelBase, ModelRequest, ModelResponse, ModelSettings, Usage
from .models.retry import RetryPolicy
from .result import FunctionCall, RunResult
from .runner import AsyncRunStream, Runner, RunStream
from .session import Session
from .tool import Tool, tool

__version__ = "0.1.0"

__all__ = [
    "Agent", "Runner", "Session", "tool", "Tool", "RunResult", "FunctionCall", "RunStream", "AsyncRunStream",
    "Model", "ModelBase", "ModelRequest", "ModelResponse", "ModelSettings", "Usage", "RetryPolicy",
    "Event", "RawChunkEvent", "PartialOutputEvent", "ToolCallDeltaEvent", "ToolCallEvent", "ToolResponseEvent",
    "AgentHandoffEvent", "FinalResultEvent",
    "AgentsilexError", "UserError", "ModelError", "ModelBehaviorError", "ToolError", "ToolArgumentsError",
    "UnknownToolError", "MaxTurnsExceeded", "ModelAuthError", "ModelBadRequestError", "ContextWindowExceededError",
    "ModelTimeoutError",
]
