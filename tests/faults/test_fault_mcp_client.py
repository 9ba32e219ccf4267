"""Issue 21, the MCP client door: a stranger's server cannot flood a run (results and descriptions are cut at a
limit, with a note), a server answering garbage is a typed error, and MCP client errors carry no credentials.
The server is `tests/mcp_servers/hostile.py`, raw JSON-RPC over stdio."""

from __future__ import annotations

import sys

import pytest
from conftest import run_in_mode
from mcp_support import SERVERS, TOOLBOX, require_mcp

require_mcp()

from agentsilex import Agent, Runner, Session, UserError  # noqa: E402
from agentsilex.mcp import MCPConnectionError, MCPProtocolError, MCPServer, MCPToolError, limits  # noqa: E402
from agentsilex.testing import ScriptedModel, call  # noqa: E402

HOSTILE = str(SERVERS / "hostile.py")
MB = 1024 * 1024


def hostile(listing: str = "huge", **options) -> MCPServer:
    return MCPServer({"command": sys.executable, "args": [HOSTILE, listing]}, name="hostile", **options)


@pytest.fixture(scope="module")
def huge():
    with hostile() as server:
        yield server


def test_a_30mb_result_is_neither_stored_nor_sent_whole(huge, mode):
    model = ScriptedModel([call("flood"), "ok"])
    session = Session()
    run_in_mode(Runner(session), Agent(name="a", model=model, tools=huge.tools()), "go", mode)
    stored = next(m["content"] for m in session.get_dialogs() if m["role"] == "tool")
    sent = next(m["content"] for m in model.requests[-1].messages if m["role"] == "tool")
    assert stored == sent
    assert stored.startswith("A" * 1000) and len(stored) < limits.MAX_RESULT_CHARS + 300
    assert "[agentsilex cut the result of tool 'flood' from MCP server 'hostile' here: 31,457,280 characters, " \
           "over max_result_chars=100,000" in stored


def test_text_around_an_image_is_cut_and_the_image_stays_a_part(huge):
    value = huge.call("flood_mixed")  # issue 22 made MCP images content parts; issue 21's limit holds their text
    texts = [item for item in value if isinstance(item, str)]
    parts = [item for item in value if isinstance(item, dict)]
    assert [part["type"] for part in parts] == ["image_url"] and parts[0]["image_url"]["url"].startswith("data:image/png")
    assert len(texts) == 1 and texts[0].startswith("T" * 1000) and len(texts[0]) < limits.MAX_RESULT_CHARS + 300
    assert "150,015 characters of text, over max_result_chars=100,000; the remaining 50,015 were dropped" in texts[0]


def test_a_5mb_description_is_cut_before_any_request(huge):
    model = ScriptedModel(["hi"])
    Runner().run(Agent(name="a", model=model, tools=huge.tools()), "go")
    described = {spec["function"]["name"]: spec["function"]["description"] for spec in model.requests[0].tools}
    assert len(described["big"]) < limits.MAX_DESCRIPTION_CHARS + 300
    assert described["big"].startswith("Floods. xxx") and "over max_description_chars=100,000" in described["big"]
    assert described["flood"] == "Floods. "  # short ones untouched


def test_structured_content_and_error_text_are_limited_too(huge):
    structured = huge.call("flood_json")
    assert isinstance(structured, str) and structured.startswith('{"rows": ["yyy')
    assert len(structured) < limits.MAX_RESULT_CHARS + 300 and "agentsilex cut" in structured
    with pytest.raises(MCPToolError) as caught:
        huge.call("flood_error")
    assert len(str(caught.value)) < limits.MAX_RESULT_CHARS + 300 and "1,048,576 characters" in str(caught.value)


def test_limits_are_set_per_server_in_a_config_or_globally(monkeypatch):
    with hostile(max_result_chars=1_000, max_description_chars=50) as server:
        assert len(server.call("medium")) < 1_200 and "max_result_chars=1,000" in server.call("medium")
        big = next(item for item in server.tools() if item.name == "big")
        assert big.description.startswith("Floods. x") and "max_description_chars=50;" in big.description
    config = {"command": sys.executable, "args": [HOSTILE, "huge"], "max_result_chars": 2_000}
    with MCPServer(config) as server:
        assert "max_result_chars=2,000" in server.call("medium")
    monkeypatch.setattr(limits, "MAX_RESULT_CHARS", 3_000)
    with hostile() as server:
        assert "max_result_chars=3,000" in server.call("medium")
    for bad in (0, -5, 1.5, True, "100"):
        with pytest.raises(UserError, match="max_result_chars must be a positive whole number"):
            hostile(max_result_chars=bad)


@pytest.mark.parametrize("listing, problem", [("garbage", "tools: Input should be a valid list"),
                                              ("bad_tool", "tools.0.name: Input should be a valid string"),
                                              ("bad_schema", "tools.0.inputSchema.type")])
def test_a_malformed_tool_list_is_a_typed_error(listing, problem):
    with hostile(listing) as server:
        with pytest.raises(MCPProtocolError, match="not valid MCP for its tool list") as caught:
            server.tools()
    assert problem in str(caught.value) and "\n" not in str(caught.value)


def test_a_tool_no_model_could_be_offered_is_a_typed_error_naming_the_way_out():
    with hostile("empty_name") as server:
        with pytest.raises(MCPProtocolError, match="lists a tool agentsilex cannot offer to a model") as caught:
            server.tools()
    assert "deny=['']" in str(caught.value) and "\n" not in str(caught.value)


def test_a_malformed_result_is_a_typed_error_and_a_tool_error_in_a_run(huge, mode):
    with pytest.raises(MCPProtocolError, match="not valid MCP for the result of 'garbage'"):
        huge.call("garbage")
    model = ScriptedModel([call("garbage"), "sorry"])
    result, _ = run_in_mode(Runner(), Agent(name="a", model=model, tools=huge.tools()), "go", mode)
    assert result.function_calls[0].content.startswith("Error: tool 'garbage' raised MCPProtocolError")
    assert huge.call("ok") == "ok"  # the connection is still good


def test_mcp_client_errors_carry_no_credentials():
    with pytest.raises(MCPConnectionError) as caught:
        MCPServer({"url": "http://agent:s3cretpassw0rd@127.0.0.1:1/mcp"}, connect_timeout=5).tools()
    assert "s3cretpassw0rd" not in f"{caught.value} {caught.value.server}" and "127.0.0.1:1" in str(caught.value)
    config = {**TOOLBOX, "env": {"BILLING_SERVICE_TOKEN": "tokvalue-1234567"}}
    with MCPServer(config) as server:
        with pytest.raises(MCPToolError, match="denied") as caught:
            server.call("fail", {"message": "denied for tokvalue-1234567"})
    assert "tokvalue-1234567" not in str(caught.value)
