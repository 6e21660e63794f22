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
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
venv="${WEBHOOKS_VENV:-$target/webhooks-venv}"
file="${1:?usage: scripts/webhooks-interop.sh FILE}"

require_python
ensure_venv "$venv" standardwebhooks "$VERSION"

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
