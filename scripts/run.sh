#!/bin/bash
# The README's first command: install the packages, build, and run werkmonitord in the
# foreground on 127.0.0.1:7878 with the data directory data/local. A new data
# directory (a store without projects) first gets the region's registry
# (data/gooi-en-vechtstreek.wm) through --registry; a store with projects keeps them.
# WM_LISTEN and WM_DATA override the address and the data directory.
set -euo pipefail

cd "$(dirname "$0")/.."
listen=${WM_LISTEN:-127.0.0.1:7878}
data=${WM_DATA:-data/local}
registry=data/gooi-en-vechtstreek.wm

./scripts/deps.sh
WM_TARGETS="werkmonitord werkmonitor" ./scripts/build.sh build

echo "run: werkmonitord on $listen, data in $data (Ctrl-C stops it)" >&2
exec build/werkmonitord --data "$data" --listen "$listen" --registry "$registry"
