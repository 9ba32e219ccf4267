"""What a structured output is: the output type as pydantic validates it (`OutputSpec`), and the name of tool mode's
answer tool. A leaf (pydantic only), so both the capability that asks for the output (output.py) and the streamed
partial objects (partial_output.py, loaded by the stream reassembly) read it without importing each other."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter

from ..errors import UserError

ANSWER_TOOL = "final_answer"
MODES = ("native", "tool", "prompted")


@dataclass(frozen=True)
class OutputSpec:
    """An output type plus how to ask for it (`mode=None` chooses per model)."""

    type: Any
    mode: str | None = None
    adapter: Any = field(default=None, compare=False, repr=False)
    type_schema: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.mode is not None and self.mode not in MODES:
            raise UserError(f"OutputSpec mode must be one of {MODES} or None, got {self.mode!r}.")
        try:
            adapter = TypeAdapter(self.type)
            object.__setattr__(self, "type_schema", adapter.json_schema())
        except Exception as exc:
            raise UserError(f"output_type {self.type!r} cannot be validated by pydantic ({exc}). Use a pydantic "
                            "model, a dataclass, or a type such as list[str].") from exc
        object.__setattr__(self, "adapter", adapter)

    @property
    def wrapped(self) -> bool:
        """Non-object types travel as {"response": value}: providers want an object at the schema root."""
        return self.type_schema.get("type") != "object"

    @property
    def schema(self) -> dict:
        if self.wrapped:
            return {"type": "object", "properties": {"response": self.type_schema}, "required": ["response"]}
        return self.type_schema


def spec_for(output_type: Any) -> OutputSpec:
    """The OutputSpec of an agent's output_type (built once per type: schemas are not free)."""
    if isinstance(output_type, OutputSpec):
        return output_type
    try:
        return _cached_spec(output_type)
    except TypeError:  # an unhashable type object
        return OutputSpec(output_type)


@functools.lru_cache(maxsize=256)
def _cached_spec(output_type: Any) -> OutputSpec:
    return OutputSpec(output_type)


def structured(agent: Any) -> bool:
    """Whether the agent wants a validated output (`output_type=str` is the same as none: plain text)."""
    return agent.output_type is not None and agent.output_type is not str
