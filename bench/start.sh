#!/usr/bin/env bash
# Process start and the quiet cron run beside a Go hello world built by the
# same Go, with hyperfine: `logjail version`, and `logjail run` with nothing
# new in 20 logs (firewall none) over a small state (10 bans, 100 open
# windows) and a large one (BANS bans, TRACKS open windows). Prints the
# medians, CPU times, ratios and the peak RSS of each.
#
# The runs are split into ROUNDS rounds (default 10) of every command in
# turn, so that a busy moment of the machine falls on all of them alike,
# not on one command's block. BEFORE=PATH adds the same commands run by
# another logjail binary (an older build: same state schema), in the same
# rounds.
#
#   [ROUNDS=10] [BEFORE=PATH] bench/start.sh [RUNS] [BANS] [TRACKS]     (default 200 10000 100000)
set -euo pipefail
runs=${1:-200}
bans=${2:-10000}
tracks=${3:-100000}
here=$(cd "$(dirname "$0")/.." && pwd)
out=$here/bench/out
mkdir -p "$out"
cd "$here"
CGO_ENABLED=0 go build -tags urfave_cli_no_docs -o "$out/logjail" .  # as README
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go build -o "$out/hello" ./bench/hello
now=2026-11-24T12:00:00Z
small=$(go run ./bench/quietstate -dir "$dir/small" -now "$now" -bans 10 -tracks 100)
large=$(go run ./bench/quietstate -dir "$dir/large" -now "$now" -bans "$bans" -tracks "$tracks")
lj=$out/logjail
"$lj" --config "$small" --now "$now" run >/dev/null # read the logs to their end
"$lj" --config "$large" --now "$now" run >/dev/null
rounds=${ROUNDS:-10}
cmds=(-n hello "$out/hello"
	-n version "$lj version"
	-n quiet-small "$lj --config $small --now $now run"
	-n quiet-large "$lj --config $large --now $now run")
if [ -n "${BEFORE:-}" ]; then
	cmds+=(-n "version (before)" "$BEFORE version"
		-n "quiet-small (before)" "$BEFORE --config $small --now $now run"
		-n "quiet-large (before)" "$BEFORE --config $large --now $now run")
fi
for r in $(seq "$rounds"); do
	hyperfine -N -w 3 -r $(((runs + rounds - 1) / rounds)) --export-json "$dir/h$r.json" "${cmds[@]}" >/dev/null
done
rss() { # peak RSS in KiB over 20 runs
	local m=0 r
	for _ in $(seq 20); do
		/usr/bin/time -o "$dir/rss" -f '%M' "$@" >/dev/null 2>&1
		r=$(tail -1 "$dir/rss")
		[ "$r" -gt "$m" ] && m=$r
	done
	echo "$m"
}
{
	printf '%s\t%s\n' hello "$(rss "$out/hello")" version "$(rss "$lj" version)" \
		quiet-small "$(rss "$lj" --config "$small" --now "$now" run)" \
		quiet-large "$(rss "$lj" --config "$large" --now "$now" run)"
	if [ -n "${BEFORE:-}" ]; then
		printf '%s\t%s\n' "version (before)" "$(rss "$BEFORE" version)" \
			"quiet-small (before)" "$(rss "$BEFORE" --config "$small" --now "$now" run)" \
			"quiet-large (before)" "$(rss "$BEFORE" --config "$large" --now "$now" run)"
	fi
} >"$dir/rss.txt"
printf '%s, %s runs each in %s rounds, large state %s bans / %s windows, load %s\n\n' \
	"$(date -u '+%Y-%m-%d %H:%M UTC')" "$runs" "$rounds" "$bans" "$tracks" "$(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$dir/rss.txt" "$dir"/h*.json <<'EOF'
import json, statistics, sys
times, cpu, order = {}, {}, []
for path in sys.argv[2:]:
    for r in json.load(open(path))["results"]:
        n = r["command"]
        if n not in times:
            order.append(n)
        times.setdefault(n, []).extend(r["times"])
        cpu.setdefault(n, []).extend([r["user"] + r["system"]] * len(r["times"]))
rss = dict(l.rstrip("\n").split("\t") for l in open(sys.argv[1]))
med = {n: statistics.median(times[n]) for n in order}
h, s = med["hello"], med["quiet-small"]
print("| command | median ms | min ms | user+sys ms (mean) | × hello | × quiet-small | peak RSS MiB |")
print("|---|---:|---:|---:|---:|---:|---:|")
for n in order:
    small = med["quiet-small (before)"] if n.endswith("(before)") else s
    print("| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f |" % (
        n, med[n] * 1e3, min(times[n]) * 1e3, statistics.mean(cpu[n]) * 1e3,
        med[n] / h, med[n] / small, int(rss[n]) / 1024))
EOF
