"""An offline stand-in for the LLM, so the desk runs (and is tested) without an API key.

Each agent gets a `FunctionModel` that reads the conversation and answers by simple rules. It keeps no
state of its own, so it answers the same after a restart. Swap it for a real model with `--model`.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

from agentsilex.testing import FunctionModel, call

Rules = Callable[[str, dict, list[dict]], Any]  # (last user text, last message, all messages) -> a reply


def model_for(agent_name: str) -> FunctionModel:
    """The scripted model of one desk agent."""
    rules: Rules = RULES[agent_name]

    def reply(messages: list[dict], tools: list[dict]) -> Any:
        users = [m["content"] for m in messages if m["role"] == "user"]
        return rules(users[-1] if users else "", messages[-1], messages)
    return FunctionModel(reply, name=f"scripted-{agent_name}")


def triage(text: str, last: dict, messages: list[dict]) -> Any:
    words = text.lower()
    if re.search(r"refund|charge|money|invoice|pay", words):
        return call("transfer_to_billing")
    if re.search(r"parcel|deliver|ship|where|track", words):
        return call("transfer_to_shipping")
    return "Hello! I can help with payments and refunds, or with deliveries. What do you need?"


def billing(text: str, last: dict, messages: list[dict]) -> Any:
    if last["role"] == "tool":
        name = _tool_name(messages, last["tool_call_id"])
        if name == "refund_order":
            if last["content"].startswith("Error"):
                return "I am sorry: the refund was not approved. A colleague will contact you."
            return f"Done: {last['content']}. The money is back on your card in 3-5 days."
        if name == "order_status":
            return f"I see {last['content']}. Shall I refund it?"
        if name == "list_orders":
            return "Which order is it? " + "; ".join(f"{o['id']}: {o['item']}" for o in json.loads(last["content"]))
    order = _order_number(messages)
    if order is None:
        return call("list_orders")
    if re.search(r"refund|yes|broken|back", text.lower()):
        return call("refund_order", order_id=order, reason=text)
    if re.search(r"parcel|deliver|where|track", text.lower()):
        return call("transfer_to_shipping")
    return call("order_status", order_id=order)


def shipping(text: str, last: dict, messages: list[dict]) -> Any:
    if last["role"] == "tool" and _tool_name(messages, last["tool_call_id"]) == "track_parcel":
        return f"Here is what I found: {last['content']}."
    if re.search(r"refund|money|charge", text.lower()):
        return call("transfer_to_billing")
    order = _order_number(messages)
    return "Which order number?" if order is None else call("track_parcel", order_id=order)


def summarizer(text: str, last: dict, messages: list[dict]) -> str:
    """A ticket summary as JSON (the agent's output_type validates it)."""
    said = " ".join(m["content"] or "" for m in messages if m["role"] in ("user", "assistant"))
    asked = " ".join(m["content"] or "" for m in messages[:-1] if m["role"] == "user").lower()
    topic = "billing" if re.search(r"refund|charge", asked) else \
        "shipping" if re.search(r"parcel|deliver", asked) else "other"
    orders = sorted({int(n) for n in re.findall(r"order (\d+)", said)})
    return json.dumps({"topic": topic, "order_ids": orders, "resolved": "Done:" in said or "found:" in said,
                       "summary": f"{len([m for m in messages if m['role'] == 'user']) - 1} customer messages "
                                  f"about {topic}."})  # minus the request for this summary


def _order_number(messages: list[dict]) -> int | None:
    for message in reversed(messages):
        if message["role"] == "user":
            found = re.search(r"\b(\d+)\b", message["content"] or "")
            if found:
                return int(found.group(1))
    return None


def _tool_name(messages: list[dict], call_id: str) -> str | None:
    for message in messages:
        for item in message.get("tool_calls") or []:
            if item["id"] == call_id:
                return item["function"]["name"]
    return None


RULES: dict[str, Rules] = {"triage": triage, "billing": billing, "shipping": shipping, "summarizer": summarizer}
