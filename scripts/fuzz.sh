#!/usr/bin/env bash
# Builds the libFuzzer target (preset `fuzz`) and fuzzes the Balancer for
# FUZZ_SECONDS (default 60) from a fresh corpus. Exits non-zero when the
# fuzzer finds a crash, a leak, a timeout or a broken invariant; the input
# that did it is kept in out/fuzz/ (replay: out/build/fuzz/sseb_fuzzer FILE).
set -euo pipefail
cd "$(dirname "$0")/.."

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j2

corpus=$(mktemp -d "${TMPDIR:-/tmp}/sseb-fuzz-corpus.XXXXXX")
trap 'rm -rf "$corpus"' EXIT
mkdir -p out/fuzz
# Every byte string is a valid script; a few long random ones let the
# scripts be long from the start (libFuzzer otherwise grows them slowly).
for i in 1 2 3 4 5 6 7 8; do
  head -c 1024 /dev/urandom >"$corpus/seed-$i"
done

status=0
out/build/fuzz/sseb_fuzzer -max_total_time="${FUZZ_SECONDS:-60}" \
  -print_final_stats=1 -timeout=30 -artifact_prefix=out/fuzz/ \
  "$corpus" || status=$?
if [ "$status" -ne 0 ]; then
  echo "fuzz: sseb_fuzzer failed (exit $status); inputs in out/fuzz/" >&2
  exit "$status"
fi
echo "fuzz: no failure in ${FUZZ_SECONDS:-60} s"
