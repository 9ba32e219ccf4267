"""AG-UI: every event `POST /ag-ui` sends validates against the `ag-ui-protocol` package's own models, read by
their camelCase aliases only, with integer-millisecond timestamps; against `agentsilex serve` in its own
process, and through the app for the error cases."""

from __future__ import annotations

import json
import re
import uuid

import httpx
import pytest

ag_ui = pytest.importorskip("ag_ui.core")
from fastapi.testclient import TestClient  # noqa: E402
from pydantic import TypeAdapter  # noqa: E402

from agentsilex import Agent  # noqa: E402
from agentsilex.app.common import Store  # noqa: E402
from agentsilex.testing import ScriptedModel  # noqa: E402
from agentsilex.testing.demo import DemoModel  # noqa: E402
from agentsilex.testing.demo import agent as demo_agent  # noqa: E402
from agentsilex.app.web import create_app  # noqa: E402
from served import serve  # noqa: E402

EVENT = TypeAdapter(ag_ui.Event)
CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    with serve(tmp_path_factory.mktemp("agui")) as base:
        yield base


def demo_client(tmp_path, name: str = "x.db") -> TestClient:
    """The app on the demo agent (no delay between words), on a fresh SQLite store."""
    agent = demo_agent.clone(model=DemoModel(delay=0))
    return TestClient(create_app(agent, store=Store(f"sqlite:///{tmp_path / name}")))


def validated(text: str) -> list:
    """Each SSE frame as the ag-ui model it is, checked by alias only (a snake_case key would not count)."""
    frames = [f for f in text.split("\n\n") if f.strip()]
    assert all(f.startswith("data: ") for f in frames)
    events = []
    for frame in frames:
        data = json.loads(frame[len("data: "):])
        assert all(CAMEL.match(key) for key in data), data
        assert isinstance(data["timestamp"], int) and data["timestamp"] > 1_600_000_000_000  # milliseconds
        event = EVENT.validate_python(data, by_alias=True, by_name=False)
        assert not event.model_extra, f"unknown fields {event.model_extra} in {data}"
        events.append(event)
    return events


def run_input(thread: str, text: str | None = None, **extra) -> dict:
    messages = [{"id": uuid.uuid4().hex, "role": "user", "content": text}] if text else []
    return {"threadId": thread, "runId": uuid.uuid4().hex, "messages": messages, "tools": [], "context": [],
            "state": {}, "forwardedProps": {}, **extra}


def kinds(events) -> list[str]:
    return [e.type.value for e in events]


def test_a_run_streams_text_and_tool_calls_as_valid_events(url):
    events = validated(httpx.post(url + "/ag-ui", json=run_input("ag-1", "What is 5 + 3?"), timeout=30).text)
    assert kinds(events)[0] == "RUN_STARTED" and events[0].protocol_version == ag_ui.PROTOCOL_VERSION
    assert kinds(events)[-1] == "RUN_FINISHED" and events[-1].thread_id == "ag-1"
    start = next(e for e in events if e.type.value == "TOOL_CALL_START")
    args = "".join(e.delta for e in events if e.type.value == "TOOL_CALL_ARGS")
    result = next(e for e in events if e.type.value == "TOOL_CALL_RESULT")
    assert start.tool_call_name == "add_numbers" and json.loads(args) == {"a": 5, "b": 3}
    assert result.tool_call_id == start.tool_call_id and result.content == "8"
    text = [e for e in events if e.type.value.startswith("TEXT_MESSAGE")]
    assert kinds(text)[0] == "TEXT_MESSAGE_START" and kinds(text)[-1] == "TEXT_MESSAGE_END"
    assert "".join(e.delta for e in text if e.type.value == "TEXT_MESSAGE_CONTENT") == "5 + 3 = **8**"
    assert len({e.message_id for e in text}) == 1 and events[-1].usage[0].total_tokens > 0


def test_the_thread_is_a_stored_session(url):
    validated(httpx.post(url + "/ag-ui", json=run_input("ag-2", "What is 1 + 1?"), timeout=30).text)
    validated(httpx.post(url + "/ag-ui", json=run_input("ag-2", "hello"), timeout=30).text)
    stored = httpx.get(f"{url}/api/sessions/ag-2/messages").json()["messages"]
    assert [m["content"] for m in stored if m["role"] == "user"] == ["What is 1 + 1?", "hello"]


