"""Fault script items from JSON (the loopback server's --script file) and from the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from agentsilex import Agent, ModelAuthError, Runner, Session
from agentsilex.models.openai_http import OpenAIHTTPModel
from agentsilex.models.retry import RetryPolicy
from agentsilex.testing import Cut, Fail, Stall, call
from agentsilex.testing.script import reply_from_json
from agentsilex.errors import UserError


def test_fault_items_from_json():
    assert reply_from_json({"fail": {"status": 429, "headers": {"Retry-After": "1"}}}) == Fail(
        429, "scripted failure", {"Retry-After": "1"})
    assert reply_from_json({"fail": {"status": 500, "forever": True}}).forever
    assert reply_from_json({"stall": {"seconds": 2, "reply": "hi", "after": 1}}) == Stall(2, "hi", 1)
    assert reply_from_json({"cut": {"reply": {"tool_calls": [{"name": "add", "arguments": {"a": 1}}]}}}) == Cut(
        [call("add", a=1)])
    with pytest.raises(UserError):
        reply_from_json({"explode": True})


def test_cli_server_plays_a_fault_script(tmp_path):
    script = tmp_path / "faults.json"
    script.write_text(json.dumps([{"fail": {"status": 503}}, "after one retry", {"fail": {"status": 401}}]))
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    server = subprocess.Popen([sys.executable, "-m", "agentsilex.testing.server", "--port", "0", "--script",
                               str(script)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        url = server.stdout.readline().split(" on ")[-1].strip()
        agent = Agent(name="a", model=OpenAIHTTPModel("openai/gpt-4o", base_url=url, api_key="sk-test"))
        runner = Runner(Session(), retry=RetryPolicy(initial_delay=0.01))
        assert runner.run(agent, "hi").final_output == "after one retry"
        with pytest.raises(ModelAuthError):
            runner.run(agent, "again")
    finally:
        server.terminate()
        server.wait()
