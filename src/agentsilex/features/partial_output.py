"""Streamed structured output: the answer's JSON so far, as a partially validated object.

Loaded only when a run streams with an `output_type` (models/stream.py asks for it). The stream reassembly hands
over the answer's text so far (native and prompted modes) or the `final_answer` call's arguments so far (tool
mode); this module reads that prefix of a JSON document and validates what it can:

- parsing: pydantic-core's own JSON parser in partial mode (open objects, lists and a trailing string are closed),
  minus a trailing number or literal that may still grow ("12" of "125"): only complete values are shown;
- validation: the whole value if it already validates; else field by field (a pydantic model, a dataclass or a
  TypedDict gets the fields that validate so far, the others None or their default; a list its items so far, the
  last one partial). What fails validation is left out rather than shown wrong.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import types
import typing
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import from_json
from typing_extensions import is_typeddict  # also typing_extensions' TypedDict, as pydantic wants before 3.12

from .output_spec import ANSWER_TOOL, spec_for

_NOTHING = object()
_FENCE = re.compile(r"\s*(?:```[a-zA-Z]*\s*)?")
_OPEN_SCALAR = re.compile(r"[-+0-9.eE]+$|[a-z]+$")  # a number or true/false/null that may still grow


class PartialOutput:
    """Follows one streamed reply for an agent with an output_type: `update(json_so_far)` gives the object so far
    (None while there is nothing to show)."""

    def __init__(self, agent: Any, mode: str) -> None:
        self.spec, self.mode = spec_for(agent.output_type), mode
        self.shown: Any = _NOTHING

    def follows(self, name: str | None) -> bool:
        """Whether a streamed tool call is the answer (tool mode's final_answer call)."""
        return self.mode == "tool" and name == ANSWER_TOOL

    def update(self, text: str) -> Any:
        data = parse_partial(text)
        if data is _NOTHING:
            return None if self.shown is _NOTHING else self.shown
        if self.spec.wrapped:  # non-object types travel as {"response": value}
            if not isinstance(data, dict) or "response" not in data:
                return None if self.shown is _NOTHING else self.shown
            data = data["response"]
        value = partial_value(self.spec.type, data)
        if value is not _NOTHING:
            self.shown = value
        return None if self.shown is _NOTHING else self.shown


def parse_partial(text: str) -> Any:
    """The JSON value a prefix of a JSON document holds so far (a leading ``` fence is skipped), or _NOTHING."""
    start = _FENCE.match(text).end()
    if start >= len(text) or text[start] not in "{[":
        return _NOTHING  # prose, or nothing yet: no object to show
    body = text[start:].rstrip()
    if not _in_string(body):
        body = _OPEN_SCALAR.sub("", body)
    try:
        return from_json(body, allow_partial="trailing-strings")
    except ValueError:
        return _NOTHING


def _in_string(text: str) -> bool:
    inside = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = inside
        elif char == '"':
            inside = not inside
    return inside


def partial_value(kind: Any, data: Any) -> Any:
    """`data` validated as `kind` as far as it goes (see the module docstring), or _NOTHING."""
    try:
        return _adapter(kind).validate_python(data)
    except (ValidationError, TypeError):
        pass
    origin = typing.get_origin(kind)
    if isinstance(data, dict) and isinstance(kind, type) and issubclass(kind, BaseModel):
        values = _fields(data, {name: (field.alias or name, field.annotation,
                                       None if field.is_required() else field.get_default(call_default_factory=True))
                                for name, field in kind.model_fields.items()})
        return kind.model_construct(_fields_set=set(values["given"]), **values["all"])
    if isinstance(data, dict) and dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        values = _fields(data, {f.name: (f.name, hints.get(f.name, Any), _default(f))
                                for f in dataclasses.fields(kind)})
        made = object.__new__(kind)
        for name, value in values["all"].items():
            object.__setattr__(made, name, value)
        return made
    if isinstance(data, dict) and is_typeddict(kind):
        hints = typing.get_type_hints(kind)
        return _fields(data, {name: (name, hint, None) for name, hint in hints.items()})["given"]
    if isinstance(data, list) and origin in (list, tuple, set, frozenset, typing.Sequence):
        item_type = (typing.get_args(kind) or (Any,))[0]
        items = [partial_value(item_type, item) for item in data if item != {}]  # {}: an item only begun
        return [item for item in items if item is not _NOTHING]
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(kind):
            value = partial_value(option, data)
            if value is not _NOTHING and value is not None:
                return value
    return _NOTHING


def _fields(data: dict, fields: dict[str, tuple[str, Any, Any]]) -> dict[str, dict[str, Any]]:
    """{"given": the fields received that validate (partially), "all": those plus the rest as default or None}."""
    given: dict[str, Any] = {}
    for name, (key, annotation, _) in fields.items():
        if key in data or name in data:
            value = partial_value(annotation, data[key] if key in data else data[name])
            if value is not _NOTHING:
                given[name] = value
    rest = {name: default for name, (_, _, default) in fields.items() if name not in given}
    return {"given": given, "all": {**rest, **given}}


def _default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None


def _adapter(kind: Any) -> TypeAdapter:
    try:
        return _cached_adapter(kind)
    except TypeError:  # an unhashable type object
        return TypeAdapter(kind)


@functools.lru_cache(maxsize=512)
def _cached_adapter(kind: Any) -> TypeAdapter:
    return TypeAdapter(kind)
