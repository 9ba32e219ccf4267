"""MCP configs that fit real servers (issue 22): `${VAR}` substitution, the environment a server gets, where its
stderr goes, a start-up timeout that leaves nothing behind, `agentsilex mcp tools`, and three third-party servers
(mcp-server-time and mcp-server-git from PyPI, the filesystem server from npm via npx)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from mcp_support import TOOLBOX, require_mcp

require_mcp()

from typer.testing import CliRunner  # noqa: E402

from agentsilex import Agent, Runner, Session, UserError  # noqa: E402
from agentsilex.app.cli import app  # noqa: E402
from agentsilex.mcp import MCPServer  # noqa: E402
from agentsilex.mcp.config import DEFAULT_PASS_ENV, parse  # noqa: E402
from agentsilex.mcp.registry import inventory  # noqa: E402
from agentsilex.testing import ScriptedModel, call  # noqa: E402

BIN = Path(sys.executable).parent


def server_env(config: dict, names: list[str]) -> dict:
    """What the toolbox server process sees of these variables."""
    with MCPServer({**TOOLBOX, **config}) as server:
        return json.loads(server.call("environment", {"names": names}))


# -- ${VAR} -------------------------------------------------------------------------------------------------
def test_variables_are_substituted_where_a_config_holds_strings(monkeypatch):
    monkeypatch.setenv("AGX_TOKEN", "s3cret")
    monkeypatch.setenv("AGX_EMPTY", "")
    monkeypatch.delenv("AGX_UNSET", raising=False)
    transport, _ = parse({"command": "${AGX_CMD:-python3}", "args": ["--token=${AGX_TOKEN}", "${AGX_UNSET:-x}"],
                          "env": {"TOKEN": "${AGX_TOKEN}", "MODE": "${AGX_EMPTY:-fallback}", "RAW": "$HOME"}})
    assert transport.command.endswith("python3") and transport.args == ("--token=s3cret", "x")
    assert (transport.env["TOKEN"], transport.env["MODE"], transport.env["RAW"]) == ("s3cret", "fallback", "$HOME")
    assert "s3cret" not in transport.describe()  # names and messages show the config as written
    http, _ = parse({"url": "https://${AGX_HOST:-example.org}/mcp",
                     "headers": {"Authorization": "Bearer ${AGX_TOKEN}"}})
    assert http.url == "https://example.org/mcp" and http.headers == {"Authorization": "Bearer s3cret"}


def test_an_unset_variable_is_a_clear_error_before_anything_starts(monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    with pytest.raises(UserError, match=r"env\['TOKEN'\] uses \$\{GITHUB_TOKEN\}, but GITHUB_TOKEN is not set.*"
                                        r"\$\{GITHUB_TOKEN:-default\}"):
        MCPServer({"command": "npx", "env": {"TOKEN": "${GITHUB_TOKEN}"}})
    with pytest.raises(UserError, match="headers"):
        MCPServer({"url": "http://127.0.0.1:9/mcp", "headers": {"X": "${GITHUB_TOKEN}"}})


# -- the environment a stdio server gets ------------------------------------------------------------------
def test_a_server_gets_the_safe_set_proxies_npm_config_and_what_it_names_nothing_else(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("no_proxy", "localhost")
    monkeypatch.setenv("npm_config_registry", "https://registry.internal/")
    monkeypatch.setenv("NODE_EXTRA_CA_CERTS", "/etc/ssl/internal.pem")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-for-servers")
    monkeypatch.setenv("AWS_REGION", "eu-north-1")
    monkeypatch.setenv("AWS_PROFILE", "dev")
    names = ["HTTPS_PROXY", "no_proxy", "npm_config_registry", "NODE_EXTRA_CA_CERTS", "OPENAI_API_KEY", "AWS_REGION",
             "AWS_PROFILE", "PATH", "EXTRA"]
    default = server_env({}, names)
    assert default["HTTPS_PROXY"] == "http://proxy.internal:3128" and default["no_proxy"] == "localhost"
    assert default["npm_config_registry"] == "https://registry.internal/"
    assert default["NODE_EXTRA_CA_CERTS"] == "/etc/ssl/internal.pem" and default["PATH"]
    assert default["OPENAI_API_KEY"] is None and default["AWS_REGION"] is None  # secrets stay here
    chosen = server_env({"pass_env": ["OPENAI_API_KEY", "AWS_*"], "env": {"EXTRA": "1", "HTTPS_PROXY": ""}}, names)
    assert chosen["OPENAI_API_KEY"] == "sk-not-for-servers"
    assert (chosen["AWS_REGION"], chosen["AWS_PROFILE"]) == ("eu-north-1", "dev")
    assert chosen["EXTRA"] == "1" and chosen["HTTPS_PROXY"] == ""  # `env` overrides a default
    assert "npm_config_*" in DEFAULT_PASS_ENV


@pytest.mark.parametrize("value", ["OPENAI_API_KEY", [1], {"a": "b"}])
def test_pass_env_must_be_a_list_of_names(value):
    with pytest.raises(UserError, match="'pass_env' must be a list of variable names"):
        MCPServer({"command": "x", "pass_env": value})


# -- stderr -------------------------------------------------------------------------------------------------
def test_stderr_goes_to_the_terminal_a_file_or_nowhere(tmp_path, capfd):
    with MCPServer(TOOLBOX) as server:  # inherit: the default
        server.call("complain", {"text": "inherited complaint"})
    assert "inherited complaint" in capfd.readouterr().err
    log = tmp_path / "logs" / "toolbox.log"
    log.parent.mkdir()
    for text in ("first complaint", "second complaint"):  # appended, across restarts
        with MCPServer({**TOOLBOX, "stderr": str(log)}) as server:
            server.call("complain", {"text": text})
    assert "first complaint\n" in log.read_text() and "second complaint\n" in log.read_text()
    with MCPServer(TOOLBOX, stderr="discard") as server:
        server.call("complain", {"text": "discarded complaint"})
    assert "discarded complaint" not in capfd.readouterr().err
    with pytest.raises(UserError, match="stderr must be"):
        MCPServer(TOOLBOX, stderr=3)


def test_a_server_that_does_not_start_in_time_leaves_no_stray_error(tmp_path):
    script = tmp_path / "late.py"
    script.write_text(textwrap.dedent(f"""
        import gc, sys, time
        from agentsilex.mcp import MCPServer, MCPTimeoutError
        server = MCPServer({{"command": sys.executable, "args": ["-c", "import time; time.sleep(3)"]}},
                           connect_timeout=0.5)
        try:
            server.tools()
        except MCPTimeoutError as exc:
            print("timed out:", exc)
        time.sleep(3.5)  # the server exits; its connection task ends
        gc.collect()
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "did not start within connect_timeout=0.5 s" in done.stdout, done.stderr
    assert "never retrieved" not in done.stderr and "Traceback" not in done.stderr, done.stderr


