#!/usr/bin/env bash
# Every test of the project, in the order a failure is cheapest to find.
# The last line printed is Playwright's own summary.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-deps.sh

echo "== format check"
bash scripts/check-format.sh

echo "== no function outside tests/ longer than 80 lines"
node scripts/function-lengths.mjs --max 80 --top 3

echo "== native core: GoogleTest"
cmake --preset native >/dev/null
cmake --build --preset native -j2
ctest --preset native

echo "== native core: GoogleTest under ASan/UBSan"
cmake --preset native-asan >/dev/null
cmake --build --preset native-asan -j2
ctest --preset native-asan

echo "== libFuzzer on the core under ASan/UBSan (bounded: FUZZ_SECONDS, default 60)"
mkdir -p out
if FUZZ_SECONDS="${FUZZ_SECONDS:-60}" bash scripts/fuzz.sh >out/fuzz.log 2>&1; then
  grep -E "^stat::(number_of_executed_units|average_exec_per_sec)|^fuzz:" out/fuzz.log
else
  tail -60 out/fuzz.log
  echo "fuzz: failed (full log: out/fuzz.log)"
  exit 1
fi

echo "== Wasm build"
bash scripts/build-wasm.sh

echo "== type test"
npx tsc -p tests/types

echo "== Playwright in Chromium"
npx playwright test
