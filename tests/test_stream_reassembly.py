"""Streamed tool calls are reassembled robustly, whatever shape the provider's chunks take."""

from __future__ import annotations

from agentsilex.models.stream import StreamAccumulator


def chunk(*pieces: dict, finish: str | None = None) -> dict:
    return {"choices": [{"index": 0, "delta": {"tool_calls": list(pieces)} if pieces else {}, "finish_reason": finish}]}


def piece(index: int | None, call_id: str | None, name: str | None, arguments: str | None) -> dict:
    out: dict = {"id": call_id, "function": {"name": name, "arguments": arguments}}
    if index is not None:
        out["index"] = index
    return out


def test_ids_and_names_repeated_on_every_chunk_and_empty_argument_pieces():
    accumulator = StreamAccumulator("a")
    for part in ['', '{"a"', '', ': 1}', None]:
        accumulator.feed(chunk(piece(0, "call_x", "add", part)))
    accumulator.feed(chunk(finish="tool_calls"))
    message = accumulator.response().message
    assert message["tool_calls"] == [{"id": "call_x", "type": "function",
                                      "function": {"name": "add", "arguments": '{"a": 1}'}}]


def test_parallel_calls_interleaved_by_index():
    accumulator = StreamAccumulator()
    accumulator.feed(chunk(piece(0, "c0", "first", ""), piece(1, "c1", "second", "")))
    accumulator.feed(chunk(piece(1, None, None, '{"y":')))
    accumulator.feed(chunk(piece(0, None, None, '{"x":')))
    accumulator.feed(chunk(piece(0, None, None, ' 1}'), piece(1, None, None, ' 2}')))
    accumulator.feed(chunk(finish="tool_calls"))
    calls = accumulator.response().message["tool_calls"]
    assert [(c["id"], c["function"]["name"], c["function"]["arguments"]) for c in calls] == [
        ("c0", "first", '{"x": 1}'), ("c1", "second", '{"y": 2}')]


def test_chunks_without_an_index_follow_the_call_id():
    accumulator = StreamAccumulator()
    accumulator.feed(chunk(piece(None, "a", "one", '{"n"')))
    accumulator.feed(chunk(piece(None, "b", "two", '{"m"')))
    accumulator.feed(chunk(piece(None, "a", None, ': 1}')))
    accumulator.feed(chunk(piece(None, None, None, ': 2}')))  # no id either: belongs to the latest call
    calls = accumulator.response().message["tool_calls"]
    assert [c["function"]["arguments"] for c in calls] == ['{"n": 1}', '{"m": 2}']


def test_text_deltas_and_usage():
    accumulator = StreamAccumulator("a")
    events = accumulator.feed({"choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": None}]})
    accumulator.feed({"choices": [{"index": 0, "delta": {"content": "lo"}, "finish_reason": "stop"}]})
    accumulator.feed({"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 2}})
    assert [e.type for e in events] == ["raw_chunk", "partial_output"]
    response = accumulator.response()
    assert response.message == {"role": "assistant", "content": "Hello"}
    assert (response.usage.input_tokens, response.usage.output_tokens, response.finish_reason) == (7, 2, "stop")
