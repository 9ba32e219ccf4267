"""The protocols' official JavaScript clients (npm, installed by .ci/js-clients.sh) run from the tests with Node.js:
without them the tests that use them skip locally and fail in CI (CI=true)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

CACHE = Path(os.environ.get("AGENTSILEX_CACHE", Path.home() / ".cache" / "agentsilex"))
MODULES = CACHE / "js-clients" / "node_modules"


def run_node(script: Path, *args: str, package: str) -> Any:
    """Run `node script args...` with the clients on NODE_PATH; its stdout as JSON."""
    node = shutil.which("node")
    if node is None or not (MODULES / package / "package.json").exists():
        if os.environ.get("CI") == "true":
            raise RuntimeError(f"the {package} client must run in CI: bash .ci/js-clients.sh")
        pytest.skip(f"needs Node.js and the npm package {package}: bash .ci/js-clients.sh")
    done = subprocess.run([node, str(script), *args], env={**os.environ, "NODE_PATH": str(MODULES)},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
