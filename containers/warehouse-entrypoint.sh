#!/bin/sh
# The warehouse container's start: on an empty volume, a cluster whose owner and database
# are WAREHOUSE_USER and WAREHOUSE_DB, every connection asked for a password (the owner's
# read from a file, never a command line); then the server in the foreground, as PID 1,
# so that `docker stop` shuts it down cleanly.
#   WAREHOUSE_LISTEN  addresses to listen on (* on a container network; 127.0.0.1 with
#                     host networking, containers/compose.host-network.yml)
#   WAREHOUSE_PORT    its port (5432 on a container network)
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${WAREHOUSE_PASSWORD:?set WAREHOUSE_PASSWORD (compose.env)}"
    password_file=$(mktemp)
    printf '%s\n' "$WAREHOUSE_PASSWORD" >"$password_file"
    initdb -D "$PGDATA" -U "$WAREHOUSE_USER" --auth=scram-sha-256 --pwfile="$password_file" \
        --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$password_file"
    # The other containers of a compose network connect over TCP, with passwords too.
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    echo "create database \"$WAREHOUSE_DB\"" | postgres --single -D "$PGDATA" -j postgres >/dev/null
    echo "warehouse: cluster made in $PGDATA (owner $WAREHOUSE_USER, database $WAREHOUSE_DB)"
fi
exec postgres -D "$PGDATA" -c listen_addresses="${WAREHOUSE_LISTEN:-*}" -p "${WAREHOUSE_PORT:-5432}" \
    -c unix_socket_directories=/tmp
