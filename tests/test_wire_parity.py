"""Wire parity: the native path sends what LiteLLM sends and reads back what LiteLLM reads.

Each test drives both paths against the loopback server and compares what the server received (JSON bodies)
or what the model returned. The deliberate differences are listed in docs/engine.md ("Native path and LiteLLM:
what differs"); `normalise` below removes exactly those, nothing else.
"""

from __future__ import annotations

import asyncio
import copy

import pytest
from conftest import run_in_mode
from pydantic import BaseModel

from agentsilex import Agent, ModelSettings, Runner, Session, tool
from agentsilex.control.output import OutputSpec
from agentsilex.errors import ContextWindowExceededError, ModelAuthError, ModelBadRequestError, ModelError, \
    ModelTimeoutError
from agentsilex.models import ModelRequest
from agentsilex.models.retry import RetryPolicy
from agentsilex.models.stream import StreamAccumulator
from agentsilex.testing import Cut, Fail, LoopbackServer, Stall, call

PATHS = ("litellm", "native")
NO_RETRY = RetryPolicy(max_retries=0)


class Weather(BaseModel):
    city: str
    celsius: float


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


WEATHER = '{"city": "Oslo", "celsius": 1}'
CALL = call("add", a=1, b=2, call_id="c1")
CASES = {
    "text": (["hi there"], {}),
    "tools": ([CALL, "3"], {"tools": [add]}),
    "parallel tool calls": ([[call("add", a=1, b=2, call_id="x"), call("add", a=3, b=4, call_id="y")], "3, 7"],
                            {"tools": [add]}),
    "tool_choice auto": (["ok"], {"tools": [add], "model_settings": ModelSettings(tool_choice="auto")}),
    "tool_choice required": ([CALL, "3"], {"tools": [add], "model_settings": ModelSettings(tool_choice="required")}),
    "tool_choice none": (["ok"], {"tools": [add], "model_settings": ModelSettings(tool_choice="none")}),
    "tool_choice function": ([CALL, "3"], {"tools": [add], "model_settings": ModelSettings(
        tool_choice={"type": "function", "function": {"name": "add"}})}),
    "output native": ([WEATHER], {"output_type": OutputSpec(Weather, mode="native")}),
    "output tool": ([call("final_answer", city="Oslo", celsius=1, call_id="f")],
                    {"tools": [add], "output_type": OutputSpec(Weather, mode="tool")}),
    "output prompted": ([WEATHER], {"output_type": OutputSpec(Weather, mode="prompted")}),
    "settings and extra": (["ok"], {"tools": [add], "model_settings": ModelSettings(
        temperature=0.2, max_tokens=50, top_p=0.9, parallel_tool_calls=False,
        extra={"seed": 7, "user": "u-1", "stop": ["END"], "presence_penalty": 0.5, "frequency_penalty": 0.1,
               "logprobs": True, "top_logprobs": 2, "n": 1, "service_tier": "auto", "store": False,
               "metadata": {"team": "a"}})}),
    "o-series: max_completion_tokens, system as user": (["ok"], {"model": "o3-mini", "model_settings": ModelSettings(
        max_tokens=50, extra={"reasoning_effort": "low"})}),
    "gpt-5: max_completion_tokens": (["ok"], {"model": "gpt-5", "model_settings": ModelSettings(max_tokens=50)}),
}


def model_on(path: str, server: LoopbackServer, name: str = "gpt-4o"):
    return server.litellm_model(name) if path == "litellm" else server.openai_model(name)


def normalise(body: dict) -> dict:
    """Remove the documented differences (docs/engine.md) from a request body."""
    body = copy.deepcopy(body)
    for message in body.get("messages", []):
        if message.get("role") == "assistant" and message.get("tool_calls") and message.get("content") is None:
            message.pop("content", None)  # LiteLLM drops a null content; the native path sends what is stored
    body.pop("metadata", None)  # LiteLLM keeps `metadata` for its own logging; the native path sends it
    return body


def bodies(path: str, replies: list, options: dict, mode: str) -> list[dict]:
    options = copy.deepcopy(options)  # a fresh ModelSettings each time: nothing may leak from one path to the other
    name = options.pop("model", "gpt-4o")
    with LoopbackServer(list(replies)) as server:
        agent = Agent(name="a", model=model_on(path, server, name), instructions="Be brief.", **options)
        run_in_mode(Runner(Session()), agent, "go", mode)
        return [normalise(body) for body in server.requests]


@pytest.mark.parametrize("mode", ["sync", "stream", "async_stream"])
@pytest.mark.parametrize("case", list(CASES))
def test_both_paths_send_the_same_bodies(case, mode):
    replies, options = CASES[case]
    sent = {path: bodies(path, replies, options, mode) for path in PATHS}
    assert sent["litellm"] == sent["native"]
    assert sent["native"] and all(body.get("stream", False) == mode.endswith("stream") for body in sent["native"])
    if mode.endswith("stream"):
        assert all(body["stream_options"] == {"include_usage": True} for body in sent["native"])


def test_reasoning_models_rename_max_tokens_and_demote_instructions():
    sent = bodies("native", ["ok"], CASES["o-series: max_completion_tokens, system as user"][1], "sync")[0]
    assert sent["max_completion_tokens"] == 50 and "max_tokens" not in sent
    assert sent["messages"][0] == {"role": "user", "content": "Be brief."}
    gpt5 = bodies("native", ["ok"], {"model": "gpt-5", "model_settings": ModelSettings(max_tokens=9)}, "sync")[0]
    assert gpt5["max_completion_tokens"] == 9 and gpt5["messages"][0]["role"] == "system"
    plain = bodies("native", ["ok"], {"model_settings": ModelSettings(max_tokens=9)}, "sync")[0]
    assert plain["max_tokens"] == 9 and "max_completion_tokens" not in plain


