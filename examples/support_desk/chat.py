"""The support desk in a terminal.

    python examples/support_desk/chat.py                          # chat as alice (offline, scripted model)
    python examples/support_desk/chat.py --model gpt-4o-mini      # the same with a real model (needs a key)
    python examples/support_desk/chat.py say alice "Where is my parcel for order 2?"
    python examples/support_desk/chat.py waiting                  # what waits for a human
    python examples/support_desk/chat.py approve alice <call_id>  # or: reject alice <call_id> "reason"
    python examples/support_desk/chat.py summary alice

In the interactive chat: /customer bob, /waiting, /approve <call_id>, /reject <call_id> <reason>, /summary,
/quit. Everything is kept in --folder (default: ./support_desk_data), so a restart continues where you left.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import brain
from desk import BUDGET, Desk

from agentsilex import ConversationLimits

# Every process of the app signs and checks the refunds waiting for a human with one key.
APPROVAL_KEY = os.environ.get("AGENTSILEX_APPROVAL_KEY", "support desk demo key -- keep yours in a secret store")


def make_desk(folder: str, model: str | None, max_tokens: int | None = None) -> Desk:
    Path(folder).mkdir(parents=True, exist_ok=True)
    limits = ConversationLimits(max_total_tokens=max_tokens) if max_tokens else BUDGET
    return Desk(Path(folder), (lambda name: model) if model else brain.model_for, limits=limits,
                approval_key=APPROVAL_KEY)


def command(desk: Desk, words: list[str]) -> None:
    name, rest = words[0], words[1:]
    if name == "say":
        desk.chat(rest[0], " ".join(rest[1:]))
    elif name == "waiting":
        for customer, item in desk.waiting():
            print(f"{customer} {item.call_id} {item.tool_name} {item.arguments} (agent: {item.agent})")
    elif name in ("approve", "reject"):
        desk.decide(rest[0], rest[1], approve=name == "approve", reason=" ".join(rest[2:]))
    elif name == "summary":
        print(desk.summary(rest[0]).model_dump_json())
    elif name == "usage":
        usage = desk.usage(rest[0])
        print(f"{usage.requests} requests, {usage.total_tokens} tokens")
    else:
        raise SystemExit(f"unknown command {name!r}; see the docstring of {__file__}")


def interactive(desk: Desk) -> None:
    customer = "alice"
    print("Support desk. /customer NAME, /waiting, /approve ID, /reject ID REASON, /summary, /quit")
    print(f"{customer}> ", end="", flush=True)
    for line in sys.stdin:
        line = line.strip()
        if line in ("/quit", "/exit"):
            break
        if line.startswith("/customer "):
            customer = line.split()[1]
        elif line.startswith(("/approve ", "/reject ")):
            words = line[1:].split()
            command(desk, [words[0], customer, *words[1:]])
        elif line.startswith("/"):
            command(desk, [line[1:].split()[0], customer])
        elif line:
            desk.chat(customer, line)
        print(f"{customer}> ", end="", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A shop's support desk.")
    parser.add_argument("--folder", default="support_desk_data")
    parser.add_argument("--model", help="a LiteLLM model string; default: the offline scripted model")
    parser.add_argument("--max-tokens", type=int, help=f"budget per conversation (default {BUDGET.max_total_tokens})")
    parser.add_argument("command", nargs="*")
    options = parser.parse_args()
    desk = make_desk(options.folder, options.model, options.max_tokens)
    if options.command:
        command(desk, options.command)
    else:
        interactive(desk)
