#!/usr/bin/env bash
# Native and Wasm figures for the core, and the fleet simulation. Prints the figures and writes:
#   docs/bench/core-native.json  Google Benchmark JSON (sseb_core_bench)
#   docs/bench/core-wasm.json    the self-timing harness as Wasm (Node) and
#                                natively (g++ -O2), side by side
#   docs/bench/fleet.json        the fleet simulation
#   docs/bench/fleet-drain.json  the rolling-restart simulation
# Exits non-zero only when something fails to build or crashes; no figure is
# ever checked against a budget here. Takes about two minutes on two cores.
#
# Environment: BENCH_MIN_TIME (Google Benchmark seconds per run, default
# 0.2), BENCH_REPETITIONS (default 3), BENCH_MIN_MS (self-timing harness ms
# per case, default 200).
set -euo pipefail
cd "$(dirname "$0")/.."

min_time=${BENCH_MIN_TIME:-0.2}
repetitions=${BENCH_REPETITIONS:-3}
min_ms=${BENCH_MIN_MS:-200}
build=out/build/bench/tests/bench
mkdir -p docs/bench out/bench

step() { printf '\n==== %s\n' "$*"; }

step "build (preset bench: g++ -O2, Release)"
cmake --preset bench >/dev/null
cmake --build --preset bench -j2

step "Google Benchmark: docs/bench/core-native.json"
"$build/sseb_core_bench" \
  --benchmark_min_time="$min_time" \
  --benchmark_repetitions="$repetitions" \
  --benchmark_display_aggregates_only=true \
  --benchmark_out=docs/bench/core-native.json \
  --benchmark_out_format=json

step "self-timing harness as WebAssembly (em++ -O2, Node) and natively (g++ -O2)"
# Emscripten 3.1.6's JS optimizer needs Debian's acorn (as in build-wasm.sh).
# -sWASM_ASYNC_COMPILATION=0: the 3.1.6 glue would otherwise fetch() the
# .wasm, and Node 18+'s fetch cannot read a file path.
wasm_js=out/bench/core_bench_wasm.js
# The repository's package.json says "type": "module"; Emscripten's Node glue
# is CommonJS.
echo '{ "type": "commonjs" }' >out/bench/package.json
if [ ! -f "$wasm_js" ] || [ -n "$(find src tests/bench -newer "$wasm_js" -name '*.[ch]*' | head -1)" ]; then
  NODE_PATH=/usr/share/nodejs em++ -O2 -DNDEBUG -std=c++17 -Isrc -Itests/bench \
    src/*.cc tests/bench/core_bench_wasm.cc \
    -sENVIRONMENT=node -sWASM_ASYNC_COMPILATION=0 -sALLOW_MEMORY_GROWTH=1 \
    -o "$wasm_js"
fi
node "$wasm_js" --min-ms="$min_ms" >out/bench/core-wasm.raw.json
"$build/sseb_core_bench_selftimed" --min-ms="$min_ms" >out/bench/core-selftimed-native.raw.json

node - out/bench/core-wasm.raw.json out/bench/core-selftimed-native.raw.json docs/bench/core-wasm.json <<'EOF'
const fs = require('fs');
const os = require('os');
const { execSync } = require('child_process');
const [wasmPath, nativePath, outPath] = process.argv.slice(2);
const wasm = JSON.parse(fs.readFileSync(wasmPath, 'utf8'));
const native = JSON.parse(fs.readFileSync(nativePath, 'utf8'));
const version = (cmd) => {
  try { return execSync(cmd, { stdio: ['ignore', 'pipe', 'ignore'] }).toString().split('\n')[0].trim(); }
  catch { return null; }
};
const nativeByName = new Map(native.results.map((r) => [r.name, r]));
const comparison = wasm.results.map((w) => {
  const n = nativeByName.get(w.name);
  return {
    name: w.name,
    group: w.group,
    wasm_ns_per_op: w.median_ns_per_op,
    native_ns_per_op: n ? n.median_ns_per_op : null,
    wasm_over_native: n ? +(w.median_ns_per_op / n.median_ns_per_op).toFixed(3) : null,
    wasm_wall_ns_per_op: w.median_wall_ns_per_op,
    native_wall_ns_per_op: n ? n.median_wall_ns_per_op : null,
  };
});
const out = {
  schema: 'sse-balancer/core-wasm/1',
  note: 'ns per operation, median over ~10 ms batches of process CPU time (wall-clock medians beside them); the same source (tests/bench/core_bench_wasm.cc) built with em++ -O2 and run under Node, and built with g++ -O2 and run natively',
  machine: {
    cpu: os.cpus()[0] ? os.cpus()[0].model : null,
    cores: os.cpus().length,
    load_average: os.loadavg().map((x) => +x.toFixed(2)),
    node: process.version,
    emcc: version('em++ --version'),
    gxx: version('g++ --version'),
  },
  wasm,
  native,
  comparison,
};
fs.writeFileSync(outPath, JSON.stringify(out, null, 2) + '\n');
const pad = (s, n) => String(s).padEnd(n);
const num = (x, n) => (x == null ? 'n/a' : x.toFixed(2)).padStart(n);
console.log('CPU ns per operation (median batch):');
console.log(`${pad('case', 46)}${'wasm ns'.padStart(12)}${'native ns'.padStart(12)}${'wasm/native'.padStart(13)}`);
for (const c of comparison) {
  console.log(`${pad(c.name, 46)}${num(c.wasm_ns_per_op, 12)}${num(c.native_ns_per_op, 12)}${num(c.wasm_over_native, 13)}`);
}
console.log(`wrote ${outPath}`);
EOF

step "fleet simulation: docs/bench/fleet.json"
"$build/sseb_fleet_sim" --out docs/bench/fleet.json

step "rolling-restart simulation: docs/bench/fleet-drain.json"
"$build/sseb_fleet_drain_sim" --out docs/bench/fleet-drain.json

step "done: docs/bench/core-native.json docs/bench/core-wasm.json docs/bench/fleet.json docs/bench/fleet-drain.json"
