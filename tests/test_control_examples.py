"""The examples for handoffs, agents as tools, context, structured output, guardrails, approval, budgets and
hooks run offline and show what they did."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
if (Path(__file__).parent / "test_examples.py").exists():  # the general suite already runs every example
    pytest.skip("tests/test_examples.py runs these examples", allow_module_level=True)
EXAMPLES = ["handoffs.py", "agent_as_tool.py", "context.py", "structured_output.py", "guardrails.py",
            "approval.py", "budgets_and_hooks.py"]
EXPECTED = {"handoffs.py": "answered by: billing", "agent_as_tool.py": "[researcher] tool_call: search",
            "context.py": "cart: ['tea', 'milk']", "structured_output.py": "Weather(city='Oslo', celsius=4.5)",
            "guardrails.py": "ToolGuardrailTripped: stay_in_tmp", "approval.py": "kept the database",
            "budgets_and_hooks.py": "stopped: max_tool_calls hit"}


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_runs_offline(name):
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and "BASE_URL" not in k}
    done = subprocess.run([sys.executable, str(ROOT / "examples" / name)], capture_output=True, text=True,
                          env=env, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert EXPECTED[name] in done.stdout
