"""Session store speed: appending a turn and loading a session, at 10 and 10,000 turns.

    .venv/bin/python bench/sessions.py                 # SQLite and in-memory
    .venv/bin/python bench/sessions.py --all           # also Redis and PostgreSQL (bash .ci/services.sh first)
    .venv/bin/python bench/sessions.py --turns 10 1000 10000 --repeat 20 --chat

A turn is four messages, as a tool-using agent writes them: the user message, the assistant's tool call,
the tool result, the final answer (~460 bytes of JSON); with --chat, two (the user message, the answer).
Times are the median of --repeat runs.
"load" is `get_dialogs()` in the process that did the appends (what the Runner does before each model call;
in one process, SQLite session objects on one file share their cache); "cold load" is the first
`get_dialogs()` with a new connection and nothing loaded yet, as in a new process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from agentsilex import Session  # noqa: E402
from agentsilex.stores import RedisSession, SQLAlchemySession, SQLiteSession  # noqa: E402
from agentsilex.stores.sqlite import _Database  # noqa: E402

REDIS_URL = os.environ.get("AGENTSILEX_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
POSTGRES_URL = os.environ.get("AGENTSILEX_TEST_POSTGRES_URL",
                              "postgresql+psycopg://agentsilex:agentsilex@127.0.0.1:5432/agentsilex_test")


def chat_turn(n: int) -> list[dict]:
    return [{"role": "user", "content": f"What is the weather in city number {n}? Answer briefly, please."},
            {"role": "assistant", "content": f"It is sunny and 21°C in city {n}. 🌞"}]


def turn(n: int) -> list[dict]:
    call_id = f"call_{n}"
    return [{"role": "user", "content": f"What is the weather in city number {n}? Answer briefly, please."},
            {"role": "assistant", "content": None, "tool_calls": [{"id": call_id, "type": "function", "function": {
                "name": "get_weather", "arguments": f'{{"city": "city {n}"}}'}}]},
            {"role": "tool", "tool_call_id": call_id, "content": f"Sunny, 21°C, wind 5 km/h in city {n}."},
            {"role": "assistant", "content": f"It is sunny and 21°C in city {n}. 🌞"}]


def stores(use_all: bool, folder: str) -> dict:
    made = {"memory": lambda sid: Session(),
            "sqlite": lambda sid: SQLiteSession(sid, os.path.join(folder, "bench.db"))}
    if use_all:
        made["redis"] = lambda sid: RedisSession(sid, url=REDIS_URL, prefix="bench")
        made["postgres"] = lambda sid: SQLAlchemySession(sid, url=POSTGRES_URL)
    return made


def as_new_process(session):
    if isinstance(session, SQLiteSession):  # session objects on one file share a connection and cache
        return SQLiteSession(session.session_id, _database=_Database(session._db.path))
    return session._sibling(session.session_id) if hasattr(session, "_sibling") else session


def measure(make, turns: int, repeat: int, turn=turn) -> tuple[float, ...]:
    session_id = f"bench-{uuid.uuid4().hex[:8]}"
    session = make(session_id)
    batch = [message for n in range(turns) for message in turn(n)]
    session.add_new_messages(batch)  # one transaction: filling is not what is measured
    appends, loads, cold = [], [], []
    for i in range(repeat):
        started = time.perf_counter()
        session.add_new_messages(turn(turns + i))
        appends.append(time.perf_counter() - started)
        started = time.perf_counter()
        loaded = session.get_dialogs()
        loads.append(time.perf_counter() - started)
        assert len(loaded) == len(turn(0)) * (turns + i + 1)
    for _ in range(repeat):
        fresh = as_new_process(session)  # as a new process would see it: its own connection, nothing loaded yet
        started = time.perf_counter()
        loaded = fresh.get_dialogs()
        cold.append(time.perf_counter() - started)
        assert len(loaded) == len(turn(0)) * (turns + repeat)
        del fresh, loaded
    if hasattr(session, "delete_session"):
        session.delete_session()
    return tuple(statistics.median(times) * 1000 for times in (appends, loads, cold))


NEW_PROCESS = """
import sys, time
sys.path.insert(0, {src!r})
from agentsilex.stores import SQLiteSession
session = SQLiteSession("big", {path!r})
started = time.perf_counter()
messages = session.get_dialogs()
print((time.perf_counter() - started) * 1000, len(messages))
"""


def first_load_in_new_process(folder: str, turns: int, repeat: int, turn=turn) -> float:
    """The very first load of a SQLite session in a fresh Python process (what a restarted server pays)."""
    import subprocess

    path = os.path.join(folder, "big.db")
    SQLiteSession("big", path).add_new_messages([message for n in range(turns) for message in turn(n)])
    src = str(Path(__file__).resolve().parent.parent / "src")
    times = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", NEW_PROCESS.format(src=src, path=path)], capture_output=True,
                             text=True, check=True).stdout.split()
        assert int(out[1]) == len(turn(0)) * turns
        times.append(float(out[0]))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, nargs="+", default=[10, 10_000])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--all", action="store_true", help="also Redis and PostgreSQL")
    parser.add_argument("--chat", action="store_true", help="two-message turns (user, answer) instead of four")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        print(f"{'store':<10} {'turns':>7} {'messages':>9} {'append turn ms':>15} {'load ms':>9} {'cold load ms':>13}")
        for name, make in stores(args.all, folder).items():
            for turns in args.turns:
                size = 2 if args.chat else 4
                append_ms, load_ms, cold_ms = measure(make, turns, args.repeat, chat_turn if args.chat else turn)
                print(f"{name:<10} {turns:>7} {size * turns:>9} {append_ms:>15.3f} {load_ms:>9.2f} {cold_ms:>13.2f}")
        turns = max(args.turns)
        new_process_ms = first_load_in_new_process(folder, turns, min(args.repeat, 7), chat_turn if args.chat else turn)
        print(f"SQLite, {turns} turns: first get_dialogs() in a new process: {new_process_ms:.1f} ms (median)")


if __name__ == "__main__":
    main()
