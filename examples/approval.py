"""Human approval: the run stops before a sensitive tool runs; a later process resumes it.

    python examples/approval.py
Step 1 runs until the model asks for `delete_file`, then saves the session and the paused run as JSON.
Step 2 (a new Python process, started here for you) loads both, approves one call, rejects the other,
and finishes the run. The saved state is signed with the application's approval key, which both processes
share (here from AGENTSILEX_APPROVAL_KEY, or a demo key): an edited or foreign state is refused.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from agentsilex import Agent, RunState, Runner, Session, tool
from agentsilex.testing import ScriptedModel, call


@tool(needs_approval=True)
def delete_file(path: str) -> str:
    """Delete a file."""
    return f"deleted {path}"


APPROVAL_KEY = os.environ.get("AGENTSILEX_APPROVAL_KEY", "demo key -- keep yours in a secret store")


def agent(replies: list) -> Agent:
    return Agent(name="ops", model=ScriptedModel(replies), tools=[delete_file])


def step_one(folder: Path) -> None:
    session = Session()
    paused = Runner(session, approval_key=APPROVAL_KEY).run(agent([[call("delete_file", path="old.log"), call("delete_file", path="db.sqlite")]]),
                                 "Clean up the disk")
    for pending in paused.pending_approvals:
        print(f"waiting for approval: {pending.call_id} {pending.tool_name}({pending.arguments})")
    (folder / "session.json").write_text(json.dumps(session.dialogs))
    (folder / "state.json").write_text(paused.state.to_json())


def step_two(folder: Path) -> None:
    session = Session(dialogs=json.loads((folder / "session.json").read_text()))
    state = RunState.from_json((folder / "state.json").read_text())
    state.approve("call_1").reject("call_2", "the database stays")
    result = Runner(session, approval_key=APPROVAL_KEY).run(agent(["Deleted old.log; kept the database."]), state)
    for message in session.dialogs:
        if message["role"] == "tool":
            print("tool answer:", message["content"])
    print("final output:", result.final_output)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--resume":
        step_two(Path(sys.argv[2]))
    else:
        with tempfile.TemporaryDirectory() as folder:
            step_one(Path(folder))
            subprocess.run([sys.executable, __file__, "--resume", folder], check=True)
