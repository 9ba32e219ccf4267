"""The support desk: triage hands off to billing or shipping, refunds wait for a human, every customer has
a persistent conversation with its own budget.

    desk = Desk(folder, model_for)        # model_for(agent name) -> a model (brain.model_for offline)
    desk.chat("alice", "I was charged twice for order 1", print)
    desk.waiting()                         # what waits for a human, over every conversation
    desk.decide("alice", call_id, approve=True)
    desk.summary("alice")                  # a TicketSummary (structured output)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Literal

from pydantic import BaseModel
from shop import ShopContext, create_shop, list_orders, order_status, refund_order, track_parcel

from agentsilex import (Agent, Conversation, ConversationLimits, PendingApproval, RunResult, Runner, Session,
                        UsageLimitExceeded)
from agentsilex.stores import SQLiteSession

BUDGET = ConversationLimits(max_total_tokens=20_000)  # per customer conversation, checked before each request


class TicketSummary(BaseModel):
    """What a human colleague reads first."""

    topic: Literal["billing", "shipping", "other"]
    order_ids: list[int]
    resolved: bool
    summary: str


def build_agents(model_for: Callable[[str], Any]) -> tuple[Agent, Agent]:
    """(triage, summarizer). Triage is where every conversation starts; billing and shipping hand over to
    each other, so a conversation can move between them."""
    billing = Agent(name="billing", model=model_for("billing"), tools=[list_orders, order_status, refund_order],
                    instructions="You handle payments and refunds. Refund only the customer's own orders.")
    shipping = Agent(name="shipping", model=model_for("shipping"), tools=[list_orders, track_parcel],
                     instructions="You handle deliveries.", handoffs=[billing])
    billing.handoffs.append(shipping)
    triage = Agent(name="triage", model=model_for("triage"), handoffs=[billing, shipping],
                   instructions="Greet the customer and hand over to billing or shipping.")
    summarizer = Agent(name="summarizer", model=model_for("summarizer"), output_type=TicketSummary,
                       instructions="Summarise the support conversation for a colleague.")
    return triage, summarizer


class Desk:
    """One shop's support desk: the orders database and the conversations live in `folder`."""

    def __init__(self, folder: Path, model_for: Callable[[str], Any], *,
                 limits: ConversationLimits = BUDGET, approval_key: str | bytes | None = None) -> None:
        self.folder = Path(folder)
        # Signs the refunds waiting for a human; every process of the app must share it (None: the
        # AGENTSILEX_APPROVAL_KEY environment variable, else a key of this process only).
        self.approval_key = approval_key
        self.shop, self.conversations = self.folder / "shop.db", self.folder / "conversations.db"
        create_shop(self.shop)
        self.triage, self.summarizer = build_agents(model_for)
        self.limits = limits

    def session(self, customer: str) -> SQLiteSession:
        return SQLiteSession(f"customer-{customer}", self.conversations)

    def runner(self, customer: str) -> Runner:
        return Runner(self.session(customer), context=ShopContext(customer, self.shop),
                      conversation_limits=self.limits, approval_key=self.approval_key)

    def conversation(self, customer: str) -> Conversation:
        return Conversation(self.session(customer), approval_key=self.approval_key)

    def chat(self, customer: str, text: str, write: Callable[[str], Any] = sys.stdout.write) -> RunResult | None:
        """One customer message; the answer is written as it streams. The conversation continues with whichever
        agent answered last."""
        if self.conversation(customer).paused is not None:  # a new prompt would drop the waiting refund
            write("[desk] A colleague is looking at your request; we will answer here as soon as it is decided.\n")
            return None
        speaking = None  # the agent whose answer is being written
        try:
            stream = self.runner(customer).run_stream(self.triage, text)
            for event in stream:
                if event.type == "partial_output":
                    if speaking != event.agent:
                        write(f"[{event.agent}] ")
                        speaking = event.agent
                    write(event.content)
                elif event.type == "agent_handoff":
                    write(f"  ({event.from_agent} -> {event.agent})\n")
                elif event.type == "approval_requested":
                    write(f"  (waiting for a colleague to approve {event.name} {event.arguments})\n")
        except UsageLimitExceeded:
            write("[desk] This conversation has reached its limit; a colleague will follow up by email.\n")
            return None
        result = stream.result
        if result.pending_approvals:
            write(f"[{result.last_agent.name}] A colleague has to approve this; I will get back to you.\n")
        elif speaking is not None:
            write("\n")
        return result

    def waiting(self) -> list[tuple[str, PendingApproval]]:
        """(customer, call) for every call waiting for a human, over all conversations: the operator's list."""
        found = []
        for session_id in self.session("operator").list_sessions():
            for item in self.conversation(session_id.removeprefix("customer-")).pending_approvals:
                found.append((session_id.removeprefix("customer-"), item))
        return found

    def decide(self, customer: str, call_id: str, *, approve: bool, reason: str = "",
               write: Callable[[str], Any] = sys.stdout.write) -> RunResult:
        """Approve or reject a waiting call, and let the agent finish its answer to the customer."""
        state = self.conversation(customer).paused
        if state is None:
            raise LookupError(f"nothing waits for a decision in {customer}'s conversation")
        state.approve(call_id) if approve else state.reject(call_id, reason)
        result = self.runner(customer).run(self.triage, state)  # the agent that paused is found by name
        write(f"[{result.last_agent.name}] {result.final_output}\n")
        return result

    def summary(self, customer: str) -> TicketSummary:
        """The ticket summary, from a copy of the conversation (the conversation itself is not changed)."""
        copy = Session(list(self.session(customer).get_dialogs()))
        return Runner(copy).run(self.summarizer, "Summarise this ticket.").final_output

    def usage(self, customer: str) -> Any:
        return self.conversation(customer).usage
