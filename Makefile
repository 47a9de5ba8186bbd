# Thin wrapper over CMake and scripts/: the README's two commands are
# ./scripts/run.sh and ./scripts/test.sh (they need no make); these targets are
# shortcuts for people who type make, plus `make install` for a systemd host.

BUILD ?= build
DESTDIR ?=

.PHONY: all build run test install verify-unit clean

all: build

build:
	./scripts/build.sh $(BUILD)

run:
	./scripts/run.sh

test:
	./scripts/test.sh

# Installs (CMake's install() section) the binaries to /usr/local/bin, their man
# pages, the region's registry to /usr/local/share/werkmonitor, the hardened unit to
# /etc/systemd/system and (only when there is none yet) the configuration to
# /etc/werkmonitor/werkmonitord.conf, which applies the registry to a new store.
# Run as root; afterwards: systemctl daemon-reload && systemctl enable --now werkmonitord.
install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD)
	@echo "install: now run: systemctl daemon-reload && systemctl enable --now werkmonitord"

# Checks the unit file's syntax and directives (needs systemd-analyze).
verify-unit:
	systemd-analyze verify systemd/werkmonitord.service

clean:
	rm -rf build build-san
