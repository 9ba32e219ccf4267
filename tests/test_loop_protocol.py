"""The loop is sans-I/O: it can be driven with send() alone, with no runner, thread or event loop."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from agentsilex import Agent, Session, tool
from agentsilex.engine.loop import Emit, ModelCall, Outcome, Run, RunTools, agent_loop
from agentsilex.messages import assistant, tool_call
from agentsilex.models import ModelResponse, Usage
from agentsilex.testing import ScriptedModel


@tool
def add(a: int, b: int) -> int:
    """Add."""
    return a + b


def test_driving_the_loop_by_hand():
    session = Session()
    agent = Agent(name="calc", model=ScriptedModel([]), instructions="Add.", tools=[add])
    loop = agent_loop(Run(agent, session, {}, "1+2?"))

    request = next(loop)
    assert isinstance(request, ModelCall)
    assert request.request.messages == [{"role": "system", "content": "Add."}, {"role": "user", "content": "1+2?"}]
    reply = ModelResponse(assistant(None, [tool_call("c1", "add", '{"a": 1, "b": 2}')]), Usage(1, 10, 5))

    request = loop.send(reply)
    assert isinstance(request, Emit) and request.event.type == "tool_call"
    request = next(loop)
    assert isinstance(request, RunTools) and request.calls[0].arguments == {"a": 1, "b": 2}
    # The driver decides how to run tools; here we hand back an answer without running anything.
    request = loop.send([Outcome(value=3)])
    assert isinstance(request, Emit) and request.event.type == "tool_response"
    assert session.dialogs[-1] == {"role": "tool", "tool_call_id": "c1", "content": "3"}

    request = next(loop)
    assert isinstance(request, ModelCall) and request.request.messages[-1]["content"] == "3"
    request = loop.send(ModelResponse(assistant("3"), Usage(1, 20, 1)))
    assert isinstance(request, Emit) and request.event.type == "final_result"
    with pytest.raises(StopIteration) as done:
        next(loop)
    result = done.value.value
    assert result.final_output == "3" and result.usage.total_tokens == 36 and len(session.dialogs) == 4


def test_closing_the_loop_mid_tools_answers_every_call():
    session = Session()
    agent = Agent(name="calc", model=ScriptedModel([]), tools=[add])
    loop = agent_loop(Run(agent, session, {}, "go"))
    next(loop)
    loop.send(ModelResponse(assistant(None, [tool_call("c1", "add", "{}"), tool_call("c2", "add", '{"a":1,"b":1}')])))
    while not isinstance(request := next(loop), RunTools):
        pass
    loop.close()  # e.g. the consumer went away while tools ran
    assert [m["role"] for m in session.dialogs] == ["user", "assistant", "tool", "tool"]
    assert all("interrupted" in m["content"] for m in session.dialogs[2:])


def test_import_has_no_side_effects():
    code = ("import os, sys; before = dict(os.environ); import agentsilex; "
            "assert dict(os.environ) == before; assert 'litellm' not in sys.modules; print('clean')")
    env = {k: v for k, v in os.environ.items() if k != "LITELLM_LOCAL_MODEL_COST_MAP"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "clean", out.stderr


def test_litellm_env_default_never_overrides_the_user():
    code = ("import os; os.environ['LITELLM_LOCAL_MODEL_COST_MAP'] = 'False'; "
            "from agentsilex.models import litellm as m; "
            "os.environ.pop('LITELLM_LOCAL_MODEL_COST_MAP'); os.environ['LITELLM_LOCAL_MODEL_COST_MAP'] = 'mine'; "
            "import sys; sys.modules['litellm'] = type(sys)('litellm'); m.load_litellm(); "
            "print(os.environ['LITELLM_LOCAL_MODEL_COST_MAP'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "mine", out.stderr
