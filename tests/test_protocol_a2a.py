"""A2A both ways: the official `a2a-sdk` client against `agentsilex serve` (the card, a message, a streamed
message, tasks, an approval), and `a2a_agent(url)`: a remote A2A agent used as a tool by a local agent."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid

import httpx
import pytest

pytest.importorskip("a2a")
from a2a.client import ClientConfig, create_client  # noqa: E402
from a2a.helpers import get_artifact_text, get_data_parts, get_message_text  # noqa: E402
from a2a.types.a2a_pb2 import (GetTaskRequest, ListTasksRequest, Message, Part, Role,  # noqa: E402
                               SendMessageRequest, TaskState)

from agentsilex import Agent, Runner  # noqa: E402
from agentsilex.a2a import a2a_agent  # noqa: E402
from agentsilex.errors import UserError  # noqa: E402
from agentsilex.testing import FunctionModel, call  # noqa: E402
from served import free_port, serve  # noqa: E402


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    with serve(tmp_path_factory.mktemp("a2a")) as base:
        yield base


def ask(url: str, text: str, *, streaming: bool, task_id: str = "", context_id: str = "") -> list:
    async def send() -> list:
        client = await create_client(url, client_config=ClientConfig(streaming=streaming))
        message = Message(message_id=uuid.uuid4().hex, role=Role.ROLE_USER, parts=[Part(text=text)],
                          task_id=task_id, context_id=context_id)
        try:
            return [response async for response in client.send_message(SendMessageRequest(message=message))]
        finally:
            await client.close()

    return asyncio.run(send())


def test_the_agent_card_names_the_agent_its_skills_and_an_absolute_interface(url):
    card = httpx.get(url + "/.well-known/agent-card.json").json()
    assert card["name"] == "assistant" and card["description"]
    assert {"add_numbers", "get_weather", "delete_file"} <= {s["id"] for s in card["skills"]}
    interfaces = {i["protocolVersion"]: i for i in card["supportedInterfaces"]}
    assert interfaces["1.0"]["url"] == url + "/a2a" and interfaces["1.0"]["protocolBinding"] == "JSONRPC"
    assert card["capabilities"]["streaming"] is True


def test_a_message_gets_the_answer_as_a_completed_task(url):
    [response] = ask(url, "What is 5 + 3?", streaming=False)
    task = response.task
    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    assert [get_artifact_text(a) for a in task.artifacts] == ["5 + 3 = **8**"]
    tools = [d for m in task.history for d in get_data_parts(m.parts)]
    assert [next(iter(d)) for d in tools] == ["toolCall", "toolResult"]
    assert tools[0]["toolCall"]["name"] == "add_numbers" and tools[1]["toolResult"]["content"] == "8"


def test_a_streamed_message_streams_the_answer_and_tool_calls(url):
    responses = ask(url, "What is 5 + 3?", streaming=True)
    updates = [r.status_update for r in responses if r.HasField("status_update")]
    artifacts = [r.artifact_update for r in responses if r.HasField("artifact_update")]
    assert updates[-1].status.state == TaskState.TASK_STATE_COMPLETED
    calls = [d for u in updates for d in get_data_parts(u.status.message.parts)]
    assert calls[0]["toolCall"]["name"] == "add_numbers"
    chunks = [get_artifact_text(a.artifact) for a in artifacts if a.append or not a.last_chunk]
    assert len(chunks) > 1 and "".join(chunks) == "5 + 3 = **8**"
    assert artifacts[-1].last_chunk and get_artifact_text(artifacts[-1].artifact) == "5 + 3 = **8**"


def test_tasks_can_be_read_and_listed_and_the_context_is_a_stored_session(url):
    [first] = ask(url, "What is 2 + 2?", streaming=False)
    context = first.task.context_id
    [second] = ask(url, "hello", streaming=False, context_id=context)

    async def read() -> tuple:
        client = await create_client(url)
        try:
            return (await client.get_task(GetTaskRequest(id=second.task.id)),
                    await client.list_tasks(ListTasksRequest(context_id=context)))
        finally:
            await client.close()

    task, listed = asyncio.run(read())
    assert task.status.state == TaskState.TASK_STATE_COMPLETED and "hello" in get_artifact_text(task.artifacts[0])
    assert {t.id for t in listed.tasks} == {first.task.id, second.task.id}
    stored = httpx.get(f"{url}/api/sessions/{context}/messages").json()["messages"]
    assert [m["content"] for m in stored if m["role"] == "user"] == ["What is 2 + 2?", "hello"]


def test_an_approval_is_input_required_and_the_answer_resumes_the_task(url):
    [paused] = ask(url, "delete old.log", streaming=False)
    status = paused.task.status
    assert status.state == TaskState.TASK_STATE_INPUT_REQUIRED
    waiting = next(d for d in get_data_parts(status.message.parts) if "pendingApprovals" in d)["pendingApprovals"]
    assert [p["tool_name"] for p in waiting] == ["delete_file"] and "approve" in get_message_text(status.message)
    [done] = ask(url, "approve", streaming=False, task_id=paused.task.id, context_id=paused.task.context_id)
    assert done.task.status.state == TaskState.TASK_STATE_COMPLETED
    assert "deleted old.log" in get_artifact_text(done.task.artifacts[0])


def test_a_bad_request_is_a_json_rpc_error_not_a_500(url):
    answer = httpx.post(url + "/a2a", content=b"{not json", headers={"content-type": "application/json",
                                                                      "A2A-Version": "1.0"})
    assert answer.status_code < 500 and answer.json()["error"]["code"] == -32700
    unknown = httpx.post(url + "/a2a", json={"jsonrpc": "2.0", "id": 1, "method": "NoSuchMethod", "params": {}},
                         headers={"A2A-Version": "1.0"})
    assert unknown.status_code < 500 and unknown.json()["error"]["code"] == -32601


# -- a remote A2A agent as a tool ---------------------------------------------------------------------------
def lead_model(messages: list[dict], tools: list[dict]) -> object:
    """Asks the remote agent once, then answers with what it said."""
    if messages[-1]["role"] == "tool":
        return f"The remote agent says: {messages[-1]['content']}"
    return call(tools[0]["function"]["name"], input="What is 6 + 7?")


def test_a_remote_a2a_agent_is_a_tool(url, mode):
    from conftest import run_in_mode

    remote = a2a_agent(url)
    assert remote.name == "assistant" and "add_numbers" in remote.description
    assert remote.parameters["required"] == ["input"]
    lead = Agent(name="lead", model=FunctionModel(lead_model), tools=[remote])
    result, _ = run_in_mode(Runner(), lead, "ask the other agent", mode)
    assert result.final_output == "The remote agent says: 6 + 7 = **13**"
    assert json.loads(result.function_calls[0].arguments) == {"input": "What is 6 + 7?"}


def test_a_remote_agent_waiting_for_approval_is_an_error_result_and_a_dead_one_a_clear_error(url):
    def asks_to_delete(messages: list[dict], tools: list[dict]) -> object:
        if messages[-1]["role"] == "tool":
            return messages[-1]["content"]
        return call("remote", input="delete old.log")

    lead = Agent(name="lead", model=FunctionModel(asks_to_delete),
                 tools=[a2a_agent(url, name="remote", description="The remote agent.")])
    answer = Runner().run(lead, "go").final_output
    assert answer.startswith("Error:") and "waits for input" in answer and "delete_file" in answer
    with pytest.raises(UserError, match="agent card"):
        a2a_agent(f"http://127.0.0.1:{free_port()}")


def test_with_a_token_the_card_stays_public_and_names_the_scheme_and_a2a_agent_sends_it(tmp_path):
    with serve(tmp_path, "agentsilex.testing.demo:agent", "--token", "s3cret-token") as base:
        card = httpx.get(base + "/.well-known/agent-card.json").json()
        assert card["securitySchemes"]["bearer"]["httpAuthSecurityScheme"]["scheme"] == "bearer"
        refused = httpx.post(base + "/a2a", json={"jsonrpc": "2.0", "id": 1, "method": "ListTasks", "params": {}})
        assert refused.status_code == 401
        remote = a2a_agent(base, headers={"Authorization": "Bearer s3cret-token"})
        lead = Agent(name="lead", model=FunctionModel(lead_model), tools=[remote])
        assert Runner().run(lead, "go").final_output == "The remote agent says: 6 + 7 = **13**"


def test_without_the_a2a_extra_the_paths_say_how_to_get_it(tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from agentsilex.app.common import Store
    from agentsilex.testing.demo import agent as demo_agent
    from agentsilex.app.web import create_app

    monkeypatch.setitem(sys.modules, "a2a", None)  # as if a2a-sdk were not installed
    client = TestClient(create_app(demo_agent, store=Store(f"sqlite:///{tmp_path / 'x.db'}")))
    answer = client.get("/.well-known/agent-card.json")
    assert answer.status_code == 501 and "'.[a2a]'" in answer.json()["message"]