def test_an_approval_is_a_state_snapshot_and_an_interrupt_then_resume_runs_the_call(url):
    paused = validated(httpx.post(url + "/ag-ui", json=run_input("ag-3", "delete old.log"), timeout=30).text)
    snapshot = next(e for e in paused if e.type.value == "STATE_SNAPSHOT")
    finished = paused[-1]
    assert [p["tool_name"] for p in snapshot.snapshot["pendingApprovals"]] == ["delete_file"]
    interrupt = finished.outcome.interrupts[0]
    assert finished.outcome.type == "interrupt" and interrupt.reason == "tool_approval"
    assert interrupt.tool_call_id == snapshot.snapshot["pendingApprovals"][0]["call_id"]
    answer = {"interruptId": interrupt.id, "status": "resolved", "payload": {"approved": True}}
    resumed = validated(httpx.post(url + "/ag-ui", json=run_input("ag-3", resume=[answer]), timeout=30).text)
    result = next(e for e in resumed if e.type.value == "TOOL_CALL_RESULT")
    assert result.content == "deleted old.log" and resumed[-1].type.value == "RUN_FINISHED"
    assert resumed[-1].outcome is None


def test_a_rejected_interrupt_does_not_run_the_call(url):
    paused = validated(httpx.post(url + "/ag-ui", json=run_input("ag-4", "delete a.txt"), timeout=30).text)
    answer = {"interruptId": paused[-1].outcome.interrupts[0].id, "status": "cancelled"}
    resumed = validated(httpx.post(url + "/ag-ui", json=run_input("ag-4", resume=[answer]), timeout=30).text)
    assert "refused" in next(e for e in resumed if e.type.value == "TOOL_CALL_RESULT").content


def test_handoffs_and_reasoning_are_valid_events(tmp_path):
    model = ScriptedModel([{"reasoning_content": "Think first.", "content": "Done."}])
    client = TestClient(create_app(Agent(name="thinker", model=model), store=Store(f"sqlite:///{tmp_path / 'x.db'}")))
    events = validated(client.post("/ag-ui", json=run_input("t", "go")).text)
    assert kinds(events) == ["RUN_STARTED", "REASONING_START", "REASONING_MESSAGE_START", "REASONING_MESSAGE_CONTENT",
                             "REASONING_MESSAGE_END", "REASONING_END", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT",
                             "TEXT_MESSAGE_END", "RUN_FINISHED"]
    demo = demo_client(tmp_path, "d.db")
    handed = validated(demo.post("/ag-ui", json=run_input("p", "a poem about tea")).text)
    custom = next(e for e in handed if e.type.value == "CUSTOM")
    assert custom.name == "agent_handoff" and custom.value["agent"] == "poet"


@pytest.mark.parametrize("body,status", [
    ({"runId": "r", "messages": []}, 422),  # no threadId
    (run_input("t"), 400),  # no question
    (run_input("../bad", "hi"), 400),
    (run_input("t", "x" * 100_001), 413),
    (run_input("fresh", resume=[{"interruptId": "call_1", "status": "resolved"}]), 409),  # nothing waits
    ({**run_input("t"), "messages": [{"id": "1", "role": "user", "content": [{"type": "video", "source": {}}]}]}, 400),
])
def test_bad_input_is_a_4xx_whose_body_is_a_run_error_event(tmp_path, body, status):
    client = demo_client(tmp_path)
    response = client.post("/ag-ui", json=body)
    assert response.status_code == status, response.text
    event = EVENT.validate_python(response.json(), by_alias=True, by_name=False)
    assert event.type.value == "RUN_ERROR" and event.message and event.code


def test_a_failure_mid_run_ends_with_run_error(tmp_path):
    from agentsilex import tool
    from agentsilex.testing import Fail, call

    @tool
    def ping() -> str:
        """Ping."""
        return "pong"

    agent = Agent(name="a", model=ScriptedModel([call("ping"), Fail(401, "invalid key")]), tools=[ping])
    client = TestClient(create_app(agent, store=Store(f"sqlite:///{tmp_path / 'x.db'}")))
    events = validated(client.post("/ag-ui", json=run_input("t", "go")).text)
    assert kinds(events)[-1] == "RUN_ERROR" and "invalid key" in events[-1].message


def test_the_official_http_agent_runs_the_agent(url):
    from pathlib import Path

    from js_clients import run_node

    client = Path(__file__).parent / "js" / "http_agent.cjs"
    done = run_node(client, url + "/ag-ui", "ag-js-1", "What is 5 + 3?", package="@ag-ui/client")
    assert done["types"][0] == "RUN_STARTED" and done["types"][-1] == "RUN_FINISHED"
    roles = [(m["role"], m.get("content")) for m in done["messages"]]
    assert roles[0] == ("user", "What is 5 + 3?") and roles[-1] == ("assistant", "5 + 3 = **8**")
    call = next(m for m in done["messages"] if m.get("toolCalls"))["toolCalls"][0]
    assert call["function"]["name"] == "add_numbers" and ("tool", "8") in roles
    paused = run_node(client, url + "/ag-ui", "ag-js-2", "delete a.txt", package="@ag-ui/client")
    assert paused["types"][-2:] == ["STATE_SNAPSHOT", "RUN_FINISHED"]
