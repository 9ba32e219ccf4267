"""Checks on the way in: messages before a session stores them, model replies before the loop reads them,
Runner options before anything runs. Each failure is a UserError that names the problem."""

from __future__ import annotations

from typing import Any

from .features.usage import RunLimits
from .errors import ModelError, UserError

Message = dict[str, Any]

_ROLES = ("system", "developer", "user", "assistant", "tool")


def check_messages(batch: list[Any]) -> list[Any]:
    """The batch, if every message is one a provider accepts (a bad one would break every later run)."""
    for index, message in enumerate(batch):
        problem = _problem(message)
        if problem is not None:
            raise UserError(f"Cannot add message {index} of {len(batch)}: {problem}. Nothing was added; "
                              "messages are OpenAI-format dicts such as {'role': 'user', 'content': 'hi'}.")
    return batch


def _problem(message: Any) -> str | None:
    if not isinstance(message, dict):
        return f"it is a {type(message).__name__}, not a dict"
    role = message.get("role")
    if role not in _ROLES:
        return f"its 'role' is {role!r}; use one of {', '.join(_ROLES)}"
    content = message.get("content")
    if role == "assistant":
        if content is not None and not isinstance(content, (str, list)):
            return f"its 'content' is a {type(content).__name__}; use a str, a list of parts or None"
        return _calls_problem(message.get("tool_calls"))
    if not isinstance(content, (str, list)):
        return f"a {role} message needs 'content' as a str or a list of parts, got {type(content).__name__}"
    if role == "tool" and not (isinstance(message.get("tool_call_id"), str) and message["tool_call_id"]):
        return "a tool message needs the 'tool_call_id' of the call it answers"
    return None


def _calls_problem(calls: Any) -> str | None:
    if calls is None:
        return None
    if not isinstance(calls, list):
        return "its 'tool_calls' is not a list"
    for call in calls:
        function = call.get("function") if isinstance(call, dict) else None
        if not (isinstance(call, dict) and isinstance(call.get("id"), str) and call["id"]):
            return "each of its 'tool_calls' needs a non-empty str 'id'"
        if not (isinstance(function, dict) and isinstance(function.get("name"), str)
                and isinstance(function.get("arguments"), str)):
            return f"tool call {call['id']!r} needs 'function': {{'name': str, 'arguments': str}}"
    return None



def with_unique_call_ids(message: Message) -> Message:
    """The message with every tool call id distinct and non-empty (a copy, if any had to change).

    Some models repeat an id (or leave it out); answers are matched to calls by id, so one call's result
    would overwrite the other's. A repeated id gets a suffix: the renamed id is what the session stores and
    what the provider sees next, consistently in the call and in its answer.
    """
    calls = message.get("tool_calls") or []
    ids = [call.get("id") for call in calls]
    if all(ids) and len(set(ids)) == len(ids):
        return message
    taken: set[Any] = set(ids)
    seen: set[Any] = set()
    renamed = []
    for index, call in enumerate(calls):
        call_id = call.get("id")
        if not call_id or call_id in seen:
            base, suffix = call_id or "call", 2 if call_id else index
            while f"{base}_{suffix}" in taken:
                suffix += 1
            call_id = f"{base}_{suffix}"
            taken.add(call_id)
            call = {**call, "id": call_id}
        seen.add(call_id)
        renamed.append(call)
    return {**message, "tool_calls": renamed}


def check_runner_options(session: Any, limits: Any, max_turns: Any, max_handoffs: Any, max_agent_depth: Any) -> None:
    """Misconfiguration fails here, before anything is stored, with what to write instead."""
    counts = {"max_turns": (max_turns, 1), "max_handoffs": (max_handoffs, 0), "max_agent_depth": (max_agent_depth, 0)}
    for name, (value, least) in counts.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise UserError(f"{name} must be a whole number of at least {least}, got {value!r}.")
    if limits is not None and not isinstance(limits, RunLimits):
        raise UserError(f"limits must be a RunLimits(...) or None, got {limits!r}.")
    if session is not None and not all(callable(getattr(session, name, None))
                                       for name in ("get_dialogs", "add_new_messages")):
        raise UserError(f"session must be a Session or a session store (e.g. SQLiteSession(id, path)), got "
                        f"{session!r:.100}.")


