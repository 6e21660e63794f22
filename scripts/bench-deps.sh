#!/usr/bin/env bash
# What `cargo xtask bench` needs besides the workspace, started or installed
# when missing:
#
# - a running PostgreSQL (scripts/ensure-postgres.sh), unless
#   TRASH_BENCH_PG_URL names another server;
# - `pgbench`, the ceiling the PostgreSQL rows are measured against. On
#   Debian /usr/bin/pgbench is only a wrapper (postgresql-client-common);
#   the program itself ships with the server package (postgresql-NN), so
#   the check runs it, and the install takes Debian's `postgresql` (apt-get
#   as root, or through sudo when it is available without a password).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ -z "${TRASH_BENCH_PG_URL:-}" ]]; then
    bash "$(dirname "${BASH_SOURCE[0]}")/ensure-postgres.sh"
fi

if ! pgbench --version >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 ||
        fail "pgbench is missing and there is no apt-get; install PostgreSQL's pgbench"
    as_root=()
    if [[ "$(id -u)" != 0 ]]; then
        sudo -n true 2>/dev/null || fail "installing pgbench needs root (or sudo without a password)"
        as_root=(sudo -n)
    fi
    say "installing Debian's postgresql (pgbench ships with the server package)"
    "${as_root[@]}" apt-get update -qq >&2 || fail "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq postgresql >&2 ||
        fail "apt-get install postgresql failed"
fi
pgbench --version >/dev/null 2>&1 || fail "pgbench is still missing"
say "pgbench: $(pgbench --version)"
