"""The engine split (issue 20), measured against the release before it, side by side in one run.

    .venv/bin/python bench/engine.py [BASELINE_COMMIT]       # default: d5ce70f, main before the split

The baseline's `src/` is extracted with `git archive` into a temporary folder and put first on sys.path, so both
trees run in the same interpreter and virtualenv, alternating, in fresh processes pinned to one CPU:
- cold import: `import agentsilex` and `from agentsilex import Agent, Runner, Session, tool` (median of 21);
- loop overhead: a run with one tool call on the scripted FunctionModel (no HTTP), 2,000 runs after a warm-up,
  median of 5 processes: what the loop, the drivers and the features on a plain run cost per model request;
- lines loaded by an import plus that run (from sys.modules).
Reported as ratios: this tree / baseline.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIN = ["taskset", "-c", "1"] if (os.cpu_count() or 1) >= 2 else []
ENV = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}

IMPORT = "import sys, time; sys.path.insert(0, {src!r}); t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
RUN = """
import sys, time, json
sys.path.insert(0, {src!r})
from agentsilex import Agent, Runner, Session, tool
from agentsilex.testing import FunctionModel

@tool
def add(a: int, b: int) -> int:
    '''Add two numbers.'''
    return a + b

def reply(messages, tools):
    from agentsilex.testing import call
    return call("add", a=1, b=1) if messages[-1]["role"] == "user" else "done: 2"

agent = Agent(name="bench", model=FunctionModel(reply), tools=[add])
for _ in range(200):
    Runner(Session()).run(agent, "1+1?")
runs = 2000
started = time.perf_counter()
for _ in range(runs):
    assert Runner(Session()).run(agent, "1+1?").final_output == "done: 2"
elapsed = time.perf_counter() - started
lines = sum(len(open(m.__file__, encoding="utf-8").read().splitlines()) for k, m in list(sys.modules.items())
            if (k == "agentsilex" or k.startswith("agentsilex.")) and not k.startswith("agentsilex.testing")
            and getattr(m, "__file__", None))
print(json.dumps({{"us_per_request": elapsed / runs / 2 * 1e6, "lines": lines}}))
"""


def extract(commit: str, into: Path) -> str:
    archive = subprocess.run(["git", "archive", commit, "src"], cwd=ROOT, capture_output=True, check=True).stdout
    with tempfile.NamedTemporaryFile(suffix=".tar") as handle:
        handle.write(archive)
        handle.flush()
        with tarfile.open(handle.name) as tar:
            tar.extractall(into, filter="data")
    return str(into / "src")


def python(code: str) -> str:
    out = subprocess.run([*PIN, sys.executable, "-c", code], capture_output=True, text=True, env=ENV, cwd=ROOT,
                         timeout=600)
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    return out.stdout.strip().splitlines()[-1]


def main() -> None:
    baseline = sys.argv[1] if len(sys.argv) > 1 else "d5ce70f"
    with tempfile.TemporaryDirectory() as folder:
        trees = {"this tree": str(ROOT / "src"), f"baseline {baseline}": extract(baseline, Path(folder))}
        rows = ["| measure | " + " | ".join(trees) + " | ratio |", "|---|---|---|---|"]
        for statement in ("import agentsilex", "from agentsilex import Agent, Runner, Session, tool"):
            times = {name: [] for name in trees}
            for _ in range(21):
                for name, src in trees.items():  # alternating, so drift hits both alike
                    times[name].append(float(python(IMPORT.format(src=src, statement=statement))))
            medians = [statistics.median(values) * 1000 for values in times.values()]
            rows.append(f"| `{statement}` (ms) | {medians[0]:.1f} | {medians[1]:.1f} | {medians[0] / medians[1]:.2f} |")
        runs = {name: [] for name in trees}
        for _ in range(5):
            for name, src in trees.items():
                runs[name].append(json.loads(python(RUN.format(src=src))))
        overhead = [statistics.median(r["us_per_request"] for r in results) for results in runs.values()]
        lines = [results[0]["lines"] for results in runs.values()]
        rows.append(f"| loop overhead, scripted model (us / request) | {overhead[0]:.1f} | {overhead[1]:.1f} | "
                    f"{overhead[0] / overhead[1]:.2f} |")
        rows.append(f"| lines loaded by import + a plain run | {lines[0]:,} | {lines[1]:,} | {lines[0] / lines[1]:.2f} |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
