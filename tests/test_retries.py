"""Retries, timeouts and fallbacks against the loopback server, through LiteLLM (the real HTTP path)."""

from __future__ import annotations

import time

import pytest
from conftest import run_in_mode

from agentsilex import Agent, ModelError, Runner, Session, tool
from agentsilex.errors import ModelAuthError, ModelTimeoutError
from agentsilex.models.http import error_for_status, parse_retry_after
from agentsilex.models.retry import RetryPolicy, attempt_plan
from agentsilex.testing import Cut, Fail, LoopbackServer, ScriptedModel, Stall, call

FAST = RetryPolicy(max_retries=3, initial_delay=0.01, max_delay=1.0)


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    ran.append((a, b))
    return a + b


ran: list[tuple[int, int]] = []


@pytest.fixture(params=["litellm", "native"])
def transport(request):
    """Every test runs through LiteLLM and through the native OpenAI path (OpenAIHTTPModel)."""
    return request.param


def model_of(server: LoopbackServer, transport: str):
    return server.litellm_model() if transport == "litellm" else server.openai_model()


def run(server: LoopbackServer, mode: str, session: Session, transport: str, **options):
    agent = Agent(name="a", model=model_of(server, transport), tools=[add])
    return run_in_mode(Runner(session, retry=options.pop("retry", FAST), **options), agent, "hi", mode)


def users(session: Session) -> int:
    return sum(m["role"] == "user" for m in session.dialogs)


def test_429_waits_for_retry_after(mode, loopback_server, transport):
    loopback_server.add_replies([Fail(429, headers={"Retry-After": "0.3"}), "ok"])
    session = Session()
    started = time.perf_counter()
    result, _ = run(loopback_server, mode, session, transport)
    assert result.final_output == "ok" and len(loopback_server.requests) == 2
    assert time.perf_counter() - started >= 0.3  # the backoff alone would have been 10 ms
    assert users(session) == 1


def test_500_and_503_then_success(mode, loopback_server, transport):
    loopback_server.add_replies([Fail(503), Fail(500), "recovered"])
    session = Session()
    result, _ = run(loopback_server, mode, session, transport)
    assert result.final_output == "recovered" and len(loopback_server.requests) == 3
    assert session.dialogs == [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "recovered"}]


def test_500_forever_gives_up_after_the_cap(mode, loopback_server, transport):
    loopback_server.add_replies([Fail(500, forever=True)])
    session = Session()
    with pytest.raises(ModelError) as caught:
        run(loopback_server, mode, session, transport, retry=RetryPolicy(max_retries=2, initial_delay=0.01))
    assert caught.value.status_code == 500 and caught.value.retryable
    assert len(loopback_server.requests) == 3  # one try + two retries, and nobody else retried underneath
    assert session.dialogs == [{"role": "user", "content": "hi"}]


def test_401_is_not_retried(mode, loopback_server, transport):
    loopback_server.add_replies([Fail(401, "bad key"), "never"])
    session = Session()
    with pytest.raises(ModelAuthError, match="API key"):
        run(loopback_server, mode, session, transport)
    assert len(loopback_server.requests) == 1 and users(session) == 1


def test_stall_times_out_then_retries(mode, loopback_server, transport):
    loopback_server.add_replies([Stall(5), "after the stall"])
    session = Session()
    started = time.perf_counter()
    result, _ = run(loopback_server, mode, session, transport, model_timeout=0.25)
    assert result.final_output == "after the stall"
    assert 0.25 <= time.perf_counter() - started < 2
    assert users(session) == 1


def test_stall_forever_raises_a_timeout(mode, loopback_server, transport):
    loopback_server.add_replies([Stall(5), Stall(5)])
    with pytest.raises(ModelTimeoutError):
        run(loopback_server, mode, Session(), transport, model_timeout=0.2,
            retry=RetryPolicy(max_retries=1, initial_delay=0))


@pytest.mark.parametrize("streaming", ["stream", "async_stream"])
def test_stream_stalls_mid_answer(streaming, loopback_server, transport):
    """Streams time out between chunks; the partial answer reached the consumer, so no replay."""
    loopback_server.add_replies([Stall(5, reply="a long answer that stalls halfway", after=2), "replayed"])
    session = Session()
    started = time.perf_counter()
    with pytest.raises(ModelTimeoutError, match="timeout"):
        run(loopback_server, streaming, session, transport, stream_idle_timeout=0.2)
    assert time.perf_counter() - started < 2
    assert len(loopback_server.requests) == 1
    assert session.dialogs == [{"role": "user", "content": "hi"}]


