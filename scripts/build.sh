#!/bin/bash
# Configures and builds one tree: scripts/build.sh [DIR [extra cmake args...]].
# DIR defaults to build/. Used by run.sh and test.sh; -j2 because the target machines
# have two cores.
set -euo pipefail

cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true

cmake -S . -B "$dir" "$@" >/dev/null
cmake --build "$dir" -j"${WM_JOBS:-2}"
