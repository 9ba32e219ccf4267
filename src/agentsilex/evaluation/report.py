"""Reports of an evaluation: a plain-text table, JSON, and one self-contained HTML page (no scripts, no CDN)."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from .data import DialogTurn, EvalCaseResult, EvalSetResult


def to_json(result: EvalSetResult) -> dict[str, Any]:
    """The whole result as plain JSON data, with the set's totals."""
    data = result.model_dump(mode="json")
    data.update(input_tokens=result.input_tokens, output_tokens=result.output_tokens, cost_usd=result.cost_usd)
    return data


def _figures(case: EvalCaseResult) -> str:
    cost = f", ${case.cost_usd:.4f}" if case.cost_usd is not None else ""
    return f"{case.duration_seconds:.2f}s, {case.input_tokens}+{case.output_tokens} tokens{cost}"


def format_table(result: EvalSetResult) -> str:
    """A plain-text table: one row per case, a column per metric, and the summary."""
    metrics = list(result.metric_summaries)
    rows = [["case", "result", *metrics, "time / tokens"]]
    for case in result.case_results:
        scores = [f"{case.metric_results[m].score:.3f}{'' if case.metric_results[m].passed else ' ✗'}"
                  if m in case.metric_results else "-" for m in metrics]
        rows.append([case.eval_id, "PASS" if case.passed else "FAIL", *scores, _figures(case)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    for case in result.case_results:
        if case.error:
            lines.append(f"{case.eval_id}: {case.error}")
    for name, summary in result.metric_summaries.items():
        lines.append(f"{name}: avg={summary.avg_score:.3f} min={summary.min_score:.3f} max={summary.max_score:.3f} "
                     f"pass_rate={summary.pass_rate:.1%} ({summary.passed_count}/{summary.total_count})")
    cost = f", ${result.cost_usd:.4f}" if result.cost_usd is not None else ""
    lines.append(f"{'PASSED' if result.passed else 'FAILED'}: {result.passed_cases}/{result.total_cases} cases in "
                 f"{result.duration_seconds:.2f}s, {result.input_tokens}+{result.output_tokens} tokens{cost}")
    return "\n".join(lines)


_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.4em} table{border-collapse:collapse;margin:.5em 0} td,th{border:1px solid #ccc;padding:3px 8px;
text-align:left;vertical-align:top} .pass{color:#17702f;font-weight:600} .fail{color:#b3261e;font-weight:600}
details{border:1px solid #ddd;border-radius:6px;margin:.6em 0;padding:.3em .8em} summary{cursor:pointer}
.turn{border-left:3px solid #ddd;margin:.6em 0;padding-left:.8em} .who{font-weight:600;color:#555}
pre{white-space:pre-wrap;background:#f6f6f6;padding:.4em;margin:.2em 0} .error{color:#b3261e}
"""


def _verdict(passed: bool) -> str:
    return f'<span class="{"pass" if passed else "fail"}">{"PASS" if passed else "FAIL"}</span>'


def _tools(turn: DialogTurn) -> str:
    if not turn.tools_used:
        return "<i>no tool calls</i>"
    return "".join(f"<pre>{escape(t.name)}({escape(json.dumps(t.arguments_dict(), ensure_ascii=False))}) → "
                   f"{escape(str(t.response))}</pre>" for t in turn.tools_used)


def _turn(case: EvalCaseResult, index: int) -> str:
    expected = case.expected_turns[index] if index < len(case.expected_turns) else DialogTurn(user_utterance="")
    actual = case.actual_turns[index] if index < len(case.actual_turns) else DialogTurn(user_utterance="")
    scores = "".join(
        f"<tr><td>{escape(name)}</td><td>{m.turn_results[index].score:.3f}</td>"
        f"<td>{_verdict(m.turn_results[index].passed)}</td><td>{escape(m.turn_results[index].detail or '')}</td></tr>"
        for name, m in case.metric_results.items() if index < len(m.turn_results))
    return (f'<div class="turn"><div class="who">Turn {index + 1} · user</div><pre>'
            f"{escape(expected.user_utterance)}</pre>"
            f'<table><tr><th></th><th>expected</th><th>actual</th></tr>'
            f"<tr><td>tools</td><td>{_tools(expected)}</td><td>{_tools(actual)}</td></tr>"
            f"<tr><td>answer</td><td><pre>{escape(expected.agent_response)}</pre></td>"
            f"<td><pre>{escape(actual.agent_response)}</pre></td></tr></table>"
            f"<table><tr><th>metric</th><th>score</th><th></th><th>why</th></tr>{scores}</table></div>")


def _case(case: EvalCaseResult) -> str:
    metrics = ", ".join(f"{escape(name)} {m.score:.3f}{'' if m.passed else ' ✗'}"
                        for name, m in case.metric_results.items())
    errors = [case.error] + [f"{name}: {m.error}" for name, m in case.metric_results.items() if m.error]
    error_html = "".join(f'<p class="error">{escape(e)}</p>' for e in errors if e)
    turns = "".join(_turn(case, i) for i in range(len(case.expected_turns)))
    return (f"<details{'' if case.passed else ' open'}><summary>{_verdict(case.passed)} <b>{escape(case.eval_id)}"
            f"</b> — {metrics} <small>({escape(_figures(case))})</small></summary>{error_html}{turns}</details>")


def to_html(result: EvalSetResult, title: str = "agentsilex evaluation") -> str:
    """One self-contained page: the summary, then every case (failed ones open) with its turns and scores."""
    summary_rows = "".join(
        f"<tr><td>{escape(name)}</td><td>{s.avg_score:.3f}</td><td>{s.min_score:.3f}</td><td>{s.max_score:.3f}</td>"
        f"<td>{s.pass_rate:.1%} ({s.passed_count}/{s.total_count})</td></tr>"
        for name, s in result.metric_summaries.items())
    cost = f", ${result.cost_usd:.4f}" if result.cost_usd is not None else ""
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>"
            f"<p>{_verdict(result.passed)} {result.passed_cases}/{result.total_cases} cases passed in "
            f"{result.duration_seconds:.2f}s, {result.input_tokens}+{result.output_tokens} tokens{cost}</p>"
            f"<table><tr><th>metric</th><th>avg</th><th>min</th><th>max</th><th>pass rate</th></tr>{summary_rows}"
            f"</table>{''.join(_case(c) for c in result.case_results)}</body></html>")
