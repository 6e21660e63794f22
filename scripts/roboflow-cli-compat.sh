#!/usr/bin/env bash
# Compatibility check with the official Roboflow CLI.
#
# Installs roboflow-slim (pinned) from PyPI into a virtual environment under
# target/, starts a real trashd on a temporary SQLite file and a free port,
# creates a workspace and an all-scopes key, then runs the CLI's Trash
# commands against it (API_URL=http://127.0.0.1:PORT). Every command is
# checked for its exit code AND for the state it leaves, read back over HTTP.
#
# Usage: scripts/roboflow-cli-compat.sh
# Environment:
#   TRASHD_BIN        trashd binary to test (default: cargo build -p trashd)
#   ROBOFLOW_VENV     virtual environment to use (default: target/roboflow-venv)
#   CARGO_TARGET_DIR  honoured when locating target/
# Needs: bash, python3 with venv and pip, curl. Exits non-zero on the first
# failed check, printing what was expected and what came back.
set -euo pipefail

ROBOFLOW_VERSION="1.7.3"
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
venv="${ROBOFLOW_VENV:-$target/roboflow-venv}"
checks=0

pass() { checks=$((checks + 1)); say "ok: $*"; }

require_python
command -v curl >/dev/null 2>&1 || fail "curl is required"

# --- 1. The official CLI, pinned, in its own virtual environment ----------
ensure_venv "$venv" roboflow-slim "$ROBOFLOW_VERSION"
roboflow="$venv/bin/roboflow"
[[ -x "$roboflow" ]] || fail "$roboflow is missing"

# --- 2. trashd on a temporary SQLite file and a free port -----------------
locate_trashd
make_work_dir

# Only our own settings: nothing from the caller's TRASHD_* environment.
clear_trashd_env
export TRASHD_DATABASE_URL="sqlite://$work/trashd.db"

ws="rf-compat"
"$trashd" admin create-workspace "$ws" --name "CLI compatibility" 2>/dev/null \
    || fail "trashd admin create-workspace failed"
key="$("$trashd" admin create-key "$ws" --all-scopes --name roboflow-cli 2>/dev/null)" \
    || fail "trashd admin create-key failed"
[[ "$key" =~ ^[A-Za-z0-9]{24,}$ ]] || fail "create-key did not print a key alone on stdout: '$key'"

TRASHD_LOG=info "$trashd" serve --listen 127.0.0.1:0 --retention 30d 2>"$work/server.log" &
server_pid=$!
base=""
for _ in $(seq 1 600); do
    addr="$(sed -n 's/.*listening on http:\/\/\([0-9.]*:[0-9]*\).*/\1/p' "$work/server.log" | head -n 1)"
    if [[ -n "$addr" ]]; then
        base="http://$addr"
        break
    fi
    kill -0 "$server_pid" 2>/dev/null || fail "trashd exited before listening"
    sleep 0.1
done
[[ -n "$base" ]] || fail "trashd did not start listening within 60s"
say "trashd listening on $base"

# --- HTTP helpers: status in $status, body in $work/body --------------------
http() {
    local method="$1" path="$2" body="${3:-}" sep='?'
    [[ "$path" == *\?* ]] && sep='&'
    local args=(-sS -o "$work/body" -w '%{http_code}' -X "$method")
    if [[ -n "$body" ]]; then
        args+=(-H 'Content-Type: application/json' --data "$body")
    fi
    status="$(curl "${args[@]}" "$base$path${sep}api_key=$key")" || fail "curl $method $path failed"
    last="$method $path"
}
expect() {
    [[ "$status" == "$1" ]] || fail "$last: expected HTTP $1, got $status: $(cat "$work/body")"
}
# Evaluates a Python expression over the last body, bound to `d`.
jq_py() {
    python3 - "$work/body" "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2], {"d": d})
print(json.dumps(v) if isinstance(v, (dict, list)) else v)
PY
}
# Asserts a Python expression over the last body is true.
assert_py() {
    local result
    result="$(jq_py "$1")" || fail "$last: cannot evaluate $1 on $(cat "$work/body")"
    [[ "$result" == "True" ]] || fail "$last: expected $1 on: $(cat "$work/body")"
}

# The trash listing, for state checks.
trash() { http GET "/$ws/trash"; expect 200; }

# --- 3. Data the CLI acts on, created over the API --------------------------
http POST "/$ws/projects" '{"name":"Forklifts","url":"forklifts"}'; expect 200
forklifts_id="$(jq_py 'd["id"]')"
http POST "/$ws/forklifts/versions" '{}'; expect 200
http POST "/$ws/projects" '{"name":"Safety Helmets","url":"helmets"}'; expect 200
helmets_id="$(jq_py 'd["id"]')"
http POST "/$ws/helmets/versions" '{}'; expect 200
http POST "/$ws/helmets/versions" '{}'; expect 200
http POST "/$ws/helmets/1/v2/trainings"; expect 200
training_id="$(jq_py 'd["id"]')"
http POST "/$ws/helmets/1/v2/trainings/$training_id/status" '{"status":"succeeded"}'; expect 200
http POST "/$ws/workflows" '{"name":"Blur Faces","url":"blur-faces"}'; expect 200
workflow_id="$(jq_py 'd["id"]')"
pass "seeded projects, versions, a training and a workflow over HTTP"

# --- 4. The official CLI ----------------------------------------------------
export API_URL="$base" ROBOFLOW_API_KEY="$key"
export HOME="$work/home" ROBOFLOW_CONFIG_DIR="$work/home/config.json"
unset RF_WORKSPACE
mkdir -p "$HOME"

