"""Memory strategies: choose what part of a long history the model sees, without losing the stored history.

    .venv/bin/python examples/memory_strategies.py          (offline: scripted models stand in for the LLMs)

`Runner(session, memory=[...])` runs the strategies, in order, before every model call. Each gets a copy of
the history and returns what is sent. Compaction summarises old turns with any model and keeps the summary
with the session; `TokenBudget(max_tokens, model=...)` counts with LiteLLM's token counter. A history
processor of your own, `fn(messages, context) -> messages`, goes in `Runner(history_processors=[...])`.
"""

from __future__ import annotations

from agentsilex import Agent, Runner, Session
from agentsilex import Compaction, KeepLastTurns, TrimToolOutputs
from agentsilex.testing import ScriptedModel


def main() -> None:
    session = Session()
    for n in range(6):  # an existing long conversation
        session.add_new_messages([{"role": "user", "content": f"Fact {n}: my cat is {n} years old?"},
                                  {"role": "assistant", "content": f"Noted fact {n}."}])

    summarizer = ScriptedModel(["The user keeps correcting their cat's age; the latest is 5."], name="summarizer")
    memory = [Compaction(summarizer, keep_turns=2, trigger_turns=4),  # summary + the last 2 turns
              TrimToolOutputs(keep_recent=3, max_chars=200),  # old tool outputs shortened
              KeepLastTurns(10)]  # and never more than 10 turns
    def tag_user(messages: list[dict], context: dict) -> list[dict]:  # a history processor: sees the context
        return [{**m, "content": f"[{context['user']}] {m['content']}"} if m["role"] == "user" else m
                for m in messages]

    model = ScriptedModel(["Your cat is 5."])
    runner = Runner(session, context={"user": "ann"}, memory=memory, history_processors=[tag_user])
    result = runner.run(Agent(name="a", model=model), "How old is my cat?")

    print(result.final_output)
    print("sent to the model:")
    for message in model.requests[0].messages:
        print(f"  {message['role']}: {message['content']}")
    print("stored messages:", len(session.dialogs), "(the stored history stays complete)")
    print("summary kept with the session:", session.memory_state["compaction"]["summary"])


if __name__ == "__main__":
    main()
