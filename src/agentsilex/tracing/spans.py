"""The spans of a run, named and filled in per the OpenTelemetry GenAI semantic conventions.

A run's tree (parents are passed explicitly, never read from a global "current span", so concurrent runs in
one thread or event loop each get their own tree):

    invoke_workflow {first agent}            one per top-level run
      invoke_agent {agent}                   one per agent; a handoff ends it and starts the next one
        chat {model}                         one per model request (retries and fallbacks are span events)
        execute_tool {tool}                  one per tool call; parallel calls are siblings
          invoke_agent {sub-agent}           an agent used as a tool nests under its call

Everything here is used only when tracing is on (`setup.active_tracer()` is not None), by the Tracing capability
(capability.py); with tracing off, the Runner does not load it.
"""

from __future__ import annotations

import json
import time
from typing import Any

from . import setup

# Model-string prefixes (LiteLLM's) -> gen_ai.provider.name's well-known values.
_PROVIDERS = {"openai": "openai", "anthropic": "anthropic", "azure": "azure.ai.openai", "azure_ai": "azure.ai.inference",
              "bedrock": "aws.bedrock", "gemini": "gcp.gemini", "vertex_ai": "gcp.vertex_ai", "groq": "groq",
              "mistral": "mistral_ai", "deepseek": "deepseek", "xai": "x_ai", "cohere": "cohere",
              "perplexity": "perplexity", "watsonx": "ibm.watsonx.ai", "moonshot": "moonshot_ai"}


def provider_of(model: Any) -> str:
    """gen_ai.provider.name for a model: from its string's prefix, or what the Model object declares."""
    declared = getattr(model, "provider", None)
    if isinstance(declared, str) and declared:
        return declared
    name = model if isinstance(model, str) else getattr(model, "name", "")
    prefix = name.split("/", 1)[0] if "/" in name else ""
    if prefix == "litellm":
        return provider_of(name.split("/", 1)[1])
    if not prefix:
        return "openai" if name.startswith(("gpt", "o1", "o3", "o4", "chatgpt")) else "agentsilex"
    return _PROVIDERS.get(prefix, prefix)


def model_name_of(model: Any) -> str:
    name = model if isinstance(model, str) else getattr(model, "name", type(model).__name__)
    return name.split("/", 1)[1] if name.startswith("litellm/") else name


def _kind(name: str) -> Any:
    from opentelemetry.trace import SpanKind

    return getattr(SpanKind, name)


def _context(parent: Any) -> Any:
    if parent is None:
        return None
    from opentelemetry.trace import set_span_in_context

    return set_span_in_context(parent)


def start_span(name: str, parent: Any, attributes: dict[str, Any], kind: str = "INTERNAL") -> Any:
    tracer = setup.active_tracer()
    return tracer.start_span(name, context=_context(parent), kind=_kind(kind),
                             attributes={k: v for k, v in attributes.items() if v is not None})


def end_span(span: Any, error: BaseException | None = None, content: bool = False) -> None:
    if error is not None:
        record_error(span, error, content)
    span.end()


def record_error(span: Any, error: BaseException, content: bool = False) -> None:
    """The error's type always; its message (redacted of keys) only with content capture on: a tool's exception
    text may quote what it worked on (an email, an account number), which is content like its arguments."""
    from opentelemetry.trace import Status, StatusCode

    span.set_attribute("error.type", _error_type(error))
    text = _safe_text(str(error))[:500] if content else None
    span.add_event("exception", {"exception.type": type(error).__qualname__,
                                 **({"exception.message": text} if text is not None else {})})
    span.set_status(Status(StatusCode.ERROR, text if text is not None else type(error).__qualname__))


def _error_type(error: BaseException) -> str:
    status = getattr(error, "status_code", None)
    return str(status) if isinstance(status, int) else type(error).__qualname__


def _safe_text(text: str) -> str:
    from ..redaction import redact  # keys never reach a span, whatever the content setting

    return redact(text)


def _json(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = str(value)
    return _safe_text(text)


# ----- workflow and agents -----

def workflow_span(agent: Any, conversation_id: str | None) -> Any:
    return start_span(f"invoke_workflow {agent.name}", None, {
        "gen_ai.operation.name": "invoke_workflow", "gen_ai.agent.name": agent.name,
        "gen_ai.conversation.id": conversation_id})


def agent_span(agent: Any, parent: Any, conversation_id: str | None, prompt: Any = None,
               content: bool = False) -> Any:
    model = getattr(agent, "model", None)
    attributes = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent.name,
                  "gen_ai.request.model": model_name_of(model) if model is not None else None,
                  "gen_ai.provider.name": provider_of(model) if model is not None else None,
                  "gen_ai.conversation.id": conversation_id}
    description = getattr(agent, "description", None)
    if isinstance(description, str) and description:
        attributes["gen_ai.agent.description"] = description
    if content and isinstance(prompt, str):
        attributes["gen_ai.input.messages"] = _json([{"role": "user", "parts": [{"type": "text",
                                                                                 "content": prompt}]}])
    return start_span(f"invoke_agent {agent.name}", parent, attributes)


