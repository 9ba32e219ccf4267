"""Agents and tools served over MCP: `serve_mcp(agent)` makes them tools an IDE or another framework can call.

Each agent becomes a tool taking `input` (the task); every call runs it on a fresh session, reports progress
(one notification per turn event, when the client asked for progress) and answers with its final output. Plain
tools keep their JSON schema. A failure answers the call as an MCP error result (`isError`) with one line of
text, never a traceback.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any, Callable

import anyio
from mcp import types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server

from ..agent import Agent
from ..features.agents_as_tools import AgentTool
from ..errors import AgentsilexError, UserError
from ..events import ToolCallEvent, ToolResponseEvent
from ..messages import to_text
from ..runner import Runner
from ..session import Session
from ..tool import Tool, as_tool

logger = logging.getLogger("agentsilex.mcp")


def build_mcp_server(*targets: Any, name: str = "agentsilex",
                     runner: Callable[[], Runner] | None = None) -> Server:
    """The MCP SDK's low-level `Server` for these agents and tools (mount it yourself, or use `serve_mcp`).

    `runner` makes the Runner for each agent call (default: `Runner(Session())`, a fresh session per call).
    """
    if not targets:
        raise UserError("serve_mcp needs at least one agent or tool to serve.")
    exposed: dict[str, tuple[Tool, Agent | None]] = {}
    for target in targets:
        if isinstance(target, Agent):  # its description, if it has one, is what clients read about it
            target = target.as_tool(tool_description=target.description or None)
        made = as_tool(target)
        if made.name in exposed:
            raise UserError(f"Two served tools are named {made.name!r}; rename one (agent.as_tool(tool_name=...) "
                            "or @tool(name=...)).")
        exposed[made.name] = (made, made.agent if isinstance(made, AgentTool) else None)
    make_runner = runner or (lambda: Runner(Session()))
    listing = types.ListToolsResult(tools=[
        types.Tool(name=item.name, description=item.description, input_schema=item.parameters)
        for item, _ in exposed.values()])

    async def list_tools(ctx: ServerRequestContext, params: types.PaginatedRequestParams | None
                         ) -> types.ListToolsResult:
        return listing

    async def call_tool(ctx: ServerRequestContext, params: types.CallToolRequestParams) -> types.CallToolResult:
        found = exposed.get(params.name)
        if found is None:
            return _error(f"Unknown tool {params.name!r}. Available tools: {', '.join(exposed)}.")
        item, agent = found
        try:
            if agent is not None:
                text = await _run_agent(ctx, agent, item, params.arguments or {}, make_runner)
            else:
                text = await _run_tool(item, params.arguments or {})
        except Exception as exc:
            # The client gets one line; the server's log gets the traceback of anything unexpected.
            logger.warning("served MCP tool %r failed: %s", params.name, exc,
                           exc_info=not isinstance(exc, AgentsilexError))
            return _error(f"{type(exc).__name__}: {exc}")
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)])

    return Server(name, on_list_tools=list_tools, on_call_tool=call_tool)


async def _run_agent(ctx: ServerRequestContext, agent: Agent, item: Tool, arguments: dict,
                     make_runner: Callable[[], Runner]) -> str:
    prompt = item.parse_arguments(arguments)["input"]
    stream = make_runner().run_stream_async(agent, prompt)
    step = 0
    async for event in stream:
        if isinstance(event, (ToolCallEvent, ToolResponseEvent)):
            step += 1
            verb = "calling" if isinstance(event, ToolCallEvent) else "got an answer from"
            await ctx.session.report_progress(step, None, f"{agent.name}: {verb} {event.name}")
    return to_text(stream.result.final_output)


async def _run_tool(item: Tool, arguments: dict) -> str:
    parsed = item.parse_arguments(arguments)
    if item.is_async:
        value = await item.invoke(parsed, {})
    else:
        value = await anyio.to_thread.run_sync(item.invoke, parsed, {})
    if inspect.isawaitable(value):
        value = await value
    return to_text(value)


def _error(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)


def serve_mcp(*targets: Any, name: str = "agentsilex", transport: str = "stdio", host: str = "127.0.0.1",
              port: int = 8000, path: str = "/mcp", runner: Callable[[], Runner] | None = None) -> None:
    """Serve agents and tools over MCP until stopped: stdio (the default) or streamable HTTP at host:port/path."""
    server = build_mcp_server(*targets, name=name, runner=runner)
    if transport == "stdio":
        anyio.run(_serve_stdio, server)
    elif transport in ("http", "streamable-http"):
        import uvicorn  # a dependency of the MCP SDK

        app = server.streamable_http_app(streamable_http_path=path, host=host)
        uvicorn.run(app, host=host, port=port, log_level="warning")
    else:
        raise UserError(f"Unknown MCP transport {transport!r}: use 'stdio' or 'http'.")


async def _serve_stdio(server: Server) -> None:
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())
