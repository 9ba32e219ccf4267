"""One loader for every command: `module:attr` and `path/file.py:attr`, including a file that imports its own
package (issue 22). Each command is run for real on a package written to disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentsilex import Agent, UserError
from agentsilex.app.common import load_agent, load_object

BIN = Path(sys.executable).parent
TOOLS = '''
from agentsilex import tool

@tool
def add_numbers(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b
'''
# The agent file imports its own package twice: absolutely and relatively (the ModuleNotFoundError of issue 22).
AGENT = '''
from agentsilex import Agent
from agentsilex.testing.demo import DemoModel
from helperpkg.tools import add_numbers
from .prompts import INSTRUCTIONS

agent = Agent(name="helper", model=DemoModel(delay=0), instructions=INSTRUCTIONS, tools=[add_numbers],
              description="Adds numbers for the loader tests.")
team = [agent]
'''
EVALSET = {"cases": [{"eval_id": "two_plus_three", "dialog_session": [{
    "user_utterance": "What is 2 + 3?", "agent_response": "2 + 3 = **5**",
    "tools_used": [{"name": "add_numbers", "arguments": "{\"a\": 2, \"b\": 3}", "response": "5"}]}]}]}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """project/helperpkg/{__init__,tools,prompts}.py and helperpkg/agents/main.py, and an empty folder to run from."""
    root = tmp_path_factory.mktemp("loader")
    package = root / "project" / "helperpkg"
    (package / "agents").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "tools.py").write_text(TOOLS)
    (package / "prompts.py").write_text("INSTRUCTIONS = 'You add numbers.'\n")
    (package / "agents" / "__init__.py").write_text("")
    (package / "agents" / "prompts.py").write_text("INSTRUCTIONS = 'You add numbers (nested).'\n")
    (package / "agents" / "main.py").write_text(AGENT)
    (package / "agent.py").write_text(AGENT)
    (root / "elsewhere").mkdir()
    (root / "sums.json").write_text(json.dumps(EVALSET))
    return root


def run(args: list[str], cwd: Path, **options) -> subprocess.CompletedProcess:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, **options)


def test_a_file_that_imports_its_own_package_loads_as_that_package_s_module(project):
    agent = load_agent(f"{project}/project/helperpkg/agents/main.py:agent")
    assert agent.instructions == "You add numbers (nested)." and type(agent).__module__ == "agentsilex.agent"
    assert sys.modules["helperpkg.agents.main"].agent is agent  # imported as pkg.sub.file, not by path
    assert load_agent(f"{project}/project/helperpkg/agents/main.py") is agent  # attribute defaults to `agent`
    assert load_object(f"{project}/project/helperpkg/agents/main.py:team") == [agent]
    assert load_agent("helperpkg.agents.main:agent") is agent  # the module form now finds the same module
    assert load_agent(f"{project}/project/helperpkg/agent.py:agent").instructions == "You add numbers."


def test_lone_files_named_like_loaded_modules_still_load(tmp_path):
    for name in ("json", "my-agent", "agent"):  # the stdlib's name, not an identifier, a common name
        folder = tmp_path / name.replace("-", "_")
        folder.mkdir()
        (folder / f"{name}.py").write_text(f"from agentsilex import Agent\nagent = Agent(name={name!r}, model='x')\n")
        assert load_agent(f"{folder / name}.py").name == name
    other = tmp_path / "other"
    other.mkdir()
    (other / "agent.py").write_text("from agentsilex import Agent\nagent = Agent(name='other', model='x')\n")
    assert load_agent(f"{other}/agent.py").name == "other"  # a second `agent.py` is not the first one


def test_a_package_shadowed_by_a_loaded_one_is_a_clear_error(tmp_path):
    package = tmp_path / "email"  # the stdlib's email package is loaded already
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "bot.py").write_text("from agentsilex import Agent\nagent = Agent(name='b', model='x')\n")
    with pytest.raises(UserError, match="another module named 'email' is already loaded"):
        load_agent(f"{package}/bot.py")


@pytest.mark.parametrize("spec,folder", [
    ("../project/helperpkg/agents/main.py:agent", "elsewhere"),  # a path: from any folder
    ("../project/helperpkg/agent.py", "elsewhere"),  # the attribute defaults to `agent`
    ("helperpkg.agents.main:agent", "project"),  # a module: from the folder that holds the package
])
def test_every_command_accepts_the_same_specs(project, spec, folder):
    """run, chat, serve, eval, `agentsilex mcp serve` and `python -m agentsilex.mcp serve`, each in its own process."""
    cwd = project / folder
    done = run([str(BIN / "agentsilex"), "run", spec, "What is 2 + 3?"], cwd)
    assert done.returncode == 0 and "2 + 3 = **5**" in done.stdout, done.stderr
    done = run([str(BIN / "agentsilex"), "chat", spec, "--store", str(project / "chat.db")], cwd,
               input="What is 4 + 4?\n/quit\n")
    assert done.returncode == 0 and "4 + 4 = **8**" in done.stdout, done.stderr
    done = run([str(BIN / "agentsilex"), "eval", spec, str(project / "sums.json")], cwd)
    assert done.returncode == 0 and "PASSED: 1/1 cases" in done.stdout, done.stdout + done.stderr
    probe = ("import sys; from agentsilex.app.web import create_app; from agentsilex.app.common import load_agent;"
             "from fastapi.testclient import TestClient;"
             "print(TestClient(create_app(load_agent(sys.argv[1]))).get('/api/info').json()['agent'])")
    done = run([sys.executable, "-c", probe, spec], cwd)
    assert done.returncode == 0 and done.stdout.strip() == "helper", done.stderr
    pytest.importorskip("mcp")
    from agentsilex.mcp import MCPServer

    for command in ([str(BIN / "agentsilex"), "mcp", "serve", spec],
                    [sys.executable, "-m", "agentsilex.mcp", "serve", spec]):
        with MCPServer({"command": command[0], "args": command[1:], "cwd": str(cwd)}, stderr="discard") as server:
            assert [t.name for t in server.tools()] == ["helper"]
            assert server.call("helper", {"input": "What is 1 + 2?"}) == "1 + 2 = **3**"


def test_serve_loads_through_the_same_loader(project, monkeypatch):
    pytest.importorskip("fastapi")
    import uvicorn
    from typer.testing import CliRunner

    from agentsilex.app.cli import app

    served = []
    monkeypatch.setattr(uvicorn, "run", lambda web, **options: served.append(web))
    monkeypatch.chdir(project / "elsewhere")
    result = CliRunner().invoke(app, ["serve", "../project/helperpkg/agents/main.py:agent", "--store",
                                      str(project / "web.db")])
    assert result.exit_code == 0, result.output
    assert "chat with helper at http://127.0.0.1:8000/" in result.output and len(served) == 1


def test_an_agent_file_with_a_syntax_error_is_one_line_everywhere(tmp_path):
    (tmp_path / "broken.py").write_text("agent = (\n")
    for args in (["run", "broken.py:agent", "hi"], ["chat", "broken.py:agent"], ["eval", "broken.py", "x.json"],
                 ["mcp", "serve", "broken.py"]):
        done = run([str(BIN / "agentsilex"), *args], tmp_path)
        assert done.returncode in (1, 2) and "Traceback" not in done.stderr, done.stderr
        assert "error:" in done.stdout + done.stderr, args
    done = run([sys.executable, "-m", "agentsilex.mcp", "serve", "broken.py"], tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_agent_description_is_a_checked_keyword_field():
    assert Agent(name="a", model="x").description == ""
    assert Agent(name="a", model="x", description="Finds things.").description == "Finds things."
    with pytest.raises(UserError, match="description must be a string"):
        Agent(name="a", model="x", description=["not", "text"])
