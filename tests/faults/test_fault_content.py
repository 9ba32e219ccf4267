"""No size a stranger controls goes unchecked in content parts (issue 21, point 4): `from_path` reads only a regular
file, checks before reading and reads at most the limit + 1 bytes (/dev/zero and a FIFO fail at once); every
payload shape is measured (a data: URI given as a plain string too); and one request's inline payloads have a
total, refused before anything is sent (a prompt: before anything is stored)."""

from __future__ import annotations

import os
import threading
import time

import pytest
from conftest import run_in_mode

from agentsilex import Agent, Audio, File, Image, Runner, Session, tool
from agentsilex.errors import UserError
from agentsilex.features import content
from agentsilex.testing import LoopbackServer, ScriptedModel, call


def _quickly(function, seconds=5.0):
    """Call `function` in a thread; fail (instead of hanging the suite) if it does not return within `seconds`."""
    box: dict = {}

    def target():
        started = time.monotonic()
        try:
            box["value"] = function()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc
        box["seconds"] = time.monotonic() - started

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still reading after {seconds} s"
    return box


@pytest.mark.parametrize("helper", [Image, Audio, File])
def test_dev_zero_is_refused_at_once(helper):
    box = _quickly(lambda: helper.from_path("/dev/zero"))
    assert isinstance(box.get("error"), UserError) and "it is a device, not a regular file" in str(box["error"])
    assert box["seconds"] < 1


@pytest.mark.parametrize("helper", [Image, Audio, File])
def test_a_fifo_is_refused_at_once(tmp_path, helper):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    box = _quickly(lambda: helper.from_path(fifo))
    assert isinstance(box.get("error"), UserError) and "it is a FIFO" in str(box["error"])


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(UserError, match="it is a folder, not a regular file"):
        Image.from_path(tmp_path)


def test_a_huge_file_is_refused_by_its_size_before_any_read(tmp_path):
    path = tmp_path / "huge.png"
    with open(path, "wb") as handle:  # sparse: 64 GiB on paper, nothing on disk
        handle.truncate(64 * 1024 ** 3)
    box = _quickly(lambda: Image.from_path(path))
    assert isinstance(box.get("error"), UserError) and "68,719,476,736 bytes" in str(box["error"])
    assert box["seconds"] < 1


def test_at_most_the_limit_plus_one_byte_is_read(monkeypatch):
    # /proc files say they are 0 bytes long and still have content: only the bounded read can catch them.
    monkeypatch.setattr(content, "MAX_INLINE_BYTES", 10)
    with pytest.raises(UserError, match="is 11 bytes; the limit is 10"):
        File.from_path("/proc/self/status")


def test_a_regular_file_under_the_limit_still_reads(tmp_path):
    (tmp_path / "a.png").write_bytes(b"png bytes")
    assert Image.from_path(tmp_path / "a.png").url.startswith("data:image/png;base64,")


BIG = "data:image/png;base64," + "A" * 4000  # 3,000 bytes: over the 1,000-byte limit set below
SHAPES = {
    "a plain data: string": {"type": "image_url", "image_url": BIG},
    "a nested dict": {"type": "image_url", "image_url": {"url": {"data": BIG}}},
    "a list": {"type": "file", "file": [BIG]},
    "an unusual key": {"type": "input_audio", "input_audio": {"format": "wav", "payload": "A" * 4000}},
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_payload_shape_is_measured(monkeypatch, mode, shape):
    monkeypatch.setattr(content, "MAX_INLINE_BYTES", 1000)
    session, model = Session(), ScriptedModel(["never"])
    with pytest.raises(UserError, match="limit is 1,000"):
        run_in_mode(Runner(session), Agent(name="a", model=model), ["look", SHAPES[shape]], mode)
    assert session.dialogs == [] and model.requests == []


def _parts(count: int, size: int) -> list:
    return ["compare these", *(Image.from_bytes(bytes([n]) * size) for n in range(count))]


def test_a_prompt_over_the_request_total_is_refused_before_anything_is_stored(monkeypatch, mode):
    monkeypatch.setattr(content, "MAX_INLINE_BYTES", 20_000)
    monkeypatch.setattr(content, "MAX_REQUEST_INLINE_BYTES", 50_000)
    session, model = Session(), ScriptedModel(["never"])
    with pytest.raises(UserError, match="This prompt carries .* in 6 parts.*limit per request is 50,000"):
        run_in_mode(Runner(session), Agent(name="a", model=model), _parts(6, 12_000), mode)  # each part is fine
    assert session.dialogs == [] and model.requests == []


def test_six_19_mib_images_at_the_default_limits_are_refused():
    image = Image.from_bytes(b"\0" * (19 * 1024 * 1024))  # under the 20 MiB per-part limit
    session, model = Session(), ScriptedModel(["never"])
    with pytest.raises(UserError, match=r"This prompt carries 119,5\d\d,\d\d\d bytes of inline content in 6 parts"):
        Runner(session).run(Agent(name="a", model=model), ["six photos", *[image] * 6])
    assert session.dialogs == [] and model.requests == []


@pytest.mark.parametrize("path", ["native", "litellm"])
def test_a_history_over_the_request_total_is_refused_before_sending(monkeypatch, mode, path):
    """Each prompt fits; the history they add up to does not: the HTTP model refuses before it sends."""
    monkeypatch.setattr(content, "MAX_INLINE_BYTES", 20_000)
    monkeypatch.setattr(content, "MAX_REQUEST_INLINE_BYTES", 50_000)
    session = Session()
    with LoopbackServer(["first", "second"]) as server:
        agent = Agent(name="a", model=server.litellm_model() if path == "litellm" else server.openai_model())
        run_in_mode(Runner(session), agent, _parts(3, 12_000), mode)
        with pytest.raises(UserError, match="This request carries .* in 6 parts.*Nothing was sent"):
            run_in_mode(Runner(session), agent, _parts(3, 12_000), mode)
        assert len(server.requests) == 1


def test_tool_results_count_toward_the_request_total(monkeypatch, mode):
    monkeypatch.setattr(content, "MAX_INLINE_BYTES", 20_000)
    monkeypatch.setattr(content, "MAX_REQUEST_INLINE_BYTES", 50_000)

    @tool
    def photos() -> list:
        """Five photos of 12,000 bytes each: each is fine, together they are not."""
        return _parts(5, 12_000)[1:]

    with LoopbackServer([call("photos"), "never"]) as server:
        agent = Agent(name="a", model=server.openai_model(), tools=[photos])
        with pytest.raises(UserError, match="This request carries .* in 5 parts"):
            run_in_mode(Runner(Session()), agent, "show me", mode)
        assert len(server.requests) == 1  # the first request went; the one carrying the photos did not
