"""MCP, both ways: tools from any MCP server for agents, and agents served as MCP tools.

    from agentsilex.mcp import mcp_tools
    agent = Agent(name="a", model="gpt-4o", tools=mcp_tools({"command": "npx", "args": [...]}))
    serve_mcp(agent)  # or: python -m agentsilex.mcp serve my_module:agent [--http]

Needs the `mcp` extra (`pip install -e '.[mcp]'`); `import agentsilex` never imports it.
"""

from __future__ import annotations

try:
    import mcp as _sdk  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("agentsilex.mcp needs the MCP SDK: pip install -e '.[mcp]'") from exc

from . import limits
from .client import MCPServer
from .errors import (MCPApprovalRequired, MCPConnectionError, MCPError, MCPProtocolError, MCPTimeoutError,
                     MCPToolError)
from .registry import close_all, mcp_tool_from_config, mcp_tools, mcp_tools_from_config
from .sampling import Sampling
from .server import build_mcp_server, serve_mcp

__all__ = ["mcp_tools", "mcp_tools_from_config", "mcp_tool_from_config", "MCPServer", "close_all",
           "serve_mcp", "build_mcp_server", "MCPError", "MCPConnectionError", "MCPTimeoutError", "MCPToolError",
           "MCPProtocolError", "MCPApprovalRequired", "limits", "Sampling"]
