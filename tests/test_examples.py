"""Every example runs offline with no API key (the seed's own examples run against the loopback server in
test_litellm_path.py, since they name a real model)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted(p for p in (Path(__file__).parent.parent / "examples").glob("*.py")
                  if not p.name.startswith("seed_"))


# What some examples must print (the rest must print something and exit 0).
EXPECTED = {"demo.py": "The result is 16", "handoffs.py": "answered by: billing",
            "agent_as_tool.py": "[researcher] tool_call: search", "context.py": "cart: ['tea', 'milk']",
            "structured_output.py": "Weather(city='Oslo', celsius=4.5)",
            "guardrails.py": "ToolGuardrailTripped: stay_in_tmp", "approval.py": "kept the database",
            "budgets_and_hooks.py": "stopped: max_tool_calls hit",
            "eval_weather.py": "Overall passed: True (3/3 cases)",
            "eval_weather_failures.py": "Overall passed: False (1/3 cases)",
            "record_replay.py": "same answer: True", "cli_agent.py": "5 + 3 = **8**"}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs_offline(path):
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and "BASE_URL" not in k}
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, env=env, timeout=60,
                          cwd=path.parent.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip(), "an example should show what it did"
    assert EXPECTED.get(path.name, "") in done.stdout
