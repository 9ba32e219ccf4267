"""`agentsilex chat` in a real terminal (tmux): type, read the screen, press Ctrl-C mid-answer.

tmux comes from `.ci/services.sh`; without it these tests skip locally, and fail in CI (CI=true).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from agentsilex.frontend import PENDING_KEY, Store

if not shutil.which("tmux"):
    if os.environ.get("CI") == "true":
        raise RuntimeError("tmux is missing in CI: .ci/services.sh installs it")
    pytest.skip("tmux is not installed (sudo bash .ci/services.sh installs it)", allow_module_level=True)

SLOW_AGENT = """
from agentsilex.testing.demo import DemoModel, agent as demo
agent = demo.clone(model=DemoModel(delay={delay}))
"""


class Terminal:
    """A chat running in its own tmux server (a private socket, so nothing else is touched)."""

    def __init__(self, command: list[str], cwd: str) -> None:
        self.socket = f"agentsilex-test-{uuid.uuid4().hex[:8]}"
        env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "TERM": "xterm-256color"}
        self._tmux("new-session", "-d", "-x", "120", "-y", "50", "-c", cwd, " ".join(command), env=env)

    def _tmux(self, *args: str, env: dict | None = None) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, env=env, timeout=10)
        return done.stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-S", "-200")

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-l", text)
        self._tmux("send-keys", "Enter")

    def key(self, name: str) -> None:
        self._tmux("send-keys", name)

    def wait_for(self, text: str, *, count: int = 1, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if screen.count(text) >= count:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} (x{count}) never showed on the screen:\n{self.screen()}")

    def alive(self) -> bool:
        return subprocess.run(["tmux", "-L", self.socket, "has-session"], capture_output=True).returncode == 0

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


@pytest.fixture
def chat(tmp_path):
    terminals: list[Terminal] = []

    def start(delay: float = 0.0) -> tuple[Terminal, Store]:
        (tmp_path / "slow_agent.py").write_text(SLOW_AGENT.format(delay=delay))
        db = f"sqlite:///{tmp_path / 'chat.db'}"
        command = [sys.executable, "-m", "agentsilex.cli", "chat", "slow_agent.py:agent", "--session", "t",
                   "--store", db]
        terminals.append(Terminal(command, str(tmp_path)))
        terminals[-1].wait_for("you>")
        return terminals[-1], Store(db)
    yield start
    for terminal in terminals:
        terminal.close()


def test_type_a_question_read_the_answer_and_approve_at_the_prompt(chat):
    term, store = chat()
    term.type("What is 5 + 3?")
    screen = term.wait_for("5 + 3 = **8**")
    assert '▸ add_numbers({"a": 5, "b": 3})' in screen and "✓ 8" in screen
    term.type("delete old.log")
    term.wait_for("approve? [y/N]")
    term.type("y")
    term.wait_for("✓ deleted old.log")
    term.type("delete new.log")
    term.wait_for("approve? [y/N]", count=2)
    term.key("C-c")  # no decision: the run stays paused in the session, the chat goes on
    term.wait_for("left waiting: the session keeps the paused run")
    term.type("/quit")
    deadline = time.monotonic() + 10
    while term.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not term.alive(), "the chat should end on /quit"
    assert [m["role"] for m in store.session("t").get_dialogs()].count("tool") == 2
    assert store.session("t").get_state(PENDING_KEY)  # `chat --session t` offers it again


def test_ctrl_c_stops_the_answer_not_the_chat_and_the_session_stays_valid(chat):
    term, store = chat(delay=0.15)
    term.type("hello there")
    term.wait_for("You said")  # the answer is streaming (about 8 s at this speed)
    term.key("C-c")
    screen = term.wait_for("stopped")
    assert "hand you over to a poet" not in screen, "Ctrl-C should stop the answer before it ends"
    term.type("What is 2 + 2?")
    term.wait_for("2 + 2 = **4**")
    term.key("C-c")  # at the prompt: a hint, and the chat goes on
    term.wait_for("Ctrl-D or /quit to leave")
    assert term.alive()
    roles = [m["role"] for m in store.session("t").get_dialogs()]
    assert roles[-4:] == ["user", "assistant", "tool", "assistant"] and roles.count("user") == 2
