"""The served agent as an OpenAI-compatible model, through the official `openai` client (sync, streaming and
async) against `agentsilex serve` in its own process, and every error in OpenAI's shape."""

from __future__ import annotations

import asyncio
import json

import pytest

openai = pytest.importorskip("openai")
from fastapi.testclient import TestClient  # noqa: E402

from agentsilex import Agent  # noqa: E402
from agentsilex.app.common import Store  # noqa: E402
from agentsilex.testing import ScriptedModel  # noqa: E402
from agentsilex.testing.demo import DemoModel  # noqa: E402
from agentsilex.testing.demo import agent as demo_agent  # noqa: E402
from agentsilex.app.web import create_app  # noqa: E402
from served import serve  # noqa: E402

SESSION = "X-Agentsilex-Session"


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    with serve(tmp_path_factory.mktemp("openai")) as base:
        yield base


@pytest.fixture
def client(url):
    with openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0) as made:
        yield made


def test_models_lists_the_served_agent(client):
    assert [m.id for m in client.models.list().data] == ["assistant"]


def test_a_completion_runs_the_agents_tools_on_the_server(client):
    reply = client.chat.completions.create(model="assistant", messages=[{"role": "user", "content": "What is 5 + 3?"}])
    choice = reply.choices[0]
    assert choice.message.role == "assistant" and choice.message.content == "5 + 3 = **8**"
    assert choice.finish_reason == "stop" and choice.message.tool_calls is None  # the tools ran here, not there
    assert reply.model == "assistant" and reply.usage.total_tokens == reply.usage.prompt_tokens \
        + reply.usage.completion_tokens > 0
    ran = reply.model_extra["agentsilex"]["tool_calls"]
    assert [(c["name"], json.loads(c["arguments"]), c["content"]) for c in ran] == \
        [("add_numbers", {"a": 5, "b": 3}, "8")]


