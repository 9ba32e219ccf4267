"""One agent, five doors: `agentsilex serve` speaks the web chat's JSON API and the ecosystem's protocols.

This program starts `agentsilex serve` on the bundled demo agent (a scripted model: offline, no API key),
then talks to it as four kinds of client would: the official `openai` client (the agent is a model), an AG-UI
front end (CopilotKit and friends), a Vercel AI SDK `useChat` front end, and another agent over A2A (the
official `a2a-sdk` client). Needs the web and a2a extras (`pip install -e '.[web,a2a]' openai`).
See docs/protocols.md for each protocol's details and a copy-paste client.
"""

import asyncio
import json
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import httpx


def start_server() -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = f"sqlite:///{tempfile.mkdtemp()}/sessions.db"  # the conversations every door shares
    server = subprocess.Popen([sys.executable, "-m", "agentsilex.app.cli", "serve", "agentsilex.testing.demo:agent",
                               "--port", str(port), "--store", store], stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(url + "/api/info", timeout=1).raise_for_status()
            return server, url
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("agentsilex serve did not start")


def openai_client(url: str) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=url + "/v1", api_key="not-needed")
    print("models:", [m.id for m in client.models.list()])
    reply = client.chat.completions.create(model="assistant", messages=[{"role": "user", "content": "What is 5 + 3?"}])
    print("openai:", reply.choices[0].message.content, "| tools run on the server:",
          [c["name"] for c in reply.model_extra["agentsilex"]["tool_calls"]])
    stream = client.chat.completions.create(model="assistant", stream=True,
                                            messages=[{"role": "user", "content": "weather in Oslo"}])
    print("openai stream:", "".join(c.choices[0].delta.content or "" for c in stream if c.choices))


def sse(response: httpx.Response) -> list[dict]:
    return [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: {")]


def agui_client(url: str) -> None:
    run = {"threadId": "thread-1", "runId": "run-1",
           "messages": [{"id": "m1", "role": "user", "content": "12 times 7"}]}
    events = sse(httpx.post(url + "/ag-ui", json=run, timeout=30))
    print("ag-ui:", " ".join(e["type"] for e in events if not e["type"].endswith("CONTENT")))


def vercel_client(url: str) -> None:
    chat = {"id": "chat-1", "trigger": "submit-message",
            "messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": "What is 2 + 2?"}]}]}
    chunks = sse(httpx.post(url + "/api/vercel/chat", json=chat, timeout=30))
    print("vercel:", "".join(c["delta"] for c in chunks if c["type"] == "text-delta"),
          "| tool:", next(c["toolName"] for c in chunks if c["type"] == "tool-input-available"))


async def a2a_client(url: str) -> None:
    from a2a.client import create_client
    from a2a.helpers import get_artifact_text
    from a2a.types.a2a_pb2 import Message, Part, Role, SendMessageRequest

    client = await create_client(url)  # reads /.well-known/agent-card.json, then speaks JSON-RPC at /a2a
    message = Message(message_id=uuid.uuid4().hex, role=Role.ROLE_USER, parts=[Part(text="weather in Paris")])
    async for response in client.send_message(SendMessageRequest(message=message)):
        if response.HasField("artifact_update") and response.artifact_update.last_chunk:
            print("a2a:", get_artifact_text(response.artifact_update.artifact))
    await client.close()


if __name__ == "__main__":
    server, url = start_server()
    try:
        openai_client(url)
        agui_client(url)
        vercel_client(url)
        asyncio.run(a2a_client(url))
    finally:
        server.terminate()
        server.wait()
