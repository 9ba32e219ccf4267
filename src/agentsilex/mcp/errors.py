"""Errors of the MCP layer. Each is an `AgentsilexError`; during a run, a failing MCP call becomes an
"Error: ..." tool message for the model like any failing tool, and the run goes on. Their text is redacted
(`agentsilex.redaction`): a server's URL credentials, a key in its headers or environment never show."""

from __future__ import annotations

from typing import Any

from mcp import types
from mcp.shared.exceptions import MCPError as SDKError

from ..errors import AgentsilexError
from ..redaction import redact


class MCPError(AgentsilexError):
    """An MCP server could not do what was asked; `.server` names it."""

    def __init__(self, message: str, *, server: str) -> None:
        super().__init__(redact(message))
        self.server = redact(server)


class MCPConnectionError(MCPError):
    """The server could not be started or reached, or it closed the connection (crashed); the next call
    reconnects."""


class MCPTimeoutError(MCPError):
    """The server did not answer within connect_timeout, list_timeout or call_timeout."""


class MCPToolError(MCPError):
    """The server ran the tool and reported a failure (a result with `is_error` set, or a JSON-RPC error)."""


class MCPProtocolError(MCPError):
    """The server answered with something that is not valid MCP (a malformed tool list or result)."""


class MCPApprovalRequired(MCPError):
    """Served over MCP, a call that needs human approval did not run: the client could not ask a person, the
    person declined, or a served agent paused for approval (`.pending` lists its waiting calls)."""

    def __init__(self, message: str, *, server: str, pending: list | None = None) -> None:
        super().__init__(message, server=server)
        self.pending = list(pending or [])


def malformed(server: str, what: str, exc: Any) -> MCPProtocolError:
    """The error for an answer the SDK could not validate (`exc`, pydantic's ValidationError): one line."""
    problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'the answer'}: {e['msg']}" for e in exc.errors()[:3])
    return MCPProtocolError(f"MCP server {server!r} answered with something that is not valid MCP for {what} "
                            f"({exc.error_count()} problem{'s' * (exc.error_count() != 1)}: {problems}). Check "
                            "that it is an MCP server and that its version is supported.", server=server)


def describe(exc: BaseException) -> str:
    """One line for why a connection failed (the first of an exception group)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, FileNotFoundError):
        return f"command not found ({exc.filename or exc})"
    if isinstance(exc, SDKError) and exc.code == types.CONNECTION_CLOSED:
        return "the server closed the connection during start-up (see its stderr above)"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
