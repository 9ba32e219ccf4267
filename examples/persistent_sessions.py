"""Sessions that last: a SQLite session survives the process; edit it turn by turn; fork it to branch.

    .venv/bin/python examples/persistent_sessions.py        (offline: a scripted model stands in for the LLM)

With a real model, replace `model=ScriptedModel([...])` by `model="gpt-4o"` (and set OPENAI_API_KEY).
For Redis or PostgreSQL use `RedisSession(id, url=...)` or `SQLAlchemySession(id, url=...)`: same methods.
"""

from __future__ import annotations

import os
import tempfile

from agentsilex import Agent, Runner, tool
from agentsilex.stores import SQLiteSession
from agentsilex.testing import ScriptedModel, call
from agentsilex.utils import print_dialog_history


@tool
def remember(key: str, value: str) -> str:
    """Remember something."""
    return f"Remembered {key} = {value}"


def main() -> None:
    path = os.path.join(tempfile.mkdtemp(), "sessions.db")
    model = ScriptedModel([call("remember", key="color", value="blue"), "Noted: blue.",
                           "Your favourite color is blue.", "Green it is, in this branch."])
    agent = Agent(name="memory_bot", model=model, instructions="Remember things when asked.", tools=[remember])

    Runner(SQLiteSession("alice", path)).run(agent, "My favorite color is blue")
    # A new session object -- as in a new process -- picks the conversation up from the file.
    session = SQLiteSession("alice", path)
    print(Runner(session).run(agent, "What's my favorite color?").final_output)

    branch = session.fork("alice-what-if")  # copy the conversation, then let the copy go its own way
    branch.pop_turn()  # drop the last question and its answer, never splitting a tool call from its result
    Runner(branch).run(agent, "Actually, make it green")
    print("sessions in the file:", session.list_sessions())
    print_dialog_history(branch)
    session.rewind(1)  # drop the last turn of the original too
    print("original now has", len(session), "messages")
    session.delete_session("alice-what-if")
    print("after delete:", session.list_sessions())


if __name__ == "__main__":
    main()
