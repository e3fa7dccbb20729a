#!/usr/bin/env bash
# What logjail-net costs a fleet host: the quiet cron run (nothing new in
# 20 logs, firewall none, 10 bans) with a fleet section, so that every run
# starts logjail-net for its exchange with a real PostgreSQL, beside the
# same run without the fleet and a Go hello world, with hyperfine in
# rounds. BEFORE=PATH adds the same two runs by another logjail build
# (e.g. one that links the clients itself; same state schema). Starts
# (as user postgres) and stops its own throwaway cluster.
#
#   sudo [ROUNDS=10] [BEFORE=PATH] bench/fleetrun.sh [RUNS]     (default 100)
set -euo pipefail
runs=${1:-100}
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
out=$here/bench/out
mkdir -p "$out"
CGO_ENABLED=0 go build -tags urfave_cli_no_docs -o "$out/" . ./cmd/logjail-net # as README
. bench/pg.sh
dir=$(mktemp -d /tmp/logjail-bench-pg.XXXXXX)
trap 'pg_stop "$dir"' EXIT
port=55498
pg_start "$dir" "$port"
go build -o "$out/hello" ./bench/hello
now=2026-11-24T12:00:00Z
plain=$(go run ./bench/quietstate -dir "$dir/plain" -now "$now" -bans 10 -tracks 100)
fleet=$(go run ./bench/quietstate -dir "$dir/fleet" -now "$now" -bans 10 -tracks 100)
printf 'fleet: {dsn: "host=%s port=%d user=postgres dbname=postgres", host: web1}\n' "$dir" "$port" >>"$fleet"
lj=$out/logjail
"$lj" --config "$fleet" fleet init >/dev/null
"$lj" --config "$plain" --now "$now" run >/dev/null
"$lj" --config "$fleet" --now "$now" run >/dev/null
cmds=(-n hello "$out/hello"
	-n quiet "$lj --config $plain --now $now run"
	-n quiet-fleet "$lj --config $fleet --now $now run")
if [ -n "${BEFORE:-}" ]; then
	cmds+=(-n "quiet (before)" "$BEFORE --config $plain --now $now run"
		-n "quiet-fleet (before)" "$BEFORE --config $fleet --now $now run")
fi
rounds=${ROUNDS:-10}
for r in $(seq "$rounds"); do
	hyperfine -N -w 3 -r $(((runs + rounds - 1) / rounds)) --export-json "$dir/h$r.json" "${cmds[@]}" >/dev/null 2>&1
done
echo "$(date -u '+%F %H:%M UTC'), $runs runs each in $rounds rounds, PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') on a socket, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
python3 - "$dir" <<'PY'
import glob, json, statistics, sys
t = {}
for f in sorted(glob.glob(sys.argv[1] + "/h*.json")):
    for r in json.load(open(f))["results"]:
        t.setdefault(r["command"], []).extend(r["times"])
print("| command | median ms | min ms | × hello | × quiet |")
print("|---|---:|---:|---:|---:|")
h = statistics.median(t["hello"])
for name, ts in t.items():
    base = "quiet (before)" if "(before)" in name else "quiet"
    m = statistics.median(ts)
    print(f"| {name} | {m*1000:.2f} | {min(ts)*1000:.2f} | {m/h:.2f} | {m/statistics.median(t[base]):.2f} |")
PY
