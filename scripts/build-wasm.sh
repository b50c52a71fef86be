#!/usr/bin/env bash
# Builds web/dist/sse-balancer-core.{js,wasm} with Emscripten (incremental).
set -euo pipefail
cd "$(dirname "$0")/.."
# Emscripten 3.1.6's JS optimizer needs Debian's acorn (see TOOLCHAIN.md).
export NODE_PATH=/usr/share/nodejs
# Debian's closure-compiler is from 2013; use the npm one (TOOLCHAIN.md).
export EM_CLOSURE_COMPILER="$PWD/node_modules/.bin/google-closure-compiler"
if [ ! -f out/build/wasm/CMakeCache.txt ]; then
  cmake --preset wasm >/dev/null
fi
cmake --build --preset wasm -j2
