#!/bin/sh
# Installs the Debian 12 packages werkmonitor needs to build, run and test (the tests
# also check the man pages with groff, build the Debian package with debhelper and
# lintian, verify the unit with systemd-analyze, and fuzz with clang's libFuzzer).
# Quick no-op when every package is already installed; otherwise runs apt-get as root
# (directly, or through sudo for a normal user). Safe to run again and again.
#   scripts/deps.sh           what the build and the tests need
#   scripts/deps.sh --bench   that plus what tests/bench/vs_postgres needs (PostgreSQL 15
#                             server, libpq for its client) and vs_postgres_profile uses
#                             (mdb_stat, valgrind, strace), and wrk for http_bench.py;
#                             not needed for the tests
set -eu

# prometheus is there for its promtool, which checks /metrics in the e2e tests;
# chromium, nodejs and npm (for playwright-core) and poppler-utils (pdfinfo, pdftoppm)
# for the monitor page's browser test (tests/browser); postgresql-15 for the export test
# (test_ops_export loads an export into a private cluster and compares GROUP BY with COUNT);
# logrotate for the package test (it checks and uses the package's logrotate file).
PACKAGES="build-essential make cmake pkg-config libevent-dev liblmdb-dev libmsgpack-dev
libssl-dev libcmocka-dev libjansson-dev libcsv-dev libsystemd-dev python3
netcat-openbsd openssl groff-base prometheus debhelper lintian dpkg-dev systemd clang
libclang-rt-14-dev chromium poppler-utils nodejs npm postgresql-15 logrotate"
BENCH_PACKAGES="libpq-dev lmdb-utils valgrind strace wrk"

case "${1:-}" in
"") ;;
--bench) PACKAGES="$PACKAGES $BENCH_PACKAGES" ;;
*)
    echo "usage: scripts/deps.sh [--bench]" >&2
    exit 2
    ;;
esac

missing=""
for p in $PACKAGES; do
    # A nodejs from elsewhere (NodeSource's, say) brings its own npm and conflicts with
    # Debian's npm package: an npm command is enough.
    if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then
        continue
    fi
    # dpkg-query prints "install ok installed" only for a fully installed package.
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
    *"ok installed") ;;
    *) missing="$missing $p" ;;
    esac
done

if [ -z "$missing" ]; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "deps: missing packages:$missing" >&2
    echo "deps: run this script as root (or install sudo) to install them" >&2
    exit 1
fi

echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive

# apt-get update only when the package lists are absent or the install cannot find a
# package: a fresh container has no lists, a configured machine usually has them.
have_lists=0
for f in /var/lib/apt/lists/*_Packages /var/lib/apt/lists/*_Packages.*; do
    [ -e "$f" ] && have_lists=1 && break
done
if [ "$have_lists" -eq 0 ]; then
    $SUDO apt-get update
fi
# shellcheck disable=SC2086 # $missing is a list of words on purpose
if ! $SUDO apt-get install -y --no-install-recommends $missing; then
    $SUDO apt-get update
    $SUDO apt-get install -y --no-install-recommends $missing
fi
