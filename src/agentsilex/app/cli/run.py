"""`agentsilex run AGENT PROMPT`: one run, streamed to the terminal (or `--json` for scripts)."""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console

from ...features.approval import RunState
from ..common import DEFAULT_STORE, Store, make_runner, needs_prices, result_view, save_pending
from ...result import RunResult
from ...runner import RunStream
from ...session import Session
from ...questions import answering
from . import app
from ._asking import terminal_asker
from ._terminal import BASE_URL_HELP, MODEL_HELP, Printer, ask_approvals, fail, one_line_errors, prepare_agent


@app.command()
def run(
    agent: str = typer.Argument(..., help="The agent: module:agent or path/to/file.py:agent."),
    prompt: str = typer.Argument(..., help="What to ask."),
    model: str | None = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    base_url: str | None = typer.Option(None, "--base-url", help=BASE_URL_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the RunResult as JSON instead of streaming."),
    session: str | None = typer.Option(None, "--session", "-s", help="Continue this stored session."),
    store: str = typer.Option(DEFAULT_STORE, "--store", help="Where --session lives: sqlite:///file.db, "
                              "redis://..., postgresql://..."),
    approve_all: bool = typer.Option(False, "--approve-all", help="Approve every tool call that asks for it."),
    retries: int | None = typer.Option(None, "--retries", help="Retries of a failing model call (default 3)."),
) -> None:
    """Run an agent once: the answer streams, each tool call shows as it happens, usage and cost at the end."""
    console = Console(highlight=False, soft_wrap=True)  # no inserted line breaks: pipes get whole lines
    with one_line_errors(base_url=base_url):
        chosen = prepare_agent(agent, model, base_url)
        memory = Store(store).create(session) if session else Session()
        runner = make_runner(memory, retries=retries)
        printer = Printer(console, priced=needs_prices(chosen))
        request: str | RunState = prompt
        while True:
            result = runner.run(chosen, request) if as_json else _stream(runner.run_stream(chosen, request), printer)
            if session:
                save_pending(memory, result)  # a paused run stays with the session, for `agentsilex chat`
            if not result.pending_approvals or (as_json and not approve_all):
                break
            request = _decide(result, approve_all, console)
    if as_json:
        print(json.dumps(result_view(result, priced=needs_prices(chosen)), indent=2))


def _stream(stream: RunStream, printer: Printer) -> RunResult:
    try:
        with answering(terminal_asker(printer.console, input)):  # a tool's server may ask a question
            for event in stream:
                printer.event(event)
    except KeyboardInterrupt:
        stream.close()
        printer.console.print("\n[yellow]stopped[/]")
        raise typer.Exit(130) from None
    printer.finish(stream.result)
    return stream.result


def _decide(result: RunResult, approve_all: bool, console: Console) -> RunState:
    """The decisions for a paused run: all approved, asked at the prompt, or (with no terminal) an error."""
    if approve_all:
        return result.state.approve_all()
    if not sys.stdin.isatty():
        names = ", ".join(p.tool_name for p in result.pending_approvals)
        fail(f"The run paused: {names} needs approval. Rerun with --approve-all, or use `agentsilex chat`.")
    try:
        return ask_approvals(result, console, input)
    except (KeyboardInterrupt, EOFError):
        console.print("\n[yellow]stopped: the calls were not run[/]")
        raise typer.Exit(130) from None
