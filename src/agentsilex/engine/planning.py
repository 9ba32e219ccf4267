"""How each tool call of one assistant message is answered: one typed decision per call.

    RunIt            an ordinary tool (or an agent used as a tool) with validated arguments: run it
    AlreadyAnswered  answered without running: an unknown tool, bad arguments, a refused or unavailable
                     approval, a declined second handoff, an invalid or repeated final answer
    AwaitApproval    waits for a human: the whole step pauses before anything runs
    HandOff          the first handoff call: the conversation goes to another agent after this step
    FinalAnswer      the structured-output `final_answer` call, validated

`decide` reads what it needs and changes nothing; the loop acts on the decisions. Every call gets exactly
one decision, so every call gets exactly one answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..features import content
from .. import messages
from ..errors import ToolError, UnknownToolError
from ..redaction import redact
from ..result import FunctionCall
from ..tool import Tool
from ..features import handoffs, output
from ..features.approval import PendingApproval, needs_approval, refused, unavailable
from ..features.guards import repeat_note


@dataclass(slots=True)
class RunIt:
    call: dict
    tool: Tool
    arguments: dict[str, Any]


@dataclass(slots=True)
class AlreadyAnswered:
    call: dict
    record: FunctionCall
    error: ToolError | None = None  # a rejected call (unknown tool, bad arguments): raise_tool_errors raises it
    invalid_output: str | None = None  # an invalid final answer: what was wrong (counts as an output retry)


@dataclass(slots=True)
class AwaitApproval:
    call: dict
    pending: PendingApproval


@dataclass(slots=True)
class HandOff:
    call: dict
    handoff: handoffs.Handoff
    record: FunctionCall


@dataclass(slots=True)
class FinalAnswer:
    call: dict
    value: Any
    record: FunctionCall


Decision = RunIt | AlreadyAnswered | AwaitApproval | HandOff | FinalAnswer


@dataclass(slots=True)
class StepView:
    """What deciding a step needs to know about the run (a read-only view, not the run itself)."""

    agent: Any
    context: Any
    chain: tuple[str, ...]  # the agents this run handed off through
    max_handoffs: int
    output_mode: str | None  # the mode of the request this message answers
    nested: bool  # an agent used as a tool: no human can be asked for approval
    offered: tuple[str, ...] | None = None  # the tool names the request offered; a call to any other never runs
    repeated: dict[str, int] | None = None  # call id -> times in a row, for calls answered with a note instead
    truncated: bool = False  # the message stopped at max_tokens (finish_reason "length")


def decide(calls: list[dict], view: StepView, approvals: dict[str, dict]) -> list[Decision]:
    """One decision per call, in call order; `approvals` are a human's decisions by call id (on resume)."""
    decided: list[Decision] = []
    for call in calls:
        name = call["function"]["name"]
        target = handoffs.find(view.agent, name)
        if view.offered is not None and name not in view.offered:  # hidden on this step: fail closed
            decided.append(_not_offered(view, call))
        elif view.repeated and call["id"] in view.repeated:
            decided.append(AlreadyAnswered(call, answered(call, repeat_note(name, view.repeated[call["id"]]),
                                                          failed=True)))
        elif target is not None:
            decided.append(_handoff(view, decided, call, target))
        elif name == output.ANSWER_TOOL and view.output_mode == "tool":
            decided.append(_answer(view, decided, call))
        else:
            decided.append(_tool(view, call, approvals))
    return decided


def _not_offered(view: StepView, call: dict) -> Decision:
    name = call["function"]["name"]
    available = ", ".join(view.offered or ()) or "none"  # a hidden tool is named like one that does not exist
    error = UnknownToolError(f"Unknown tool {name!r}. Available tools: {available}.", tool_name=name,
                             call_id=call["id"], arguments=call["function"]["arguments"])
    return AlreadyAnswered(call, answered(call, f"Error: {error}", failed=True), error=error)


