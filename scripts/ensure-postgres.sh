#!/usr/bin/env bash
# Makes sure PostgreSQL server binaries (initdb, pg_ctl, postgres) and client tools
# (pg_dump, pg_restore) exist, because the demo and the tests start a throwaway cluster.
# Installs Debian's postgresql package only when they are missing and we can (root + apt-get);
# otherwise says exactly what to install.
set -euo pipefail

have_server() {
  if [ -n "${BANTAY_PG_BIN:-}" ] && [ -x "$BANTAY_PG_BIN/initdb" ]; then return 0; fi
  for dir in /usr/lib/postgresql/*/bin /usr/pgsql-*/bin; do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_dump" ]; then return 0; fi
  done
  command -v initdb >/dev/null 2>&1 && command -v pg_dump >/dev/null 2>&1
}

if have_server; then exit 0; fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-postgres: PostgreSQL server binaries missing; installing Debian's postgresql package" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql postgresql-client >/dev/null
  # The package starts a cluster on 5432; the tests do not need it.
  (command -v service >/dev/null 2>&1 && service postgresql stop >/dev/null 2>&1) || true
  have_server && exit 0
fi

cat >&2 <<'MSG'
PostgreSQL server binaries (initdb, pg_ctl, pg_dump) were not found.
Install them, e.g.:  sudo apt-get install postgresql    (Debian/Ubuntu)
                     brew install postgresql@16          (macOS)
or set BANTAY_PG_BIN to the directory that holds them.
MSG
exit 1
