"""`agentsilex batch AGENT PROMPTS.jsonl`: every prompt through a provider's batch API, at half price.

    agentsilex batch my_app.agents:agent prompts.jsonl --out results.jsonl
    agentsilex batch my_app.agents:agent prompts.jsonl --name nightly --store sqlite:///runs.db   (resumable)

Each line of the prompts file is a JSON string, or an object {"prompt": "...", "id": "..."}. Each run's result is
one JSON line (to --out, or standard output); progress and the cost go to standard error. With --name, each run
is stored as session `<name>-<id>` in --store (without it, `batch-<random>-<id>`), and the same command resumes the
job after a crash.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console

from ...batch import PROVIDERS, BatchResult
from ...errors import UserError
from ..common import Store, jsonable
from . import app
from ._terminal import BASE_URL_HELP, MODEL_HELP, one_line_errors, prepare_agent


@app.command()
def batch(
    agent: str = typer.Argument(..., help="The agent: module:agent or path/to/file.py:agent."),
    prompts: Path = typer.Argument(..., help="JSONL: a JSON string per line, or {\"prompt\": ..., \"id\": ...}."),
    provider: str = typer.Option("openai", help=f"Whose batch API: {', '.join(PROVIDERS)}."),
    name: Optional[str] = typer.Option(None, help="Name the job to resume it after a crash (needs --store)."),
    store: Optional[str] = typer.Option(None, help="Keep each run's session here (sqlite:///file.db, redis://...)."),
    out: Optional[Path] = typer.Option(None, help="Write the results here (JSONL) instead of standard output."),
    poll_interval: float = typer.Option(30.0, help="The longest wait, in seconds, between two looks at a batch."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    base_url: Optional[str] = typer.Option(None, "--base-url", help=BASE_URL_HELP),
) -> None:
    """Run every prompt of a file through a provider's batch API; a result line per prompt, the cost at the end."""
    console = Console(stderr=True, highlight=False)
    with one_line_errors(base_url=base_url):
        chosen = prepare_agent(agent, model, base_url)
        items = read_prompts(prompts)
        if name is not None and store is None:
            raise UserError("--name makes the job resumable from its stored sessions: give --store too "
                            "(e.g. --store sqlite:///runs.db).")
        opened = Store(store) if store is not None else None
        prefix = name or f"batch-{uuid.uuid4().hex[:8]}"  # without a name, new sessions for this job only
        sessions = [opened.create(f"{prefix}-{item['id']}") for item in items] if opened else None
        from ...runner import Runner

        result = Runner().run_batch(chosen, [item["prompt"] for item in items], provider=provider, name=name,
                                    sessions=sessions, poll_interval=poll_interval, progress=_shown(console))
    lines = [json.dumps(line) for line in result_lines(result, items)]
    if out is not None:
        out.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    else:
        sys.stdout.write("".join(line + "\n" for line in lines))
    console.print(summary(result))
    raise typer.Exit(1 if result.errors else 0)


def read_prompts(path: Path) -> list[dict]:
    """The prompts of a JSONL file, each {"prompt", "id"} (the id defaults to the line's number)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"Cannot read the prompts file {str(path)!r}: {exc}.") from None
    items = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            raise UserError(f"{path}:{number} is not JSON: write a JSON string or {{\"prompt\": ...}} per "
                            "line.") from None
        if isinstance(value, str):
            value = {"prompt": value}
        if not isinstance(value, dict) or not isinstance(value.get("prompt"), str):
            raise UserError(f"{path}:{number}: each line is a JSON string or an object with a \"prompt\" string.")
        items.append({"prompt": value["prompt"], "id": str(value.get("id", len(items)))})
    if not items:
        raise UserError(f"{path} holds no prompts.")
    return items


def result_lines(result: BatchResult, items: list[dict]) -> list[dict[str, Any]]:
    lines = []
    for run, item in zip(result.runs, items):
        usage = run.result.usage if run.result is not None else None
        lines.append({"id": item["id"], "prompt": item["prompt"],
                      "final_output": jsonable(run.result.final_output) if run.result is not None else None,
                      "error": f"{type(run.error).__name__}: {run.error}" if run.error is not None else None,
                      "usage": {"requests": usage.requests, "input_tokens": usage.input_tokens,
                                "output_tokens": usage.output_tokens, "cost_usd": usage.cost_usd} if usage else None})
    return lines


def summary(result: BatchResult) -> str:
    ok = sum(r is not None for r in result.results)
    price = ""
    if result.cost_usd is not None:
        price = f", ${result.cost_usd:.6f} at the batch price (${result.full_price_usd:.6f} one by one)"
    return (f"{ok}/{len(result)} runs done, {len(result.errors)} failed, in {result.rounds} rounds "
            f"({len(result.batches)} provider batches, job {result.name!r}){price}")


def _shown(console: Console) -> Any:
    def show(info: dict) -> None:
        if info["event"] == "submitted":
            console.print(f"round {info['round']}: sent {info['requests']} requests as batch {info['batch']}")
        elif info["event"] == "polled":
            console.print(f"  {info['batch']}: {info['status']}, {info['completed']}/{info['total']} answered"
                          + (f", {info['failed']} failed" if info["failed"] else ""))
        elif info["event"] == "round":
            console.print(f"round {info['round']} done: {info['runs_done']}/{info['runs']} runs finished")

    return show
