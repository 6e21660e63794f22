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
    # pgbench ships with the server package.
    apt_install pgbench postgresql
fi
pgbench --version >/dev/null 2>&1 || fail "pgbench is still missing"
say "pgbench: $(pgbench --version)"
