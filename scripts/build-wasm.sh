#!/usr/bin/env bash
# Builds web/dist/sse-balancer-core.{js,wasm} with Emscripten (incremental),
# then web/dist/sse-balancer.js (the glue and web/index.js in one module).
set -euo pipefail
cd "$(dirname "$0")/.."
# Emscripten 3.1.6's JS optimizer (acorn-optimizer.js) needs Debian's acorn
# package, which it finds only through NODE_PATH.
export NODE_PATH=/usr/share/nodejs
# Debian's closure-compiler is from 2013; use npm's native build of the
# 20220202 release, of Emscripten 3.1.6's time. The
# platform package is a direct dependency because npm 11 leaves the other
# platforms' optional packages out of the lockfile, which breaks `npm ci`.
export EM_CLOSURE_COMPILER="$PWD/node_modules/google-closure-compiler-linux/compiler"
if [ ! -f out/build/wasm/CMakeCache.txt ]; then
  cmake --preset wasm >/dev/null
fi
cmake --build --preset wasm -j2
node scripts/bundle.mjs
