"""agentsilex: a transparent, minimal, hackable LLM agent framework."""

import sys
from typing import Any

from ._lazy import lazy_names
from .agent import Agent
from .engine.capability import (AlreadyAnswered, AwaitApproval, Emit, FinalAnswer, HandOff, ModelCall, Outcome, Retry,
                                RunIt, RunTools, Step)
from .engine.tool_calls import Timeouts
from .errors import (AgentsilexError, MaxTurnsExceeded, ModelBehaviorError, ModelError, ModelTimeoutError, RunStopped,
                     SessionBusyError, SessionError, ToolArgumentsError, ToolError, UnknownToolError, UserError)
from .events import AgentHandoffEvent, ApprovalRequestedEvent, Event, FinalResultEvent, ToolCallEvent, ToolResponseEvent
from .models import Model, ModelBase, ModelRequest, ModelResponse, ModelSettings, Usage
from .models.retry import RetryPolicy
from .result import FunctionCall, RequestUsage, RunResult, RunUsage
from .runner import Runner, RunStream
from .session import Session
from .tool import Context, Tool, tool

__version__ = "0.1.0"


class _OldPaths:
    """Old module paths (agentsilex.control.*, agentsilex.cli, ...) keep working: see _moved.py, loaded only then."""

    @staticmethod
    def find_spec(name: str, path: Any = None, target: Any = None) -> Any:
        if not name.startswith("agentsilex."):
            return None
        from ._moved import find_spec

        return find_spec(name)


if not any(type(finder).__name__ == "_OldPaths" for finder in sys.meta_path):
    sys.meta_path.append(_OldPaths())  # last: only a name that no module has reaches it

# The names of optional features, imported on first use (PEP 562): each feature's module loads only then.
_LAZY = {"features.content": ("Image", "Audio", "File"), "features.approval": ("RunState", "PendingApproval"),
         "features.conversation": ("Conversation", "ConversationUsage"),
         "features.limits": ("RunLimits", "ConversationLimits", "UsageLimitExceeded", "RunTimeoutError",
                             "RepeatedToolCallError"),
         "features.guardrails": ("GuardrailResult", "GuardrailTripped", "InputGuardrailTripped",
                                 "OutputGuardrailTripped", "ToolGuardrailTripped"),
         "features.handoffs": ("Handoff", "handoff", "HandoffLoopError"), "features.hooks": ("RunHooks",),
         "features.agents_as_tools": ("MaxAgentDepthExceeded",), "features.output": ("OutputSpec",),
         "features.memory": ("KeepLastTurns", "TokenBudget", "TrimToolOutputs", "Compaction", "ContextBudgetError"),
         "engine.drivers_async": ("AsyncRunStream",), "wrapping": ("intercept", "Capability"),
         "stores.codec": ("SessionCorruptedError",), "tool_call": ("current_tool_call", "ToolCallInfo"),
         "features.rate_limits": ("RateLimits", "RateLimitedEvent"),
         "models.http": ("ModelAuthError", "ModelBadRequestError", "ResponseFormatNotSupportedError",
                         "ModelConnectionError", "ContextWindowExceededError"),
         "models.stream": ("RawChunkEvent", "PartialOutputEvent", "ReasoningDeltaEvent", "ToolCallDeltaEvent")}
__getattr__ = lazy_names(__name__, _LAZY)


def __dir__() -> list[str]:
    return sorted({*globals(), *(name for names in _LAZY.values() for name in names)})


__all__ = [
    "Agent", "Runner", "Session", "tool", "Tool", "Context", "RunResult", "FunctionCall", "RunStream", "AsyncRunStream",
    "Capability", "Retry", "Timeouts", "intercept", "Step", "RunIt", "AlreadyAnswered", "AwaitApproval", "HandOff",
    "FinalAnswer", "ModelCall", "RunTools", "Emit", "Outcome", "Model", "ModelBase", "ModelRequest", "ModelResponse",
    "ModelSettings", "Usage", "RetryPolicy", "RunUsage", "RequestUsage", "Event", "RawChunkEvent", "PartialOutputEvent",
    "ToolCallDeltaEvent", "ToolCallEvent", "ToolResponseEvent", "AgentHandoffEvent", "ApprovalRequestedEvent",
    "FinalResultEvent", "ReasoningDeltaEvent", "Image", "Audio", "File", "Conversation", "ConversationLimits",
    "ConversationUsage", "handoff", "Handoff", "RunHooks", "RunLimits", "RunState", "PendingApproval", "OutputSpec",
    "GuardrailResult", "KeepLastTurns", "TokenBudget", "TrimToolOutputs", "Compaction",
    "AgentsilexError", "UserError", "ModelError", "ModelBehaviorError", "ToolError", "ToolArgumentsError",
    "UnknownToolError", "MaxTurnsExceeded", "RunStopped", "GuardrailTripped", "InputGuardrailTripped",
    "OutputGuardrailTripped", "ToolGuardrailTripped", "UsageLimitExceeded", "HandoffLoopError", "MaxAgentDepthExceeded",
    "ModelAuthError", "ModelBadRequestError", "ContextWindowExceededError", "ModelTimeoutError", "ModelConnectionError",
    "ResponseFormatNotSupportedError", "SessionError", "SessionCorruptedError", "SessionBusyError",
    "ContextBudgetError", "RunTimeoutError", "RepeatedToolCallError", "current_tool_call", "ToolCallInfo", "RateLimits",
    "RateLimitedEvent",
]
