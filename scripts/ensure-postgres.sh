#!/usr/bin/env bash
# Make sure the PostgreSQL server the tests use answers (TEST_POSTGRES_HOST, default 127.0.0.1:5432):
# start the local cluster when it is installed but down, else `docker compose up -d postgres`.
set -euo pipefail
host="${TEST_POSTGRES_HOST:-127.0.0.1}"; port="${TEST_POSTGRES_PORT:-5432}"
up() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

if ! up; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "starting the local PostgreSQL cluster ..."
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
  elif command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    echo "starting PostgreSQL with docker compose ..."
    docker compose up -d postgres
  else
    cat >&2 <<MSG
No PostgreSQL answers at $host:$port; the integration and end-to-end tests need one.
Get one of:
  - Debian/Ubuntu: sudo apt-get install postgresql  (then run make test again)
  - Docker:        docker compose up -d postgres
  - an existing server: export TEST_POSTGRES_URL=postgresql+psycopg://user@host:5432/postgres
MSG
    exit 1
  fi
  for _ in $(seq 1 60); do up && break; sleep 1; done
  up || { echo "PostgreSQL did not come up on $host:$port" >&2; exit 1; }
fi
echo "PostgreSQL is up at $host:$port"
