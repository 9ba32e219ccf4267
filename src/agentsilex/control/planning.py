"""How each tool call of one assistant message is answered: run it, or answer it straight away.

A call is a handoff (the first wins, later ones are declined), the structured-output `final_answer`, a
rejected call (unknown tool, bad arguments), a call waiting for or refused by a human, or a call ready
to run (an ordinary tool, or an agent used as a tool). Every call gets exactly one answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import messages
from ..errors import ModelBehaviorError, ToolError
from ..models import resolve_model
from ..redaction import redact
from ..result import FunctionCall
from . import handoffs, output
from .approval import PendingApproval, needs_approval, refused, unavailable


@dataclass
class Plan:
    """The answers decided before anything runs, and the calls that will run."""

    ready: list[tuple[str, Any, dict]] = field(default_factory=list)  # (call id, tool, arguments)
    done: dict[str, FunctionCall] = field(default_factory=dict)  # answered without running
    errors: dict[str, ToolError] = field(default_factory=dict)  # rejected (unknown tool, bad arguments)
    pending: list[PendingApproval] = field(default_factory=list)
    handoff: handoffs.Handoff | None = None
    answer: list[Any] = field(default_factory=list)  # the validated final_answer output, if given


def plan(run: Any, calls: list[dict], decisions: dict[str, dict]) -> Plan:
    """Decide every call of one assistant message (`run` is the loop's _Run)."""
    decided = Plan()
    for call in calls:
        call_id, name, raw = call["id"], call["function"]["name"], call["function"]["arguments"]
        target = handoffs.find(run.agent, name)
        if target is not None:
            _plan_handoff(run, decided, call, target)
        elif output.is_answer_call(run.agent, resolve_model(run.agent.model), name):
            _plan_answer(run, decided, call)
        else:
            try:
                found = run.agent.find_tool(name, run.context)
                arguments = found.parse_arguments(raw)
            except ToolError as exc:
                exc.call_id, exc.arguments = call_id, raw
                decided.errors[call_id] = exc
                decided.done[call_id] = answered(call, f"Error: {exc}", failed=True)
                continue
            if _approved(run, decided, call, found, arguments, decisions):
                decided.ready.append((call_id, found, arguments))
    return decided


def _approved(run: Any, decided: Plan, call: dict, found: Any, arguments: dict,
              decisions: dict[str, dict]) -> bool:
    """Whether the call may run now; otherwise it is refused or left pending. Enforced here, in code."""
    if not needs_approval(found, run.context, arguments):
        return True
    decision = decisions.get(call["id"])
    if decision is not None and decision.get("approved") is True:
        return True
    if decision is not None:
        decided.done[call["id"]] = answered(call, refused(found.name, decision.get("reason", "")), failed=True)
    elif run.depth > 0:
        decided.done[call["id"]] = answered(call, unavailable(found.name), failed=True)
    else:
        decided.pending.append(PendingApproval(call["id"], found.name, call["function"]["arguments"],
                                                  run.agent.name))
    return False


def _plan_handoff(run: Any, decided: Plan, call: dict, target: handoffs.Handoff) -> None:
    if decided.handoff is not None:  # the first handoff wins; the others are answered, not dropped
        decided.done[call["id"]] = answered(call, handoffs.declined(decided.handoff.agent))
        return
    handoffs.check_chain(run.chain, target.agent, run.options.max_handoffs)
    decided.handoff = target
    decided.done[call["id"]] = answered(call, handoffs.accepted(target.agent))


def _plan_answer(run: Any, decided: Plan, call: dict) -> None:
    value, problem = output.parse(run.agent, call["function"]["arguments"])
    if problem is not None:
        count_output_retry(run, problem)
        decided.done[call["id"]] = answered(call, f"Error: {output.retry_note(problem, 'tool')}", failed=True)
    elif not decided.answer:
        decided.answer.append(value)
        decided.done[call["id"]] = answered(call, "Final answer received.")
    else:
        decided.done[call["id"]] = answered(call, "Ignored: a final answer was already given.")


def count_output_retry(run: Any, problem: str) -> None:
    """Allow one retry of an invalid structured output per agent; the second failure raises."""
    if run.output_retries >= 1:
        raise ModelBehaviorError(
            f"Agent {run.agent.name!r} gave an invalid final output again after one retry: {problem} "
            "Simplify the output_type, describe it in the instructions, or use a stronger model.")
    run.output_retries += 1


def answered(call: dict, content: str, *, failed: bool = False) -> FunctionCall:
    name, raw = call["function"]["name"], call["function"]["arguments"]
    return FunctionCall(name, raw, content, call["id"], error=content if failed else None)


def record(call: dict, value: Any, error: Exception | None) -> FunctionCall:
    """The record of a call that ran: its value as text, or its exception as an "Error: ..." message."""
    name = call["function"]["name"]
    if error is not None:
        # Redacted: a tool's error text is stored and sent to the provider (and may quote a key it used).
        return answered(call, f"Error: tool {name!r} raised {type(error).__name__}: {redact(str(error))}", failed=True)
    done = answered(call, messages.to_text(value))
    done.result = value
    return done


def raise_first_error(records: list[FunctionCall], errors_by_id: dict[str, Exception | None],
                      rejected: dict[str, ToolError]) -> None:
    """For `Runner(raise_tool_errors=True)`: raise the first failed call's error, in call order."""
    for item in records:
        if item.call_id in rejected:
            raise rejected[item.call_id]
        error = errors_by_id.get(item.call_id)
        if error is not None:
            raise ToolError(item.content.removeprefix("Error: "), tool_name=item.name,
                            call_id=item.call_id, arguments=item.arguments) from error
