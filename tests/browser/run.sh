#!/bin/bash
# The monitor page's real-browser test (ctest: browser.monitor): Debian's chromium driven
# by playwright-core against the real werkmonitord. Installs playwright-core (the version
# pinned in package-lock.json) from the npm registry into tests/browser/node_modules,
# which git ignores, when it is missing; then runs node's test runner.
# WM_BUILD_DIR (default build/) holds the programs; artefacts (screenshots, the PDF and
# its pages) go to WM_BROWSER_ARTIFACTS (default <build>/browser-artifacts).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
export WM_SOURCE_DIR=${WM_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
export WM_BUILD_DIR=${WM_BUILD_DIR:-$WM_SOURCE_DIR/build}

for tool in node npm chromium pdfinfo pdftoppm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "browser test: $tool is missing (scripts/deps.sh installs it)" >&2
        exit 1
    fi
done

want=$(sed -n 's/.*"playwright-core": "\([^"]*\)".*/\1/p' "$here/package.json")
have=$(sed -n 's/.*"version": "\([^"]*\)".*/\1/p' "$here/node_modules/playwright-core/package.json" 2>/dev/null || true)
if [ "$have" != "$want" ]; then
    echo "browser test: installing playwright-core $want from the npm registry" >&2
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

cd "$here"
exec node --test --test-reporter=spec monitor.test.mjs
