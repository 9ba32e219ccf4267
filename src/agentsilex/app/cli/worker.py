"""`agentsilex worker AGENT --temporal HOST:PORT`: a Temporal worker for durable runs (needs the `temporal` extra)."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console

from ..common import DEFAULT_STORE
from . import app
from ._terminal import BASE_URL_HELP, MODEL_HELP, fail, one_line_errors, prepare_agent


@app.command()
def worker(
    agent: str = typer.Argument(..., help="The agent: module:agent or path/to/file.py:agent."),
    temporal: str = typer.Option("127.0.0.1:7233", "--temporal", help="HOST:PORT of the Temporal server."),
    task_queue: str = typer.Option("agentsilex", "--task-queue", help="The task queue to take work from."),
    store: str = typer.Option(DEFAULT_STORE, "--store", help="sqlite:///file.db, redis://..., postgresql://..."),
    model: str | None = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    base_url: str | None = typer.Option(None, "--base-url", help=BASE_URL_HELP),
) -> None:
    """Run a worker for durable runs of the agent (start them with `agentsilex serve --temporal` or start_run)."""
    try:
        from temporalio.client import Client
        from temporalio.worker import Worker

        from ...durable.temporal import AgentsilexPlugin
    except ImportError:
        fail("agentsilex worker needs the temporal extra: pip install 'agentsilex[temporal]'")
    console = Console(highlight=False, soft_wrap=True)

    async def run() -> None:
        with one_line_errors(base_url=base_url):
            chosen = prepare_agent(agent, model, base_url)
            client = await Client.connect(temporal, plugins=[AgentsilexPlugin(agents=[chosen], store=store)])
        console.print(f"agentsilex: worker for [bold]{chosen.name}[/] on {temporal}, task queue {task_queue} "
                      "(Ctrl-C stops)")
        await Worker(client, task_queue=task_queue).run()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
