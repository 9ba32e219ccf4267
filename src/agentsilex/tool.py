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
import typing
from dataclasses import dataclass, field
from typing import Annotated, Any, Callable, TypeVar, overload

import docstring_parser
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model

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
    _arguments_model: type[BaseModel] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME_PATTERN.match(self.name):
            raise UserError(f"Tool name {self.name!r} is invalid: use 1-64 letters, digits, '_' or '-'.")
        if not callable(self.function):
            raise UserError(f"Tool {self.name!r}: function must be callable, got {self.function!r}.")
        if not isinstance(self.parameters, dict) or self.parameters.get("type", "object") != "object":
            raise UserError(f"Tool {self.name!r}: parameters must be a JSON schema of an object, e.g. "
                            '{"type": "object", "properties": {...}}.')
        _check_enabled(self.name, self.enabled)

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
        if self._arguments_model is None:  # built by hand: the schema is all there is to check against
            return _check_against_schema(self.name, self.parameters, data, raw)
        try:
            validated = self._arguments_model.model_validate(data)
        except ValidationError as exc:
            raise ToolArgumentsError(_describe_validation(self.name, exc), tool_name=self.name,
                                     arguments=raw if isinstance(raw, str) else None) from None
        return {name: getattr(validated, _field(name)) for name in self.parameters.get("properties", {})}

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
        fields = self._arguments_model.model_fields if self._arguments_model is not None else {}
        for name, found in fields.items():
            kind = found.annotation
            if isinstance(kind, type) and kind not in (*_PLAIN_TYPES, Any, object) and isinstance(context, kind):
                raise UserError(f"Tool {self.name!r}: parameter {found.alias or name!r} is annotated with the run "
                                f"context's class {kind.__name__}, but the model would fill it in. Annotate it "
                                f"Context[{kind.__name__}] (or name it `context`) to receive the run context.")


@overload
def tool(function: Callable[..., Any], /, *, name: str | None = None, description: str | None = None,
         needs_approval: bool | Callable[[Any, dict], bool] = False,
         input_guardrails: list[Callable[..., Any]] | None = None,
         output_guardrails: list[Callable[..., Any]] | None = None, timeout: float | None = None,
         enabled: bool | Callable[[Any], bool] = True) -> Tool: ...


@overload
def tool(function: None = None, /, *, name: str | None = None, description: str | None = None,
         needs_approval: bool | Callable[[Any, dict], bool] = False,
         input_guardrails: list[Callable[..., Any]] | None = None,
         output_guardrails: list[Callable[..., Any]] | None = None,
         timeout: float | None = None,
         enabled: bool | Callable[[Any], bool] = True) -> Callable[[Callable[..., Any]], Tool]: ...


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
        if not (isinstance(needs_approval, bool) or callable(needs_approval)):
            raise UserError(f"@tool(needs_approval=...) must be True/False or fn(context, arguments) -> bool, "
                            f"got {needs_approval!r}.")
        if not all(callable(g) for g in (*(input_guardrails or []), *(output_guardrails or []))):
            raise UserError("@tool guardrails must be functions.")
        if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
            raise UserError(f"@tool(timeout=...) must be a positive number of seconds, got {timeout!r}.")
        _check_enabled(name or getattr(func, "__name__", "?"), enabled)
        built = _build(func, name, description)
        built.enabled = enabled
        built.needs_approval = needs_approval
        built.input_guardrails = list(input_guardrails or [])
        built.output_guardrails = list(output_guardrails or [])
        built.timeout = timeout
        return built

    return wrap if function is None else wrap(function)


def _check_enabled(name: str, enabled: Any) -> None:
    if not (isinstance(enabled, bool) or callable(enabled)):
        raise UserError(f"Tool {name!r}: enabled must be True/False or fn(context) -> bool, got {enabled!r}.")


def as_tool(item: Any) -> Tool:
    """Accept a `Tool` or a plain callable (wrapped with `@tool`); reject anything else."""
    if isinstance(item, Tool):
        return item
    if callable(item) and not isinstance(item, type):
        return tool(item)
    raise UserError(f"Agent tools must be functions or @tool objects, got {item!r}. "
                    "Decorate the function with @tool or pass the function itself.")


