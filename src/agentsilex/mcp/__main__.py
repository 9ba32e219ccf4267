"""`python -m agentsilex.mcp serve module:agent [more:targets] [--http --host H --port P --path /mcp]`.

Each target is `module:attribute` (or `path/to/file.py:attribute`), read by the same loader as `agentsilex run`;
the attribute may be an Agent, a tool, a function or a list of them. A module is imported from the current
directory; a file inside a package is imported as that package's module.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..app.common import load_object
from ..errors import UserError
from .server import serve_mcp


def load_target(spec: str) -> list[Any]:
    """Resolve `module:attribute` (or `path/to/file.py:attribute`; the attribute defaults to `agent`) to the
    objects to serve, with the loader every `agentsilex` command uses."""
    found = load_object(spec)
    return list(found) if isinstance(found, (list, tuple)) else [found]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m agentsilex.mcp", description="Serve agents and tools over MCP.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve module:attribute targets (stdio unless --http)")
    serve.add_argument("targets", nargs="+", help="module:attribute, e.g. my_agents:agent")
    serve.add_argument("--http", action="store_true", help="streamable HTTP instead of stdio")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--path", default="/mcp")
    serve.add_argument("--name", default="agentsilex", help="the server name clients see")
    args = parser.parse_args(argv)
    try:
        targets = [item for spec in args.targets for item in load_target(spec)]
        serve_mcp(*targets, name=args.name, transport="http" if args.http else "stdio", host=args.host,
                  port=args.port, path=args.path)
    except (UserError, ImportError, SyntaxError) as exc:  # one line, no traceback
        parser.exit(2, f"error: {exc}\n")
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
