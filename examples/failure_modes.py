"""What happens when things go wrong (docs/failures.md), offline against the loopback server.

    python examples/failure_modes.py
"""

from __future__ import annotations

import json

from agentsilex import Agent, Image, Runner, RunState, Session, tool
from agentsilex.errors import ModelTimeoutError, UserError
from agentsilex.models.retry import RetryPolicy
from agentsilex.testing import LoopbackServer, Malformed, ScriptedModel, Stall, call


@tool(needs_approval=True)
def read_file(path: str) -> str:
    """Read a file."""
    return "contents"


def main() -> None:
    # 1. A proxy answers HTTP 200 with an HTML page: a retryable ModelError, retried; nothing half-stored.
    with LoopbackServer([Malformed("html"), "The answer, on the second try."]) as server:
        session = Session()
        result = Runner(session, retry=RetryPolicy(initial_delay=0)).run(
            Agent(name="a", model=server.openai_model()), "Hello?")
        print("1.", result.final_output, "| stored:", [m["role"] for m in session.dialogs])

    # 2. A provider that accepts the request and says nothing: a ModelTimeoutError after model_timeout.
    with LoopbackServer([Stall(30)]) as server:
        try:
            Runner(model_timeout=0.5, retry=RetryPolicy(max_retries=0)).run(
                Agent(name="a", model=server.openai_model()), "Hello?")
        except ModelTimeoutError as exc:
            print("2. ModelTimeoutError:", str(exc).split(" -- ")[0][:60], "...")

    # 3. A bad message never enters a session.
    try:
        Session().add_new_messages({"content": "no role"})
    except UserError as exc:
        print("3. UserError:", str(exc).split(".")[0])

    # 4. A paused run's state is signed: renaming the call the human approved is refused.
    session = Session()
    runner = Runner(session, approval_key="an application key kept in a secret store")
    agent = Agent(name="ops", model=ScriptedModel([call("read_file", path="notes.txt"), "done"]), tools=[read_file])
    data = json.loads(runner.run(agent, "read my notes").state.to_json())
    data["message"]["tool_calls"][0]["function"]["name"] = data["pending"][0]["tool_name"] = "delete_file"
    try:
        runner.run(agent, RunState.from_json(json.dumps(data)).approve_all())
    except UserError as exc:
        print("4. UserError:", str(exc).split(":")[0])

    # 5. An approval is bound to the conversation that paused: a copy of its history is another conversation.
    session = Session()
    agent = Agent(name="ops", model=ScriptedModel([call("read_file", path="notes.txt"), "done"]), tools=[read_file])
    paused = Runner(session, approval_key="an application key kept in a secret store").run(agent, "read my notes")
    copy = Session(list(session.dialogs))
    try:
        Runner(copy, approval_key="an application key kept in a secret store").run(agent, paused.state.approve_all())
    except UserError as exc:
        print("5. UserError:", str(exc).split(":")[0])

    # 6. Content is checked before it is read: a device (or a FIFO) is refused at once, never read.
    try:
        Image.from_path("/dev/zero")
    except UserError as exc:
        print("6. UserError:", str(exc).split(",")[0])


if __name__ == "__main__":
    main()
