"""Prompt caching and what it saves: cache markers for Claude, cached tokens in usage and cost.

    python examples/prompt_caching.py
Runs offline against the loopback server, which answers the way LiteLLM reports Anthropic's usage.
"""

from __future__ import annotations

from dataclasses import replace

from agentsilex import Agent, ModelSettings, Runner, tool
from agentsilex.models import ModelResponse, Usage
from agentsilex.testing import LoopbackServer


@tool
def lookup(city: str) -> str:
    """Look up a city."""
    return f"{city}: 4 C"


def answer(content, usage: Usage, call: bool = False) -> ModelResponse:
    message = {"role": "assistant", "content": content}
    if call:
        message["tool_calls"] = [{"id": "call_1", "type": "function",
                                  "function": {"name": "lookup", "arguments": '{"city": "Oslo"}'}}]
    return ModelResponse(message, usage)


# The first request writes 2,000 prompt tokens to the cache; the second reads them back.
script = [answer(None, Usage(1, 2_100, 30, cache_write_tokens=2_000), call=True),
          answer("Oslo: 4 C.", Usage(1, 2_150, 20, cached_input_tokens=2_000))]
with LoopbackServer(script, usage_style="anthropic") as server:
    agent = Agent(name="a", model=server.litellm_model("claude-sonnet-4-5"), instructions="A long, stable prompt.",
                  tools=[lookup], model_settings=ModelSettings(prompt_cache=True))
    result = Runner().run(agent, "Weather in Oslo?")
    sent = server.requests[0]

print("system prompt marked:", sent["messages"][0]["content"][0]["cache_control"])
print("last tool marked:", sent["tools"][-1]["cache_control"])
usage = result.usage
print(f"input {usage.input_tokens}, cached {usage.cached_input_tokens}, cache writes {usage.cache_write_tokens}")
# The loopback model is "openai/claude-sonnet-4-5" (LiteLLM speaks OpenAI to it): price each request as the
# Claude model it stands in for, with and without the cache.
for request in usage.per_request:
    claude = replace(request, model="anthropic/claude-sonnet-4-5")
    uncached = replace(claude, cached_input_tokens=0, cache_write_tokens=0)
    print(f"  request: ${claude.cost_usd:.6f} (without the cache ${uncached.cost_usd:.6f})")
