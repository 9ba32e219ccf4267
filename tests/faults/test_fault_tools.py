"""Faults in tool execution: StopIteration from a sync tool (item 1), hung sync tools (item 8)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from conftest import run_in_mode

from agentsilex import Agent, Runner, tool
from agentsilex import _tool_threads
from agentsilex.testing import ScriptedModel, call


@tool
def first_even(numbers: list[int]) -> int:
    """The first even number (raises StopIteration when there is none)."""
    return next(n for n in numbers if n % 2 == 0)


@tool
def echo(text: str) -> str:
    """Echo."""
    return text


# Every way a sync tool reaches the thread pool: async modes always; sync with 2+ calls or a timeout.
@pytest.mark.parametrize("calls,timeout", [(1, None), (1, 5.0), (2, None), (2, 5.0)])
def test_stop_iteration_from_a_sync_tool_is_an_ordinary_tool_error(mode, calls, timeout):
    script = [[call("first_even", numbers=[1, 3]), call("echo", text="x")][:calls], "done"]
    agent = Agent(name="a", model=ScriptedModel(script), tools=[first_even, echo])
    result, _ = _with_deadline(lambda: run_in_mode(Runner(tool_timeout=timeout), agent, "go", mode), 10)
    record = result.function_calls[0]
    assert record.error is not None and "StopIteration" in record.error
    assert "did not finish" not in record.error  # not reported as a timeout
    assert result.final_output == "done"


def _with_deadline(function, seconds):
    box: dict = {}
    worker = threading.Thread(target=lambda: box.update(value=function()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"the run hung for more than {seconds} s"
    return box["value"]


_SCRIPT = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {tests!r})
    from conftest import run_in_mode
    from agentsilex import Agent, Runner, tool
    from agentsilex.testing import ScriptedModel, call

    @tool
    def hang(n: int) -> str:
        '''Never returns.'''
        sys.stdout.write("started\\n")  # one write: the two calls run at once and must not interleave
        sys.stdout.flush()
        time.sleep(3600)

    agent = Agent(name="a", model=ScriptedModel([[call("hang", n=1), call("hang", n=2)], "done"]), tools=[hang])
    result, _ = run_in_mode(Runner(tool_timeout={timeout}), agent, "go", {mode!r})
    print(result.final_output, flush=True)
""")


def _script(mode, timeout):
    tests = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return _SCRIPT.format(tests=tests, timeout=timeout, mode=mode)


def test_a_timed_out_hung_tool_does_not_keep_the_interpreter_alive(mode):
    done = subprocess.run([sys.executable, "-c", _script(mode, 0.3)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("done")


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_ctrl_c_during_a_hung_tool_lets_the_interpreter_exit(mode):
    process = subprocess.Popen([sys.executable, "-c", _script(mode, None)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().startswith("started")
        time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    finally:
        process.kill()
    assert "KeyboardInterrupt" in stderr


def test_hung_tools_do_not_starve_later_sync_tools(mode):
    release = threading.Event()

    @tool
    def stuck(n: int) -> str:
        """Blocks until the test ends."""
        release.wait(60)
        return "late"

    try:
        many = _tool_threads.MAX_TOOL_THREADS + 6
        hung = Agent(name="h", model=ScriptedModel([[call("stuck", n=i) for i in range(many)], "gave up"]),
                     tools=[stuck])
        runner = Runner(tool_timeout=0.3, max_parallel_tools=many)
        assert run_in_mode(runner, hung, "go", mode)[0].final_output == "gave up"
        quick = Agent(name="q", model=ScriptedModel([[call("echo", text="a"), call("echo", text="b")], "ok"]),
                      tools=[echo])
        result, _ = run_in_mode(Runner(tool_timeout=5), quick, "go", mode)
        assert [r.content for r in result.function_calls] == ["a", "b"]
    finally:
        release.set()
