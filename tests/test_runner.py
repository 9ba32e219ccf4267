"""The loop's behaviour and every error path, with the session still valid afterwards."""

from __future__ import annotations

import asyncio
import sys

import pytest
from conftest import run_in_mode
from history import assert_valid_history

from agentsilex import Agent, Runner, Session, tool
from agentsilex.errors import (MaxTurnsExceeded, ModelError, ScriptExhaustedError, ToolArgumentsError, ToolError,
                               UnknownToolError, UserError)
from agentsilex.testing import Fail, FunctionModel, ScriptedModel, call


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


@tool
def explode(reason: str) -> str:
    """Always fails."""
    raise ValueError(f"boom: {reason}")


def make(replies, tools=(add, explode), **runner_options):
    model = ScriptedModel(replies)
    session = Session()
    return model, session, Runner(session, **runner_options), Agent(name="bot", model=model, tools=list(tools))


def test_final_answer_without_tools(mode):
    model, session, runner, agent = make(["hello"])
    result, _ = run_in_mode(runner, agent, "hi", mode)
    assert result.final_output == "hello"
    assert result.last_agent is agent
    assert result.new_messages == session.dialogs == [{"role": "user", "content": "hi"},
                                                      {"role": "assistant", "content": "hello"}]
    assert result.usage.requests == 1 and result.usage.total_tokens > 0


def test_instructions_go_first_and_are_not_stored():
    model, session, runner, agent = make(["ok"])
    runner.run(agent.clone(instructions="Be brief."), "hi")
    assert model.requests[0].messages[0] == {"role": "system", "content": "Be brief."}
    assert all(m["role"] != "system" for m in session.dialogs)
    assert [t["function"]["name"] for t in model.requests[0].tools] == ["add", "explode"]


def test_instructions_may_be_a_function_of_the_context():
    model, session, _, agent = make(["ok"])
    runner = Runner(session, context={"user": "Ann"})
    runner.run(agent.clone(instructions=lambda ctx: f"Help {ctx['user']}."), "hi")
    assert model.requests[0].messages[0]["content"] == "Help Ann."


@pytest.mark.parametrize("reply, expected", [
    (call("explode", reason="x"), "Error: tool 'explode' raised ValueError: boom: x"),
    (call("add", "{oops"), "Error: Arguments for tool 'add' are not valid JSON"),
    (call("add", "[1]"), "Error: Arguments for tool 'add' must be a JSON object, got list"),
    (call("add", a="one", b=2), "Error: Invalid arguments for tool 'add': a: Input should be a valid integer"),
    (call("nope"), "Error: Unknown tool 'nope'. Available tools: add, explode."),
])
def test_tool_errors_go_back_to_the_model_and_the_run_continues(mode, reply, expected):
    model, session, runner, agent = make([reply, "recovered"])
    result, _ = run_in_mode(runner, agent, "go", mode)
    assert result.final_output == "recovered"
    tool_message = session.dialogs[2]
    assert tool_message["role"] == "tool" and tool_message["content"].startswith(expected)
    assert model.requests[1].messages[-1] == tool_message  # the model read the error
    assert result.function_calls[0].error == tool_message["content"]
    assert_valid_history(session.dialogs)


@pytest.mark.parametrize("reply, error", [
    (call("explode", reason="x"), ToolError),
    (call("add", "{oops"), ToolArgumentsError),
    (call("add", a="one", b=2), ToolArgumentsError),
    (call("nope"), UnknownToolError),
])
def test_raise_tool_errors_option(mode, reply, error):
    model, session, runner, agent = make([reply, "never"], raise_tool_errors=True)
    with pytest.raises(error) as info:
        run_in_mode(runner, agent, "go", mode)
    assert info.value.call_id in {c["id"] for m in session.dialogs for c in m.get("tool_calls") or []}
    if reply.name == "explode":
        assert isinstance(info.value.__cause__, ValueError)
    assert_valid_history(session.dialogs)
    assert model.remaining == 1  # the run stopped right there


