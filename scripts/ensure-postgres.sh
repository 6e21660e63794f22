#!/usr/bin/env bash
# Makes sure the local PostgreSQL cluster answers on 127.0.0.1:5432.
# Idempotent: does nothing when it is already up; otherwise starts the
# cluster with pg_ctlcluster and waits until it accepts connections.
set -euo pipefail

host=${PGHOST_CHECK:-127.0.0.1}
port=${PGPORT_CHECK:-5432}
wait_seconds=${PG_WAIT_SECONDS:-60}

ready() { pg_isready -q -h "$host" -p "$port"; }

if ready; then
    exit 0
fi

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "ensure-postgres: PostgreSQL is not answering on $host:$port and pg_ctlcluster is not installed" >&2
    exit 1
fi

shopt -s nullglob
versions=(/etc/postgresql/*)
if [ ${#versions[@]} -eq 0 ]; then
    echo "ensure-postgres: no PostgreSQL cluster configured under /etc/postgresql" >&2
    exit 1
fi
version=$(basename "${versions[-1]}")

echo "ensure-postgres: starting PostgreSQL $version (cluster main)" >&2
# "already running" is fine: another script may have started it meanwhile.
pg_ctlcluster --skip-systemctl-redirect "$version" main start || true

for _ in $(seq "$wait_seconds"); do
    if ready; then
        echo "ensure-postgres: PostgreSQL is ready on $host:$port" >&2
        exit 0
    fi
    sleep 1
done
echo "ensure-postgres: PostgreSQL did not become ready on $host:$port within ${wait_seconds}s" >&2
exit 1
