"""`RunHooks`: one object with a method per moment of a run. Subclass it and override what you need.

Every method receives the run context and the agent concerned. Hooks run inside the loop, in order, in
every mode; they are plain functions (do quick work here, or hand slow work to your own thread or queue).
Run start/end/error fire for the outermost run; an agent used as a tool shows up in the model, tool and
handoff hooks with its own `agent`.
"""

from __future__ import annotations

from typing import Any


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

