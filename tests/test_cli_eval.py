"""`agentsilex eval`: the CI gate (exit 0 when the set passes, 1 when it fails), reports, --from-session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentsilex.cli import app

EVAL_DATA = Path(__file__).parent.parent / "examples" / "eval_data"
AGENT = f"{EVAL_DATA / 'weather_agent.py'}:agent"
JUDGE = f"{EVAL_DATA / 'weather_agent.py'}:judge_model"
PASSING = str(EVAL_DATA / "weather_agent_eval.json")
FAILING = str(EVAL_DATA / "weather_agent_eval_with_failures.json")


def invoke(*args: str):
    return CliRunner().invoke(app, ["eval", *args], catch_exceptions=False)


def test_a_passing_set_exits_0_and_a_failing_set_exits_1(tmp_path):
    passed = invoke(AGENT, PASSING, "--judge", JUDGE)
    assert passed.exit_code == 0, passed.output
    assert "PASSED: 3/3 cases" in passed.output and "llm_judge" in passed.output
    failed = invoke(AGENT, FAILING, "--judge", JUDGE, "--json", str(tmp_path / "out.json"),
                    "--html", str(tmp_path / "out.html"), "--concurrency", "1")
    assert failed.exit_code == 1, failed.output
    assert "FAILED: 1/3 cases" in failed.output
    data = json.loads((tmp_path / "out.json").read_text())
    assert [c["passed"] for c in data["case_results"]] == [True, False, False]
    page = (tmp_path / "out.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "expects_another_answer" in page and "https://" not in page


def test_thresholds_and_metrics_decide_the_gate():
    # The only failure left under a response-match-only check is a ROUGE-1 of 0.222 for one case.
    assert invoke(AGENT, FAILING, "--metric", "response_match", "--threshold", "0.2").exit_code == 0
    assert invoke(AGENT, FAILING, "--metric", "response_match", "--threshold", "response_match=0.3").exit_code == 1
    assert invoke(AGENT, FAILING, "-m", "tool_trajectory", "--trajectory", "subset").exit_code == 1
    assert invoke(AGENT, FAILING, "-m", "response_match", "--similarity", "exact", "-t", "0").exit_code == 0


@pytest.mark.parametrize("args,message", [
    (["nope.py:agent", PASSING], "No such file: 'nope.py'"),
    ([AGENT.replace(":agent", ":missing"), PASSING], "has no attribute 'missing'"),
    ([AGENT, "missing.json"], "No evaluation set"),
    ([AGENT, PASSING, "--threshold", "speed=1"], "unknown metric 'speed'"),
    ([AGENT, PASSING, "--metric", "llm_judge"], "needs --judge"),
    ([AGENT], "Give the agent and the evaluation set"),
])
def test_bad_input_exits_2_with_a_clear_message(args, message):
    result = CliRunner().invoke(app, ["eval", *args])
    assert result.exit_code == 2 and message in result.output, result.output


AGENT_MODULE = textwrap.dedent('''
    from agentsilex import Agent, tool
    from agentsilex.testing import ScriptedModel, call

    @tool
    def get_weather(city: str) -> str:
        """Get the weather for a city."""
        return "SUNNY"

    SCRIPT = [call("get_weather", city="Oslo"), "The weather in Oslo is SUNNY.", "You asked about Oslo."]
    agent = Agent(name="w", model=ScriptedModel(list(SCRIPT)), tools=[get_weather])
''')


def test_from_session_turns_a_stored_conversation_into_a_case(tmp_path):
    from agentsilex import Runner
    from agentsilex.stores import SQLiteSession

    (tmp_path / "weather_app.py").write_text(AGENT_MODULE)
    sys.path.insert(0, str(tmp_path))
    try:
        import weather_app
    finally:
        sys.path.remove(str(tmp_path))
    runner = Runner(SQLiteSession("conv-7", tmp_path / "sessions.db"))
    runner.run(weather_app.agent, "Weather in Oslo?")
    runner.run(weather_app.agent, "Which city?")
    evalset = tmp_path / "evalset.json"
    made = invoke("--from-session", f"sqlite:///{tmp_path / 'sessions.db'}", "conv-7", "--out", str(evalset))
    assert made.exit_code == 0 and "added case 'conv-7' (2 turns)" in made.output
    case = json.loads(evalset.read_text())["cases"][0]
    assert case["dialog_session"][0]["tools_used"][0]["name"] == "get_weather"
    # A fresh copy of the agent (its script restarts) passes the case it produced: as a new process would, the
    # command imports the file anew (the loader reuses a module this process already imported from that file).
    sys.modules.pop("weather_app")
    assert invoke(f"{tmp_path / 'weather_app.py'}:agent", str(evalset), "-t", "1.0").exit_code == 0
    assert invoke("--from-session", "sqlite:///nowhere.db", "x", "--out", str(evalset)).exit_code == 2


def test_the_console_script_gates_a_ci_job():
    script = Path(sys.executable).parent / "agentsilex"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    codes = [subprocess.run([str(script), "eval", AGENT, evalset, "--judge", JUDGE], capture_output=True,
                            text=True, env=env, timeout=120).returncode for evalset in (PASSING, FAILING)]
    assert codes == [0, 1]


def test_the_agent_can_be_named_by_dotted_module_path(monkeypatch):
    monkeypatch.chdir(EVAL_DATA.parent.parent)  # the current directory is importable, as with `python -m`
    result = invoke("examples.eval_data.weather_agent:agent", PASSING, "--concurrency", "2")
    assert result.exit_code == 0, result.output
    assert invoke("examples.nowhere:agent", PASSING).exit_code == 2
