"""The support desk's own tests: offline (scripted models), restarts as separate processes.

    python -m pytest examples/support_desk
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import brain
import pytest
from desk import Desk, TicketSummary
from shop import refunds

from agentsilex import Conversation, ConversationLimits
from agentsilex.testing import FunctionModel, call

HERE = Path(__file__).parent


def desk_process(folder: Path, *words: str) -> subprocess.CompletedProcess:
    """One command in a new process: every call is a restart of the app."""
    return subprocess.run([sys.executable, str(HERE / "chat.py"), "--folder", str(folder), *words],
                          capture_output=True, text=True, timeout=60)


def test_the_conversation_continues_with_the_right_agent_after_a_restart(tmp_path):
    first = desk_process(tmp_path, "say", "alice", "I was charged twice for order 1")
    assert "(triage -> billing)" in first.stdout and "[billing] I see order 1" in first.stdout
    second = desk_process(tmp_path, "say", "alice", "what about order 2")
    assert second.stdout.strip() == "[billing] I see order 2: teapot, 24.50 EUR, shipped. Shall I refund it?"
    other = desk_process(tmp_path, "say", "bob", "hi")  # another customer starts at triage
    assert other.stdout.startswith("[triage] Hello!")


def test_a_refund_waits_for_approval_across_a_restart_and_runs_exactly_once(tmp_path):
    asked = desk_process(tmp_path, "say", "alice", "please refund order 1, it arrived broken")
    assert "waiting for a colleague to approve refund_order" in asked.stdout
    assert refunds(tmp_path / "shop.db") == []
    meanwhile = desk_process(tmp_path, "say", "alice", "any news?")  # the waiting refund is not dropped
    assert meanwhile.stdout.startswith("[desk] A colleague is looking at your request")
    listed = desk_process(tmp_path, "waiting").stdout.split()
    assert listed[0] == "alice" and listed[2] == "refund_order"
    approved = desk_process(tmp_path, "approve", "alice", listed[1])
    assert "[billing] Done: refunded 39.90 EUR for order 1" in approved.stdout, approved.stderr
    assert refunds(tmp_path / "shop.db") == [(1, 3990)]
    again = desk_process(tmp_path, "approve", "alice", listed[1])
    assert again.returncode != 0 and "nothing waits" in again.stderr
    assert refunds(tmp_path / "shop.db") == [(1, 3990)] and desk_process(tmp_path, "waiting").stdout == ""


def test_a_rejected_refund_never_runs(tmp_path):
    desk = Desk(tmp_path, brain.model_for)
    desk.chat("alice", "refund order 2 please", write=lambda text: None)
    [(customer, item)] = desk.waiting()
    result = desk.decide(customer, item.call_id, approve=False, reason="already shipped back", write=lambda text: None)
    assert "not approved" in result.final_output and refunds(desk.shop) == []


def test_a_conversation_budget_stops_a_runaway_chat_before_the_request_that_would_exceed_it(tmp_path):
    models: dict[str, FunctionModel] = {}
    desk = Desk(tmp_path, lambda name: models.setdefault(name, brain.model_for(name)),
                limits=ConversationLimits(max_total_tokens=800))
    said: list[str] = []
    for turn in range(30):
        before = len(models["triage"].requests)
        if desk.chat("carol", f"hello ({turn})", write=said.append) is None:
            break
    assert "".join(said).splitlines()[-1].startswith("[desk] This conversation has reached its limit")
    assert len(models["triage"].requests) == before  # the request that would go over was never sent
    usage = Conversation(desk.session("carol")).usage
    assert 0 < usage.total_tokens <= 800 and usage.requests == before
    assert desk.chat("dave", "hello", write=said.append) is not None  # the budget is per conversation


def test_the_model_cannot_fill_in_the_customer(tmp_path):
    # A model that tries to read and refund bob's order in alice's chat, by sending the context itself.
    def billing(messages, tools):
        if messages[-1]["role"] == "tool" and "order_status" in json.dumps(messages[-2]):
            return call("refund_order", order_id=3, reason="mine now")
        if messages[-1]["role"] == "tool" and "refund_order" in json.dumps(messages[-2]):
            return "gave up"
        return call("order_status", order_id=3, context={"customer_id": "bob", "database": "x"})

    models = {"billing": FunctionModel(billing)}
    desk = Desk(tmp_path, lambda name: models.get(name) or brain.model_for(name))
    desk.chat("alice", "refund order 3", write=lambda text: None)
    [(_, item)] = desk.waiting()
    result = desk.decide("alice", item.call_id, approve=True, write=lambda text: None)
    answers = [m["content"] for m in desk.session("alice").get_dialogs() if m["role"] == "tool"]
    assert answers[1].startswith("Error: Invalid arguments for tool 'order_status'") and "context" in answers[1]
    assert "there is no order 3 for this customer" in answers[2]  # alice's context, bob's order: refused
    assert result.final_output == "gave up" and refunds(desk.shop) == []
    assert all("espresso" not in answer for answer in answers)


def test_ticket_summary_is_structured_output(tmp_path):
    desk = Desk(tmp_path, brain.model_for)
    desk.chat("alice", "where is my parcel for order 2", write=lambda text: None)
    summary = desk.summary("alice")
    assert summary == TicketSummary(topic="shipping", order_ids=[2], resolved=True,
                                    summary="1 customer messages about shipping.")
    assert len(desk.session("alice").get_dialogs()) == 6  # the summary did not change the conversation


@pytest.mark.timeout(120)
def test_the_demo_tells_the_whole_story():
    done = subprocess.run([sys.executable, str(HERE / "demo.py")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "[billing] Done: refunded 39.90 EUR for order 1" in out and "refunds in the shop: [(1, 3990)]" in out
    assert "reached its limit" in out and "topic='billing'" in out
