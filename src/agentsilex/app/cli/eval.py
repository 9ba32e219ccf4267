"""`agentsilex eval`: score an agent on an evaluation set and exit 1 when it fails (a CI gate).

    agentsilex eval my_app.agents:agent evalset.json --threshold 0.6 --json out.json --html out.html
    agentsilex eval --from-session sqlite:///sessions.db 42 --out evalset.json     (a conversation -> a case)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from ...errors import UserError
from ..common import load_agent, load_object
from . import app

_DEFAULT_THRESHOLDS = {"tool_trajectory": 1.0, "response_match": 0.5, "llm_judge": 0.5}


@app.command("eval")
def eval_command(
    target: Optional[str] = typer.Argument(None, help="The agent: module:attribute or path/to/file.py:attribute"),
    evalset: Optional[Path] = typer.Argument(None, help="The evaluation set (agentsilex 1.0 JSON format)"),
    threshold: list[str] = typer.Option([], "--threshold", "-t", help="Pass mark: VALUE for the response "
                                        "match, or METRIC=VALUE (tool_trajectory, response_match, llm_judge)"),
    metric: list[str] = typer.Option([], "--metric", "-m", help="Metrics to score (repeat); default: "
                                     "tool_trajectory and response_match, plus llm_judge with --judge"),
    similarity: str = typer.Option("rouge1", help="Response match: rouge1, rouge2, rougeL or exact"),
    trajectory: str = typer.Option("exact", help="Tool calls: exact, in_order, any_order or subset"),
    judge: Optional[str] = typer.Option(None, help="Judge model for llm_judge: a model string or module:attribute"),
    judge_samples: int = typer.Option(3, help="Judge verdicts per turn (majority wins)"),
    concurrency: int = typer.Option(4, help="Cases run at once"),
    batch: Optional[str] = typer.Option(None, help="Run the set through this provider's batch API (openai), "
                                        "at its batch price: answers may take hours"),
    poll_interval: float = typer.Option(30.0, help="--batch: the longest wait between two looks at a batch"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the full result as JSON"),
    html_out: Optional[Path] = typer.Option(None, "--html", help="Write a self-contained HTML report"),
    from_session: Optional[tuple[str, str]] = typer.Option(
        None, "--from-session", metavar="STORE_URL SESSION_ID",
        help="Turn a stored conversation into an eval case instead (with --out)"),
    out: Optional[Path] = typer.Option(None, help="--from-session: the evaluation set to add the case to"),
    eval_id: Optional[str] = typer.Option(None, help="--from-session: the case's id (default: the session id)"),
) -> None:
    """Evaluate an agent on an evaluation set; exit code 0 when every case passes, 1 when any fails."""
    try:
        if from_session:
            _case_from_session(*from_session, out=out, eval_id=eval_id)
            return
        if target is None or evalset is None:
            raise UserError("Give the agent and the evaluation set: agentsilex eval module:agent evalset.json "
                            "(or --from-session STORE_URL SESSION_ID --out evalset.json).")
        passed = _evaluate(target, evalset, threshold, metric, similarity, trajectory, judge, judge_samples,
                           concurrency, json_out, html_out, batch, poll_interval)
    except (UserError, ImportError, SyntaxError) as exc:  # a bad option, or an agent file that does not import
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except OSError as exc:  # a report path that is a folder, a full disk, ...
        typer.echo(f"error: cannot write {exc.filename!r}: {exc.strerror or exc}.", err=True)
        raise typer.Exit(2) from None
    raise typer.Exit(0 if passed else 1)


def _evaluate(target: str, evalset: Path, thresholds: list[str], metrics: list[str], similarity: str,
              trajectory: str, judge: str | None, judge_samples: int, concurrency: int, json_out: Path | None,
              html_out: Path | None, batch: str | None = None, poll_interval: float = 30.0) -> bool:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ...evaluation import AgentEvaluator, EvalSet, report

    agent = load_agent(target)
    eval_set = EvalSet.load(evalset)
    if not eval_set.cases:
        typer.echo(f"error: {str(evalset)!r} has no cases, so nothing was evaluated: FAILED. Add cases (or build "
                   "them from stored conversations with --from-session).", err=True)
        return False
    evaluators = build_evaluators(thresholds, metrics, similarity, trajectory, judge, judge_samples)
    console = Console(stderr=True)
    with Progress(TextColumn("evaluating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("cases", total=len(eval_set.cases))
        result = AgentEvaluator(agent, evaluators, concurrency=concurrency, batch=batch,
                                batch_options={"poll_interval": poll_interval} if batch else None,
                                progress=lambda done, total, case: bar.update(task, completed=done)).evaluate(eval_set)
    _print_table(result)
    if json_out is not None:
        json_out.write_text(json.dumps(report.to_json(result), indent=2), encoding="utf-8")
    if html_out is not None:
        html_out.write_text(report.to_html(result, title=f"agentsilex eval: {evalset.name}"), encoding="utf-8")
    return result.passed


def build_evaluators(thresholds: list[str], metrics: list[str], similarity: str, trajectory: str,
                     judge: str | None, judge_samples: int) -> list[Any]:
    """The evaluators the command's options describe."""
    from ...evaluation import LLMJudgeEvaluator, ResponseMatchEvaluator, SimilarityMetric, ToolTrajectoryEvaluator

    marks = dict(_DEFAULT_THRESHOLDS)
    for item in thresholds:
        name, _, value = item.rpartition("=")
        name = name or "response_match"
        if name not in marks:
            raise UserError(f"--threshold {item!r}: unknown metric {name!r}; use one of {sorted(marks)}.")
        try:
            marks[name] = float(value)
        except ValueError:
            raise UserError(f"--threshold {item!r}: {value!r} is not a number.") from None
    wanted = metrics or ["tool_trajectory", "response_match", *(["llm_judge"] if judge else [])]
    try:
        similarity_metric = SimilarityMetric(similarity)
    except ValueError:
        raise UserError(f"--similarity {similarity!r}: use rouge1, rouge2, rougeL or exact.") from None
    evaluators: list[Any] = []
    for name in wanted:
        if name == "tool_trajectory":
            evaluators.append(ToolTrajectoryEvaluator(marks[name], match=trajectory))
        elif name == "response_match":
            evaluators.append(ResponseMatchEvaluator(marks[name], metric=similarity_metric))
        elif name == "llm_judge":
            if not judge:
                raise UserError("--metric llm_judge needs --judge MODEL (a model string or module:attribute).")
            model = load_object(judge) if ":" in judge and not judge.split(":", 1)[1].startswith("/") else judge
            evaluators.append(LLMJudgeEvaluator(marks[name], model=model, num_samples=judge_samples))
        else:
            raise UserError(f"--metric {name!r}: use tool_trajectory, response_match or llm_judge.")
    return evaluators


