"""The JSON schema of a `@tool` function, from its type hints and docstring, and the validator of its arguments.

Loaded the first time `@tool` wraps a function (it brings pydantic and docstring_parser): parameters become a
pydantic model (defaults, `Optional`, `Literal`, enums, nested models; per-parameter descriptions from a Google,
NumPy or reST docstring), whose JSON schema, without pydantic's `title` noise, is what the model sees.
"""

from __future__ import annotations

import inspect
import typing
from typing import Annotated, Any, Callable

import docstring_parser
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model

from .errors import ToolArgumentsError, UserError


def validated(tool: Any, data: dict[str, Any], raw: Any) -> dict[str, Any]:
    """The model's arguments checked against the function's signature, as keyword arguments (a tool built by
    hand: against its schema's `required` and `additionalProperties`)."""
    if tool._arguments_model is None:
        return _check_against_schema(tool.name, tool.parameters, data, raw)
    try:
        checked = tool._arguments_model.model_validate(data)
    except ValidationError as exc:
        raise ToolArgumentsError(_describe_validation(tool.name, exc), tool_name=tool.name,
                                 arguments=raw if isinstance(raw, str) else None) from None
    return {name: getattr(checked, _field(name)) for name in tool.parameters.get("properties", {})}


def check_fields(tool: Any, context: Any, plain_types: tuple[type, ...]) -> None:
    """Refuse a run context that a parameter the model fills in is annotated with (surely meant as the context)."""
    for name, found in tool._arguments_model.model_fields.items():
        kind = found.annotation
        if isinstance(kind, type) and kind not in (*plain_types, Any, object) and isinstance(context, kind):
            raise UserError(f"Tool {tool.name!r}: parameter {found.alias or name!r} is annotated with the run "
                            f"context's class {kind.__name__}, but the model would fill it in. Annotate it "
                            f"Context[{kind.__name__}] (or name it `context`) to receive the run context.")


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


def build(func: Callable[..., Any], tool_name: str, description: str | None, marker: Any,
          plain_types: tuple[type, ...]) -> dict[str, Any]:
    """The fields of a Tool for `func`: its description, the schema of its parameters, the parameter that receives
    the run context (named `context`, annotated with `marker` (Context[T]), or a class pydantic cannot describe,
    never one of `plain_types`) and the pydantic model that validates the model's arguments."""
    context_param, context_type = _context_param(func, tool_name, marker, plain_types)
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
    return dict(name=tool_name, description=description, function=func, parameters=schema,
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


def _context_param(func: Callable[..., Any], tool_name: str, marker: Any,
                   plain_types: tuple[type, ...]) -> tuple[str | None, type | None]:
    """The parameter that receives the run context, and the class it declares (decided here, once)."""
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception:  # unresolvable forward references: fall back to the raw annotations
        hints = getattr(func, "__annotations__", {})
    found: list[tuple[str, type | None]] = []
    for pname in inspect.signature(func).parameters:
        annotation: Any = hints.get(pname)
        if typing.get_origin(annotation) is Annotated and marker in annotation.__metadata__:
            base = annotation.__origin__
            found.append((pname, base if isinstance(base, type) else None))
        elif pname == "context":  # by name (agentsilex 1.0 behaviour); a class it declares is checked at run start
            declared = isinstance(annotation, type) and annotation not in (*plain_types, Any, object)
            found.append((pname, annotation if declared else None))
        elif _is_context_class(annotation, plain_types):
            found.append((pname, annotation))
    if len(found) > 1:
        raise UserError(f"Tool {tool_name!r}: parameters {[p for p, _ in found]} would all receive the run context; "
                        "keep one (named `context` or annotated Context[T]).")
    return found[0] if found else (None, None)


def _is_context_class(annotation: Any, plain_types: tuple[type, ...]) -> bool:
    """A class pydantic cannot describe as JSON (not a model, not a plain type) can only be the context."""
    if not isinstance(annotation, type) or annotation in plain_types or issubclass(annotation, BaseModel):
        return False
    try:
        TypeAdapter(annotation).json_schema()
    except Exception:
        return True
    return False


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
