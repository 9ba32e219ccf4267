"""Handoffs: a triage agent passes the conversation to a specialist, who answers on the same session.

    python examples/handoffs.py
Offline: each agent's model is a ScriptedModel, so you see exactly which tool calls happen.
"""

from __future__ import annotations

from agentsilex import Agent, Runner, Session, handoff, tool
from agentsilex.features.handoffs import without_tool_calls
from agentsilex.testing import ScriptedModel, call
from agentsilex.utils import print_dialog_history


@tool
def refund(order_id: str) -> str:
    """Refund an order."""
    return f"Order {order_id} refunded."


billing = Agent(name="billing", model=ScriptedModel([call("refund", order_id="A-17"), "Done: A-17 is refunded."]),
                instructions="You handle refunds.", tools=[refund])
triage = Agent(name="triage", model=ScriptedModel([call("transfer_to_billing")]),
               instructions="Route the user to the right agent.",
               handoffs=[handoff(billing, input_filter=without_tool_calls,
                                 on_handoff=lambda context: print(f"-> billing, for {context['user']}"))])

session = Session()
result = Runner(session, context={"user": "ann"}).run(triage, "Please refund order A-17")
print("answered by:", result.last_agent.name)
print("final output:", result.final_output)
print_dialog_history(session)
