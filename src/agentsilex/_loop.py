"""The agent loop, written once, with no I/O.

`agent_loop` is a generator. It yields requests -- `ModelCall` (send back a ModelResponse), `RunTools`
(send back one Outcome per call, in order) and `Emit` (an event for the caller) -- and returns the
RunResult. Drivers in runner.py do the I/O (sync, async, streaming or not). The session is written
only here, and always in whole steps, so it stays valid whatever fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Generator

from . import messages
from .errors import MaxTurnsExceeded, ToolError
from .events import Event, FinalResultEvent, ToolCallEvent, ToolResponseEvent
from .memory import prepare_history
from .models import Model, ModelRequest, resolve_model
from .result import FunctionCall, RunResult
from .tool import Tool

INTERRUPTED = "Error: the tool call was interrupted before it finished; its result is unknown."


@dataclass
class ModelCall:
    """Ask `model` for the next assistant message."""

    model: Model
    request: ModelRequest
    agent: Any


@dataclass
class ToolRun:
    """One validated tool call, ready to execute."""

    call_id: str
    tool: Tool
    arguments: dict[str, Any]
    context: Any

    def start(self) -> Any:
        return self.tool.invoke(self.arguments, self.context)


@dataclass
class RunTools:
    """Execute these calls (concurrently if the driver likes); answer with Outcomes in the same order."""

    calls: list[ToolRun]


@dataclass
class Emit:
    """Hand an event to the caller."""

    event: Event


@dataclass(frozen=True)
class Outcome:
    """What one tool call produced: a value, or the exception it raised."""

    value: Any = None
    error: Exception | None = None


@dataclass
class LoopOptions:
    max_turns: int = 10
    raise_tool_errors: bool = False
    before_llm_call_callbacks: list[Callable[[Any], Any]] = field(default_factory=list)
    memory: list[Callable[[list[dict], Any], list[dict]]] = field(default_factory=list)  # see memory.py


Request = ModelCall | RunTools | Emit


def agent_loop(agent: Any, prompt: str, *, session: Any, context: Any,
               options: LoopOptions) -> Generator[Request, Any, RunResult]:
    """Model call -> tool calls -> model call ... until the model answers without tool calls."""
    result = RunResult(input=prompt, last_agent=agent)
    _commit(session, result, [messages.user(prompt)])
    for _ in range(options.max_turns):
        response = yield _model_call(agent, session, context, options)
        result.usage.add(response.usage)
        message = response.message
        if not message.get("tool_calls"):
            _commit(session, result, [message])
            result.final_output = message.get("content")
            yield Emit(FinalResultEvent(result.final_output, result))
            return result
        yield from _tool_step(agent, message, session, context, options, result)
    raise MaxTurnsExceeded(
        f"Agent {agent.name!r} did not give a final answer within max_turns={options.max_turns}. "
        "Raise Runner(max_turns=...) or simplify the task; the partial result is on .result.", result=result)


def _model_call(agent: Any, session: Any, context: Any, options: LoopOptions) -> ModelCall:
    for callback in options.before_llm_call_callbacks:
        callback(session)
    instructions = agent.render_instructions(context)
    history = [messages.system(instructions)] if instructions else []
    history.extend(prepare_history(session, options.memory))  # repaired copy, through the memory strategies
    request = ModelRequest(history, agent.tool_specs(context), agent.model_settings)
    return ModelCall(resolve_model(agent.model), request, agent)


def _tool_step(agent: Any, message: dict, session: Any, context: Any, options: LoopOptions,
               result: RunResult) -> Generator[Request, Any, None]:
    """Run one assistant message's tool calls; commit the message together with every answer."""
    calls = message["tool_calls"]
    runs: list[ToolRun] = []
    failed: dict[str, ToolError] = {}  # calls rejected before running (unknown tool, bad arguments)
    for call in calls:
        name, raw = call["function"]["name"], call["function"]["arguments"]
        yield Emit(ToolCallEvent(call["id"], name, raw, agent.name))
        try:
            found = agent.find_tool(name, context)
            runs.append(ToolRun(call["id"], found, found.parse_arguments(raw), context))
        except ToolError as exc:
            exc.call_id, exc.arguments = call["id"], raw
            failed[call["id"]] = exc
    try:
        outcomes = (yield RunTools(runs)) if runs else []
    except BaseException:
        # Interrupted (Ctrl-C, cancellation, a consumer gone): answer every call so the history stays valid.
        _commit(session, result, [message] + [messages.tool_result(c["id"], INTERRUPTED) for c in calls])
        raise
    by_id = {run.call_id: outcome for run, outcome in zip(runs, outcomes)}
    records = [_record(call, by_id.get(call["id"]), failed.get(call["id"])) for call in calls]
    _commit(session, result, [message] + [messages.tool_result(r.call_id, r.content) for r in records])
    result.function_calls.extend(records)
    for record in records:
        yield Emit(ToolResponseEvent(record.call_id, record.name, record.content, record.error, agent.name))
    if options.raise_tool_errors:
        _raise_first_error(records, by_id, failed)


def _record(call: dict, outcome: Outcome | None, rejected: ToolError | None) -> FunctionCall:
    name, raw = call["function"]["name"], call["function"]["arguments"]
    if rejected is not None:
        error = f"Error: {rejected}"
        return FunctionCall(name, raw, error, call["id"], error=error)
    assert outcome is not None
    if outcome.error is not None:
        error = f"Error: tool {name!r} raised {type(outcome.error).__name__}: {outcome.error}"
        return FunctionCall(name, raw, error, call["id"], error=error)
    return FunctionCall(name, raw, messages.to_text(outcome.value), call["id"], result=outcome.value)


def _raise_first_error(records: list[FunctionCall], by_id: dict[str, Outcome],
                       failed: dict[str, ToolError]) -> None:
    for record in records:
        if record.call_id in failed:
            raise failed[record.call_id]
        outcome = by_id[record.call_id]
        if outcome.error is not None:
            raise ToolError(record.content.removeprefix("Error: "), tool_name=record.name,
                            call_id=record.call_id, arguments=record.arguments) from outcome.error


def _commit(session: Any, result: RunResult, new: list[dict]) -> None:
    session.add_new_messages(new)
    result.new_messages.extend(new)
