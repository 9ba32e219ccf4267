"""Content parts: images, audio and files in prompts and tool results, in every mode and over HTTP."""

from __future__ import annotations

import base64
import json

import pytest
from conftest import run_in_mode
from history import assert_valid_history

from agentsilex import Agent, Audio, File, Image, InputGuardrailTripped, Runner, Session, UserError, tool
from agentsilex import content as content_module
from agentsilex.testing import FunctionModel, LoopbackServer, ScriptedModel, call
from agentsilex.testing.script import echo
from agentsilex.utils import format_message, print_dialog_history

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
PNG_URI = "data:image/png;base64," + base64.b64encode(PNG).decode()
PHOTO = {"type": "image_url", "image_url": {"url": PNG_URI}}


@tool
def chart(title: str) -> list:
    """Draw a chart."""
    return [f"chart of {title}", Image.from_bytes(PNG)]


def test_helpers_build_openai_parts(tmp_path):
    path = tmp_path / "cat.jpg"
    path.write_bytes(b"jpeg bytes")
    assert Image.from_path(path).part() == {
        "type": "image_url", "image_url": {"url": "data:image/jpeg;base64," + base64.b64encode(b"jpeg bytes").decode()}}
    assert Image.from_url("https://example.org/a.png", detail="low").part() == {
        "type": "image_url", "image_url": {"url": "https://example.org/a.png", "detail": "low"}}
    assert Image.from_bytes(PNG).part() == PHOTO
    assert Audio.from_bytes(b"RIFF", "wav").part() == {"type": "input_audio", "input_audio": {
        "data": base64.b64encode(b"RIFF").decode(), "format": "wav"}}
    (tmp_path / "voice.mp3").write_bytes(b"ID3")
    assert Audio.from_path(tmp_path / "voice.mp3").format == "mp3"
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.7")
    assert File.from_path(tmp_path / "report.pdf").part() == {"type": "file", "file": {
        "filename": "report.pdf", "file_data": "data:application/pdf;base64," + base64.b64encode(b"%PDF-1.7").decode()}}
    assert File.from_id("file-abc").part() == {"type": "file", "file": {"file_id": "file-abc"}}
    with pytest.raises(UserError, match="Cannot read"):
        Image.from_path(tmp_path / "missing.png")


@pytest.mark.parametrize("prompt", [[], 42, [{"type": "video", "video": {}}], [{"type": "text"}], [3]])
def test_a_bad_prompt_is_refused_before_any_request(prompt):
    model = ScriptedModel([])
    with pytest.raises(UserError, match="prompt must be|not a content part"):
        Runner(Session()).run(Agent(name="a", model=model), prompt)
    assert model.requests == []


def test_inline_content_past_the_limit_is_refused(monkeypatch):
    monkeypatch.setattr(content_module, "MAX_INLINE_BYTES", 1000)
    with pytest.raises(UserError, match="MAX_INLINE_BYTES"):
        Image.from_bytes(b"x" * 1001)
    session, model = Session(), ScriptedModel([])
    big = {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 4000}}
    with pytest.raises(UserError, match="limit is 1,000"):
        Runner(session).run(Agent(name="a", model=model), ["look", big])
    assert session.dialogs == [] and model.requests == []


def test_a_prompt_of_parts_reaches_the_model_and_the_session(mode):
    seen = []

    def look(context, agent, prompt):
        seen.append(prompt)

    model = ScriptedModel(["a cat"])
    agent = Agent(name="eyes", model=model, input_guardrails=[look])
    session = Session()
    result, _ = run_in_mode(Runner(session), agent, ["What is this?", Image.from_bytes(PNG)], mode)
    parts = [{"type": "text", "text": "What is this?"}, PHOTO]
    assert result.final_output == "a cat"
    assert session.dialogs[0] == {"role": "user", "content": parts}
    assert model.requests[0].messages[-1] == {"role": "user", "content": parts}
    assert seen == [parts] and result.input == parts
    model.assert_complete()


def test_an_input_guardrail_can_refuse_an_image():
    def no_images(context, agent, prompt):
        return isinstance(prompt, list) and any(p["type"] == "image_url" for p in prompt) and "no images here"

    agent = Agent(name="a", model=ScriptedModel([]), input_guardrails=[no_images])
    with pytest.raises(InputGuardrailTripped, match="no images here"):
        Runner(Session()).run(agent, [Image.from_url("https://example.org/x.png")])
    Runner(Session()).run(Agent(name="b", model=ScriptedModel(["ok"]), input_guardrails=[no_images]), "text only")


