# Thin wrapper over CMake and scripts/: the README's two commands are
# ./scripts/run.sh and ./scripts/test.sh (they need no make); these targets are
# shortcuts for people who type make, plus `make install` for a systemd host.

BUILD ?= build
DESTDIR ?=
# The unit file names /usr/local/bin/werkmonitord, so the prefix is fixed.
BINDIR = /usr/local/bin
UNITDIR = /etc/systemd/system
CONFDIR = /etc/werkmonitor

.PHONY: all build run test install verify-unit clean

all: build

build:
	./scripts/build.sh $(BUILD)

run:
	./scripts/run.sh

test:
	./scripts/test.sh

# Installs the binaries, the hardened unit and (only when there is none yet) the
# example configuration. Run as root; afterwards: systemctl daemon-reload &&
# systemctl enable --now werkmonitord.
install: build
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(CONFDIR)
	install -m 0755 $(BUILD)/werkmonitord $(BUILD)/werkmonitor $(DESTDIR)$(BINDIR)/
	install -m 0644 systemd/werkmonitord.service $(DESTDIR)$(UNITDIR)/werkmonitord.service
	install -m 0644 systemd/werkmonitord.conf.example $(DESTDIR)$(CONFDIR)/werkmonitord.conf.example
	@if [ -e $(DESTDIR)$(CONFDIR)/werkmonitord.conf ]; then \
		echo "install: keeping existing $(DESTDIR)$(CONFDIR)/werkmonitord.conf"; \
	else \
		install -m 0644 systemd/werkmonitord.conf.example $(DESTDIR)$(CONFDIR)/werkmonitord.conf; \
	fi
	@echo "install: now run: systemctl daemon-reload && systemctl enable --now werkmonitord"

# Checks the unit file's syntax and directives (needs systemd-analyze).
verify-unit:
	systemd-analyze verify systemd/werkmonitord.service

clean:
	rm -rf build build-san
