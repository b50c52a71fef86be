#!/usr/bin/env bash
# Installs what the demo and the tests need on a fresh Debian machine, and
# nothing that is already there. Safe to run any number of times.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v em++ >/dev/null || need+=(emscripten)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v cmake >/dev/null || need+=(cmake)
command -v g++ >/dev/null || need+=(g++)
command -v clang++ >/dev/null || need+=(clang)
command -v clang-format >/dev/null || need+=(clang-format)
[ -f /usr/lib/x86_64-linux-gnu/libclang_rt.fuzzer-x86_64.a ] || \
  ls /usr/lib/llvm-14/lib/clang/14*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 || \
  need+=(libclang-rt-14-dev)
[ -f /usr/include/gtest/gtest.h ] || need+=(libgtest-dev)
[ -f /usr/include/benchmark/benchmark.h ] || need+=(libbenchmark-dev)
command -v redis-server >/dev/null || need+=(redis-server)
# redis-cli (Debian's redis-tools, a dependency of redis-server) creates the Redis Cluster of the tests.
command -v redis-cli >/dev/null || need+=(redis-tools)

if [ ${#need[@]} -gt 0 ]; then
  echo "ensure-deps: installing ${need[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
fi

# npm ci when node_modules is missing or older than the lockfile.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "ensure-deps: npm ci"
  npm ci --no-audit --no-fund
fi
