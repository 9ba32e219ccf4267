"""Issue 21 (point 7): `agentsilex eval` on a file it cannot read says so in one line (no traceback), and an
empty evaluation set fails (exit 1) instead of passing a CI gate with nothing evaluated."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentsilex.app.cli import app
from agentsilex.errors import UserError
from agentsilex.evaluation import AgentEvaluator, EvalSet, ResponseMatchEvaluator
from agentsilex.testing import ScriptedModel

AGENT = f"{Path(__file__).parents[2] / 'examples' / 'eval_data' / 'weather_agent.py'}:agent"


def run_eval(*args: str):
    result = CliRunner().invoke(app, ["eval", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.mark.parametrize("content, message", [
    (b"\xff\xfe{\x00}\x00", "is not UTF-8 text"),
    (b'{"cases": [{"eval_id": "a"}]}', "is not a valid evaluation set (1 problems: cases.0.dialog_session"),
    (b"not json at all", "is not a valid evaluation set"),
])
def test_an_unreadable_file_is_one_line_and_exit_2(tmp_path, content, message):
    (tmp_path / "set.json").write_bytes(content)
    result = run_eval(AGENT, str(tmp_path / "set.json"))
    assert result.exit_code == 2 and message in result.output, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_a_folder_is_one_line_and_exit_2(tmp_path):
    result = run_eval(AGENT, str(tmp_path))
    assert result.exit_code == 2 and "is a folder" in result.output and "Traceback" not in result.output


def test_an_empty_set_fails_with_exit_1_and_says_so(tmp_path):
    (tmp_path / "empty.json").write_text('{"cases": []}')
    result = run_eval(AGENT, str(tmp_path / "empty.json"))
    assert result.exit_code == 1 and "has no cases" in result.output and "nothing was evaluated" in result.output
    from agentsilex import Agent

    evaluated = AgentEvaluator(Agent(name="a", model=ScriptedModel([])), [ResponseMatchEvaluator(0.5)]).evaluate(
        EvalSet(cases=[]))
    assert evaluated.passed is False and evaluated.total_cases == 0  # the library's gate agrees


def test_a_report_path_that_is_a_folder_is_one_line(tmp_path):
    sample = Path(__file__).parents[2] / "examples" / "eval_data" / "weather_agent_eval.json"
    result = run_eval(AGENT, str(sample), "--json", str(tmp_path))
    assert result.exit_code == 2 and "cannot write" in result.output and "Traceback" not in result.output


def test_the_library_loader_raises_user_errors(tmp_path):
    (tmp_path / "bad.json").write_bytes(b"\xff")
    for path, message in [(tmp_path / "bad.json", "not UTF-8"), (tmp_path, "is a folder")]:
        with pytest.raises(UserError, match=message):
            EvalSet.load(path)
