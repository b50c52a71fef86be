#!/usr/bin/env bash
# Fails when a C++ file differs from what clang-format (.clang-format) makes of it.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files 'src/*.cc' 'src/*.h' 'bindings/*.cc' 'bindings/*.h' 'tests/native/*.cc' 'tests/native/*.h' 'tests/fuzz/*.cc' 'tests/bench/*.cc' 'tests/bench/*.h' 2>/dev/null || true)
[ -n "$files" ] || files=$(ls src/*.cc src/*.h bindings/*.cc bindings/*.h tests/native/*.cc tests/native/*.h tests/fuzz/*.cc tests/bench/*.cc tests/bench/*.h 2>/dev/null)
# shellcheck disable=SC2086
clang-format --dry-run --Werror $files
echo "format check: $(echo "$files" | wc -w) files clean"
