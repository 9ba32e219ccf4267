"""docs/tutorial.md, followed as a reader would: its shell blocks run in order (each in bash, `cd` and `export`
carried from one to the next), their output is checked against the text blocks that follow them, and every file
it shows is the file in examples/repo_helper/. Annotations before a block (HTML comments) say how to run it:
`not run: why`, `input: line | line` (typed at the prompt), `background: web` (a server: started, probed,
stopped), `needs: phoenix` (run against a real Phoenix by its own test)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from mcp_support import require_mcp

require_mcp()

ROOT = Path(__file__).parent.parent
TUTORIAL = ROOT / "docs" / "tutorial.md"
EXAMPLE = ROOT / "examples" / "repo_helper"
BIN = Path(sys.executable).parent
BLOCK = re.compile(r"(?:<!-- (?P<note>.*?) -->\n)?```(?P<kind>\w+)\n(?P<body>.*?)\n```", re.S)
pytestmark = pytest.mark.timeout(300)


@dataclass
class Block:
    kind: str
    body: str
    note: str = ""
    expected: list[str] = field(default_factory=list)  # the lines of the text block right after it
    end: int = 0  # where it ends in the page


def blocks() -> list[Block]:
    found: list[Block] = []
    text = TUTORIAL.read_text()
    for match in BLOCK.finditer(text):
        block = Block(match["kind"], match["body"], match["note"] or "", end=match.end())
        follows = found and found[-1].kind == "bash" and not text[found[-1].end:match.start()].strip()
        if block.kind == "text" and follows:
            found[-1].expected = [line.strip() for line in block.body.splitlines() if line.strip()]
            continue
        found.append(block)
    return found


def shell_blocks() -> list[Block]:
    return [b for b in blocks() if b.kind == "bash" and not b.note.startswith("not run")]


@dataclass
class Reader:
    """Where the reader is: the folder and the environment that the blocks so far left behind."""

    cwd: Path
    env: dict[str, str]

    def run(self, script: str, *, input: str | None = None) -> subprocess.CompletedProcess:
        state = self.cwd.parent / ".state"
        wrapped = f"set -e\n{script}\ncd \"$PWD\"; pwd > {state}.cwd; env -0 > {state}.env\n"
        done = subprocess.run(["bash", "-c", wrapped], cwd=self.cwd, env=self.env, input=input, capture_output=True,
                              text=True, timeout=240)
        if done.returncode == 0:
            self.cwd = Path(Path(f"{state}.cwd").read_text().strip())
            self.env = dict(item.split("=", 1) for item in Path(f"{state}.env").read_text().split("\0") if "=" in item)
        return done


@pytest.fixture(scope="module")
def walk(tmp_path_factory):
    """Every runnable block, in order, from a folder holding what a checkout holds for it."""
    checkout = tmp_path_factory.mktemp("tutorial") / "checkout"
    shutil.copytree(EXAMPLE, checkout / "examples" / "repo_helper", ignore=shutil.ignore_patterns("__pycache__"))
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and "BASE_URL" not in k
           and not k.startswith(("OTEL_", "REPO_HELPER_"))}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", LITELLM_LOCAL_MODEL_COST_MAP="True")
    reader = Reader(checkout, env)
    results = []
    for block in shell_blocks():
        if block.note.startswith("needs: phoenix"):
            continue
        if block.note.startswith("background: web"):
            results.append((block, serve_and_probe(reader, block)))
            continue
        answers = block.note.removeprefix("input:").split("|") if block.note.startswith("input:") else None
        done = reader.run(block.body, input="".join(f"{a.strip()}\n" for a in answers) if answers else None)
        results.append((block, done))
        if done.returncode != 0:
            break
    return reader, results


def serve_and_probe(reader: Reader, block: Block) -> subprocess.CompletedProcess:
    """Start the server the block starts (on a free port), use it as the page would, stop it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(["bash", "-c", f"exec {block.body} --port {port}"], cwd=reader.cwd, env=reader.env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                info = httpx.get(f"{url}/api/info", timeout=1).json()
                break
            except httpx.HTTPError:
                assert process.poll() is None and time.monotonic() < deadline, "agentsilex serve did not start"
                time.sleep(0.2)
        sessions = [row["id"] for row in httpx.get(f"{url}/api/sessions").json()["sessions"]]
        session = httpx.post(f"{url}/api/sessions", json={}).json()["id"]
        answer = httpx.post(f"{url}/api/sessions/{session}/messages", json={"content": info["examples"][0]},
                            timeout=60).text
        final = [json.loads(f[6:]) for f in answer.split("\n\n") if f.startswith("data: ")][-1]
        stdout = json.dumps({"info": info, "sessions": sessions, "final": final})
        return subprocess.CompletedProcess(block.body, 0, stdout, "")
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_files_shown_are_the_files_in_examples():
    shown = {b.note.removeprefix("file:").strip(): b.body for b in blocks() if b.note.startswith("file:")}
    assert set(shown) == {"repo_helper/tools.py", "repo_helper/servers.json", "repo_helper/agent.py",
                          "repo_helper/evalset.json"}
    for name, body in shown.items():
        assert body + "\n" == (EXAMPLE / name.removeprefix("repo_helper/")).read_text(), f"{name} drifted"


def test_every_step_runs_and_prints_what_the_page_shows(walk):
    _, results = walk
    assert len(results) == len(shell_blocks()) - 1  # all but the Phoenix step, which has its own test
    for block, done in results:
        assert done.returncode == 0, f"{block.body}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        for line in block.expected:
            assert line in done.stdout, f"{block.body}: {line!r} is not in\n{done.stdout}"


def test_the_chat_s_usage_is_what_the_session_recorded(walk):
    from agentsilex import Conversation
    from agentsilex.stores import SQLiteSession

    reader, results = walk
    chat = next(done for block, done in results if block.body.startswith("agentsilex chat"))
    recorded = Conversation(SQLiteSession("alice", reader.cwd / "agentsilex_sessions.db")).usage
    line = f"{recorded.requests} requests · {recorded.input_tokens} in / {recorded.output_tokens} out tokens"
    assert f"{line} · cost n/a (this session)" in chat.stdout


def test_the_web_step_shows_the_agent_and_answers_its_first_example(walk):
    _, results = walk
    served = json.loads(next(done for block, done in results if block.note.startswith("background")).stdout)
    assert served["info"]["agent"] == "repo_helper" and served["info"]["description"].startswith("Answers questions")
    assert served["info"]["examples"] == ["What are my TODOs?", "What changed?", "Commit todo.md"]
    assert "alice" in served["sessions"]  # the chat's stored conversation, in the same store
    assert served["final"]["type"] == "final_result"
    assert served["final"]["final_output"].startswith("Your TODOs:\n- todo.md:3: TODO: water the plants")


def test_the_ci_file_runs_the_tested_eval_command():
    yaml = next(b for b in blocks() if b.kind == "yaml")
    command = next(b.body for b in shell_blocks() if b.body.startswith("agentsilex eval"))
    assert f"run: {command}" in yaml.body


def test_what_is_not_run_is_an_install_of_what_the_tests_have_or_a_ci_file():
    skipped = [b for b in blocks() if b.note.startswith("not run")]
    assert [b.kind for b in skipped] == ["bash", "yaml"]
    extras = re.search(r"pip install -e '\.\[([\w,]+)\]' (\S+)", skipped[0].body)
    assert extras and extras[2] == "mcp-server-git"
    test_extra = (ROOT / "pyproject.toml").read_text()
    for extra in extras[1].split(","):  # each extra's packages are in the test extra, which CI installs
        packages = re.search(rf"^{extra} = \[(.*?)\]", test_extra, re.S | re.M)
        assert packages, extra
        for requirement in re.findall(r'"([^"]+)"', packages[1]):
            assert requirement in test_extra.split("\ntest = [", 1)[1], (extra, requirement)
    assert "mcp-server-git" in test_extra.split("\ntest = [", 1)[1]


def test_the_tracing_step_lands_in_phoenix_under_its_project(walk, phoenix):
    reader, _ = walk
    block = next(b for b in shell_blocks() if b.note.startswith("needs: phoenix"))
    assert "OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 " in block.body
    # This Phoenix listens on free ports, not 4317: the same command, aimed at them.
    script = block.body.replace("http://localhost:4317", phoenix["grpc"])
    done = reader.run(f"export OTEL_EXPORTER_OTLP_PROTOCOL=grpc\n{script}")
    assert done.returncode == 0 and "Your TODOs:" in done.stdout, done.stderr
    wanted = {"invoke_agent repo_helper", "chat offline", "execute_tool find_todos"}
    deadline, names = time.monotonic() + 30, set()
    while not wanted <= names and time.monotonic() < deadline:  # Phoenix stores what it receives in batches
        time.sleep(0.5)
        try:
            spans = _get(f"{phoenix['http']}/v1/projects/repo-helper/spans?limit=100")["data"]
            names = {span["name"] for span in spans}
        except OSError:
            names = set()
    assert wanted <= names, names


from test_tracing_receiver import _get, phoenix  # noqa: E402,F401  (a real Phoenix, started as that test does)
