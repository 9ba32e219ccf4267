"""What running against a server nobody here wrote (llama-cpp-python's, issue 16) taught us, each finding
replayed on the loopback server playing that server's quirks (`LoopbackServer(like="llama.cpp")`), on both
model paths (LiteLLM and the native OpenAI transport) and in the four run modes."""

from __future__ import annotations

import json
import socket

import pytest
from conftest import run_in_mode
from pydantic import BaseModel
from history import assert_valid_history as assert_valid

from agentsilex import (Agent, FinalResultEvent, ModelBadRequestError, ModelConnectionError, ModelResponse,
                        OutputSpec, ResponseFormatNotSupportedError, RunLimits, Runner, Session, Usage,
                        UsageLimitExceeded, UserError, tool)
from agentsilex.messages import assistant
from agentsilex.models.openai_http import OpenAIHTTPModel
from agentsilex.models.retry import RetryPolicy
from agentsilex.testing import Cut, LoopbackServer, ScriptedModel, call

NO_RETRY = RetryPolicy(max_retries=0)


class Weather(BaseModel):
    city: str
    celsius: float


@tool
def echo(text: str) -> str:
    """Repeat a text."""
    return f"echo: {text}"


@pytest.fixture(params=["litellm", "native"])
def transport(request):
    return request.param


