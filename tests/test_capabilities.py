"""Your own features on the engine's four plug points (agentsilex.Capability), in all four modes."""

from __future__ import annotations

import pytest
from conftest import run_in_mode
from history import assert_valid_history

from agentsilex import (AlreadyAnswered, Agent, Capability, ModelCall, Retry, Runner, Session, UserError, intercept,
                        tool)
from agentsilex.result import answer
from agentsilex.testing import ScriptedModel, call


@tool
def delete(path: str) -> str:
    """Delete a file."""
    return f"deleted {path}"


@tool
def read(path: str) -> str:
    """Read a file."""
    return f"contents of {path}"


class NoDeletes(Capability):
    """Ten lines: a policy that answers every delete call itself, and a note in every request."""

    def prepare(self, request, step):
        request.messages = [*request.messages, {"role": "system", "content": "Deleting is off today."}]
        return request

    def decide(self, call, step):
        if call["function"]["name"] == "delete":
            return AlreadyAnswered(call, answer(call, "Error: deleting is off today.", failed=True))
        return None


def test_prepare_and_decide_in_every_mode(mode):
    model = ScriptedModel([[call("delete", path="a"), call("read", path="b")], "done"])
    session = Session()
    result, _ = run_in_mode(Runner(session, capabilities=[NoDeletes()]), Agent(name="a", model=model,
                                                                              tools=[delete, read]), "go", mode)
    assert result.final_output == "done"
    assert [c.content for c in result.function_calls] == ["Error: deleting is off today.", "contents of b"]
    assert all(r.messages[-1]["content"] == "Deleting is off today." for r in model.requests)
    assert_valid_history(session.dialogs)
    model.assert_complete()


class Shorter(Capability):
    """A guard that refuses a long final answer once, asking again with a note."""

    def __init__(self):
        self.asked = 0

    def guard(self, step):
        if step.phase == "commit" and step.final and len(step.output) > 10 and not self.asked:
            self.asked += 1
            raise Retry("Answer in ten characters or fewer.")


def test_guard_asks_for_another_answer_with_a_note(mode):
    model = ScriptedModel(["a very long answer indeed", "short"])
    session = Session()
    result, _ = run_in_mode(Runner(session, capabilities=[Shorter()]), Agent(name="a", model=model), "hi", mode)
    assert result.final_output == "short"
    retry = model.requests[1].messages
    assert retry[-2]["content"] == "a very long answer indeed" and retry[-1]["content"].startswith("Answer in ten")
    assert [m["content"] for m in session.dialogs] == ["hi", "short"]  # the refused answer was never stored


class CountAndRefuse(Capability):
    """A wrap that counts model calls and tool batches, and refuses a third model call."""

    def __init__(self):
        self.seen: list[str] = []

    def wrap(self, loop):
        self.seen.append(f"start {loop.run.agent.name}")
        result = yield from intercept(loop, before=self.before, after=self.after)
        self.seen.append("end")
        return result

    def before(self, request):
        self.seen.append(type(request).__name__)
        if isinstance(request, ModelCall) and self.seen.count("ModelCall") > 2:
            raise UserError("three model calls is too many here")

    def after(self, request, answer, error):
        if isinstance(request, ModelCall):
            self.seen.append(f"reply {answer.message.get('content')!r}")


def test_wrap_sees_every_request_and_may_refuse(mode):
    model = ScriptedModel([call("read", path="a"), call("read", path="b"), "never"])
    capability = CountAndRefuse()
    session = Session()
    with pytest.raises(UserError, match="too many"):
        run_in_mode(Runner(session, capabilities=[capability]), Agent(name="a", model=model, tools=[read]), "go",
                    mode)
    assert capability.seen[0] == "start a" and capability.seen.count("RunTools") == 2
    assert "end" not in capability.seen and len(model.requests) == 2  # the third request was never sent
    assert_valid_history(session.dialogs)


def test_capabilities_are_checked_when_the_runner_is_made():
    with pytest.raises(UserError, match="not a capability"):
        Runner(capabilities=[object()])
    with pytest.raises(UserError, match="list of capability"):
        Runner(capabilities=NoDeletes())


def test_a_plain_object_with_one_method_is_a_capability(mode):
    seen = []

    class Watch:  # no base class: any object with one of the four methods
        def guard(self, step):
            seen.append(step.phase)

    model = ScriptedModel([call("read", path="a"), "done"])
    run_in_mode(Runner(capabilities=[Watch()]), Agent(name="a", model=model, tools=[read]), "go", mode)
    assert seen == ["input", "tools", "commit", "commit"]
