"""The session as the loop sees it inside a durable workflow: this run's messages, on top of a reference to the
stored history.

The store stays the system of record. The workflow never holds the conversation: it knows how many messages are
stored and their digest, and keeps only what this run adds. The steps commit what it adds and read the stored
history themselves (steps.py), so the workflow's recorded history grows with the run, not with the conversation.
What the loop reads here is therefore this run's messages only: a history processor or a memory strategy would see
the run, not the conversation, and the durable runners refuse them (driver.py).
"""

from __future__ import annotations

from typing import Any, Callable

from ..errors import UserError
from ..messages import check_messages

# The state kept with a session that a run's capabilities read at the start (handoffs: who answers next;
# conversation usage); loaded by the first activity, written back with the commits.
STATE_KEYS = ("agentsilex.agent", "agentsilex.usage")


class DurableSession:
    """Inside the workflow: the stored history by reference, and what this run added.

    `base` messages were stored before the run; the store holds `count` now (digest `digest`): the reference the next
    model activity gets. `new` is everything this run added; its last `pending` ones are not committed yet."""

    lock_timeout = 0.0

    def __init__(self, session_id: str, base: int, digest: str, state: dict[str, Any] | None = None) -> None:
        self.session_id, self.base, self.count, self.digest = session_id, base, base, digest
        self.new: list[dict] = []
        self.pending: list[dict] = []
        self.state: dict[str, Any] = dict(state or {})
        self.pending_state: dict[str, Any] = {}

    @property
    def dialogs(self) -> list[dict]:
        return self.new

    @dialogs.setter
    def dialogs(self, messages: list[dict]) -> None:
        raise UserError("A durable run cannot rewrite its session's history (a seed-style callback or "
                        "Compaction(rewrite=True)); change the stored session between runs instead.")

    def get_dialogs(self) -> list[dict]:
        return self.new

    def add_new_messages(self, messages: dict | list[dict]) -> None:
        batch = check_messages([messages] if isinstance(messages, dict) else list(messages))
        self.new.extend(batch)
        self.pending.extend(batch)

    def pop_turn(self) -> list[dict]:
        raise UserError("pop_turn() is not available inside a durable run; use the stored session's rewind().")

    def clean(self) -> None:
        raise UserError("clean() is not available inside a durable run; use the stored session's clean().")

    def __len__(self) -> int:
        return self.base + len(self.new)

    # -- StoreCapabilities: no lock to take here (the workflow id is the lock), state kept with the commits --
    def acquire_writer(self, timeout: float) -> Callable[[], None]:
        return _nothing

    def get_state(self, key: str) -> Any:
        return self.state.get(key)

    def set_state(self, key: str, value: Any) -> None:
        self.state[key] = value
        self.pending_state[key] = value

    def take_commit(self) -> dict | None:
        """The messages and state to commit now (None: nothing new), and forget them as pending."""
        if not self.pending and not self.pending_state:
            return None
        commit = {"messages": self.pending, "state": self.pending_state}
        self.pending, self.pending_state = [], {}
        return commit

    def committed(self, count: int, digest: str) -> None:
        """What the store holds after a commit (an activity read it): the reference the next steps use."""
        self.count, self.digest = count, digest

    def __repr__(self) -> str:
        return f"DurableSession({self.session_id!r}, {self.base} stored before + {len(self.new)} new)"


def _nothing() -> None:
    return None
