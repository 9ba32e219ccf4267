"""A remote agent as a tool, over A2A: `a2a_agent(url)` is to an agent in another process what
`agent.as_tool()` is to one in this process. Needs the web and a2a extras (pip install -e '.[web,a2a]').

This program serves `researcher` (below) with `agentsilex serve examples/a2a_agent.py:researcher`, which
publishes its A2A agent card and JSON-RPC endpoint; then a local `lead` agent gets it as a tool from its URL
and asks it a question. Offline: both models are deterministic functions.
"""

import socket
import subprocess
import sys
import tempfile
import time

import httpx

from agentsilex import Agent, Runner, tool
from agentsilex.testing import FunctionModel, call


@tool
def lookup(topic: str) -> str:
    """Look a topic up in the (tiny) encyclopedia."""
    return {"a2a": "A2A lets agents built on different frameworks talk to each other."}.get(topic.lower(), "unknown")


def research(messages: list[dict], tools: list[dict]):
    found = [m["content"] for m in messages if m["role"] == "tool"]
    return f"Summary: {found[-1]}" if found else call("lookup", topic=messages[-1]["content"].split()[-1])


researcher = Agent(name="researcher", model=FunctionModel(research), tools=[lookup])


def lead_model(messages: list[dict], tools: list[dict]):
    if messages[-1]["role"] == "tool":
        return f"The researcher says: {messages[-1]['content']}"
    return call("researcher", input="Tell me about A2A")


if __name__ == "__main__":
    from agentsilex.a2a import a2a_agent

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = f"sqlite:///{tempfile.mkdtemp()}/researcher.db"
    server = subprocess.Popen([sys.executable, "-m", "agentsilex.app.cli", "serve", f"{__file__}:researcher",
                               "--port", str(port), "--store", store], stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(url + "/.well-known/agent-card.json", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        remote = a2a_agent(url)  # name and description from the agent card
        print("tool:", remote.name, "|", remote.description)
        lead = Agent(name="lead", model=FunctionModel(lead_model), tools=[remote])
        print(Runner().run(lead, "What is A2A?").final_output)
    finally:
        server.terminate()
        server.wait()