def event(span: Any, name: str, **attributes: Any) -> None:
    """A moment inside a span: a guardrail tripped, an approval requested, a handoff, a retry."""
    if span is not None:
        span.add_event(name, {k: v for k, v in attributes.items() if v is not None})


# ----- model requests -----

class ChatSpan:
    """One model request: attempts (retries, fallbacks) are events; the reply fills in usage and reasons."""

    def __init__(self, parent: Any, model: Any, request: Any, agent: Any, conversation_id: str | None,
                 purpose: str | None = None, content: bool = False) -> None:
        self.content = content
        self.started = time.perf_counter()
        self.model = model
        settings = getattr(request, "settings", None)
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": provider_of(model),
            "gen_ai.request.model": model_name_of(model), "gen_ai.agent.name": getattr(agent, "name", None),
            "gen_ai.conversation.id": conversation_id, "agentsilex.purpose": purpose}
        if settings is not None:
            for key, value in (("temperature", settings.temperature), ("max_tokens", settings.max_tokens),
                               ("top_p", settings.top_p)):
                attributes[f"gen_ai.request.{key}"] = value
            if settings.tool_choice is not None:
                attributes["agentsilex.request.tool_choice"] = _json(settings.tool_choice)
            for key, value in (settings.extra or {}).items():
                if key in ("seed", "frequency_penalty", "presence_penalty", "top_k") and \
                        isinstance(value, (int, float)):
                    attributes[f"gen_ai.request.{key}"] = value
        if getattr(request, "tools", None):
            attributes["agentsilex.request.tools"] = [t.get("function", {}).get("name", "") for t in request.tools]
        if content:
            attributes["gen_ai.input.messages"] = _json(request.messages)
        self.span = start_span(f"chat {model_name_of(model)}", parent, attributes, kind="CLIENT")
        self.attempts, self.tries, self.last_error = 0, 0, None

    def attempt(self, model: Any) -> None:
        """An attempt starts on `model`: after a failed one, that failure is a retry (or a fallback) event."""
        if self.tries:
            self.attempt_failed(self.last_error or TimeoutError("no reply in time"), model)
        self.tries, self.last_error = self.tries + 1, None

    def failed(self, error: BaseException) -> None:
        self.last_error = error

    def attempt_failed(self, error: BaseException, next_model: Any | None) -> None:
        """A failed attempt that will be retried (same model) or fall back (another model)."""
        self.attempts += 1
        fallback = next_model is not None and next_model is not self.model
        event(self.span, "agentsilex.retry", **{
            "agentsilex.attempt": self.attempts, "error.type": _error_type(error),
            "agentsilex.fallback.model": model_name_of(next_model) if fallback else None})
        if fallback:
            self.model = next_model
            self.span.set_attribute("agentsilex.fallback.model", model_name_of(next_model))

    def finish(self, response: Any = None, error: BaseException | None = None) -> None:
        span = self.span
        duration = time.perf_counter() - self.started
        attributes = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": provider_of(self.model),
                      "gen_ai.request.model": model_name_of(self.model)}
        if response is not None:
            usage = response.usage
            span.set_attribute("gen_ai.usage.input_tokens", usage.input_tokens)
            span.set_attribute("gen_ai.usage.output_tokens", usage.output_tokens)
            for field, key in (("cached_input_tokens", "gen_ai.usage.cache_read.input_tokens"),
                               ("cache_write_tokens", "gen_ai.usage.cache_creation.input_tokens"),
                               ("reasoning_tokens", "gen_ai.usage.reasoning.output_tokens")):
                value = getattr(usage, field, None)
                if value:
                    span.set_attribute(key, value)
            response_model = getattr(response, "model", None)
            span.set_attribute("gen_ai.response.model", response_model or model_name_of(self.model))
            reason = response.finish_reason or ("tool_calls" if response.message.get("tool_calls") else "stop")
            span.set_attribute("gen_ai.response.finish_reasons", [reason])
            response_id = getattr(response, "id", None)
            if response_id:
                span.set_attribute("gen_ai.response.id", response_id)
            if self.content:
                span.set_attribute("gen_ai.output.messages", _json([response.message]))
            _record_tokens(attributes, usage)
        if self.attempts:
            span.set_attribute("agentsilex.attempts", self.attempts + 1)
        if error is not None:
            attributes["error.type"] = _error_type(error)
        _record_duration(attributes, duration)
        end_span(span, error, self.content)


