"""Issue 21: credentials in a base_url (`http://user:password@host/v1`) never appear in an error, its chain or its
traceback, in a log line or in the CLI's one-line error, on either model path and in every mode -- and they still
work: they are sent as HTTP Basic auth, in sync and async calls alike."""

from __future__ import annotations

import base64
import logging
import traceback

import pytest
from conftest import run_in_mode

from agentsilex import Agent, Runner
from agentsilex.errors import ModelError
from agentsilex.models.litellm import LiteLLMModel
from agentsilex.models.openai_http import OpenAIHTTPModel
from agentsilex.models.retry import RetryPolicy
from agentsilex.testing import Fail, LoopbackServer

PASSWORD = "gateway-pass-9f8e7d"
BASIC = base64.b64encode(f"gateway-user:{PASSWORD}".encode()).decode()


def with_credentials(url: str) -> str:
    return url.replace("http://", f"http://gateway-user:{PASSWORD}@", 1)


def model_for(path: str, url: str):
    if path == "native":
        return OpenAIHTTPModel("openai/gpt-4o", base_url=url, api_key="sk-loopback-test")
    return LiteLLMModel("openai/gpt-4o", base_url=url, api_key="sk-loopback-test")


def failing_run(path: str, url: str, mode: str) -> ModelError:
    with pytest.raises(ModelError) as caught:
        run_in_mode(Runner(retry=RetryPolicy(max_retries=0)), Agent(name="a", model=model_for(path, url)), "hi", mode)
    return caught.value


@pytest.mark.parametrize("path", ["native", "litellm"])
def test_a_refused_connection_shows_no_credentials(path, mode, caplog):
    caplog.set_level(logging.DEBUG)
    error = failing_run(path, with_credentials("http://127.0.0.1:9/v1"), mode)
    shown = "".join(traceback.format_exception(error)) + repr(error.args) + caplog.text  # LiteLLM's logs too
    assert PASSWORD not in shown and BASIC not in shown
    assert "127.0.0.1:9" in str(error)  # the hint still says where


@pytest.mark.parametrize("path", ["native", "litellm"])
def test_an_http_error_shows_no_credentials(path, mode, caplog):
    caplog.set_level(logging.DEBUG)
    with LoopbackServer([Fail(404, f"no route for {PASSWORD}")]) as server:  # a server that even echoes it
        base = server.url if path == "litellm" else server.url.removesuffix("/v1")  # native: the "try /v1" hint
        error = failing_run(path, with_credentials(base), mode)
    ours = "\n".join(record.getMessage() for record in caplog.records if record.name.startswith("agentsilex"))
    shown = "".join(traceback.format_exception(error)) + ours
    assert PASSWORD not in shown and BASIC not in shown and "404" in str(error)


@pytest.mark.parametrize("path", ["native", "litellm"])
def test_credentials_in_the_url_are_sent_as_basic_auth_in_every_mode(path, mode):
    with LoopbackServer(["hello"]) as server:
        model = model_for(path, with_credentials(server.url))
        result, _ = run_in_mode(Runner(retry=RetryPolicy(max_retries=0)), Agent(name="a", model=model), "hi", mode)
        sent = server.request_headers[-1]["authorization"]
    assert result.final_output == "hello"
    assert sent == f"Basic {BASIC}"
    assert PASSWORD not in repr(model) and PASSWORD not in str(model.base_url)


def test_the_cli_one_line_error_shows_no_credentials(monkeypatch):
    from typer.testing import CliRunner

    from agentsilex.app.cli import app

    monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback-test")
    url = with_credentials("http://127.0.0.1:9/v1")
    result = CliRunner().invoke(app, ["run", "agentsilex.testing.demo:agent", "hi", "--model", "openai/gpt-4o",
                                      "--base-url", url, "--retries", "0"])
    assert result.exit_code == 1 and "Cannot reach http://" in result.output
    assert PASSWORD not in result.output and "Traceback" not in result.output
