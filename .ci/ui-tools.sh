#!/usr/bin/env bash
# Install (from Debian packages) what the front-end tests drive: tmux for the terminal chat, and Chromium for
# the web chat (Playwright is pointed at this browser; it never downloads one). Idempotent; needs root.
set -euo pipefail

missing=()
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
command -v chromium >/dev/null 2>&1 || missing+=(chromium chromium-driver fonts-liberation)
if ((${#missing[@]})); then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "ui tools: $(tmux -V), $(chromium --version 2>/dev/null || echo 'chromium missing')"
