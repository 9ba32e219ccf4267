"""Terminal helpers shared by `run` and `chat`: showing a run as it streams, asking for approvals, failing in
one line."""

from __future__ import annotations

import contextlib
import json
from typing import Any, Callable, Iterator, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from ...agent import Agent
from ...features.approval import RunState
from ...errors import AgentsilexError
from ..common import (check_environment, describe_error, jsonable, load_agent, usage_line, usage_view,
                      with_model)
from ...result import RunResult

MODEL_HELP = "Use this model instead of the agent's: a LiteLLM string (gpt-4o-mini, ...) or 'demo' (offline)."
BASE_URL_HELP = "An OpenAI-compatible server for the model (e.g. http://localhost:8000/v1)."


def fail(message: str, console: Console | None = None) -> NoReturn:
    """Print one line (no traceback) and exit with status 1."""
    (console or Console(stderr=True)).print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


@contextlib.contextmanager
def one_line_errors(*, base_url: str | None = None) -> Iterator[None]:
    """Turn agentsilex's errors (and an agent file that does not import) into one line and exit status 1."""
    try:
        yield
    except (AgentsilexError, ImportError, SyntaxError) as error:
        fail(describe_error(error, base_url=base_url))


def prepare_agent(spec: str, model: str | None, base_url: str | None) -> Agent:
    """Load the agent, apply --model/--base-url, and check its API key is set (before any call)."""
    agent = with_model(load_agent(spec), model, base_url=base_url)
    check_environment(agent)
    return agent


class Printer:
    """Shows a run's events: text as it streams, a line per tool call and result, handoffs, then usage."""

    def __init__(self, console: Console, *, priced: bool = True) -> None:
        self.console = console
        self.priced = priced
        self._in_text = False

    def event(self, event: Any) -> None:
        if event.type == "partial_output":
            self.console.print(escape(event.content), end="", highlight=False, soft_wrap=True)
            self._in_text = True
            return
        if event.type == "tool_call":
            self.end_text()
            self.console.print(f"[cyan]▸ {escape(event.name)}[/]({escape(_short(event.arguments))})", highlight=False)
        elif event.type == "tool_response":
            style, mark = ("red", "✗") if event.error else ("green", "✓")
            self.console.print(f"  [{style}]{mark}[/] {escape(_short(event.content))}", highlight=False)
        elif event.type == "agent_handoff":
            self.end_text()
            self.console.print(f"[magenta]⇢ handed off to {escape(event.agent_name)}[/]", highlight=False)

    def finish(self, result: RunResult) -> None:
        self.end_text()
        if result.pending_approvals:
            names = ", ".join(p.tool_name for p in result.pending_approvals)
            self.console.print(f"[yellow]⏸ paused: {escape(names)} needs your approval[/]", highlight=False)
            return
        if not isinstance(result.final_output, str) and result.final_output is not None:
            self.console.print_json(json.dumps(jsonable(result.final_output)))
        # total_usage: a run resumed after approvals counts the requests before its pause too
        self.console.print(f"[dim]{usage_line(usage_view(result.total_usage, priced=self.priced))}[/]",
                           highlight=False)

    def end_text(self) -> None:
        if self._in_text:
            self.console.print()
            self._in_text = False


def ask_approvals(result: RunResult, console: Console, ask: Callable[[str], str]) -> RunState:
    """Ask about each pending call (y/n, and a reason on no); return the state with the decisions.

    Ctrl-C or the end of input here raises KeyboardInterrupt / EOFError: the run stays paused."""
    state = result.state
    for pending in result.pending_approvals:
        console.print(f"[yellow]? {escape(pending.agent)} wants to run[/] [bold]{escape(pending.tool_name)}[/]"
                      f"({escape(pending.arguments)})", highlight=False)
        answer = ask("  approve? [y/N] ").strip().lower()
        if answer in ("y", "yes"):
            state.approve(pending.call_id)
        else:
            state.reject(pending.call_id, ask("  reason (optional): ").strip())
    return state


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"

