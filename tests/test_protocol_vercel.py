"""The Vercel AI SDK UI message stream at `POST /api/vercel/chat`: every chunk against the protocol's documented
shapes, and the AI SDK's own chat client (AbstractChat, which `useChat` wraps, with its DefaultChatTransport
that validates each chunk against the SDK's schema) talking to `agentsilex serve` in its own process.

The SDK comes from the npm registry (.ci/js-clients.sh); without Node.js or it, the client tests skip
locally and fail in CI (CI=true)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from agentsilex import Agent, tool  # noqa: E402
from agentsilex.app.common import Store  # noqa: E402
from agentsilex.testing import Fail, ScriptedModel, call  # noqa: E402
from agentsilex.testing.demo import DemoModel  # noqa: E402
from agentsilex.testing.demo import agent as demo_agent  # noqa: E402
from agentsilex.app.web import create_app  # noqa: E402
from js_clients import run_node  # noqa: E402
from served import serve  # noqa: E402

CLIENT = Path(__file__).parent / "js" / "use_chat.cjs"
# The UI message stream protocol's chunks (AI SDK 5 and 6 docs, "Stream Protocols"): the keys each must have.
SHAPES = {"start": set(), "start-step": set(), "finish-step": set(), "finish": set(), "error": {"errorText"},
          "text-start": {"id"}, "text-delta": {"id", "delta"}, "text-end": {"id"},
          "reasoning-start": {"id"}, "reasoning-delta": {"id", "delta"}, "reasoning-end": {"id"},
          "tool-input-start": {"toolCallId", "toolName"}, "tool-input-available": {"toolCallId", "toolName", "input"},
          "tool-output-available": {"toolCallId", "output"}, "tool-output-error": {"toolCallId", "errorText"},
          "tool-output-denied": {"toolCallId"}, "tool-approval-request": {"approvalId", "toolCallId"}}
FINISH_REASONS = {"stop", "length", "content-filter", "tool-calls", "error", "other"}


def demo_client(tmp_path, name: str = "x.db") -> TestClient:
    """The app on the demo agent (no delay between words), on a fresh SQLite store."""
    agent = demo_agent.clone(model=DemoModel(delay=0))
    return TestClient(create_app(agent, store=Store(f"sqlite:///{tmp_path / name}")))


def chunks(response) -> list[dict]:
    """The stream's chunks, each checked against its documented shape, and the stream's framing."""
    assert response.status_code == 200, response.text
    assert response.headers["x-vercel-ai-ui-message-stream"] == "v1"
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = [f for f in response.text.split("\n\n") if f.strip()]
    assert frames[-1] == "data: [DONE]" and all(f.startswith("data: ") for f in frames)
    found = [json.loads(f[len("data: "):]) for f in frames[:-1]]
    for chunk in found:
        kind = chunk["type"]
        assert kind in SHAPES or (kind.startswith("data-") and "data" in chunk), chunk
        assert SHAPES.get(kind, set()) <= set(chunk), chunk
        assert all(isinstance(chunk[k], str) for k in ("id", "delta", "toolCallId", "errorText") if k in chunk)
    assert found[0]["type"] == "start"
    return found


def ui_request(chat_id: str, text: str) -> dict:
    return {"id": chat_id, "trigger": "submit-message",
            "messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": text}]}]}


@pytest.fixture
def app_client(tmp_path):
    return demo_client(tmp_path)


def test_text_and_tool_calls_in_documented_chunks_in_order(app_client):
    found = chunks(app_client.post("/api/vercel/chat", json=ui_request("v1", "What is 5 + 3?")))
    assert [c["type"] for c in found] == ["start", "start-step", "tool-input-start", "tool-input-available",
                                          "tool-output-available", "finish-step", "start-step", "text-start",
                                          *["text-delta"] * 3, "text-end", "finish-step", "finish"]
    assert found[3]["input"] == {"a": 5, "b": 3} and found[4]["output"] == "8" and found[3]["dynamic"] is True
    assert "".join(c["delta"] for c in found if c["type"] == "text-delta") == "5 + 3 = **8**"
    assert found[-1]["finishReason"] in FINISH_REASONS


def test_reasoning_handoff_and_a_failure(tmp_path):
    model = ScriptedModel([{"reasoning_content": "Hmm.", "content": "Yes."}])
    thinker = TestClient(create_app(Agent(name="t", model=model), store=Store(f"sqlite:///{tmp_path / 't.db'}")))
    kinds = [c["type"] for c in chunks(thinker.post("/api/vercel/chat", json=ui_request("r", "go")))]
    assert kinds[2:5] == ["reasoning-start", "reasoning-delta", "reasoning-end"] and "text-delta" in kinds

    @tool
    def ping() -> str:
        """Ping."""
        return "pong"

    failing = Agent(name="f", model=ScriptedModel([call("ping"), Fail(401, "invalid key")]), tools=[ping])
    client = TestClient(create_app(failing, store=Store(f"sqlite:///{tmp_path / 'f.db'}")))
    found = chunks(client.post("/api/vercel/chat", json=ui_request("f", "go")))
    assert found[-1]["type"] == "error" and "invalid key" in found[-1]["errorText"]


def test_handoffs_are_data_parts(app_client):
    found = chunks(app_client.post("/api/vercel/chat", json=ui_request("p", "a poem about the sea")))
    assert next(c for c in found if c["type"] == "data-agent-handoff")["data"]["agent"] == "poet"


@pytest.mark.parametrize("body,status", [
    ({"id": "x", "messages": []}, 422),
    ({"id": "x", "messages": [{"id": "a", "role": "assistant", "parts": [{"type": "text", "text": "hi"}]}]}, 400),
    (ui_request("../x", "hi"), 400),
    (ui_request("x", "y" * 100_001), 413),
])
def test_bad_input_is_a_4xx_error_chunk(app_client, body, status):
    response = app_client.post("/api/vercel/chat", json=body)
    assert response.status_code == status and response.json()["type"] == "error" and response.json()["errorText"]


# -- the AI SDK's own client --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def url(tmp_path_factory):
    with serve(tmp_path_factory.mktemp("vercel")) as base:
        yield base + "/api/vercel/chat"


def use_chat(url: str, chat_id: str, text: str, decision: str | None = None) -> dict:
    state = run_node(CLIENT, url, chat_id, text, *([decision] if decision else []), package="ai")
    assert state["status"] == "ready" and state["errors"] == []
    return state


def test_the_sdks_chat_client_gets_the_answer_with_its_tool_calls(url):
    messages = use_chat(url, "sdk-1", "What is 5 + 3?")["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    parts = messages[1]["parts"]
    tool_part = next(p for p in parts if p["type"] == "dynamic-tool")
    assert tool_part["toolName"] == "add_numbers" and tool_part["state"] == "output-available"
    assert tool_part["input"] == {"a": 5, "b": 3} and tool_part["output"] == "8"
    assert [p["text"] for p in parts if p["type"] == "text"] == ["5 + 3 = **8**"]


def test_the_sdks_tool_approval_round_trip(url):
    state = use_chat(url, "sdk-2", "delete old.log", "approve")
    waiting = next(p for p in state["first"][-1]["parts"] if p["type"] == "dynamic-tool")
    assert waiting["state"] == "approval-requested" and waiting["toolName"] == "delete_file"
    final = state["messages"][-1]
    assert len(state["messages"]) == 2  # the answer goes on in the message that asked
    tool_part = next(p for p in final["parts"] if p["type"] == "dynamic-tool")
    assert tool_part["state"] == "output-available" and tool_part["output"] == "deleted old.log"


def test_the_sdks_tool_approval_refused(url):
    final = use_chat(url, "sdk-3", "delete old.log", "reject")["messages"][-1]
    tool_part = next(p for p in final["parts"] if p["type"] == "dynamic-tool")
    assert tool_part["state"] == "output-denied"
