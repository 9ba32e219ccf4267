"""A Temporal worker process for the durable tests: python tests/durable/worker.py ADDRESS TASK_QUEUE STORE."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from temporalio.client import Client  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from agentsilex.durable.temporal import AgentsilexPlugin  # noqa: E402
from durable.agents import agents  # noqa: E402


async def main(address: str, task_queue: str, store: str) -> None:
    plugin = AgentsilexPlugin(agents=agents(), store=store,
                              heartbeat_timeout=float(os.environ.get("DURABLE_HEARTBEAT", "2")))
    client = await Client.connect(address, plugins=[plugin])
    own = []
    if os.environ.get("DURABLE_OWN"):
        from durable.workflows import TwoQuestions

        own = [TwoQuestions]
    worker = Worker(client, task_queue=task_queue, workflows=own,
                    sticky_queue_schedule_to_start_timeout=timedelta(seconds=1))
    async with worker:
        print("ready", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
