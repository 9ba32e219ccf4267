"""A typed run context: one object shared by tools, instructions, turns, handoffs and sub-agents.

    python examples/context.py
A tool reaches it through a parameter annotated `Context[Cart]` (the model never sees that parameter, and a
Runner with another kind of context is refused before any request); instructions may be a function of it.
A plain dict works too (a parameter named `context`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agentsilex import Agent, Context, Runner, Session, tool
from agentsilex.testing import ScriptedModel, call


@dataclass
class Cart:
    owner: str
    items: list[str] = field(default_factory=list)


@tool
def add_item(item: str, cart: Context[Cart]) -> str:
    """Put an item in the cart."""
    cart.items.append(item)
    return f"{len(cart.items)} items in the cart"


cart = Cart("ann")
agent = Agent(name="shop", model=ScriptedModel([call("add_item", item="tea"), "Added tea.",
                                                call("add_item", item="milk"), "Added milk."]),
              instructions=lambda cart: f"You help {cart.owner}. Cart: {', '.join(cart.items) or 'empty'}.",
              tools=[add_item])
runner = Runner(Session(), context=cart)
runner.run(agent, "Add tea")
runner.run(agent, "Add milk")
print("cart:", cart.items)
print("last system prompt:", agent.model.requests[-1].messages[0]["content"])
print("the model saw these parameters:", list(agent.model.requests[0].tools[0]["function"]["parameters"]["properties"]))
