#!/bin/bash
# The Debian package (issue 13 item 8): builds it with `dpkg-buildpackage -us -uc -b`
# from a copy of the source tree, runs lintian (no errors allowed), checks its contents
# and hardening, and checks the installed files: the configuration passes
# `werkmonitord --check-config`, `systemd-analyze verify` accepts the unit, the daemon
# started with the installed configuration gets the region's 27 projects, and
# logrotate accepts the audit trail's logrotate file and rotates with it.
#
# WM_DEB_CHECK=1 runs the unit tests inside the package build (dh_auto_test).
# WM_DEB_INSTALL=1 (the default when CI=true and run as root) installs the package on
# this machine with dpkg -i and purges it afterwards; otherwise the package is unpacked
# into a temporary directory with dpkg-deb -x and checked there.
# Usage: tests/package/test_deb.sh [BUILD_DIR]   (BUILD_DIR: a built tree, for nothing
# but the version; default build). Prints "package: N passed, N failed" at the end.
set -uo pipefail

cd "$(dirname "$0")/../.."
src=$(pwd)
version=$(sed -n 's/^project(werkmonitor VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
install=${WM_DEB_INSTALL:-}
if [ -z "$install" ]; then
    if [ "${CI:-}" = "true" ] && [ "$(id -u)" -eq 0 ]; then install=1; else install=0; fi
fi

passed=0
failed=0
ok() { echo "package: ok: $*"; passed=$((passed + 1)); }
bad() { echo "package: FAILED: $*" >&2; failed=$((failed + 1)); }
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}

