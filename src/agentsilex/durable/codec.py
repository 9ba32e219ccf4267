"""Plain data across the durable boundary: what a workflow, an activity and a handle pass to each other.

A durable engine records every input and result of its steps as JSON, so nothing crosses it but plain dicts: model
replies and usage, tool outcomes, events (rebuilt as the same Event classes on the other side), results (rebuilt as
a RunResult, its `last_agent` found by name), typed errors (rebuilt as the same agentsilex class), the agents'
fingerprint, the digest of a stored history, and references to large strings kept in the store instead.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import re
from typing import Any

from ..errors import AgentsilexError, SessionError, UserError
from ..events import Event
from ..models.base import ModelResponse, Usage
from ..result import FunctionCall, RunResult, RunUsage

BLOB = "agentsilex-blob:sha256:"  # a large string kept in the store; the reference is the whole string
BLOB_PATTERN = re.compile(re.escape(BLOB) + "[0-9a-f]{64}")
BLOB_THRESHOLD = 64 * 1024  # characters: a longer string leaves the workflow's history for the store


class AgentChangedError(AgentsilexError):
    """A durable run was replayed against agents that changed since it started (instructions, tools, models).

    Not a failure of the run: the workflow waits (its task is retried) until workers run the code it started
    with, or it is reset or terminated on purpose. `.diff` says what changed."""

    def __init__(self, message: str, *, diff: str) -> None:
        super().__init__(message)
        self.diff = diff


class SessionChangedError(SessionError):
    """The stored session changed under a durable run (rewound, edited, or written by another run): it stops,
    nothing more is stored. Start a new run on the session as it is now."""


class PayloadTooLargeError(AgentsilexError):
    """A step's input or result is over the engine's payload limit (Temporal: 2 MB); never retried. Large tool
    results are kept in the store on their own: this is a model reply, or a prompt, that is too large."""


# -- responses and usage -------------------------------------------------------------------------------
def response_to_data(response: ModelResponse) -> dict:
    return {"message": response.message, "usage": dataclasses.asdict(response.usage),
            "finish_reason": response.finish_reason}


def response_from_data(data: dict) -> ModelResponse:
    return ModelResponse(data["message"], Usage(**data["usage"]), data.get("finish_reason"))


# -- events ------------------------------------------------------------------------------------------------
def event_to_data(event: Event) -> dict:
    fields = {f.name: getattr(event, f.name) for f in dataclasses.fields(event) if f.init and f.name != "result"}
    data = {"type": event.type, "fields": json.loads(json.dumps(fields, default=str))}
    if event.type == "final_result":
        data["result"] = result_to_data(event.result)
    return data


def event_from_data(data: dict, agents: dict[str, Any]) -> Event:
    from .. import events
    from ..models import stream

    kinds = {cls.type: cls for module in (events, stream) for cls in vars(module).values()
             if isinstance(cls, type) and issubclass(cls, Event) and cls is not Event}
    fields = dict(data["fields"])
    if data["type"] == "final_result":
        fields["result"] = result_from_data(data["result"], agents)
        fields["final_output"] = fields["result"].final_output
    return kinds[data["type"]](**fields)


# -- results -------------------------------------------------------------------------------------------------
def result_to_data(result: RunResult) -> dict:
    return {"input": result.input, "final_output": plain(result.final_output), "last_agent": result.last_agent.name,
            "new_messages": result.new_messages, "finish_reason": result.finish_reason,
            "function_calls": [{**vars(c), "result": plain(c.result)} for c in result.function_calls],
            "usage": result.usage.to_dict(),
            "usage_before_pause": result.usage_before_pause.to_dict() if result.usage_before_pause else None,
            "pending_approvals": [vars(p) for p in result.pending_approvals]}


def result_from_data(data: dict, agents: dict[str, Any]) -> RunResult:
    agent = agents.get(data["last_agent"])
    if agent is None:
        raise UserError(f"The run ended with agent {data['last_agent']!r}, which this process does not know: give "
                        "start_run/AgentsilexPlugin the agents the workers run.")
    result = RunResult(input=data["input"], last_agent=agent, final_output=_output_of(agent, data["final_output"]),
                       new_messages=data["new_messages"], finish_reason=data["finish_reason"],
                       function_calls=[FunctionCall(**c) for c in data["function_calls"]],
                       usage=RunUsage.from_dict(data["usage"]))
    if data.get("usage_before_pause"):
        result.usage_before_pause = RunUsage.from_dict(data["usage_before_pause"])
    if data["pending_approvals"]:
        from ..features.approval import PendingApproval

        result.pending_approvals = [PendingApproval(**p) for p in data["pending_approvals"]]
    return result


def _output_of(agent: Any, value: Any) -> Any:
    """A structured final output comes back as the agent's output_type (the workflow returned it as JSON)."""
    kind = getattr(agent, "output_type", None)
    if value is None or kind in (None, str) or not hasattr(kind, "model_validate"):
        return value
    return kind.model_validate(value)


