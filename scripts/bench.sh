#!/usr/bin/env bash
# `npm run bench`: every benchmark, then docs/BENCHMARKS.md.
#   1. dependencies and the Wasm build (as `npm start` / `npm test` do)
#   2. scripts/bench-native.sh: core speed natively and as Wasm,
#      the fleet simulation (docs/bench/core-native.json, core-wasm.json,
#      fleet.json)
#   3. the browser benchmarks in Debian's Chromium (tests/bench/browser/:
#      docs/bench/browser.json)
#   4. scripts/bench-report.mjs: docs/BENCHMARKS.md and the SVG plots
# Benchmarks print figures and never fail on a time; this script fails only
# when a step cannot run (a build error, a crash), and still writes the
# report from whatever was measured. Knobs: BENCH_TRIALS (default 7),
# BENCH_SKIP_NATIVE=1 (browser only), BENCH_ONLY=<sections> and the others
# listed in tests/bench/browser/README.md. About 10 minutes on two quiet
# cores.
set -uo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==== %s\n' "$*"; }
failed=()
started=$(date +%s)

step "dependencies"
bash scripts/ensure-deps.sh || { echo "bench: ensure-deps failed" >&2; exit 1; }
step "Wasm build"
bash scripts/build-wasm.sh || { echo "bench: the Wasm build failed" >&2; exit 1; }
mkdir -p docs/bench

if [ -n "${BENCH_SKIP_NATIVE:-}" ]; then
  step "BENCH_SKIP_NATIVE is set: keeping docs/bench/core-*.json and fleet.json as they are"
else
  step "native, Wasm-in-Node and fleet benchmarks (scripts/bench-native.sh)"
  bash scripts/bench-native.sh || failed+=("scripts/bench-native.sh")
fi

step "browser benchmarks (tests/bench/browser/run.mjs)"
node tests/bench/browser/run.mjs || failed+=("tests/bench/browser/run.mjs")

step "replay load on the reference server (tests/bench/replay-load.mjs)"
node tests/bench/replay-load.mjs --out docs/bench || failed+=("tests/bench/replay-load.mjs")

step "report (scripts/bench-report.mjs)"
node scripts/bench-report.mjs || failed+=("scripts/bench-report.mjs")

elapsed=$(( $(date +%s) - started ))
echo
echo "bench: done in $((elapsed / 60)) min $((elapsed % 60)) s; report: $(pwd)/docs/BENCHMARKS.md"
if [ ${#failed[@]} -gt 0 ]; then
  echo "bench: these steps failed: ${failed[*]}" >&2
  exit 1
fi
