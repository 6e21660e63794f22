#!/usr/bin/env bash
# What the browser tests (crates/trashd/tests/browser.rs) need, installed
# when missing:
#
# - Debian's `chromium` and `chromium-driver` (apt-get; as root, or through
#   sudo when it is available without a password);
# - the npm package `axe-core` (pinned) under target/browser-deps/, whose
#   axe.min.js the test injects into the pages it checks.
#
# Prints three lines on success, read by the test:
#   chromium=PATH
#   chromedriver=PATH
#   axe=PATH (axe.min.js)
#
# Environment:
#   CHROMIUM, CHROMEDRIVER  use these binaries instead of looking them up
#   CARGO_TARGET_DIR        honoured when locating target/
set -euo pipefail

AXE_VERSION="4.10.3"
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

find_chromium() {
    chromium="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}"
    chromedriver="${CHROMEDRIVER:-$(command -v chromedriver || true)}"
}

find_chromium
if [[ -z "$chromium" || -z "$chromedriver" ]]; then
    apt_install "chromium and chromedriver (or set CHROMIUM and CHROMEDRIVER)" --no-install-recommends \
        chromium chromium-driver fonts-dejavu-core
    find_chromium
fi
[[ -x "$chromium" ]] || fail "chromium not found"
[[ -x "$chromedriver" ]] || fail "chromedriver not found"

deps="$target/browser-deps"
axe="$deps/node_modules/axe-core/axe.min.js"
installed_version() {
    node -e 'process.stdout.write(require(process.argv[1]).version)' \
        "$deps/node_modules/axe-core/package.json" 2>/dev/null || true
}
if [[ ! -f "$axe" || "$(installed_version)" != "$AXE_VERSION" ]]; then
    command -v npm >/dev/null 2>&1 || fail "npm is required to install axe-core (on Debian: apt-get install npm)"
    say "installing axe-core@$AXE_VERSION into $deps"
    mkdir -p "$deps"
    npm install --prefix "$deps" --no-save --no-audit --no-fund --silent \
        "axe-core@$AXE_VERSION" >&2 || fail "npm install axe-core@$AXE_VERSION failed"
    [[ -f "$axe" ]] || fail "axe-core installed but $axe is missing"
fi

printf 'chromium=%s\nchromedriver=%s\naxe=%s\n' "$chromium" "$chromedriver" "$axe"
