"""Issue 21 (point 7): a one-second Redis blip during a long tool does not lose the turn; an append whose answer
was lost is not stored twice; Redis gone for good is still a typed SessionUnavailableError. Redis is reached
through a real TCP proxy that this test cuts (every connection closed, new ones refused) or makes drop a reply."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from urllib.parse import urlsplit

import pytest
from conftest import run_in_mode
from session_stores import REDIS_URL, _redis_client

from agentsilex import Agent, Runner, tool
from agentsilex.errors import SessionUnavailableError
from agentsilex.history import pairs_intact
from agentsilex.testing import ScriptedModel, call


class Blip:
    """A TCP proxy to Redis: `cut(seconds)` drops every connection and refuses new ones for that long;
    `lose_next_reply()` forwards the next command but drops Redis's answer to it (and the connection)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target, self.down_until, self.losing, self.lost = target, 0.0, False, 0
        self.lock, self.sockets = threading.Lock(), set()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self, seconds: float) -> None:
        with self.lock:
            self.down_until = time.monotonic() + seconds
            for sock in list(self.sockets):
                _close(sock)
            self.sockets.clear()

    def lose_next_reply(self) -> None:
        self.losing = True

    def _accept(self) -> None:
        while True:
            client, _ = self.listener.accept()
            if time.monotonic() < self.down_until:
                _close(client)
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets |= {client, upstream}
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, replies: bool) -> None:
        try:
            while data := source.recv(65536):
                if replies and self.losing:
                    self.losing, self.lost = False, self.lost + 1
                    break
                sink.sendall(data)
        except OSError:
            pass
        _close(source)
        _close(sink)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


@pytest.fixture
def blip():
    _redis_client()  # skips (fails in CI) without Redis
    parts = urlsplit(REDIS_URL)
    return Blip((parts.hostname or "127.0.0.1", parts.port or 6379))


def store_through(blip: Blip, **options):
    from agentsilex.stores import RedisSession

    database = urlsplit(REDIS_URL).path or "/0"
    return RedisSession("s1", url=f"redis://127.0.0.1:{blip.port}{database}", prefix=f"blip-{uuid.uuid4().hex}",
                        **options)


def run_with_tool(store, body, mode):
    @tool
    def long_task() -> str:
        """Takes a while; Redis misbehaves meanwhile."""
        body()
        return "finished"

    agent = Agent(name="a", model=ScriptedModel([call("long_task"), "all done"]), tools=[long_task])
    return run_in_mode(Runner(store), agent, "go", mode)[0]


@pytest.mark.parametrize("when", ["during", "at_the_end"])
def test_a_one_second_blip_during_a_long_tool_loses_nothing(blip, mode, when):
    store = store_through(blip)

    def body():
        if when == "during":  # Redis away for a second in the middle of the tool; every connection cut
            time.sleep(0.3)
            blip.cut(1.0)
            time.sleep(1.5)
        else:  # still away when the step is stored: the append waits for it
            blip.cut(1.0)

    result = run_with_tool(store, body, mode)
    assert result.final_output == "all done"
    roles = [m["role"] for m in store.get_dialogs()]
    assert roles == ["user", "assistant", "tool", "assistant"] and pairs_intact(store.get_dialogs())


def test_an_append_whose_answer_was_lost_is_not_stored_twice(blip, mode):
    store = store_through(blip)
    result = run_with_tool(store, blip.lose_next_reply, mode)  # the next command is the tool step's append
    assert blip.lost == 1 and result.final_output == "all done"
    assert [m["role"] for m in store.get_dialogs()] == ["user", "assistant", "tool", "assistant"]


def test_redis_gone_for_good_is_a_typed_error_after_retry_for(blip, mode):
    store = store_through(blip, retry_for=1.0)
    started = time.monotonic()
    with pytest.raises(SessionUnavailableError, match=r"retried for 1 s"):
        run_with_tool(store, lambda: blip.cut(60), mode)
    assert 0.9 < time.monotonic() - started < 10
