#!/usr/bin/env bash
# The OpenAPI document against the server it describes.
#
# Installs schemathesis (pinned) from PyPI into a virtual environment under
# target/, starts a real trashd quickstart (a seeded "demo" workspace and an
# all-scopes key) on a temporary SQLite file and a free port, and runs
# schemathesis against /openapi.json with every check and every phase
# (examples, coverage, fuzzing, stateful), for a bounded time (90 s of
# testing by default). Any failure fails the script.
#
# What is narrowed, and why (nothing else is):
# - the `ws` path parameter is fixed to the key's workspace: a key belongs
#   to one workspace, and every other one answers 401 before anything is
#   looked at. (Other workspaces' 401 answers are covered by the ignored_auth
#   check and the router tests.)
# - a crash of CPython 3.11's parser inside hypothesis ("AST constructor
#   recursion depth mismatch", a CPython bug, not a finding about the API)
#   is kept from failing the run: hypothesis only parses to describe a
#   filter lambda, and scripts/hypothesis_ast_guard.py turns that one
#   crash into hypothesis's own "<unknown>" description. Should the bug
#   surface anywhere else, a run whose only trouble it is is repeated once.
# - the stateful phase runs on its own, without the negative_data_rejection
#   check (ST201). In stateful scenarios schemathesis 4.32.5 reports
#   "schema-violating request accepted" for restore bodies that are valid:
#   it derives a "negative" body from the version branch of the restore
#   `oneOf` (changing `type` to `project`) that then matches the project
#   branch. Seen on {"type":"project","id":<trashed id>,"parentId":"£",...},
#   which jsonschema-rs validates against the served document. The other
#   three phases keep every check, ST201 included, and cover the same body
#   schema with their own negative cases.
# - the stateful phase also runs without the use_after_free check. Every
#   DELETE takes `?dryRun=true` (declared in the document): such a DELETE
#   answers 200 and deletes nothing, by design, so the item is still there
#   afterwards, while use_after_free takes any successful DELETE for a
#   deletion. That a real DELETE makes the item answer 404 is tested by the
#   router and end-to-end tests; that a dry run changes nothing, by the
#   dry-run tests (every table compared before and after).
# - rate limits are off (--rate-limit 0 --ip-rate-limit 0): schemathesis
#   sends far more requests per second than one client should, and would
#   otherwise test the limiter (tested in trash-http-axum and trashd tests).
#
# Usage: scripts/schemathesis.sh
# Environment:
#   TRASHD_BIN            trashd binary to test (default: cargo build -p trashd)
#   SCHEMATHESIS_VENV     virtual environment (default: target/schemathesis-venv)
#   SCHEMATHESIS_MAX_TIME seconds of testing (default: 90)
#   SCHEMATHESIS_REPORT   where to keep the JUnit report (default: a temp dir)
#   SCHEMATHESIS_SERVER_ARGS  options for trashd quickstart (default: the
#                         rate limits off; set it empty for a binary without them)
#   CARGO_TARGET_DIR      honoured when locating target/
# Needs: bash, python3 with venv and pip, curl. Prints "schemathesis: N
# failures" last; exits non-zero on any failure.
set -euo pipefail

SCHEMATHESIS_VERSION="4.32.5"
# Pinned with it: the guard below wraps one function of this release.
HYPOTHESIS_VERSION="6.170.17"
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
venv="${SCHEMATHESIS_VENV:-$target/schemathesis-venv}"
max_time="${SCHEMATHESIS_MAX_TIME:-90}"


require_python
command -v curl >/dev/null 2>&1 || fail "curl is required"

# --- 1. schemathesis, pinned, in its own virtual environment --------------
ensure_venv "$venv" schemathesis "$SCHEMATHESIS_VERSION" "hypothesis==$HYPOTHESIS_VERSION"
st="$venv/bin/schemathesis"
[[ -x "$st" ]] || fail "$st is missing"
# The CPython 3.11 parser guard (see scripts/hypothesis_ast_guard.py), loaded
# at interpreter start by a .pth file; rewritten on every run so an edit of
# the guard always takes effect.
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
cp "$root/scripts/hypothesis_ast_guard.py" "$site/trashd_hypothesis_ast_guard.py"
echo "import trashd_hypothesis_ast_guard" >"$site/trashd_hypothesis_ast_guard.pth"
"$venv/bin/python" - <<'PY' || fail "the hypothesis AST guard did not load"
import hypothesis.internal.lambda_sources as s
assert s._lambda_description.__name__ == "_guarded_description", s._lambda_description
PY

