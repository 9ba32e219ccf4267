"""agentsilex: a transparent, minimal, hackable LLM agent framework."""

from importlib import import_module
from typing import Any

from . import _moved
from .agent import Agent
from .engine.capability import Capability, Retry
from .engine.tool_calls import Timeouts
from .errors import (AgentsilexError, ContextBudgetError, ContextWindowExceededError, GuardrailTripped,
                     HandoffLoopError, InputGuardrailTripped, MaxAgentDepthExceeded, MaxTurnsExceeded, ModelAuthError,
                     ModelBadRequestError, ModelBehaviorError, ModelConnectionError, ModelError, ModelTimeoutError,
                     OutputGuardrailTripped, RepeatedToolCallError, ResponseFormatNotSupportedError, RunTimeoutError,
                     SessionBusyError, SessionCorruptedError, SessionError, ToolArgumentsError, ToolError,
                     ToolGuardrailTripped, UnknownToolError, UsageLimitExceeded, UserError)
from .events import (AgentHandoffEvent, ApprovalRequestedEvent, Event, FinalResultEvent, PartialOutputEvent,
                     RawChunkEvent, ReasoningDeltaEvent, ToolCallDeltaEvent, ToolCallEvent, ToolResponseEvent)
from .models import Model, ModelBase, ModelRequest, ModelResponse, ModelSettings, Usage
from .models.retry import RetryPolicy
from .result import FunctionCall, RequestUsage, RunResult, RunUsage
from .runner import AsyncRunStream, Runner, RunStream
from .session import Session
from .tool import Context, Tool, tool

__version__ = "0.1.0"
_moved.install()  # old module paths (agentsilex.control.*, agentsilex.cli, ...) keep working

# The names of optional features, imported on first use (PEP 562): each feature's module loads only then.
_LAZY = {"features.content": ("Image", "Audio", "File"), "features.approval": ("RunState", "PendingApproval"),
         "features.conversation": ("Conversation", "ConversationUsage"),
         "features.limits": ("RunLimits", "ConversationLimits"), "features.guardrails": ("GuardrailResult",),
         "features.handoffs": ("Handoff", "handoff"), "features.hooks": ("RunHooks",),
         "features.output": ("OutputSpec",),
         "features.memory": ("KeepLastTurns", "TokenBudget", "TrimToolOutputs", "Compaction")}
_HOME = {name: module for module, names in _LAZY.items() for name in names}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'agentsilex' has no attribute {name!r}")
    value = getattr(import_module(f".{_HOME[name]}", __name__), name)
    globals()[name] = value  # found once; later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME})


__all__ = [
    "Agent", "Runner", "Session", "tool", "Tool", "Context", "RunResult", "FunctionCall", "RunStream", "AsyncRunStream",
    "Capability", "Retry", "Timeouts",
    "Model", "ModelBase", "ModelRequest", "ModelResponse", "ModelSettings", "Usage", "RetryPolicy",
    "Event", "RawChunkEvent", "PartialOutputEvent", "ToolCallDeltaEvent", "ToolCallEvent", "ToolResponseEvent",
    "AgentHandoffEvent", "ApprovalRequestedEvent", "FinalResultEvent", "ReasoningDeltaEvent", "Image", "Audio", "File",
    "Conversation", "ConversationLimits", "ConversationUsage",
    "AgentsilexError", "UserError", "ModelError", "ModelBehaviorError", "ToolError", "ToolArgumentsError",
    "UnknownToolError", "MaxTurnsExceeded",
    "handoff", "Handoff", "RunHooks", "RunLimits", "RunUsage", "RequestUsage", "RunState", "PendingApproval",
    "OutputSpec", "GuardrailResult", "GuardrailTripped", "InputGuardrailTripped", "OutputGuardrailTripped",
    "ToolGuardrailTripped", "UsageLimitExceeded", "HandoffLoopError", "MaxAgentDepthExceeded",
    "ModelAuthError", "ModelBadRequestError", "ContextWindowExceededError", "ModelTimeoutError", "ModelConnectionError",
    "ResponseFormatNotSupportedError",
    "SessionError", "SessionCorruptedError", "SessionBusyError", "ContextBudgetError",
    "RunTimeoutError", "RepeatedToolCallError",
    "KeepLastTurns", "TokenBudget", "TrimToolOutputs", "Compaction",
]
