#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests (Debian's postgresql package). PostgreSQL
# refuses to run as root, so under root every server command runs as user `postgres`.
#   tests/pg/pg.sh available          exit 0 when PostgreSQL's server binaries are installed
#   tests/pg/pg.sh init DIR PASSWORD  a new cluster in DIR (trust on its socket, a password
#                                     for TCP connections as user `postgres`)
#   tests/pg/pg.sh start DIR PORT     starts it on 127.0.0.1:PORT (waits until it answers)
#   tests/pg/pg.sh stop DIR           stops it (fast shutdown: connections are cut)
#   tests/pg/pg.sh psql DIR PORT SQL  runs SQL as `postgres` over the socket
set -euo pipefail

bindir() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        if [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
    done
    if command -v pg_ctl >/dev/null; then dirname "$(command -v pg_ctl)"; return 0; fi
    return 1
}

as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cmd=${1:-}
case $cmd in
available)
    bindir >/dev/null
    ;;
init)
    dir=$2 password=$3
    bin=$(bindir)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    pwfile=$dir.pw
    printf '%s\n' "$password" >"$pwfile"
    [ "$(id -u)" = 0 ] && chown postgres "$pwfile"
    as_pg "$bin/initdb" -D "$dir" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        --pwfile="$pwfile" >"$dir.initdb.log" 2>&1 || { cat "$dir.initdb.log" >&2; exit 1; }
    rm -f "$pwfile"
    ;;
start)
    dir=$2 port=$3
    bin=$(bindir)
    as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 30 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null
    ;;
stop)
    dir=$2
    bin=$(bindir)
    as_pg "$bin/pg_ctl" -D "$dir" -m fast -w -t 30 stop >/dev/null
    ;;
psql)
    dir=$2 port=$3 sql=$4
    bin=$(bindir)
    as_pg "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt -c "$sql"
    ;;
*)
    echo "usage: $0 available | init DIR PASSWORD | start DIR PORT | stop DIR | psql DIR PORT SQL" >&2
    exit 2
    ;;
esac
