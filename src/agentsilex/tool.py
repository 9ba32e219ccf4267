"""`@tool`: a typed, documented function becomes a tool with a JSON schema and validated arguments.

The `Tool` contract (what the loop uses): `name` (1-64 letters, digits, `_`, `-`), `description`,
`parameters` (the JSON schema of the arguments object), `parse_arguments(raw) -> dict` (raises
ToolArgumentsError, which the model reads as an "Error: ..." result) and `invoke(arguments, context)` (calls the
function with the arguments as keyword arguments; async functions return a coroutine). Build one with
`@tool` from a typed function, or with `Tool.from_schema(...)` from a schema you already have (MCP tools).

The run context reaches a tool through one parameter, decided when the tool is defined: a parameter named
`context`, one annotated `Context[T]`, or one annotated with a class pydantic cannot describe as JSON. The
model never sees that parameter; a Runner whose context is not a `T` is refused before any request.
"""

from __future__ import annotations

import inspect
import json
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Callable, TypeVar, overload

from .errors import ToolArgumentsError, UserError

_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
# Annotations that can never be a typed run context (they describe ordinary arguments).
_PLAIN_TYPES = (str, int, float, bool, bytes, list, dict, tuple, set, frozenset, type(None))

T = TypeVar("T")


class _ContextMarker:
    def __repr__(self) -> str:
        return "agentsilex.Context"


CONTEXT_MARKER = _ContextMarker()
# `def add(item: str, cart: Context[Cart])`: `cart` receives the run context (Runner(context=...)).
Context = Annotated[T, CONTEXT_MARKER]


@dataclass
class Tool:
    """A function the model can call: its name, description, JSON schema and argument validator."""

    name: str
    description: str
    function: Callable[..., Any]
    parameters: dict[str, Any]
    context_param: str | None = None
    # True, or fn(context, arguments) -> bool deciding per call: the run pauses for a human before it runs.
    needs_approval: bool | Callable[[Any, dict], bool] = False
    input_guardrails: list[Callable[..., Any]] = field(default_factory=list)
    output_guardrails: list[Callable[..., Any]] = field(default_factory=list)
    timeout: float | None = None  # seconds for one call; overrides Runner(tool_timeout=...)
    context_type: type | None = None  # the class the run context must be an instance of, if declared
    # True/False, or fn(context) -> bool asked on every step: a tool not enabled is neither offered nor run.
    enabled: bool | Callable[[Any], bool] = True
    _arguments_model: Any = field(default=None, repr=False)  # a pydantic model of the arguments (tool_schema.py)

    def __post_init__(self) -> None:
        for option, ok, what in (
                ("needs_approval", isinstance(self.needs_approval, bool) or callable(self.needs_approval),
                 "True/False or fn(context, arguments) -> bool"),
                ("enabled", isinstance(self.enabled, bool) or callable(self.enabled),
                 "True/False or fn(context) -> bool"),
                ("guardrails", all(map(callable, (*self.input_guardrails, *self.output_guardrails))), "functions"),
                ("timeout", self.timeout is None or (isinstance(self.timeout, (int, float)) and self.timeout > 0),
                 "a positive number of seconds")):
            if not ok:
                raise UserError(f"Tool {self.name!r}: {option} must be {what}, got {getattr(self, option, '...')!r}.")
        if not isinstance(self.name, str) or not _NAME_PATTERN.match(self.name):
            raise UserError(f"Tool name {self.name!r} is invalid: use 1-64 letters, digits, '_' or '-' (choose one "
                            "with @tool(name=...)).")
        if not callable(self.function):
            raise UserError(f"Tool {self.name!r}: function must be callable, got {self.function!r}.")
        if not isinstance(self.parameters, dict) or self.parameters.get("type", "object") != "object":
            raise UserError(f"Tool {self.name!r}: parameters must be a JSON schema of an object, e.g. "
                            '{"type": "object", "properties": {...}}.')

    @classmethod
    def from_schema(cls, name: str, description: str, parameters: dict[str, Any], fn: Callable[..., Any], *,
                    context_param: str | None = None) -> Tool:
        """A tool from a JSON schema you already have (MCP tools, generated APIs): `fn(**arguments)`, sync or
        async. Arguments are checked against the schema's `required` and `additionalProperties`; their types
        are left to `fn`. `context_param` names the keyword that receives the run context, if any."""
        if context_param is not None and not (isinstance(context_param, str) and context_param.isidentifier()):
            raise UserError(f"Tool {name!r}: context_param must be a parameter name, got {context_param!r}.")
        return cls(name=name, description=description or "", function=fn, parameters=parameters,
                   context_param=context_param)

    @property
    def parameters_specification(self) -> dict[str, Any]:
        """The agentsilex 1.0 name for `parameters`."""
        return self.parameters

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.function)

    def is_enabled(self, context: Any) -> bool:
        """Whether the model is offered (and may run) this tool on this step."""
        if not callable(self.enabled):
            return bool(self.enabled)
        answer = self.enabled(context)
        if not isinstance(answer, bool):
            raise UserError(f"Tool {self.name!r}: enabled(context) returned {type(answer).__name__}; "
                            "it must return True or False.")
        return answer

    def spec(self) -> dict[str, Any]:
        """The tool as the OpenAI `tools` list entry the model sees."""
        return {"type": "function",
                "function": {"name": self.name, "description": self.description, "parameters": self.parameters}}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)

    def parse_arguments(self, raw: str | dict | None) -> dict[str, Any]:
        """Validate the model's arguments (a JSON string) against the signature; return keyword arguments."""
        data = _decode_arguments(self.name, raw)
        from .tool_schema import validated  # against the function's signature, or a hand-made schema

        return validated(self, data, raw)

    def invoke(self, arguments: dict[str, Any], context: Any) -> Any:
        """Call the function (the result is a coroutine for `async def` tools)."""
        if self.context_param is not None:
            arguments = {**arguments, self.context_param: context}
        return self.function(**arguments)

    def check_context(self, context: Any) -> None:
        """Refuse a run context that is not what the tool's context parameter declares, and one that a parameter
        the model fills in is annotated with (that parameter was surely meant to be the context)."""
        if self.context_type is not None and not isinstance(context, self.context_type):
            raise UserError(f"Tool {self.name!r} takes the run context as a {self.context_type.__name__} (parameter "
                            f"{self.context_param!r}), but Runner(context=...) is a {type(context).__name__}. Pass "
                            "the right context, or change the tool's annotation.")
        if self._arguments_model is not None:
            from .tool_schema import check_fields

            check_fields(self, context, _PLAIN_TYPES)


