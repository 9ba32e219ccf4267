import json
import os
import subprocess
import sys
import textwrap

from conftest import run_in_mode
from history import assert_valid_history as assert_valid

import pytest

from agentsilex import Agent, RunState, Runner, Session, UserError, tool
from agentsilex.testing import ScriptedModel, call

deleted = []


@tool(needs_approval=True)
def delete_file(path: str) -> str:
    """Delete a file."""
    deleted.append(path)
    return f"deleted {path}"


@tool(needs_approval=lambda context, arguments: arguments["amount"] > 100)
def pay(amount: int) -> str:
    """Pay an amount."""
    return f"paid {amount}"


@tool
def ls() -> str:
    """List files."""
    return "a.txt b.txt"


def test_pause_then_approve_and_reject_in_process(mode):
    deleted.clear()
    model = ScriptedModel([[call("delete_file", path="a.txt", call_id="call_1"),
                            call("delete_file", path="b.txt", call_id="call_2"), call("ls", call_id="call_3")],
                           "Deleted a.txt; b.txt was refused."])
    agent = Agent(name="ops", model=model, tools=[delete_file, ls])
    session = Session()
    runner = Runner(session)
    paused, events = run_in_mode(runner, agent, "clean up", mode)
    assert paused.final_output is None and deleted == []
    assert [(p.call_id, p.tool_name, json.loads(p.arguments)) for p in paused.pending_approvals] == [
        ("call_1", "delete_file", {"path": "a.txt"}), ("call_2", "delete_file", {"path": "b.txt"})]
    assert session.dialogs == [{"role": "user", "content": "clean up"}]  # valid while waiting
    assert "final_result" not in [e.type for e in events]
    state = RunState.from_json(paused.state.to_json())
    with pytest.raises(UserError, match="call_2"):
        run_in_mode(runner, agent, state.approve("call_1"), mode)  # every call must be decided
    state.reject("call_2", "keep b")
    result, _ = run_in_mode(runner, agent, state, mode)
    assert result.final_output == "Deleted a.txt; b.txt was refused."
    assert deleted == ["a.txt"]
    tool_messages = {m["tool_call_id"]: m["content"] for m in session.dialogs if m["role"] == "tool"}
    assert tool_messages["call_1"] == "deleted a.txt" and tool_messages["call_3"] == "a.txt b.txt"
    assert "refused" in tool_messages["call_2"] and "keep b" in tool_messages["call_2"]
    # usage after the resume, before the pause, and in total
    assert (result.usage.requests, result.usage_before_pause.requests, result.total_usage.requests) == (1, 1, 2)
    assert_valid(session.dialogs)
    with pytest.raises(UserError, match="already resumed"):
        run_in_mode(runner, agent, state, mode)


def test_per_call_rule_and_malformed_arguments_fail_closed(mode):
    model = ScriptedModel([[call("pay", amount=5), call("pay", '{"amount": "lots'),
                            call("pay", amount=500, call_id="call_3")], "done"])
    session = Session()
    paused, _ = run_in_mode(Runner(session), Agent(name="p", model=model, tools=[pay]), "pay", mode)
    assert [p.call_id for p in paused.pending_approvals] == ["call_3"]  # only the large one waits
    result, _ = run_in_mode(Runner(session), Agent(name="p", model=model, tools=[pay]),
                            paused.state.approve("call_3"), mode)
    answers = [m["content"] for m in session.dialogs if m["role"] == "tool"]
    assert answers[0] == "paid 5" and answers[1].startswith("Error:") and answers[2] == "paid 500"


def test_failing_decision_function_means_approval_needed():
    def broken(context, arguments):
        raise KeyError("oops")

    risky = tool(lambda: "ran", name="risky", needs_approval=broken)
    paused = Runner().run(Agent(name="r", model=ScriptedModel([call("risky")]), tools=[risky]), "go")
    assert [p.tool_name for p in paused.pending_approvals] == ["risky"]


def test_agent_used_as_tool_cannot_ask_for_approval(mode):
    deleted.clear()
    sub = Agent(name="sub", model=ScriptedModel([call("delete_file", path="x"), "could not"]), tools=[delete_file])
    main = Agent(name="main", model=ScriptedModel([call("sub", input="delete x"), "no"]), tools=[sub.as_tool()])
    result, _ = run_in_mode(Runner(), main, "go", mode)
    assert result.final_output == "no" and deleted == []
    assert "needs human approval" in sub.model.requests[1].messages[-1]["content"]


def test_bad_state_text_is_a_user_error():
    with pytest.raises(UserError, match="Not a saved RunState"):
        RunState.from_json('{"version": 99}')


