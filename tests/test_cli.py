"""`agentsilex run` and `agentsilex chat` through Typer's test runner: output, JSON, sessions, approvals, errors."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

pytest.importorskip("typer")
from typer.testing import CliRunner  # noqa: E402

from agentsilex.cli import app  # noqa: E402
from agentsilex.frontend import PENDING_KEY, Store  # noqa: E402

EXAMPLE = str(Path(__file__).parent.parent / "examples" / "cli_agent.py")
DEMO = "agentsilex.testing.demo:agent"


@pytest.fixture
def cli(monkeypatch):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(app, list(args), input=input)
    return invoke


@pytest.fixture
def db(tmp_path):
    return f"sqlite:///{tmp_path / 'cli.db'}"


def one_line_error(result, *expected: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for text in expected:
        assert text in lines[0], lines[0]


def test_run_streams_the_answer_shows_tool_calls_and_usage(cli):
    result = cli("run", DEMO, "What is 5 + 3?")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ['▸ add_numbers({"a": 5, "b": 3})', "  ✓ 8", "5 + 3 = **8**",
                                          "2 requests · 149 in / 55 out tokens · cost n/a"]  # ids: call_<8 hex>_<n>


def test_run_json_prints_the_run_result(cli):
    result = cli("run", DEMO, "What is 5 + 3?", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["final_output"] == "5 + 3 = **8**" and data["last_agent"] == "assistant"
    assert data["function_calls"] == [{"call_id": data["new_messages"][1]["tool_calls"][0]["id"],
                                       "name": "add_numbers", "arguments": '{"a": 5, "b": 3}', "content": "8",
                                       "error": None}]
    assert [m["role"] for m in data["new_messages"]] == ["user", "assistant", "tool", "assistant"]
    assert data["usage"]["requests"] == 2 and data["pending_approvals"] == [] and data["state"] is None


def test_run_a_file_agent_with_the_demo_model_and_marks_handoffs(cli):
    result = cli("run", f"{EXAMPLE}:agent", "What is 2 + 2?", "--model", "demo")
    assert result.exit_code == 0 and "2 + 2 = **4**" in result.output
    poem = cli("run", DEMO, "a poem about rain")
    assert "⇢ handed off to poet" in poem.output and "A poem about rain" in poem.output


def test_run_continues_a_stored_session(cli, db):
    assert cli("run", DEMO, "What is 1 + 1?", "--session", "s1", "--store", db).exit_code == 0
    assert cli("run", DEMO, "What is 2 + 2?", "--session", "s1", "--store", db).exit_code == 0
    messages = Store(db).session("s1").get_dialogs()
    assert [m["content"] for m in messages if m["role"] == "user"] == ["What is 1 + 1?", "What is 2 + 2?"]


def test_run_approvals_approve_all_or_pause_without_a_terminal(cli, db):
    approved = cli("run", DEMO, "delete old.log", "--approve-all")
    assert approved.exit_code == 0 and "✓ deleted old.log" in approved.output
    paused = cli("run", DEMO, "delete old.log", "--session", "p", "--store", db)
    assert paused.exit_code == 1 and "error: The run paused: delete_file needs approval" in paused.output
    assert "deleted" not in paused.output
    assert Store(db).session("p").get_state(PENDING_KEY)  # kept: `agentsilex chat --session p` resumes it
    as_json = json.loads(cli("run", DEMO, "delete x", "--json").output)
    assert as_json["pending_approvals"][0]["tool_name"] == "delete_file" and as_json["state"]["pending"]


@pytest.mark.parametrize("spec,expected", [
    ("no_such_module:agent", ["No module named 'no_such_module'", "path/to/file.py:agent"]),
    ("examples/nowhere.py:agent", ["No such file: 'examples/nowhere.py'"]),
    ("agentsilex.testing.demo:nothing", ["has no attribute 'nothing'", "the Agents it defines: poet, agent"]),
    ("agentsilex.testing.demo:add_numbers", ["is a Tool, not an Agent"]),
    ("agentsilex.testing.demo:1bad", ["is not an agent path: use module:agent"]),
])
def test_a_bad_agent_path_is_one_clear_line(cli, spec, expected):
    for command in (["run", spec, "hi"], ["chat", spec], ["serve", spec]):
        one_line_error(cli(*command), *expected)


def test_a_missing_api_key_names_the_variable(cli):
    one_line_error(cli("run", f"{EXAMPLE}:agent", "hi"), "'gpt-4o-mini' needs OPENAI_API_KEY",
                   "export OPENAI_API_KEY=...", "--model demo")
    one_line_error(cli("chat", f"{EXAMPLE}:agent", "--model", "anthropic/claude-3-5-haiku-20241022"),
                   "needs ANTHROPIC_API_KEY")


def test_an_unreachable_base_url_is_one_clear_line(cli, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    one_line_error(cli("run", DEMO, "hi", "--model", "openai/local", "--base-url", url, "--retries", "0"),
                   f"Cannot reach {url} for model 'openai/local'", "is the server running")


def test_run_against_a_real_http_server(cli, monkeypatch, loopback_server):
    loopback_server.add_replies(["Hello over HTTP"])
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    result = cli("run", DEMO, "hi", "--model", "openai/gpt-4o", "--base-url", loopback_server.url)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Hello over HTTP\n1 request · ")


def test_chat_commands(cli, db):
    typed = "What is 2 + 2?\n/usage\n/history\n/undo\n/undo\n/new second\nhello\n/sessions\n/switch s\n/oops\n/quit\n"
    result = cli("chat", DEMO, "--session", "s", "--store", db, input=typed)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "assistant · session s · /help for commands" in out
    assert "2 + 2 = **4**" in out and "2 requests · " in out and "(this chat)" in out
    assert "removed the last turn (4 messages)" in out and "nothing to undo" in out
    assert "session second" in out and "You said: *hello*" in out
    assert "* second  2 messages  hello" in out and "  s  0 messages  s" in out
    assert "unknown command /oops" in out
    store = Store(db)
    assert store.session("s").get_dialogs() == [] and len(store.session("second").get_dialogs()) == 2


def test_chat_asks_for_approvals_at_the_prompt(cli, db):
    result = cli("chat", DEMO, "--session", "a", "--store", db,
                 input="delete one.txt\ny\ndelete two.txt\nn\nnot today\n/quit\n")
    assert result.exit_code == 0, result.output
    assert "? assistant wants to run delete_file" in result.output and "✓ deleted one.txt" in result.output
    refused = [m["content"] for m in Store(db).session("a").get_dialogs() if m["role"] == "tool"][-1]
    assert "refused" in refused and "not today" in refused


def test_chat_resumes_a_run_left_waiting_for_approval(cli, db):
    cli("run", DEMO, "delete old.log", "--session", "w", "--store", db)
    result = cli("chat", DEMO, "--session", "w", "--store", db, input="y\n/quit\n")
    assert "This session has a run waiting for approval." in result.output
    assert "✓ deleted old.log" in result.output
    assert Store(db).session("w").get_state(PENDING_KEY) is None


def test_chat_on_a_busy_session_says_so_and_goes_on(cli, db):
    store = Store(db)
    release = store.create("busy").acquire_writer(0)
    try:
        result = cli("chat", DEMO, "--session", "busy", "--store", db, input="hello\n/quit\n")
    finally:
        release()
    assert result.exit_code == 0
    assert "error: Session busy: Session 'busy' is in use by another run" in result.output
    assert store.session("busy").get_dialogs() == []


def test_chat_ends_on_end_of_input(cli, db):
    result = cli("chat", DEMO, "--store", db, input="hello\n")
    assert result.exit_code == 0 and "You said: *hello*" in result.output


def test_help_lists_the_commands(cli):
    result = cli("--help")
    assert result.exit_code == 0
    for command in ("run", "chat", "serve"):
        assert command in result.output


def test_serve_binds_to_loopback_and_needs_a_token_elsewhere(cli, monkeypatch, db):
    pytest.importorskip("fastapi")
    import uvicorn
    from fastapi.testclient import TestClient

    served = []
    monkeypatch.setattr(uvicorn, "run", lambda web, **options: served.append((web, options)))
    local = cli("serve", DEMO, "--store", db)
    assert local.exit_code == 0 and "at http://127.0.0.1:8000/  (Ctrl-C stops)" in local.output
    assert served[-1][1] == {"host": "127.0.0.1", "port": 8000, "log_level": "warning"}
    assert TestClient(served[-1][0]).get("/api/sessions").status_code == 200

    public = cli("serve", DEMO, "--host", "0.0.0.0", "--port", "9001", "--store", db)
    token = public.output.split("?token=")[1].split()[0]
    assert len(token) >= 20 and served[-1][1]["host"] == "0.0.0.0"
    client = TestClient(served[-1][0])
    assert client.get("/api/sessions").status_code == 401
    assert client.get("/api/sessions", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    given = cli("serve", DEMO, "--host", "0.0.0.0", "--token", "mine-0123456789", "--store", db)
    assert "?token=mine-0123456789" in given.output


def test_base_url_with_a_local_model_is_a_clear_error(cli):
    one_line_error(cli("run", DEMO, "hi", "--model", "local/smollm2", "--base-url", "http://127.0.0.1:9/v1"),
                   "--base-url does not apply to 'local/smollm2'", "run in this process")


def test_run_shows_the_usage_of_the_whole_run_across_an_approval(cli):
    approved = cli("run", DEMO, "delete old.log", "--approve-all")
    # one request before the pause, one after: the line counts both (it showed "1 request" before)
    assert approved.exit_code == 0 and approved.output.splitlines()[-1].startswith("2 requests · ")
    as_json = json.loads(cli("run", DEMO, "delete old.log", "--approve-all", "--json").output)
    assert as_json["usage"]["requests"] == 2 and as_json["usage"]["cached_input_tokens"] == 0


def test_chat_usage_after_approvals_equals_what_the_session_recorded(cli, db):
    from agentsilex import Conversation

    typed = "What is 2 + 2?\ndelete a.txt\ny\ndelete b.txt\nn\nno\nwrite a poem about rain\n/usage\n/quit\n"
    result = cli("chat", DEMO, "--session", "u", "--store", db, input=typed)
    assert result.exit_code == 0, result.output
    recorded = Conversation(Store(db).session("u")).usage
    assert recorded.requests == 8  # 2 for the sum, 2 + 2 around the approvals, 2 for the handoff and the poem
    expected = (f"{recorded.requests} requests · {recorded.input_tokens} in / {recorded.output_tokens} out tokens · "
                "cost n/a")
    assert f"{expected} (this session)\n{expected} (this chat)\n" in result.output
    answers = [line for line in result.output.splitlines() if " requests · " in line and "(this" not in line]
    assert sum(int(line.split()[0]) for line in answers) == recorded.requests  # each answer's line, added up


def test_usage_lines_show_cached_reasoning_and_estimated_tokens():
    from agentsilex import RunUsage, Usage
    from agentsilex.app.common import usage_line, usage_view

    usage = RunUsage()
    usage.add_request(Usage(1, 1204, 80, cached_input_tokens=1024, cache_write_tokens=100, reasoning_tokens=64),
                      agent="a", model="gpt-4o")
    view = usage_view(usage)
    assert (view["cached_input_tokens"], view["cache_write_tokens"], view["reasoning_tokens"]) == (1024, 100, 64)
    assert usage_line(view).startswith("1 request · 1204 in (1024 cached, 100 cache writes) / 80 out (64 reasoning) "
                                       "tokens · $")
    usage.add_request(Usage(1, 10, 5, estimated=True), agent="a", model="unknown-model")
    assert "85 out (64 reasoning) tokens (estimated) · $" in usage_line(usage_view(usage))
    assert usage_line(usage_view(usage, priced=False)).endswith("· cost n/a")


def test_serve_offers_examples_and_the_agent_s_description(cli, monkeypatch, db):
    pytest.importorskip("fastapi")
    import uvicorn
    from fastapi.testclient import TestClient

    served = []
    monkeypatch.setattr(uvicorn, "run", lambda web, **options: served.append(web))
    assert cli("serve", DEMO, "--store", db, "--example", "What is 2 + 2?", "-e", "Write a poem").exit_code == 0
    info = TestClient(served[-1]).get("/api/info").json()
    assert info["examples"] == ["What is 2 + 2?", "Write a poem"] and info["description"].startswith("The offline demo")
