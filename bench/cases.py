"""One measured benchmark case per process: `python bench/cases.py NAME URL '{"runs": 300}'` prints JSON.

Called by bench/bench.py (which starts the server and pins this process to its own CPU).
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor

SYSTEM, PROMPT, MODEL = "You are a calculator. Use the add tool.", "What is 1 + 1?", "openai/gpt-4o-mini"
ADD_SPEC = {"type": "function", "function": {"name": "add", "description": "Add two integers.", "parameters": {
    "type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]}}}


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def check(output: str) -> str:
    if output != "done: 2":
        raise SystemExit(f"wrong output {output!r}")
    return output


# ---------------------------------------------------------------- one run, per implementation
def floor_messages(first: dict) -> list[dict]:
    call = first["choices"][0]["message"]["tool_calls"][0]
    result = add(**json.loads(call["function"]["arguments"]))
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": PROMPT},
            first["choices"][0]["message"], {"role": "tool", "tool_call_id": call["id"], "content": str(result)}]


def make_floor_sync(url: str):
    import httpx

    client = httpx.Client(base_url=url, headers={"Authorization": "Bearer sk-bench"})

    def run() -> str:
        body = {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": SYSTEM},
                                                     {"role": "user", "content": PROMPT}], "tools": [ADD_SPEC]}
        first = client.post("/chat/completions", json=body).json()
        second = client.post("/chat/completions", json={**body, "messages": floor_messages(first)}).json()
        return second["choices"][0]["message"]["content"]
    return run


def make_floor_async(url: str):
    import httpx

    client = httpx.AsyncClient(base_url=url, headers={"Authorization": "Bearer sk-bench"},
                               limits=httpx.Limits(max_connections=2000, max_keepalive_connections=2000), timeout=60)

    async def run() -> str:
        body = {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": SYSTEM},
                                                     {"role": "user", "content": PROMPT}], "tools": [ADD_SPEC]}
        first = (await client.post("/chat/completions", json=body)).json()
        second = (await client.post("/chat/completions", json={**body, "messages": floor_messages(first)})).json()
        return second["choices"][0]["message"]["content"]
    return run


def make_floor_aiohttp(url: str):
    import aiohttp

    session = aiohttp.ClientSession(headers={"Authorization": "Bearer sk-bench"},
                                    connector=aiohttp.TCPConnector(limit=2000))

    async def post(body: dict) -> dict:
        async with session.post(url + "/chat/completions", json=body) as response:
            return json.loads(await response.read())

    async def run() -> str:
        body = {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": SYSTEM},
                                                     {"role": "user", "content": PROMPT}], "tools": [ADD_SPEC]}
        first = await post(body)
        second = await post({**body, "messages": floor_messages(first)})
        return second["choices"][0]["message"]["content"]
    return run


def litellm_messages(first) -> list[dict]:
    message = first.choices[0].message
    call = message.tool_calls[0]
    result = add(**json.loads(call.function.arguments))
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": PROMPT}, message.model_dump(),
            {"role": "tool", "tool_call_id": call.id, "content": str(result)}]


def make_litellm_sync(url: str):
    import litellm

    def run() -> str:
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": PROMPT}]
        first = litellm.completion(model=MODEL, messages=messages, tools=[ADD_SPEC], max_retries=0)
        second = litellm.completion(model=MODEL, messages=litellm_messages(first), tools=[ADD_SPEC], max_retries=0)
        return second.choices[0].message.content
    return run


def make_litellm_async(url: str):
    import litellm

    async def run() -> str:
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": PROMPT}]
        first = await litellm.acompletion(model=MODEL, messages=messages, tools=[ADD_SPEC], max_retries=0)
        second = await litellm.acompletion(model=MODEL, messages=litellm_messages(first), tools=[ADD_SPEC],
                                           max_retries=0)
        return second.choices[0].message.content
    return run


def make_agent(model: object = "litellm/" + MODEL):  # the agentsilex_* rows measure the LiteLLM path
    from agentsilex import Agent, tool

    return Agent(name="calculator", model=model, instructions=SYSTEM, tools=[tool(add)])


def make_agentsilex_sync(url: str):
    from agentsilex import Runner, Session

    agent = make_agent()
    return lambda: Runner(Session()).run(agent, PROMPT).final_output


def make_agentsilex_async(url: str):
    from agentsilex import Runner, Session

    agent = make_agent()

    async def run() -> str:
        return (await Runner(Session()).run_async(agent, PROMPT)).final_output
    return run


def make_default_async(url: str):
    """The plain model string, as a user writes it: the native path by default."""
    from agentsilex import Runner, Session

    agent = make_agent(MODEL)

    async def run() -> str:
        return (await Runner(Session()).run_async(agent, PROMPT)).final_output
    return run


def make_native_sync(url: str):
    from agentsilex import Runner, Session
    from agentsilex.models.openai_http import OpenAIHTTPModel

    agent = make_agent(OpenAIHTTPModel(MODEL))
    return lambda: Runner(Session()).run(agent, PROMPT).final_output


def make_native_async(url: str):
    from agentsilex import Runner, Session
    from agentsilex.models.openai_http import OpenAIHTTPModel

    agent = make_agent(OpenAIHTTPModel(MODEL))

    async def run() -> str:
        return (await Runner(Session()).run_async(agent, PROMPT)).final_output
    return run


def make_agentsilex_scripted(url: str):
    """No HTTP at all: what the framework alone costs per run (the model is a function)."""
    from agentsilex import Runner, Session
    from agentsilex.testing import FunctionModel

    from policy import reply  # bench/ is this script's folder, first on sys.path

    agent = make_agent(FunctionModel(reply))
    return lambda: Runner(Session()).run(agent, PROMPT).final_output


# ---------------------------------------------------------------- measurements
def seq(run, runs: int) -> dict:
    for _ in range(20):
        check(run())
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(runs):
        check(run())
    return {"ms_per_run": (time.perf_counter() - started) * 1000 / runs,
            "cpu_ms_per_run": (time.process_time() - cpu) * 1000 / runs}


def aseq(make, runs: int) -> dict:
    async def main() -> dict:
        run = make()
        for _ in range(20):
            check(await run())
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(runs):
            check(await run())
        return {"ms_per_run": (time.perf_counter() - started) * 1000 / runs,
                "cpu_ms_per_run": (time.process_time() - cpu) * 1000 / runs}
    return asyncio.run(main())


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field))


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as handle:  # Linux: reset VmHWM (peak RSS) to the current RSS
        handle.write("5")


def conc_result(outputs: list, wall: float, cpu: float, n: int, base: int) -> dict:
    failed = sum(output != "done: 2" for output in outputs)
    return {"wall_s": wall, "failed": failed, "errors": [str(o)[:200] for o in outputs if o != "done: 2"][:3],
            "cpu_ms_per_request": cpu * 1000 / (2 * n), "kib_per_run": (_rss_kib("VmHWM") - base) / n}


def aconc(make, n: int) -> dict:
    async def main() -> dict:
        run = make()

        async def safe() -> str:
            try:
                return await run()
            except Exception as exc:  # counted as a failed run
                return f"{type(exc).__name__}: {exc}"
        await asyncio.gather(*(safe() for _ in range(min(n, 50))))  # warm: imports, pools, connections
        base = _rss_kib("VmRSS")
        _reset_peak()
        started, cpu = time.perf_counter(), time.process_time()
        outputs = await asyncio.gather(*(safe() for _ in range(n)))
        return conc_result(outputs, time.perf_counter() - started, time.process_time() - cpu, n, base)
    return asyncio.run(main())


def sconc(run, n: int) -> dict:
    def safe(_: int) -> str:
        try:
            return run()
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
    with ThreadPoolExecutor(max_workers=n) as pool:
        list(pool.map(safe, range(n)))
        base = _rss_kib("VmRSS")
        _reset_peak()
        started, cpu = time.perf_counter(), time.process_time()
        outputs = list(pool.map(safe, range(n)))
        return conc_result(outputs, time.perf_counter() - started, time.process_time() - cpu, n, base)


def native_model():
    from agentsilex.models.openai_http import OpenAIHTTPModel

    return OpenAIHTTPModel(MODEL)


def ttft_sync(url: str, runs: int, floor: bool, native: bool = False) -> dict:
    if floor:
        stream_once = make_floor_stream(url)
    else:
        from agentsilex import Runner, Session

        agent = make_agent(native_model() if native else MODEL)

        def stream_once(mark) -> str:
            for event in Runner(Session()).run_stream(agent, PROMPT):
                if event.type == "partial_output":
                    mark()
                elif event.type == "final_result":
                    return event.final_output
    return _ttft(stream_once, runs)


def _ttft(stream_once, runs: int) -> dict:
    first: list[float] = []
    ttft, total = [], []
    for index in range(runs + 10):
        first.clear()
        started = time.perf_counter()
        check(stream_once(lambda: first or first.append(time.perf_counter())))
        if index >= 10:
            ttft.append((first[0] - started) * 1000)
            total.append((time.perf_counter() - started) * 1000)
    ttft.sort()
    total.sort()
    return {"ttft_ms": ttft[len(ttft) // 2], "total_ms": total[len(total) // 2]}


def make_floor_stream(url: str):
    import httpx

    client = httpx.Client(base_url=url, headers={"Authorization": "Bearer sk-bench"})

    def post_stream(messages: list[dict], mark) -> dict:
        body = {"model": "gpt-4o-mini", "messages": messages, "tools": [ADD_SPEC], "stream": True}
        text, calls = [], {}
        with client.stream("POST", "/chat/completions", json=body) as response:
            for line in response.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                for choice in json.loads(line[6:]).get("choices") or []:
                    delta = choice["delta"]
                    if delta.get("content"):
                        mark()
                        text.append(delta["content"])
                    for piece in delta.get("tool_calls") or []:
                        call = calls.setdefault(piece["index"], {"id": piece.get("id"), "name": "", "arguments": ""})
                        call["name"] += (piece.get("function") or {}).get("name") or ""
                        call["arguments"] += (piece.get("function") or {}).get("arguments") or ""
        return {"content": "".join(text) or None, "calls": list(calls.values())}

    def stream_once(mark) -> str:
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": PROMPT}]
        first = post_stream(messages, mark)
        call = first["calls"][0]
        messages += [{"role": "assistant", "content": None, "tool_calls": [
            {"id": call["id"], "type": "function", "function": {"name": call["name"], "arguments": call["arguments"]}}]},
            {"role": "tool", "tool_call_id": call["id"], "content": str(add(**json.loads(call["arguments"])))}]
        return post_stream(messages, mark)["content"]
    return stream_once


def ttft_async(url: str, runs: int, native: bool = False) -> dict:
    from agentsilex import Runner, Session

    agent = make_agent(native_model() if native else MODEL)

    async def main() -> dict:
        first: list[float] = []
        ttft, total = [], []
        for index in range(runs + 10):
            first.clear()
            started = time.perf_counter()
            async for event in Runner(Session()).run_stream_async(agent, PROMPT):
                if event.type == "partial_output" and not first:
                    first.append(time.perf_counter())
                elif event.type == "final_result":
                    check(event.final_output)
            if index >= 10:
                ttft.append((first[0] - started) * 1000)
                total.append((time.perf_counter() - started) * 1000)
        ttft.sort()
        total.sort()
        return {"ttft_ms": ttft[len(ttft) // 2], "total_ms": total[len(total) // 2]}
    return asyncio.run(main())


def main() -> None:
    name, url, params = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    resource.setrlimit(resource.RLIMIT_NOFILE, (65536, 65536)) if resource.getrlimit(resource.RLIMIT_NOFILE)[1] >= 65536 else None
    runs, n = params.get("runs", 300), params.get("n", 200)
    cases = {
        "floor_sync": lambda: seq(make_floor_sync(url), runs),
        "litellm_sync": lambda: seq(make_litellm_sync(url), runs),
        "agentsilex_sync": lambda: seq(make_agentsilex_sync(url), runs),
        "native_sync": lambda: seq(make_native_sync(url), runs),
        "native_async": lambda: aseq(lambda: make_native_async(url), runs),
        "native_async_conc": lambda: aconc(lambda: make_native_async(url), n),
        "default_async_conc": lambda: aconc(lambda: make_default_async(url), n),
        "native_sync_conc": lambda: sconc(make_native_sync(url), n),
        "agentsilex_scripted": lambda: seq(make_agentsilex_scripted(url), runs),
        "floor_async": lambda: aseq(lambda: make_floor_async(url), runs),
        "litellm_async": lambda: aseq(lambda: make_litellm_async(url), runs),
        "agentsilex_async": lambda: aseq(lambda: make_agentsilex_async(url), runs),
        "floor_aiohttp": lambda: aseq(lambda: make_floor_aiohttp(url), runs),
        "floor_aiohttp_conc": lambda: aconc(lambda: make_floor_aiohttp(url), n),
        "floor_async_conc": lambda: aconc(lambda: make_floor_async(url), n),
        "agentsilex_async_conc": lambda: aconc(lambda: make_agentsilex_async(url), n),
        "agentsilex_sync_conc": lambda: sconc(make_agentsilex_sync(url), n),
        "floor_stream": lambda: ttft_sync(url, runs, floor=True),
        "agentsilex_stream": lambda: ttft_sync(url, runs, floor=False),
        "agentsilex_stream_async": lambda: ttft_async(url, runs),
        "native_stream": lambda: ttft_sync(url, runs, floor=False, native=True),
        "native_stream_async": lambda: ttft_async(url, runs, native=True),
    }
    print(json.dumps(cases[name]()))


if __name__ == "__main__":
    main()