def test_parallel_calls_in_one_message_answered_in_order(mode):
    model, session, runner, agent = make([[call("add", a=1, b=1), call("explode", reason="r"),
                                           call("add", a=2, b=2)], "done"])
    result, _ = run_in_mode(runner, agent, "go", mode)
    assert [m.get("content") for m in session.dialogs[2:5]] == [
        "2", "Error: tool 'explode' raised ValueError: boom: r", "4"]
    assert [fc.name for fc in result.function_calls] == ["add", "explode", "add"]
    assert_valid_history(session.dialogs)


def test_max_turns_raises_with_partial_result(mode):
    model, session, runner, agent = make([call("add", a=1, b=1)] * 3, max_turns=3)
    with pytest.raises(MaxTurnsExceeded, match="max_turns=3") as info:
        run_in_mode(runner, agent, "loop", mode)
    partial = info.value.result
    assert partial.final_output is None and len(partial.function_calls) == 3
    assert partial.usage.requests == 3
    assert_valid_history(session.dialogs)


def test_model_failure_raises_model_error_and_session_stays_valid(mode):
    model, session, runner, agent = make([call("add", a=1, b=1), Fail(401, "bad key")])
    with pytest.raises(ModelError) as info:
        run_in_mode(runner, agent, "go", mode)
    assert info.value.status_code == 401
    assert_valid_history(session.dialogs)
    model.replies.append("fine now")
    assert runner.run(agent, "again").final_output == "fine now"
    assert_valid_history(session.dialogs)


def test_script_exhausted_fails_loudly():
    _, _, runner, agent = make([])
    with pytest.raises(ScriptExhaustedError, match="script is used up"):
        runner.run(agent, "hi")


def test_assert_complete_fails_while_scripted_replies_are_left(mode):
    model, _, runner, agent = make([call("add", a=1, b=2), "3", "a reply the run never asks for"])
    run_in_mode(runner, agent, "1+2?", mode)
    with pytest.raises(AssertionError, match="1 scripted reply was never used: \\['a reply the run never"):
        model.assert_complete()
    model.replies.clear()
    model.assert_complete()
    ScriptedModel([Fail(500, "down", forever=True)]).assert_complete()  # a reply for ever is never used up


def test_keyboard_interrupt_in_a_tool_propagates_and_answers_the_call(mode):
    @tool
    def interrupt() -> str:
        """Simulates Ctrl-C."""
        raise KeyboardInterrupt

    model, session, runner, agent = make([[call("interrupt"), call("add", a=1, b=1)], "never"], tools=[interrupt, add])
    with pytest.raises(KeyboardInterrupt):
        run_in_mode(runner, agent, "go", mode)
    assert_valid_history(session.dialogs)
    assert "interrupted" in session.dialogs[-1]["content"]


def test_async_tools_run_in_every_mode(mode):
    @tool
    async def slow_double(x: int) -> int:
        """Double, asynchronously."""
        await asyncio.sleep(0)
        return 2 * x

    _, session, runner, agent = make([call("slow_double", x=21), "42"], tools=[slow_double])
    result, _ = run_in_mode(runner, agent, "go", mode)
    assert session.dialogs[2]["content"] == "42" and result.function_calls[0].result == 42


def test_sync_run_works_inside_a_running_event_loop():
    @tool
    async def aecho(text: str) -> str:
        """Echo."""
        return text

    _, session, runner, agent = make([call("aecho", text="hey"), "done"], tools=[aecho])

    async def main():  # e.g. a Jupyter cell or a FastAPI handler calling the sync API
        return runner.run(agent, "go")

    assert asyncio.run(main()).final_output == "done"
    assert session.dialogs[2]["content"] == "hey"


