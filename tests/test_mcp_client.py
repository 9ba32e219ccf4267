"""The MCP client against real servers written with the official SDK (tests/mcp_servers): no protocol mocks."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap

import pytest
from conftest import run_in_mode
from mcp_support import SERVERS, TOOLBOX, free_port, http_server, pid_alive, require_mcp, wait_until

require_mcp()

from agentsilex import Agent, RunState, Runner, Session, ToolGuardrailTripped, UserError, tool  # noqa: E402
from agentsilex.mcp import registry  # noqa: E402
from agentsilex.mcp.client import _connection_closed  # noqa: E402
from agentsilex.mcp import (MCPConnectionError, MCPServer, MCPTimeoutError, close_all,  # noqa: E402
                            mcp_tool_from_config, mcp_tools, mcp_tools_from_config)
from agentsilex.testing import ScriptedModel, call  # noqa: E402


@pytest.fixture(scope="module")
def toolbox():
    with MCPServer(TOOLBOX, name="toolbox") as server:
        yield server


def tool_messages(result) -> list[str]:
    return [record.content for record in result.function_calls]


def test_tools_keep_the_servers_names_descriptions_and_input_schemas(toolbox):
    tools = {item.name: item for item in toolbox.tools()}
    assert {"add", "weather", "picture", "note", "fail", "slow", "pid", "crash", "hang", "grow",
            "authorization"} <= set(tools)
    assert tools["add"].description == "Add two integers."
    # Passed through unchanged, down to the SDK's own "title" keys (which @tool would strip).
    assert tools["add"].parameters == {"type": "object", "title": "addArguments", "required": ["a", "b"],
                                       "properties": {"a": {"title": "A", "type": "integer"},
                                                      "b": {"title": "B", "type": "integer"}}}
    assert tools["add"].spec()["function"]["parameters"] is tools["add"].parameters
    assert toolbox.tools()[0] is tools["add"]  # cached: listed once


def test_an_agent_answers_through_mcp_tools_on_one_session_in_every_mode(mode):
    tools = mcp_tools(TOOLBOX)  # the agentsilex 1.0 form: shared per config, kept until exit
    model = ScriptedModel([[call("add", a=2, b=3), call("weather", city="Oslo"), call("pid")], "5, and 4.5 C"])
    agent = Agent(name="mcp", model=model, tools=tools)
    result, _ = run_in_mode(Runner(), agent, "add 2 and 3; weather in Oslo", mode)
    assert result.final_output == "5, and 4.5 C"
    add, weather, pid = tool_messages(result)
    assert add == "5" and json.loads(weather) == {"city": "Oslo", "celsius": 4.5}
    assert result.function_calls[1].result == {"city": "Oslo", "celsius": 4.5}  # structured content
    # One server process for every run and mode: a persistent session, not a process per call.
    assert mcp_tools(TOOLBOX)[0] is tools[0]
    first = test_an_agent_answers_through_mcp_tools_on_one_session_in_every_mode.__dict__.setdefault("pid", pid)
    assert pid == first and pid_alive(int(pid))


def test_images_resources_and_error_results_become_tool_messages(toolbox, mode):
    model = ScriptedModel([[call("picture"), call("note"), call("fail", message="disk full")], "ok"])
    result, _ = run_in_mode(Runner(), Agent(name="a", model=model, tools=toolbox.tools()), "go", mode)
    picture, note, failed = tool_messages(result)
    # An image is a content part: the tool message names it, the next user message shows it to the model.
    assert picture == "[attached: image; shown in the next message]"
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64," + PNG_BASE64}}
    assert result.function_calls[0].attachments == [image]
    shown = model.requests[-1].messages[-1]
    assert shown["role"] == "user" and shown["content"][1:] == [image]
    assert note == "[resource note://today]\nbuy milk\n[resource link note://tomorrow: tomorrow]"
    # the server's words after the prefix every failing tool gets:
    assert failed == "Error: tool 'fail' raised MCPToolError: Error executing tool fail: disk full"
    assert result.function_calls[2].error


PNG_BASE64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def test_images_audio_and_pdfs_become_content_parts_other_blobs_stay_text(toolbox, mode):
    model = ScriptedModel([call("media"), "ok"])
    result, _ = run_in_mode(Runner(), Agent(name="a", model=model, tools=toolbox.tools()), "go", mode)
    record = result.function_calls[0]
    assert record.content == ("The chart, its sound and its report.\n[resource file:///data.zip application/zip, "
                              "13 bytes of binary data]\n[attached: image, audio, file; shown in the next message]")
    assert [part["type"] for part in record.attachments] == ["image_url", "input_audio", "file"]
    assert record.attachments[1]["input_audio"]["format"] == "wav"
    assert record.attachments[2]["file"]["filename"] == "q3.pdf"
    assert record.attachments[2]["file"]["file_data"].startswith("data:application/pdf;base64,")
    direct = toolbox.call("media")  # the direct call returns the same value: text and part dicts
    assert isinstance(direct, list) and direct[0] == "The chart, its sound and its report." and direct[1]["image_url"]


def test_an_image_past_the_inline_limit_is_described_instead(toolbox, monkeypatch):
    from agentsilex.features import content

    monkeypatch.setattr(content, "MAX_INLINE_BYTES", 10)
    assert toolbox.call("picture") == "[image image/png, 70 bytes]"


def test_async_calls_do_not_block_the_callers_loop(toolbox):
    slow = next(item for item in toolbox.tools() if item.name == "slow")

    async def main() -> tuple[str, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        beat = asyncio.create_task(ticker())
        answer = await slow.invoke({"seconds": 0.5}, None)
        beat.cancel()
        return answer, ticks

    answer, ticks = asyncio.run(main())
    assert answer == "slept 0.5" and ticks >= 10


def test_one_hundred_concurrent_calls_on_one_session(toolbox):
    async def main() -> list[str]:
        return await asyncio.gather(*(toolbox.call_async("add", {"a": n, "b": 1}) for n in range(100)))

    assert asyncio.run(main()) == [str(n + 1) for n in range(100)]


@pytest.fixture(scope="module")
def crashy():
    with MCPServer(TOOLBOX, name="crashy") as server:
        yield server


def test_a_crashing_server_gives_an_error_message_and_the_next_call_reconnects(crashy, mode):
    before = crashy.call("pid")
    model = ScriptedModel([call("crash"), call("pid"), "recovered"])
    result, _ = run_in_mode(Runner(), Agent(name="a", model=model, tools=crashy.tools()), "go", mode)
    crashed, after = tool_messages(result)
    assert crashed.startswith("Error: tool 'crash' raised MCPConnectionError: MCP server 'crashy' closed the "
                              "connection during the call to 'crash' (did it crash?)")
    assert after.isdigit() and after != before and not pid_alive(int(before))
    assert result.final_output == "recovered"


def test_a_server_that_died_while_idle_is_restarted_by_the_next_call(crashy):
    before = int(crashy.call("pid"))
    subprocess.run(["kill", "-9", str(before)], check=True)
    assert wait_until(lambda: not pid_alive(before))
    assert wait_until(lambda: crashy._session is None or _connection_closed(crashy._session))  # the SDK saw EOF
    assert int(crashy.call("pid")) != before


def test_a_hung_server_times_out_and_is_restarted_a_slow_tool_only_times_out():
    with MCPServer(TOOLBOX, call_timeout=1.5) as server:
        before = server.call("pid")
        with pytest.raises(MCPTimeoutError, match="still answers"):
            server.call("slow", {"seconds": 5})
        assert server.call("pid") == before  # a slow tool leaves the server alone
        with pytest.raises(MCPTimeoutError, match="stopped responding; the next call restarts it"):
            server.call("hang")
        assert server.call("pid") != before
        assert wait_until(lambda: not pid_alive(int(before)))


def test_tools_list_changed_refreshes_the_cache():
    with MCPServer(TOOLBOX) as server:
        first = server.tools()
        assert "extra" not in [item.name for item in first]
        assert server.call("grow") == "grown"
        assert wait_until(lambda: "extra" in [item.name for item in server.tools()])
        refreshed = {item.name: item for item in server.tools()}
        assert refreshed["add"] is first[0]  # known tools are the same objects (updated in place)
        assert server.call("extra", {"text": "hi"}) == "HI"


def test_prefix_and_filters():
    with MCPServer(TOOLBOX, prefix="tb", allow=["add", "pid", "crash"], deny=["crash"]) as server:
        tools = server.tools()
        assert [item.name for item in tools] == ["tb_add", "tb_pid"]
        model = ScriptedModel([call("tb_add", a=1, b=1), "2"])
        result = Runner().run(Agent(name="a", model=model, tools=tools), "1+1")
        assert tool_messages(result) == ["2"]
    with MCPServer(TOOLBOX, allow=["add", "nope"]) as server, pytest.raises(UserError, match="no tool named 'nope'"):
        server.tools()


def test_duplicate_names_raise_naming_both_sources(tmp_path):
    with pytest.raises(UserError, match="offered by MCP server 'one' and by MCP server 'two'"):
        mcp_tools({"mcpServers": {"one": TOOLBOX, "two": TOOLBOX}})
    tools = mcp_tools({"mcpServers": {"one": TOOLBOX, "two": {**TOOLBOX, "prefix": "two"}}})  # "one" is reused
    assert {"add", "two_add"} <= {item.name for item in tools}

    @tool
    def add(a: int, b: int) -> int:
        """A local add."""
        return a + b

    with pytest.raises(UserError, match=r"two tools named 'add' \(function .*add and MCP server 'one'\)"):
        Agent(name="a", model="gpt-4o", tools=[add, *tools])
    close_all()


def test_claude_desktop_config_files_load(tmp_path):
    path = tmp_path / "claude_desktop_config.json"
    path.write_text(json.dumps({"mcpServers": {
        "toolbox": {**TOOLBOX, "env": {"TOOLBOX_MODE": "test"}},
        "off": {"command": "does-not-exist", "disabled": True}}}))
    tools = mcp_tools_from_config(path, allow=["add"])
    assert [item.name for item in tools] == ["add"] and getattr(tools[0], "source") == "MCP server 'toolbox'"
    assert mcp_tool_from_config(str(path), allow=["add"])[0] is tools[0]  # the 1.0 name; same shared server
    single = tmp_path / "one.json"
    single.write_text(json.dumps(TOOLBOX))
    (server,) = registry.servers(single)
    assert server.name == "one" and server.transport.args == tuple(TOOLBOX["args"])
    close_all()


@pytest.mark.parametrize("config, message", [
    ({"command": "x", "url": "http://h/mcp"}, "exactly one of 'command'"),
    ({"comand": "x"}, "Unknown MCP server config keys: comand"),
    ({"url": "ftp://h"}, "must start with http"),
    ({"command": "x", "args": "not-a-list"}, "'args' must be a list"),
    ({"url": "http://h/mcp", "transport": "carrier-pigeon"}, "Unknown MCP transport"),
    ("not a dict", "must be a dict"),
])
def test_bad_configs_raise_user_errors_before_starting_anything(config, message):
    with pytest.raises(UserError, match=message):
        MCPServer(config)


def test_servers_that_cannot_start_raise_connection_errors():
    with pytest.raises(MCPConnectionError, match="command not found"):
        MCPServer({"command": "agentsilex-no-such-server"}).tools()
    # A server that takes a second to die: the 20 calls all wait for one attempt, which fails for all of them.
    missing = MCPServer({"command": sys.executable, "args": ["-c", "import time; time.sleep(1)"]})

    async def many() -> list:
        return await asyncio.gather(*(missing.call_async("x") for _ in range(20)), return_exceptions=True)

    failures = asyncio.run(many())
    assert all(isinstance(f, MCPConnectionError) for f in failures) and missing._attempts == 1  # not 20 spawns
    with pytest.raises(MCPConnectionError, match="closed the connection during start-up"):
        MCPServer({"command": sys.executable, "args": ["-c", "import sys; sys.exit(3)"]}, connect_timeout=20).tools()
    with pytest.raises(MCPTimeoutError, match="did not start within connect_timeout=1"):
        MCPServer({"command": sys.executable, "args": ["-c", "import time; time.sleep(30)"]},
                  connect_timeout=1).tools()


@pytest.fixture(scope="module")
def guarded():
    with MCPServer(TOOLBOX, name="toolbox", allow=["add", "pid"], needs_approval=["add"]) as server:
        yield server


def test_approvals_and_guardrails_apply_to_mcp_tools(guarded, mode):
    tools = guarded.tools()
    assert tools[0].needs_approval is True and tools[1].needs_approval is False
    session = Session()
    runner = Runner(session)
    agent = Agent(name="a", model=ScriptedModel([call("add", a=1, b=2, call_id="call_1"), "3"]), tools=tools)
    paused, _ = run_in_mode(runner, agent, "1+2", mode)
    assert [p.tool_name for p in paused.pending_approvals] == ["add"]
    result, _ = run_in_mode(runner, agent, RunState.from_json(paused.state.to_json()).approve("call_1"), mode)
    assert tool_messages(result) == ["3"] and result.final_output == "3"

    tools[1].input_guardrails[:] = [lambda context, name, arguments: "no pids today"]
    with pytest.raises(ToolGuardrailTripped, match="no pids today"):
        run_in_mode(Runner(), Agent(name="a", model=ScriptedModel([call("pid"), "x"]), tools=tools), "pid?", mode)


def test_scoped_async_form_closes_the_server():
    async def main() -> tuple[int, list]:
        async with MCPServer(TOOLBOX) as server:
            tools = await server.tools_async()
            pid = int(await server.call_async("pid"))
        return pid, tools

    pid, tools = asyncio.run(main())
    assert wait_until(lambda: not pid_alive(pid), 5)
    with pytest.raises(MCPConnectionError, match="was closed"):
        asyncio.run(tools[0].invoke({"a": 1, "b": 2}, None))


def test_no_orphan_server_when_the_interpreter_exits_without_closing(tmp_path):
    script = textwrap.dedent(f"""
        from agentsilex.mcp import MCPServer, mcp_tools
        tools = mcp_tools({TOOLBOX!r})
        scoped = MCPServer({TOOLBOX!r})  # never closed either
        print(scoped.call("pid"), mcp_tools({TOOLBOX!r})[0].function.__name__)
        import agentsilex.mcp.registry as registry
        print(list(registry._shared.values())[0].call("pid"), flush=True)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    pids = [int(line.split()[0]) for line in done.stdout.splitlines()]
    assert len(set(pids)) == 2
    assert wait_until(lambda: not any(pid_alive(pid) for pid in pids), 10)


@pytest.fixture(scope="module")
def http_url():
    port = free_port()
    with http_server([str(SERVERS / "toolbox.py"), "http", str(port)], port):
        yield f"http://127.0.0.1:{port}/mcp"


def test_streamable_http_server_with_headers(http_url, mode):
    config = {"url": http_url, "headers": {"Authorization": "Bearer test-token"}}
    with MCPServer(config, allow=["add", "authorization"]) as server:
        model = ScriptedModel([[call("add", a=20, b=22), call("authorization")], "42"])
        result, _ = run_in_mode(Runner(), Agent(name="a", model=model, tools=server.tools()), "20+22", mode)
        assert tool_messages(result) == ["42", "Bearer test-token"]


def test_legacy_sse_server():
    port = free_port()
    with http_server([str(SERVERS / "toolbox.py"), "sse", str(port)], port):
        with MCPServer({"url": f"http://127.0.0.1:{port}/sse"}) as server:
            assert server.transport.kind == "sse"
            assert server.call("add", {"a": 1, "b": 2}) == "3"
            assert server.call("authorization") == "none"


def test_import_agentsilex_does_not_import_the_mcp_sdk():
    code = "import sys, agentsilex; assert 'mcp' not in sys.modules and 'agentsilex.mcp' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
