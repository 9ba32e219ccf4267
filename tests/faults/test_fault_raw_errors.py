"""No raw Python error left from the earlier round (issue 21, point 7, the engine's part): each misuse is a typed,
one-line UserError before anything is stored or sent, in every mode; and a custom BaseException from a sync tool
propagates in every driver alike, after the batch has settled, with the session left valid."""

from __future__ import annotations

import asyncio
import time

import pytest
from conftest import run_in_mode
from history import assert_valid_history

from agentsilex import Agent, Runner, Session, tool
from agentsilex.errors import UserError
from agentsilex.testing import ScriptedModel, call


def _one_line(error: BaseException) -> None:
    assert "\n" not in str(error) and str(error)


@pytest.mark.parametrize("options,words", [
    ({"before_llm_call_callbacks": 5}, "before_llm_call_callbacks must be a list of functions"),
    ({"before_llm_call_callbacks": [5]}, "before_llm_call_callbacks must be a list of functions"),
    ({"memory": "abc"}, "memory must be a strategy or a list of strategies"),
    ({"memory": [5]}, "memory must be a strategy or a list of strategies"),
    ({"history_processors": 5}, "history_processors must be functions"),
])
def test_a_wrong_runner_option_is_a_user_error(options, words):
    with pytest.raises(UserError, match=words) as caught:
        Runner(**options)
    _one_line(caught.value)


def _call(mode: str, runner: Runner, *arguments):
    """runner.run(*arguments) in `mode`, with exactly these arguments (run_in_mode always passes two)."""
    if mode == "sync":
        return runner.run(*arguments)
    if mode == "stream":
        return list(runner.run_stream(*arguments))
    if mode == "async":
        return asyncio.run(runner.run_async(*arguments))

    async def consume():
        return [event async for event in runner.run_stream_async(*arguments)]

    return asyncio.run(consume())


@pytest.mark.parametrize("arguments,words", [
    ((None,), "run\\(\\) needs an Agent first, got None"),
    ((None, "hello"), "run\\(\\) needs an Agent first, got None"),
    (("gpt-4o", "hello"), "run\\(\\) needs an Agent first, got 'gpt-4o'; call runner.run\\(agent, prompt\\)"),
    (("agent",), "prompt must be a str, .* got NoneType"),
    (("agent", None), "prompt must be a str, .* got NoneType"),
    (("agent", 42), "prompt must be a str, .* got int"),
], ids=["run(None)", "run(None, prompt)", "run('gpt-4o', prompt)", "run(agent)", "run(agent, None)", "run(agent, 42)"])
def test_a_wrong_run_call_is_a_user_error_and_nothing_is_stored(mode, arguments, words):
    session, model = Session(), ScriptedModel(["never"])
    agent = Agent(name="a", model=model)
    arguments = tuple(agent if item == "agent" else item for item in arguments)
    with pytest.raises(UserError, match=words) as caught:
        _call(mode, Runner(session), *arguments)
    _one_line(caught.value)
    assert session.get_dialogs() == [] and model.requests == []


def _three(context, agent, extra):
    return "three arguments"


def test_a_three_argument_instructions_function_is_a_user_error_when_the_agent_is_built():
    with pytest.raises(UserError, match="an instructions function takes \\(context\\) or \\(context, agent\\), "
                                        "not 3 arguments") as caught:
        Agent(name="a", model=ScriptedModel(["hi"]), instructions=_three)
    _one_line(caught.value)
    with pytest.raises(UserError, match="not 3 arguments"):
        Agent(name="a", model=ScriptedModel(["hi"])).clone(instructions=_three)


# -- a custom BaseException from a sync tool: it propagates, in every driver, after the batch settles ------
class Abort(BaseException):
    """An application's own stop signal (not an Exception: never a tool error)."""


finished: list[str] = []


@tool
def abort() -> str:
    """Stops everything."""
    raise Abort("stop now")


@tool
def slow_sibling() -> str:
    """Takes a moment, and finishes."""
    time.sleep(0.2)
    finished.append("sibling")
    return "done"


@tool
def fine() -> str:
    """Returns."""
    return "fine"


@pytest.mark.parametrize("batch", ["alone", "with a slow sibling", "with a tool timeout", "beside an agent tool"])
def test_a_custom_base_exception_from_a_sync_tool_propagates_in_every_mode(mode, batch):
    finished.clear()
    tools = [abort, slow_sibling]
    calls = [call("abort", call_id="c1")]
    runner = Runner(Session(), tool_timeout=5) if batch == "with a tool timeout" else Runner(Session())
    if batch == "with a slow sibling":
        calls.append(call("slow_sibling", call_id="c2"))
    if batch == "beside an agent tool":
        helper = Agent(name="helper", model=ScriptedModel([call("fine"), "helped"]), tools=[fine])
        tools.append(helper.as_tool(tool_name="helper", tool_description="Helps."))
        calls.append(call("helper", input="help", call_id="c3"))
    agent = Agent(name="a", model=ScriptedModel([calls, "never"]), tools=tools)
    with pytest.raises(Abort, match="stop now"):
        run_in_mode(runner, agent, "go", mode)
    if batch == "with a slow sibling":
        assert finished == ["sibling"]  # the batch settled before the interrupt went up
    dialogs = runner.session.get_dialogs()
    assert_valid_history(dialogs)  # every call answered ("interrupted"): the session stays usable
    assert [m["role"] for m in dialogs][:2] == ["user", "assistant"] and dialogs[-1]["role"] == "tool"
