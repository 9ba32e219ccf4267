"""The guard in conftest.py: a test that would reach a real provider fails, even if the error was swallowed."""

from __future__ import annotations

import socket

import pytest

from agentsilex import Agent, ModelError, RetryPolicy, Runner
from agentsilex.models.openai_http import OpenAIHTTPModel


def test_a_connection_off_this_machine_is_refused_and_recorded(no_network):
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError, match="tests never reach the network"):
        sock.connect(("203.0.113.9", 443))  # TEST-NET-3: never a real host
    with pytest.raises(socket.gaierror, match="tests never reach the network"):
        socket.getaddrinfo("api.openai.com", 443)
    assert no_network[-2:] == ["a connection to ('203.0.113.9', 443)", "a name lookup of 'api.openai.com'"]
    no_network.clear()  # recorded on purpose here; any other test with a record fails at teardown


def test_a_real_provider_url_is_blocked_even_when_the_adapter_turns_it_into_a_model_error(no_network):
    agent = Agent(name="a", model=OpenAIHTTPModel("openai/gpt-4o", base_url="https://api.openai.com/v1",
                                                  api_key="sk-not-a-real-key"))
    with pytest.raises(ModelError):
        Runner(retry=RetryPolicy(max_retries=0)).run(agent, "hi")
    assert any("api.openai.com" in attempt for attempt in no_network)
    no_network.clear()


def test_loopback_stays_open(no_network):
    with socket.socket() as server, socket.socket() as client:
        server.bind(("127.0.0.1", 0))
        server.listen()
        client.connect(server.getsockname())
    assert socket.getaddrinfo("localhost", 80) and no_network == []
