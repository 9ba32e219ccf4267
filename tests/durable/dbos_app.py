"""A DBOS process for the durable tests: python tests/durable/dbos_app.py SYSTEM_DB STORE COMMAND [ARGS].

    run PROMPT SESSION     start a run, print its workflow id, then its final output
    recover WORKFLOW_ID    launch (DBOS recovers this executor's unfinished runs), print that run's final output
    approve PROMPT SESSION start a run, approve the call it waits for, print its final output
    own SESSION            a workflow of its own asks twice with DurableRunner (approving the second), prints both"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dbos import DBOS  # noqa: E402

from agentsilex.durable.dbos import AgentsilexDBOS, DurableRunner  # noqa: E402
from durable.agents import agents, lines  # noqa: E402


@DBOS.workflow(name="tests.two_questions")
async def two_questions(session_id: str) -> list[str]:
    runner = DurableRunner(session_id)
    first = await runner.run(agents()[0], "note first")
    second = await runner.run(agents()[0], "pay the second")
    return [first.final_output, second.final_output]


async def _approve_when_asked(workflow_id: str) -> None:
    """The second run pauses: approve its call (found in the events it published)."""
    from agentsilex.app.common import Store

    while True:
        for _, value in Store(sys.argv[2]).session("own")._state_items():
            for event in value.get("events", []) if isinstance(value, dict) else []:
                if event["type"] == "approval_requested":
                    await DBOS.send_async(workflow_id, {"call_id": event["fields"]["call_id"], "approved": True},
                                          "agentsilex.decide")
                    return
        await asyncio.sleep(0.05)


async def main(system_db: str, store: str, command: str, *args: str) -> None:
    durable = AgentsilexDBOS(agents=agents(), store=store)
    DBOS(config={"name": "agentsilex-tests", "system_database_url": system_db, "log_level": "ERROR",
                 "notification_listener_polling_interval_sec": 0.05})
    DBOS.launch()
    try:
        if command == "own":
            handle = await DBOS.start_workflow_async(two_questions, args[0])
            await _approve_when_asked(handle.get_workflow_id())
            print("result", " | ".join(await handle.get_result()), len(lines()), flush=True)
            return
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
