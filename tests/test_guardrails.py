from conftest import run_in_mode
from history import assert_valid_history as assert_valid

import pytest

from agentsilex import (Agent, GuardrailResult, InputGuardrailTripped, OutputGuardrailTripped, Runner, Session,
                        ToolGuardrailTripped, tool)
from agentsilex.testing import ScriptedModel, call

ran = []


def no_passwords(context, agent, prompt):
    return "asks for a password" if "password" in prompt else None


def no_shouting(context, agent, output):
    return GuardrailResult(output.isupper(), {"shouting": output})


def no_root(context, tool_name, arguments):
    return arguments["path"].startswith("/root") and f"{tool_name} may not touch /root"


def no_secrets_out(context, tool_name, arguments, result):
    return "leaks a secret" if "SECRET" in result else None


@tool(input_guardrails=[no_root], output_guardrails=[no_secrets_out])
def read_file(path: str) -> str:
    """Read a file."""
    ran.append(path)
    return "SECRET=1" if path.endswith(".env") else "hello"


def test_input_guardrail_trips_before_the_model_is_called(mode):
    model = ScriptedModel([])
    session = Session()
    agent = Agent(name="a", model=model, input_guardrails=[no_passwords])
    with pytest.raises(InputGuardrailTripped, match="asks for a password") as caught:
        run_in_mode(Runner(session), agent, "what is the admin password?", mode)
    assert caught.value.guardrail == "no_passwords" and caught.value.info == "asks for a password"
    assert model.requests == []
    assert session.dialogs == [{"role": "user", "content": "what is the admin password?"}]
    assert caught.value.result.final_output is None


def test_input_guardrail_passes(mode):
    agent = Agent(name="a", model=ScriptedModel(["hi"]), input_guardrails=[no_passwords])
    assert run_in_mode(Runner(), agent, "hello", mode)[0].final_output == "hi"


def test_output_guardrail_trips_and_the_output_is_not_recorded(mode):
    session = Session()
    agent = Agent(name="a", model=ScriptedModel(["GO AWAY"]), output_guardrails=[no_shouting])
    with pytest.raises(OutputGuardrailTripped) as caught:
        run_in_mode(Runner(session), agent, "hi", mode)
    assert caught.value.output == "GO AWAY" and caught.value.info == {"shouting": "GO AWAY"}
    assert session.dialogs == [{"role": "user", "content": "hi"}]


def test_tool_input_guardrail_trips_before_the_tool_runs(mode):
    ran.clear()
    session = Session()
    agent = Agent(name="a", model=ScriptedModel([call("read_file", path="/root/x")]), tools=[read_file])
    with pytest.raises(ToolGuardrailTripped, match="may not touch /root") as caught:
        run_in_mode(Runner(session), agent, "read", mode)
    assert (caught.value.stage, caught.value.tool_name, caught.value.arguments) == ("input", "read_file",
                                                                                      {"path": "/root/x"})
    assert ran == []
    assert session.dialogs == [{"role": "user", "content": "read"}]


def test_tool_output_guardrail_trips_on_the_result(mode):
    ran.clear()
    session = Session()
    agent = Agent(name="a", model=ScriptedModel([call("read_file", path="a.txt"), call("read_file", path=".env")]),
                  tools=[read_file])
    with pytest.raises(ToolGuardrailTripped, match="leaks a secret") as caught:
        run_in_mode(Runner(session), agent, "read", mode)
    assert caught.value.stage == "output" and caught.value.tool_result == "SECRET=1"
    assert ran == ["a.txt", ".env"]
    assert "SECRET" not in str(session.dialogs)
    assert_valid(session.dialogs)
    assert len(session.dialogs) == 3  # user, the first (allowed) call and its answer


def test_configuration_errors_are_typed():
    from agentsilex import UserError

    with pytest.raises(UserError, match="guardrails must be functions"):
        Agent(name="a", model=ScriptedModel([]), input_guardrails=["no"])
    with pytest.raises(UserError, match="guardrails must be functions"):
        tool(lambda: 1, name="x", output_guardrails=[1])
    with pytest.raises(UserError, match="needs_approval"):
        tool(lambda: 1, name="x", needs_approval="yes")
    with pytest.raises(UserError, match="cannot be validated"):
        Agent(name="a", model=ScriptedModel([]), output_type=3)
    with pytest.raises(UserError, match="handoffs must be Agents"):
        Runner().run(Agent(name="a", model=ScriptedModel([]), handoffs=["b"]), "go")


def test_output_guardrail_on_a_final_answer_tool_call(mode):
    from pydantic import BaseModel

    class Reply(BaseModel):
        text: str

    def not_rude(context, agent, output):
        return "rude" if "stupid" in output.text else None

    model = ScriptedModel([call("final_answer", text="stupid question")])
    model.supports_response_format_with_tools = False
    session = Session()
    agent = Agent(name="a", model=model, tools=[read_file], output_type=Reply, output_guardrails=[not_rude])
    with pytest.raises(OutputGuardrailTripped, match="rude") as caught:
        run_in_mode(Runner(session), agent, "hi", mode)
    assert caught.value.output == Reply(text="stupid question")
    assert session.dialogs == [{"role": "user", "content": "hi"}]
