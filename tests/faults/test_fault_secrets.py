"""Secrets never leak: provider errors and their chain, tool errors, events, reprs (item 6)."""

from __future__ import annotations

import pytest
from conftest import run_in_mode

from agentsilex import Agent, Runner, Session, tool
from agentsilex.errors import ModelError
from agentsilex.models.litellm import LiteLLMModel
from agentsilex.models.openai_http import OpenAIHTTPModel
from agentsilex.models.retry import RetryPolicy
from agentsilex.redaction import redact
from agentsilex.testing import Fail, LoopbackServer, ScriptedModel, call

KEYS = {
    "google": "AIzaSyD0123456789abcdefghijklmnopqrstu",
    "groq": "gsk_0123456789abcdefghijKLMNOP",
    "xai": "xai-0123456789abcdefghijKLMNOP",
    "huggingface": "hf_0123456789abcdefghijKLMNOP",
    "hex": "0123456789abcdef0123456789abcdef",
    "openai": "sk-proj-0123456789abcdefghij",
}


@pytest.mark.parametrize("name", list(KEYS))
def test_provider_key_shapes_are_redacted(name):
    assert KEYS[name] not in redact(f"401: invalid key {KEYS[name]} (check it)")
    assert "(check it)" in redact(f"401: invalid key {KEYS[name]} (check it)")


def test_a_secret_from_the_environment_is_redacted_whatever_its_shape(monkeypatch):
    monkeypatch.setenv("ACME_API_KEY", "plainwordsecret")
    assert "plainwordsecret" not in redact("the key plainwordsecret was refused")


def _chain(error):
    seen = []
    while error is not None and error not in seen:
        seen.append(error)
        error = error.__cause__ or error.__context__
    return seen


@pytest.mark.parametrize("path", ["litellm", "native"])
def test_a_provider_error_echoing_keys_leaks_nothing_in_the_whole_chain(mode, path, monkeypatch):
    monkeypatch.setenv("GROQ_API_KEY", "customsecretvalue42")
    echoed = f"Incorrect API key provided: sk-loopback-test. Also {KEYS['google']} and customsecretvalue42"
    with LoopbackServer([Fail(401, echoed)]) as server:
        model = server.litellm_model() if path == "litellm" else server.openai_model()
        with pytest.raises(ModelError) as caught:
            run_in_mode(Runner(retry=RetryPolicy(max_retries=0)), Agent(name="a", model=model), "hi", mode)
    for error in _chain(caught.value):
        text = f"{error} {error.args!r} {getattr(error, '__notes__', '')}"
        for secret in ("sk-loopback-test", KEYS["google"], "customsecretvalue42"):
            assert secret not in text, f"{type(error).__name__} leaks {secret}"


def test_a_tool_error_with_a_key_is_not_stored_sent_or_emitted(mode, monkeypatch):
    monkeypatch.setenv("STRIPE_SECRET", "plainsecretvalue99")

    @tool
    def charge(amount: int) -> str:
        """Charge."""
        raise RuntimeError(f"auth failed for key plainsecretvalue99 / {KEYS['xai']}")

    model = ScriptedModel([call("charge", amount=1), "sorry"])
    session = Session()
    result, events = run_in_mode(Runner(session), Agent(name="a", model=model, tools=[charge]), "go", mode)
    seen = repr(session.get_dialogs()) + repr(model.requests[-1].messages) + repr(events) + repr(result.function_calls)
    assert "auth failed" in seen
    assert "plainsecretvalue99" not in seen and KEYS["xai"] not in seen


def test_credentials_in_base_url_do_not_show_in_repr():
    url = "https://user:hunter2secret@gateway.example/v1?api_key=sk-abcdefghijklmnop"
    for model in (OpenAIHTTPModel("openai/gpt-4o", base_url=url, api_key="sk-x"), LiteLLMModel("gpt-4o", base_url=url)):
        text = repr(model)
        assert "hunter2secret" not in text and "sk-abcdefghijklmnop" not in text and "gateway.example" in text


def test_an_api_key_given_to_a_model_is_redacted_by_value():
    LiteLLMModel("gpt-4o", api_key="unshapedsecretkey")
    assert "unshapedsecretkey" not in redact("provider said: unshapedsecretkey is wrong")
