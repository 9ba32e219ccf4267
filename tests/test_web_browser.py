"""The web chat end to end in a real headless browser: Debian's Chromium driven by Playwright, against
`agentsilex serve` running the demo agent in its own process.

Screenshots of each step go to test-artifacts/web/ (set AGENTSILEX_ARTIFACTS to change it). Chromium comes
from `.ci/services.sh`; without it these tests skip locally and fail in CI (CI=true).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("AGENTSILEX_ARTIFACTS", Path(__file__).parent.parent / "test-artifacts")) / "web"
SLOW_AGENT = """
import asyncio
from agentsilex.models.stream import response_to_chunks
from agentsilex.testing.demo import DemoModel, agent as demo

class Paced(DemoModel):  # slow enough to see (and test) the stream; slower when asked to go "slowly"
    async def stream_async(self, request):
        slowly = "slowly" in str(request.messages[-1].get("content"))
        for chunk in response_to_chunks(self.complete(request), piece=6, model=self.name):
            await asyncio.sleep(0.15 if slowly else 0.05)
            yield chunk

agent = demo.clone(model=Paced())
"""

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    sync_playwright = None

if CHROMIUM is None or sync_playwright is None:
    missing = "chromium (sudo bash .ci/services.sh)" if CHROMIUM is None else "playwright (pip install -e '.[test]')"
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"the browser tests must run in CI, but {missing} is missing")
    pytest.skip(f"needs {missing}", allow_module_level=True)

pytestmark = pytest.mark.timeout(180)
expect.set_options(timeout=15_000)  # generous: two cores may be shared with other work


@contextlib.contextmanager
def serving(folder: Path, *args: str):
    """`agentsilex serve ARGS` on a free port, from `folder`; yields its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    process = subprocess.Popen([sys.executable, "-m", "agentsilex.app.cli", "serve", *args, "--port", str(port)],
                               cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(url + "api/info", timeout=1).raise_for_status()
            break
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"agentsilex serve did not start:\n{process.stdout.read()}") from None
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`agentsilex serve` on a free port, with a fresh SQLite store."""
    folder = tmp_path_factory.mktemp("web")
    (folder / "slow_agent.py").write_text(SLOW_AGENT)
    with serving(folder, "slow_agent.py:agent", "--store", f"sqlite:///{folder / 'web.db'}") as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield chromium
        chromium.close()


@pytest.fixture
def open_tab(browser):
    contexts = []

    def open_tab(url: str):
        context = browser.new_context(viewport={"width": 1100, "height": 720})
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.errors = errors
        page.goto(url)
        expect(page.locator("#session-id")).not_to_be_empty()
        return page
    yield open_tab
    for context in contexts:
        context.close()


def ask(page, text: str, answers: int) -> None:
    """Type a question, send it with Enter, and wait until the page shows `answers` finished answers."""
    page.fill("#input", text)
    page.press("#input", "Enter")
    expect(page.locator(".msg.assistant .usage")).to_have_count(answers, timeout=20_000)


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


WATCH_TEXT = """() => {  // the length of the next answer's text, each time the page changes
    window.__seen = [];
    const before = document.querySelectorAll('.msg.assistant .text').length;
    new MutationObserver(() => {
        const texts = document.querySelectorAll('.msg.assistant .text');
        if (texts.length > before) window.__seen.push(texts[before].textContent.length);
    }).observe(document.querySelector('#messages'), {childList: true, subtree: true, characterData: true});
}"""


def test_chat_stream_tools_handoff_approval_sessions_and_reload(server, open_tab):
    page = open_tab(server)
    expect(page.locator("#agent")).to_have_text("assistant · demo")
    first = page.locator("#session-id").inner_text()
    shot(page, "01-empty")

    ask(page, "What is 5 + 3?", 1)
    card = page.locator(".tool-card").first
    expect(card.locator(".tool-name")).to_have_text("add_numbers")
    expect(card.locator(".result")).to_have_text("8")
    expect(page.locator(".msg.assistant .text strong").first).to_have_text("8")
    expect(page.locator(".usage").first).to_contain_text("2 requests")
    card.locator("summary").click()  # a collapsible card: open it to read the arguments
    expect(card.locator(".args")).to_have_text('{"a": 5, "b": 3}')
    shot(page, "02-tool-card")

    page.evaluate(WATCH_TEXT)
    ask(page, "hello", 2)
    seen = page.evaluate("window.__seen")
    assert len(set(seen)) >= 5 and seen == sorted(seen), f"the text should arrive in pieces, saw {seen}"
    expect(page.locator(".msg.assistant").nth(1).locator("li")).to_have_count(4)  # Markdown list rendered

    ask(page, "write a poem about the sea", 3)
    expect(page.locator(".handoff")).to_have_text("⇢ handed off to poet")
    expect(page.locator("blockquote").first).to_contain_text("Of the sea I sing")

    page.fill("#input", "delete old.log")
    page.press("#input", "Enter")
    expect(page.locator(".approval .approve")).to_be_visible()
    expect(page.locator(".approval-call")).to_have_text('delete_file({"path": "old.log"})')
    shot(page, "03-approval")
    page.click(".approval .approve")
    expect(page.locator(".msg.assistant .usage")).to_have_count(4, timeout=20_000)
    expect(page.locator(".tool-card .result").last).to_have_text("deleted old.log")
    shot(page, "04-approved")

    page.click("#new-session")
    expect(page.locator("#session-id")).not_to_have_text(first)
    expect(page.locator(".msg")).to_have_count(0)
    ask(page, "What is 2 + 2?", 1)
    expect(page.locator("#sessions li")).to_have_count(2)
    page.locator(f'#sessions li[data-id="{first}"] .open').click()
    expect(page.locator("#session-id")).to_have_text(first)
    expect(page.locator(".msg.user")).to_have_count(4)
    shot(page, "05-switched")

    page.reload()
    expect(page.locator("#session-id")).to_have_text(first)
    expect(page.locator(".msg.user .bubble")).to_have_text(["What is 5 + 3?", "hello", "write a poem about the sea",
                                                            "delete old.log"])
    expect(page.locator(".tool-card .tool-name")).to_have_text(["add_numbers", "delete_file"])
    # the poet kept the conversation after the handoff and handed "delete old.log" back to the assistant
    expect(page.locator(".handoff")).to_have_text(["⇢ handed off to poet", "⇢ handed off to assistant"])
    expect(page.locator(".tool-card .result").last).to_have_text("deleted old.log")
    shot(page, "06-reloaded")

    page.locator(f'#sessions li:not([data-id="{first}"]) .delete').click()
    expect(page.locator("#sessions li")).to_have_count(1)
    expect(page.locator("#session-id")).to_have_text(first)
    assert page.errors == []


def test_model_output_is_never_html(server, open_tab):
    page = open_tab(server)
    page.click("#new-session")
    attack = ('<img src=x onerror="window.pwned=1"> <script>window.pwned=2</script> '
              '[click](javascript:window.pwned=3) add_numbers')
    ask(page, attack, 1)
    answer = page.locator(".msg.assistant .text").last
    expect(answer).to_contain_text('<img src=x onerror="window.pwned=1">')
    assert page.locator("#messages img, #messages script").count() == 0
    assert answer.locator("a").count() == 0  # a javascript: link stays text
    expect(answer.locator("strong").first).to_have_text("demo model")  # Markdown still renders
    expect(answer).to_contain_text("add_numbers")  # snake_case is not italics
    page.wait_for_timeout(300)
    assert page.evaluate("window.pwned") is None
    shot(page, "07-no-injection")
    assert page.errors == []


def test_tabs_on_different_sessions_run_at_once_and_one_session_refuses_a_second_tab(server, open_tab):
    a = open_tab(server)
    a.click("#new-session")
    expect(a.locator(".msg")).to_have_count(0)
    shared = a.locator("#session-id").inner_text()
    b = open_tab(server + f"#s={shared}")
    expect(b.locator("#session-id")).to_have_text(shared)
    c = open_tab(server)
    c.click("#new-session")
    expect(c.locator("#session-id")).not_to_have_text(shared)

    a.fill("#input", "hello, slowly")
    a.press("#input", "Enter")
    expect(a.locator(".msg.assistant .text")).to_contain_text("You said")  # a's answer streams (about 8 s)
    b.fill("#input", "What is 1 + 1?")
    b.press("#input", "Enter")
    expect(b.locator("#error")).to_contain_text("Session busy")
    expect(b.locator("#error")).to_contain_text("in use by another run")
    expect(b.locator("#input")).to_have_value("What is 1 + 1?")  # nothing was sent: the text is given back
    expect(b.locator(".msg")).to_have_count(0)
    shot(b, "08-busy")
    ask(c, "What is 4 + 4?", 1)  # another session answers meanwhile
    assert a.locator(".msg.assistant .usage").count() == 0, "a's answer should still be streaming"

    a.close()  # closing the tab stops its run; the session is free again, and valid
    deadline = time.monotonic() + 20
    while b.locator(".msg.assistant .usage").count() == 0:
        assert time.monotonic() < deadline, "the closed tab's run never let go of the session"
        if not b.locator("#send").is_disabled():
            b.fill("#input", "What is 1 + 1?")
            b.press("#input", "Enter")
        b.wait_for_timeout(300)
    b.reload()
    expect(b.locator(".msg.user .bubble")).to_have_text(["hello, slowly", "What is 1 + 1?"])  # whole turns
    expect(b.locator(".msg.assistant .text").last).to_have_text("1 + 1 = 2")
    stored = httpx.get(f"{server}api/sessions/{shared}/messages").json()["messages"]
    assert not any("hello, slowly" in str(m.get("content")) for m in stored if m["role"] == "assistant"), \
        "the closed tab's answer should have been stopped, not finished"
    assert b.errors == c.errors == []


PNG = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5E"
       "rkJggg==")


def test_an_empty_chat_shows_the_agent_its_description_and_examples_and_parts_show_as_parts(tmp_path, open_tab):
    from agentsilex import Runner
    from agentsilex.stores import SQLiteSession
    from agentsilex.testing import ScriptedModel
    from agentsilex.testing.demo import agent as demo

    store = tmp_path / "web.db"
    prompt = [{"type": "text", "text": "What is on this picture?"}, {"type": "image_url", "image_url": {"url": PNG}},
              {"type": "file", "file": {"filename": "notes.pdf", "file_data": "data:application/pdf;base64,JVBERg=="}}]
    Runner(SQLiteSession("pictures", store)).run(demo.clone(model=ScriptedModel(["A single dot."])), prompt)
    examples = ["What is 12 times 7?", "Write a poem about rain"]
    with serving(tmp_path, "agentsilex.testing.demo:agent", "--store", f"sqlite:///{store}",
                 "--example", examples[0], "-e", examples[1]) as url:
        page = open_tab(url + "#s=pictures")
        expect(page.locator("#session-id")).to_have_text("pictures")
        bubble = page.locator(".msg.user .bubble")
        expect(bubble.locator(".part-text")).to_have_text("What is on this picture?")
        expect(bubble.locator("img.part-image")).to_have_attribute("src", PNG)
        expect(bubble.locator(".part-label")).to_have_text("file notes.pdf")
        expect(bubble).not_to_contain_text("[object Object]")
        expect(page.locator("#title")).to_have_text("What is on this picture? [image] [file notes.pdf]")
        shot(page, "09-content-parts")

        page.click("#new-session")
        empty = page.locator(".empty")
        expect(empty.locator("h2")).to_have_text("assistant")
        expect(page.locator("#title")).to_have_text("assistant")
        expect(empty.locator(".description")).to_contain_text("The offline demo: does sums")
        expect(empty.locator(".example")).to_have_text(examples)
        assert page.title() == "assistant · agentsilex"
        shot(page, "10-empty-state")
        empty.locator(".example").first.click()  # an example is sent as the first question
        expect(page.locator(".msg.assistant .usage")).to_have_count(1, timeout=20_000)
        expect(page.locator(".empty")).to_have_count(0)
        expect(page.locator(".msg.user .bubble")).to_have_text(examples[0])
        expect(page.locator("#title")).to_have_text(examples[0])
        expect(page.locator(".msg.assistant .text")).to_contain_text("12 × 7 = 84")
        # the session's recorded usage is shown in the header, and matches the answer's own line
        expect(page.locator("#usage")).to_have_text("this chat: " + page.locator(".msg.assistant .usage").inner_text())
        assert page.errors == []
