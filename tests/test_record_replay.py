"""record()/ReplayModel: a run recorded through the loopback server replays offline with the same outcome."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from conftest import run_in_mode

from agentsilex import Agent, ModelSettings, RetryPolicy, Runner, Session, tool
from agentsilex.errors import ModelBadRequestError, ReplayMismatchError, UserError
from agentsilex.testing import Fail, LoopbackServer, ReplayModel, ScriptedModel, call, record, replay


@tool
def get_weather(city: str) -> str:
    """Get the weather for a city."""
    return "SUNNY"


SCRIPT = [call("get_weather", city="Oslo"), "The weather in Oslo is SUNNY.", "You asked about Oslo."]


def _agent(model, instructions="Answer briefly."):
    return Agent(name="weather", model=model, instructions=instructions, tools=[get_weather])


def _two_turns(model, mode, instructions="Answer briefly."):
    session, runner = Session(), None
    runner = Runner(session)
    first = run_in_mode(runner, _agent(model, instructions), "Weather in Oslo?", mode)
    second = run_in_mode(runner, _agent(model, instructions), "Which city did I ask about?", mode)
    return [first, second], session


def _outcome(runs, session):
    return {"outputs": [r.final_output for r, _ in runs], "messages": [r.new_messages for r, _ in runs],
            "calls": [[tuple(c) for c in r.function_calls] for r, _ in runs],
            "usage": [(r.usage.requests, r.usage.input_tokens, r.usage.output_tokens) for r, _ in runs],
            "events": [[repr(e) for e in events] for _, events in runs], "session": session.dialogs}


@pytest.mark.parametrize("path", ["litellm", "native"])
def test_recorded_run_replays_offline_with_same_result_events_and_session(path, mode, tmp_path):
    cassette = tmp_path / "run.json"
    with LoopbackServer(list(SCRIPT)) as server:
        model = server.litellm_model() if path == "litellm" else server.openai_model()
        with record(cassette):
            live = _outcome(*_two_turns(model, mode))
    # The server is gone: only the cassette can answer now.
    replayed = _outcome(*_two_turns(ReplayModel(cassette), mode))
    assert replayed == live
    assert live["outputs"] == ["The weather in Oslo is SUNNY.", "You asked about Oslo."]
    exchanges = json.loads(cassette.read_text())["exchanges"]
    assert len(exchanges) == 3 and {e["model"] for e in exchanges} == {"openai/gpt-4o"}
    assert {e["mode"] for e in exchanges} == {"stream" if "stream" in mode else "complete"}
    if "stream" in mode:
        assert all(len(e["response"]["chunks"]) > 1 for e in exchanges)  # the chunks as received
    assert "sk-loopback-test" not in cassette.read_text()


def test_a_changed_agent_fails_the_replay_with_a_readable_diff(tmp_path):
    cassette = tmp_path / "run.json"
    with LoopbackServer(list(SCRIPT)) as server, record(cassette):
        _two_turns(server.litellm_model(), "sync")
    with pytest.raises(ReplayMismatchError) as caught:
        _two_turns(ReplayModel(cassette), "sync", instructions="Answer in French.")
    message = str(caught.value)
    assert "Request #1 does not match" in message and "record the cassette again" in message
    assert '-      "content": "Answer briefly.",' in caught.value.diff
    assert '+      "content": "Answer in French.",' in caught.value.diff


def test_a_replay_that_asks_for_more_than_was_recorded_fails(tmp_path):
    cassette = tmp_path / "run.json"
    with record(cassette):
        Runner(Session()).run(_agent(ScriptedModel(["hello"])), "hi")
    model = ReplayModel(cassette)
    Runner(Session()).run(_agent(model), "hi")
    with pytest.raises(ReplayMismatchError, match="no exchange left for request #2"):
        Runner(Session()).run(_agent(model), "hi")


def test_loose_matching_by_order_or_by_a_function(tmp_path):
    cassette = tmp_path / "run.json"
    with record(cassette):
        Runner(Session()).run(_agent(ScriptedModel(["first", "second"])), "one")
        Runner(Session()).run(_agent(ScriptedModel(["second"])), "two")
    loose = ReplayModel(cassette, strict=False)
    assert Runner(Session()).run(_agent(loose, "changed"), "anything").final_output == "first"

    def same_question(recorded: dict, actual: dict) -> bool:
        return recorded["messages"][-1] == actual["messages"][-1]

    by_question = ReplayModel(cassette, match=same_question)
    assert Runner(Session()).run(_agent(by_question, "changed"), "two").final_output == "second"
    assert Runner(Session()).run(_agent(by_question, "changed"), "one").final_output == "first"


def test_streamed_recording_replays_as_one_reply_and_the_other_way(tmp_path):
    streamed, plain = tmp_path / "streamed.json", tmp_path / "plain.json"
    for path, mode in ((streamed, "stream"), (plain, "sync")):
        with LoopbackServer(list(SCRIPT)) as server, record(path):
            _two_turns(server.litellm_model(), mode)
    assert _outcome(*_two_turns(ReplayModel(streamed), "sync"))["outputs"] == \
        _outcome(*_two_turns(ReplayModel(plain), "async_stream"))["outputs"]


def test_secrets_are_stripped(tmp_path, monkeypatch):
    monkeypatch.setenv("ACME_API_KEY", "acme-secret-value-123")
    cassette = tmp_path / "run.json"
    settings = ModelSettings(extra={"api_key": "sk-abcdefghijklmnopqrstuvwx", "metadata": {"authorization": "x"}})
    agent = Agent(name="a", model=ScriptedModel(["ok, acme-secret-value-123"]), model_settings=settings,
                  instructions="key sk-proj-abcdefghijklmnopqrstuvwx and acme-secret-value-123")
    with record(cassette):
        Runner(Session()).run(agent, "hi")
    text = cassette.read_text()
    assert "abcdefghijklmnop" not in text and "acme-secret-value" not in text and '"x"' not in text
    assert text.count("[redacted]") >= 4
    assert Runner(Session()).run(agent.clone(model=ReplayModel(cassette)), "hi").final_output == "ok, [redacted]"


def test_a_failed_call_is_recorded_and_fails_the_same_way_on_replay(tmp_path):
    cassette = tmp_path / "run.json"
    with record(cassette), pytest.raises(ModelBadRequestError):
        Runner(Session()).run(_agent(ScriptedModel([Fail(400, "bad tool schema")])), "hi")
    with pytest.raises(ModelBadRequestError, match="bad tool schema") as replayed:
        Runner(Session()).run(_agent(ReplayModel(cassette)), "hi")
    assert replayed.value.status_code == 400 and not replayed.value.retryable


def test_replay_block_keeps_the_agents_model_strings(tmp_path, monkeypatch):
    cassette = tmp_path / "run.json"
    with LoopbackServer(list(SCRIPT)) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("OPENAI_API_BASE", server.url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback-test")
        with record(cassette):
            live = _outcome(*_two_turns("gpt-4o", "stream"))
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens there
    monkeypatch.setenv("OPENAI_API_BASE", "http://127.0.0.1:9/v1")
    with replay(cassette) as source:
        assert _outcome(*_two_turns("gpt-4o", "stream")) == live
    assert source.remaining == 0


def test_agentsilex_record_environment_variable(tmp_path, monkeypatch):
    cassette = tmp_path / "env.json"
    monkeypatch.setenv("AGENTSILEX_RECORD", str(cassette))
    Runner(Session()).run(_agent(ScriptedModel(["hello"])), "hi")
    monkeypatch.delenv("AGENTSILEX_RECORD")
    assert Runner(Session()).run(_agent(ReplayModel(cassette)), "hi").final_output == "hello"


def test_bad_cassettes_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="No cassette at"):
        ReplayModel(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text('{"cases": []}')
    with pytest.raises(UserError, match="not an agentsilex cassette"):
        ReplayModel(tmp_path / "bad.json")


FIXTURE_TEST = textwrap.dedent('''
    import os
    from agentsilex import Agent, Runner, Session
    from agentsilex.models.openai_http import OpenAIHTTPModel

    def test_weather(cassette):
        model = OpenAIHTTPModel("openai/gpt-4o", base_url=os.environ["LOOPBACK_URL"])
        result = Runner(Session()).run(Agent(name="a", model=model), "hi")
        print("MODE", cassette.mode)
        assert result.final_output == "recorded answer"
''')


def test_cassette_fixture_records_when_missing_and_replays_otherwise(tmp_path):
    (tmp_path / "test_uses_cassette.py").write_text(FIXTURE_TEST)
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "CI"}

    def pytest_run(**extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                               "test_uses_cassette.py"], cwd=tmp_path, capture_output=True, text=True,
                              env={**env, **extra}, timeout=120)

    with LoopbackServer(["recorded answer"]) as server:
        first = pytest_run(LOOPBACK_URL=server.url, OPENAI_API_KEY="sk-loopback-test")
    assert "MODE record" in first.stdout and "1 passed" in first.stdout, first.stdout + first.stderr
    assert (tmp_path / "cassettes" / "test_uses_cassette" / "test_weather.json").exists()
    second = pytest_run(LOOPBACK_URL="http://127.0.0.1:9/v1")  # no server, no key: replayed
    assert "MODE replay" in second.stdout and "1 passed" in second.stdout, second.stdout + second.stderr
    (tmp_path / "cassettes" / "test_uses_cassette" / "test_weather.json").unlink()
    third = pytest_run(LOOPBACK_URL="http://127.0.0.1:9/v1")
    assert "1 skipped" in third.stdout, third.stdout
    in_ci = pytest_run(LOOPBACK_URL="http://127.0.0.1:9/v1", CI="true")
    assert in_ci.returncode == 1 and "no cassette at" in in_ci.stdout, in_ci.stdout


def test_a_stream_cut_mid_tool_call_replays_the_same_failure(tmp_path):
    from agentsilex.errors import ModelError
    from agentsilex.testing import Cut

    cassette = tmp_path / "cut.json"
    with LoopbackServer([Cut(call("get_weather", city="Oslo"))]) as server, record(cassette):
        with pytest.raises(ModelError) as live:
            list(Runner(Session(), retry=RetryPolicy(max_retries=0)).run_stream(_agent(server.openai_model()), "Weather?"))
    with pytest.raises(ModelError) as replayed:
        list(Runner(Session(), retry=RetryPolicy(max_retries=0)).run_stream(_agent(ReplayModel(cassette)), "Weather?"))
    assert type(replayed.value) is type(live.value) and replayed.value.retryable == live.value.retryable
    assert str(replayed.value) == f"(replayed) {live.value}"
    assert json.loads(cassette.read_text())["exchanges"][0]["response"]["chunks"]  # what came before the cut


def test_importing_the_kits_stays_light():
    code = ("import sys, agentsilex, agentsilex.testing, agentsilex.evaluation; "
            "print(sorted(m for m in ('litellm', 'rouge_score', 'typer', 'rich') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr


def test_a_retried_failure_replays_as_a_retry(tmp_path):
    cassette = tmp_path / "retry.json"
    quick = RetryPolicy(max_retries=2, initial_delay=0.01, jitter=0)
    with LoopbackServer([Fail(503, "overloaded"), "fine"]) as server, record(cassette):
        live = Runner(Session(), retry=quick).run(_agent(server.litellm_model()), "hi")
    exchanges = json.loads(cassette.read_text())["exchanges"]
    assert [bool(e.get("error")) for e in exchanges] == [True, False]
    replay_model = ReplayModel(cassette)
    replayed = Runner(Session(), retry=quick).run(_agent(replay_model), "hi")
    assert replayed.final_output == live.final_output == "fine" and replay_model.remaining == 0
