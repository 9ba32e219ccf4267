"""Usage, cost, limits and lifecycle hooks.

    python examples/budgets_and_hooks.py
Usage is counted per request and in total (USD from LiteLLM's price table, loaded only when asked for).
A model without a price shows an unknown cost, and a cost limit on it is refused before any request.
A limit that is hit raises UsageLimitExceeded carrying the partial result. Hooks see every step.
"""

from __future__ import annotations

from agentsilex import Agent, RunHooks, RunLimits, Runner, UsageLimitExceeded, UserError, tool
from agentsilex.testing import ScriptedModel, call


@tool
def ping() -> str:
    """Ping."""
    return "pong"


class PrintHooks(RunHooks):
    def before_model_call(self, context, agent, request):
        print(f"  model call by {agent.name}: {len(request.messages)} messages")

    def after_tool_call(self, context, agent, tool_name, call):
        print(f"  tool {tool_name} -> {call.content}")


def cost(usage) -> str:
    # None when LiteLLM's price table does not know the model (a local or self-hosted one, for instance).
    return "unknown (no price for this model)" if usage.cost_usd is None else f"${usage.cost_usd:.6f}"


agent = Agent(name="pinger", model=ScriptedModel([call("ping"), "pong received"], name="gpt-4o"), tools=[ping])
result = Runner(hooks=PrintHooks()).run(agent, "ping please")
print("tokens:", result.usage.total_tokens, "cost:", cost(result.usage))

local = Agent(name="local", model=ScriptedModel(["hello"], name="my-local-model"))
result = Runner().run(local, "hi")
print("tokens:", result.usage.total_tokens, "cost:", cost(result.usage))
try:  # a cost limit needs a price: refused before any request is sent
    Runner(limits=RunLimits(max_cost_usd=0.01)).run(local, "hi again")
except UserError as refused:
    print("refused:", refused)

looping = Agent(name="looper", model=ScriptedModel([call("ping")] * 5), tools=[ping])
try:
    Runner(limits=RunLimits(max_tool_calls=2)).run(looping, "ping forever")
except UsageLimitExceeded as stop:
    print(f"stopped: {stop.limit} hit ({stop.used:g} > {stop.maximum:g});",
          len(stop.result.function_calls), "calls were made")
