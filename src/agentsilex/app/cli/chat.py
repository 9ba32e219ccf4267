"""`agentsilex chat AGENT`: a REPL on a stored session, with streaming, tool lines and approvals."""

from __future__ import annotations

from typing import Any, Callable

import typer
from rich.console import Console
from rich.markup import escape

from ...features.approval import RunState
from ...features.conversation import Conversation
from ...result import RunUsage
from ...errors import AgentsilexError
from ...features.content import text_of
from ..common import (DEFAULT_STORE, PENDING_KEY, Store, describe_error, make_runner, needs_prices, new_session_id,
                      save_pending, usage_line, usage_view)
from ...questions import answering
from . import app
from ._asking import terminal_asker
from ._terminal import BASE_URL_HELP, MODEL_HELP, Printer, ask_approvals, one_line_errors, prepare_agent

COMMANDS = """[bold]/undo[/]      remove the last turn      [bold]/history[/]  show this session
[bold]/new[/]       start a new session       [bold]/sessions[/] list the stored sessions
[bold]/switch ID[/] go to another session     [bold]/usage[/]    tokens and cost: session, chat
[bold]/quit[/]      leave (or Ctrl-D)         Ctrl-C stops an answer, not the chat"""


@app.command()
def chat(
    agent: str = typer.Argument(..., help="The agent: module:agent or path/to/file.py:agent."),
    session: str | None = typer.Option(None, "--session", "-s", help="Session to open (created if new)."),
    store: str = typer.Option(DEFAULT_STORE, "--store", help="sqlite:///file.db, redis://..., postgresql://..."),
    model: str | None = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    base_url: str | None = typer.Option(None, "--base-url", help=BASE_URL_HELP),
    retries: int | None = typer.Option(None, "--retries", help="Retries of a failing model call (default 3)."),
) -> None:
    """Chat with an agent in the terminal; the conversation is kept in a session store."""
    console = Console(highlight=False, soft_wrap=True)  # no inserted line breaks: pipes get whole lines
    with one_line_errors(base_url=base_url):
        chosen = prepare_agent(agent, model, base_url)
        repl = Chat(chosen, Store(store), session or new_session_id(), console, retries=retries, base_url=base_url)
    repl.loop(input)


class Chat:
    """The REPL's state: the agent, the store, the current session, usage so far."""

    def __init__(self, agent: Any, store: Store, session_id: str, console: Console, *, retries: int | None = None,
                 base_url: str | None = None) -> None:
        self.agent, self.store, self.console = agent, store, console
        self.retries, self.base_url = retries, base_url
        self.priced = needs_prices(agent)
        self.usage = RunUsage()
        self.open(session_id)

    def open(self, session_id: str) -> None:
        self.session = self.store.create(session_id)
        self.runner = make_runner(self.session, retries=self.retries)
        count = len(self.session.get_dialogs())
        note = f", {count} messages (/history shows them)" if count else ""
        self.console.print(f"[bold]{escape(self.agent.name)}[/] · session [bold]{escape(session_id)}[/]{note} · "
                           "/help for commands", highlight=False)

    def loop(self, ask: Callable[[str], str]) -> None:
        self._resume_pending(ask)
        while True:
            try:
                line = ask("you> ").strip()
            except EOFError:
                self.console.print()
                return
            except KeyboardInterrupt:
                self.console.print("\n[dim](Ctrl-D or /quit to leave)[/]")
                continue
            if not line:
                continue
            if line.startswith("/"):
                if self.command(line) == "quit":
                    return
                continue
            self.answer(line, ask)

    def answer(self, prompt: str | RunState, ask: Callable[[str], str]) -> None:
        """One run (and its resumptions after approvals); Ctrl-C stops it and the chat goes on."""
        printer = Printer(self.console, priced=self.priced)
        while True:
            try:
                stream = self.runner.run_stream(self.agent, prompt)
                try:
                    with answering(terminal_asker(self.console, ask)):  # a tool's server may ask a question
                        for event in stream:
                            printer.event(event)
                except KeyboardInterrupt:
                    stream.close()  # the loop answers any open tool call: the session stays valid
                    self.console.print("\n[yellow]stopped[/]")
                    return
            except AgentsilexError as error:
                printer.end_text()
                self.console.print(f"[bold red]error:[/] {escape(describe_error(error, base_url=self.base_url))}",
                                   highlight=False, soft_wrap=True)
                return
            result = stream.result
            printer.finish(result)
            save_pending(self.session, result)
            self.usage.merge(result.usage)  # this part only: a resumed run's `usage` starts at its pause
            if not result.pending_approvals:
                return
            try:
                prompt = ask_approvals(result, self.console, ask)
            except (KeyboardInterrupt, EOFError):
                self.console.print("\n[yellow]left waiting: the session keeps the paused run[/]")
                return

    def _resume_pending(self, ask: Callable[[str], str]) -> None:
        saved = self.session.get_state(PENDING_KEY)
        if saved:
            self.console.print("[yellow]This session has a run waiting for approval.[/]")
            try:
                state = ask_approvals(_Paused(RunState.from_json(saved)), self.console, ask)  # type: ignore[arg-type]
            except (KeyboardInterrupt, EOFError):
                self.console.print("\n[yellow]left waiting[/]")
                return
            self.answer(state, ask)

    def command(self, line: str) -> str | None:
        name, _, argument = line.partition(" ")
        argument = argument.strip()
        if name in ("/quit", "/exit", "/q"):
            return "quit"
        if name == "/help":
            self.console.print(COMMANDS)
        elif name == "/undo":
            removed = self.session.pop_turn()
            self.session.set_state(PENDING_KEY, None)
            self.console.print(f"[dim]removed the last turn ({len(removed)} messages)[/]" if removed
                               else "[dim]nothing to undo[/]")
        elif name == "/new":
            self.open(argument or new_session_id())
        elif name == "/switch" and argument:
            self.open(argument)
        elif name == "/sessions":
            for row in self.store.list():
                mark = "*" if row["id"] == self.session.session_id else " "
                self.console.print(f"{mark} {escape(row['id'])}  [dim]{row['messages']} messages[/]  "
                                   f"{escape(row['title'])}", highlight=False)
        elif name == "/history":
            self.history()
        elif name == "/usage":  # what the session recorded (every run on it), and what this chat spent
            recorded = usage_view(Conversation(self.session).usage, priced=self.priced)
            self.console.print(usage_line(recorded) + " (this session)")
            self.console.print(usage_line(usage_view(self.usage, priced=self.priced)) + " (this chat)")
        else:
            self.console.print(f"[red]unknown command {escape(line)!s}[/]; /help lists them", highlight=False)
        return None

    def history(self) -> None:
        for message in self.session.get_dialogs():
            role = message.get("role")
            if role == "user":
                self.console.print(f"[bold]you>[/] {escape(text_of(message.get('content')))}", highlight=False)
            elif role == "assistant":
                for call in message.get("tool_calls") or []:
                    self.console.print(f"[cyan]▸ {escape(call['function']['name'])}[/]"
                                       f"({escape(call['function']['arguments'])})", highlight=False)
                if message.get("content"):
                    self.console.print(escape(str(message["content"])), highlight=False)
            elif role == "tool":
                self.console.print(f"  [green]✓[/] {escape(str(message.get('content')))}", highlight=False)


class _Paused:
    """What ask_approvals reads from a paused result, rebuilt from a saved RunState."""

    def __init__(self, state: RunState) -> None:
        self.state = state
        self.pending_approvals = state.undecided()
