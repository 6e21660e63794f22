#!/usr/bin/env bash
# Interop check of the webhook signatures with the official Python library.
#
# Installs standardwebhooks (pinned) from PyPI into a virtual environment
# under target/ when missing, then verifies every message of a JSON file
# written by the test (crates/trashd/tests/webhooks.rs): a list of
# {"secret","headers":{"webhook-id","webhook-timestamp","webhook-signature"},"body"}.
# The library's timestamp tolerance (5 minutes) applies, so the file must be
# fresh. Exits non-zero on the first message that does not verify.
#
# Usage: scripts/webhooks-interop.sh FILE
# Environment:
#   WEBHOOKS_VENV     virtual environment to use (default: target/webhooks-venv)
#   CARGO_TARGET_DIR  honoured when locating target/
set -euo pipefail

VERSION="1.1.0"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="${WEBHOOKS_VENV:-$target/webhooks-venv}"
file="${1:?usage: scripts/webhooks-interop.sh FILE}"

command -v python3 >/dev/null 2>&1 || { echo "FAIL: python3 is required" >&2; exit 1; }
installed() {
    "$venv/bin/python" - "$VERSION" <<'PY' 2>/dev/null
import importlib.metadata as m, sys
sys.exit(0 if m.version("standardwebhooks") == sys.argv[1] else 1)
PY
}
if ! installed; then
    echo "==> installing standardwebhooks==$VERSION into $venv" >&2
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv" || { echo "FAIL: python3 -m venv failed (on Debian: apt-get install python3-venv)" >&2; exit 1; }
    "$venv/bin/pip" install --quiet --disable-pip-version-check "standardwebhooks==$VERSION"
fi

"$venv/bin/python" - "$file" <<'PY'
import json, sys
from standardwebhooks.webhooks import Webhook
messages = json.load(open(sys.argv[1]))
assert messages, "no messages to verify"
for m in messages:
    payload = Webhook(m["secret"]).verify(m["body"], m["headers"])
    assert payload["type"] == json.loads(m["body"])["type"], m
    # A tampered body must not verify.
    try:
        Webhook(m["secret"]).verify(m["body"] + " ", m["headers"])
    except Exception:
        pass
    else:
        raise SystemExit(f"a tampered body verified: {m}")
print(f"ok: {len(messages)} signatures verified by standardwebhooks")
PY
