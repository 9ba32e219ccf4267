"""Human approval: the run stops before a sensitive tool runs; another process decides and resumes it.

    python examples/approval.py
Process 1 runs until the model asks for `delete_file` and exits: the paused run is kept with the SQLite
session. Process 2 (started here for you) opens the same session, lists what waits, approves one call,
rejects the other and finishes the run. Nothing is saved by hand: the session store keeps it all. The kept
state is signed with the application's approval key, which both processes share (here from
AGENTSILEX_APPROVAL_KEY, or a demo key): an edited or foreign state is refused.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from agentsilex import Agent, Conversation, Runner, tool
from agentsilex.stores import SQLiteSession
from agentsilex.testing import ScriptedModel, call


@tool(needs_approval=True)
def delete_file(path: str) -> str:
    """Delete a file."""
    return f"deleted {path}"


APPROVAL_KEY = os.environ.get("AGENTSILEX_APPROVAL_KEY", "demo key -- keep yours in a secret store")


def agent(replies: list) -> Agent:
    return Agent(name="ops", model=ScriptedModel(replies), tools=[delete_file])


def ask(database: Path) -> None:
    """Process 1: the run pauses; its stream says what waits."""
    session = SQLiteSession("ops-chat", database)
    stream = Runner(session, approval_key=APPROVAL_KEY).run_stream(
        agent([[call("delete_file", path="old.log"), call("delete_file", path="db.sqlite")]]), "Clean up the disk")
    for event in stream:
        if event.type == "approval_requested":
            print(f"waiting for approval: {event.name}({event.arguments})")
    session.close()


def decide(database: Path) -> None:
    """Process 2 (after a restart, say): load the session, list what waits, decide, run."""
    session = SQLiteSession("ops-chat", database)
    state = Conversation(session, approval_key=APPROVAL_KEY).paused  # its signature is checked here
    for pending in state.pending_approvals:
        if "db.sqlite" in pending.arguments:
            state.reject(pending.call_id, "the database stays")
        else:
            state.approve(pending.call_id)
    result = Runner(session, approval_key=APPROVAL_KEY).run(agent(["Deleted old.log; kept the database."]), state)
    for message in session.get_dialogs():
        if message["role"] == "tool":
            print("tool answer:", message["content"])
    print("final output:", result.final_output)
    print("still waiting:", Conversation(session, approval_key=APPROVAL_KEY).pending_approvals)
    session.close()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--decide":
        decide(Path(sys.argv[2]))
    else:
        with tempfile.TemporaryDirectory() as folder:
            database = Path(folder) / "sessions.db"
            ask(database)
            subprocess.run([sys.executable, __file__, "--decide", str(database)], check=True)
