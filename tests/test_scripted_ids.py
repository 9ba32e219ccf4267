"""The testing kit's call ids never collide (across models, runs and processes) and `call()` keeps every tool
argument, `id` included."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import run_in_mode

from agentsilex import Agent, Runner, Session, UserError, tool
from agentsilex.testing import FunctionModel, ScriptedModel, call
from agentsilex.testing.script import reply_from_json


@tool
def get_order(id: int) -> str:
    """Look an order up by its id."""
    return f"order {id}"


def test_a_tool_parameter_named_id_is_an_argument(mode):
    agent = Agent(name="a", model=ScriptedModel([call("get_order", id=7), "ok"]), tools=[get_order])
    result, _ = run_in_mode(Runner(), agent, "go", mode)
    assert result.function_calls[0].arguments == '{"id": 7}' and result.function_calls[0].content == "order 7"
    assert call("get_order", {"id": 8}, call_id="c1") == call("get_order", id=8, call_id="c1")
    assert call("get_order", {"id": 8}, call_id="c1").call_id == "c1"
    with pytest.raises(UserError, match="not both"):
        call("get_order", '{"id": 1}', id=2)
    assert reply_from_json({"tool_calls": [{"name": "get_order", "arguments": {"id": 1}, "id": "x"}]})[0].call_id == "x"


def ids_of(model_factory) -> list[str]:
    session = Session()
    Runner(session).run(Agent(name="a", model=model_factory(), tools=[get_order]), "go")
    return [c["id"] for m in session.dialogs for c in m.get("tool_calls") or []]


def test_call_ids_are_unique_across_models_and_runs_and_ordered_within_one():
    script = lambda: ScriptedModel([[call("get_order", id=1), call("get_order", id=2)], call("get_order", id=3), "ok"])
    first, second = ids_of(script), ids_of(script)
    assert len(set(first)) == 3 and not set(first) & set(second)
    prefix = first[0].rsplit("_", 1)[0]
    assert first == [f"{prefix}_1", f"{prefix}_2", f"{prefix}_3"]  # stable order within one model

    replies = iter([call("get_order", id=1), "ok"])
    assert ids_of(lambda: FunctionModel(lambda messages, tools: next(replies)))[0].startswith("call_")


def test_call_ids_differ_after_a_restart():
    code = ("from agentsilex import Agent, Runner, Session, tool; from agentsilex.testing import ScriptedModel, call\n"
            "s = Session(); f = tool(lambda id: 'x', name='get_order')\n"
            "Runner(s).run(Agent(name='a', model=ScriptedModel([call('get_order', id=1), 'ok']), tools=[f]), 'go')\n"
            "print(s.dialogs[1]['tool_calls'][0]['id'])")
    ids = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
           for _ in range(2)]
    assert ids[0] != ids[1] and all(i.startswith("call_") for i in ids), ids