@overload  # @tool on a function gives a Tool; @tool(...) with options gives a decorator (options: see below)
def tool(function: Callable[..., Any], /, **options: Any) -> Tool: ...
@overload
def tool(function: None = None, /, **options: Any) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(function: Callable[..., Any] | None = None, /, *, name: str | None = None,
         description: str | None = None, needs_approval: bool | Callable[[Any, dict], bool] = False,
         input_guardrails: list[Callable[..., Any]] | None = None,
         output_guardrails: list[Callable[..., Any]] | None = None,
         timeout: float | None = None,
         enabled: bool | Callable[[Any], bool] = True) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Turn a function into a `Tool`; use bare (`@tool`) or with options (`@tool(name=..., description=...)`)."""
    def wrap(func: Callable[..., Any]) -> Tool:
        if isinstance(func, Tool):
            return func
        if not callable(func):
            raise UserError(f"@tool needs a function, got {type(func).__name__}.")
        from .tool_schema import build  # pydantic and docstring_parser load here, at the first @tool

        tool_name = name or getattr(func, "__name__", None) or ""
        return Tool(**build(func, tool_name, description, CONTEXT_MARKER, _PLAIN_TYPES), needs_approval=needs_approval,
                    input_guardrails=list(input_guardrails or []), output_guardrails=list(output_guardrails or []),
                    timeout=timeout, enabled=enabled)

    return wrap if function is None else wrap(function)


def as_tool(item: Any) -> Tool:
    """Accept a `Tool` or a plain callable (wrapped with `@tool`); reject anything else."""
    if isinstance(item, Tool):
        return item
    if callable(item) and not isinstance(item, type):
        return tool(item)
    raise UserError(f"Agent tools must be functions or @tool objects, got {item!r}. "
                    "Decorate the function with @tool or pass the function itself.")


def _decode_arguments(tool_name: str, raw: str | dict | None) -> dict[str, Any]:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    data = raw
    if isinstance(raw, str):
        try:  # strict=False: some servers (llama.cpp) put raw newlines and tabs inside JSON strings
            data = json.loads(raw, strict=False)
        except json.JSONDecodeError as exc:
            raise ToolArgumentsError(
                f"Arguments for tool {tool_name!r} are not valid JSON ({exc.msg.removesuffix(' at')} at position "
                f"{exc.pos}). Send a JSON object with the tool's parameters.", tool_name=tool_name,
                arguments=raw) from None
    if not isinstance(data, dict):
        raise ToolArgumentsError(
            f"Arguments for tool {tool_name!r} must be a JSON object, got {type(data).__name__}. "
            "Send a JSON object with the tool's parameters.", tool_name=tool_name,
            arguments=raw if isinstance(raw, str) else None)
    return data
