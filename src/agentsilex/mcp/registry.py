"""The module-level form (agentsilex 1.0's `mcp_tools(config)`): servers shared per config, closed at exit."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from typing import Any

from ..errors import UserError
from ..tool import Tool
from . import _background
from .client import MCPServer
from .config import servers_in

_shared: dict[str, MCPServer] = {}
_lock = threading.Lock()


def mcp_tools(config: dict[str, Any] | str | os.PathLike, **options: Any) -> list[Tool]:
    """The tools of one MCP server (a config dict), or of every server in a Claude-Desktop style config
    (`{"mcpServers": {...}}`, as a dict or a JSON file path), ready for `Agent(tools=...)`.

    Each server is started once, on this call, and kept for later calls (the same config gives the same
    server) until `close_all()` or interpreter exit. `options` are those of `MCPServer` (prefix, allow, deny,
    needs_approval, timeouts). Two servers offering the same tool name raise `UserError` naming both.
    """
    return tools_of(servers(config, **options))


def mcp_tools_from_config(path: str | os.PathLike, **options: Any) -> list[Tool]:
    """`mcp_tools` for a config file (Claude-Desktop `mcpServers`, or a single server's config)."""
    if not isinstance(path, (str, os.PathLike)):
        raise UserError(f"mcp_tools_from_config takes a file path, got {type(path).__name__}.")
    return mcp_tools(path, **options)


def servers(config: dict[str, Any] | str | os.PathLike, **options: Any) -> list[MCPServer]:
    """The shared `MCPServer`s for a config (one per server), started if needed."""
    named = servers_in(config)
    entries = named.items() if named is not None else [(None, config)]
    found = []
    for name, entry in entries:
        merged = {**({"name": name} if name else {}), **options}
        key = json.dumps([entry, sorted((k, repr(v)) for k, v in merged.items())], sort_keys=True, default=repr)
        with _lock:
            server = _shared.get(key)
            if server is None or server.closed:
                server = _shared[key] = MCPServer(entry, **merged)  # type: ignore[arg-type]
        found.append(server)
    return found


def tools_of(servers: list[MCPServer]) -> list[Tool]:
    """All their tools in one list; a name offered twice raises `UserError` naming both servers."""
    listed = _background.run_sync(_list_all(servers))  # servers start side by side, not one after another
    combined: dict[str, tuple[Tool, MCPServer]] = {}
    for server, tools in zip(servers, listed):
        for item in tools:
            if item.name in combined:
                other = combined[item.name][1]
                raise UserError(f"Tool name {item.name!r} is offered by MCP server {other.name!r} and by MCP "
                                f"server {server.name!r}. Give one a prefix (prefix=... or \"prefix\" in its "
                                "config) or leave the tool out with deny=[...].")
            combined[item.name] = (item, server)
    return [item for item, _ in combined.values()]


async def _list_all(servers: list[MCPServer]) -> list[list[Tool]]:
    results = await asyncio.gather(*(server._list_tools() for server in servers), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results  # type: ignore[return-value]


def close_all() -> None:
    """Close every server `mcp_tools` started (also done at interpreter exit)."""
    with _lock:
        started = list(_shared.values())
        _shared.clear()
    for server in started:
        if not server.closed:
            server.close()


def inventory(config: dict[str, Any] | str | os.PathLike, **options: Any) -> list[dict[str, Any]]:
    """What a config offers, without an agent: per server its `name`, and either its `tools` (each with the
    `name` an agent sees, `description`, `input_schema` and `needs_approval`) or the `error` that kept it from
    starting. The servers are started for this and stopped after (`agentsilex mcp tools CONFIG` prints it)."""
    named = servers_in(config)
    entries = named.items() if named is not None else [(None, config)]
    started = [MCPServer(entry, **{**({"name": name} if name else {}), **options}) for name, entry in entries]
    try:
        listed = _background.run_sync(_list_each(started))
    finally:
        for server in started:
            server.close()
    found: list[dict[str, Any]] = []
    for server, tools in zip(started, listed):
        if isinstance(tools, BaseException):
            found.append({"name": server.name, "error": f"{type(tools).__name__}: {tools}"})
        else:
            found.append({"name": server.name, "tools": [
                {"name": item.name, "description": item.description, "input_schema": item.parameters,
                 "needs_approval": item.needs_approval if isinstance(item.needs_approval, bool) else "conditional"}
                for item in tools]})
    return found


async def _list_each(servers: list[MCPServer]) -> list[Any]:
    return await asyncio.gather(*(server._list_tools() for server in servers), return_exceptions=True)


mcp_tool_from_config = mcp_tools_from_config  # the agentsilex 1.0 name
