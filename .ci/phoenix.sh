#!/usr/bin/env bash
# A real OTLP receiver for the tracing end-to-end test: Arize Phoenix from PyPI, in its own venv (it brings many
# packages that the project's venv must not depend on). Idempotent; the test finds it at .venv-phoenix/bin/phoenix.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv-phoenix/bin/phoenix ]; then
    "$PYTHON" -m venv .venv-phoenix
    .venv-phoenix/bin/pip install -q --upgrade pip
    .venv-phoenix/bin/pip install -q 'arize-phoenix>=8'
fi
echo "phoenix: $(.venv-phoenix/bin/pip show arize-phoenix 2>/dev/null | grep -i '^version')"
