"""Which path a model string takes -- the native OpenAI one or LiteLLM -- and how to choose, offline.

    python examples/model_routing.py
"""

from __future__ import annotations

import os
import sys

from agentsilex import Agent, Runner, RunLimits
from agentsilex.models.routing import backend_for
from agentsilex.testing import LoopbackServer

# Decided from LiteLLM's bundled model table, read without importing LiteLLM.
for model in ("gpt-4o", "o3-mini", "openai/my-local-model", "anthropic/claude-sonnet-4-5", "gemini/gemini-2.5-pro",
              "ollama/llama3", "o1-pro", "litellm/gpt-4o"):
    print(f"{model:30} -> {backend_for(model)}")

with LoopbackServer(["Hello from the native path.", "Hello through LiteLLM."]) as server:
    # Plain OpenAI model strings read OPENAI_BASE_URL / OPENAI_API_KEY, like LiteLLM does.
    os.environ["OPENAI_BASE_URL"], os.environ["OPENAI_API_KEY"] = server.url, "sk-example"
    runner = Runner(limits=RunLimits(max_cost_usd=0.01))  # prices come from the same table

    result = runner.run(Agent(name="fast", model="gpt-4o"), "hi")
    print(result.final_output, f"cost ${result.usage.cost_usd:.6f}", "litellm imported:", "litellm" in sys.modules)

    result = runner.run(Agent(name="via-litellm", model="litellm/gpt-4o"), "hi")  # force LiteLLM for one agent
    print(result.final_output, f"cost ${result.usage.cost_usd:.6f}", "litellm imported:", "litellm" in sys.modules)
    print("user agents seen by the server:", [h["user-agent"].split("/")[0] for h in server.request_headers])
