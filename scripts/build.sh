#!/bin/bash
# Configures and builds one tree: scripts/build.sh DIR [extra cmake configure args...].
# WM_TARGETS (space-separated) limits the build to those targets; default: everything.
# -j2 by default because the target machines have two cores (WM_JOBS overrides).
set -euo pipefail

cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true

cmake -S . -B "$dir" "$@" >/dev/null
targets=()
for t in ${WM_TARGETS:-}; do
    targets+=(--target "$t")
done
cmake --build "$dir" -j"${WM_JOBS:-2}" "${targets[@]}"
