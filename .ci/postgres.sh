#!/usr/bin/env bash
# Start a local PostgreSQL server for the `postgres` tests (Debian, run as root).
#
# Installs PostgreSQL if it is missing, starts the installed cluster, creates the
# role and database `peakend` (password `peakend`) and prints the line to export:
#
#     eval "$(.ci/postgres.sh)"
#     python -m pytest -m postgres
#
# Progress goes to stderr so that stdout holds only the export line.
set -euo pipefail

log() { echo "postgres.sh: $*" >&2; }

if ! command -v pg_lsclusters >/dev/null 2>&1 || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
    log "installing postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2
    apt-get install -y postgresql >&2
fi

version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
if ! pg_lsclusters --no-header | awk -v v="$version" '$1 == v && $2 == "main"' | grep -q .; then
    log "creating cluster $version/main"
    pg_createcluster "$version" main >&2
fi
if ! pg_lsclusters --no-header | awk -v v="$version" '$1 == v && $2 == "main" && $4 == "online"' \
    | grep -q .; then
    log "starting cluster $version/main"
    pg_ctlcluster "$version" main start >&2
fi

port="$(pg_lsclusters --no-header | awk -v v="$version" '$1 == v && $2 == "main" {print $3}')"
psql_admin() { su postgres -c "psql --port $port -v ON_ERROR_STOP=1 -qtAc \"$1\""; }

for _ in $(seq 1 30); do
    if su postgres -c "pg_isready --port $port" >/dev/null 2>&1; then
        break
    fi
    sleep 1
done

if [ "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname = 'peakend'")" != "1" ]; then
    log "creating role peakend"
    psql_admin "CREATE ROLE peakend LOGIN PASSWORD 'peakend'"
else
    psql_admin "ALTER ROLE peakend LOGIN PASSWORD 'peakend'"
fi
if [ "$(psql_admin "SELECT 1 FROM pg_database WHERE datname = 'peakend'")" != "1" ]; then
    log "creating database peakend"
    psql_admin "CREATE DATABASE peakend OWNER peakend"
fi

echo "export PEAKEND_TEST_POSTGRES_URL=postgresql://peakend:peakend@127.0.0.1:${port}/peakend"
