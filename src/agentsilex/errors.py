"""The exception hierarchy: one root, a few typed children, each saying what to do next."""

from __future__ import annotations

from typing import Any

from ._lazy import lazy_names


class AgentsilexError(Exception):
    """Root of every error agentsilex raises on purpose."""


class UserError(AgentsilexError):
    """The framework was configured or called in a way that cannot work."""


class ModelError(AgentsilexError):
    """The model provider failed (network, auth, rate limit, server error)."""

    def __init__(self, message: str, *, model: str | None = None, status_code: int | None = None,
                 retryable: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.model = model
        self.status_code = status_code
        self.retryable = retryable
        self.retry_after = retry_after


class ModelTimeoutError(ModelError):
    """The model did not answer (or stopped streaming) within the Runner's timeouts; retried like a 5xx."""


class RunStopped(AgentsilexError):
    """An error that stops the whole run, also when raised inside an agent used as a tool (a guardrail tripped, a
    budget or time limit reached, a handoff loop); any other failure of a nested agent is its tool call's error."""


class ModelBehaviorError(AgentsilexError):
    """The model answered, but not in a way the run can use."""


class ToolError(AgentsilexError):
    """A tool call failed; raised only when the run asks for tool errors to raise."""

    def __init__(self, message: str, *, tool_name: str, call_id: str | None = None,
                 arguments: str | None = None) -> None:
        super().__init__(message)
        self.tool_name = tool_name
        self.call_id = call_id
        self.arguments = arguments


class ToolArgumentsError(ToolError):
    """The model's arguments for a tool were not valid JSON, not an object, or failed validation."""


class UnknownToolError(ToolError):
    """The model called a tool the agent does not have."""


class MaxTurnsExceeded(AgentsilexError):
    """The run used all its turns without a final answer; `.result` holds what was done so far."""

    def __init__(self, message: str, *, result: Any) -> None:
        super().__init__(message)
        self.result = result


class SessionError(AgentsilexError):
    """A session store could not do what was asked."""


class SessionBusyError(SessionError):
    """Another run holds this session; only one run may write a session at a time."""

    def __init__(self, message: str, *, session_id: str | None = None) -> None:
        super().__init__(message)
        self.session_id = session_id


# Errors of features, defined in their own modules (each loads only when used), importable from here too.
__getattr__ = lazy_names(__name__, {
    "features.guardrails": ("GuardrailTripped", "InputGuardrailTripped", "OutputGuardrailTripped",
                            "ToolGuardrailTripped"),
    "features.limits": ("RunTimeoutError", "RepeatedToolCallError", "UsageLimitExceeded"),
    "features.handoffs": ("HandoffLoopError",), "features.agents_as_tools": ("MaxAgentDepthExceeded",),
    "features.memory": ("ContextBudgetError",), "testing.script": ("ScriptExhaustedError",),
    "testing.cassette": ("ReplayMismatchError",), "stores.codec": ("SessionCorruptedError",),
    "stores.base": ("SessionLockLostError", "SessionUnavailableError"),
    "models.http": ("ModelAuthError", "ModelBadRequestError", "ResponseFormatNotSupportedError", "ModelConnectionError",
                    "ContextWindowExceededError")})
