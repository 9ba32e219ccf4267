"""How a batch of tool calls executes: where async and sync tools run, in both drivers."""

from __future__ import annotations

import asyncio
import contextvars
import threading

from conftest import run_in_mode

from agentsilex import Agent, Runner, Session, tool
from agentsilex.testing import ScriptedModel, call

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="unset")


def test_async_tools_share_one_loop_and_sync_tools_use_worker_threads(mode):
    loops, threads = [], []

    @tool
    async def where_async(n: int) -> int:
        """Records its event loop."""
        loops.append(id(asyncio.get_running_loop()))
        await asyncio.sleep(0.01)
        return n

    @tool
    def where_sync(n: int) -> str:
        """Records its thread and sees the caller's context variables."""
        threads.append(threading.current_thread().name)
        return request_id.get()

    request_id.set("r-42")
    model = ScriptedModel([[call("where_async", n=1), call("where_async", n=2), call("where_sync", n=3),
                            call("where_sync", n=4)], "ok"])
    session = Session()
    run_in_mode(Runner(session), Agent(name="x", model=model, tools=[where_async, where_sync]), "go", mode)
    assert len(loops) == 2 and len(set(loops)) == 1
    assert all(name.startswith("agentsilex-tool") for name in threads)
    assert [m["content"] for m in session.dialogs[2:6]] == ["1", "2", "r-42", "r-42"]


def test_a_lone_sync_tool_runs_inline_in_the_sync_driver():
    seen = []

    @tool
    def where() -> str:
        """Records its thread."""
        seen.append(threading.current_thread() is threading.main_thread())
        return "here"

    Runner(Session()).run(Agent(name="x", model=ScriptedModel([call("where"), "ok"]), tools=[where]), "go")
    assert seen == [True]  # no thread hop for the common case


def test_openai_model_strings_take_the_native_path(monkeypatch, loopback_server):
    from agentsilex.models import resolve_model
    from agentsilex.models.litellm import LiteLLMModel
    from agentsilex.models.openai_http import OpenAIHTTPModel

    monkeypatch.setenv("OPENAI_BASE_URL", loopback_server.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    native = resolve_model("openai/gpt-4o-mini")
    assert isinstance(native, OpenAIHTTPModel) and native.base_url == loopback_server.url
    assert isinstance(resolve_model("anthropic/claude-x"), LiteLLMModel)  # everything else stays on LiteLLM
    loopback_server.add_replies(["native hello"])
    assert Runner(Session()).run(Agent(name="x", model="openai/gpt-4o-mini"), "hi").final_output == "native hello"
    assert loopback_server.requests[0]["model"] == "gpt-4o-mini"