def _record_tokens(attributes: dict[str, Any], usage: Any) -> None:
    meter = setup.active_meter()
    if meter is None:
        return
    histogram = _instrument(meter, "gen_ai.client.token.usage", "{token}", "Tokens used per model request.")
    histogram.record(usage.input_tokens, {**attributes, "gen_ai.token.type": "input"})
    histogram.record(usage.output_tokens, {**attributes, "gen_ai.token.type": "output"})


def _record_duration(attributes: dict[str, Any], seconds: float) -> None:
    meter = setup.active_meter()
    if meter is None:
        return
    _instrument(meter, "gen_ai.client.operation.duration", "s", "Duration of a model request.").record(
        seconds, attributes)


_instruments: dict[tuple[int, str], Any] = {}


def _instrument(meter: Any, name: str, unit: str, description: str) -> Any:
    key = (id(meter), name)
    if key not in _instruments:
        buckets = ([1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304]
                   if unit == "{token}" else
                   [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92])
        try:
            _instruments[key] = meter.create_histogram(name, unit=unit, description=description,
                                                       explicit_bucket_boundaries_advisory=buckets)
        except TypeError:  # an older API without bucket advice
            _instruments[key] = meter.create_histogram(name, unit=unit, description=description)
    return _instruments[key]


# ----- tools -----

def tool_span(parent: Any, tool: Any, call_id: str, arguments: Any, conversation_id: str | None = None,
              content: bool = False) -> Any:
    kind = "agent" if type(tool).__name__ == "AgentTool" else \
        "extension" if getattr(tool.function, "__module__", "").startswith("agentsilex.mcp") else "function"
    attributes = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool.name,
                  "gen_ai.tool.call.id": call_id, "gen_ai.tool.type": kind,
                  "gen_ai.tool.description": (getattr(tool, "description", "") or "")[:500] or None,
                  "gen_ai.conversation.id": conversation_id}
    if content:
        attributes["gen_ai.tool.call.arguments"] = _json(arguments)
    return start_span(f"execute_tool {tool.name}", parent, attributes)


def tool_result(span: Any, value: Any = None, error: BaseException | None = None, content: bool = False) -> None:
    if error is None and content:
        span.set_attribute("gen_ai.tool.call.result", _json(value)[:10000])
    end_span(span, error, content)


# ----- one run's spans (tracing/capability.py keeps one per run when tracing is on) -----

class RunTrace:
    """The spans of one `agent_loop`: a top-level run (under its workflow span), or an agent used as a tool
    (under that tool call's span). `agent` is the span model and tool calls hang under."""

    def __init__(self, agent: Any, session: Any, parent: Any = None, prompt: Any = None) -> None:
        self.conversation_id = getattr(session, "session_id", None)
        self.content = setup.capture_content()  # read once per run
        self.top = parent is None
        self.root = workflow_span(agent, self.conversation_id) if self.top else parent
        self.agent = agent_span(agent, self.root, self.conversation_id, prompt, self.content)

    def handoff(self, source: Any, target: Any) -> None:
        """The next agent's span starts where the last one ends, under the same parent."""
        event(self.agent, "agentsilex.handoff", **{"agentsilex.handoff.to": target.name})
        end_span(self.agent)
        self.agent = agent_span(target, self.root, self.conversation_id, content=self.content)

    def tool(self, tool: Any, call_id: str, arguments: Any) -> Any:
        """The span of a call the loop runs itself (an agent used as a tool); end it with `tool_done`."""
        return tool_span(self.agent, tool, call_id, arguments, self.conversation_id, self.content)

    def tool_done(self, span: Any, value: Any = None, error: BaseException | None = None) -> None:
        tool_result(span, value, error, self.content)

    def tool_started(self, run: Any) -> tuple[Any, Any]:
        """A call the driver runs begins: its span is made current (worker threads copy the context) until
        `tool_finished`."""
        from opentelemetry import context
        from opentelemetry.trace import set_span_in_context

        span = self.tool(run.tool, run.call_id, run.arguments)
        return span, context.attach(set_span_in_context(span))

    def tool_finished(self, started: tuple[Any, Any], value: Any = None, error: BaseException | None = None) -> None:
        from opentelemetry import context

        span, token = started
        if token is not None:
            context.detach(token)
        self.tool_done(span, value, error)

    def end(self, error: BaseException | None = None) -> None:
        end_span(self.agent, error, self.content)
        if self.top:
            end_span(self.root, error, self.content)
