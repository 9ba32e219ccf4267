#!/usr/bin/env bash
# The Vercel AI SDK (`ai` from the npm registry) for tests/test_protocol_vercel.py: its own chat client and chunk
# schema check what `POST /api/vercel/chat` streams, as a `useChat` front end would. Major version 6 runs on
# Node.js 20 (7 needs 22). Kept in the user's cache so a second run reuses it. Idempotent.
set -euo pipefail
DIR="${AGENTSILEX_CACHE:-$HOME/.cache/agentsilex}/vercel-ai"
if ! command -v node >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if [ ! -f "$DIR/node_modules/ai/package.json" ]; then
    mkdir -p "$DIR"
    (cd "$DIR" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund 'ai@^6')
fi
echo "vercel ai: $(node -p "require('$DIR/node_modules/ai/package.json').version") on node $(node --version)"
