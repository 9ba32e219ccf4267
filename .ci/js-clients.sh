#!/usr/bin/env bash
# The official JavaScript clients of two protocols `agentsilex serve` speaks, from the npm registry, for
# tests/test_protocol_vercel.py and tests/test_protocol_agui.py: the Vercel AI SDK (`ai`: its chat client and
# chunk schema, as a `useChat` front end uses them; major version 6 runs on Node.js 20, 7 needs 22) and AG-UI's
# `@ag-ui/client` (HttpAgent, which checks the order of the events it reads). Kept in the user's cache so a
# second run reuses them. Idempotent.
set -euo pipefail
DIR="${AGENTSILEX_CACHE:-$HOME/.cache/agentsilex}/js-clients"
if ! command -v node >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if [ ! -f "$DIR/node_modules/ai/package.json" ] || [ ! -f "$DIR/node_modules/@ag-ui/client/package.json" ]; then
    mkdir -p "$DIR"
    (cd "$DIR" && { [ -f package.json ] || npm init -y >/dev/null; } \
        && npm install --silent --no-audit --no-fund 'ai@^6' '@ag-ui/client@^1')
fi
echo "js clients: ai $(node -p "require('$DIR/node_modules/ai/package.json').version"), @ag-ui/client" \
     "$(node -p "require('$DIR/node_modules/@ag-ui/client/package.json').version") on node $(node --version)"