RESUME_SCRIPT = textwrap.dedent('''
    import asyncio, json, sys
    sys.path.insert(0, sys.argv[5])
    from conftest import run_in_mode
    from agentsilex import Agent, RunState, Runner, tool
    from agentsilex.stores import SQLiteSession
    from agentsilex.testing import ScriptedModel

    log_path = sys.argv[4]

    @tool(needs_approval=True)
    def delete_file(path: str) -> str:
        """Delete a file."""
        with open(log_path, "a") as log:
            log.write(path + "\\n")
        return f"deleted {path}"

    session_path, state_path, mode = sys.argv[1:4]
    session = SQLiteSession("desk", session_path)  # the session that paused, in another process
    with open(state_path) as f:
        state = RunState.from_json(f.read())
    state.approve("call_1").reject("call_2", "not that one")
    agent = Agent(name="ops", model=ScriptedModel(["Done."]), tools=[delete_file])
    result, _ = run_in_mode(Runner(session), agent, state, mode)
    print(json.dumps({"final_output": result.final_output, "requests": result.total_usage.requests}))
''')


def test_pause_json_new_process_approve_and_reject(mode, tmp_path, monkeypatch):
    from agentsilex.stores import SQLiteSession

    monkeypatch.setenv("AGENTSILEX_APPROVAL_KEY", "a-key-shared-by-both-processes")  # the new process inherits it
    model = ScriptedModel([[call("delete_file", path="a.txt", call_id="call_1"),
                            call("delete_file", path="b.txt", call_id="call_2")]])
    session = SQLiteSession("desk", tmp_path / "sessions.db")
    paused, _ = run_in_mode(Runner(session), Agent(name="ops", model=model, tools=[delete_file]), "clean", mode)
    (tmp_path / "state.json").write_text(paused.state.to_json())
    script = tmp_path / "resume.py"
    script.write_text(RESUME_SCRIPT)
    log = tmp_path / "deleted.log"
    tests_dir = os.path.dirname(__file__)
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "sessions.db"), str(tmp_path / "state.json"),
                           mode, str(log), tests_dir], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"final_output": "Done.", "requests": 2}
    assert log.read_text() == "a.txt\n"
    dialogs = SQLiteSession("desk", tmp_path / "sessions.db").get_dialogs()
    assert_valid(dialogs)
    assert [m["role"] for m in dialogs] == ["user", "assistant", "tool", "tool", "assistant"]
    assert dialogs[2]["content"] == "deleted a.txt" and "refused" in dialogs[3]["content"]


def test_limits_count_what_was_spent_before_the_pause():
    from agentsilex import RunLimits, UsageLimitExceeded

    model = ScriptedModel([call("ls"), call("delete_file", path="a", call_id="call_2"), call("ls"), "done"])
    session = Session()
    runner = Runner(session, limits=RunLimits(max_tool_calls=2))
    agent = Agent(name="ops", model=model, tools=[delete_file, ls])
    paused = runner.run(agent, "go")
    state = RunState.from_json(paused.state.to_json()).approve("call_2")
    assert state.spent["tool_calls"] == 1
    with pytest.raises(UsageLimitExceeded, match="max_tool_calls=2"):
        runner.run(agent, state)
    assert_valid(session.dialogs)


def test_pause_after_a_handoff_resumes_in_the_target_agent(mode):
    deleted.clear()
    ops = Agent(name="ops", model=ScriptedModel([call("delete_file", path="x"), "gone"]), tools=[delete_file])
    front = Agent(name="front", model=ScriptedModel([call("transfer_to_ops")]), handoffs=[ops])
    session = Session()
    paused, _ = run_in_mode(Runner(session), front, "delete x", mode)
    assert paused.last_agent is ops and paused.pending_approvals[0].agent == "ops"
    state = RunState.from_json(paused.state.to_json()).approve_all()
    result, _ = run_in_mode(Runner(session), front, state, mode)  # resume from the starting agent
    assert result.final_output == "gone" and result.last_agent is ops and deleted == ["x"]
    assert_valid(session.dialogs)


def test_a_state_edited_after_the_pause_is_refused():
    model = ScriptedModel([call("delete_file", path="a.txt", call_id="call_1")])
    agent = Agent(name="ops", model=model, tools=[delete_file, ls])
    paused = Runner().run(agent, "go")
    data = json.loads(paused.state.to_json())
    data["message"]["tool_calls"][0]["function"]["arguments"] = '{"path": "/"}'
    state = RunState.from_json(json.dumps(data)).approve("call_1")
    with pytest.raises(UserError, match="does not match"):
        Runner().run(agent, state)
    data = json.loads(paused.state.to_json())
    data["decisions"] = {"call_1": {"approved": True}, "call_9": {"approved": True}}
    with pytest.raises(UserError, match="not signed"):
        Runner().run(agent, RunState.from_json(json.dumps(data)))
