"""A question from a tool's server (MCP elicitation), asked at the prompt while the tool call waits."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Callable

from rich.console import Console
from rich.markup import escape

from ...questions import Answer, Question


def terminal_asker(console: Console, ask: Callable[[str], str]) -> Callable[[Question], Any]:
    """An asker for `answering(...)`: one question at a time, on a thread (the server's loop keeps running)."""
    lock = threading.Lock()

    async def answer(question: Question) -> Answer:
        return await asyncio.to_thread(_ask, question, console, ask, lock)

    return answer


def _ask(question: Question, console: Console, ask: Callable[[str], str], lock: threading.Lock) -> Answer:
    with lock:
        console.print(f"\n[yellow]? {escape(question.server)} asks:[/] {escape(question.message)}", highlight=False)
        try:
            if question.url is not None:
                console.print(f"  open {escape(question.url)}", highlight=False)
                return Answer("accept" if ask("  done? [y/N] ").strip().lower() in ("y", "yes") else "decline")
            content = {}
            for name, spec in (question.schema.get("properties") or {}).items():
                value = ask(f"  {_label(name, spec)}: ").strip()
                if value:
                    content[name] = value
                elif "default" in spec:
                    content[name] = spec["default"]
            send = ask("  send? [Y/n] ").strip().lower()
            return Answer("accept", content) if send in ("", "y", "yes") else Answer("decline")
        except (KeyboardInterrupt, EOFError):
            console.print("\n[yellow]cancelled[/]")
            return Answer("cancel")


def _label(name: str, spec: dict) -> str:
    hint = spec.get("description") or spec.get("title") or name
    kinds = "/".join(str(v) for v in spec["enum"]) if "enum" in spec else \
        "y/n" if spec.get("type") == "boolean" else spec.get("type", "text")
    default = f", default {spec['default']}" if "default" in spec else ""
    return f"{hint} [{kinds}{default}]"
