"""An MCP server's question (elicitation="ask") in the web chat: `agentsilex serve` with an agent whose MCP
tool asks how many people; the question arrives in the run's stream as `input_required` while the tool call
waits, and the answer posted back finishes the call. Through the JSON API and in a real browser."""

from __future__ import annotations

import json
import os
import shutil
import sys

import httpx
import pytest

from mcp_support import ASKING_SERVER, require_mcp

require_mcp()
from served import serve  # noqa: E402

AGENT = f"""
import sys
from agentsilex import Agent
from agentsilex.mcp import mcp_tools
from agentsilex.testing import FunctionModel, call

def book(messages, tools):
    if messages[-1]["role"] == "tool":
        return messages[-1]["content"]
    return call("book_table", restaurant="Luigi")

tools = mcp_tools({{"command": sys.executable, "args": [{str(ASKING_SERVER)!r}]}}, elicitation="ask")
agent = Agent(name="booker", model=FunctionModel(book), tools=tools)
"""


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("questions")
    (folder / "booker.py").write_text(AGENT)
    with serve(folder, "booker.py:agent") as base:
        yield base


def frames(lines) -> list[dict]:
    return [json.loads(line[len("data: "):]) for line in lines if line.startswith("data: ")]


def ask_and_answer(url: str, session: str, answer: dict) -> list[dict]:
    httpx.post(f"{url}/api/sessions", json={"id": session}).raise_for_status()
    seen = []
    with httpx.stream("POST", f"{url}/api/sessions/{session}/messages", json={"content": "book"}, timeout=30) as sent:
        for line in sent.iter_lines():
            new = frames([line])
            seen.extend(new)
            if new and new[-1]["type"] == "input_required":
                question = seen[-1]
                posted = httpx.post(f"{url}/api/sessions/{session}/answers/{question['id']}", json=answer)
                assert posted.status_code == 204, posted.text
    return seen


def test_the_question_streams_and_the_answer_finishes_the_call(url):
    seen = ask_and_answer(url, "q1", {"action": "accept", "content": {"people": "3", "terrace": True}})
    kinds = [f["type"] for f in seen]
    assert kinds[:3] == ["tool_call", "input_required", "tool_response"] and kinds[-1] == "final_result"
    question = seen[1]
    assert question["message"] == "How many people at Luigi?" and "people" in question["schema"]["properties"]
    assert seen[-1]["final_output"] == "booked Luigi for 3 on the terrace"


def test_a_declined_question_and_an_unknown_one(url):
    seen = ask_and_answer(url, "q2", {"action": "decline"})
    assert seen[-1]["final_output"] == "not booked (decline)"
    missing = httpx.post(f"{url}/api/sessions/q2/answers/nope", json={"action": "accept", "content": {}})
    assert missing.status_code == 404 and missing.json()["error"] == "unknown_question"
    bad = httpx.post(f"{url}/api/sessions/q2/answers/nope", json={"action": "maybe"})
    assert bad.status_code == 422


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_the_page_shows_the_question_as_a_form(url):
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:  # pragma: no cover - the test extra installs it
        sync_playwright = None
    if CHROMIUM is None or sync_playwright is None:
        if os.environ.get("CI") == "true":
            raise RuntimeError("the browser test must run in CI: chromium and playwright are missing")
        pytest.skip("needs chromium (sudo bash .ci/services.sh) and playwright")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page()
            page.goto(url + "/")
            expect(page.locator("#session-id")).not_to_be_empty()
            page.fill("#input", "book a table")
            page.press("#input", "Enter")
            form = page.locator(".question-form")
            expect(page.locator(".question-text")).to_have_text("How many people at Luigi?", timeout=20_000)
            form.locator("input[name=people]").fill("5")
            form.locator("button.approve").click()
            expect(page.locator(".msg.assistant .text").last).to_contain_text("booked Luigi for 5 inside",
                                                                              timeout=20_000)
            expect(page.locator(".question .label")).to_have_text("Answered")
        finally:
            browser.close()
    assert sys.executable  # the served agent's MCP server ran from this interpreter
