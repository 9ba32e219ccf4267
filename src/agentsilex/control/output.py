"""Structured output: `Agent(output_type=...)` makes `final_output` a validated object.

Three ways to ask the model for it, chosen per request:
- "native": `response_format` with the JSON schema (the provider enforces it);
- "tool": a `final_answer` tool whose arguments are the output, for providers that cannot combine
  `response_format` with tools;
- "prompted": the schema in the system prompt, for providers without `response_format` at all.
A model object may declare `supports_response_format` / `supports_response_format_with_tools` (both
default to True); for LiteLLM models and the native OpenAI path the answer comes from LiteLLM's model table,
the same for both. A server that rejects `response_format` anyway is asked again without it (and the model
object remembers). Force a way with `output_type=OutputSpec(MyType, mode="tool")`.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import TypeAdapter, ValidationError

from .. import messages
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


def mode_for(agent: Any, model: Any, has_tools: bool) -> str | None:
    """Which way this request asks for structured output (None: the agent wants plain text)."""
    if not structured(agent):
        return None
    spec = spec_for(agent.output_type)
    if spec.mode is not None:
        return spec.mode
    if not _supports(model, "supports_response_format"):
        return "tool" if has_tools else "prompted"
    if has_tools and not _supports(model, "supports_response_format_with_tools"):
        return "tool"
    return "native"


def _supports(model: Any, capability: str) -> bool:
    # The same model string gets the same answer on both paths: a model the table does not know (a local or
    # self-hosted one) gets the prompted or tool mode, and a server that rejects response_format is caught too.
    declared = getattr(model, capability, None)
    if declared is not None:
        return bool(declared)
    if type(model).__name__ == "LiteLLMModel":
        from ..models.litellm import load_litellm

        try:
            return bool(load_litellm().supports_response_schema(model=model.name))
        except Exception:
            return False
    if type(model).__name__ == "OpenAIHTTPModel":
        from ..models.table import model_info

        return bool(model_info(model.name).get("supports_response_schema"))
    return True


def prepare(request: Any, agent: Any, model: Any) -> Any:
    """The request, changed to ask for the agent's output type (unchanged without an output_type)."""
    mode = mode_for(agent, model, bool(request.tools))
    if mode is None:
        return request
    spec = spec_for(agent.output_type)
    if mode == "native":
        name = re.sub(r"[^a-zA-Z0-9_-]", "_", getattr(spec.type, "__name__", "final_output"))[:64]
        return replace(request, response_format={
            "type": "json_schema", "json_schema": {"name": name, "schema": spec.schema, "strict": False}})
    if mode == "tool":
        answer = {"type": "function", "function": {
            "name": ANSWER_TOOL, "description": "Give your final answer. Call this exactly once, when done.",
            "parameters": spec.schema}}
        return replace(request, tools=[*request.tools, answer])
    prompt = ("Answer with a single JSON value and nothing else, matching this JSON schema:\n"
              + json.dumps(spec.schema))
    return replace(request, messages=_with_system_note(request.messages, prompt))


def without_response_format(request: Any, agent: Any, model: Any, rejected: Exception) -> Any:
    """The request again without `response_format` (prompted or tool mode), after the server rejected it.

    The model object remembers (`supports_response_format = False`), so later requests skip the failed try.
    A mode forced with `OutputSpec(mode="native")` is kept: the rejection is raised, with what to do next."""
    if spec_for(agent.output_type).mode == "native":
        rejected.add_note("The server does not take response_format: use OutputSpec(..., mode='prompted') or 'tool'.")
        raise rejected
    try:
        model.supports_response_format = False
    except AttributeError:
        raise rejected from None
    return prepare(replace(request, response_format=None), agent, model)


def _with_system_note(history: list[dict], note: str) -> list[dict]:
    if history and history[0].get("role") == "system":
        return [messages.system(history[0]["content"] + "\n\n" + note), *history[1:]]
    return [messages.system(note), *history]


def is_answer_call(agent: Any, model: Any, name: str) -> bool:
    return name == ANSWER_TOOL and structured(agent) and mode_for(agent, model, True) == "tool"


def parse(agent: Any, text: Any, *, truncated: bool = False) -> tuple[Any, str | None]:
    """(validated output, None), or (None, what to tell the model) when the answer does not validate.

    `truncated`: the reply stopped at the token limit (finish_reason "length"), which the note says, so the
    retry can be shorter."""
    if not structured(agent):
        return text, None
    if isinstance(text, str):
        fenced = re.fullmatch(r"\s*```(?:json)?\s*(.*?)\s*```\s*", text, re.DOTALL)
        try:  # strict=False: raw newlines inside strings, as small local models write them
            text = json.loads(fenced.group(1) if fenced else text, strict=False)
        except json.JSONDecodeError as exc:
            cut = (" It was cut off at the token limit (finish_reason 'length'): give a shorter answer, or raise "
                   "ModelSettings(max_tokens=...).") if truncated else ""
            # JSON's messages may end in "at" ("Unterminated string starting at"): no "at at position".
            return None, f"Your answer is not valid JSON ({exc.msg.removesuffix(' at')} at position {exc.pos}).{cut}"
    spec = spec_for(agent.output_type)
    if spec.wrapped and isinstance(text, dict) and set(text) == {"response"}:
        text = text["response"]
    try:
        return spec.adapter.validate_python(text), None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}"
                             for e in exc.errors(include_url=False))
        return None, f"Your answer does not match the required output schema: {problems}."


def retry_note(problem: str, mode: str | None) -> str:
    how = f"Call the {ANSWER_TOOL} tool" if mode == "tool" else "Answer again with only the JSON value"
    return f"{problem} {how}, matching the schema exactly."

