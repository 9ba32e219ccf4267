"""Crash safety: a run killed with SIGKILL mid-tool leaves a session that a new process continues."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from agentsilex import Agent, Runner
from agentsilex.history import pairs_intact
from agentsilex.stores import SQLiteSession
from agentsilex.testing import LoopbackServer

from agentsilex.messages import INTERRUPTED

SCRIPT = textwrap.dedent("""
    import sys, time
    from agentsilex import Agent, Runner, tool
    from agentsilex.models.litellm import LiteLLMModel
    from agentsilex.stores import SQLiteSession

    @tool
    def long_job() -> str:
        '''Runs for a long time.'''
        print("tool started", flush=True)
        time.sleep(60)
        return "finished"

    path, url, prompt = sys.argv[1:4]
    if url == "scripted":  # the first process: no need to pay for importing LiteLLM just to be killed
        from agentsilex.testing import ScriptedModel, call
        model = ScriptedModel([call("long_job", call_id="call_long")])
    else:
        model = LiteLLMModel("openai/gpt-4o", base_url=url, api_key="sk-loopback-test")
    agent = Agent(name="worker", model=model, instructions="Be brief.", tools=[long_job])
    result = Runner(SQLiteSession("job", path, lock_timeout=2)).run(agent, prompt)
    print("final:", result.final_output, flush=True)
""")


def start(script, db, url, prompt):
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    return subprocess.Popen([sys.executable, str(script), str(db), url, prompt], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def test_run_killed_mid_tool_is_continued_by_a_new_process(tmp_path):
    script, db = tmp_path / "agent.py", tmp_path / "sessions.db"
    script.write_text(SCRIPT)
    first = start(script, db, "scripted", "start the long job")
    with LoopbackServer(["resumed after the crash"]) as server:
        try:
            assert first.stdout.readline().strip() == "tool started"
            os.kill(first.pid, signal.SIGKILL)
            assert first.wait(5) == -signal.SIGKILL
        finally:
            if first.poll() is None:
                first.kill()
        second = start(script, db, server.url, "are you still there?")
        out, err = second.communicate(timeout=30)
        assert second.returncode == 0, err
        assert out.strip() == "final: resumed after the crash"
        sent = server.requests[-1]["messages"]
    assert pairs_intact(sent[1:])
    stored = SQLiteSession("job", db).get_dialogs()
    # The killed step was never half-committed: its call and result are stored together or not at all.
    assert stored == [{"role": "user", "content": "start the long job"},
                      {"role": "user", "content": "are you still there?"},
                      {"role": "assistant", "content": "resumed after the crash"}]
    assert [m["role"] for m in sent] == ["system", "user", "user"]


def test_dangling_tool_call_is_answered_as_interrupted_before_the_next_model_call(tmp_path):
    """History left by a writer that stored a call but not its result: repaired in what is sent, every time."""
    session = SQLiteSession("job", tmp_path / "s.db")
    dangling = [{"role": "user", "content": "go"},
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                    {"id": "b", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "b", "content": "b ok"},
                {"role": "tool", "tool_call_id": "zzz", "content": "orphan"}]
    session.add_new_messages(dangling)
    with LoopbackServer(["carrying on"]) as server:
        result = Runner(session).run(Agent(name="a", model=server.litellm_model()), "and now?")
        sent = server.requests[-1]["messages"]
    assert result.final_output == "carrying on"
    assert [{k: v for k, v in m.items() if v is not None} for m in dangling[:3]] == sent[:3]
    assert sent[3:] == [{"role": "tool", "tool_call_id": "a", "content": INTERRUPTED},
                                   {"role": "user", "content": "and now?"}]
    assert session.get_dialogs()[:4] == dangling  # the stored history is left as it was, not rewritten
