"""A DBOS process for the durable tests: python tests/durable/dbos_app.py SYSTEM_DB STORE COMMAND [ARGS].

    run PROMPT SESSION     start a run, print its workflow id, then its final output
    recover WORKFLOW_ID    launch (DBOS recovers this executor's unfinished runs), print that run's final output
    approve PROMPT SESSION start a run, approve the call it waits for, print its final output"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dbos import DBOS  # noqa: E402

from agentsilex.durable.dbos import AgentsilexDBOS  # noqa: E402
from durable.agents import agents  # noqa: E402


async def main(system_db: str, store: str, command: str, *args: str) -> None:
    durable = AgentsilexDBOS(agents=agents(), store=store)
    DBOS(config={"name": "agentsilex-tests", "system_database_url": system_db, "log_level": "ERROR",
                 "notification_listener_polling_interval_sec": 0.05})
    DBOS.launch()
    try:
        if command == "recover":
            handle = await durable.get_run(args[0])
        else:
            handle = await durable.start_run(agents()[0], args[0], session_id=args[1])
            print("workflow", handle.id, flush=True)
        if command == "approve":
            async for event in handle.events(stop_at_pause=True):
                if event.type == "approval_requested":
                    await handle.approve(event.call_id)
        result = await handle.result()
        print("result", result.final_output, flush=True)
    finally:
        DBOS.destroy()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
