"""The exception hierarchy: one root, a few typed children, each saying what to do next."""

from __future__ import annotations

from typing import Any


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


class ModelAuthError(ModelError):
    """The provider rejected the credentials (HTTP 401/403); never retried."""


class ModelBadRequestError(ModelError):
    """The provider rejected the request itself (HTTP 400/404/422); never retried."""


class ResponseFormatNotSupportedError(ModelBadRequestError):
    """The server rejected `response_format`; unless the mode was forced, the run asks again in prompted mode."""


class ModelConnectionError(ModelError):
    """No connection to the model server (refused, reset, cut mid-answer): check base_url; retried like a 5xx."""


class ContextWindowExceededError(ModelBadRequestError):
    """The conversation no longer fits the model's context window; trim the session or pick a larger model."""


class ModelTimeoutError(ModelError):
    """The model did not answer (or stopped streaming) within the Runner's timeouts; retried like a 5xx."""


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


class RunTimeoutError(AgentsilexError):
    """The run passed Runner(run_timeout=...); the session stays valid, `.result` holds what was done so far."""

    def __init__(self, message: str, *, timeout: float, result: Any = None) -> None:
        super().__init__(message)
        self.timeout = timeout
        self.result = result


class RepeatedToolCallError(ModelBehaviorError):
    """The model made the identical tool call too many times in a row (Runner(max_repeated_tool_calls=...))."""

    def __init__(self, message: str, *, tool_name: str, times: int, result: Any = None) -> None:
        super().__init__(message)
        self.tool_name = tool_name
        self.times = times
        self.result = result


class ScriptExhaustedError(AgentsilexError):
    """A scripted test model was asked for more replies than its script holds."""


class ReplayMismatchError(AgentsilexError):
    """A replayed run sent a request that its cassette did not record; `.diff` shows what changed."""
    diff: str = ""


class UsageLimitExceeded(AgentsilexError):
    """A run hit one of its `RunLimits` (tokens, tool calls, USD); `.result` holds what was done so far."""

    def __init__(self, message: str, *, limit: str, maximum: float, used: float, result: Any = None) -> None:
        super().__init__(message)
        self.limit = limit
        self.maximum = maximum
        self.used = used
        self.result = result


class HandoffLoopError(AgentsilexError):
    """Handoffs went in a circle (A -> B -> A) or past `max_handoffs`; `.chain` names the agents in order."""

    def __init__(self, message: str, *, chain: list[str], result: Any = None) -> None:
        super().__init__(message)
        self.chain = chain
        self.result = result


class MaxAgentDepthExceeded(AgentsilexError):
    """Agents used as tools nested deeper than `max_agent_depth`; `.chain` names the nested agents."""

    def __init__(self, message: str, *, chain: list[str]) -> None:
        super().__init__(message)
        self.chain = chain


class GuardrailTripped(AgentsilexError):
    """A guardrail rejected something: `.guardrail` names it, `.info` is what it reported, `.result` the run so far.

    Output guardrails add `.output`; tool guardrails add `.tool_name`, `.call_id`, `.arguments`, `.stage`
    ("input" or "output") and `.tool_result`.
    """

    def __init__(self, message: str, *, guardrail: str, info: Any, result: Any = None, **details: Any) -> None:
        super().__init__(message)
        self.guardrail, self.info, self.result = guardrail, info, result
        self.__dict__.update(details)


class InputGuardrailTripped(GuardrailTripped):
    """An input guardrail rejected the user's prompt (the session keeps the prompt, and nothing after it)."""


class OutputGuardrailTripped(GuardrailTripped):
    """An output guardrail rejected the final output (`.output`); it was not added to the session."""


class ToolGuardrailTripped(GuardrailTripped):
    """A tool guardrail rejected a call's arguments (`.stage == "input"`) or its result (`"output"`)."""


class SessionError(AgentsilexError):
    """A session store could not do what was asked."""


class SessionCorruptedError(SessionError):
    """A stored message could not be read back; names the session and the row so it can be inspected."""

    def __init__(self, message: str, *, session_id: str, row: Any) -> None:
        super().__init__(message)
        self.session_id = session_id
        self.row = row


class SessionBusyError(SessionError):
    """Another run holds this session; only one run may write a session at a time."""

    def __init__(self, message: str, *, session_id: str | None = None) -> None:
        super().__init__(message)
        self.session_id = session_id


class SessionLockLostError(SessionError):
    """The run lost its session's writer lock (lease expired, database restarted); its step was not stored."""


class SessionUnavailableError(SessionError):
    """The session's database cannot be reached (down, restarting, wrong URL); nothing was stored by that call."""


class ContextBudgetError(UserError):
    """A memory strategy cannot fit the history into its budget without splitting the current step."""