def test_context_is_shared_and_mutable_across_tools_and_turns(mode):
    @tool
    def count(context) -> int:
        """Count calls."""
        context["n"] = context.get("n", 0) + 1
        return context["n"]

    context: dict = {}
    model = ScriptedModel([call("count"), call("count"), "done", call("count"), "done"])
    runner = Runner(Session(), context=context)
    agent = Agent(name="c", model=model, tools=[count])
    run_in_mode(runner, agent, "one", mode)
    run_in_mode(runner, agent, "two", mode)
    assert context == {"n": 3}


def test_function_model_decides_from_the_history():
    def brain(messages, tools):
        if messages[-1]["role"] == "user":
            return call("add", a=2, b=3)
        return f"the sum is {messages[-1]['content']}"

    agent = Agent(name="f", model=FunctionModel(brain), tools=[add])
    assert Runner().run(agent, "2+3?").final_output == "the sum is 5"


def test_stream_result_only_after_the_end():
    _, _, runner, agent = make(["hi"])
    stream = runner.run_stream(agent, "x")
    with pytest.raises(UserError, match="not finished"):
        stream.result
    events = list(stream)
    assert events[-1].type == "final_result" and stream.result.final_output == "hi"
    assert "".join(e.content for e in events if e.type == "partial_output") == "hi"


def test_breaking_out_of_a_stream_leaves_a_valid_session():
    _, session, runner, agent = make([[call("add", a=1, b=1), call("add", a=2, b=2)], "done"])
    stream = runner.run_stream(agent, "x")
    for event in stream:
        if event.type == "tool_call":
            break
    stream.close()
    assert_valid_history(session.dialogs)


@pytest.mark.parametrize("bad", [
    dict(name=""), dict(model=3), dict(tools=[1]), dict(tools=[add, add]), dict(model_settings={"temperature": 1}),
])
def test_invalid_agent_configuration_raises_user_error(bad):
    with pytest.raises(UserError):
        Agent(**{"name": "a", "model": "gpt-4o", **bad})


def test_plain_functions_become_tools_and_clone_keeps_tools():
    def mul(a: int, b: int) -> int:
        """Multiply."""
        return a * b

    agent = Agent(name="a", model=ScriptedModel([call("mul", a=6, b=7), "42"]), tools=[mul])
    assert agent.tools[0].name == "mul"
    clone = agent.clone(name="b")
    assert clone.name == "b" and clone.tools[0] is agent.tools[0]
    assert Runner().run(clone, "6*7").final_output == "42"


def test_runner_rejects_bad_arguments():
    with pytest.raises(UserError):
        Runner(max_turns=0)
    _, _, runner, agent = make(["x"])
    with pytest.raises(UserError, match="prompt must be a str"):
        runner.run(agent, {"not": "a prompt"})  # a list of strings is a prompt of text parts (content.py)


def test_function_calls_unpack_like_agentsilex_1():
    _, _, runner, agent = make([call("add", a=1, b=2, call_id="call_1"), "3"])
    name, arguments, response = runner.run(agent, "x").function_calls[0]
    assert (name, arguments) == ("add", '{"a": 1, "b": 2}')
    assert response == {"role": "tool", "tool_call_id": "call_1", "content": "3"}


def test_import_is_light():
    import subprocess

    code = "import sys, agentsilex; print(sorted(m for m in ('litellm', 'openai', 'httpx', 'dotenv') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_tools_added_after_the_agent_was_made_are_offered_and_callable():
    def mul(a: int, b: int) -> int:
        """Multiply."""
        return a * b

    model = ScriptedModel([call("mul", a=6, b=7), "42"])
    agent = Agent(name="a", model=model, tools=[add])
    agent.tools.append(mul)  # a plain function, added later
    assert Runner().run(agent, "6*7").final_output == "42"
    assert [t["function"]["name"] for t in model.requests[0].tools] == ["add", "mul"]
    assert agent.find_tool("mul").name == "mul"
