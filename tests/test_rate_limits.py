"""Runner(rate_limits=RateLimits(...)): smooth buckets per model for requests and tokens, in process or shared by
processes through Redis; a 429 pauses every sharer; waits show as `rate_limited` events and in traces."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid

import pytest
from conftest import run_in_mode
from session_stores import REDIS_URL, _redis_client

from agentsilex import Agent, RateLimitedEvent, RateLimits, Runner, Session, UserError, tool
from agentsilex.features.rate_limits import estimate_tokens, step
from agentsilex.models import ModelRequest
from agentsilex.models.http import retry_after_of
from agentsilex.testing import Fail, FunctionModel, LoopbackServer, call


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def timed_model(times: list, name: str = "gpt-4o-mini") -> FunctionModel:
    """Calls add(1, 1) until three tool results are in, then answers; notes when each request arrived."""
    def reply(messages, tools):
        times.append(time.monotonic())
        done = sum(1 for m in messages if m["role"] == "tool")
        return "done" if done >= 3 else call("add", a=1, b=1)

    return FunctionModel(reply, name=name)


# -- the arithmetic ------------------------------------------------------------------------------------------
def test_a_bucket_allows_one_seconds_worth_then_the_rate():
    rates, tats, now = [60 / 61, 0.0], [0.0, 0.0], 100.0  # rpm=60: about one request a second
    assert step("reserve", tats, rates, 1.0, 0, now) == (0.0, "rpm")  # idle: the first goes at once
    wait, limit = step("reserve", tats, rates, 1.0, 0, now)
    assert limit == "rpm" and wait == pytest.approx(61 / 60)  # then one per 61/60 s
    rates, tats = [600 / 61, 0.0], [0.0, 0.0]
    waits = [step("reserve", tats, rates, 1.0, 0, now)[0] for _ in range(12)]
    assert waits[:9] == [0.0] * 9 and waits[9] > 0  # a burst of one second's worth (9.8 -> 9), no more


def test_tokens_wait_for_room_are_corrected_and_a_pause_stops_everyone():
    rates, tats, now = [0.0, 6000 / 61], [0.0, 0.0], 0.0  # tpm=6000: ~98 tokens a second
    assert step("reserve", tats, rates, 1.0, 90, now)[0] == 0.0
    wait, limit = step("reserve", tats, rates, 1.0, 90, now)
    assert limit == "tpm" and wait == pytest.approx(2 * 90 * 61 / 6000 - 1.0)  # the room left was not enough
    step("adjust", tats, rates, 1.0, -180, wait)  # both used nothing after all: their tokens come back
    assert step("reserve", tats, rates, 1.0, 90, wait)[0] == 0.0
    step("pause", tats, rates, 1.0, 5.0, wait)  # a 429 said: five seconds
    assert step("reserve", tats, rates, 1.0, 1, wait)[0] >= 5.0
    big = [0.0, 0.0]
    assert step("reserve", big, rates, 1.0, 10_000, 0.0)[0] == 0.0  # bigger than the bucket: goes when full


def test_token_estimate_counts_what_is_sent_and_the_output_allowance():
    request = ModelRequest([{"role": "user", "content": "x" * 400}])
    assert 100 < estimate_tokens(request, 256) - 256 <= 111
    from agentsilex import ModelSettings

    assert estimate_tokens(ModelRequest(request.messages, settings=ModelSettings(max_tokens=10)), 256) < 130


def test_which_limits_a_model_has():
    limits = RateLimits({"gpt-4o-mini": {"rpm": 500, "tpm": 200_000}, "gpt-4o*": {"rpm": 100},
                         "anthropic/*": {"rpm": 50}, "*": {"rpm": 10}})
    assert limits.limits_for("gpt-4o-mini") == ("gpt-4o-mini", {"rpm": 500, "tpm": 200_000})
    assert limits.limits_for("openai/gpt-4o-mini")[1] == {"rpm": 500, "tpm": 200_000}
    assert limits.limits_for("gpt-4o") == ("gpt-4o", {"rpm": 100})
    assert limits.limits_for("anthropic/claude-sonnet-4-5")[1] == {"rpm": 50}
    assert limits.limits_for("local/smollm2") == ("local/smollm2", {"rpm": 10})  # each model its own buckets
    assert RateLimits({"gpt-4o": {"rpm": 1}}).limits_for("gpt-5") is None


@pytest.mark.parametrize("bad", ["gpt-4o", {}, {"gpt-4o": {"rps": 5}}, {"gpt-4o": {"rpm": 0}}, {"gpt-4o": 5}])
def test_bad_limits_say_what_to_write(bad):
    with pytest.raises(UserError, match="RateLimits"):
        RateLimits(bad)


def test_runner_refuses_something_else():
    with pytest.raises(UserError, match="rate_limits"):
        Runner(rate_limits={"gpt-4o": {"rpm": 5}})


def test_retry_after_from_the_providers_headers():
    assert retry_after_of({"retry-after": "2"}) == 2.0
    assert retry_after_of({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1.5s",
                           "x-ratelimit-remaining-tokens": "9000", "x-ratelimit-reset-tokens": "6m0s"}) == 1.5
    assert retry_after_of({"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "1m30s"}) == 90.0
    assert retry_after_of({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "20ms"}) == 0.02
    assert retry_after_of({}) is None


# -- in a run ------------------------------------------------------------------------------------------------
def test_requests_are_paced_in_every_mode_and_the_wait_is_an_event(mode):
    times: list[float] = []
    runner = Runner(Session(), rate_limits=RateLimits({"gpt-4o-mini": {"rpm": 122}}))  # 2 at once, then 2 a second
    result, events = run_in_mode(runner, Agent(name="calc", model=timed_model(times), tools=[add]), "go", mode)
    assert result.final_output == "done" and len(times) == 4
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert gaps[0] < 0.3 and all(gap >= 0.48 for gap in gaps[1:]), gaps
    if mode in ("stream", "async_stream"):
        waited = [e for e in events if isinstance(e, RateLimitedEvent)]
        assert len(waited) == 2 and all(e.limit == "rpm" and 0.3 < e.wait <= 0.51 for e in waited)
        assert waited[0].model == "gpt-4o-mini" and waited[0].agent == "calc" and waited[0].type == "rate_limited"
        assert json.dumps(waited[0].data)


def test_a_model_without_limits_is_not_slowed():
    times: list[float] = []
    runner = Runner(rate_limits=RateLimits({"other-model": {"rpm": 1}}))
    started = time.monotonic()
    runner.run(Agent(name="calc", model=timed_model(times), tools=[add]), "go")
    assert time.monotonic() - started < 0.5


def test_runs_and_runners_sharing_one_object_share_its_buckets():
    limits = RateLimits({"gpt-4o-mini": {"rpm": 600}})  # 9 at once, then ~10 a second
    times: list[float] = []
    agent = Agent(name="calc", model=timed_model(times), tools=[add])
    threads = [threading.Thread(target=lambda: Runner(rate_limits=limits).run(agent, "go")) for _ in range(5)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(times) == 20
    burst = 600 / 61  # one second's worth at the bucket's rate: the 20th request goes (19 - burst) / rate later
    assert time.monotonic() - started >= (19 - burst) * 61 / 600 - 0.02


def test_tokens_are_limited_and_corrected_from_the_reply():
    limits = RateLimits({"gpt-4o-mini": {"tpm": 61_000}}, expected_output_tokens=900)  # 1,000 tokens a second
    times: list[float] = []

    def slow(messages, tools):
        times.append(time.monotonic())
        time.sleep(0.2)
        return "hi"

    agent = Agent(name="a", model=FunctionModel(slow, name="gpt-4o-mini"))
    # Two at once: each is estimated at ~950 tokens (mostly the output allowance), so the second waits for room.
    threads = [threading.Thread(target=lambda: Runner(rate_limits=limits).run(agent, "go")) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert times[1] - times[0] >= 0.8, times
    # The replies used far fewer tokens: the corrections gave them back, so the next request is not held.
    started = time.monotonic()
    Runner(rate_limits=limits).run(agent, "go")
    assert times[2] - started < 0.1


def test_a_429_with_the_providers_reset_header_is_waited_for(openai_env):
    """OpenAI's x-ratelimit-reset header (no Retry-After) says when to come back, on both model paths; the
    buckets are paused that long too, so the next run does not go before then either."""
    openai_env.add_replies([Fail(429, headers={"x-ratelimit-remaining-requests": "0",
                                               "x-ratelimit-reset-requests": "800ms"}), "first", "second"])
    limits = RateLimits({"gpt-4o-mini": {"rpm": 6000}})
    agent = Agent(name="a", model="gpt-4o-mini")
    started = time.monotonic()
    assert Runner(rate_limits=limits).run(agent, "one").final_output == "first"
    assert time.monotonic() - started >= 0.75
    assert Runner(rate_limits=limits).run(agent, "two").final_output == "second"
    assert len(openai_env.requests) == 3


def test_a_429_slows_a_concurrent_sharer():
    sent: list[float] = []

    def reply(messages, tools):
        sent.append(time.monotonic())
        return Fail(429, headers={"Retry-After": "1"}) if len(sent) == 1 else "ok"

    with LoopbackServer(function=reply) as server:
        limits, model = RateLimits({"gpt-4o": {"rpm": 60_000}}), server.openai_model()
        first = threading.Thread(target=lambda: Runner(rate_limits=limits).run(Agent(name="a", model=model), "one"))
        first.start()
        while not sent:
            time.sleep(0.005)
        time.sleep(0.1)  # the 429 is in: the other run, which got none, waits too
        Runner(rate_limits=limits).run(Agent(name="b", model=model), "two")
        first.join()
        model.close()
    assert len(sent) == 3 and sent[1] - sent[0] >= 0.95 and sent[2] - sent[0] >= 0.95, [s - sent[0] for s in sent]


def test_a_wait_past_the_run_deadline_stops_the_run():
    from agentsilex.features.limits import RunTimeoutError

    limits = RateLimits({"gpt-4o-mini": {"rpm": 61}})  # one request a second, nothing at once beyond one
    runner = Runner(rate_limits=limits, run_timeout=0.5)
    model = FunctionModel(lambda m, t: call("add", a=1, b=1), name="gpt-4o-mini")
    with pytest.raises(RunTimeoutError):
        runner.run(Agent(name="a", model=model, tools=[add]), "go")


def test_the_wait_is_in_the_trace(spans_fixture):
    runner = Runner(rate_limits=RateLimits({"gpt-4o-mini": {"rpm": 122}}))  # 2 at once, then 2 a second
    runner.run(Agent(name="calc", model=timed_model([]), tools=[add]), "go")
    agent_span = next(s for s in spans_fixture() if s.name == "invoke_agent calc")
    waits = [e for e in agent_span.events if e.name == "agentsilex.rate_limited"]
    assert len(waits) == 2 and waits[0].attributes["agentsilex.rate_limit.limit"] == "rpm"
    assert waits[0].attributes["agentsilex.rate_limit.wait_s"] > 0.1


@pytest.fixture
def spans_fixture():
    pytest.importorskip("opentelemetry.sdk.trace", reason="needs the tracing extra")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from agentsilex.tracing import configure_tracing, reset_tracing

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    configure_tracing(tracer_provider=provider)
    yield lambda: list(exporter.get_finished_spans())
    reset_tracing()


# -- shared by processes through Redis -----------------------------------------------------------------------
WORKER = """
import sys, time
from agentsilex import Agent, RateLimits, Runner, tool
from agentsilex.models.openai_http import OpenAIHTTPModel
url, store, namespace, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

