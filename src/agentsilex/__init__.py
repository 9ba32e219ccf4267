"""agentsilex: a transparent, minimal, hackable LLM agent framework."""

from . import _moved
from .agent import Agent
from .features.parts import Audio, File, Image
from .features.approval import PendingApproval, RunState
from .features.conversation import Conversation, ConversationLimits, ConversationUsage
from .features.guardrails import GuardrailResult
from .features.handoffs import Handoff, handoff
from .features.hooks import RunHooks
from .features.output import OutputSpec
from .features.usage import RequestUsage, RunLimits, RunUsage
from .errors import AgentsilexError, ContextBudgetError, ContextWindowExceededError, GuardrailTripped, HandoffLoopError, InputGuardrailTripped, MaxAgentDepthExceeded, MaxTurnsExceeded, ModelAuthError, ModelBadRequestError, ModelBehaviorError, ModelConnectionError, ModelError, ModelTimeoutError, OutputGuardrailTripped, RepeatedToolCallError, ResponseFormatNotSupportedError, RunTimeoutError, SessionBusyError, SessionCorruptedError, SessionError, ToolArgumentsError, ToolError, ToolGuardrailTripped, UnknownToolError, UsageLimitExceeded, UserError
from .events import AgentHandoffEvent, ApprovalRequestedEvent, Event, FinalResultEvent, PartialOutputEvent, RawChunkEvent, ReasoningDeltaEvent, ToolCallDeltaEvent, ToolCallEvent, ToolResponseEvent
from .models import Model, ModelBase, ModelRequest, ModelResponse, ModelSettings, Usage
from .models.retry import RetryPolicy
from .result import FunctionCall, RunResult
from .runner import AsyncRunStream, Runner, RunStream
from .session import Session
from .tool import Context, Tool, tool

__version__ = "0.1.0"
_moved.install()  # old module paths (agentsilex.control.*, agentsilex.cli, ...) keep working

__all__ = [
    "Agent", "Runner", "Session", "tool", "Tool", "Context", "RunResult", "FunctionCall", "RunStream", "AsyncRunStream",
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
]