def test_stream_cut_mid_tool_arguments(mode, loopback_server, transport):
    ran.clear()
    loopback_server.add_replies([Cut(call("add", a=123456, b=654321)), "fine"])
    session = Session()
    if mode in ("stream", "async_stream"):  # output reached the consumer: never replayed
        with pytest.raises(ModelError):
            run(loopback_server, mode, session, transport)
        assert session.dialogs == [{"role": "user", "content": "hi"}]  # nothing half-written is saved
        assert len(loopback_server.requests) == 1
    else:  # a cut JSON body never reached anyone: retried
        result, _ = run(loopback_server, mode, session, transport)
        assert result.final_output == "fine" and len(loopback_server.requests) == 2
        assert users(session) == 1
    assert ran == []  # the half-received call never ran


def test_fallback_model_after_the_primary_fails_for_good(mode, transport):
    with LoopbackServer([Fail(500, forever=True)]) as primary, LoopbackServer(["from the fallback"]) as backup:
        session = Session()
        agent = Agent(name="a", model=model_of(primary, transport), fallback_models=[model_of(backup, transport)])
        result, _ = run_in_mode(Runner(session, retry=RetryPolicy(max_retries=1, initial_delay=0.01)), agent, "hi", mode)
    assert result.final_output == "from the fallback"
    assert len(primary.requests) == 2 and len(backup.requests) == 1
    assert session.dialogs == [{"role": "user", "content": "hi"},
                               {"role": "assistant", "content": "from the fallback"}]


def test_every_fallback_failing_raises_the_last_error_with_the_chain(mode):
    first, second = ScriptedModel([Fail(401)], name="first"), ScriptedModel([Fail(503, forever=True)], name="second")
    session = Session()
    agent = Agent(name="a", model=first, fallback_models=[second])
    with pytest.raises(ModelError) as caught:
        run_in_mode(Runner(session, retry=RetryPolicy(max_retries=1, initial_delay=0)), agent, "hi", mode)
    assert caught.value.status_code == 503
    assert any("401" in note for note in caught.value.__notes__)
    assert len(first.requests) == 1 and len(second.requests) == 2
    assert session.dialogs == [{"role": "user", "content": "hi"}]


def test_policy_backoff_is_exponential_capped_and_jittered():
    policy = RetryPolicy(max_retries=10, initial_delay=1.0, max_delay=5.0, multiplier=2.0, jitter=0.5)
    transient = error_for_status("x", status=503)
    assert [policy.delay(n, transient, rand=lambda: 0.5) for n in range(4)] == [1.0, 2.0, 4.0, 5.0]
    assert policy.delay(0, transient, rand=lambda: 0.0) == 0.5 and policy.delay(0, transient, rand=lambda: 1.0) == 1.5
    assert policy.delay(10, transient) is None  # out of retries
    assert policy.delay(0, error_for_status("x", status=429, retry_after=3.0)) == 3.0
    assert policy.delay(0, error_for_status("x", status=429, retry_after=60.0)) is None  # past the cap
    for status in (400, 401, 403, 404):
        assert policy.delay(0, error_for_status("x", status=status)) is None
    assert policy.delay(0, error_for_status("x", status=400, context_window=True)) is None
    for status in (408, 409, 429, 500, 502, 503):
        assert policy.delay(0, error_for_status("x", status=status)) is not None


def test_attempt_plan_walks_retries_then_fallbacks():
    plan = attempt_plan(["primary", "backup"], RetryPolicy(max_retries=1, initial_delay=0.1, jitter=0))
    assert next(plan) == ("primary", 0.0)
    assert plan.send(error_for_status("x", status=500, model="primary")) == ("primary", 0.1)
    assert plan.send(error_for_status("x", status=500, model="primary")) == ("backup", 0.0)
    with pytest.raises(ModelAuthError):
        plan.send(error_for_status("x", status=401, model="backup"))


def test_retry_after_parsing():
    assert parse_retry_after("2") == 2.0 and parse_retry_after("-1") == 0.0 and parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: retry now
    assert parse_retry_after("soon") is None


def test_invalid_options_are_user_errors():
    from agentsilex import UserError

    with pytest.raises(UserError):
        RetryPolicy(max_retries=-1)
    with pytest.raises(UserError):
        Runner(tool_timeout=0)
    with pytest.raises(UserError):
        Runner(max_parallel_tools=0)
    with pytest.raises(UserError):
        Agent(name="a", model="gpt-4o", fallback_models=[42])


def test_context_window_is_a_typed_error_and_not_retried(loopback_server, transport):
    from agentsilex import ContextWindowExceededError

    loopback_server.add_replies([Fail(400, "This model's maximum context length is 8192 tokens. However, your "
                                      "messages resulted in 9000 tokens."), "never"])
    session = Session()
    with pytest.raises(ContextWindowExceededError):
        run(loopback_server, "sync", session, transport)
    assert len(loopback_server.requests) == 1 and users(session) == 1
