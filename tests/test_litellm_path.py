"""The seed's examples, unchanged, through the real LiteLLM -> HTTP path against the loopback server."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_in_mode
from history import assert_valid_history

from agentsilex import Agent, Runner, Session, tool
from agentsilex.errors import ModelError
from agentsilex.models.litellm import LiteLLMModel
from agentsilex.testing import Fail, LoopbackServer, call

EXAMPLES = Path(__file__).parent.parent / "examples"


def test_seed_calculator_example_runs_unchanged(openai_env, capsys):
    openai_env.add_replies([call("add_numbers", a=5, b=3), call("multiply_numbers", a=8, b=2, call_id="call_2"), "The result is 16"])
    runpy.run_path(str(EXAMPLES / "seed_calculator.py"), run_name="__main__")
    assert capsys.readouterr().out.strip().endswith("The result is 16")
    first, second, third = openai_env.requests
    assert first["model"] == "gpt-4o"
    assert first["messages"] == [{"role": "system", "content": "You are a calculator. Use tools for math."},
                                 {"role": "user", "content": "What is (5 + 3) * 2?"}]
    assert [t["function"]["name"] for t in first["tools"]] == ["add_numbers", "multiply_numbers"]
    assert third["messages"][-1] == {"role": "tool", "tool_call_id": "call_2", "content": "16"}


def test_seed_memory_example_runs_unchanged(openai_env, capsys):
    openai_env.add_replies([call("remember", key="favorite color", value="blue"), "Noted!",
                            "Your favorite color is blue!"])
    runpy.run_path(str(EXAMPLES / "seed_memory.py"), run_name="__main__")
    assert capsys.readouterr().out.split() == ["6"]  # user, call, result, answer, user, answer
    last_request = openai_env.requests[-1]["messages"]
    assert last_request[1]["content"] == "My favorite color is blue"
    assert "I'll remember that favorite color is blue" in json.dumps(last_request)


def test_all_four_modes_through_litellm(loopback_server, mode):
    loopback_server.add_replies([[call("add", a=1, b=2), call("add", a=3, b=4)], "3 and 7"])

    @tool
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    session = Session()
    agent = Agent(name="calc", model=loopback_server.litellm_model(), tools=[add])
    result, events = run_in_mode(Runner(session), agent, "go", mode)
    assert result.final_output == "3 and 7"
    assert [m["content"] for m in session.dialogs if m["role"] == "tool"] == ["3", "7"]
    assert result.usage.requests == 2 and result.usage.input_tokens > 0
    assert_valid_history(session.dialogs)
    json.dumps(result.new_messages)  # plain data, no provider objects
    if mode.endswith("stream"):
        kinds = [e.type for e in events]
        assert kinds.count("final_result") == 1 and kinds[-1] == "final_result"
        assert kinds.count("tool_call") == 2 and kinds.count("tool_response") == 2
        assert "".join(e.content for e in events if e.type == "partial_output") == "3 and 7"


def test_provider_error_becomes_model_error_without_the_key(loopback_server):
    loopback_server.add_replies([Fail(401, "invalid api key sk-secret-123456789")])
    model = LiteLLMModel("openai/gpt-4o", base_url=loopback_server.url, api_key="sk-secret-123456789")
    session = Session()
    with pytest.raises(ModelError) as info:
        Runner(session).run(Agent(name="a", model=model), "hi")
    assert info.value.status_code == 401 and not info.value.retryable
    assert "sk-secret-123456789" not in str(info.value) and "API key" in str(info.value)
    assert info.value.__cause__ is None and info.value.__context__ is None  # the provider's text may echo the key
    assert session.dialogs == [{"role": "user", "content": "hi"}]


def test_model_settings_reach_the_provider(loopback_server):
    from agentsilex import ModelSettings

    loopback_server.add_replies(["ok"])
    settings = ModelSettings(temperature=0.2, max_tokens=50, extra={"seed": 7})
    agent = Agent(name="a", model=loopback_server.litellm_model(), model_settings=settings)
    Runner().run(agent, "hi")
    body = loopback_server.requests[0]
    assert (body["temperature"], body["max_tokens"], body["seed"]) == (0.2, 50, 7)


def test_server_command_line_serves_a_script(tmp_path):
    import socket
    import time
    import urllib.request

    script = tmp_path / "script.json"
    script.write_text(json.dumps(["hello from the script"]))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "agentsilex.testing.server", "--port", str(port),
                             "--script", str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert "loopback" in proc.stdout.readline()
        body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
        for _ in range(50):
            try:
                request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions", body,
                                                 {"Content-Type": "application/json"})
                reply = json.load(urllib.request.urlopen(request, timeout=5))
                break
            except OSError:
                time.sleep(0.05)
        assert reply["choices"][0]["message"]["content"] == "hello from the script"
    finally:
        proc.terminate()
        proc.wait(5)


def test_loopback_server_echoes_with_a_function():
    from agentsilex.testing import echo

    with LoopbackServer(function=echo) as server:
        agent = Agent(name="a", model=server.litellm_model())
        assert Runner().run(agent, "ping").final_output == "You said: ping"


def test_a_missing_api_key_is_an_auth_error_and_not_retried(monkeypatch):
    from agentsilex.errors import ModelAuthError

    class Counted(LiteLLMModel):
        """The real LiteLLM model, counting the calls the driver makes (a retry would be a second one)."""

        calls = 0

        def complete(self, request):
            self.calls += 1
            return super().complete(request)

    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    model = Counted("openai/gpt-4o", base_url="http://127.0.0.1:9/v1")
    with pytest.raises(ModelAuthError, match="API key") as info:
        Runner().run(Agent(name="a", model=model), "hi")
    assert not info.value.retryable and info.value.status_code == 401
    assert model.calls == 1  # not retried (the default RetryPolicy would have tried 3 more times)