@pytest.fixture
def llama(monkeypatch):
    """A loopback server that behaves like llama-cpp-python's (and no provider variables in the way)."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    with LoopbackServer(like="llama.cpp") as server:
        yield server


def model_of(server: LoopbackServer, transport: str, name: str = "smollm2"):
    return server.litellm_model(name) if transport == "litellm" else server.openai_model(name)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the block ends: connecting is refused


# -- 1. A stream without usage: estimated, marked, and budgets still count it -----------------------------

def test_a_stream_without_usage_is_estimated_and_marked(llama, transport, mode):
    llama.add_replies([call("echo", text="hi"), "a short answer"])
    agent = Agent(name="a", model=model_of(llama, transport), tools=[echo])
    result, _ = run_in_mode(Runner(), agent, "say hi", mode)
    usage = result.usage
    assert usage.requests == 2 and usage.input_tokens > 0 and usage.output_tokens > 0
    # The native path guesses and says so; LiteLLM estimates on its own (and does not say); JSON replies carry
    # the server's own counts.
    assert usage.estimated == (transport == "native" and mode.endswith("stream"))
    assert all(r.estimated == usage.estimated for r in usage.per_request)


def test_a_token_limit_trips_on_a_server_that_reports_no_usage(llama, transport, mode):
    llama.add_replies([call("echo", text="x" * 400), call("echo", text="y" * 400), "never reached"])
    agent = Agent(name="a", model=model_of(llama, transport), tools=[echo])
    session = Session()
    with pytest.raises(UsageLimitExceeded, match="max_total_tokens"):
        run_in_mode(Runner(session, limits=RunLimits(max_total_tokens=250)), agent, "go", mode)
    assert_valid(session.dialogs)


def test_a_json_reply_without_usage_is_estimated_too():
    from agentsilex.models import ModelRequest
    from agentsilex.models.openai_http import OpenAIHTTPModel, _to_response

    request = ModelRequest([{"role": "user", "content": "How many tokens is this?"}])
    model = OpenAIHTTPModel("my-model", base_url="http://127.0.0.1:9/v1")
    reply = _to_response({"choices": [{"message": {"content": "About eight."}, "finish_reason": "stop"}]}, model,
                         request)
    assert reply.usage.estimated and reply.usage.input_tokens > 5 and reply.usage.output_tokens == 3


def test_estimated_usage_survives_a_saved_run_state():
    from agentsilex import RunUsage

    usage = RunUsage()
    usage.add_request(Usage(1, 10, 2, estimated=True), agent="a", model="m")
    again = RunUsage.from_dict(json.loads(json.dumps(usage.to_dict())))
    assert again.estimated and again.per_request[0].estimated and again.total_tokens == 12
    assert not RunUsage.from_dict({"requests": 1, "input_tokens": 1, "output_tokens": 1}).estimated  # older states


# -- 2. output_type: one decision for both paths, and a fallback when response_format is rejected ----------

@pytest.mark.parametrize("name, with_format", [("smollm2", False), ("gpt-4o", True)])
def test_output_mode_is_decided_the_same_way_on_both_paths(name, with_format):
    sent = []
    for transport in ("litellm", "native"):
        with LoopbackServer(['{"city": "Oslo", "celsius": 4}']) as server:
            agent = Agent(name="w", model=model_of(server, transport, name), output_type=Weather)
            assert Runner().run(agent, "weather?").final_output == Weather(city="Oslo", celsius=4)
            sent.append(server.requests[0])
    litellm_body, native_body = sent
    assert ("response_format" in litellm_body) == ("response_format" in native_body) == with_format
    assert litellm_body["messages"] == native_body["messages"]  # prompted mode: the same system note


def test_a_rejected_response_format_falls_back_to_the_prompted_mode(llama, transport, mode):
    # "gpt-4o" is in the model table as supporting response_format; the server refuses it all the same.
    llama.add_replies(['{"city": "Oslo", "celsius": 4}', '{"city": "Bergen", "celsius": 7}'])
    model = model_of(llama, transport, "gpt-4o")
    session = Session()
    result, _ = run_in_mode(Runner(session), Agent(name="w", model=model, output_type=Weather), "weather?", mode)
    assert result.final_output == Weather(city="Oslo", celsius=4)
    first, second = llama.requests  # rejected once, not retried four times, then asked in words
    assert first["response_format"]["type"] == "json_schema"
    assert "response_format" not in second and "JSON schema" in second["messages"][0]["content"]
    assert model.supports_response_format is False  # remembered: the next run asks in words at once
    result, _ = run_in_mode(Runner(session), Agent(name="w", model=model, output_type=Weather), "again", mode)
    assert result.final_output == Weather(city="Bergen", celsius=7) and len(llama.requests) == 3
    assert_valid(session.dialogs)


def test_a_forced_native_mode_is_kept_and_the_rejection_says_what_to_do(llama, transport):
    agent = Agent(name="w", model=model_of(llama, transport, "gpt-4o"), output_type=OutputSpec(Weather, mode="native"))
    with pytest.raises(ResponseFormatNotSupportedError) as caught:
        Runner().run(agent, "weather?")
    assert not caught.value.retryable and len(llama.requests) == 1
    assert "mode='prompted'" in "\n".join(getattr(caught.value, "__notes__", []))


# -- 3. No key, no Authorization header -----------------------------------------------------------------

def test_no_api_key_sends_no_authorization_header(llama, mode):
    llama.add_replies(["hello"])
    model = OpenAIHTTPModel("openai/smollm2", base_url=llama.url)  # no key anywhere
    result, _ = run_in_mode(Runner(retry=NO_RETRY), Agent(name="a", model=model), "hi", mode)
    assert result.final_output == "hello"
    assert "authorization" not in llama.request_headers[0]
    with_key = OpenAIHTTPModel("openai/smollm2", base_url=llama.url, api_key="sk-local")
    llama.add_replies(["again"])
    run_in_mode(Runner(), Agent(name="a", model=with_key), "hi", mode)
    assert llama.request_headers[1]["authorization"] == "Bearer sk-local"


# -- 4. Error messages: FastAPI bodies, a base URL without /v1, connection errors -------------------------

def test_a_base_url_without_v1_says_so(llama, mode):
    model = OpenAIHTTPModel("openai/smollm2", base_url=llama.url.removesuffix("/v1"))
    with pytest.raises(ModelBadRequestError) as caught:
        run_in_mode(Runner(retry=NO_RETRY), Agent(name="a", model=model), "hi", mode)
    error = caught.value
    assert error.status_code == 404 and not error.retryable
    assert "Not Found" in str(error) and "None" not in str(error) and f"{llama.url}" in str(error)


def test_fastapi_validation_errors_are_readable():
    from agentsilex.models.http import error_text as _error_text

    body = {"detail": [{"loc": ["body", "messages", 0, "role"], "msg": "Input should be 'user'", "type": "x"}]}
    assert _error_text(json.dumps(body).encode()) == ("body.messages.0.role: Input should be 'user'", "")
    assert _error_text(b'{"detail": "Not Found"}') == ("Not Found", "")
    assert _error_text(b'{"error": "plain"}') == ("plain", "")
    assert _error_text(b"<html>bad gateway</html>")[0] == "<html>bad gateway</html>"


def test_a_refused_connection_is_a_connection_error_on_both_paths(transport, mode):
    url = f"http://127.0.0.1:{closed_port()}/v1"
    model = (OpenAIHTTPModel("openai/smollm2", base_url=url, api_key="sk-x") if transport == "native" else
             __import__("agentsilex.models.litellm", fromlist=["LiteLLMModel"]).LiteLLMModel(
                 "openai/smollm2", base_url=url, api_key="sk-x"))
    session = Session()
    with pytest.raises(ModelConnectionError) as caught:
        run_in_mode(Runner(session, retry=NO_RETRY), Agent(name="a", model=model), "hi", mode)
    error = caught.value
    assert error.status_code is None and error.retryable
    assert "HTTP 500" not in str(error) and "connection" in str(error).lower() and url in str(error)
    assert session.dialogs == [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("streaming", ["stream", "async_stream"])
def test_a_server_killed_mid_stream_is_a_connection_error(llama, transport, streaming):
    llama.add_replies([Cut("a long answer that the server never finishes", after=3)])
    session = Session()
    with pytest.raises(ModelConnectionError) as caught:
        run_in_mode(Runner(session, retry=NO_RETRY), Agent(name="a", model=model_of(llama, transport)), "hi",
                    streaming)
    assert "HTTP 500" not in str(caught.value) and caught.value.status_code is None
    assert session.dialogs == [{"role": "user", "content": "hi"}]


# -- 5. finish_reason on the result and the final event; a truncated JSON answer is retried ---------------

def cut_off(text: str) -> ModelResponse:
    return ModelResponse(assistant(text), Usage(1, 10, 5), "length")


def test_finish_reason_is_on_the_result_and_the_final_event(llama, transport, mode):
    llama.add_replies([cut_off("The answer is longer than max_tok")])
    result, events = run_in_mode(Runner(), Agent(name="a", model=model_of(llama, transport)), "hi", mode)
    assert result.finish_reason == "length" and result.final_output == "The answer is longer than max_tok"
    if mode.endswith("stream"):
        final = events[-1]
        assert isinstance(final, FinalResultEvent) and final.finish_reason == "length"
        assert final.data["finish_reason"] == "length"
    llama.add_replies(["complete"])
    result, _ = run_in_mode(Runner(), Agent(name="a", model=model_of(llama, transport)), "hi", mode)
    assert result.finish_reason == "stop"


def test_a_truncated_json_answer_is_retried_with_a_note(mode):
    model = ScriptedModel([cut_off('{"city": "Os'), '{"city": "Oslo", "celsius": 3}'])
    session = Session()
    result, _ = run_in_mode(Runner(session), Agent(name="w", model=model, output_type=Weather), "go", mode)
    assert result.final_output == Weather(city="Oslo", celsius=3) and result.finish_reason == "stop"
    note = model.requests[1].messages[-1]["content"]
    assert "cut off at the token limit" in note and "max_tokens" in note and "at at" not in note
    assert [m["role"] for m in session.dialogs] == ["user", "assistant"]


def test_a_truncated_final_answer_call_is_retried_too(mode):
    cut = ModelResponse(assistant(None, [{"id": "c1", "type": "function", "function": {
        "name": "final_answer", "arguments": '{"city": "Os'}}]), Usage(1, 1, 1), "length")
    model = ScriptedModel([cut, call("final_answer", city="Oslo", celsius=3)])
    agent = Agent(name="w", model=model, tools=[echo], output_type=OutputSpec(Weather, mode="tool"))
    result, _ = run_in_mode(Runner(), agent, "go", mode)
    assert result.final_output == Weather(city="Oslo", celsius=3)
    assert "cut off at the token limit" in model.requests[1].messages[-1]["content"]


# -- 6. Raw control characters inside JSON strings ------------------------------------------------------

def test_arguments_with_raw_control_characters_are_accepted(llama, transport, mode):
    raw = '{"text": "line one\nline two\tand a tab"}'  # a real newline and tab inside the JSON string
    llama.add_replies([call("echo", raw), "done"])
    session = Session()
    agent = Agent(name="a", model=model_of(llama, transport), tools=[echo])
    result, _ = run_in_mode(Runner(session, raise_tool_errors=True), agent, "go", mode)
    assert result.function_calls[0].content == "echo: line one\nline two\tand a tab"
    assert session.dialogs[1]["tool_calls"][0]["function"]["arguments"] == raw  # stored as received
    assert_valid(session.dialogs)


def test_invalid_json_arguments_are_described_without_at_at():
    from agentsilex.errors import ToolArgumentsError

    with pytest.raises(ToolArgumentsError) as caught:
        echo.parse_arguments('{"text": "never closed')
    assert "Unterminated string starting at position 9" in str(caught.value) and "at at" not in str(caught.value)


# -- 7. A cost limit on a model without a price is refused before any request -----------------------------

def test_a_cost_limit_without_a_price_is_refused_before_any_request(llama, transport, mode):
    llama.add_replies(["never sent"])
    agent = Agent(name="a", model=model_of(llama, transport, "smollm2"))
    with pytest.raises(UserError, match="no price for model .*nothing was sent"):
        run_in_mode(Runner(limits=RunLimits(max_cost_usd=0.01)), agent, "hi", mode)
    assert llama.requests == []


def test_an_unpriced_fallback_model_is_refused_before_any_request_too(llama):
    agent = Agent(name="a", model=ScriptedModel(["x"], name="gpt-4o"), fallback_models=[llama.openai_model("smollm2")])
    with pytest.raises(UserError, match="'openai/smollm2'"):
        Runner(limits=RunLimits(max_cost_usd=0.01)).run(agent, "hi")
    assert llama.requests == []


def test_a_priced_model_still_runs_under_a_cost_limit(mode):
    result, _ = run_in_mode(Runner(limits=RunLimits(max_cost_usd=1)),
                            Agent(name="a", model=ScriptedModel(["fine"], name="gpt-4o")), "hi", mode)
    assert result.final_output == "fine" and result.usage.cost_usd > 0


def test_the_loopback_server_knows_only_the_quirks_it_has_learnt():
    with pytest.raises(UserError, match="llama.cpp"):
        LoopbackServer(like="vllm")


def test_the_budgets_example_runs_with_a_model_without_a_price():
    import subprocess
    import sys
    from pathlib import Path

    example = Path(__file__).parent.parent / "examples" / "budgets_and_hooks.py"
    done = subprocess.run([sys.executable, str(example)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "cost: unknown (no price for this model)" in done.stdout
    assert "refused: A cost limit is set" in done.stdout and "nothing was sent" in done.stdout
