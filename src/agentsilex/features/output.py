"""Structured output: `Agent(output_type=...)` makes `final_output` a validated object.

Three ways to ask the model for it, chosen per request:
- "native": `response_format` with the JSON schema (the provider enforces it);
- "tool": a `final_answer` tool whose arguments are the output, for providers that cannot combine
  `response_format` with tools;
- "prompted": the schema in the system prompt, for providers without `response_format` at all.
A model declares `supports_response_format` / `supports_response_format_with_tools` itself (both default
to True; `LiteLLMModel` answers from LiteLLM's model table). The mode is decided once per request, in
`build_request`, and carried on it (`ModelRequest.output_mode`). `OpenAIHTTPModel` answers from the same
table, so a model string is asked the same way on both paths. A server that rejects `response_format` anyway
is asked again without it (`without_response_format`; the model object remembers). Force a way with
`output_type=OutputSpec(MyType, mode="tool")`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from .. import messages
from ..engine.capability import AlreadyAnswered, FinalAnswer, ModelCall, Retry, Step
from ..errors import ModelBehaviorError, ResponseFormatNotSupportedError
from ..result import answer
from ..wrapping import Capability, intercept
from .output_spec import ANSWER_TOOL, MODES, OutputSpec, spec_for, structured  # noqa: F401 (public here too)


class StructuredOutput(Capability):
    """`Agent(output_type=...)`: how the output is asked for (prepare), a final_answer call (decide), a text answer
    validated before it is stored, with one retry (guard), and a server that rejects response_format asked again
    in another mode (wrap)."""

    def prepare(self, request: Any, step: Step) -> Any:
        agent = step.agent
        if not structured(agent):
            return request
        request.output_mode = mode = mode_for(agent, step.model, bool(agent.tools or agent.handoffs))
        if mode == "native":
            request.response_format = response_format(agent)
        elif mode == "prompted":
            request.messages = with_schema_note(request.messages, agent)
        else:
            request.tools = [*request.tools, answer_tool(agent)]
        return request

    def decide(self, call: dict, step: Step) -> Any:
        if call["function"]["name"] != ANSWER_TOOL or self._mode(step) != "tool":
            return None
        value, problem = parse(step.agent, call["function"]["arguments"], truncated=_truncated(step))
        if problem is not None:
            _count_retry(step, problem)
            return AlreadyAnswered(call, answer(call, f"Error: {retry_note(problem, 'tool')}", failed=True))
        if any(isinstance(d, FinalAnswer) for d in step.decisions):
            return AlreadyAnswered(call, answer(call, "Ignored: a final answer was already given."))
        return FinalAnswer(call, value, answer(call, "Final answer received."))

    def guard(self, step: Step) -> None:
        if step.phase != "commit" or not step.final or step.message.get("tool_calls") or not structured(step.agent):
            return
        value, problem = parse(step.agent, step.output, truncated=_truncated(step))
        if problem is not None:
            _count_retry(step, problem)
            raise Retry(retry_note(problem, self._mode(step)))
        step.output = value

    def wrap(self, loop: Any) -> Any:
        return intercept(loop, after=self._rejected)

    def _rejected(self, call: Any, response: Any, error: BaseException | None) -> None:
        if isinstance(call, ModelCall) and isinstance(error, ResponseFormatNotSupportedError) and call.agent:
            without_response_format(call.agent, call.model, error)
            raise Retry("asked again without response_format") from error

    @staticmethod
    def _mode(step: Step) -> str | None:
        if step.request is not None:  # the mode this message answers; a resumed step's is decided again
            return step.request.output_mode
        return mode_for(step.agent, step.model or _model(step.agent), bool(step.agent.tools or step.agent.handoffs))


def _model(agent: Any) -> Any:
    from ..models import resolve_model

    return resolve_model(agent.model)


def _truncated(step: Step) -> bool:
    return step.run.result.finish_reason == "length"


def _count_retry(step: Step, problem: str) -> None:
    """One retry of an invalid structured output per agent and run; the second failure raises."""
    retries = step.run.state.setdefault("output.retries", {})
    if retries.get(step.agent.name, 0) >= 1:
        raise ModelBehaviorError(
            f"Agent {step.agent.name!r} gave an invalid final output again after one retry: {problem} "
            "Simplify the output_type, describe it in the instructions, or use a stronger model.")
    retries[step.agent.name] = retries.get(step.agent.name, 0) + 1


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
    # Declared by the model itself (see the Model protocol); a model that says nothing supports it.
    return bool(getattr(model, capability, True))


def response_format(agent: Any) -> dict:
    """"native" mode: the JSON schema as `response_format` (the provider enforces it)."""
    spec = spec_for(agent.output_type)
    name = re.sub(r"[^a-zA-Z0-9_-]", "_", getattr(spec.type, "__name__", "final_output"))[:64]
    return {"type": "json_schema", "json_schema": {"name": name, "schema": spec.schema, "strict": False}}


def without_response_format(agent: Any, model: Any, rejected: Exception) -> None:
    """After a server rejected `response_format`: the model object remembers (`supports_response_format = False`),
    so the next request is asked in prompted or tool mode. A mode forced with `OutputSpec(mode="native")` is kept:
    the rejection is raised, with what to do next."""
    if spec_for(agent.output_type).mode == "native":
        rejected.add_note("The server does not take response_format: use OutputSpec(..., mode='prompted') or 'tool'.")
        raise rejected
    try:
        model.supports_response_format = False
    except AttributeError:
        raise rejected from None


def answer_tool(agent: Any) -> dict:
    """"tool" mode: the `final_answer` tool whose arguments are the output."""
    return {"type": "function", "function": {
        "name": ANSWER_TOOL, "description": "Give your final answer. Call this exactly once, when done.",
        "parameters": spec_for(agent.output_type).schema}}


def with_schema_note(history: list[dict], agent: Any) -> list[dict]:
    """"prompted" mode: the schema in the system prompt (merged into the first system message)."""
    note = ("Answer with a single JSON value and nothing else, matching this JSON schema:\n"
            + json.dumps(spec_for(agent.output_type).schema))
    if history and history[0].get("role") == "system":
        return [messages.system(history[0]["content"] + "\n\n" + note), *history[1:]]
    return [messages.system(note), *history]


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

