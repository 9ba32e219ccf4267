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

from ..engine.capability import Step
from ..errors import RunStopped
from ..wrapping import Capability


class GuardrailTripped(RunStopped):
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


class Guardrails(Capability):
    """The guard phase of every step: the prompt ("input"), each call's arguments before any tool starts
    ("tools"), and before the step is stored ("commit") the results of the calls that ran and a final output."""

    def guard(self, step: Step) -> None:
        if step.phase == "input":
            check_input(step.agent, step.context, step.run.prompt)
        elif step.phase == "tools":
            for item in step.ready:
                check_tool(item.tool, step.context, item.call_id, item.arguments)
        elif step.phase == "commit":
            for item in step.ready:
                outcome = step.outcomes.get(item.call_id)
                if outcome is not None and outcome.error is None:
                    check_tool(item.tool, step.context, item.call_id, item.arguments, result=outcome.value, after=True)
            if step.final:  # a final answer (text, or a final_answer call): checked before it is stored
                check_output(step.agent, step.context, step.output)
