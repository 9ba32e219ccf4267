"""`agentsilex serve AGENT`: the web chat (needs the `web` extra)."""

from __future__ import annotations

import secrets

import typer
from rich.console import Console

from ..common import DEFAULT_STORE, Store
from . import app
from ._terminal import BASE_URL_HELP, MODEL_HELP, fail, one_line_errors, prepare_agent


@app.command()
def serve(
    agent: str = typer.Argument(..., help="The agent: module:agent or path/to/file.py:agent."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; anything but loopback needs a token."),
    allow_host: list[str] = typer.Option([], "--allow-host", help="Also answer requests addressed to this host "
                                         "name (repeat; loopback and --host always are). Others get 421."),
    port: int = typer.Option(8000, "--port", "-p", help="Port to listen on."),
    token: str | None = typer.Option(None, "--token", envvar="AGENTSILEX_TOKEN",
                                     help="Require this token for the API (generated when --host is not loopback)."),
    store: str = typer.Option(DEFAULT_STORE, "--store", help="sqlite:///file.db, redis://..., postgresql://..."),
    model: str | None = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    base_url: str | None = typer.Option(None, "--base-url", help=BASE_URL_HELP),
    retries: int | None = typer.Option(None, "--retries", help="Retries of a failing model call (default 3)."),
    example: list[str] = typer.Option([], "--example", "-e", help="A prompt the empty chat offers to try (repeat "
                                      "for more)."),
    public_url: str | None = typer.Option(None, "--public-url", help="The address clients reach this server at, "
                                          "for the A2A agent card (default: http://HOST:PORT)."),
    temporal: str | None = typer.Option(None, "--temporal", help="HOST:PORT of a Temporal server: every answer "
                                        "is a durable run (needs the temporal extra; see docs/durable.md)."),
    task_queue: str = typer.Option("agentsilex", "--task-queue", help="With --temporal: the workers' task queue."),
    worker: bool = typer.Option(True, "--worker/--no-worker", help="With --temporal: run a worker in this process "
                                "too (more: agentsilex worker)."),
) -> None:
    """Serve a web chat with the agent: streaming answers, tool cards, approvals, stored sessions."""
    try:
        import uvicorn

        from ..web import create_app
        from ..web.doors import is_loopback
    except ImportError:
        fail("agentsilex serve needs the web extra: pip install -e '.[web]'")
    console = Console(highlight=False, soft_wrap=True)  # no inserted line breaks: pipes get whole lines
    shown = f"[{host}]" if ":" in host else host
    if public_url is None and host not in ("0.0.0.0", "::"):  # a wildcard address: the card uses each request's
        public_url = f"http://{shown}:{port}"
    with one_line_errors(base_url=base_url):
        chosen = prepare_agent(agent, model, base_url)
        if not is_loopback(host) and not token:
            token = secrets.token_urlsafe(18)
        durable = _durable(temporal, chosen, store, task_queue, worker) if temporal else None
        web = create_app(chosen, store=Store(store), token=token, retries=retries, examples=example,
                         public_url=public_url, host=host, allowed_hosts=allow_host,
                         runs=durable.runs if durable else None)
        if durable is not None:  # connected in the server's own event loop
            web.router.on_startup.append(durable.start)
            web.router.on_shutdown.append(durable.stop)
    _announce(console, chosen.name, f"http://{shown}:{port}" + (f"/?token={token}" if token else "/"),
              host if host in ("0.0.0.0", "::") and not allow_host and not public_url else None)
    uvicorn.run(web, host=host, port=port, log_level="warning")


def _announce(console: Console, name: str, url: str, wildcard: str | None) -> None:
    console.print(f"agentsilex: chat with [bold]{name}[/] at {url}  (Ctrl-C stops)", soft_wrap=True)
    if wildcard:  # a browser elsewhere uses a name (or address) of this machine
        console.print(f"note: only requests addressed to loopback or {wildcard} are answered (421 otherwise); to open "
                      "it from another machine, add --allow-host with the name or address it will use.")


def _durable(address: str, agent: object, store: str, task_queue: str, worker: bool) -> object:
    try:
        from ...durable.temporal import TemporalChat
    except ImportError:
        fail("agentsilex serve --temporal needs the temporal extra: pip install -e '.[temporal]'")
    return TemporalChat(address, agent, store, task_queue=task_queue, worker=worker)