def plain(value: Any) -> Any:
    """A JSON-safe copy (a pydantic model dumped, anything else unknown as its str)."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return json.loads(json.dumps(value, default=str))


# -- errors --------------------------------------------------------------------------------------------------
def error_to_data(error: BaseException) -> dict:
    return {"type": type(error).__name__, "message": str(error), "agentsilex": isinstance(error, AgentsilexError),
            **{name: getattr(error, name) for name in ("status_code", "model", "tool_name", "call_id")
               if isinstance(getattr(error, name, None), (str, int))}}


def _error_class(name: str, agentsilex_error: bool) -> type:
    """The class of that name among agentsilex's errors; else a new one of that name (an AgentsilexError if the
    original was one: a run still fails on it, as it would have)."""
    import agentsilex
    from agentsilex import errors

    for home in (agentsilex, errors):
        try:
            found = getattr(home, name)
        except AttributeError:
            continue
        if isinstance(found, type) and issubclass(found, BaseException):
            return found
    known = {cls.__name__: cls for cls in (AgentChangedError, SessionChangedError, PayloadTooLargeError)}
    if name in known:
        return known[name]
    return type(name, (AgentsilexError if agentsilex_error else Exception,), {"__module__": "agentsilex.durable"})


def error_from_data(data: dict) -> Exception:
    """The same agentsilex error class with the same message (a tool's own exception: a class of the same name)."""
    found = _error_class(data["type"], bool(data.get("agentsilex")))
    if issubclass(found, AgentsilexError):
        error = found.__new__(found)
        Exception.__init__(error, data["message"])
        for name in ("status_code", "model", "tool_name", "call_id", "retryable", "retry_after", "result"):
            setattr(error, name, data.get(name, False if name == "retryable" else None))
        return error
    return found(data["message"])


# -- the agents' fingerprint ------------------------------------------------------------------------------
def fingerprint(agent: Any) -> dict:
    """What must not change under a running workflow: each reachable agent's instructions, tools (their schemas)
    and models. Instructions given as a function count by their code."""
    from ..agent import reachable

    found = {}
    for each in reachable(agent):
        instructions = each.instructions
        if callable(instructions):
            code = getattr(instructions, "__code__", None)
            instructions = f"<function {getattr(instructions, '__qualname__', '?')} " \
                           f"{hashlib.sha256(code.co_code if code else b'').hexdigest()[:12]}>"
        found[each.name] = {"instructions": instructions, "model": _model_name(each.model),
                            "fallback_models": [_model_name(m) for m in each.fallback_models],
                            "tools": {t.name: t.spec() for t in each._index().values()},
                            "output_type": getattr(each.output_type, "__name__", str(each.output_type))}
    return json.loads(json.dumps(found, sort_keys=True, default=str))


def _model_name(model: Any) -> str:
    return model if isinstance(model, str) else str(getattr(model, "name", type(model).__name__))


def check_fingerprint(recorded: dict, current: dict) -> None:
    if recorded == current:
        return
    diff = "\n".join(difflib.unified_diff(json.dumps(recorded, indent=1, sort_keys=True).splitlines(),
                                          json.dumps(current, indent=1, sort_keys=True).splitlines(),
                                          "when the run started", "the code now", lineterm=""))
    raise AgentChangedError("The agents changed since this durable run started, so replaying it could take another "
                            "path. Run the workers with the code it started with (or reset the workflow). What "
                            f"changed:\n{diff}", diff=diff)


# -- the stored history: its digest, and large strings kept aside -----------------------------------------
def digest(messages: list[dict], start: str = "") -> str:
    """A rolling digest over messages: digest(a + b) == digest(b, digest(a))."""
    value = start
    for message in messages:
        text = json.dumps(message, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        value = hashlib.sha256((value + hashlib.sha256(text.encode()).hexdigest()).encode()).hexdigest()
    return value


def offload(value: Any, keep: Any, threshold: int = BLOB_THRESHOLD) -> Any:
    """`value` with each string longer than `threshold` replaced by a reference; `keep(key, text)` stores it."""
    if isinstance(value, str):
        if len(value) <= threshold:
            return value
        key = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
        keep(key, value)
        return BLOB + key
    if isinstance(value, dict):
        return {k: offload(v, keep, threshold) for k, v in value.items()}
    if isinstance(value, list):
        return [offload(v, keep, threshold) for v in value]
    return value


def restore(value: Any, fetch: Any) -> Any:
    """`value` with each reference replaced by the string it stands for (`fetch(key)`)."""
    if isinstance(value, str):
        if BLOB not in value:
            return value
        return BLOB_PATTERN.sub(lambda found: fetch(found.group(0)[len(BLOB):]), value)
    if isinstance(value, dict):
        return {k: restore(v, fetch) for k, v in value.items()}
    if isinstance(value, list):
        return [restore(v, fetch) for v in value]
    return value
