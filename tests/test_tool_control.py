"""Tool control that holds: tool_choice forces once, stop_on_first_tool, and tool availability that fails closed."""

from __future__ import annotations

import pytest
from conftest import run_in_mode
from history import assert_valid_history

from agentsilex import Agent, RunHooks, Runner, Session, UserError, tool
from agentsilex.control.approval import RunState
from agentsilex.errors import UnknownToolError
from agentsilex.models import ModelSettings
from agentsilex.testing import ScriptedModel, call


def make_tools(ran: list[str]):
    @tool
    def lookup(city: str) -> str:
        """Look up a city."""
        ran.append(f"lookup:{city}")
        return f"{city}: sunny"

    @tool(enabled=lambda context: context.get("admin", False))
    def wipe() -> str:
        """Delete everything."""
        ran.append("wipe")
        return "wiped"

    return lookup, wipe


def choices(model: ScriptedModel) -> list:
    return [r.settings.tool_choice for r in model.requests]


# -- tool_choice forces the first request only ---------------------------------------------------------------
def test_forced_tool_choice_applies_once_then_auto(mode):
    ran: list[str] = []
    lookup, _ = make_tools(ran)
    model = ScriptedModel([call("lookup", city="Oslo"), "It is sunny in Oslo."])
    agent = Agent(name="a", model=model, tools=[lookup], model_settings=ModelSettings(tool_choice="required"))
    result, _ = run_in_mode(Runner(), agent, "weather?", mode)
    assert result.final_output == "It is sunny in Oslo."
    assert choices(model) == ["required", None]


def test_reset_tool_choice_false_keeps_forcing(mode):
    ran: list[str] = []
    lookup, _ = make_tools(ran)
    model = ScriptedModel([call("lookup", city="Oslo"), call("lookup", city="Rome"), "done"])
    agent = Agent(name="a", model=model, tools=[lookup], reset_tool_choice=False,
                  model_settings=ModelSettings(tool_choice={"type": "function", "function": {"name": "lookup"}}))
    run_in_mode(Runner(), agent, "weather?", mode)
    assert [c["function"]["name"] for c in choices(model)] == ["lookup"] * 3


def test_forcing_applies_again_after_a_handoff(mode):
    ran: list[str] = []
    lookup, _ = make_tools(ran)
    second_model = ScriptedModel([call("lookup", city="Rome"), "Rome is sunny."])
    second = Agent(name="second", model=second_model, tools=[lookup],
                   model_settings=ModelSettings(tool_choice="required"))
    first_model = ScriptedModel([call("transfer_to_second"), "unused"])
    first = Agent(name="first", model=first_model, handoffs=[second],
                  model_settings=ModelSettings(tool_choice="required"))
    result, _ = run_in_mode(Runner(), first, "go", mode)
    assert result.final_output == "Rome is sunny."
    assert choices(first_model) == ["required"] and choices(second_model) == ["required", None]
    first_model.replies.clear()


# -- stop on the first tool call -----------------------------------------------------------------------------
def test_stop_on_first_tool_returns_its_result(mode):
    ran: list[str] = []
    lookup, _ = make_tools(ran)
    model = ScriptedModel([[call("lookup", city="Oslo"), call("lookup", city="Rome")]])
    session = Session()
    agent = Agent(name="a", model=model, tools=[lookup], tool_use_behavior="stop_on_first_tool",
                  model_settings=ModelSettings(tool_choice="required"))
    result, events = run_in_mode(Runner(session), agent, "weather?", mode)
    assert result.final_output == "Oslo: sunny"
    assert ran == ["lookup:Oslo", "lookup:Rome"] and len(model.requests) == 1
    assert_valid_history(session.dialogs)
    if events:
        assert type(events[-1]).__name__ == "FinalResultEvent" and events[-1].final_output == "Oslo: sunny"


def test_stop_on_first_tool_skips_failed_calls_and_lets_the_model_retry(mode):
    calls = []

    @tool
    def flaky(n: int) -> int:
        """Flaky."""
        calls.append(n)
        if n == 0:
            raise ValueError("no zero")
        return n * 10

    model = ScriptedModel([call("flaky", n=0), call("flaky", n=2)])
    agent = Agent(name="a", model=model, tools=[flaky], tool_use_behavior="stop_on_first_tool")
    result, _ = run_in_mode(Runner(), agent, "go", mode)
    assert result.final_output == 20 and calls == [0, 2]
    assert "no zero" in model.requests[1].messages[-1]["content"]


def test_tool_use_behavior_is_checked():
    with pytest.raises(UserError, match="tool_use_behavior"):
        Agent(name="a", model=ScriptedModel([]), tool_use_behavior="stop")