# Runs the CLI, requiring exit code $1; output in $work/out and $work/err.
rf() {
    local expected="$1" code=0
    shift
    "$roboflow" "$@" >"$work/out" 2>"$work/err" </dev/null || code=$?
    if [[ "$code" != "$expected" ]]; then
        fail "roboflow $*: exit $code, expected $expected\n--- stdout ---\n$(cat "$work/out")\n--- stderr ---\n$(cat "$work/err")"
    fi
}
out_has() {
    grep -qF -- "$1" "$work/out" "$work/err" || fail "roboflow output lacks '$1':\n$(cat "$work/out" "$work/err")"
}

# trash list: workspace found through POST / (no -w, no RF_WORKSPACE).
rf 0 trash list
out_has "(Trash is empty)"
pass "roboflow trash list on an empty trash"

# project delete / restore.
rf 0 project delete "$ws/forklifts" -y
out_has "Moved $ws/forklifts to Trash"
http GET "/$ws/forklifts"; expect 404
trash; assert_py "any(i['type']=='project' and i['id']=='$forklifts_id' and i['url']=='forklifts' for i in d['items'])"
pass "roboflow project delete: the project is in the trash"

rf 0 -w "$ws" trash list
out_has "Forklifts"
rf 0 --json trash list
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert [i["id"] for i in d["items"]] == [sys.argv[2]], d' \
    "$work/out" "$forklifts_id" || fail "roboflow --json trash list: unexpected items: $(cat "$work/out")"
pass "roboflow trash list shows the project (text and --json)"

# (trashd answers 200 with alreadyInTrash; the CLI reports success either way.)
rf 0 project delete "$ws/forklifts" -y
trash; assert_py "len(d['items'])==1"
pass "roboflow project delete again: a no-op"

rf 0 project restore "$ws/forklifts"
out_has "Restored $ws/forklifts"
http GET "/$ws/forklifts"; expect 200
trash; assert_py "d['items']==[]"
pass "roboflow project restore: the project is active again"

# version delete / restore, and the parent-in-trash refusal.
rf 0 version delete "$ws/helmets/2" -y
out_has "Moved $ws/helmets/2 to Trash"
http GET "/$ws/helmets/2"; expect 404
trash; assert_py "any(i['type']=='version' and i['id']=='2' and i['parentId']=='$helmets_id' for i in d['items'])"
pass "roboflow version delete: the version is in the trash"

http DELETE "/$ws/helmets"; expect 200
rf 1 version restore "$ws/helmets/2"
out_has "restore it first"
http GET "/$ws/helmets/2"; expect 404
pass "roboflow version restore refuses while the project is in the trash"
http POST "/$ws/trash/restore" "{\"type\":\"project\",\"id\":\"$helmets_id\"}"; expect 200

rf 0 version restore "$ws/helmets/2"
out_has "Restored $ws/helmets/2"
http GET "/$ws/helmets/2"; expect 200
trash; assert_py "d['items']==[]"
pass "roboflow version restore: the version is active again"

# workflow delete / restore (workspace through POST /).
rf 0 workflow delete blur-faces -y
out_has "Moved $ws/blur-faces to Trash"
http GET "/$ws/workflows/blur-faces"; expect 404
trash; assert_py "any(i['type']=='workflow' and i['id']=='$workflow_id' for i in d['items'])"
pass "roboflow workflow delete: the workflow is in the trash"

rf 0 workflow restore blur-faces
out_has "Restored $ws/blur-faces"
http GET "/$ws/workflows/blur-faces"; expect 200
trash; assert_py "d['items']==[]"
pass "roboflow workflow restore: the workflow is active again"

# train delete (the CLI finds the version's only run) / restore.
rf 0 train delete "$ws/helmets/1"
out_has "Training moved to Trash"
http GET "/$ws/helmets/1/v2/trainings"; expect 200
assert_py "d['trainings']==[]"
trash; assert_py "any(i['type']=='training' and i['id']=='$training_id' for i in d['items'])"
pass "roboflow train delete: the run is in the trash and out of the version's runs"

rf 0 train restore "$ws/helmets/1" --training-id "$training_id"
out_has "Training restored"
http GET "/$ws/helmets/1/v2/trainings"; expect 200
assert_py "[t['id'] for t in d['trainings']]==['$training_id']"
trash; assert_py "d['items']==[]"
pass "roboflow train restore: the run is back"

# A run in progress cannot be trashed.
http POST "/$ws/helmets/1/v2/trainings"; expect 200
running_id="$(jq_py 'd["id"]')"
rf 3 train delete "$ws/helmets/1" --training-id "$running_id"
out_has "in progress"
http GET "/$ws/helmets/1/v2/trainings/$running_id"; expect 200
assert_py "d['status']=='running'"
pass "roboflow train delete refuses a run in progress"

rf 0 trash list
out_has "(Trash is empty)"
pass "roboflow trash list: empty at the end"

# --- 5. Graceful shutdown ---------------------------------------------------
kill -TERM "$server_pid"
code=0
wait "$server_pid" || code=$?
server_pid=""
[[ "$code" == 0 ]] || fail "trashd exited with $code after SIGTERM"
if grep -qF "$key" "$work/server.log"; then
    fail "the API key appears in the server log"
fi
pass "trashd stopped on SIGTERM with status 0 and never logged the key"

say "roboflow-slim $ROBOFLOW_VERSION against trashd: all $checks checks passed"
