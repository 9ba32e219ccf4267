"""Caching and accounting: cached, cache-write and reasoning tokens in Usage, their price, cache markers."""

from __future__ import annotations

import pytest
from conftest import run_in_mode

from agentsilex import Agent, Runner, RunState, tool
from agentsilex.control.usage import RequestUsage, RunUsage
from agentsilex.models import ModelResponse, ModelSettings, Usage
from agentsilex.testing import LoopbackServer, ScriptedModel, call


def reply(content=None, calls=None, *, usage: Usage) -> ModelResponse:
    message = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = [{"id": f"call_{i}", "type": "function",
                                  "function": {"name": name, "arguments": "{}"}} for i, name in enumerate(calls)]
    return ModelResponse(message, usage)


@tool
def ping() -> str:
    """Ping."""
    return "pong"


def script() -> list:
    return [reply(calls=["ping"], usage=Usage(1, 1000, 50, cached_input_tokens=0, cache_write_tokens=900)),
            reply("done", usage=Usage(1, 1100, 60, cached_input_tokens=900, reasoning_tokens=20))]


def check_totals(usage) -> None:
    assert (usage.requests, usage.input_tokens, usage.output_tokens) == (2, 2100, 110)
    assert (usage.cached_input_tokens, usage.cache_write_tokens, usage.reasoning_tokens) == (900, 900, 20)
    assert [r.cached_input_tokens for r in usage.per_request] == [0, 900]
    assert [r.cache_write_tokens for r in usage.per_request] == [900, 0]
    assert [r.reasoning_tokens for r in usage.per_request] == [0, 20]


def test_usage_counts_cache_and_reasoning_tokens_scripted(mode):
    agent = Agent(name="a", model=ScriptedModel(script(), name="gpt-4o"), tools=[ping])
    result, _ = run_in_mode(Runner(), agent, "go", mode)
    check_totals(result.usage)


@pytest.mark.parametrize("style", ["openai", "anthropic"])
@pytest.mark.parametrize("path", ["litellm", "native"])
def test_usage_counts_cache_and_reasoning_tokens_over_http(mode, style, path):
    with LoopbackServer(script(), usage_style=style) as server:
        model = server.litellm_model() if path == "litellm" else server.openai_model()
        result, _ = run_in_mode(Runner(), Agent(name="a", model=model, tools=[ping]), "go", mode)
        body = server.requests[0]
    usage = result.usage
    assert usage.cached_input_tokens == 900 and usage.reasoning_tokens == 20
    # OpenAI has no cache-write count; Anthropic (as LiteLLM reports it) has.
    assert usage.cache_write_tokens == (900 if style == "anthropic" else 0)
    assert "cache_control" not in str(body)  # prompt_cache is off by default


def test_sub_agent_cache_tokens_are_merged(mode):
    inner = Agent(name="inner", model=ScriptedModel(script(), name="gpt-4o"), tools=[ping])
    outer = Agent(name="outer", model=ScriptedModel([call("inner", input="x"), "ok"]), tools=[inner.as_tool()])
    result, _ = run_in_mode(Runner(), outer, "go", mode)
    assert result.usage.cached_input_tokens == 900 and result.usage.reasoning_tokens == 20
    assert result.usage.requests == 4


# -- prices ------------------------------------------------------------------------------------------------------
def test_cached_tokens_are_priced_at_the_cache_read_price():
    plain = RequestUsage("a", "gpt-4o", 1000, 100)
    cached = RequestUsage("a", "gpt-4o", 1000, 100, cached_input_tokens=800)
    # gpt-4o: $2.50 per M input, $1.25 per M cached input, $10 per M output (LiteLLM's bundled table)
    assert plain.cost_usd == pytest.approx(1000 * 2.5e-6 + 100 * 1e-5)
    assert cached.cost_usd == pytest.approx(200 * 2.5e-6 + 800 * 1.25e-6 + 100 * 1e-5)


