"""One call to a served tool or agent, held to the rules a run applies (server.py routes calls here).

A run never lets a tool skip its approval or its guardrails; serving it over MCP must not either:
- a call that `needs_approval` runs only on an explicit approval. When the client supports elicitation, its
  user is asked (approve / reject); otherwise the call is refused with an error that names the approval.
- the tool's input guardrails see the arguments before it runs, its output guardrails the result after.
- a served agent whose run pauses for approval answers an error listing the waiting calls (nothing of them
  ran), never an empty success: a run served over MCP cannot wait for a person.
- every error is one redacted line (`agentsilex.redaction`), as a run-side tool error is; the server's own
  log keeps a redacted traceback of anything unexpected.
"""

from __future__ import annotations

import inspect
import json
import logging
import traceback
from dataclasses import dataclass
from typing import Any, Callable

import anyio
from mcp import types
from mcp.server import ServerRequestContext

from ..errors import AgentsilexError
from ..events import ToolCallEvent, ToolResponseEvent
from ..features.approval import needs_approval
from ..features.guardrails import check_tool
from ..messages import to_text
from ..redaction import redact
from ..runner import Runner
from ..tool import Tool
from .errors import MCPApprovalRequired

logger = logging.getLogger("agentsilex.mcp")
_ASKS_PEOPLE = types.ClientCapabilities(elicitation=types.ElicitationCapability())
_APPROVAL_FORM = {"type": "object", "required": ["approve"], "properties": {"approve": {
    "type": "boolean", "title": "Approve", "description": "true runs the tool; false refuses the call."}}}
_SHOWN = 2_000  # characters of the arguments shown in the approval question


@dataclass(frozen=True)
class Served:
    """What a served name stands for: the tool (an agent's is its `as_tool()`), and how calls run."""

    item: Tool
    agent: Any  # the Agent, or None for a plain tool
    server: str
    context: Any
    make_runner: Callable[[], Runner]


async def call(ctx: ServerRequestContext, served: Served, arguments: dict) -> types.CallToolResult:
    """Run one call; an error is an MCP error result (`isError`) with one redacted line."""
    try:
        text = await _call(ctx, served, arguments)
    except Exception as exc:
        return failure(served.item.name, exc)
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)])


def failure(name: str, exc: BaseException) -> types.CallToolResult:
    text = redact(f"{type(exc).__name__}: {exc}")
    if isinstance(exc, AgentsilexError):
        logger.warning("served MCP tool %r failed: %s", name, text)
    else:  # unexpected: the operator gets the traceback, redacted like everything else
        logger.warning("served MCP tool %r failed: %s\n%s", name, text,
                       redact("".join(traceback.format_exception(exc))))
    return error_result(text)


def error_result(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)


async def _call(ctx: ServerRequestContext, served: Served, arguments: dict) -> str:
    item, context = served.item, served.context
    parsed = item.parse_arguments(arguments)
    call_id = f"mcp-{ctx.request_id}"
    # The order of a run: the approval (the decide phase), then the input guardrails, the call, the output ones.
    if needs_approval(item, context, parsed):
        await _ask_approval(ctx, served, parsed, call_id)
    check_tool(item, context, call_id, parsed)
    if served.agent is not None:
        value = await _run_agent(ctx, served, parsed["input"])
    else:
        value = await _run_tool(item, parsed, context)
    check_tool(item, context, call_id, parsed, result=value, after=True)
    return to_text(value)


async def _ask_approval(ctx: ServerRequestContext, served: Served, arguments: dict, call_id: str) -> None:
    name = served.item.name
    shown = json.dumps(arguments, ensure_ascii=False, default=str)
    shown = redact(shown if len(shown) <= _SHOWN else shown[:_SHOWN] + "...")
    pending = [{"call_id": call_id, "tool_name": name, "arguments": shown}]
    if not ctx.session.check_client_capability(_ASKS_PEOPLE):
        raise MCPApprovalRequired(
            f"Tool {name!r} needs human approval (needs_approval) and did not run: this MCP client cannot ask "
            "a person (it does not support elicitation). Call it from a client that supports elicitation, or "
            "from an agentsilex run, which pauses for the approval.", server=served.server, pending=pending)
    try:
        answer = await ctx.session.elicit_form(f"Allow the tool {name!r} to run with these arguments?\n{shown}",
                                               _APPROVAL_FORM, related_request_id=ctx.request_id)
    except Exception as exc:  # the client failed to answer, or this transport has no way back to it
        raise MCPApprovalRequired(f"Tool {name!r} needs human approval and did not run: asking the client failed "
                                  f"({type(exc).__name__}: {exc}).", server=served.server, pending=pending) from None
    if answer.action == "accept" and (answer.content or {}).get("approve") is True:
        return
    verdict = {"accept": "rejected", "decline": "declined", "cancel": "cancelled"}.get(answer.action, answer.action)
    raise MCPApprovalRequired(f"Tool {name!r} did not run: the approval request was {verdict} by the client's "
                              "user. Do not call it again unchanged.", server=served.server, pending=pending)


async def _run_tool(item: Tool, arguments: dict, context: Any) -> Any:
    if item.is_async:
        value = await item.invoke(arguments, context)
    else:
        value = await anyio.to_thread.run_sync(item.invoke, arguments, context)
    if inspect.isawaitable(value):
        value = await value
    return value


async def _run_agent(ctx: ServerRequestContext, served: Served, prompt: str) -> Any:
    agent = served.agent
    stream = served.make_runner().run_stream_async(agent, prompt)
    step = 0
    try:
        async for event in stream:
            if isinstance(event, (ToolCallEvent, ToolResponseEvent)):
                step += 1
                verb = "calling" if isinstance(event, ToolCallEvent) else "got an answer from"
                await ctx.session.report_progress(step, None, f"{agent.name}: {verb} {event.name}")
    finally:
        await stream.aclose()
    result = stream.result
    if result.pending_approvals:
        raise _paused(served, result.pending_approvals)
    return result.final_output


def _paused(served: Served, pending: list[Any]) -> MCPApprovalRequired:
    waiting = "; ".join(f"{p.tool_name}({p.arguments}) [call {p.call_id}]" for p in pending)
    return MCPApprovalRequired(
        f"Agent {served.agent.name!r} paused for human approval, which a run served over MCP cannot wait for; "
        f"the calls waiting did not run: {waiting}. Serve those tools themselves (a client with elicitation is "
        "asked), or run the agent where a person can approve (agentsilex chat, agentsilex serve).",
        server=served.server, pending=[vars(p) for p in pending])
