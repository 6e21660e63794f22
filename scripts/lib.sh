# Shared by the check scripts in this directory (sourced, not run):
# messages, a pinned Python package in its own virtual environment, the
# trashd binary to test, and a temporary directory with the server's
# lifetime tied to the script's.
#
# Sets: root (the repository), target (CARGO_TARGET_DIR or root/target).
# shellcheck shell=bash

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"

say() { printf '==> %s\n' "$*" >&2; }

# Prints the message, the last lines of the server's log when there is one,
# and exits 1.
fail() {
    printf 'FAIL: %b\n' "$*" >&2
    if [[ -n "${work:-}" && -f "$work/server.log" ]]; then
        printf -- '--- last trashd log lines ---\n' >&2
        tail -n 30 "$work/server.log" >&2 || true
    fi
    exit 1
}

# Installs Debian packages with apt-get, as root or through password-less
# sudo, after refreshing the package lists (missing on a fresh container,
# or stale). `what` names the need in the messages.
# Usage: apt_install WHAT [apt-get install options] PACKAGE...
apt_install() {
    local what="$1"
    shift
    command -v apt-get >/dev/null 2>&1 ||
        fail "$what is missing and there is no apt-get; install it by hand"
    local as_root=()
    if [[ "$(id -u)" != 0 ]]; then
        sudo -n true 2>/dev/null || fail "installing $what needs root (or sudo without a password)"
        as_root=(sudo -n)
    fi
    say "installing $what: $*"
    "${as_root[@]}" apt-get update -qq >&2 || fail "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq "$@" >&2 ||
        fail "apt-get install $* failed"
}

require_python() {
    command -v python3 >/dev/null 2>&1 || fail "python3 is required (with its venv module and pip)"
}

# ensure_venv VENV PACKAGE VERSION [PIN...]: PACKAGE==VERSION importable
# from VENV, which is made afresh when it holds anything else. Each PIN
# ("name==version") is installed with it and checked the same way, so a
# dependency whose behaviour a script relies on cannot float.
ensure_venv() {
    local venv="$1" package="$2" version="$3"
    shift 3
    local pins=("$@")
    pinned() {
        "$venv/bin/python" - "$package" "$version" "${pins[@]}" <<'PY' 2>/dev/null
import importlib.metadata as m, sys
wanted = [(sys.argv[1], sys.argv[2])] + [p.split("==", 1) for p in sys.argv[3:]]
sys.exit(0 if all(m.version(n) == v for n, v in wanted) else 1)
PY
    }
    pinned && return 0
    say "installing $package==$version into $venv"
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv" || fail "python3 -m venv failed (on Debian: apt-get install python3-venv)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "$package==$version" "${pins[@]}" || fail "pip install $package==$version failed"
    pinned || fail "$package $version is not importable after installing it"
}

# Sets trashd: TRASHD_BIN, or the workspace's debug build (built here).
locate_trashd() {
    if [[ -n "${TRASHD_BIN:-}" ]]; then
        trashd="$TRASHD_BIN"
    else
        say "building trashd"
        (cd "$root" && cargo build --quiet -p trashd)
        trashd="$target/debug/trashd"
    fi
    [[ -x "$trashd" ]] || fail "trashd binary not found at $trashd"
}

# Sets work (a temporary directory) and server_pid (empty); on exit the
# server, if one was started into server_pid, is stopped and work removed.
make_work_dir() {
    work="$(mktemp -d)"
    server_pid=""
    trap 'stop_server; rm -rf "$work"' EXIT
}

stop_server() {
    if [[ -n "${server_pid:-}" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=""
}

# Unsets every TRASHD_* variable of the caller's environment except those
# named as arguments, so a check runs on its own settings only.
clear_trashd_env() {
    local name keep
    for name in $(compgen -e); do
        [[ "$name" == TRASHD_* ]] || continue
        for keep in "$@"; do [[ "$name" == "$keep" ]] && continue 2; done
        unset "$name"
    done
}