def test_a_sampling_setting_an_o_series_model_rejects():
    # LiteLLM refuses temperature != 1 before sending; the native path sends it and lets OpenAI answer (its 400
    # is the same ModelBadRequestError). Documented in docs/engine.md.
    settings = ModelSettings(temperature=0.2)
    with LoopbackServer(["unused"]) as server:
        with pytest.raises(ModelBadRequestError, match="temperature"):
            Runner(retry=NO_RETRY).run(Agent(name="a", model=model_on("litellm", server, "o3-mini"),
                                             model_settings=settings), "go")
        assert server.requests == []
    with LoopbackServer([Fail(400, "Unsupported value: 'temperature' does not support 0.2")]) as server:
        with pytest.raises(ModelBadRequestError, match="temperature"):
            Runner(retry=NO_RETRY).run(Agent(name="a", model=model_on("native", server, "o3-mini"),
                                             model_settings=settings), "go")
        assert server.requests[0]["temperature"] == 0.2


REPLIES = {
    "text": "plain answer",
    "tool call": CALL,
    "parallel calls": [call("add", a=1, b=2, call_id="x"), call("add", a=3, b=4, call_id="y")],
    "refusal": {"content": None, "refusal": "I can't help with that."},
    "text and a call": {"content": "Let me add.", "tool_calls": [
        {"id": "c9", "type": "function", "function": {"name": "add", "arguments": '{"a": 1, "b": 1}'}}]},
}


def reply_on(path: str, reply, stream: bool):
    with LoopbackServer([reply]) as server:
        model = model_on(path, server)
        request = ModelRequest([{"role": "user", "content": "go"}], [add.spec()])
        if not stream:
            response = model.complete(request)
        else:
            accumulator = StreamAccumulator("a")
            for chunk in model.stream(request):
                accumulator.feed(chunk)
            response = accumulator.response()
    return response.message, (response.usage.input_tokens, response.usage.output_tokens), response.finish_reason


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("reply", list(REPLIES))
def test_both_paths_read_the_same_reply(reply, stream):
    litellm, native = (reply_on(path, REPLIES[reply], stream) for path in PATHS)
    assert litellm == native
    assert native[1][0] > 0 and native[2] in ("stop", "tool_calls")


ERRORS = {
    "401": (Fail(401, "Incorrect API key provided"), ModelAuthError, 401, False, None),
    "403": (Fail(403, "not allowed"), ModelAuthError, 403, False, None),
    "400": (Fail(400, "bad request"), ModelBadRequestError, 400, False, None),
    "404": (Fail(404, "no such model"), ModelBadRequestError, 404, False, None),
    "context window": (Fail(400, "This model's maximum context length is 128000 tokens. However, your messages "
                                 "resulted in 200000 tokens."), ContextWindowExceededError, 400, False, None),
    "429 with Retry-After": (Fail(429, "slow down", {"Retry-After": "7"}), ModelError, 429, True, 7.0),
    "500": (Fail(500, "oops"), ModelError, 500, True, None),
    "503": (Fail(503, "overloaded"), ModelError, 503, True, None),
}


def error_on(path: str, fault, stream: bool, mode: str = "sync", timeout: float | None = None) -> ModelError:
    with LoopbackServer([fault]) as server:
        agent = Agent(name="a", model=model_on(path, server), tools=[add])
        runner = Runner(Session(), retry=NO_RETRY, model_timeout=timeout, stream_idle_timeout=timeout)
        with pytest.raises(ModelError) as caught:
            run_in_mode(runner, agent, "go", ("async_stream" if mode == "async" else "stream") if stream else mode)
    return caught.value


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("case", list(ERRORS))
def test_both_paths_raise_the_same_error(case, stream, mode):
    fault, kind, status, retryable, retry_after = ERRORS[case]
    for path in PATHS:
        error = error_on(path, fault, stream, mode)
        assert type(error) is kind, (path, error)
        assert (error.status_code, error.retryable, error.retry_after) == (status, retryable, retry_after), path


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_both_paths_time_out_the_same_way(stream):
    for path in PATHS:
        error = error_on(path, Stall(5), stream, timeout=0.3)
        assert type(error) is ModelTimeoutError and error.retryable, path


def test_both_paths_report_a_cut_stream_the_same_way():
    for path in PATHS:
        for mode in ("sync", "async"):
            error = error_on(path, Cut(call("add", a=1, b=2)), True, mode)
            assert error.retryable and error.status_code is None, (path, mode, error)


def test_the_parity_suite_covers_async_json_too():
    async def both() -> list:
        out = []
        for path in PATHS:
            with LoopbackServer(["hi"]) as server:
                agent = Agent(name="a", model=model_on(path, server))
                await Runner().run_async(agent, "go")
                out.append([normalise(b) for b in server.requests])
        return out

    litellm, native = asyncio.run(both())
    assert litellm == native


def test_multi_part_content_in_a_reply_is_kept_by_the_native_path():
    # Some OpenAI-compatible servers answer with a list of content parts. LiteLLM cannot parse that reply (it
    # raises "Invalid response object"); the native path hands the parts on as sent. Documented in docs/engine.md.
    parts = [{"type": "text", "text": "part one, "}, {"type": "text", "text": "part two"}]
    message, _, finish = reply_on("native", {"content": parts}, stream=False)
    assert message == {"role": "assistant", "content": parts} and finish == "stop"
    with pytest.raises(ModelError, match="Invalid response object"):
        reply_on("litellm", {"content": parts}, stream=False)
