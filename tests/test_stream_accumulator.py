"""Streamed tool calls are reassembled robustly, whatever the provider's chunking."""

from agentsilex.models import ModelResponse, Usage
from agentsilex.models.stream import StreamAccumulator, response_to_chunks
from agentsilex.messages import assistant, tool_call


def chunk(*tool_calls, content=None):
    delta = {"tool_calls": list(tool_calls)} if tool_calls else {}
    if content:
        delta["content"] = content
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}


def piece(index, args, id=None, name=None):
    out = {"function": {"arguments": args}}
    if index is not None:
        out["index"] = index
    if id:
        out["id"] = id
    if name:
        out["function"]["name"] = name
    return out


def test_interleaved_calls_with_repeated_ids_and_names_and_empty_pieces():
    acc = StreamAccumulator()
    for c in [chunk(piece(0, "", "a", "add"), piece(1, "", "b", "mul")),
              chunk(piece(1, '{"x":', "b", "mul")), chunk(piece(0, '{"y":', "a", "add")),
              chunk(piece(0, "", "a", "add")), chunk(piece(1, " 2}", "b")), chunk(piece(0, " 1}", "a")),
              {"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 3}}]:
        acc.feed(c)
    message = acc.response().message
    assert message["tool_calls"] == [tool_call("a", "add", '{"y": 1}'), tool_call("b", "mul", '{"x": 2}')]
    assert acc.response().usage.input_tokens == 7


def test_pieces_without_an_index_follow_their_id():
    acc = StreamAccumulator()
    for c in [chunk(piece(None, '{"a"', "id1", "f")), chunk(piece(None, ': 1}')), chunk(piece(None, "{}", "id2", "g"))]:
        acc.feed(c)
    assert acc.response().message["tool_calls"] == [tool_call("id1", "f", '{"a": 1}'), tool_call("id2", "g", "{}")]


def test_text_deltas_become_events_and_round_trip():
    reply = ModelResponse(assistant("hello there, streaming world", [tool_call("c", "f", '{"k": "v" }')]),
                          Usage(1, 5, 6))
    acc = StreamAccumulator("bot")
    events = [e for c in response_to_chunks(reply, piece=4) for e in acc.feed(c)]
    assert "".join(e.content for e in events if e.type == "partial_output") == "hello there, streaming world"
    assert acc.response().message == reply.message
    assert (acc.response().usage.input_tokens, acc.response().usage.output_tokens) == (5, 6)