tmp=$(mktemp -d /tmp/wm-deb-XXXXXX)
daemon_pid=
installed_here=0
cleanup() {
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
    if [ "$installed_here" -eq 1 ]; then
        dpkg --purge werkmonitor >/dev/null 2>&1 || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

finish() {
    echo "package: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}

# 1. Build from a copy holding the tracked and the new (not ignored) files only, so no
# build tree of the checkout goes in and nothing is written beside the checkout.
tree=$tmp/werkmonitor-$version
mkdir -p "$tree"
git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} cp --parents -a {} "$tree"/ 2>/dev/null
rm -rf "$tree"/data/local
check "changelog version $version equals CMake's" \
    grep -q "^werkmonitor ($version)" "$tree/debian/changelog"
start=$(date +%s)
# The unit tests ran in build/ already; WM_DEB_CHECK=1 runs them in the package build too.
opts="parallel=${WM_JOBS:-2}"
[ "${WM_DEB_CHECK:-0}" = 1 ] || opts="$opts nocheck"
if (cd "$tree" && DEB_BUILD_OPTIONS="$opts" dpkg-buildpackage -us -uc -b) \
    >"$tmp/build.log" 2>&1; then
    ok "dpkg-buildpackage -us -uc -b ($(($(date +%s) - start)) s)"
else
    tail -40 "$tmp/build.log" >&2
    bad "dpkg-buildpackage -us -uc -b"
    finish
fi
deb=$(ls "$tmp"/werkmonitor_"$version"_*.deb)
grep -E '^dpkg-buildflags|hardening' "$tmp/build.log" | head -3

# 2. lintian: errors fail, the rest is reported.
lintian --fail-on error --tag-display-limit 0 "$tmp"/werkmonitor_"$version"_*.changes \
    >"$tmp/lintian.log" 2>&1
lrc=$?
cat "$tmp/lintian.log"
echo "package: lintian: $(grep -c '^E:' "$tmp/lintian.log") errors, $(grep -c '^W:' "$tmp/lintian.log") warnings, $(grep -c '^I:' "$tmp/lintian.log") info"
if [ "$lrc" -eq 0 ]; then ok "lintian reports no errors"; else bad "lintian (exit $lrc)"; fi

# 3. Contents and hardening.
dpkg-deb -c "$deb" | awk '{print $6}' >"$tmp/contents"
for f in ./usr/bin/werkmonitord ./usr/bin/werkmonitor ./usr/share/man/man8/werkmonitord.8.gz \
    ./usr/share/man/man1/werkmonitor.1.gz ./usr/share/werkmonitor/gooi-en-vechtstreek.wm \
    ./lib/systemd/system/werkmonitord.service ./etc/werkmonitor/werkmonitord.conf \
    ./usr/share/doc/werkmonitor/copyright ./usr/share/doc/werkmonitor/examples/werkmonitord.conf.example \
    ./etc/logrotate.d/werkmonitor; do
    check "the package holds $f" grep -qx "$f" "$tmp/contents"
done
dpkg-deb -e "$deb" "$tmp/control"
check "the configuration is a conffile" grep -qx /etc/werkmonitor/werkmonitord.conf "$tmp/control/conffiles"
check "the logrotate file is a conffile" grep -qx /etc/logrotate.d/werkmonitor "$tmp/control/conffiles"
check "postinst enables the unit" grep -q 'deb-systemd-helper.*werkmonitord.service' "$tmp/control/postinst"
dpkg-deb -x "$deb" "$tmp/root"
for b in werkmonitord werkmonitor; do
    elf=$tmp/root/usr/bin/$b
    check "$b is PIE" sh -c "readelf -h '$elf' | grep -q 'DYN (Position-Independent Executable'"
    check "$b is linked with -z now and relro" sh -c "readelf -d '$elf' | grep -q 'FLAGS.*BIND_NOW\|FLAGS_1.*NOW' && readelf -l '$elf' | grep -q GNU_RELRO"
    check "$b has the stack protector and fortified calls" sh -c "readelf -s --wide '$elf' | grep -q __stack_chk_fail && readelf -s --wide '$elf' | grep -q '__[a-z]*_chk@'"
done
check "the unit names /usr/bin/werkmonitord" grep -q '^ExecStart=/usr/bin/werkmonitord --config /etc/werkmonitor/werkmonitord.conf$' \
    "$tmp/root/lib/systemd/system/werkmonitord.service"
check "the configuration names the installed registry" grep -qx 'registry /usr/share/werkmonitor/gooi-en-vechtstreek.wm' \
    "$tmp/root/etc/werkmonitor/werkmonitord.conf"
check "the configuration writes the audit trail into the unit's LogsDirectory" sh -c \
    "grep -qx 'audit-log /var/log/werkmonitor/audit.log' '$tmp/root/etc/werkmonitor/werkmonitord.conf' &&
     grep -qx 'LogsDirectory=werkmonitor' '$tmp/root/lib/systemd/system/werkmonitord.service'"

# 4. The installed files at work.
if [ "$install" = 1 ]; then
    echo "package: installing $deb on this machine (dpkg -i; purged at the end)"
    if dpkg -i "$deb" >"$tmp/dpkg.log" 2>&1; then
        installed_here=1
        ok "dpkg -i"
    else
        cat "$tmp/dpkg.log" >&2
        bad "dpkg -i"
        finish
    fi
    root=
else
    echo "package: checking the unpacked package (WM_DEB_INSTALL=1 installs it with dpkg -i)"
    root=$tmp/root
    # the installed paths, moved under the unpacked tree
    sed -i "s|/usr/share/werkmonitor/|$root/usr/share/werkmonitor/|" "$root/etc/werkmonitor/werkmonitord.conf"
    sed -i "s|=/usr/bin/werkmonitord|=$root/usr/bin/werkmonitord|; s|/etc/werkmonitor/|$root/etc/werkmonitor/|g" \
        "$root/lib/systemd/system/werkmonitord.service"
fi
daemon=$root/usr/bin/werkmonitord
client=$root/usr/bin/werkmonitor
conf=$root/etc/werkmonitor/werkmonitord.conf
check "werkmonitord --check-config --config $conf" sh -c "'$daemon' --check-config --config '$conf' >'$tmp/check.out'"
check "systemd-analyze verify the unit" systemd-analyze verify "$root/lib/systemd/system/werkmonitord.service"
check "werkmonitor --version" sh -c "'$client' --version | grep -q '$version'"
if [ "$install" = 1 ]; then
    check "man finds werkmonitord(8)" sh -c "man -w 8 werkmonitord | grep -q /usr/share/man/man8/werkmonitord.8.gz"
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# started by hand, not by systemd: no LogsDirectory, so the audit file goes beside the data
"$daemon" --config "$conf" --data "$tmp/data" --listen "127.0.0.1:$port" --audit-log "$tmp/audit.log" \
    >"$tmp/daemon.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 100); do
    "$client" --port "$port" ping >/dev/null 2>&1 && break
    sleep 0.1
done
nproj=$("$client" --port "$port" projects --format csv 2>/dev/null | tail -n +2 | grep -vc '^\*,' || true)
if [ "$nproj" = 27 ]; then
    ok "the daemon with the installed configuration has the region's 27 projects"
else
    cat "$tmp/daemon.log" >&2
    bad "projects with the installed configuration: $nproj, want 27"
fi
# The logrotate file: logrotate accepts it; pointed at this daemon's audit file (and its
# postrotate at this daemon's pid instead of the unit), a rotation leaves the trail so
# far in audit.log.1 and the daemon writing to a new audit.log it made on SIGHUP.
lr=$root/etc/logrotate.d/werkmonitor
check "logrotate -d accepts $lr" sh -c "logrotate -d -s '$tmp/logrotate.state' '$lr' >'$tmp/logrotate-d.log' 2>&1"
send_event() { # send_event ID: one event, which the audit trail records
    local r
    r=$(echo "EVENT started id=$1 person=pseudo-logrotate gemeente=Hilversum date=2024-03-01 project=hout kind=overig doelgroep=overig benefit=onbekend" |
        "$client" --port "$port" raw) && [ "${r#OK}" != "$r" ]
}
wait_for() { # wait_for COMMAND...: until it succeeds, 5 s at most
    for _ in $(seq 50); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}
audited_before() {
    send_event lr-1 && wait_for grep -q 'op=event.*seq=' "$tmp/audit.log"
}
rotate() {
    # the path and the postrotate pointed at this daemon
    awk -v path="$tmp/audit.log" -v pid="$daemon_pid" '
        /^\/var\/log\/werkmonitor\/audit\.log / { sub(/^[^ ]*/, path) }
        /^[ \t]*endscript/ { skip = 0 }
        skip { next }
        /^[ \t]*postrotate/ { print; print "\t\tkill -HUP " pid; skip = 1; next }
        { print }' "$lr" >"$tmp/logrotate.conf" &&
        logrotate -f -s "$tmp/logrotate.state" "$tmp/logrotate.conf" >"$tmp/logrotate.log" 2>&1 &&
        grep -q 'op=event' "$tmp/audit.log.1"
}
audited_after() {
    wait_for grep -q 'SIGHUP: reopened the audit log' "$tmp/daemon.log" && send_event lr-2 &&
        wait_for grep -q 'op=event' "$tmp/audit.log" && [ "$(grep -c 'op=event' "$tmp/audit.log.1")" = 1 ]
}
check "an event before the rotation is in the audit trail" audited_before
check "logrotate -f with it moves the audit trail to audit.log.1" rotate
check "after the rotation the daemon writes its audit trail to a new audit.log" audited_after
kill -TERM "$daemon_pid"
check "werkmonitord stops cleanly" wait "$daemon_pid"
daemon_pid=

if [ "$install" = 1 ]; then
    installed_here=0
    check "dpkg --purge" sh -c "dpkg --purge werkmonitor >'$tmp/purge.log' 2>&1"
    check "the purge removed the programs and the configuration" \
        sh -c "! [ -e /usr/bin/werkmonitord ] && ! [ -e /etc/werkmonitor/werkmonitord.conf ]"
fi
finish
