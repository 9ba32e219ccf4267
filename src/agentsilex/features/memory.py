"""Memory: what part of the history is sent to the model, decided just before each model call.

    Runner(session, memory=[TrimToolOutputs(keep_recent=4), TokenBudget(100_000, model="gpt-4o")])

Every way to edit what is sent is a history processor, applied by one capability (`HistoryProcessors`, the first prepare
of build_request, engine/request.py), in order: the seed's `before_llm_call_callbacks` (each gets the session and may
edit the stored history; what is sent is then read again), the memory strategies, and
`Runner(history_processors=[fn(messages, context) -> messages])`. A strategy is any callable `strategy(messages,
session) -> messages`, a history processor that also sees the session, to keep state with it. It gets a copy of the
(repaired) history and returns what is sent; the stored history stays complete. Only two things ever rewrite stored
history, and only when you ask for them: `Compaction(..., rewrite=True)`, and seed-style `before_llm_call_callbacks`
such as `callbacks.keep_most_recent_2_turns`, which edit the session itself. Every shipped strategy cuts only between
whole blocks, so a tool call never loses its result.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable, Generator

from ..engine.capability import ModelCall, Step
from ..engine.request import history_for
from ..errors import ModelBehaviorError, UserError
from ..history import repair_history
from ..messages import system, user
from ..models import ModelRequest, ModelResponse, ModelSettings, resolve_model
from ..session import get_state, set_state
from ..turns import blocks, keep_last_turns, turn_starts
from ..utils import format_message
from ..wrapping import Capability, split_history


class ContextBudgetError(UserError):
    """A memory strategy cannot fit the history into its budget without splitting the current step."""


class HistoryProcessors(Capability):
    """The processors of a run, in order; each gets a copy of the history (no system prompt) and returns what to
    send. One that needs a model (Compaction) returns a generator whose model calls go through the driver."""

    def __init__(self, processors: list[tuple[str, Callable]]) -> None:
        self.processors = processors  # ("callback" | "memory" | "processor", function), from the Runner

    def prepare(self, request: Any, step: Step) -> Generator[ModelCall, ModelResponse, Any]:
        head, history = split_history(request, step)
        session = step.run.session
        for kind, processor in self.processors:
            if kind == "callback":  # the seed's: it edits the stored history, which is then read again
                processor(session)
                history = history_for(session, step.model)
                continue
            result = processor(history, session if kind == "memory" else step.context)
            if hasattr(result, "send") and hasattr(result, "throw"):  # it needs a model first
                result = yield from result
            if not isinstance(result, list):
                raise UserError(f"History processor {processor!r} returned {type(result).__name__}; it must return "
                                "the list of messages to send.")
            history = result
        # A processor of your own may cut carelessly; the provider must still get a valid history.
        request.messages = [*head, *repair_history(history)]
        return request


class KeepLastTurns:
    """Send only the last `turns` turns (a turn starts at a user message, so pairs are never split)."""

    def __init__(self, turns: int) -> None:
        if turns < 1:
            raise UserError(f"KeepLastTurns needs turns >= 1, got {turns}.")
        self.turns = turns

    def __call__(self, messages: list[dict], session: Any = None) -> list[dict]:
        return keep_last_turns(messages, self.turns)


class TokenBudget:
    """Send the newest history that fits in `max_tokens` (counted with LiteLLM's token counter for `model`).

    Whole turns are dropped oldest first. If the current turn alone is too big, its oldest tool steps go
    (the user message and the newest step stay); if even that does not fit, ContextBudgetError.
    `max_tokens` is for the history only: leave room for the system prompt, tool specs and the reply.
    """

    def __init__(self, max_tokens: int, *, model: str = "gpt-4o",
                 counter: Callable[[list[dict]], int] | None = None) -> None:
        if max_tokens < 1:
            raise UserError(f"TokenBudget needs max_tokens >= 1, got {max_tokens}.")
        self.max_tokens = max_tokens
        self.model = model
        self.counter = counter

    def count(self, messages: list[dict]) -> int:
        """Tokens for these messages; summing per-block counts over-estimates slightly, never under."""
        if self.counter is not None:
            return self.counter(messages)
        import litellm  # heavy: only when a token budget is in use

        return litellm.token_counter(model=self.model, messages=messages)

    def __call__(self, messages: list[dict], session: Any = None) -> list[dict]:
        starts = turn_starts(messages)
        cuts = [0] + [s for s in starts if s > 0]  # messages before the first user message form a turn too
        kept, used = len(messages), 0
        for cut in reversed(cuts):
            size = sum(self.count(block) for block in blocks(messages[cut:kept]))
            if used + size > self.max_tokens:
                break
            kept, used = cut, used + size
        if kept < len(messages):
            return messages[kept:]
        return self._fit_last_turn(messages[cuts[-1]:] if messages else [])

    def _fit_last_turn(self, turn: list[dict]) -> list[dict]:
        parts = blocks(turn)
        if not parts:
            return []
        head, steps = parts[0], parts[1:]
        used = self.count(head)
        chosen: list[list[dict]] = []
        for step in reversed(steps):
            size = self.count(step)
            if used + size > self.max_tokens:
                break
            chosen.insert(0, step)
            used += size
        if used > self.max_tokens or (steps and not chosen):
            raise ContextBudgetError(
                f"The current turn does not fit in TokenBudget({self.max_tokens}): its first message and newest "
                "step alone exceed it. Raise max_tokens, or put TrimToolOutputs before TokenBudget.")
        return head + [message for step in chosen for message in step]


class TrimToolOutputs:
    """Shorten old tool results to `max_chars` (0: replace them with a note); the newest `keep_recent` stay whole."""

    def __init__(self, *, keep_recent: int = 3, max_chars: int = 200) -> None:
        if keep_recent < 0 or max_chars < 0:
            raise UserError("TrimToolOutputs needs keep_recent >= 0 and max_chars >= 0.")
        self.keep_recent = keep_recent
        self.max_chars = max_chars

    def __call__(self, messages: list[dict], session: Any = None) -> list[dict]:
        tool_indexes = [i for i, message in enumerate(messages) if message.get("role") == "tool"]
        old = tool_indexes[:len(tool_indexes) - self.keep_recent] if self.keep_recent else tool_indexes
        trimmed = list(messages)
        for index in old:
            content = messages[index].get("content")
            if isinstance(content, str) and len(content) > self.max_chars:
                trimmed[index] = {**messages[index], "content": self.shorten(content)}
        return trimmed

    def shorten(self, content: str) -> str:
        cut = len(content) - self.max_chars
        if self.max_chars == 0:
            return f"[tool output removed to save context: {cut} characters]"
        return f"{content[:self.max_chars]}\n[... {cut} more characters of tool output trimmed]"


SUMMARY_PREFIX = "Summary of the earlier conversation (older turns were compacted):\n"

SUMMARY_INSTRUCTIONS = (
    "You compact a conversation between a user and an AI assistant. Write a concise summary of the transcript "
    "you are given: facts the user stated, decisions, tool results that still matter, and open tasks. "
    "If an earlier summary is given, merge it in. Reply with the summary only.")


class Compaction:
    """Summarise older turns with `model` once there are more than `trigger_turns`; keep the last `keep_turns`.

    By default the summary is kept with the session (its state, key "compaction") and sent in place of the
    turns it covers, while the stored history stays complete. With `rewrite=True` the stored history itself
    is replaced by the summary plus the kept turns (smaller stores; the old turns are gone for good).
    The summary call goes through the Runner's drivers like any model call (retries, timeouts, fallbacks,
    awaited in the async modes, never streamed); it happens once per `trigger_turns - keep_turns` turns.
    """

    def __init__(self, model: Any, *, keep_turns: int = 4, trigger_turns: int = 8, rewrite: bool = False,
                 instructions: str = SUMMARY_INSTRUCTIONS, max_summary_tokens: int | None = 1024,
                 state_key: str = "compaction") -> None:
        if not 1 <= keep_turns < trigger_turns:
            raise UserError(f"Compaction needs 1 <= keep_turns < trigger_turns, got {keep_turns}, {trigger_turns}.")
        self.model, self.keep_turns, self.trigger_turns = model, keep_turns, trigger_turns
        self.rewrite, self.instructions = rewrite, instructions
        self.max_summary_tokens, self.state_key = max_summary_tokens, state_key

    def __call__(self, messages: list[dict], session: Any) -> Generator[ModelCall, ModelResponse, list[dict]]:
        """A generator: the loop sends its summary call through the driver (see engine/request.py)."""
        covered, summary = self._load(messages, session)
        starts = [s for s in turn_starts(messages) if s >= covered]
        if len(starts) > self.trigger_turns:
            cut = starts[-self.keep_turns]
            summary = yield from self.summarise(summary, messages[covered:cut])
            if self.rewrite:
                return self._rewrite(session, summary)
            covered = cut
            set_state(session, self.state_key, {"covered": covered, "summary": summary,
                                                "fingerprint": _fingerprint(messages, covered)})
        if summary is None:
            return messages
        return [{"role": "system", "content": SUMMARY_PREFIX + summary}] + messages[covered:]

    def summarise(self, previous: str | None, messages: list[dict]) -> Generator[ModelCall, ModelResponse, str]:
        """One model call: the earlier summary (if any) and a plain-text transcript in, a summary out."""
        transcript = "\n".join(format_message(message, max_content_len=2000) for message in messages)
        prompt = (f"Earlier summary:\n{previous}\n\n" if previous else "") + f"Transcript:\n{transcript}"
        request = ModelRequest([system(self.instructions), user(prompt)], [],
                               ModelSettings(max_tokens=self.max_summary_tokens))
        response = yield ModelCall(resolve_model(self.model), request, agent=None, quiet=True)
        content = response.message.get("content")
        if not isinstance(content, str) or not content.strip():
            raise ModelBehaviorError(f"The compaction model answered {content!r} instead of a summary. Check "
                                     "the model given to Compaction(...) answers plain text.")
        return content.strip()

    def _load(self, messages: list[dict], session: Any) -> tuple[int, str | None]:
        state = get_state(session, self.state_key)
        if not isinstance(state, dict):
            return 0, None
        covered = state.get("covered")
        # The session may have been rewound or edited since: trust the summary only if its prefix is unchanged.
        if not isinstance(covered, int) or not 0 < covered <= len(messages) or \
                state.get("fingerprint") != _fingerprint(messages, covered):
            return 0, None
        return covered, state.get("summary")

    def _rewrite(self, session: Any, summary: str) -> list[dict]:
        stored = session.get_dialogs()
        starts = turn_starts(stored)
        kept = stored[starts[-self.keep_turns]:] if len(starts) >= self.keep_turns else list(stored)
        session.dialogs = [{"role": "system", "content": SUMMARY_PREFIX + summary}] + kept
        set_state(session, self.state_key, None)
        return repair_history(list(session.get_dialogs()))


def _fingerprint(messages: list[dict], covered: int) -> str:
    last = json.dumps(messages[covered - 1], sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(f"{covered}:{last}".encode()).hexdigest()
