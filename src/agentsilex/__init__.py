"""agentsilex: a transparent, minimal, hackable LLM agent framework."""

from .agent import Agent
from .approval import PendingApproval, RunState
from .errors import (AgentsilexError, GuardrailTripped, HandoffLoopError, InputGuardrailTripped,
                     MaxAgentDepthExceeded, MaxTurnsExceeded, ModelBehaviorError, ModelError,
                     OutputGuardrailTripped, ToolArgumentsError, ToolError, ToolGuardrailTripped,
                     UnknownToolError, UsageLimitExceeded, UserError)
from .events import (AgentHandoffEvent, Event, FinalResultEvent, PartialOutputEvent, RawChunkEvent,
                     ToolCallDeltaEvent, ToolCallEvent, ToolResponseEvent)
from .guardrails import GuardrailResult
from .handoffs import Handoff, handoff
from .hooks import RunHooks
from .models import Model, ModelBase, ModelRequest, ModelResponse, ModelSettings, Usage
from .result import FunctionCall, RunResult
from .runner import AsyncRunStream, Runner, RunStream
from .session import Session
from .output import OutputSpec
from .tool import Tool, tool
from .usage import RequestUsage, RunLimits, RunUsage

__version__ = "0.1.0"

__all__ = [
    "Agent", "Runner", "Session", "tool", "Tool", "RunResult", "FunctionCall", "RunStream", "AsyncRunStream",
    "Model", "ModelBase", "ModelRequest", "ModelResponse", "ModelSettings", "Usage",
    "Event", "RawChunkEvent", "PartialOutputEvent", "ToolCallDeltaEvent", "ToolCallEvent", "ToolResponseEvent",
    "AgentHandoffEvent", "FinalResultEvent",
    "AgentsilexError", "UserError", "ModelError", "ModelBehaviorError", "ToolError", "ToolArgumentsError",
    "UnknownToolError", "MaxTurnsExceeded",
    "handoff", "Handoff", "RunHooks", "RunLimits", "RunUsage", "RequestUsage", "RunState", "PendingApproval",
    "OutputSpec", "GuardrailResult", "GuardrailTripped", "InputGuardrailTripped", "OutputGuardrailTripped",
    "ToolGuardrailTripped", "UsageLimitExceeded", "HandoffLoopError", "MaxAgentDepthExceeded",
]
