#!/usr/bin/env bash
# Makes sure the PostgreSQL server binaries (initdb, pg_ctl) and libpq-dev are installed.
# On Debian as root it installs them with apt; otherwise it says what to install.
set -euo pipefail

have_server() { compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; }
have_libpq() { [ -f /usr/include/postgresql/libpq-fe.h ]; }

if [ -n "${DATABASE_URL:-}" ]; then
    exit 0  # the user's own server: nothing to install
fi
if have_server && have_libpq; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing postgresql and libpq-dev with apt-get..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql libpq-dev >/dev/null
    # Debian's package starts its own cluster on port 5432; Concord runs a private one, so stop it.
    if command -v pg_ctlcluster >/dev/null; then
        for cluster in $(pg_lsclusters -h 2>/dev/null | awk '$4 == "online" {print $1 "/" $2}'); do
            pg_ctlcluster "${cluster%/*}" "${cluster#*/}" stop || true
        done
    fi
    exit 0
fi
echo "PostgreSQL is missing: install the server and libpq-dev (Debian: sudo apt-get install postgresql libpq-dev)," >&2
echo "or set DATABASE_URL to a PostgreSQL server you run." >&2
exit 1
