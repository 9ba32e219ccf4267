"""`Agent`: a configuration container. It holds no state of a run; the Runner does the work."""

from __future__ import annotations

import dataclasses
import inspect
import operator
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from .errors import UnknownToolError, UserError
from .models.base import Model, ModelSettings
from .tool import Tool, as_tool

TOOL_USE_BEHAVIORS = ("run_llm_again", "stop_on_first_tool")


@dataclass(kw_only=True)
class Agent:
    """Who the model is (instructions), what it may call (tools, handoffs) and how it answers."""

    name: str
    model: str | Model
    description: str = ""  # what it does, for people and other agents (MCP, handoffs, A2A); never sent to its model
    instructions: str | Callable[..., str] = ""
    tools: list[Any] = field(default_factory=list)
    handoffs: list[Any] = field(default_factory=list)
    output_type: Any = None  # e.g. a pydantic model or list[str]: final_output is then validated
    input_guardrails: list[Callable[..., Any]] = field(default_factory=list)
    output_guardrails: list[Callable[..., Any]] = field(default_factory=list)
    model_settings: ModelSettings = field(default_factory=ModelSettings)
    fallback_models: list[str | Model] = field(default_factory=list)  # tried in order if `model` fails for good
    # model_settings.tool_choice forces only the first request of a run (and after each handoff), then "auto";
    # False keeps forcing on every request (the run then ends only by a handoff, final_answer or a stop).
    reset_tool_choice: bool = True
    # "stop_on_first_tool": the first tool call's result is the final output (no model call after it).
    tool_use_behavior: str = "run_llm_again"
    _tools_by_name: dict[str, Tool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check(self)  # every option, so misconfiguration fails here and not mid-run
        self.tools = [as_tool(item) for item in self.tools]
        self._tools_by_name = {}
        for item in self.tools:
            if item.name in self._tools_by_name:
                where = [getattr(t, "source", None) or f"function {getattr(t.function, '__qualname__', t.name)}"
                         for t in (self._tools_by_name[item.name], item)]  # MCP tools name their server
                raise UserError(f"Agent {self.name!r} has two tools named {item.name!r} ({where[0]} and "
                                f"{where[1]}); rename one with @tool(name=...) or an MCP prefix.")
            self._tools_by_name[item.name] = item
        if self.handoffs:  # a target given by name, two handoffs with one tool name, a clash with a tool: now
            from .features.handoffs import check_handoffs

            check_handoffs(self)

    def _index(self) -> dict[str, Tool]:
        """Tools by name, following `agent.tools` if it was edited after the agent was made."""
        index = self._tools_by_name
        if len(index) == len(self.tools) and all(map(operator.is_, index.values(), self.tools)):
            return index  # the common case, checked in C: this runs on every request
        self.tools[:] = [as_tool(item) for item in self.tools]
        self._tools_by_name = {item.name: item for item in self.tools}
        return self._tools_by_name

    def as_tool(self, tool_name: str | None = None, tool_description: str | None = None) -> Tool:
        """This agent as a tool another agent can call; it runs nested, in the caller's mode and context."""
        from .features.agents_as_tools import agent_as_tool

        return agent_as_tool(self, tool_name, tool_description)

    def clone(self, **changes: Any) -> Agent:
        """A copy with some fields changed, e.g. `agent.clone(model="gpt-4o-mini")`."""
        return dataclasses.replace(self, **changes)

    def render_instructions(self, context: Any) -> str:
        """The system prompt for this turn (instructions may be a function of the run context)."""
        if not callable(self.instructions):
            return self.instructions or ""
        text = self.instructions(*(context, self)[:min(_arity(self.instructions), 2)])
        if not isinstance(text, str):
            raise UserError(f"Agent {self.name!r}: instructions function returned {type(text).__name__}, "
                            "expected str.")
        return text

    def get_system_prompt(self, context: Any = None) -> dict:
        """The system message (agentsilex 1.0 name)."""
        return {"role": "system", "content": self.render_instructions(context)}

    def tool_specs(self, context: Any = None) -> list[dict]:
        """The tools as the model sees them on this step: those enabled for `context` (see Tool.enabled)."""
        return [item.spec() for item in self._index().values() if item.is_enabled(context)]

    def find_tool(self, name: str, context: Any = None) -> Tool:
        found = self._index().get(name)
        if found is None:
            available = ", ".join(self._tools_by_name) or "none"
            raise UnknownToolError(f"Unknown tool {name!r}. Available tools: {available}.", tool_name=name)
        return found


def reachable(agent: Agent) -> Iterator[Agent]:
    """The agent and every agent a run of it may reach (handoffs, agents used as tools), each once."""
    seen: set[int] = set()
    todo = [agent]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(item.agent for item in current._index().values() if getattr(item, "agent", None) is not None)
        todo.extend(getattr(item, "agent", item) for item in current.handoffs)  # an Agent or a handoff(...)


def _arity(function: Callable, required: bool = False) -> int:
    """How many positional arguments an instructions function takes (`required`: those without a default)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: called with the context alone
        return 1
    if any(p.kind is p.VAR_POSITIONAL for p in parameters) and not required:
        return 2
    return len([p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                and (p.default is p.empty or not required)])


def _check(agent: Agent) -> None:
    """An Agent's options, checked when it is built."""
    if not isinstance(agent.name, str) or not agent.name.strip():
        raise UserError(f"Agent name must be a non-empty string, got {agent.name!r}.")
    if not isinstance(agent.description, str):
        raise UserError(f"Agent {agent.name!r}: description must be a string, got {type(agent.description).__name__}.")
    if not _is_model(agent.model):
        raise UserError(f"Agent {agent.name!r}: model must be a LiteLLM model string such as 'gpt-4o' "
                        f"or a Model object, got {agent.model!r}.")
    for option in ("fallback_models", "tools", "handoffs", "input_guardrails", "output_guardrails"):
        if not isinstance(getattr(agent, option), (list, tuple)):  # a str or one function is a common slip
            raise UserError(f"Agent {agent.name!r}: {option} must be a list, got {getattr(agent, option)!r}; "
                            f"write {option}=[...].")
        setattr(agent, option, list(getattr(agent, option)))
    if callable(agent.instructions):
        takes = _arity(agent.instructions, required=True)
        if takes > 2:
            raise UserError(f"Agent {agent.name!r}: an instructions function takes (context) or (context, agent), "
                            f"not {takes} arguments.")
    elif not isinstance(agent.instructions, str):
        raise UserError(f"Agent {agent.name!r}: instructions must be a str or fn(context, agent) -> str, "
                        f"got {agent.instructions!r}.")
    for fallback in agent.fallback_models:
        if not _is_model(fallback):
            raise UserError(f"Agent {agent.name!r}: fallback_models must hold model strings or Model objects, "
                            f"got {fallback!r}.")
    if not isinstance(agent.model_settings, ModelSettings):
        raise UserError(f"Agent {agent.name!r}: model_settings must be a ModelSettings, "
                        f"got {type(agent.model_settings).__name__}.")
    if not all(callable(guardrail) for guardrail in (*agent.input_guardrails, *agent.output_guardrails)):
        raise UserError(f"Agent {agent.name!r}: guardrails must be functions.")
    if agent.tool_use_behavior not in TOOL_USE_BEHAVIORS:
        raise UserError(f"Agent {agent.name!r}: tool_use_behavior must be one of {TOOL_USE_BEHAVIORS}, "
                        f"got {agent.tool_use_behavior!r}.")
    if agent.output_type is not None and agent.output_type is not str:
        from .features.output import spec_for

        spec_for(agent.output_type)  # an output type pydantic cannot validate fails here, not mid-run


def _is_model(model: Any) -> bool:
    if isinstance(model, str):
        return bool(model.strip())
    return hasattr(model, "complete")
