from conftest import run_in_mode

from agentsilex import Agent, Runner, Session, tool
from agentsilex.testing import ScriptedModel, call


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def test_tool_call_then_answer_in_every_mode(mode):
    model = ScriptedModel([call("add", a=1, b=2), "3"])
    session = Session()
    result, events = run_in_mode(Runner(session), Agent(name="a", model=model, tools=[add]), "1+2?", mode)
    assert result.final_output == "3"
    model.assert_complete()
    assert [m["role"] for m in session.dialogs] == ["user", "assistant", "tool", "assistant"]
    if mode in ("stream", "async_stream"):
        assert [e.type for e in events].count("final_result") == 1
