"""Tool control that changes how a run ends: `Agent(tool_use_behavior="stop_on_first_tool")` (the first tool call
that succeeds is the final output, no model call after it) and `Runner(raise_tool_errors=True)` (a failed call
raises instead of going back to the model as an "Error: ..." answer). See docs/tool-control.md."""

from __future__ import annotations

from typing import Any, Generator

from ..engine.capability import AlreadyAnswered, Emit, HandOff, RunIt, Step
from ..errors import ToolError
from ..events import ToolResponseEvent
from ..wrapping import Capability, intercept


class StopOnFirstTool(Capability):
    """Before the step is stored: the first call that ran and succeeded, in call order, is the final output (not
    when the step hands off: the target agent answers)."""

    def guard(self, step: Step) -> None:
        if step.phase != "commit" or step.final or step.agent.tool_use_behavior != "stop_on_first_tool":
            return
        if not step.message.get("tool_calls") or any(isinstance(d, HandOff) for d in step.decisions):
            return
        for decision in step.decisions:
            outcome = step.outcomes.get(decision.call["id"])
            if isinstance(decision, RunIt) and outcome is not None and outcome.error is None:
                step.final, step.output = True, outcome.value
                return


class RaiseToolErrors(Capability):
    """Once a step is stored and its answers shown, raise its first failed call's error, in call order."""

    def wrap(self, loop: Any) -> Generator:
        return (yield from intercept(loop, after=self._after))

    def _after(self, request: Any, answer: Any, error: BaseException | None) -> None:
        if error is None and isinstance(request, Emit) and isinstance(request.event, ToolResponseEvent):
            step = request.run.step
            if step.records and request.event.call_id == step.records[-1].call_id:  # the step's last answer
                raise_first_error(step)


def raise_first_error(step: Step) -> None:
    for decision, record in zip(step.decisions, step.records):
        if isinstance(decision, AlreadyAnswered) and decision.error is not None:
            raise decision.error
        outcome = step.outcomes.get(record.call_id)
        if outcome is not None and outcome.error is not None:
            raise ToolError(record.content.removeprefix("Error: "), tool_name=record.name, call_id=record.call_id,
                            arguments=record.arguments) from outcome.error
