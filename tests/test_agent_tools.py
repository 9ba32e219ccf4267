from conftest import run_in_mode
from history import assert_valid_history as assert_valid

import pytest

from agentsilex import Agent, MaxAgentDepthExceeded, Runner, Session, UserError, tool
from agentsilex.testing import ScriptedModel, call


@tool
def lookup(word: str, context: dict) -> str:
    """Look a word up."""
    context.setdefault("looked_up", []).append(word)
    return f"{word}: a small bird"


def make_agents():
    sub_model = ScriptedModel([call("lookup", word="wren"), "A wren is a small bird."])
    sub = Agent(name="dictionary", model=sub_model, instructions="Define words.", tools=[lookup])
    main_model = ScriptedModel([call("ask_dictionary", input="define wren"), "It is a small bird."])
    main = Agent(name="writer", model=main_model,
                 tools=[sub.as_tool(tool_name="ask_dictionary", tool_description="Defines words.")])
    return main, sub, main_model, sub_model


def test_nested_agent_runs_in_the_callers_mode(mode):
    main, sub, main_model, sub_model = make_agents()
    session, context = Session(), {}
    result, events = run_in_mode(Runner(session, context=context), main, "what is a wren?", mode)
    assert result.final_output == "It is a small bird."
    assert result.last_agent is main
    # The sub-agent ran on its own scratch session; its answer is the caller's tool result.
    assert [m["role"] for m in session.dialogs] == ["user", "assistant", "tool", "assistant"]
    assert session.dialogs[2]["content"] == "A wren is a small bird."
    assert_valid(session.dialogs)
    assert sub_model.requests[0].messages[-1] == {"role": "user", "content": "define wren"}
    # Shared context, usage added to the caller's.
    assert context["looked_up"] == ["wren"]
    assert result.usage.requests == 4
    assert [r.agent for r in result.usage.per_request] == ["writer", "dictionary", "dictionary", "writer"]
    assert result.usage.total_tokens == sum(r.total_tokens for r in result.usage.per_request)
    if mode in ("stream", "async_stream"):
        kinds = [(e.type, getattr(e, "agent", getattr(e, "name", ""))) for e in events]
        assert ("tool_call", "dictionary") in kinds and ("tool_response", "dictionary") in kinds
        sub_text = "".join(e.content for e in events if e.type == "partial_output" and e.agent == "dictionary")
        assert sub_text == "A wren is a small bird."
        assert [e.type for e in events].count("final_result") == 1 and events[-1].type == "final_result"
        order = [e.name for e in events if e.type in ("tool_call", "tool_response")]
        assert order == ["ask_dictionary", "lookup", "lookup", "ask_dictionary"]


def test_positional_names_and_default_name():
    sub = Agent(name="Fact Checker", model=ScriptedModel([]))
    assert sub.as_tool().name == "Fact_Checker"
    named = sub.as_tool("check", "Checks facts.")
    assert (named.name, named.description) == ("check", "Checks facts.")
    assert named.parameters["required"] == ["input"]
    with pytest.raises(UserError, match="inside the agent loop"):
        named("x")


def test_recursion_beyond_depth_limit_raises_clear_error(mode):
    # An agent that calls itself as a tool, forever.
    looping = Agent(name="echo", model=ScriptedModel([call("echo", input="again")] * 10))
    looping.tools.append(looping.as_tool())
    session = Session()
    with pytest.raises(MaxAgentDepthExceeded, match="echo -> echo -> echo") as caught:
        run_in_mode(Runner(session, max_agent_depth=2), looping, "go", mode)
    assert caught.value.chain == ["echo"] * 4
    assert_valid(session.dialogs)


def test_failing_sub_agent_is_a_tool_error_for_the_caller(mode):
    sub = Agent(name="sub", model=ScriptedModel([RuntimeError("provider down")]))
    main = Agent(name="main", model=ScriptedModel([call("sub", input="x"), "sorry"]), tools=[sub.as_tool()])
    session = Session()
    result, _ = run_in_mode(Runner(session), main, "go", mode)
    assert result.final_output == "sorry"
    assert "provider down" in session.dialogs[2]["content"]
    assert result.function_calls[0].error


def test_handoff_and_nested_agent_through_litellm_and_http(openai_env, mode):
    # Both agents use "gpt-4o" on the loopback server, which answers its script in order.
    openai_env.add_replies([call("ask_helper", input="2+2?"), "4", call("transfer_to_closer"), "The answer is 4."])
    helper = Agent(name="helper", model="gpt-4o", instructions="Do sums.")
    closer = Agent(name="closer", model="gpt-4o", instructions="Close politely.")
    main = Agent(name="main", model="gpt-4o", tools=[helper.as_tool("ask_helper")], handoffs=[closer])
    session = Session()
    result, events = run_in_mode(Runner(session), main, "what is 2+2?", mode)
    assert result.final_output == "The answer is 4." and result.last_agent is closer
    assert_valid(session.dialogs)
    assert session.dialogs[2]["content"] == "4"
    sent = openai_env.requests
    assert sent[1]["messages"] == [{"role": "system", "content": "Do sums."}, {"role": "user", "content": "2+2?"}]
    assert sent[3]["messages"][0] == {"role": "system", "content": "Close politely."}
    assert result.usage.requests == 4
    if mode in ("stream", "async_stream"):
        assert any(e.type == "partial_output" and e.agent == "helper" for e in events)
        assert [e.type for e in events].count("agent_handoff") == 1


def test_a_failed_sub_agent_still_counts_its_usage(mode):
    sub = Agent(name="sub", model=ScriptedModel([call("sub_loop")] * 2),
                tools=[tool(name="sub_loop")(lambda: "again")])
    main = Agent(name="main", model=ScriptedModel([call("sub", input="x"), "gave up"]), tools=[sub.as_tool()])
    result, _ = run_in_mode(Runner(Session(), max_turns=2), main, "go", mode)
    assert result.final_output == "gave up"
    assert result.usage.requests == 4  # two for main, two for the sub-agent that ran out of turns
