"""What is sent to the model, and why: the request for the next model call is built here, in one function.

`build_request` reads top to bottom, one step after the other:

1. instructions       the agent's system prompt (a function of the run context, if it is one);
2. stored history     `session.get_dialogs()`, as stored;
3. repair             a tool call with no result gets a marked "interrupted" result, orphans go (history.py);
4. history processors `(messages, context) -> messages`, in order: everything that edits what is sent. The
                      seed's `before_llm_call_callbacks`, the memory strategies, `Runner(history_processors=)`,
                      the input filter of the handoff in effect and a structured-output retry note are all
                      processors (the adapters below); the result is repaired again;
4b. reasoning         reasoning fields (`reasoning_content`, thinking blocks, provider fields) go back only to
                      the provider that wrote them, stripped for any other (models/reasoning.py);
5. output mode        how a structured `output_type` is asked for, decided once and carried on the request;
6. tools              the agent's enabled tools, its handoffs, and `final_answer` in "tool" output mode;
                      a forcing `tool_choice` only on the agent's first request (`Agent.reset_tool_choice`);
7. cache markers      with `ModelSettings(prompt_cache=True)` on a Claude model, Anthropic `cache_control`
                      markers on the system prompt and the last tool (passed on by LiteLLM);
8. hook               `RunHooks.before_model_call` may change or replace the request.

The model timeouts travel on the request too. A feature that changes what is sent adds a step (or a
processor) here, never a tweak somewhere else.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable, Generator

from .. import messages
from ..features import handoffs, output
from ..features.hooks import RunHooks
from ..errors import UserError
from ..history import repair_history
from ..models import Model, ModelRequest, ModelResponse, reasoning

# A history processor: messages in, the messages to send out. It gets a copy; the stored history stays
# whole. One that needs a model (Compaction) returns a generator that yields ModelCalls instead.
Processor = Callable[[list[dict], Any], Any]


@dataclass
class ModelCall:
    """Ask `model` for the next assistant message (answered by the driver with a ModelResponse).

    `quiet` calls (a compaction summary) are never streamed: they make no events for the caller. Past
    `deadline` (time.monotonic(), the run's run_timeout) a failed call is not retried.
    """

    model: Model
    request: ModelRequest
    agent: Any
    quiet: bool = False
    deadline: float | None = None
    trace: Any = None  # the run's spans (tracing/spans.py RunTrace) when tracing is on: the call's span parent


def build_request(agent: Any, model: Model, session: Any, context: Any, *, processors: list[Processor],
                  hooks: RunHooks, timeout: float | None, idle_timeout: float | None,
                  connect_timeout: float | None = None, trace: Any = None, first: bool = True
                  ) -> Generator[ModelCall, ModelResponse, ModelRequest]:
    """The request for the next model call, from the ordered steps in this module's docstring."""
    # 1. Instructions
    instructions = agent.render_instructions(context)
    # 2. Stored history (a copy: nothing below changes the session through it)
    history = list(session.get_dialogs())
    # 3. Repair
    history = repair_history(history)
    # 4. History processors
    if processors:
        history = yield from _process(history, processors, context, timeout, trace)
    # 4b. Reasoning
    history = reasoning.for_provider(history, reasoning.provider_of(model))
    sent = [messages.system(instructions), *history] if instructions else history
    # 5. Output mode
    mode = output_mode(agent, model)
    response_format = output.response_format(agent) if mode == "native" else None
    if mode == "prompted":
        sent = output.with_schema_note(sent, agent)
    # 6. Tools
    tools = agent.tool_specs(context) + [item.spec() for item in handoffs.handoffs_of(agent)]
    if mode == "tool":
        tools.append(output.answer_tool(agent))
    settings = agent.model_settings
    if not first and agent.reset_tool_choice and settings.tool_choice not in (None, "auto", "none"):
        settings = settings.merged(tool_choice=None)  # forced once; now the model may answer (omitted = auto)
    # 7. Cache markers
    if settings.prompt_cache and _takes_cache_markers(model):
        sent, tools = cache_markers(sent, tools)
    request = ModelRequest(sent, tools, settings, response_format=response_format, timeout=timeout,
                           idle_timeout=idle_timeout, connect_timeout=connect_timeout, output_mode=mode)
    # 8. Hook
    return hooks.before_model_call(context, agent, request) or request


def cache_markers(sent: list[dict], tools: list[dict]) -> tuple[list[dict], list[dict]]:
    """Step 7 alone: mark the system prompt and the tools (Anthropic caches everything up to a marker)."""
    marker = {"type": "ephemeral"}
    if sent and sent[0].get("role") == "system" and isinstance(sent[0].get("content"), str):
        text = sent[0]["content"]
        sent = [{"role": "system", "content": [{"type": "text", "text": text, "cache_control": marker}]}, *sent[1:]]
    if tools:
        tools = [*tools[:-1], {**tools[-1], "cache_control": marker}]
    return sent, tools


def _takes_cache_markers(model: Model) -> bool:
    """Only Anthropic models read cache_control (others cache by themselves, or reject unknown fields)."""
    name = str(getattr(model, "name", "")).lower()
    return "claude" in name or name.startswith("anthropic/")


def output_mode(agent: Any, model: Model) -> str | None:
    """Step 5 alone: None for plain text, else "native", "tool" or "prompted" (control/output.py)."""
    if not output.structured(agent):
        return None
    return output.mode_for(agent, model, bool(agent.tools or agent.handoffs))


def _process(history: list[dict], processors: list[Processor], context: Any, timeout: float | None,
             trace: Any = None) -> Generator[ModelCall, ModelResponse, list[dict]]:
    for processor in processors:
        result = processor(history, context)
        if inspect.isgenerator(result):  # it needs a model: its calls go through the driver like any other
            result = yield from _with_timeout(result, timeout, trace)
        if not isinstance(result, list):
            raise UserError(f"History processor {processor!r} returned {type(result).__name__}; it must return "
                            "the list of messages to send.")
        history = result
    # A processor of your own may cut carelessly; the provider must still get a valid history.
    return repair_history(history)


def _with_timeout(calls: Generator[Any, Any, Any], timeout: float | None,
                  trace: Any = None) -> Generator[ModelCall, ModelResponse, Any]:
    """`yield from calls`, giving each model call the Runner's model timeout, like the loop's own calls."""
    step: Callable[[Any], Any] = calls.send
    value: Any = None
    while True:
        try:
            call = step(value)
        except StopIteration as done:
            return done.value
        if call.request.timeout is None:
            call.request.timeout = timeout
        if call.trace is None:  # a processor's model call (Compaction) hangs under the run's agent span
            call.trace = trace
        try:
            step, value = calls.send, (yield call)
        except BaseException as exc:  # the driver's failure goes to the processor, as with `yield from`
            step, value = calls.throw, exc


# -- adapters: every way to edit what is sent, as a history processor ------------------------------------
def session_processors(session: Any, *, callbacks: list[Callable[[Any], Any]], memory: list[Callable],
                       history_processors: list[Processor]) -> list[Processor]:
    """The processors of one run, in order: seed callbacks, memory strategies, the Runner's own processors."""
    found: list[Processor] = []
    if callbacks:
        found.append(_CallbackProcessor(session, callbacks))
    found.extend(_MemoryProcessor(session, strategy) for strategy in memory)
    found.extend(history_processors)
    return found


class _CallbackProcessor:
    """The seed's `before_llm_call_callbacks`: each receives the session and may edit the stored history
    itself; what is sent is then the stored history, read again (they run first, so nothing is lost)."""

    def __init__(self, session: Any, callbacks: list[Callable[[Any], Any]]) -> None:
        self.session, self.callbacks = session, callbacks

    def __call__(self, history: list[dict], context: Any) -> list[dict]:
        for callback in self.callbacks:
            callback(self.session)
        return repair_history(list(self.session.get_dialogs()))


class _MemoryProcessor:
    """A memory strategy `strategy(messages, session)`: it may keep state with the session (Compaction)."""

    def __init__(self, session: Any, strategy: Callable) -> None:
        self.session, self.strategy = session, strategy

    def __call__(self, history: list[dict], context: Any) -> Any:
        return self.strategy(history, self.session)

    def __repr__(self) -> str:
        return repr(self.strategy)


def input_filter(chosen: Callable[[list[dict]], list[dict]]) -> Processor:
    """The input filter of the handoff in effect, `fn(messages) -> messages`: what the target agent sees."""
    return lambda history, context: chosen(history)


def retry_note(answer: dict, note: str) -> Processor:
    """For one request: the invalid structured answer and what to fix, after the history."""
    return lambda history, context: [*history, answer, messages.user(note)]
