"""Which path a model string takes (native OpenAI wire format, or LiteLLM), and prices, both read from
LiteLLM's bundled model table without importing LiteLLM."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from agentsilex import Agent, Runner
from agentsilex.errors import UserError
from agentsilex.models import catalog, resolve_model, routing
from agentsilex.models.litellm import LiteLLMModel
from agentsilex.models.openai_http import OpenAIHTTPModel

NATIVE = ["gpt-4o", "gpt-4o-mini", "gpt-4o-mini-2024-07-18", "o3-mini", "o1", "gpt-5", "gpt-4.1",
          "ft:gpt-4o-mini-2024-07-18:my-org::abc123",
          "openai/gpt-4o", "openai/o3-mini", "openai/my-local-model", "openai/llama3.1:8b"]
LITELLM = ["anthropic/claude-3-5-sonnet-20241022", "claude-sonnet-4-5", "claude-3-5-sonnet-20241022", "gemini/gemini-1.5-pro",
           "azure/gpt-4o", "azure/my-deployment", "ollama/llama3", "ollama_chat/llama3",
           "bedrock/anthropic.claude-3-sonnet-20240229-v1:0", "vertex_ai/gemini-1.5-pro", "groq/llama3-8b-8192",
           "mistral/mistral-large-latest",
           "gpt-3.5-turbo-instruct",  # text-completion-openai: LiteLLM calls /completions, not chat
           "o1-pro", "openai/o1-pro", "gpt-5-codex",  # Responses-only: LiteLLM bridges them to the Responses API
           "openai/responses/gpt-4o",
           "ft:o4-mini-2025-04-16", "my-unknown-model",  # not in the table: LiteLLM decides (it may know it from register_model)
           "litellm/gpt-4o", "litellm/openai/gpt-4o"]


@pytest.fixture(autouse=True)
def default_backend(monkeypatch):
    for name in ("AGENTSILEX_MODEL_BACKEND", "AGENTSILEX_OPENAI_HTTP"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("model", NATIVE)
def test_openai_wire_format_strings_take_the_native_path(model):
    assert routing.backend_for(model) == "native"
    resolved = resolve_model(model)
    assert isinstance(resolved, OpenAIHTTPModel) and resolved.wire_model == model.removeprefix("openai/")


@pytest.mark.parametrize("model", LITELLM)
def test_every_other_provider_takes_litellm(model):
    assert routing.backend_for(model) == "litellm"
    resolved = resolve_model(model)
    assert isinstance(resolved, LiteLLMModel) and resolved.name == model.removeprefix("litellm/")


def test_the_backend_switch_sends_every_string_through_litellm(monkeypatch):
    monkeypatch.setenv("AGENTSILEX_MODEL_BACKEND", "litellm")
    assert isinstance(resolve_model("gpt-4o"), LiteLLMModel)
    assert isinstance(resolve_model("openai/gpt-4o"), LiteLLMModel)
    monkeypatch.setenv("AGENTSILEX_MODEL_BACKEND", "auto")
    assert isinstance(resolve_model("gpt-4o"), OpenAIHTTPModel)
    monkeypatch.setenv("AGENTSILEX_MODEL_BACKEND", "fast")
    with pytest.raises(UserError, match="AGENTSILEX_MODEL_BACKEND='fast'.*litellm"):
        resolve_model("gpt-4o")


@pytest.mark.parametrize(("value", "backend"), [("1", "native"), ("true", "native"), ("0", "litellm"),
                                                 ("false", "litellm")])
def test_the_old_switch_still_works_and_says_it_is_deprecated(monkeypatch, value, backend):
    monkeypatch.setenv("AGENTSILEX_OPENAI_HTTP", value)
    with pytest.warns(DeprecationWarning, match="AGENTSILEX_MODEL_BACKEND"):
        assert routing.backend_for("openai/gpt-4o") == backend


def test_table_lookups_match_the_parsed_table():
    table = json.loads(catalog.table_path().read_text(encoding="utf-8"))
    names = list(table)
    for name in names[::7] + ["gpt-4o", "o3-mini", "claude-sonnet-4-5"]:
        assert catalog.model_info(name) == table[name], name
    assert catalog.model_info("no-such-model") is None
    assert catalog.model_info("input_cost_per_token") is None  # a nested key is not a model


def test_our_openai_routing_agrees_with_litellm():
    litellm = pytest.importorskip("litellm")
    table = json.loads(catalog.table_path().read_text(encoding="utf-8"))
    native = [name for name in table if "/" not in name and routing.backend_for(name) == "native"]
    assert len(native) > 50 and "gpt-4o" in native
    native += ["ft:gpt-4o-mini-2024-07-18:my-org::abc123", "ft:gpt-3.5-turbo-0125:my-org::abc123"]
    for name in native:
        assert litellm.get_llm_provider(name)[1] == "openai", name
    for name in ("claude-sonnet-4-5", "gemini-pro-latest", "gpt-3.5-turbo-instruct", "ft:o4-mini-2025-04-16"):
        try:
            provider = litellm.get_llm_provider(name)[1]
        except Exception:  # LiteLLM does not know how to route it at all
            provider = None
        assert provider != "openai" and routing.backend_for(name) == "litellm", name


def test_prices_match_litellm():
    litellm = pytest.importorskip("litellm")
    table = json.loads(catalog.table_path().read_text(encoding="utf-8"))
    models = [n for n, info in table.items() if "/" not in n and routing.backend_for(n) == "native"
              and "input_cost_per_token" in info]
    models += ["claude-sonnet-4-5", "anthropic/claude-sonnet-4-5", "gemini/gemini-2.5-pro",
               "gemini-2.5-pro", "openai/gpt-4o", "litellm/gpt-4o-mini"]
    for model in models:
        for prompt, completion in ((1200, 300), (250_000, 1000)):  # the second passes 128k/200k price tiers
            expected = sum(litellm.cost_per_token(model=model.removeprefix("litellm/"), prompt_tokens=prompt,
                                                  completion_tokens=completion))
            assert catalog.cost_usd(model, prompt, completion) == pytest.approx(expected, rel=1e-9), model
    assert catalog.cost_usd("my-unknown-model", 10, 10) is None


def test_a_first_native_call_imports_neither_litellm_nor_openai(loopback_server):
    loopback_server.add_replies(["sync hello", "async hello", "streamed hello"])
    script = textwrap.dedent("""
        import asyncio, sys
        from agentsilex import Agent, Runner, RunLimits
        agent = Agent(name="a", model="gpt-4o-mini")
        runner = Runner(limits=RunLimits(max_cost_usd=1.0))
        result = runner.run(agent, "hi")
        assert result.final_output == "sync hello" and result.usage.cost_usd > 0, result
        assert asyncio.run(runner.run_async(agent, "hi")).final_output == "async hello"
        assert [e.type for e in runner.run_stream(agent, "hi")][-1] == "final_result"
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("litellm", "openai")))
    """)
    env = {**os.environ, "OPENAI_BASE_URL": loopback_server.url, "OPENAI_API_KEY": "sk-test"}
    env.pop("AGENTSILEX_MODEL_BACKEND", None)
    done = subprocess.run([sys.executable, "-W", "error::ResourceWarning", "-c", script], capture_output=True,
                          text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
    assert "Unclosed" not in done.stderr
    assert [body["model"] for body in loopback_server.requests] == ["gpt-4o-mini"] * 3


def test_a_model_string_in_the_run_usage_is_priced_on_either_path(openai_env):
    from agentsilex import RunLimits

    openai_env.add_replies(["priced"])
    result = Runner(limits=RunLimits(max_cost_usd=1.0)).run(Agent(name="a", model="gpt-4o"), "hi")
    usage = result.usage.per_request[0]
    assert usage.cost_usd == pytest.approx(usage.input_tokens * 2.5e-6 + usage.output_tokens * 1e-5)
