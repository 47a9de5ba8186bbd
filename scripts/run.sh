#!/bin/bash
# The README's first command: install the packages, build, and run werkmonitord in the
# foreground on 127.0.0.1:7878 with the data directory data/local. A new data
# directory first gets the region's registry (data/gooi-en-vechtstreek.wm).
# WM_LISTEN and WM_DATA override the address and the data directory.
set -euo pipefail

cd "$(dirname "$0")/.."
listen=${WM_LISTEN:-127.0.0.1:7878}
data=${WM_DATA:-data/local}
registry=data/gooi-en-vechtstreek.wm

./scripts/deps.sh
WM_TARGETS="werkmonitord werkmonitor" ./scripts/build.sh build

# A data directory is new when it is missing or empty; only then is the registry
# loaded, so a restart never overwrites projects edited since.
new=0
if [ ! -d "$data" ] || [ -z "$(ls -A "$data")" ]; then
    new=1
    mkdir -p "$data"
fi

if [ "$new" -eq 1 ]; then
    host=${listen%:*}
    port=${listen##*:}
    echo "run: new data directory $data: loading $registry" >&2
    build/werkmonitord --data "$data" --listen "$listen" &
    pid=$!
    # On any failure below: stop the loader daemon and remove the half-made
    # directory, so that the next run loads the registry again.
    fail() {
        echo "run: $1" >&2
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        rm -rf "$data"
        exit 1
    }
    for _ in $(seq 100); do
        if nc -z "$host" "$port" 2>/dev/null; then
            break
        fi
        kill -0 "$pid" 2>/dev/null || fail "werkmonitord exited during start-up"
        sleep 0.1
    done
    nc -z "$host" "$port" 2>/dev/null || fail "werkmonitord did not accept connections on $listen"
    replies=$(build/werkmonitor --host "$host" --port "$port" raw <"$registry") ||
        fail "loading $registry failed"
    # Every line of the registry is a PROJECT or PROGRAM request answered "OK".
    expected=$(grep -c . "$registry")
    got=$(printf '%s\n' "$replies" | grep -c '^OK$' || true)
    if [ "$got" != "$expected" ]; then
        printf '%s\n' "$replies" | grep -v '^OK$' >&2 || true
        fail "registry: $got of $expected lines accepted"
    fi
    kill -TERM "$pid"
    wait "$pid" || fail "werkmonitord did not stop cleanly after loading the registry"
    echo "run: registry loaded ($expected lines)" >&2
fi

echo "run: werkmonitord on $listen, data in $data (Ctrl-C stops it)" >&2
exec build/werkmonitord --data "$data" --listen "$listen"
