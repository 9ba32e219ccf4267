"""The web chat's JSON API through FastAPI's test client: runs as SSE, approvals, sessions, and every error."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from agentsilex import Agent, tool  # noqa: E402
from agentsilex.frontend import PENDING_KEY, Store  # noqa: E402
from agentsilex.testing import Fail, ScriptedModel, call  # noqa: E402
from agentsilex.testing.demo import DemoModel  # noqa: E402
from agentsilex.testing.demo import agent as demo_agent  # noqa: E402
from agentsilex.web import create_app  # noqa: E402


@pytest.fixture
def store(tmp_path):
    return Store(f"sqlite:///{tmp_path / 'web.db'}")


@pytest.fixture
def client(store):
    return TestClient(create_app(demo_agent.clone(model=DemoModel(delay=0)), store=store))


def events(response) -> list[dict]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = [f for f in response.text.split("\n\n") if f.strip()]
    assert all(f.startswith("data: ") for f in frames)
    return [json.loads(f[len("data: "):]) for f in frames]


def new_session(client, name=None) -> str:
    response = client.post("/api/sessions", json={"id": name} if name else {})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_a_question_streams_text_tool_calls_and_usage(client):
    session = new_session(client)
    got = events(client.post(f"/api/sessions/{session}/messages", json={"content": "What is 5 + 3?"}))
    kinds = [e["type"] for e in got]
    assert kinds[:2] == ["tool_call", "tool_response"] and kinds[-1] == "final_result"
    assert got[0]["name"] == "add_numbers" and json.loads(got[0]["arguments"]) == {"a": 5, "b": 3}
    assert got[1]["content"] == "8" and got[1]["error"] is None
    text = [e["content"] for e in got if e["type"] == "partial_output"]
    assert len(text) > 1 and "".join(text) == "5 + 3 = **8**" == got[-1]["final_output"]
    assert got[-1]["usage"]["requests"] == 2 and got[-1]["usage"]["cost_usd"] is None
    history = client.get(f"/api/sessions/{session}/messages").json()
    assert [m["role"] for m in history["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert history["pending_approvals"] == []


def test_handoffs_are_marked(client):
    session = new_session(client)
    got = events(client.post(f"/api/sessions/{session}/messages", json={"content": "a poem about tea"}))
    handoff = next(e for e in got if e["type"] == "agent_handoff")
    assert handoff["agent_name"] == "poet" and handoff["from_agent"] == "assistant"
    assert got[-1]["last_agent"] == "poet" and "A poem about tea" in got[-1]["final_output"]


def test_approval_pauses_survives_a_reload_and_resumes(client, store):
    session = new_session(client)
    got = events(client.post(f"/api/sessions/{session}/messages", json={"content": "delete old.log"}))
    assert got[-1]["type"] == "approval_required"
    pending = got[-1]["pending_approvals"]
    assert [p["tool_name"] for p in pending] == ["delete_file"]
    # The paused run is kept with the session: a reloaded page (a new client, even) sees it.
    fresh = TestClient(create_app(demo_agent.clone(model=DemoModel(delay=0)), store=store))
    assert fresh.get(f"/api/sessions/{session}/messages").json()["pending_approvals"] == pending
    decisions = {pending[0]["call_id"]: {"approved": True}}
    resumed = events(fresh.post(f"/api/sessions/{session}/approvals", json={"decisions": decisions}))
    assert [e for e in resumed if e["type"] == "tool_response"][0]["content"] == "deleted old.log"
    assert resumed[-1]["type"] == "final_result"
    after = client.get(f"/api/sessions/{session}/messages").json()
    assert after["pending_approvals"] == [] and after["messages"][-2]["content"] == "deleted old.log"


def test_a_rejected_call_does_not_run(client):
    session = new_session(client)
    pending = events(client.post(f"/api/sessions/{session}/messages", json={"content": "delete a"}))[-1]
    decisions = {pending["pending_approvals"][0]["call_id"]: {"approved": False, "reason": "keep it"}}
    resumed = events(client.post(f"/api/sessions/{session}/approvals", json={"decisions": decisions}))
    result = next(e for e in resumed if e["type"] == "tool_response")
    assert "refused" in result["content"] and "keep it" in result["content"]


def test_a_new_question_abandons_a_waiting_run(client, store):
    session = new_session(client)
    events(client.post(f"/api/sessions/{session}/messages", json={"content": "delete a"}))
    events(client.post(f"/api/sessions/{session}/messages", json={"content": "hello"}))
    assert store.session(session).get_state(PENDING_KEY) is None
    response = client.post(f"/api/sessions/{session}/approvals", json={"decisions": {}})
    assert response.status_code == 409 and response.json()["error"] == "nothing_pending"


def test_sessions_are_listed_newest_first_titled_and_deleted(client):
    first = new_session(client, "first")
    events(client.post(f"/api/sessions/{first}/messages", json={"content": "What is 1 + 1?"}))
    second = new_session(client)
    rows = client.get("/api/sessions").json()["sessions"]
    assert [r["id"] for r in rows] == [second, first]
    assert rows[1]["title"] == "What is 1 + 1?" and rows[1]["messages"] == 4 and rows[0]["messages"] == 0
    assert client.post("/api/sessions", json={"id": "first"}).status_code == 409
    assert client.delete(f"/api/sessions/{first}").status_code == 204
    assert [r["id"] for r in client.get("/api/sessions").json()["sessions"]] == [second]
    assert client.get(f"/api/sessions/{first}/messages").status_code == 404


@pytest.mark.parametrize("method,path", [("get", "/api/sessions/nope/messages"), ("delete", "/api/sessions/nope"),
                                         ("post", "/api/sessions/nope/messages"),
                                         ("post", "/api/sessions/nope/approvals")])
def test_an_unknown_session_is_404(client, method, path):
    body = {"json": {"content": "hi"} if path.endswith("messages") else {"decisions": {}}} if method == "post" else {}
    response = getattr(client, method)(path, **body)
    assert response.status_code == 404
    assert response.json() == {"error": "unknown_session",
                               "message": "No session 'nope': create it with POST /api/sessions."}


def test_bad_json_and_bad_fields_are_422_with_a_message(client):
    session = new_session(client)
    url = f"/api/sessions/{session}/messages"
    broken = client.post(url, content=b"{not json", headers={"content-type": "application/json"})
    assert broken.status_code == 422 and "JSON decode error" in broken.json()["message"]
    empty = client.post(url, json={"content": ""})
    assert empty.status_code == 422 and "content" in empty.json()["message"]
    assert client.post(url, json={"text": "hi"}).status_code == 422
    assert client.post("/api/sessions", json={"id": "../etc"}).status_code == 422
    assert client.post(f"/api/sessions/{session}/approvals", json={"decisions": "yes"}).status_code == 422


def test_deciding_an_unknown_call_is_400(client):
    session = new_session(client)
    events(client.post(f"/api/sessions/{session}/messages", json={"content": "delete a"}))
    response = client.post(f"/api/sessions/{session}/approvals", json={"decisions": {"call_99": {"approved": True}}})
    assert response.status_code == 400 and "call_99" in response.json()["message"]


def test_a_busy_session_is_409_and_nothing_is_interleaved(client, store):
    session = new_session(client)
    release = store.session(session).acquire_writer(0)  # another run (any process) holds the session
    try:
        response = client.post(f"/api/sessions/{session}/messages", json={"content": "hello"})
    finally:
        release()
    assert response.status_code == 409
    assert response.json()["error"] == "session_busy" and "in use by another run" in response.json()["message"]
    assert store.session(session).get_dialogs() == []  # the refused question was not stored
    assert events(client.post(f"/api/sessions/{session}/messages", json={"content": "hello"}))[-1]["type"] \
        == "final_result"


def test_a_model_failure_mid_run_is_an_error_event_and_the_session_stays_valid(store):
    @tool
    def ping() -> str:
        """Ping."""
        return "pong"

    model = ScriptedModel([call("ping"), Fail(401, "invalid key")])
    client = TestClient(create_app(Agent(name="a", model=model, tools=[ping]), store=store))
    session = new_session(client)
    got = events(client.post(f"/api/sessions/{session}/messages", json={"content": "go"}))
    assert [e["type"] for e in got] == ["tool_call", "tool_response", "error"]
    assert got[-1]["error"] == "ModelAuthError" and "invalid key" in got[-1]["message"]
    stored = store.session(session).get_dialogs()
    assert [m["role"] for m in stored] == ["user", "assistant", "tool"]  # every call answered: still valid


def test_a_token_is_required_when_set(store):
    client = TestClient(create_app(demo_agent, store=store, token="s3cret"))
    refused = client.get("/api/sessions")
    assert refused.status_code == 401 and "Authorization: Bearer" in refused.json()["message"]
    assert client.get("/api/sessions", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/sessions", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert client.get("/api/sessions?token=s3cret").status_code == 200
    assert client.get("/openapi.json").status_code == 401
    assert client.get("/").status_code == 200  # the page holds no data; it asks for the token


def test_the_page_and_its_files_are_served_offline_and_the_api_is_documented(client):
    page = client.get("/")
    assert page.status_code == 200 and "static/app.js" in page.text
    assert "http" not in page.text.replace('href="docs"', "")  # no CDN: every file comes from this server
    for name in ("app.js", "markdown.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/sessions", "/api/sessions/{session_id}/messages", "/api/sessions/{session_id}/approvals"} <= set(paths)


def test_usage_adds_up_across_an_approval_and_matches_what_the_session_recorded(client, store):
    from agentsilex import Conversation

    session = new_session(client)
    assert client.get(f"/api/sessions/{session}/messages").json()["usage"]["requests"] == 0
    paused = events(client.post(f"/api/sessions/{session}/messages", json={"content": "delete old.log"}))
    assert paused[-1]["type"] == "approval_required" and paused[-1]["usage"]["requests"] == 1
    decisions = {paused[-1]["pending_approvals"][0]["call_id"]: {"approved": True}}
    resumed = events(client.post(f"/api/sessions/{session}/approvals", json={"decisions": decisions}))
    final = resumed[-1]
    assert final["type"] == "final_result" and final["usage"]["requests"] == 2  # the request before the pause too
    shown = client.get(f"/api/sessions/{session}/messages").json()["usage"]
    recorded = Conversation(store.session(session)).usage
    assert (shown["requests"], shown["input_tokens"], shown["output_tokens"]) == \
        (recorded.requests, recorded.input_tokens, recorded.output_tokens) == \
        (2, final["usage"]["input_tokens"], final["usage"]["output_tokens"])
    assert set(shown) >= {"cached_input_tokens", "reasoning_tokens", "estimated", "cost_usd"}


def test_info_names_the_agent_its_description_and_examples(store):
    app = create_app(demo_agent, store=store, examples=["What is 2 + 2?"])
    info = TestClient(app).get("/api/info").json()
    assert info["agent"] == "assistant" and info["examples"] == ["What is 2 + 2?"]
    assert info["description"] == demo_agent.description and app.description == demo_agent.description