# -- availability fails closed --------------------------------------------------------------------------------
def test_disabled_tool_is_not_offered_and_never_runs(mode):
    ran: list[str] = []
    lookup, wipe = make_tools(ran)
    model = ScriptedModel([[call("wipe", call_id="call_1"), call("lookup", city="Oslo")], "ok"])
    session = Session()
    agent = Agent(name="a", model=model, tools=[lookup, wipe])
    result, events = run_in_mode(Runner(session, context={"admin": False}), agent, "go", mode)
    assert [t["function"]["name"] for t in model.requests[0].tools] == ["lookup"]
    assert ran == ["lookup:Oslo"]
    answer = next(m for m in session.dialogs if m["role"] == "tool" and m["tool_call_id"] == "call_1")
    assert answer["content"] == "Error: Unknown tool 'wipe'. Available tools: lookup."  # hidden: not named
    assert result.function_calls[0].error is not None
    assert_valid_history(session.dialogs)


def test_enabled_function_is_asked_on_every_step(mode):
    ran: list[str] = []
    lookup, wipe = make_tools(ran)
    context = {"admin": True}

    @tool
    def demote(context: dict) -> str:
        """Drop admin rights."""
        context["admin"] = False
        return "demoted"

    model = ScriptedModel([call("demote"), call("wipe"), "done"])
    agent = Agent(name="a", model=model, tools=[lookup, wipe, demote])
    run_in_mode(Runner(context=context), agent, "go", mode)
    offered = [[t["function"]["name"] for t in r.tools] for r in model.requests]
    assert offered == [["lookup", "wipe", "demote"], ["lookup", "demote"], ["lookup", "demote"]]
    assert ran == []  # the second step did not offer wipe, so the call was answered, not run


class HideLookup(RunHooks):
    def before_model_call(self, context, agent, request):
        request.tools = [t for t in request.tools if t["function"]["name"] != "lookup"]


def test_tool_hidden_by_a_hook_never_runs(mode):
    ran: list[str] = []
    lookup, _ = make_tools(ran)
    model = ScriptedModel([call("lookup", city="Oslo"), "ok"])
    agent = Agent(name="a", model=model, tools=[lookup])
    result, _ = run_in_mode(Runner(hooks=HideLookup()), agent, "go", mode)
    assert ran == [] and model.requests[0].tools == []
    assert result.function_calls[0].content == "Error: Unknown tool 'lookup'. Available tools: none."


def test_hidden_tool_raises_with_raise_tool_errors():
    ran: list[str] = []
    lookup, wipe = make_tools(ran)
    agent = Agent(name="a", model=ScriptedModel([call("wipe"), "ok"]), tools=[lookup, wipe])
    with pytest.raises(UnknownToolError, match="wipe"):
        Runner(raise_tool_errors=True).run(agent, "go")
    assert ran == []


def test_a_resumed_step_keeps_what_was_offered():
    ran: list[str] = []
    lookup, wipe = make_tools(ran)

    @tool(needs_approval=True)
    def pay(amount: int) -> str:
        """Pay."""
        ran.append("pay")
        return "paid"

    context = {"admin": False}
    model = ScriptedModel([[call("pay", amount=3), call("wipe")], "done"])
    agent = Agent(name="a", model=model, tools=[lookup, wipe, pay])
    runner = Runner(context=context)
    paused = runner.run(agent, "go")
    context["admin"] = True  # enabled now, but the paused step did not offer it
    state = RunState.from_json(paused.state.to_json()).approve_all()
    result = runner.run(agent, state)
    assert result.final_output == "done" and ran == ["pay"]


def test_enabled_must_be_bool_or_function():
    with pytest.raises(UserError, match="enabled"):
        tool(enabled="yes")(lambda: 1)

    @tool(enabled=lambda context: "yes")
    def odd() -> int:
        """Odd."""
        return 1

    with pytest.raises(UserError, match="True or False"):
        Runner().run(Agent(name="a", model=ScriptedModel(["x"]), tools=[odd]), "go")


# -- over the loopback server (LiteLLM and the native path) ---------------------------------------------------
@pytest.mark.parametrize("path", ["litellm", "native"])
def test_tool_control_over_http(loopback_server, mode, path):
    ran: list[str] = []
    lookup, wipe = make_tools(ran)
    loopback_server.add_replies([[call("wipe"), call("lookup", city="Oslo")], "Oslo is sunny."])
    model = loopback_server.litellm_model() if path == "litellm" else loopback_server.openai_model()
    agent = Agent(name="a", model=model, tools=[lookup, wipe], model_settings=ModelSettings(tool_choice="required"))
    result, _ = run_in_mode(Runner(context={}), agent, "go", mode)
    assert result.final_output == "Oslo is sunny." and ran == ["lookup:Oslo"]
    first, second = loopback_server.requests
    assert first["tool_choice"] == "required" and "tool_choice" not in second
    assert [t["function"]["name"] for t in first["tools"]] == ["lookup"]
