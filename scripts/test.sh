#!/bin/bash
# The README's second command (and CI's): install the packages, build the normal tree
# (build/) and the sanitizer tree (build-san/, ASan + UBSan), and run every test in both
# with ctest. Fails when anything fails.
#
# In CI (CI=true), or with WM_TEST_OPS=1, the operations stage follows: the Debian
# package (tests/package/test_deb.sh: build, lintian, install, check) and the bounded
# fuzzing runs (tests/fuzz/run.sh: each libFuzzer target for WM_FUZZ_SECONDS, 60 by
# default, with clang, ASan and UBSan). It takes several minutes, so a developer's run
# skips it unless asked.
set -euo pipefail

cd "$(dirname "$0")/.."

./scripts/deps.sh
./scripts/build.sh build
./scripts/build.sh build-san -DWM_SANITIZE=ON

# Both trees run even when the first fails, so one run shows every failure.
status=0
ctest --test-dir build --output-on-failure || status=1

# Leaks are errors; UBSan stops at the first finding with a stack trace.
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-san --output-on-failure || status=1

if [ "${CI:-}" = true ] || [ "${WM_TEST_OPS:-0}" = 1 ]; then
    ./tests/package/test_deb.sh || status=1
    # CI fuzzes from a fixed seed, so the same commit gives the same verdict; explore with
    # random seeds by running tests/fuzz/run.sh without WM_FUZZ_SEED.
    WM_FUZZ_SEED=${WM_FUZZ_SEED:-1} ./tests/fuzz/run.sh || status=1
else
    echo "test: the operations stage (Debian package, fuzzing) runs in CI or with WM_TEST_OPS=1" >&2
fi

if [ "$status" -ne 0 ]; then
    echo "test: FAILED (see above)" >&2
else
    echo "test: all tests passed in build/ and build-san/" >&2
fi
exit "$status"