@tool
def add(a: int, b: int) -> int:
    '''Add.'''
    return a + b

limits = RateLimits({"gpt-4o-mini": {"rpm": 600}}, store=None if store == "-" else store, namespace=namespace)
model = OpenAIHTTPModel("gpt-4o-mini", base_url=url, api_key="sk-test")
runner = Runner(rate_limits=limits)
for _ in range(runs):
    assert runner.run(Agent(name="a", model=model, tools=[add]), "go").final_output == "done"
print("ok")
"""


def _serve(messages, tools):
    return "done" if messages[-1]["role"] == "tool" else call("add", a=1, b=1)


def _workers(server: LoopbackServer, store: str, count: int, runs: int) -> list[subprocess.CompletedProcess]:
    namespace = f"test-{uuid.uuid4().hex}"
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, server.url, store, namespace, str(runs)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(count)]
    return [subprocess.CompletedProcess(p.args, p.wait(timeout=120), *p.communicate()) for p in procs]


def test_processes_sharing_redis_stay_under_the_limit_and_get_no_429():
    _redis_client()  # skips locally (fails in CI) without a Redis server
    with LoopbackServer(function=_serve, rate_limit={"rpm": 600}) as server:
        done = _workers(server, REDIS_URL, count=3, runs=8)
        stats = server.rate_limit.stats()
    assert all(p.returncode == 0 for p in done), [p.stderr[-800:] for p in done]
    assert stats["requests"] == 48 and stats["refused"] == 0, stats


def test_without_sharing_the_same_processes_get_429s():
    """The control for the test above: limits kept per process do not add up across processes."""
    with LoopbackServer(function=_serve, rate_limit={"rpm": 600}) as server:
        done = _workers(server, "-", count=3, runs=8)
        stats = server.rate_limit.stats()
    assert stats["refused"] > 0, stats
    assert done  # (some workers may even fail after their retries)


def test_a_redis_that_is_gone_degrades_to_local_limits_with_a_warning():
    limits = RateLimits({"gpt-4o-mini": {"rpm": 600}}, store="redis://127.0.0.1:1/0")
    with pytest.warns(RuntimeWarning, match="each process now limits on its own"):
        result = Runner(rate_limits=limits).run(Agent(name="calc", model=timed_model([]), tools=[add]), "go")
    assert result.final_output == "done"


def test_the_shared_buckets_are_one_script_on_redis_time():
    client = _redis_client()
    namespace = f"test-{uuid.uuid4().hex}"
    limits = RateLimits({"gpt-4o-mini": {"rpm": 600}}, store=REDIS_URL, namespace=namespace)
    other = RateLimits({"gpt-4o-mini": {"rpm": 600}}, store=REDIS_URL, namespace=namespace)
    request = ModelRequest([{"role": "user", "content": "hi"}])
    turns = [(limits if i % 2 else other).take_turn("gpt-4o-mini", request) for i in range(12)]
    waits = [turn.at - time.monotonic() for turn in turns]
    assert sum(w <= 0.01 for w in waits) == 9 and waits[-1] > 0.2  # one burst for both objects together
    assert client.exists(f"agentsilex:ratelimit:{namespace}:gpt-4o-mini")
    client.delete(f"agentsilex:ratelimit:{namespace}:gpt-4o-mini")


def test_both_model_paths_are_paced_in_every_mode(openai_env, mode):
    arrivals: list[float] = []
    openai_env.model = FunctionModel(lambda m, t: (arrivals.append(time.monotonic()), "done" if sum(
        x["role"] == "tool" for x in m) >= 2 else call("add", a=1, b=1))[1])
    runner = Runner(Session(), rate_limits=RateLimits({"gpt-4o-mini": {"rpm": 122}}))  # 2 at once, then 2 a second
    result, events = run_in_mode(runner, Agent(name="calc", model="gpt-4o-mini", tools=[add]), "go", mode)
    assert result.final_output == "done" and len(arrivals) == 3
    assert arrivals[2] - arrivals[0] >= 0.45  # the third waited for its turn
    assert all(e.limit == "rpm" for e in events if e.type == "rate_limited")  # (none if the calls were slow enough)


def test_an_inline_image_counts_as_an_image_not_as_its_base64():
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 400_000}}
    request = ModelRequest([{"role": "user", "content": [{"type": "text", "text": "what is it?"}, image]}])
    assert 1000 < estimate_tokens(request, 0) < 1100
