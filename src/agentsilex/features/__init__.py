"""Features: one module per feature, each a capability the Runner loads only when a run uses it.

`assemble` is the table of features: what switches each on, and the order they join a run (prepare, decide and
guard run in this order; wraps nest, the first innermost, nearest the loop). Tracing and the DEBUG log come last
(runner.py), outermost.

    history processors  before_llm_call_callbacks, memory or history_processors   memory.py
    limits              budgets, run_timeout or the repeated-call guard            limits.py
    rate limits         Runner(rate_limits=RateLimits(...))                        rate_limits.py
    handoffs            an agent reachable in the run has handoffs                 handoffs.py
    structured output   an agent has an output_type (not None or str)              output.py
    approval            a tool that needs approval, or a RunState to resume        approval.py
    stop on first tool  Agent(tool_use_behavior="stop_on_first_tool")              tool_control.py
    guardrails          any input, output or tool guardrail                        guardrails.py
    conversation usage  Runner(conversation=True) or conversation_limits           conversation.py
    cache markers       ModelSettings(prompt_cache=True)                           cache.py
    raise tool errors   Runner(raise_tool_errors=True)                             tool_control.py
    your capabilities   Runner(capabilities=[...])
    hooks               Runner(hooks=...)                                          hooks.py
Loaded when the first call needs them: content parts (content.py: a prompt or tool result that is not text),
agents as tools (agents_as_tools.py: `agent.as_tool()`), several of them side by side (parallel.py).
"""

from __future__ import annotations

from typing import Any

from ..errors import UserError


def assemble(runner: Any, needs: set[str], state: Any) -> list[Any]:
    """A run's capabilities, in order, from the Runner's options and what its agents `needs`."""
    found: list[Any] = []
    if runner.processors:
        from .memory import HistoryProcessors

        found.append(HistoryProcessors(runner.processors))
    if _limited(runner):
        from .limits import RunGuards

        found.append(RunGuards(runner.limits, runner.timeouts.run, runner.settings))
    found.extend([runner.rate_limits] if runner.rate_limits is not None else [])  # sees the deadline RunGuards sets
    if "handoffs" in needs:
        from .handoffs import Handoffs

        found.append(Handoffs())
    if "output" in needs:
        from .output import StructuredOutput

        found.append(StructuredOutput())
    if "approval" in needs or state is not None:
        from .approval import Approval

        found.append(Approval(runner.approval_key, state))
    if "stop_on_first_tool" in needs:
        from .tool_control import StopOnFirstTool

        found.append(StopOnFirstTool())
    if "guardrails" in needs:
        from .guardrails import Guardrails

        found.append(Guardrails())
    if runner.conversation or runner.conversation_limits is not None:
        from .conversation import UsageMeter

        found.append(UsageMeter(runner.conversation_limits))
    if "cache" in needs:
        from .cache import CacheMarkers

        found.append(CacheMarkers())
    if runner.raise_tool_errors:
        from .tool_control import RaiseToolErrors

        found.append(RaiseToolErrors())
    found.extend(runner.capabilities)
    if runner.hooks is not None:
        from .hooks import HooksCapability

        found.append(HooksCapability(runner.hooks))
    return found


def _limited(runner: Any) -> bool:
    limits = runner.limits
    budgets = limits is not None and any(getattr(limits, name) is not None for name in (
        "max_total_tokens", "max_tool_calls", "max_cost_usd"))
    return budgets or runner.timeouts.run is not None or runner.settings["max_repeated_tool_calls"] is not None


def check_options(runner: Any) -> None:
    """The Runner options a feature checks itself, before anything runs (each loads that feature)."""
    if runner.limits is not None or runner.settings["max_repeated_tool_calls"] is not None:
        from .limits import check_options as check_limits

        check_limits(runner.limits, runner.settings)
    if runner.conversation_limits is not None:
        from .limits import ConversationLimits

        if not isinstance(runner.conversation_limits, ConversationLimits):
            raise UserError(f"Runner(conversation_limits=...) must be a ConversationLimits, "
                            f"got {runner.conversation_limits!r}.")
    if runner.rate_limits is not None:
        from .rate_limits import RateLimits

        if not isinstance(runner.rate_limits, RateLimits):
            raise UserError(f"Runner(rate_limits=...) must be a RateLimits({{model: {{'rpm': ..., 'tpm': ...}}}}), "
                            f"got {runner.rate_limits!r:.80}.")
    if runner.hooks is not None:
        from .hooks import RunHooks

        if not isinstance(runner.hooks, RunHooks):
            raise UserError(f"hooks must be a RunHooks (subclass it), got {type(runner.hooks).__name__}.")
