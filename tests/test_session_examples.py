"""The session and memory examples run offline and say what they promise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str) -> str:
    done = subprocess.run([sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_persistent_sessions_example():
    out = run_example("persistent_sessions.py")
    assert "Your favourite color is blue." in out
    assert "sessions in the file: ['alice', 'alice-what-if']" in out and "after delete: ['alice']" in out


def test_memory_strategies_example():
    out = run_example("memory_strategies.py")
    assert "Your cat is 5." in out and "stored messages: 14" in out
    assert "system: Summary of the earlier conversation" in out
