#!/bin/bash
# Bounded fuzzing (issue 13 item 6): builds the libFuzzer targets of tests/fuzz with
# clang, ASan and UBSan in build-fuzz/ (-DWM_FUZZ=ON) and runs each for
# WM_FUZZ_SECONDS (default 60) from a copy of its seed corpus, tests/fuzz/corpus/<t>/.
# A crash, leak, timeout or broken invariant fails the run; libFuzzer's reproducer is
# kept in build-fuzz/findings/<t>/ (add it to the corpus under a name that says what it
# found, with a regression test named after it, once fixed).
# WM_FUZZ_SEED fixes libFuzzer's seed (CI sets 1, so a run on the same commit explores the
# same inputs and a red run is repeatable); unset, every run explores from a random seed.
# Usage: tests/fuzz/run.sh [TARGET...]   (default: every target)
set -uo pipefail

cd "$(dirname "$0")/../.."
seconds=${WM_FUZZ_SECONDS:-60}
seed=()
[ -n "${WM_FUZZ_SEED:-}" ] && seed=(-seed="$WM_FUZZ_SEED")
dir=build-fuzz

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for f in tests/fuzz/fuzz_*.c; do
        t=${f##*/fuzz_}
        targets+=("${t%.c}")
    done
fi
names=()
for t in "${targets[@]}"; do names+=("fuzz_$t"); done
if ! CC=clang WM_TARGETS="${names[*]}" ./scripts/build.sh "$dir" -DWM_FUZZ=ON; then
    echo "fuzz: building the targets failed" >&2
    echo "fuzz: 0 passed, ${#targets[@]} failed"
    exit 1
fi

passed=0
failed=0
for t in "${targets[@]}"; do
    work=$(mktemp -d /tmp/wm-fuzz-"$t"-XXXXXX)
    mkdir -p "$work/corpus" "$dir/findings/$t"
    cp -a tests/fuzz/corpus/"$t"/. "$work/corpus/"
    start=$(date +%s)
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$dir/fuzz_$t" -max_total_time="$seconds" "${seed[@]}" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$dir/findings/$t/" "$work/corpus" \
        >"$work/log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
    cov=$(grep -o 'cov: [0-9]*' "$work/log" | tail -1)
    if [ "$rc" -eq 0 ]; then
        echo "fuzz: $t: ok, ${runs:-?} inputs in $(($(date +%s) - start)) s, $cov, corpus $(ls "$work/corpus" | wc -l)"
        passed=$((passed + 1))
    else
        echo "fuzz: $t: FAILED (exit $rc); the end of libFuzzer's output:" >&2
        tail -60 "$work/log" >&2
        ls "$dir/findings/$t" >&2
        failed=$((failed + 1))
    fi
    rm -rf "$work"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
