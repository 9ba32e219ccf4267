"""Agents and tools served over MCP: `serve_mcp(agent)` makes them tools an IDE or another framework can call.

Each agent becomes a tool taking `input` (the task); every call runs it on a fresh session, reports progress
(one notification per turn event, when the client asked for progress) and answers with its final output. Plain
tools keep their JSON schema. A failure answers the call as an MCP error result (`isError`) with one redacted
line of text, never a traceback. Approvals and guardrails hold as in a run (serving.py).
"""

from __future__ import annotations

from typing import Any, Callable

import anyio
from mcp import types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server

from ..agent import Agent
from ..errors import UserError
from ..features.agents_as_tools import AgentTool
from ..runner import Runner
from ..session import Session
from ..tool import as_tool
from .serving import Served, call, error_result


def build_mcp_server(*targets: Any, name: str = "agentsilex", runner: Callable[[], Runner] | None = None,
                     context: Any = None) -> Server:
    """The MCP SDK's low-level `Server` for these agents and tools (mount it yourself, or use `serve_mcp`).

    `runner` makes the Runner for each agent call (default: `Runner(Session())`, a fresh session per call).
    `context` is what plain tools, their guardrails and their `needs_approval` functions receive as the run
    context (default `{}`, as in a run). Calls keep the core's rules: see `serving.py`.
    """
    if not targets:
        raise UserError("serve_mcp needs at least one agent or tool to serve.")
    exposed: dict[str, Served] = {}
    make_runner = runner or (lambda: Runner(Session()))
    for target in targets:
        if isinstance(target, Agent):  # its description, if it has one, is what clients read about it
            target = target.as_tool(tool_description=target.description or None)
        made = as_tool(target)
        if made.name in exposed:
            raise UserError(f"Two served tools are named {made.name!r}; rename one (agent.as_tool(tool_name=...) "
                            "or @tool(name=...)).")
        agent = made.agent if isinstance(made, AgentTool) else None
        exposed[made.name] = Served(made, agent, name, {} if context is None else context, make_runner)
    listing = types.ListToolsResult(tools=[
        types.Tool(name=item.name, description=item.description, input_schema=item.parameters)
        for item in (served.item for served in exposed.values())])

    async def list_tools(ctx: ServerRequestContext, params: types.PaginatedRequestParams | None
                         ) -> types.ListToolsResult:
        return listing

    async def call_tool(ctx: ServerRequestContext, params: types.CallToolRequestParams) -> types.CallToolResult:
        found = exposed.get(params.name)
        if found is None:
            return error_result(f"Unknown tool {params.name!r}. Available tools: {', '.join(exposed)}.")
        return await call(ctx, found, params.arguments or {})

    return Server(name, on_list_tools=list_tools, on_call_tool=call_tool)


def serve_mcp(*targets: Any, name: str = "agentsilex", transport: str = "stdio", host: str = "127.0.0.1",
              port: int = 8000, path: str = "/mcp", runner: Callable[[], Runner] | None = None,
              context: Any = None) -> None:
    """Serve agents and tools over MCP until stopped: stdio (the default) or streamable HTTP at host:port/path."""
    server = build_mcp_server(*targets, name=name, runner=runner, context=context)
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
