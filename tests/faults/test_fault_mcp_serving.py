"""Issue 21, the MCP serving door: a served tool keeps its approval and its guardrails, a paused served agent
says so, and served errors are redacted. Real servers (`tests/mcp_servers/guarded.py`) over stdio and
streamable HTTP, called by the MCP SDK's own client (with and without elicitation) and by ours in a run."""

from __future__ import annotations

import sys
import tempfile

import anyio
import pytest
from conftest import run_in_mode
from mcp_support import SERVERS, free_port, http_server, require_mcp

require_mcp()

from mcp import ClientSession, StdioServerParameters, types  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402

from agentsilex import Agent, Runner  # noqa: E402
from agentsilex.mcp import MCPServer  # noqa: E402
from agentsilex.testing import ScriptedModel, call  # noqa: E402

PASSWORD = "pl41nw0rdsecret"
SIGNING_KEY = "plainsigningvalue"


@pytest.fixture
def log(tmp_path, monkeypatch):
    path = tmp_path / "did.log"
    path.write_text("")
    monkeypatch.setenv("GUARDED_LOG", str(path))
    monkeypatch.setenv("SERVED_DB_PASSWORD", PASSWORD)
    monkeypatch.setenv("SERVED_SIGNING_KEY", SIGNING_KEY)
    return path


def _params() -> StdioServerParameters:
    import os

    env = {key: os.environ[key] for key in ("GUARDED_LOG", "SERVED_DB_PASSWORD", "SERVED_SIGNING_KEY", "PATH")}
    return StdioServerParameters(command=sys.executable, args=["-m", "agentsilex.mcp", "serve", "guarded:targets"],
                                 cwd=str(SERVERS), env=env)


def answering(action: str, approve: bool | None = None):
    """An elicitation callback: what the client's user answers to every question (and the questions seen)."""
    asked: list[str] = []

    async def callback(context, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        return types.ElicitResult(action=action, content=None if approve is None else {"approve": approve})

    callback.asked = asked
    return callback


def calls(requests: list[tuple[str, dict]], elicitation=None, *, url: str | None = None,
          errlog=None) -> list[types.CallToolResult]:
    """Call the served tools with the SDK's client (stdio, or streamable HTTP at `url`)."""
    async def session_calls(read, write):
        async with ClientSession(read, write, elicitation_callback=elicitation) as session:
            await session.initialize()
            return [await session.call_tool(name, arguments) for name, arguments in requests]

    async def main():
        if url is not None:
            async with streamable_http_client(url) as (read, write):
                return await session_calls(read, write)
        async with stdio_client(_params(), errlog=errlog or sys.stderr) as (read, write):
            return await session_calls(read, write)

    return anyio.run(main)


def text(result: types.CallToolResult) -> str:
    return "".join(block.text for block in result.content)


def test_a_tool_that_needs_approval_never_runs_on_a_plain_call(log):
    refused, small, large = calls([("delete_file", {"path": "/important.db"}), ("transfer", {"amount": 50}),
                                   ("transfer", {"amount": 500})])
    assert refused.is_error and "MCPApprovalRequired" in text(refused)
    assert "needs human approval" in text(refused) and "elicitation" in text(refused)
    assert not small.is_error and text(small) == "sent 50"  # its approval function says no approval is needed
    assert large.is_error and "needs human approval" in text(large)
    assert log.read_text() == "sent 50\n"


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_a_client_with_elicitation_is_asked_and_the_tool_runs_only_on_an_explicit_approval(log, transport):
    def run(callback):
        requests = [("delete_file", {"path": "/important.db"})]
        if transport == "stdio":
            return calls(requests, callback)[0]
        port = free_port()
        with http_server([str(SERVERS / "guarded.py"), "http", str(port)], port):
            return calls(requests, callback, url=f"http://127.0.0.1:{port}/mcp")[0]

    for action, approve, verdict in [("decline", None, "declined"), ("cancel", None, "cancelled"),
                                     ("accept", False, "rejected"), ("accept", None, "rejected")]:
        result = run(answering(action, approve))
        assert result.is_error and f"was {verdict}" in text(result), (action, approve, text(result))
    assert log.read_text() == ""
    approving = answering("accept", True)
    result = run(approving)
    assert not result.is_error and text(result) == "deleted /important.db"
    assert log.read_text() == "deleted /important.db\n"
    assert len(approving.asked) == 1 and "delete_file" in approving.asked[0] and "/important.db" in approving.asked[0]


def test_served_tools_keep_their_input_and_output_guardrails(log):
    blocked, leaked, fine = calls([("echo", {"text": "a forbidden word"}), ("echo", {"text": "a leak"}),
                                   ("echo", {"text": "hello"})])
    assert blocked.is_error and "ToolGuardrailTripped" in text(blocked) and "no_forbidden" in text(blocked)
    assert leaked.is_error and "no_leak" in text(leaked) and "rejected the result" in text(leaked)
    assert not fine.is_error and text(fine) == "hello"
    assert log.read_text() == "echoed a leak\nechoed hello\n"  # the input guardrail stopped the first


def test_a_served_agent_that_pauses_for_approval_is_an_error_listing_the_waiting_calls(log):
    (result,) = calls([("janitor", {"input": "tidy up"})])
    assert result.is_error, text(result)
    assert text(result) != "null" and "paused for human approval" in text(result)
    assert "delete_file" in text(result) and "/important.db" in text(result)
    assert log.read_text() == ""


def test_served_errors_and_the_servers_log_are_redacted(log):
    with tempfile.TemporaryFile("w+") as errlog:
        (result,) = calls([("connect_db", {})], errlog=errlog)
        errlog.seek(0)
        server_log = errlog.read()
    assert result.is_error and text(result).startswith("RuntimeError: login failed for admin")
    for secret in (PASSWORD, "hunter2hunter2", SIGNING_KEY):  # *_PASSWORD, URL credentials, *_KEY
        assert secret not in text(result) and secret not in server_log
    assert "connect_db" in server_log  # the operator still learns what failed


def test_an_agent_calling_a_served_tool_that_needs_approval_gets_a_tool_error(log, mode):
    import os

    config = {"command": sys.executable, "args": ["-m", "agentsilex.mcp", "serve", "guarded:targets"],
              "cwd": str(SERVERS), "env": {key: os.environ[key] for key in ("GUARDED_LOG", "SERVED_DB_PASSWORD",
                                                                             "SERVED_SIGNING_KEY")}}
    with MCPServer(config, name="guarded", allow=["delete_file", "connect_db"]) as server:
        model = ScriptedModel([[call("delete_file", path="/important.db"), call("connect_db")], "could not"])
        result, _ = run_in_mode(Runner(), Agent(name="boss", model=model, tools=server.tools()), "clean", mode)
    deleted, connected = [record.content for record in result.function_calls]
    assert deleted.startswith("Error: tool 'delete_file' raised MCPToolError: MCPApprovalRequired")
    assert PASSWORD not in connected and "hunter2hunter2" not in connected and SIGNING_KEY not in connected
    assert "login failed" in connected
    assert log.read_text() == ""
