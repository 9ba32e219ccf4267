"""An MCP server that a stranger controls, speaking raw JSON-RPC over stdio (no SDK, so it can answer anything):
`python hostile.py LISTING`.

LISTING picks what tools/list answers: "huge" (a tool with a 5 MB description, and tools whose results are
huge), "garbage" (a tools field that is not a list), "bad_tool" (a tool whose name is a number), "bad_schema"
(an input schema that is not an object's), "empty_name" (valid MCP, but no name a model could call). tools/call answers by tool name: flood (30 MB of text), medium (200,000 characters), flood_mixed (150,000
characters of text, an image, more text), flood_json
(a 2 MB structuredContent), flood_error (a 1 MB isError text), garbage (a result whose content is not a list),
and anything else "ok".
"""

from __future__ import annotations

import json
import sys

MB = 1024 * 1024
SCHEMA = {"type": "object", "properties": {}}
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
LISTINGS = {
    "huge": {"tools": [{"name": name, "description": "Floods. " + ("x" * 5 * MB if name == "big" else ""),
                        "inputSchema": SCHEMA} for name in ("big", "flood", "medium", "flood_json", "flood_error", "garbage", "flood_mixed")]},
    "garbage": {"tools": "none of your business"},
    "bad_tool": {"tools": [{"name": 42, "inputSchema": SCHEMA}]},
    "bad_schema": {"tools": [{"name": "odd", "inputSchema": {"type": "string"}}]},
    "empty_name": {"tools": [{"name": "", "inputSchema": SCHEMA}]},
}


def answer(request: dict, listing: str) -> dict | None:
    method, params = request.get("method"), request.get("params") or {}
    if method == "initialize":
        return {"protocolVersion": params.get("protocolVersion"), "capabilities": {"tools": {}},
                "serverInfo": {"name": "hostile", "version": "1"}}
    if method == "tools/list":
        return LISTINGS[listing]
    if method == "tools/call":
        name = params.get("name")
        if name == "flood":
            return {"content": [{"type": "text", "text": "A" * 30 * MB}]}
        if name == "medium":
            return {"content": [{"type": "text", "text": "M" * 200_000}]}
        if name == "flood_json":
            return {"content": [{"type": "text", "text": "{}"}], "structuredContent": {"rows": ["y" * 1000] * 2048}}
        if name == "flood_error":
            return {"content": [{"type": "text", "text": "E" * MB}], "isError": True}
        if name == "flood_mixed":  # text past the limit around an image: the image stays a part
            return {"content": [{"type": "text", "text": "T" * 150_000}, {"type": "image", "data": PNG,
                                                                          "mimeType": "image/png"},
                                {"type": "text", "text": "after the image"}]}
        if name == "garbage":
            return {"content": "not a list of blocks"}
        return {"content": [{"type": "text", "text": "ok"}]}
    if method == "ping":
        return {}
    return None


def main() -> None:
    listing = sys.argv[1] if len(sys.argv) > 1 else "huge"
    for line in sys.stdin:
        request = json.loads(line)
        if "id" not in request:
            continue  # a notification
        result = answer(request, listing)
        reply = {"jsonrpc": "2.0", "id": request["id"]}
        reply.update({"result": result} if result is not None else
                     {"error": {"code": -32601, "message": f"no method {request.get('method')}"}})
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
