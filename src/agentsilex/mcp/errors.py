"""Errors of the MCP layer. Each is an `AgentsilexError`; during a run, a failing MCP call becomes an
"Error: ..." tool message for the model like any failing tool, and the run goes on."""

from __future__ import annotations

from ..errors import AgentsilexError


class MCPError(AgentsilexError):
    """An MCP server could not do what was asked; `.server` names it."""

    def __init__(self, message: str, *, server: str) -> None:
        super().__init__(message)
        self.server = server


class MCPConnectionError(MCPError):
    """The server could not be started or reached, or it closed the connection (crashed); the next call
    reconnects."""


class MCPTimeoutError(MCPError):
    """The server did not answer within connect_timeout, list_timeout or call_timeout."""


class MCPToolError(MCPError):
    """The server ran the tool and reported a failure (a result with `is_error` set, or a JSON-RPC error)."""
