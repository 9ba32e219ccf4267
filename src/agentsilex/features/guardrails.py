"""Guardrails: plain functions that check the input, the final output, or a tool call, and may trip.

A guardrail returns None (or False) to pass. Anything else trips it: a `GuardrailResult`, or any value
(a reason string, a dict) that becomes the tripped result's `info`. A trip raises a typed exception
before the rejected thing enters the session.

    def no_secrets(context, agent, prompt):            # Agent(input_guardrails=[...])
        return "asks for a password" if "password" in prompt else None
    def short(context, agent, output): ...              # Agent(output_guardrails=[...])
    def no_rm(context, tool_name, arguments): ...       # @tool(input_guardrails=[...])
    def no_leak(context, tool_name, arguments, result): ...   # @tool(output_guardrails=[...])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..errors import InputGuardrailTripped, OutputGuardrailTripped, ToolGuardrailTripped


@dataclass(frozen=True)
class GuardrailResult:
    """What a guardrail found: `tripwire_triggered` stops the run; `info` says why."""

    tripwire_triggered: bool
    info: Any = None


def evaluate(guardrail: Callable[..., Any], *args: Any) -> GuardrailResult:
    """Call one guardrail and normalise what it returned."""
    value = guardrail(*args)
    if isinstance(value, GuardrailResult):
        return value
    if value is None or value is False:
        return GuardrailResult(False)
    return GuardrailResult(True, value)


def name_of(guardrail: Callable[..., Any]) -> str:
    return getattr(guardrail, "__name__", type(guardrail).__name__)


def check_input(agent: Any, context: Any, prompt: str | list[dict]) -> None:
    """Run the agent's input guardrails on the user's prompt (a str, or its content parts as sent)."""
    for guardrail in agent.input_guardrails:
        found = evaluate(guardrail, context, agent, prompt)
        if found.tripwire_triggered:
            raise InputGuardrailTripped(
                f"Input guardrail {name_of(guardrail)!r} of agent {agent.name!r} rejected the prompt: "
                f"{found.info!r}. The model was not called.", guardrail=name_of(guardrail), info=found.info)


def check_output(agent: Any, context: Any, output: Any) -> None:
    """Run the agent's output guardrails on its final output (already validated if it has an output_type)."""
    for guardrail in agent.output_guardrails:
        found = evaluate(guardrail, context, agent, output)
        if found.tripwire_triggered:
            raise OutputGuardrailTripped(
                f"Output guardrail {name_of(guardrail)!r} of agent {agent.name!r} rejected the final output: "
                f"{found.info!r}. It was not added to the session.", guardrail=name_of(guardrail),
                info=found.info, output=output)


def check_tool(tool: Any, context: Any, call_id: str, arguments: dict, *, result: Any = None,
               after: bool = False) -> None:
    """Run a tool's input guardrails (on its arguments) or, with `after=True`, its output guardrails."""
    guardrails = tool.output_guardrails if after else tool.input_guardrails
    for guardrail in guardrails:
        args = (context, tool.name, arguments, result) if after else (context, tool.name, arguments)
        found = evaluate(guardrail, *args)
        if found.tripwire_triggered:
            stage = "output" if after else "input"
            what = "result" if after else "arguments"
            raise ToolGuardrailTripped(
                f"Tool {stage} guardrail {name_of(guardrail)!r} rejected the {what} of tool {tool.name!r} "
                f"(call {call_id}): {found.info!r}. The call and its answer were not added to the session.",
                guardrail=name_of(guardrail), info=found.info, tool_name=tool.name, call_id=call_id,
                arguments=arguments, stage=stage, tool_result=result)


def before_tools(run: Any, ready: list[Any]) -> None:
    """The loop's guard phase (_loop.py): the step's tool-call budget, every tool's input guardrails, then the
    before_tool_call hooks -- all before any tool starts, so a trip leaves nothing half-started."""
    run.budget.charge_tool_calls(len(ready))
    for item in ready:
        check_tool(item.tool, run.context, item.call_id, item.arguments)
    for item in ready:
        run.options.hooks.before_tool_call(run.context, run.agent, item.tool.name, item.arguments)


def after_tools(run: Any, ready: list[Any], outcomes: dict[str, Any], answer: Any) -> None:
    """After the tools ran: their output guardrails, and a final_answer call's output, before the commit."""
    for item in ready:
        if outcomes[item.call_id].error is None:
            check_tool(item.tool, run.context, item.call_id, item.arguments,
                       result=outcomes[item.call_id].value, after=True)
    if answer is not None:  # a final_answer tool call: its output is checked before the step is committed
        check_output(run.agent, run.context, answer.value)
