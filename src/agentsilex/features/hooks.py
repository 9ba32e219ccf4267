"""`RunHooks`: one object with a method per moment of a run. Subclass it and override what you need.

Every method receives the run context and the agent concerned. Hooks run inside the loop, in order, in
every mode; they are plain functions (do quick work here, or hand slow work to your own thread or queue).
Run start/end/error fire for the outermost run; an agent used as a tool shows up in the model, tool and
handoff hooks with its own `agent`.
"""

from __future__ import annotations

from typing import Any, Generator

from ..engine.capability import Emit, ModelCall, Step
from ..events import AgentHandoffEvent, ToolResponseEvent
from ..wrapping import Capability, intercept


class RunHooks:
    """Lifecycle callbacks for `Runner(hooks=...)`; every method is a no-op by default."""

    def on_run_start(self, context: Any, agent: Any, prompt: Any) -> None:
        """A run begins (also a resumed run; `prompt` is then the `RunState`)."""

    def on_run_end(self, context: Any, agent: Any, result: Any) -> None:
        """A run finished or paused for approval; `agent` is the one that answered."""

    def before_model_call(self, context: Any, agent: Any, request: Any) -> Any:
        """About to call the model; edit `request` in place or return a replacement `ModelRequest`."""

    def after_model_call(self, context: Any, agent: Any, response: Any) -> None:
        """The model replied (`response` is a `ModelResponse`)."""

    def before_tool_call(self, context: Any, agent: Any, tool_name: str, arguments: dict) -> None:
        """A validated, approved tool call is about to run (also an agent used as a tool)."""

    def after_tool_call(self, context: Any, agent: Any, tool_name: str, call: Any) -> None:
        """A tool call finished; `call` is its `FunctionCall` record (content, result, error)."""

    def on_handoff(self, context: Any, from_agent: Any, to_agent: Any) -> None:
        """Control passes from one agent to another."""

    def on_error(self, context: Any, agent: Any, error: BaseException) -> None:
        """The run is about to raise `error` (the session is already valid again)."""


class HooksCapability(Capability):
    """`Runner(hooks=...)` as a capability: before_model_call is the last prepare, before_tool_call a guard, and
    the rest are seen by a wrap (the run's start and end, each reply, each tool result, each handoff)."""

    def __init__(self, hooks: RunHooks) -> None:
        self.hooks = hooks

    def prepare(self, request: Any, step: Step) -> Any:
        return self.hooks.before_model_call(step.context, step.agent, request) or request

    def guard(self, step: Step) -> None:
        if step.phase == "tools":  # after every guardrail, before any tool starts
            for item in step.ready:
                self.hooks.before_tool_call(step.context, step.agent, item.tool.name, item.arguments)

    def wrap(self, loop: Any) -> Generator:
        run = loop.run
        self.hooks.on_run_start(run.context, run.agent, run.prompt)
        try:
            result = yield from intercept(loop, self._event, self._reply)
        except Exception as exc:
            self.hooks.on_error(run.context, run.agent, exc)
            raise
        self.hooks.on_run_end(run.context, result.last_agent, result)
        return result

    def _reply(self, call: Any, response: Any, error: BaseException | None) -> None:
        if isinstance(call, ModelCall) and not call.quiet and error is None:
            self.hooks.after_model_call(call.run.context, call.agent, response)

    def _event(self, request: Any) -> None:
        if not isinstance(request, Emit):
            return
        run, event = request.run, request.event
        if isinstance(event, ToolResponseEvent) and event.call_id in run.step.outcomes:  # a call that ran
            record = next(r for r in run.step.records if r.call_id == event.call_id)
            self.hooks.after_tool_call(run.context, run.step.agent, record.name, record)
        elif isinstance(event, AgentHandoffEvent):
            self.hooks.on_handoff(run.context, run.step.agent, run.agent)
