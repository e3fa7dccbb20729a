#!/usr/bin/env bash
# The fleet's exchange against a real PostgreSQL: 200 hosts starting in
# the same second with 100,000 fleet bans in the table, beside the bare
# connect + SELECT 1; then one host's exchange at 10,000 and 1,000,000
# rows. Starts (as user postgres) and stops its own throwaway cluster,
# and a PgBouncer in front of it for the same storms through it.
#
#   sudo bench/fleet.sh [fleetbench flags]     e.g. -rounds 3
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
. bench/pg.sh
dir=$(mktemp -d /tmp/logjail-bench-pg.XXXXXX)
port=55499
trap 'pg_stop "$dir"' EXIT
# max_connections: the storm's 200 hosts at once, and the floor's after
# them (Debian's default is 100: see README, PgBouncer).
pg_start "$dir" "$port" -c max_connections=300
# PgBouncer (Debian's pgbouncer) in transaction mode, 4 server
# connections for every client.
mkdir "$dir/bouncer"
echo '"postgres" ""' >"$dir/userlist.txt"
cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=$dir port=$port
[pgbouncer]
listen_addr =
listen_port = 6432
unix_socket_dir = $dir/bouncer
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = 4
max_client_conn = 1000
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
chown -R postgres: "$dir"
runuser -u postgres -- pgbouncer -d -q "$dir/pgbouncer.ini"
stop_all() {
	[ -f "$dir/pgbouncer.pid" ] && kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true
	pg_stop "$dir"
}
trap stop_all EXIT
go build -o "$dir/fleetbench" ./bench/fleetbench
echo "PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)"
echo
"$dir/fleetbench" -dsn "host=$dir port=$port user=postgres" -bouncer "host=$dir/bouncer port=6432 user=postgres" "$@"
