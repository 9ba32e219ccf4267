"""What is sent to the model, and why: the request for the next model call is built here, in one function.

`build_request` reads top to bottom:

1. instructions    the agent's system prompt (a function of the run context, if it is one);
2. stored history  `session.get_dialogs()`, as stored (a copy: nothing below changes the session through it);
3. repair          a tool call with no result gets a marked "interrupted" result, orphans go (history.py);
4. reasoning       reasoning fields go back only to the provider that wrote them (models/reasoning.py);
5. tools           the agent's tools enabled on this step, its settings (a forcing `tool_choice` only on the
                   agent's first request), and the Runner's model timeouts;
6. capabilities    each `prepare(request, step)`, in order: the only other place a request changes. What a run
                   has switched on, in this order: history processors (the seed's `before_llm_call_callbacks`,
                   memory strategies, `Runner(history_processors=...)`), the handoff in effect (its input filter and
                   the handoff tools), structured output (response_format, the final_answer tool, or the schema in
                   the system prompt), cache markers, your own capabilities, and last the hooks
                   (`RunHooks.before_model_call`);
7. retry note      when a guard asked for another answer: the rejected answer and its note, for this request only.

With nothing switched on, that is `[{"role": "system", "content": instructions}] + session.get_dialogs()` and the
tools' schemas.
"""

from __future__ import annotations

from typing import Any, Callable, Generator

from .. import messages
from ..errors import UserError
from ..history import repair_history
from ..models import ModelRequest, ModelResponse
from .capability import ModelCall


def build_request(run: Any, step: Any) -> Generator[ModelCall, ModelResponse, ModelRequest]:
    """The request for the next model call, from the ordered steps in this module's docstring."""
    agent, context, options = run.agent, run.context, run.options
    # 1. Instructions
    instructions = step.instructions = agent.render_instructions(context)
    # 2-4. Stored history, repaired, each provider's reasoning for itself only
    history = history_for(run.session, step.model)
    sent = [messages.system(instructions), *history] if instructions else history
    # 5. Tools and settings
    settings = agent.model_settings
    if not run.first and agent.reset_tool_choice and settings.tool_choice not in (None, "auto", "none"):
        settings = settings.merged(tool_choice=None)  # forced once; now the model may answer (omitted = auto)
    request = ModelRequest(sent, agent.tool_specs(context), settings, timeout=options.model_timeout,
                           idle_timeout=options.stream_idle_timeout, connect_timeout=options.connect_timeout)
    # 6. Capabilities
    for prepare in run.plugs["prepare"]:
        request = yield from _prepared(prepare, request, step)
    # 7. Retry note
    if run.retry:
        request.messages = [*request.messages, *run.retry]
    return request


def history_for(session: Any, model: Any) -> list[dict]:
    """Steps 2-4: the stored history as it may be sent to `model` (a capability that edits the stored history
    reads it again with this)."""
    history = repair_history(list(session.get_dialogs()))
    if not messages.carries_reasoning(history):
        return history
    from ..models import reasoning

    return reasoning.for_provider(history, reasoning.provider_of(model))


def _prepared(prepare: Callable, request: ModelRequest, step: Any) -> Generator[ModelCall, Any, ModelRequest]:
    changed = prepare(request, step)
    if hasattr(changed, "send") and hasattr(changed, "throw"):  # it needs a model first (a summary)
        from ..wrapping import calls_of

        changed = yield from calls_of(changed, step.run)
    if changed is None:  # edited in place
        return request
    if not isinstance(changed, ModelRequest):
        raise UserError(f"{prepare!r} returned {type(changed).__name__}; prepare(request, step) must return the "
                        "ModelRequest to send (or None after editing it in place).")
    return changed