def test_a_tool_that_returns_an_image_shows_it_to_the_model(mode):
    model = ScriptedModel([call("chart", title="sales", call_id="c1"), "sales go up"])
    session = Session()
    result, events = run_in_mode(Runner(session), Agent(name="a", model=model, tools=[chart]), "plot sales", mode)
    assert result.final_output == "sales go up"
    tool_message, follow_up = session.dialogs[2], session.dialogs[3]
    assert tool_message == {"role": "tool", "tool_call_id": "c1",
                            "content": "chart of sales\n[attached: image; shown in the next message]"}
    assert follow_up == {"role": "user", "content": [
        {"type": "text", "text": "Attachments returned by tool 'chart' (call c1):"}, PHOTO]}
    assert model.requests[1].messages[-2:] == [tool_message, follow_up]
    assert result.function_calls[0].attachments == [PHOTO]
    assert_valid_history(session.dialogs)
    if mode.endswith("stream"):
        [response] = [e for e in events if e.type == "tool_response"]
        assert response.attachments == [PHOTO] and response.data["attachments"] == [PHOTO]
    model.assert_complete()


def test_a_tool_returning_plain_data_still_becomes_json():
    @tool
    def rows() -> list:
        """Rows."""
        return [{"type": "row", "n": 1}, "two"]

    session = Session()
    Runner(session).run(Agent(name="a", model=ScriptedModel([call("rows"), "ok"]), tools=[rows]), "go")
    assert session.dialogs[2]["content"] == '[{"type": "row", "n": 1}, "two"]'
    assert len(session.dialogs) == 4  # no attachment message


def test_print_dialog_history_names_parts_without_their_bytes(capsys):
    session = Session()
    session.add_new_messages([{"role": "user", "content": [{"type": "text", "text": "see"}, PHOTO,
                                                           File.from_bytes(b"%PDF", "a.pdf").part()]}])
    print_dialog_history(session, max_content_len=500)
    out = capsys.readouterr().out
    assert "user: see image image/png (72 bytes) file a.pdf (4 bytes)" in out
    assert "base64" not in out and "iVBOR" not in out
    assert format_message({"role": "user", "content": [Audio.from_bytes(b"1234", "mp3").part()]}) == \
        "user: audio mp3 (4 bytes)"


@pytest.mark.parametrize("path", ["litellm", "native"])
def test_parts_over_http_on_both_model_paths(path, mode):
    with LoopbackServer([call("chart", title="q3", call_id="c9"), "looks good"]) as server:
        model = server.litellm_model() if path == "litellm" else server.openai_model()
        session = Session()
        result, _ = run_in_mode(Runner(session), Agent(name="a", model=model, tools=[chart]),
                                ["Compare with", Image.from_bytes(PNG)], mode)
        assert result.final_output == "looks good"
        first, second = server.requests
        assert first["messages"][-1] == {"role": "user", "content": [{"type": "text", "text": "Compare with"}, PHOTO]}
        assert second["messages"][-1]["content"][1:] == [PHOTO]
        assert second["messages"][-2]["role"] == "tool" and second["messages"][-2]["tool_call_id"] == "c9"
        assert_valid_history(session.dialogs)


def test_the_loopback_server_echoes_parts():
    with LoopbackServer(function=echo) as server:
        agent = Agent(name="a", model=server.openai_model())
        result = Runner(Session()).run(agent, ["hello", Image.from_url("https://example.org/cat.png"),
                                               File.from_bytes(b"%PDF", "r.pdf")])
        assert result.final_output == "You said: hello image https://example.org/cat.png file r.pdf (4 bytes)"
        assert json.dumps(server.requests[0]).count("data:application/pdf;base64,") == 1


def test_function_model_sees_parts():
    seen = []

    def reply(messages, tools):
        seen.append(messages[-1]["content"])
        return "ok"

    Runner(Session()).run(Agent(name="a", model=FunctionModel(reply)), [PHOTO])
    assert seen == [[PHOTO]]


def test_session_titles_in_the_chat_and_web_list_name_parts_without_bytes():
    from agentsilex.frontend import _title

    assert _title([{"type": "text", "text": "What is this?"}, PHOTO]) == "What is this? image image/png (72 bytes)"