def _print_table(result: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="evaluation")
    for column in ("case", "result", *result.metric_summaries, "time", "tokens"):
        table.add_column(column, overflow="fold")
    for case in result.case_results:
        scores = [f"{case.metric_results[m].score:.3f}" + ("" if case.metric_results[m].passed else " ✗")
                  if m in case.metric_results else "-" for m in result.metric_summaries]
        verdict = "[green]PASS[/]" if case.passed else "[red]FAIL[/]"
        table.add_row(case.eval_id, verdict, *scores, f"{case.duration_seconds:.2f}s",
                      f"{case.input_tokens}+{case.output_tokens}")
    console = Console()
    console.print(table)
    for case in result.case_results:
        if case.error:
            console.print(f"[red]{case.eval_id}[/]: {case.error}", markup=True, highlight=False)
    for name, summary in result.metric_summaries.items():
        console.print(f"{name}: avg={summary.avg_score:.3f} pass_rate={summary.pass_rate:.1%} "
                      f"({summary.passed_count}/{summary.total_count})", highlight=False)
    cost = f", ${result.cost_usd:.4f}" if result.cost_usd is not None else ""
    if result.batch is not None:
        full = result.batch["full_price_usd"]
        console.print(f"batch: {result.batch['rounds']} rounds, {result.batch['batches']} {result.batch['provider']} "
                      f"batches" + (f"; one by one it would cost ${full:.4f}" if full is not None else ""),
                      highlight=False)
    console.print(f"{'PASSED' if result.passed else 'FAILED'}: {result.passed_cases}/{result.total_cases} cases in "
                  f"{result.duration_seconds:.2f}s, {result.input_tokens}+{result.output_tokens} tokens{cost}",
                  highlight=False)


def _case_from_session(store_url: str, session_id: str, *, out: Path | None, eval_id: str | None) -> None:
    from ...evaluation import EvalSet, case_from_session, open_session

    if out is None:
        raise UserError("--from-session needs --out evalset.json: the set to add the case to (created if missing).")
    case = case_from_session(open_session(store_url, session_id), eval_id or session_id)
    eval_set = EvalSet.load(out) if out.exists() else EvalSet(cases=[])
    eval_set.cases = [c for c in eval_set.cases if c.eval_id != case.eval_id] + [case]
    eval_set.dump(out)
    typer.echo(f"added case {case.eval_id!r} ({len(case.dialog_session)} turns) to {out}")
