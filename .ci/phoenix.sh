#!/usr/bin/env bash
# A real OTLP receiver for the tracing end-to-end test: Arize Phoenix from PyPI, in its own venv (it brings many
# packages that the project's venv must not depend on), kept in the user's cache so a second run reuses it.
# Idempotent; tests/test_tracing_receiver.py looks for it in the same place.
set -euo pipefail
PYTHON=${PYTHON:-python3}
VENV="${AGENTSILEX_CACHE:-$HOME/.cache/agentsilex}/phoenix-venv"
if [ ! -x "$VENV/bin/phoenix" ]; then
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q 'arize-phoenix>=8'
fi
echo "phoenix: $("$VENV/bin/pip" show arize-phoenix 2>/dev/null | grep -i '^version') in $VENV"
