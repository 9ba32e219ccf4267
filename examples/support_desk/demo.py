"""The support desk's story, offline, each step in a new process (as if the app restarted in between).

    python examples/support_desk/demo.py
1. alice writes about a double charge: triage hands her over to billing.
2. (restart) alice asks for the refund: billing answers (not triage), and the refund waits for a human.
3. (restart) an operator lists what waits and approves it: the refund runs, once.
4. (restart) approving again finds nothing waiting; the shop holds one refund.
5. carol's runaway chat stops before the request that would go past her conversation's budget.
6. the ticket summary of alice's conversation, as structured output.
(5 and 6 run in this process, on the app's `Desk` object.)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent


def desk(folder: str, *words: str, check: bool = True) -> str:
    done = subprocess.run([sys.executable, str(HERE / "chat.py"), "--folder", folder, *words],
                          capture_output=True, text=True)
    if check and done.returncode != 0:
        raise SystemExit(done.stderr)
    print(f"$ chat.py {' '.join(words)}\n{done.stdout}{done.stderr.strip().splitlines()[-1] if done.returncode else ''}")
    return done.stdout


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        desk(folder, "say", "alice", "I was charged twice for order 1")
        desk(folder, "say", "alice", "yes please refund it")
        waiting = desk(folder, "waiting").split()
        call_id = waiting[1]
        desk(folder, "approve", "alice", call_id)
        desk(folder, "approve", "alice", call_id, check=False)
        # The rest in this process: the app's Desk object, as a web server would hold it.
        sys.path.insert(0, str(HERE))
        import brain
        from desk import Desk
        from shop import refunds

        from agentsilex import ConversationLimits

        print("refunds in the shop:", refunds(Path(folder) / "shop.db"))
        office = Desk(Path(folder), brain.model_for, limits=ConversationLimits(max_total_tokens=800))
        for turn in range(20):
            if office.chat("carol", f"hello again ({turn})") is None:
                break
        usage = office.usage("carol")
        print(f"carol's conversation: {usage.requests} requests, {usage.total_tokens} tokens (budget 800)")
        print("ticket summary:", office.summary("alice"))

if __name__ == "__main__":
    main()