def _tool(view: StepView, call: dict, approvals: dict[str, dict]) -> Decision:
    try:
        found = view.agent.find_tool(call["function"]["name"], view.context)
        arguments = found.parse_arguments(call["function"]["arguments"])
    except ToolError as exc:
        exc.call_id, exc.arguments = call["id"], call["function"]["arguments"]
        return AlreadyAnswered(call, answered(call, f"Error: {exc}", failed=True), error=exc)
    # Approval is enforced here, in code: the call runs only with an explicit approval of its id.
    if not needs_approval(found, view.context, arguments):
        return RunIt(call, found, arguments)
    decision = approvals.get(call["id"])
    if decision is not None and decision.get("approved") is True:
        return RunIt(call, found, arguments)
    if decision is not None:
        return AlreadyAnswered(call, answered(call, refused(found.name, decision.get("reason", "")), failed=True))
    if view.nested:
        return AlreadyAnswered(call, answered(call, unavailable(found.name), failed=True))
    return AwaitApproval(call, PendingApproval(call["id"], found.name, call["function"]["arguments"],
                                               view.agent.name))


def _handoff(view: StepView, decided: list[Decision], call: dict, target: handoffs.Handoff) -> Decision:
    first = next((d for d in decided if isinstance(d, HandOff)), None)
    if first is not None:  # the first handoff wins; the others are answered, not dropped
        return AlreadyAnswered(call, answered(call, handoffs.declined(first.handoff.agent)))
    handoffs.check_chain(list(view.chain), target.agent, view.max_handoffs)
    return HandOff(call, target, answered(call, handoffs.accepted(target.agent)))


def _answer(view: StepView, decided: list[Decision], call: dict) -> Decision:
    value, problem = output.parse(view.agent, call["function"]["arguments"], truncated=view.truncated)
    if problem is not None:
        note = f"Error: {output.retry_note(problem, 'tool')}"
        return AlreadyAnswered(call, answered(call, note, failed=True), invalid_output=problem)
    if any(isinstance(d, FinalAnswer) for d in decided):
        return AlreadyAnswered(call, answered(call, "Ignored: a final answer was already given."))
    return FinalAnswer(call, value, answered(call, "Final answer received."))


def answered(call: dict, content: str, *, failed: bool = False) -> FunctionCall:
    name, raw = call["function"]["name"], call["function"]["arguments"]
    return FunctionCall(name, raw, content, call["id"], error=content if failed else None)


def record(decision: Decision, value: Any = None, error: BaseException | None = None) -> FunctionCall:
    """The answer to one call: decided in advance, or what the call that ran gave (its value as text, or
    its exception as an "Error: ..." message)."""
    if not isinstance(decision, RunIt):
        assert not isinstance(decision, AwaitApproval)  # a step with a waiting call is never recorded
        return decision.record
    call = decision.call
    if error is not None:
        # Redacted: a tool's error text is stored and sent to the provider (and may quote a key it used).
        return answered(call, f"Error: tool {call['function']['name']!r} raised {type(error).__name__}: "
                              f"{redact(str(error))}", failed=True)
    if content.has_parts(value):  # images, audio, files: text in the tool message, parts after the step
        text, attachments = content.split_tool_value(value)
        done = answered(call, text)
        done.attachments = attachments
    else:
        done = answered(call, messages.to_text(value))
    done.result = value
    return done


def first_result(decided: list[Decision], outcomes: dict[str, Any]) -> FinalAnswer | None:
    """For `Agent(tool_use_behavior="stop_on_first_tool")`: the first call that ran and succeeded, in call
    order, as the final answer (None if none did, or if the step hands off: the target agent answers)."""
    if any(isinstance(d, HandOff) for d in decided):
        return None
    for decision in decided:
        outcome = outcomes.get(decision.call["id"]) if isinstance(decision, RunIt) else None
        if outcome is not None and outcome.error is None:
            return FinalAnswer(decision.call, outcome.value, record(decision, outcome.value))
    return None


def raise_first_error(decided: list[Decision], errors: dict[str, BaseException | None],
                      records: list[FunctionCall]) -> None:
    """For `Runner(raise_tool_errors=True)`: raise the first failed call's error, in call order."""
    for decision, item in zip(decided, records):
        if isinstance(decision, AlreadyAnswered) and decision.error is not None:
            raise decision.error
        error = errors.get(item.call_id)
        if error is not None:
            raise ToolError(item.content.removeprefix("Error: "), tool_name=item.name,
                            call_id=item.call_id, arguments=item.arguments) from error