def _build(func: Callable[..., Any], name: str | None, description: str | None) -> Tool:
    tool_name: str = name or getattr(func, "__name__", None) or ""
    if not _NAME_PATTERN.match(tool_name):
        raise UserError(f"Tool name {tool_name!r} is invalid: use 1-64 letters, digits, '_' or '-'. "
                        "Pass @tool(name=...) to choose another.")
    context_param, context_type = _context_param(func, tool_name)
    doc = docstring_parser.parse(inspect.getdoc(func) or "")
    if description is None:
        description = "\n\n".join(part for part in (doc.short_description, doc.long_description) if part)
    model = _arguments_model(func, tool_name, {p.arg_name: p.description for p in doc.params}, context_param)
    try:
        schema = _strip_titles(model.model_json_schema(by_alias=True))
    except Exception as exc:
        raise UserError(f"Tool {tool_name!r}: cannot build a JSON schema from its type hints ({exc}). "
                        "Use JSON-compatible types, pydantic models, enums or Literal, defined at module "
                        "level.") from exc
    schema.setdefault("properties", {})
    return Tool(name=tool_name, description=description, function=func, parameters=schema,
                context_param=context_param, context_type=context_type, _arguments_model=model)


def _arguments_model(func: Callable[..., Any], tool_name: str, docs: dict[str, str | None],
                     context_param: str | None) -> type[BaseModel]:
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception:  # unresolvable forward references: fall back to the raw annotations
        hints = getattr(func, "__annotations__", {})
    fields: dict[str, Any] = {}
    for pname, param in inspect.signature(func).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
            raise UserError(f"Tool {tool_name!r}: parameter {pname!r} must be an ordinary named parameter "
                            "(no *args, **kwargs or positional-only parameters).")
        if pname == context_param:
            continue
        default = ... if param.default is param.empty else param.default
        fields[_field(pname)] = (hints.get(pname, Any), Field(default, alias=pname, description=docs.get(pname)))
    config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)
    try:
        return create_model(f"{tool_name}_arguments", __config__=config, **fields)
    except Exception as exc:
        raise UserError(f"Tool {tool_name!r}: cannot build a schema from its type hints ({exc}).") from exc


def _field(param_name: str) -> str:
    # Prefixed so that parameters such as `json` or `schema` never clash with BaseModel attributes.
    return f"p_{param_name}"


def _context_param(func: Callable[..., Any], tool_name: str) -> tuple[str | None, type | None]:
    """The parameter that receives the run context, and the class it declares (decided here, once)."""
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception:  # unresolvable forward references: fall back to the raw annotations
        hints = getattr(func, "__annotations__", {})
    found: list[tuple[str, type | None]] = []
    for pname in inspect.signature(func).parameters:
        annotation: Any = hints.get(pname)
        if typing.get_origin(annotation) is Annotated and CONTEXT_MARKER in annotation.__metadata__:
            base = annotation.__origin__
            found.append((pname, base if isinstance(base, type) else None))
        elif pname == "context":  # by name (agentsilex 1.0 behaviour); a class it declares is checked at run start
            declared = isinstance(annotation, type) and annotation not in (*_PLAIN_TYPES, Any, object)
            found.append((pname, annotation if declared else None))
        elif _is_context_class(annotation):
            found.append((pname, annotation))
    if len(found) > 1:
        raise UserError(f"Tool {tool_name!r}: parameters {[p for p, _ in found]} would all receive the run context; "
                        "keep one (named `context` or annotated Context[T]).")
    return found[0] if found else (None, None)


def _is_context_class(annotation: Any) -> bool:
    """A class pydantic cannot describe as JSON (not a model, not a plain type) can only be the context."""
    if not isinstance(annotation, type) or annotation in _PLAIN_TYPES or issubclass(annotation, BaseModel):
        return False
    try:
        TypeAdapter(annotation).json_schema()
    except Exception:
        return True
    return False


def _check_against_schema(tool_name: str, schema: dict, data: dict, raw: Any) -> dict[str, Any]:
    known = schema.get("properties") or {}
    missing = [name for name in schema.get("required") or [] if name not in data]
    unknown = [name for name in data if name not in known] if schema.get("additionalProperties") is False else []
    if missing or unknown:
        problems = [f"{name}: Field required" for name in missing] + [f"{name}: not a parameter" for name in unknown]
        raise ToolArgumentsError(f"Invalid arguments for tool {tool_name!r}: " + "; ".join(problems)
                                 + ". Fix them and call again.", tool_name=tool_name,
                                 arguments=raw if isinstance(raw, str) else None)
    return data


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


def _describe_validation(tool_name: str, exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "(arguments)"
        got = "" if error["type"] == "missing" else f" (got {error.get('input')!r:.60})"
        problems.append(f"{where}: {error['msg']}{got}")
    return f"Invalid arguments for tool {tool_name!r}: " + "; ".join(problems) + ". Fix them and call again."


def _strip_titles(schema: Any) -> Any:
    """Drop pydantic's auto-generated `title` keywords (noise for the model), keeping properties named title."""
    if isinstance(schema, list):
        return [_strip_titles(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    return {key: (_strip_titles(value) if key != "properties" else
                  {name: _strip_titles(sub) for name, sub in value.items()})
            for key, value in schema.items() if not (key == "title" and isinstance(value, str))}
