"""Your own feature on the engine's plug points: a capability (agentsilex.Capability), in a few lines each.

    prepare(request, step) -> request       change what is sent
    decide(call, step) -> Decision | None   claim a tool call (answer it yourself, or let it run)
    guard(step)                             check before tools run / before a step is stored (raise, or Retry)
    wrap(loop) -> loop                      see every request and reply of the run (intercept() forwards them)

Runs offline: python examples/capabilities.py
"""

from __future__ import annotations

import time

from agentsilex import AlreadyAnswered, Agent, Capability, ModelCall, Retry, Runner, Session, intercept, tool
from agentsilex.result import answer
from agentsilex.testing import ScriptedModel, call


@tool
def read_file(path: str) -> str:
    """Read a file."""
    return f"contents of {path}"


@tool
def delete_file(path: str) -> str:
    """Delete a file."""
    return f"deleted {path}"


class ReadOnlyFridays(Capability):
    """A policy: tell the model, and answer every delete call without running it."""

    def prepare(self, request, step):
        request.messages = [*request.messages, {"role": "system", "content": "Files are read-only today."}]
        return request

    def decide(self, call, step):
        if call["function"]["name"] == "delete_file":
            return AlreadyAnswered(call, answer(call, "Error: files are read-only today.", failed=True))
        return None


class NoShouting(Capability):
    """A check on the final answer: not stored; the model answers again with the note."""

    def guard(self, step):
        if step.phase == "commit" and step.final and str(step.output).isupper():
            raise Retry("Please answer without shouting.")


class Timing(Capability):
    """Middleware around the run: how long each model call took."""

    def __init__(self):
        self.took: list[float] = []

    def wrap(self, loop):
        started = {}
        return (yield from intercept(
            loop,
            before=lambda request: started.__setitem__(id(request), time.perf_counter()),
            after=lambda request, reply, error: isinstance(request, ModelCall) and self.took.append(
                time.perf_counter() - started.pop(id(request)))))


model = ScriptedModel([[call("delete_file", path="notes.txt"), call("read_file", path="notes.txt")],
                       "I READ IT BUT COULD NOT DELETE IT", "I read notes.txt; deleting is off today."])
timing = Timing()
session = Session()
runner = Runner(session, capabilities=[ReadOnlyFridays(), NoShouting(), timing])
result = runner.run(Agent(name="files", model=model, tools=[read_file, delete_file]), "Read and delete notes.txt")

for record in result.function_calls:
    print(f"{record.name}: {record.content}")
print("answer:", result.final_output)
print("the model saw:", model.requests[0].messages[-1]["content"])
print("asked again after:", model.requests[2].messages[-1]["content"])
print("model calls timed:", len(timing.took))
print("stored:", [m["role"] for m in session.dialogs])
