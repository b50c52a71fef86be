#!/usr/bin/env bash
# Builds web/dist/sse-balancer-core.{js,wasm} with Emscripten (incremental).
set -euo pipefail
cd "$(dirname "$0")/.."
# Emscripten 3.1.6's JS optimizer needs Debian's acorn (see TOOLCHAIN.md).
export NODE_PATH=/usr/share/nodejs
if [ ! -f out/build/wasm/CMakeCache.txt ]; then
  cmake --preset wasm >/dev/null
fi
cmake --build --preset wasm -j2
