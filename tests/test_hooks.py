from conftest import run_in_mode

import pytest

from agentsilex import Agent, ModelRequest, RunHooks, Runner, UserError, tool
from agentsilex.testing import ScriptedModel, call


@tool
def ping() -> str:
    """Ping."""
    return "pong"


class Recorder(RunHooks):
    def __init__(self):
        self.log = []

    def on_run_start(self, context, agent, prompt):
        self.log.append(("run_start", agent.name, prompt))

    def on_run_end(self, context, agent, result):
        self.log.append(("run_end", agent.name, result.final_output))

    def before_model_call(self, context, agent, request):
        self.log.append(("before_model", agent.name))
        request.messages.insert(0, {"role": "system", "content": "added by a hook"})

    def after_model_call(self, context, agent, response):
        self.log.append(("after_model", agent.name))

    def before_tool_call(self, context, agent, tool_name, arguments):
        self.log.append(("before_tool", tool_name))

    def after_tool_call(self, context, agent, tool_name, call):
        self.log.append(("after_tool", tool_name, call.content))

    def on_handoff(self, context, from_agent, to_agent):
        self.log.append(("handoff", from_agent.name, to_agent.name))

    def on_error(self, context, agent, error):
        self.log.append(("error", agent.name, type(error).__name__))


def test_hook_order(mode):
    b = Agent(name="b", model=ScriptedModel(["bye"]))
    a = Agent(name="a", model=ScriptedModel([[call("ping"), call("ping")], call("transfer_to_b")]), tools=[ping],
              handoffs=[b])
    hooks = Recorder()
    result, _ = run_in_mode(Runner(hooks=hooks), a, "hi", mode)
    assert hooks.log == [
        ("run_start", "a", "hi"),
        ("before_model", "a"), ("after_model", "a"),
        ("before_tool", "ping"), ("before_tool", "ping"),
        ("after_tool", "ping", "pong"), ("after_tool", "ping", "pong"),
        ("before_model", "a"), ("after_model", "a"),
        ("handoff", "a", "b"),
        ("before_model", "b"), ("after_model", "b"),
        ("run_end", "b", "bye"),
    ]
    assert b.model.requests[0].messages[0] == {"role": "system", "content": "added by a hook"}


def test_hook_may_replace_the_request_and_sees_errors(mode):
    class Replace(Recorder):
        def before_model_call(self, context, agent, request):
            return ModelRequest([{"role": "user", "content": "replaced"}])

    model = ScriptedModel([RuntimeError("boom")])
    hooks = Replace()
    with pytest.raises(RuntimeError, match="boom"):
        run_in_mode(Runner(hooks=hooks), Agent(name="a", model=model), "hi", mode)
    assert model.requests[0].messages == [{"role": "user", "content": "replaced"}]
    assert hooks.log == [("run_start", "a", "hi"), ("error", "a", "RuntimeError")]


def test_hooks_must_be_a_hooks_object():
    with pytest.raises(UserError, match="RunHooks"):
        Runner(hooks=[lambda: None])