# --- 2. trashd quickstart on a temporary SQLite file and a free port -------
locate_trashd
make_work_dir

clear_trashd_env TRASHD_BIN

read -r -a server_args <<<"${SCHEMATHESIS_SERVER_ARGS---rate-limit 0 --ip-rate-limit 0}"
TRASHD_LOG=warn "$trashd" --database-url "sqlite://$work/trashd.db" quickstart \
    --listen 127.0.0.1:0 "${server_args[@]}" \
    >"$work/banner.txt" 2>"$work/server.log" &
server_pid=$!
key=""
base=""
for _ in $(seq 1 600); do
    key="$(sed -n 's/.*API key (all scopes, shown once): *\([A-Za-z0-9]*\).*/\1/p' "$work/banner.txt" | head -n 1)"
    base="$(sed -n 's/.*Serving on \(http:\/\/[0-9.:]*\).*/\1/p' "$work/banner.txt" | head -n 1)"
    if [[ -n "$key" && -n "$base" ]]; then break; fi
    kill -0 "$server_pid" 2>/dev/null || fail "trashd quickstart exited before serving"
    sleep 0.1
done
[[ -n "$key" && -n "$base" ]] || fail "trashd quickstart did not start within 60s"
for _ in $(seq 1 100); do
    curl -fsS "$base/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
say "trashd listening on $base (workspace demo)"

# --- 3. schemathesis --------------------------------------------------------
report="${SCHEMATHESIS_REPORT:-$work/report}"
mkdir -p "$report"
cat >"$work/schemathesis.toml" <<EOF
[parameters]
"path.ws" = "demo"
EOF

# One run; its verdict in $rc, its API failures in $failures and its
# tool errors in $errors ("known" when every one is the CPython 3.11 bug
# below).
run_schemathesis() {
    local phases="$1" budget="$2"
    shift 2
    set +e
    # From the temporary directory: schemathesis keeps a cache where it runs.
    (cd "$work" && "$st" --config-file "$work/schemathesis.toml" run "$base/openapi.json" \
        --url "$base" \
        --header "Authorization: Bearer $key" \
        --checks all "$@" \
        --phases "$phases" \
        --max-time "$budget" \
        --workers 2 \
        --seed 9 \
        --request-timeout 20 \
        --suppress-health-check all \
        --report junit --report-junit-path "$report/junit.xml" \
        --no-color) >"$work/schemathesis.out" 2>&1
    rc=$?
    set -e
    cat "$work/schemathesis.out" >&2
    read -r failures errors < <(python3 - "$report/junit.xml" <<'PY' 2>/dev/null || echo "? ?"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root)
failures = sum(int(s.get("failures", 0)) for s in suites)
errors = [e for s in suites for case in s for e in case.findall("error")]
known = all("recursion depth mismatch" in (e.get("message", "") + (e.text or "")) for e in errors)
print(failures, ("known" if errors and known else len(errors)))
PY
    )
}

max_time_note="$max_time"
# One phase set with its checks; repeated once when its only trouble is the
# CPython crash described below. Fails the script on anything else.
phase_run() {
    run_schemathesis "$@"
    # Excluded, with the reason: a crash of the tool itself, not a finding
    # about the API. CPython 3.11's `ast.parse` sometimes raises "SystemError:
    # AST constructor recursion depth mismatch" (a CPython bug fixed in later
    # releases) while hypothesis describes a filter. When that is the only
    # trouble of a run, the run is repeated once; anything else fails at once.
    if [[ "$rc" != 0 && "$failures" == 0 && "$errors" == known ]]; then
        say "schemathesis crashed on the CPython AST bug only; running it once more"
        run_schemathesis "$@"
    fi
    printf 'schemathesis (%s): %s failures, %s errors (exit %s)\n' \
        "$1" "$failures" "$errors" "$rc" >&2
    [[ "$rc" == 0 ]] || fail "schemathesis found failures"
}
phase_run examples,coverage,fuzzing "$max_time"
phase_run stateful "${SCHEMATHESIS_STATEFUL_TIME:-45}" --exclude-checks negative_data_rejection,use_after_free
printf 'schemathesis: 0 failures in %ss + stateful\n' "$max_time_note" >&2