# -- agentsilex mcp tools ---------------------------------------------------------------------------------
def test_mcp_tools_lists_what_a_config_offers(tmp_path):
    config = tmp_path / "servers.json"
    config.write_text(json.dumps({"mcpServers": {
        "box": {**TOOLBOX, "allow": ["add", "weather"], "needs_approval": ["weather"], "stderr": "discard"},
        "off": {"command": "nothing", "disabled": True}}}))
    assert inventory(str(config)) == [{"name": "box", "tools": [
        {"name": "add", "description": "Add two integers.", "needs_approval": False,
         "input_schema": {"type": "object", "title": "addArguments", "required": ["a", "b"],
                          "properties": {"a": {"title": "A", "type": "integer"},
                                         "b": {"title": "B", "type": "integer"}}}},
        {"name": "weather", "description": "Today's weather in a city (structured output).", "needs_approval": True,
         "input_schema": {"type": "object", "title": "weatherArguments", "required": ["city"],
                          "properties": {"city": {"title": "City", "type": "string"}}}}]}]
    shown = CliRunner().invoke(app, ["mcp", "tools", str(config)])
    assert shown.exit_code == 0, shown.output
    assert shown.output.splitlines()[:3] == ["box: 2 tools", "  add(a: integer, b: integer)", "      Add two integers."]
    assert "  weather(city: string)  (needs approval)" in shown.output
    as_json = json.loads(CliRunner().invoke(app, ["mcp", "tools", str(config), "--json"]).output)
    assert as_json[0]["tools"][0]["input_schema"]["required"] == ["a", "b"]
    inline = CliRunner().invoke(app, ["mcp", "tools", json.dumps({**TOOLBOX, "prefix": "tb", "allow": ["pid"]})])
    assert inline.exit_code == 0 and "  tb_pid()" in inline.output


