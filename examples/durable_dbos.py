"""Durable runs on DBOS: no server, checkpoints in the SQLite (or PostgreSQL) database you already use.

    pip install 'agentsilex[dbos]'
    python examples/durable_dbos.py

The agent loop runs as a DBOS workflow and each model and tool call as a DBOS step, checkpointed in SQLite. A
process that dies mid-run is recovered when the next one calls `DBOS.launch()`: completed steps come back from
their checkpoints, only the step in flight runs again (with the same `current_tool_call().idempotency_key`).
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from dbos import DBOS

from agentsilex import Agent, current_tool_call, tool
from agentsilex.durable.dbos import AgentsilexDBOS
from agentsilex.stores import SQLiteSession
from agentsilex.testing import ScriptedModel, call


@tool
def book_room(day: str) -> str:
    """Book the meeting room."""
    return f"booked for {day} (key {current_tool_call().idempotency_key[:8]}...)"


agent = Agent(name="office", instructions="You book rooms.", tools=[book_room],
              model=ScriptedModel([call("book_room", day="Friday"), "The room is booked for Friday."]))


async def main(database: Path) -> None:
    durable = AgentsilexDBOS(agents=[agent], store=f"sqlite:///{database}")  # before DBOS.launch()
    DBOS(config={"name": "office", "system_database_url": f"sqlite:///{database}", "log_level": "ERROR"})
    DBOS.launch()  # also recovers this executor's runs that a crash interrupted
    try:
        handle = await durable.start_run(agent, "Book the room for Friday.", session_id="team")
        result = await handle.result()
        print("answer:", result.final_output)
        print("tool said:", result.function_calls[0].content)
        steps = await DBOS.list_workflow_steps_async(handle.id)
        print("checkpointed steps:", [step["function_name"] for step in steps])
    finally:
        DBOS.destroy()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "office.db"  # the sessions and DBOS's checkpoints, in one file
        asyncio.run(main(database))
        print("stored:", [m["role"] for m in SQLiteSession("team", database).get_dialogs()])