def check_agent(agent: Any) -> None:
    """An Agent's options, checked when it is built."""
    from .features.handoffs import check_handoffs
    from .features.output import spec_for
    from .models import ModelSettings

    if not isinstance(agent.name, str) or not agent.name.strip():
        raise UserError(f"Agent name must be a non-empty string, got {agent.name!r}.")
    if not _is_model(agent.model):
        raise UserError(f"Agent {agent.name!r}: model must be a LiteLLM model string such as 'gpt-4o' "
                        f"or a Model object, got {agent.model!r}.")
    for option in ("fallback_models", "tools", "handoffs", "input_guardrails", "output_guardrails"):
        if not isinstance(getattr(agent, option), (list, tuple)):  # a str or one function is a common slip
            raise UserError(f"Agent {agent.name!r}: {option} must be a list, got {getattr(agent, option)!r}; "
                            f"write {option}=[...].")
        setattr(agent, option, list(getattr(agent, option)))
    if not (isinstance(agent.instructions, str) or callable(agent.instructions)):
        raise UserError(f"Agent {agent.name!r}: instructions must be a str or fn(context, agent) -> str, "
                        f"got {agent.instructions!r}.")
    check_handoffs(agent)  # a target given by name, or two handoffs with one tool name, fail here, not in run()
    for fallback in agent.fallback_models:
        if not _is_model(fallback):
            raise UserError(f"Agent {agent.name!r}: fallback_models must hold model strings or Model objects, "
                            f"got {fallback!r}.")
    if not isinstance(agent.model_settings, ModelSettings):
        raise UserError(f"Agent {agent.name!r}: model_settings must be a ModelSettings, "
                        f"got {type(agent.model_settings).__name__}.")
    for guardrail in (*agent.input_guardrails, *agent.output_guardrails):
        if not callable(guardrail):
            raise UserError(f"Agent {agent.name!r}: guardrails must be functions, got {guardrail!r}.")
    if agent.output_type is not None:
        spec_for(agent.output_type)  # an output type pydantic cannot validate fails here, not mid-run


def check_tool_names(agent: Any) -> None:
    """No handoff may share a tool's name (the handoff would silently win)."""
    from .features.handoffs import handoffs_of

    for target in handoffs_of(agent):  # also checks each is an Agent or a handoff(...)
        if target.tool_name in agent._tools_by_name:
            raise UserError(f"Agent {agent.name!r} has a tool and a handoff both named {target.tool_name!r}; "
                            "rename the tool with @tool(name=...) or the handoff with handoff(tool_name=...).")


def _is_model(model: Any) -> bool:
    return (isinstance(model, str) and bool(model.strip())) or (not isinstance(model, str)
                                                                 and hasattr(model, "complete"))


def checked(response: Any, model: Any) -> Any:
    """Every model reply passes here before the loop sees it: each tool call gets an id of its own."""
    response.message = with_unique_call_ids(response.message)
    return response


def check_stream_complete(accumulator: Any, model: Any) -> None:
    """A reassembled stream must be whole: not cut in a tool call, not empty. Both are retryable errors."""
    name = getattr(model, "name", None)
    if accumulator.calls and accumulator.finish_reason is None:
        # A stream that stops mid tool call may be cut off anywhere, even inside the arguments: never run it.
        raise ModelError(f"Model {name!r} stream ended in the middle of a tool call (the connection was cut); "
                         "nothing of it was saved. Run the prompt again.", model=name, retryable=True)
    if not accumulator.calls and not accumulator.text:  # e.g. LiteLLM reading a page that was no stream at all
        raise ModelError(f"Model {name!r} streamed an empty answer (no text, no tool call); nothing was saved. "
                         "Retried like a server error.", model=name, retryable=True)


def check_limits(limits: Any) -> None:
    """The Runner's execution options (see _run_tools.Limits)."""
    from .models.retry import RetryPolicy

    if not isinstance(limits.max_parallel_tools, int) or limits.max_parallel_tools < 1:
        raise UserError(f"max_parallel_tools must be at least 1, got {limits.max_parallel_tools}.")
    for name in ("tool_timeout", "model_timeout", "stream_idle_timeout", "connect_timeout"):
        value = getattr(limits, name)
        if value is not None and (not isinstance(value, (int, float)) or not value > 0):
            raise UserError(f"{name} must be a positive number of seconds or None, got {value!r}.")
    if not isinstance(limits.retry, RetryPolicy):
        raise UserError(f"retry must be a RetryPolicy, got {type(limits.retry).__name__}.")
