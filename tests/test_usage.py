import subprocess
import sys

from conftest import run_in_mode
from history import assert_valid_history as assert_valid

import pytest

from agentsilex import Agent, ModelResponse, RunLimits, Runner, Session, Usage, UsageLimitExceeded, UserError, tool
from agentsilex.messages import assistant, tool_call
from agentsilex.testing import ScriptedModel, call


@tool
def ping() -> str:
    """Ping."""
    return "pong"


def reply(text=None, calls=(), tokens=(100, 10)):
    message = assistant(text, [tool_call(f"c{i}_{text}", name, "{}") for i, name in enumerate(calls)])
    return ModelResponse(message, Usage(1, *tokens))


def test_usage_per_request_and_total_with_cost(mode):
    model = ScriptedModel([reply(None, ["ping"], (1000, 20)), reply("done", tokens=(1100, 5))], name="gpt-4o")
    result, _ = run_in_mode(Runner(), Agent(name="a", model=model, tools=[ping]), "go", mode)
    usage = result.usage
    assert (usage.requests, usage.input_tokens, usage.output_tokens, usage.total_tokens) == (2, 2100, 25, 2125)
    assert [(r.agent, r.model, r.input_tokens, r.output_tokens) for r in usage.per_request] == [
        ("a", "gpt-4o", 1000, 20), ("a", "gpt-4o", 1100, 5)]
    # gpt-4o in LiteLLM's bundled table: $2.50 per million input tokens, $10 per million output tokens.
    assert usage.cost_usd == pytest.approx(2100 * 2.5e-6 + 25 * 1e-5)
    assert usage.per_request[0].cost_usd == pytest.approx(1000 * 2.5e-6 + 20 * 1e-5)


def test_unknown_model_has_no_cost():
    result = Runner().run(Agent(name="a", model=ScriptedModel(["hi"], name="no-such-model")), "go")
    assert result.usage.cost_usd is None


def test_token_limit_is_checked_before_the_request_from_an_estimate(mode):
    model = ScriptedModel([reply(None, ["ping"], (60, 10)), reply(None, ["ping"], (60, 10)), reply("never")])
    session = Session()
    runner = Runner(session, limits=RunLimits(max_total_tokens=100))
    with pytest.raises(UsageLimitExceeded, match="max_total_tokens=100.*not sent") as caught:
        run_in_mode(runner, Agent(name="a", model=model, tools=[ping]), "go", mode)
    error = caught.value
    assert len(model.requests) == 1  # the request that would have gone over was never sent
    assert error.limit == "max_total_tokens" and error.maximum == 100 and 100 < error.used
    assert error.result.usage.total_tokens == 70 and len(error.result.function_calls) == 1
    assert_valid(session.dialogs)
    assert len(session.dialogs) == 3


def test_token_limit_also_counts_the_real_usage_after_the_request(mode):
    # An estimate can be low (here the provider reports far more than the prompt's size): the real count stops it.
    model = ScriptedModel([reply(None, ["ping"], (150, 10)), reply("never")])
    session = Session()
    with pytest.raises(UsageLimitExceeded, match="went past RunLimits.max_total_tokens=100.") as caught:
        run_in_mode(Runner(session, limits=RunLimits(max_total_tokens=100)),
                    Agent(name="a", model=model, tools=[ping]), "go", mode)
    assert caught.value.used == 160 and caught.value.result.usage.total_tokens == 160
    assert session.dialogs == [{"role": "user", "content": "go"}]  # the over-budget reply was not recorded


def test_estimate_counts_max_tokens_of_the_reply():
    from agentsilex import ModelSettings

    model = ScriptedModel(["never"])
    agent = Agent(name="a", model=model, model_settings=ModelSettings(max_tokens=500))
    with pytest.raises(UsageLimitExceeded, match="not sent"):
        Runner(limits=RunLimits(max_total_tokens=400)).run(agent, "hi")
    assert model.requests == []


def test_tool_call_limit_stops_before_the_calls_run(mode):
    model = ScriptedModel([reply(None, ["ping"]), reply(None, ["ping", "ping"]), reply("never")])
    session = Session()
    with pytest.raises(UsageLimitExceeded, match="max_tool_calls=2") as caught:
        run_in_mode(Runner(session, limits=RunLimits(max_tool_calls=2)),
                    Agent(name="a", model=model, tools=[ping]), "go", mode)
    assert caught.value.used == 3 and len(caught.value.result.function_calls) == 1
    assert_valid(session.dialogs)


def test_cost_limit(mode):
    model = ScriptedModel([reply(None, ["ping"], (1000, 0)), reply("x", tokens=(1000, 0))], name="gpt-4o")
    with pytest.raises(UsageLimitExceeded, match="max_cost_usd") as caught:
        run_in_mode(Runner(limits=RunLimits(max_cost_usd=0.004)), Agent(name="a", model=model, tools=[ping]),
                    "go", mode)
    assert caught.value.used == pytest.approx(0.005)


def test_cost_limit_needs_a_known_price():
    with pytest.raises(UserError, match="no price"):
        Runner(limits=RunLimits(max_cost_usd=1)).run(Agent(name="a", model=ScriptedModel(["x"])), "go")
    with pytest.raises(UserError, match="non-negative"):
        RunLimits(max_tool_calls=-1)


def test_nested_agents_share_the_budget(mode):
    sub = Agent(name="sub", model=ScriptedModel([reply(None, ["ping"]), reply("x")]), tools=[ping])
    main = Agent(name="main", model=ScriptedModel([call("sub", input="go"), "y"]), tools=[sub.as_tool()])
    with pytest.raises(UsageLimitExceeded, match="max_tool_calls=1"):
        run_in_mode(Runner(limits=RunLimits(max_tool_calls=1)), main, "go", mode)


def test_usage_tracking_does_not_import_litellm():
    # LiteLLM loads only when a cost is asked for or a cost limit is set (the tests above do both).
    code = ("import sys, agentsilex; from agentsilex.testing import ScriptedModel; "
            "r = agentsilex.Runner(limits=agentsilex.RunLimits(max_total_tokens=99)).run("
            "agentsilex.Agent(name='a', model=ScriptedModel(['x'])), 'go'); "
            "assert r.usage.per_request and 'litellm' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
