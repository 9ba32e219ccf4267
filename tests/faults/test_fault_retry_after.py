"""Issue 21 (point 7): a server asking to wait longer than the retry policy allows (`Retry-After: 120`) ends the
run at once with a hint naming the wait and what to do, on both model paths and in every mode."""

from __future__ import annotations

import time

import pytest
from conftest import run_in_mode

from agentsilex import Agent, Runner
from agentsilex.errors import ModelError
from agentsilex.models.retry import RetryPolicy
from agentsilex.testing import Fail, LoopbackServer


@pytest.mark.parametrize("path", ["native", "litellm"])
def test_a_retry_after_past_max_delay_gives_up_at_once_with_a_hint(path, mode):
    with LoopbackServer([Fail(429, "rate limited", {"Retry-After": "120"}), "never reached"]) as server:
        model = server.openai_model() if path == "native" else server.litellm_model()
        started = time.monotonic()
        with pytest.raises(ModelError) as caught:
            run_in_mode(Runner(retry=RetryPolicy(max_retries=3, max_delay=30)), Agent(name="a", model=model), "hi",
                        mode)
        assert len(server.requests) == 1  # not retried: waiting 120 s is not what the policy allows
    assert time.monotonic() - started < 10
    text = str(caught.value)
    assert "asked to wait 120 s (Retry-After)" in text and "RetryPolicy(max_delay=30)" in text
    assert "try again in 120 s, raise max_delay, or add fallback_models" in text and "\n" not in text


def test_a_short_retry_after_is_still_honoured():
    with LoopbackServer([Fail(429, "rate limited", {"Retry-After": "0.2"}), "done"]) as server:
        result = Runner(retry=RetryPolicy(max_retries=3)).run(Agent(name="a", model=server.openai_model()), "hi")
    assert result.final_output == "done"
