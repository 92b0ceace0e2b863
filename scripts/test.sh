#!/usr/bin/env bash
# Builds leash and runs every test (unit, compile-fail, cmake consumers) with the
# `ci` preset, in build/ci. Exits non-zero on any failure. Works from any cwd.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset ci
cmake --build --preset ci --parallel 2
ctest --preset ci
