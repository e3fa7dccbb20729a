# Sourced by the bench scripts that need PostgreSQL: pg_start DIR PORT
# [SERVER OPTION...] starts a throwaway cluster in DIR (as user postgres,
# on a socket in DIR, fsync off); pg_stop DIR stops it and removes DIR.
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
pg_start() {
	local dir=$1 port=$2
	shift 2
	chown postgres: "$dir"
	chmod 755 "$dir"
	runuser -u postgres -- "$pgbin/initdb" -D "$dir/data" --auth-local=trust --auth-host=reject --no-sync -U postgres >/dev/null 2>&1
	runuser -u postgres -- "$pgbin/pg_ctl" -D "$dir/data" -w -l "$dir/log" \
		-o "-k $dir -p $port -c fsync=off -c listen_addresses='' $*" start >/dev/null
}
pg_stop() {
	runuser -u postgres -- "$pgbin/pg_ctl" -D "$1/data" -m fast stop >/dev/null 2>&1 || true
	rm -rf "$1"
}
