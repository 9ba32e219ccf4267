"""Agents and tools served over MCP (`serve_mcp`, `python -m agentsilex.mcp serve`), called by this project's
client and by the MCP SDK's own client, over stdio and streamable HTTP."""

from __future__ import annotations

import subprocess
import sys

import anyio
import pytest
from conftest import run_in_mode
from mcp_support import SERVERS, free_port, http_server, require_mcp

require_mcp()

from mcp import ClientSession, StdioServerParameters, types  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402

from agentsilex import Agent, Runner, UserError, tool  # noqa: E402
from agentsilex.mcp import MCPServer, build_mcp_server  # noqa: E402
from agentsilex.mcp.__main__ import load_target  # noqa: E402
from agentsilex.testing import ScriptedModel, call  # noqa: E402

ENTRY_POINT = {"command": sys.executable, "args": ["-m", "agentsilex.mcp", "serve", "served:targets"],
               "cwd": str(SERVERS)}


@pytest.fixture(scope="module")
def served():
    with MCPServer(ENTRY_POINT, name="served") as server:
        yield server


def test_our_client_lists_and_calls_served_agents_and_tools(served):
    tools = {item.name: item for item in served.tools()}
    assert list(tools) == ["calculator", "broken", "shout"]
    assert tools["calculator"].description == "Adds two numbers it finds in the task."  # Agent(description=...)
    assert tools["broken"].description == "Ask the agent 'broken'; give it the full task as `input`."  # none given
    assert tools["calculator"].parameters["required"] == ["input"]
    assert tools["shout"].parameters["properties"] == {"text": {"type": "string"}}
    assert served.call("calculator", {"input": "add 2 and 40"}) == "The sum is 42."
    assert served.call("shout", {"text": "hi"}) == "HI"


def test_an_agent_calls_a_served_agent_in_every_mode(served, mode):
    model = ScriptedModel([call("calculator", input="what is 19 + 23?"), "42, says the calculator"])
    result, _ = run_in_mode(Runner(), Agent(name="boss", model=model, tools=served.tools()), "19+23?", mode)
    assert [record.content for record in result.function_calls] == ["The sum is 42."]


def test_failures_come_back_as_mcp_errors_with_text_not_tracebacks(served):
    model = ScriptedModel([[call("broken", input="x"), call("shout", text=5), call("calculator", input="1 2")],
                           "ok"])
    result = Runner().run(Agent(name="boss", model=model, tools=served.tools()), "go")
    broken, shout, fine = [record.content for record in result.function_calls]
    assert broken == "Error: tool 'broken' raised MCPToolError: RuntimeError: the model is down"
    assert shout.startswith("Error: tool 'shout' raised MCPToolError: ToolArgumentsError: Invalid arguments "
                            "for tool 'shout': text: Input should be a valid string")  # checked by the server
    assert fine == "The sum is 3."
    assert "Traceback" not in broken + shout


async def _sdk_calls(read, write) -> tuple[list[str], types.CallToolResult, types.CallToolResult, list[str]]:
    progress: list[str] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(f"{value:g} {message}")

    async with ClientSession(read, write) as session:
        await session.initialize()
        names = [item.name for item in (await session.list_tools()).tools]
        answer = await session.call_tool("calculator", {"input": "add 5 and 6"}, progress_callback=on_progress)
        failed = await session.call_tool("broken", {"input": "x"})
        await anyio.sleep(0.1)  # progress notifications may be delivered after the result
        return names, answer, failed, progress


def test_the_sdks_own_client_over_stdio_gets_answers_progress_and_errors():
    async def main():
        params = StdioServerParameters(command=ENTRY_POINT["command"], args=ENTRY_POINT["args"], cwd=str(SERVERS))
        async with stdio_client(params) as (read, write):
            return await _sdk_calls(read, write)

    names, answer, failed, progress = anyio.run(main)
    assert names == ["calculator", "broken", "shout"]
    assert not answer.is_error and answer.content[0].text == "The sum is 11."
    assert failed.is_error and failed.content[0].text == "RuntimeError: the model is down"
    assert progress == ["1 calculator: calling add", "2 calculator: got an answer from add"]


def test_streamable_http_with_the_sdks_client_and_ours():
    port = free_port()
    with http_server([str(SERVERS / "served.py"), "http", str(port)], port):
        url = f"http://127.0.0.1:{port}/mcp"

        async def main():
            async with streamable_http_client(url) as (read, write):
                return await _sdk_calls(read, write)

        names, answer, failed, progress = anyio.run(main)
        assert answer.content[0].text == "The sum is 11." and failed.is_error
        assert progress == ["1 calculator: calling add", "2 calculator: got an answer from add"]
        with MCPServer({"url": url}) as ours:
            assert ours.call("shout", {"text": "over http"}) == "OVER HTTP"


def test_build_mcp_server_rejects_what_it_cannot_serve():
    @tool
    def calculator(x: int) -> int:
        """Clashes with the agent's tool name."""
        return x

    agent = Agent(name="calculator", model=ScriptedModel(["hi"]))
    with pytest.raises(UserError, match="at least one"):
        build_mcp_server()
    with pytest.raises(UserError, match="Two served tools are named 'calculator'"):
        build_mcp_server(agent, calculator)
    with pytest.raises(UserError, match="must be functions or @tool objects"):
        build_mcp_server("not a tool")
    assert build_mcp_server(agent.as_tool(tool_name="calc"), calculator).name == "agentsilex"


def test_module_entry_point_reports_bad_targets():
    done = subprocess.run([sys.executable, "-m", "agentsilex.mcp", "serve", "served:nothing"], cwd=SERVERS,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "'served' has no attribute 'nothing'" in done.stderr
    with pytest.raises(UserError, match="No module named 'no_colon'.*path/to/file.py:agent"):
        load_target("no_colon")  # the attribute defaults to `agent`, as in every agentsilex command
    assert load_target(f"{SERVERS / 'served.py'}:targets")[2].name == "shout"  # a file path works too