def test_anthropic_cache_reads_and_writes_have_their_own_prices():
    import litellm

    usage = RequestUsage("a", "anthropic/claude-sonnet-4-5", 1000, 100, cached_input_tokens=500, cache_write_tokens=300)
    prompt, completion = litellm.cost_per_token(model="anthropic/claude-sonnet-4-5", prompt_tokens=1000,
                                                completion_tokens=100, cache_read_input_tokens=500,
                                                cache_creation_input_tokens=300)
    assert usage.cost_usd == pytest.approx(prompt + completion)  # LiteLLM's own reckoning agrees
    # claude-sonnet-4-5: input $3/M, cache read $0.30/M, cache write $3.75/M, output $15/M
    assert usage.cost_usd == pytest.approx(200 * 3e-6 + 500 * 3e-7 + 300 * 3.75e-6 + 100 * 1.5e-5)


def test_max_cost_counts_the_cache_discount():
    from agentsilex import RunLimits

    # Each request: 100k input tokens, 90k of them cached. Undiscounted that is $0.25 a request.
    cheap = [reply(calls=["ping"], usage=Usage(1, 100_000, 10, cached_input_tokens=90_000)),
             reply("done", usage=Usage(1, 100_000, 10, cached_input_tokens=90_000))]
    agent = Agent(name="a", model=ScriptedModel(cheap, name="gpt-4o"), tools=[ping])
    result = Runner(limits=RunLimits(max_cost_usd=0.4)).run(agent, "go")  # 2 x ~$0.14: under the limit
    assert result.usage.cost_usd == pytest.approx(2 * (10_000 * 2.5e-6 + 90_000 * 1.25e-6 + 10 * 1e-5))


def test_usage_with_cache_counts_survives_a_saved_run_state():
    usage = RunUsage()
    usage.add_request(Usage(1, 10, 5, 4, 3, 2), agent="a", model="gpt-4o")
    again = RunUsage.from_dict(usage.to_dict())
    assert again == usage
    old = RunUsage.from_dict({"requests": 1, "input_tokens": 10, "output_tokens": 5,
                              "per_request": [{"agent": "a", "model": "m", "input_tokens": 10, "output_tokens": 5}]})
    assert old.cached_input_tokens == 0 and old.per_request[0].reasoning_tokens == 0
    state = RunState("a", "go", {"role": "assistant", "content": None}, [], usage)
    assert RunState.from_json(state.to_json()).usage == usage


# -- cache markers ------------------------------------------------------------------------------------------------
def test_prompt_cache_marks_the_system_prompt_and_tools_for_claude(mode):
    model = ScriptedModel([call("ping"), "done"], name="anthropic/claude-sonnet-4-5")
    agent = Agent(name="a", model=model, instructions="Be brief.", tools=[ping],
                  model_settings=ModelSettings(prompt_cache=True))
    run_in_mode(Runner(), agent, "go", mode)
    for request in model.requests:
        assert request.messages[0] == {"role": "system", "content": [
            {"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}]}
        assert request.tools[-1]["cache_control"] == {"type": "ephemeral"}
        assert "prompt_cache" not in request.settings.to_kwargs()


def test_prompt_cache_leaves_other_models_alone():
    model = ScriptedModel(["done"], name="gpt-4o")
    agent = Agent(name="a", model=model, instructions="Be brief.", tools=[ping],
                  model_settings=ModelSettings(prompt_cache=True))
    Runner().run(agent, "go")
    assert model.requests[0].messages[0] == {"role": "system", "content": "Be brief."}
    assert "cache_control" not in model.requests[0].tools[0]


def test_cache_markers_pass_through_litellm(loopback_server, mode):
    loopback_server.add_replies([call("ping"), "done"])
    agent = Agent(name="a", model=loopback_server.litellm_model("claude-sonnet-4-5"), instructions="Be brief.",
                  tools=[ping], model_settings=ModelSettings(prompt_cache=True))
    result, _ = run_in_mode(Runner(), agent, "go", mode)
    assert result.final_output == "done"
    body = loopback_server.requests[0]
    assert body["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert body["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert "prompt_cache" not in body