def test_mcp_tools_says_which_server_did_not_start_and_fails(tmp_path):
    config = tmp_path / "servers.json"
    config.write_text(json.dumps({"mcpServers": {"box": {**TOOLBOX, "allow": ["pid"]},
                                                 "typo": {"command": "no-such-mcp-server"}}}))
    shown = CliRunner().invoke(app, ["mcp", "tools", str(config)])
    assert shown.exit_code == 1 and "box: 1 tool" in shown.output
    assert "typo: did not start: MCPConnectionError: " in shown.output and "command not found" in shown.output
    bad = CliRunner().invoke(app, ["mcp", "tools", '{"comand": "x"}'])
    assert bad.exit_code == 1 and "Unknown MCP server config keys: comand" in bad.output


# -- third-party servers ------------------------------------------------------------------------------------
def installed(command: str) -> str:
    if shutil.which(command) or (BIN / command).exists():
        return command
    message = f"{command} is not installed: pip install -e '.[test]'"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def test_mcp_server_time_from_pypi():
    with MCPServer({"command": installed("mcp-server-time"), "args": ["--local-timezone", "UTC"]}) as server:
        assert [item.name for item in server.tools()] == ["get_current_time", "convert_time"]
        answer = server.call("convert_time", {"source_timezone": "UTC", "time": "12:00",
                                              "target_timezone": "Asia/Tokyo"})
    text = answer if isinstance(answer, str) else json.dumps(answer)
    assert "Asia/Tokyo" in text and "21:00" in text


def test_mcp_server_git_from_pypi_with_an_approval_for_commits(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    for command in (["init", "-q"], ["config", "user.email", "dev@example.org"], ["config", "user.name", "Dev"]):
        subprocess.run(["git", *command], cwd=repo, check=True)
    (repo / "notes.txt").write_text("remember the milk\n")
    config = {"command": installed("mcp-server-git"), "args": ["--repository", str(repo)],
              "needs_approval": ["git_commit"], "stderr": "discard"}
    model = ScriptedModel([call("git_status", repo_path=str(repo)),
                           call("git_add", repo_path=str(repo), files=["notes.txt"]),
                           call("git_commit", repo_path=str(repo), message="Add notes"), "Committed: Add notes."])
    with MCPServer(config) as git:
        agent = Agent(name="repo_helper", model=model, tools=git.tools())
        runner = Runner(Session())
        paused = runner.run(agent, "Commit notes.txt")
        assert [p.tool_name for p in paused.pending_approvals] == ["git_commit"]
        assert "notes.txt" in paused.function_calls[0].content  # git_status ran, untracked file listed
        assert "Untracked" in paused.function_calls[0].content or "untracked" in paused.function_calls[0].content
        done = runner.run(agent, paused.state.approve_all())
    assert done.final_output == "Committed: Add notes."
    log = subprocess.run(["git", "log", "--format=%s"], cwd=repo, capture_output=True, text=True, check=True)
    assert log.stdout.strip() == "Add notes"


@pytest.mark.timeout(300)
def test_the_filesystem_server_from_npm_via_npx(tmp_path):
    if shutil.which("npx") is None:
        if os.environ.get("CI"):
            pytest.fail("npx is missing: install Node.js and npm (.ci/services.sh does)")
        pytest.skip("needs npx (Node.js)")
    (tmp_path / "readme.txt").write_text("hello from the filesystem server\n")
    config = {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem@2026.8.31", str(tmp_path)],
              "connect_timeout": 240, "stderr": "discard"}  # the first run downloads the package from npm
    with MCPServer(config) as server:
        assert {"read_text_file", "list_directory", "write_file"} <= {item.name for item in server.tools()}
        listing = server.call("list_directory", {"path": str(tmp_path)})
        text = server.call("read_text_file", {"path": str(tmp_path / "readme.txt")})
    assert "readme.txt" in json.dumps(listing)
    assert "hello from the filesystem server" in json.dumps(text)
