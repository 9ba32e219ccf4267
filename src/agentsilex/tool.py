"""`@tool`: a typed, documented function becomes a tool with a JSON schema and validated arguments."""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
import typing
from dataclasses import dataclass, field
from typing import Any, Callable

import docstring_parser
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from .errors import ToolArgumentsError, UserError

_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
# Annotations that can never be a typed run context (they describe ordinary arguments).
_PLAIN_TYPES = (str, int, float, bool, bytes, list, dict, tuple, set, frozenset, type(None))


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
    _arguments_model: type[BaseModel] | None = field(default=None, repr=False)
    _variants: dict[type, Tool] = field(default_factory=dict, repr=False)

    @property
    def parameters_specification(self) -> dict[str, Any]:
        """The agentsilex 1.0 name for `parameters`."""
        return self.parameters

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.function)

    def spec(self) -> dict[str, Any]:
        """The tool as the OpenAI `tools` list entry the model sees."""
        return {"type": "function",
                "function": {"name": self.name, "description": self.description, "parameters": self.parameters}}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)

    @classmethod
    def from_schema(cls, name: str, description: str, parameters: dict[str, Any], fn: Callable[..., Any]) -> Tool:
        """A tool from a JSON schema sent unchanged (e.g. an MCP server's); `fn`, sync or async, gets keywords."""
        if not _NAME_PATTERN.match(name or "") or not isinstance(parameters, dict) or not callable(fn):
            raise UserError(f"Tool.from_schema needs a name of 1-64 letters, digits, '_' or '-', a JSON schema "
                            f"dict and a function; got {name!r}, {type(parameters).__name__}, {fn!r}.")
        return cls(name=name, description=description or "", function=fn, parameters=parameters)

    def parse_arguments(self, raw: str | dict | None) -> dict[str, Any]:
        """Validate the model's arguments (a JSON string) against the signature; return keyword arguments."""
        data = _decode_arguments(self.name, raw)
        if self._arguments_model is None:  # Tool.from_schema: the schema's owner validates the rest
            if missing := [key for key in self.parameters.get("required") or [] if key not in data]:
                raise ToolArgumentsError(f"Invalid arguments for tool {self.name!r}: missing required {missing}. Fix "
                                         "them and call again.", tool_name=self.name, arguments=str(raw))
            return data
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

    def for_context(self, context: Any) -> Tool:
        """This tool with a parameter annotated with the context's type bound to the run context."""
        if self.context_param is not None or context is None or isinstance(context, dict) or not self._arguments_model:
            return self
        kind = type(context)
        if kind not in self._variants:
            param = _typed_context_param(self.function, kind)
            bound = None if param is None else _build(self.function, self.name, self.description,
                                                      context_param=param)
            self._variants[kind] = self if bound is None else dataclasses.replace(
                self, parameters=bound.parameters, context_param=param, _arguments_model=bound._arguments_model,
                _variants={})
        return self._variants[kind]


def tool(function: Callable[..., Any] | None = None, *, name: str | None = None,
         description: str | None = None, needs_approval: bool | Callable[[Any, dict], bool] = False,
         input_guardrails: list[Callable[..., Any]] | None = None,
         output_guardrails: list[Callable[..., Any]] | None = None, timeout: float | None = None) -> Any:
    """Turn a function into a `Tool`; use bare (`@tool`) or with options (`@tool(name=..., description=...)`)."""
    def wrap(func: Callable[..., Any]) -> Tool:
        if isinstance(func, Tool):
            return func
        if not callable(func):
            raise UserError(f"@tool needs a function, got {type(func).__name__}.")
        params = inspect.signature(func).parameters
        context_param = "context" if "context" in params else None
        if not (isinstance(needs_approval, bool) or callable(needs_approval)):
            raise UserError(f"@tool(needs_approval=...) must be True/False or fn(context, arguments) -> bool, "
                            f"got {needs_approval!r}.")
        if not all(callable(g) for g in (*(input_guardrails or []), *(output_guardrails or []))):
            raise UserError("@tool guardrails must be functions.")
        if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
            raise UserError(f"@tool(timeout=...) must be a positive number of seconds, got {timeout!r}.")
        built = _build(func, name, description, context_param=context_param)
        built.needs_approval = needs_approval
        built.input_guardrails = list(input_guardrails or [])
        built.output_guardrails = list(output_guardrails or [])
        built.timeout = timeout
        return built

    return wrap if function is None else wrap(function)


def as_tool(item: Any) -> Tool:
    """Accept a `Tool` or a plain callable (wrapped with `@tool`); reject anything else."""
    if isinstance(item, Tool):
        return item
    if callable(item) and not isinstance(item, type):
        return tool(item)
    raise UserError(f"Agent tools must be functions or @tool objects, got {item!r}. "
                    "Decorate the function with @tool or pass the function itself.")


def _build(func: Callable[..., Any], name: str | None, description: str | None, *,
           context_param: str | None) -> Tool:
    tool_name: str = name or getattr(func, "__name__", None) or ""
    if not _NAME_PATTERN.match(tool_name):
        raise UserError(f"Tool name {tool_name!r} is invalid: use 1-64 letters, digits, '_' or '-'. "
                        "Pass @tool(name=...) to choose another.")
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
                context_param=context_param, _arguments_model=model)


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


def _typed_context_param(func: Callable[..., Any], kind: type) -> str | None:
    try:
        hints = typing.get_type_hints(func)
    except Exception:
        return None
    for pname, annotation in hints.items():
        if (pname != "return" and isinstance(annotation, type) and annotation not in _PLAIN_TYPES
                and issubclass(kind, annotation)):
            return pname
    return None


def _decode_arguments(tool_name: str, raw: str | dict | None) -> dict[str, Any]:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    data = raw
    if isinstance(raw, str):
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ToolArgumentsError(
                f"Arguments for tool {tool_name!r} are not valid JSON ({exc.msg} at position {exc.pos}). "
                "Send a JSON object with the tool's parameters.", tool_name=tool_name, arguments=raw) from None
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