def test_a_stream_is_standard_chunks_with_usage_last(client):
    chunks = list(client.chat.completions.create(model="assistant", stream=True,
                                                 stream_options={"include_usage": True},
                                                 messages=[{"role": "user", "content": "What is 5 + 3?"}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "5 + 3 = **8**" and len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0
    tools = [c.model_extra["agentsilex"] for c in chunks if (c.model_extra or {}).get("agentsilex", {}).get("type")]
    assert [(t["type"], t["name"]) for t in tools] == [("tool_call", "add_numbers"), ("tool_response", "add_numbers")]
    assert len({c.id for c in chunks}) == 1


def test_the_async_client_streams_too(url):
    async def ask() -> str:
        async with openai.AsyncOpenAI(base_url=url + "/v1", api_key="unused", max_retries=0) as made:
            stream = await made.chat.completions.create(model="assistant", stream=True,
                                                        messages=[{"role": "user", "content": "weather in Oslo"}])
            return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

    assert "Oslo" in asyncio.run(ask())


def test_the_clients_messages_are_the_conversation(client):
    reply = client.chat.completions.create(model="assistant", messages=[
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 1 + 1?"},
        {"role": "assistant", "content": "1 + 1 = 2"}, {"role": "user", "content": "hello again"}])
    assert "hello again" in reply.choices[0].message.content
    assert reply.model_extra["agentsilex"]["session"] is None  # nothing stored without the header


def test_a_session_header_continues_a_stored_session_shared_with_the_web_chat(client, url):
    import httpx

    first = client.chat.completions.create(model="assistant", messages=[{"role": "user", "content": "What is 2 + 2?"}],
                                           extra_headers={SESSION: "oa-1"})
    assert first.model_extra["agentsilex"]["session"] == "oa-1"
    # Only the last message is new: the stored history is the conversation.
    client.chat.completions.create(model="assistant", messages=[{"role": "user", "content": "ignored"},
                                                                {"role": "user", "content": "hello"}],
                                   extra_headers={SESSION: "oa-1"})
    stored = httpx.get(f"{url}/api/sessions/oa-1/messages").json()["messages"]
    assert [m["content"] for m in stored if m["role"] == "user"] == ["What is 2 + 2?", "hello"]


def test_a_call_that_needs_approval_pauses_with_the_session_and_resumes_from_the_web_api(client, url):
    import httpx

    reply = client.chat.completions.create(model="assistant", messages=[{"role": "user", "content": "delete a.txt"}],
                                           extra_headers={SESSION: "oa-approve"})
    waiting = reply.model_extra["agentsilex"]["pending_approvals"]
    assert [p["tool_name"] for p in waiting] == ["delete_file"] and "Waiting for approval" in \
        reply.choices[0].message.content
    resumed = httpx.post(f"{url}/api/sessions/oa-approve/approvals",
                         json={"decisions": {waiting[0]["call_id"]: {"approved": True}}}).text
    assert "deleted a.txt" in resumed


def test_an_unknown_model_is_a_404_in_openais_shape(client):
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.code == "model_not_found" and "assistant" in caught.value.message
    assert caught.value.body["type"] == "invalid_request_error" and caught.value.body["param"] == "model"


@pytest.mark.parametrize("body,status,code", [
    ({"model": "assistant", "messages": []}, 422, "bad_request"),
    ({"model": "assistant", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "x"}]},
     400, "bad_request"),
    ({"model": "assistant", "messages": [{"role": "robot", "content": "hi"}]}, 422, "bad_request"),
    ({"model": "assistant", "messages": [{"role": "user", "content": "hi"}],
      "tools": [{"type": "function", "function": {"name": "f"}}]}, 400, "unsupported_tools"),
    ({"model": "assistant", "messages": [{"role": "user", "content": "x" * 100_001}]}, 413, "too_large"),
    ({"model": "assistant", "messages": [{"role": "tool", "content": "x"}, {"role": "user", "content": "hi"}]},
     400, "bad_request"),
])
def test_bad_input_is_a_4xx_in_openais_shape(tmp_path, body, status, code):
    app = create_app(demo_agent.clone(model=DemoModel(delay=0)), store=Store(f"sqlite:///{tmp_path / 'x.db'}"))
    response = TestClient(app).post("/v1/chat/completions", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"] and error["type"] == "invalid_request_error"


def test_a_bad_session_id_and_a_busy_session_are_4xx(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    client = TestClient(create_app(demo_agent.clone(model=DemoModel(delay=0)), store=store))
    body = {"model": "assistant", "messages": [{"role": "user", "content": "hi"}]}
    assert client.post("/v1/chat/completions", json=body, headers={SESSION: "../x"}).json()["error"]["code"] \
        == "bad_session_id"
    release = store.create("busy").acquire_writer(0)
    try:
        busy = client.post("/v1/chat/completions", json=body, headers={SESSION: "busy"})
    finally:
        release()
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "session_busy"


def test_the_token_is_the_api_key(tmp_path):
    app = create_app(demo_agent.clone(model=DemoModel(delay=0)), store=Store(f"sqlite:///{tmp_path / 'x.db'}"),
                     token="s3cret-token")
    client = TestClient(app)
    refused = client.get("/v1/models")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"
    assert client.get("/v1/models", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200


def test_a_model_failure_is_a_502_or_an_error_frame_never_a_traceback(tmp_path):
    from agentsilex import tool
    from agentsilex.testing import Fail, call

    @tool
    def ping() -> str:
        """Ping."""
        return "pong"

    script = [Fail(401, "invalid key"), call("ping"), Fail(401, "invalid key")]
    agent = Agent(name="a", model=ScriptedModel(script), tools=[ping])
    client = TestClient(create_app(agent, store=Store(f"sqlite:///{tmp_path / 'x.db'}")), raise_server_exceptions=False)
    body = {"model": "a", "messages": [{"role": "user", "content": "hi"}]}
    whole = client.post("/v1/chat/completions", json=body)  # fails before the answer starts: a status
    assert whole.status_code == 502 and "invalid key" in whole.json()["error"]["message"]
    streamed = client.post("/v1/chat/completions", json={**body, "stream": True})  # fails after: an error frame
    frames = [json.loads(f[6:]) for f in streamed.text.split("\n\n") if f.startswith("data: {")]
    assert streamed.status_code == 200 and "invalid key" in frames[-1]["error"]["message"]
    assert "Traceback" not in streamed.text
    with pytest.raises(openai.APIError, match="invalid key"):  # what the official client makes of that frame
        for _ in openai.Stream(cast_to=object, response=_as_httpx(streamed), client=openai.OpenAI(api_key="x")):
            pass


def _as_httpx(response):
    import httpx

    return httpx.Response(200, content=response.content, headers=response.headers,
                          request=httpx.Request("POST", "http://testserver/v1/chat/completions"))


def test_reasoning_streams_as_reasoning_content(tmp_path):
    model = ScriptedModel([{"reasoning_content": "Two and two.", "content": "4"}])
    client = TestClient(create_app(Agent(name="thinker", model=model), store=Store(f"sqlite:///{tmp_path / 'x.db'}")))
    body = {"model": "thinker", "stream": True, "messages": [{"role": "user", "content": "2+2?"}]}
    frames = [json.loads(f[6:]) for f in client.post("/v1/chat/completions", json=body).text.split("\n\n")
              if f.startswith("data: {")]
    deltas = [f["choices"][0]["delta"] for f in frames if f["choices"]]
    assert "".join(d.get("reasoning_content", "") for d in deltas) == "Two and two."
    assert "".join(d.get("content") or "" for d in deltas) == "4"
