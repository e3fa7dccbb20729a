#!/usr/bin/env bash
# Process start and the quiet cron run beside a Go hello world built by the
# same Go, with hyperfine: `logjail version`, and `logjail run` with nothing
# new in 20 logs (firewall none) over a small state (10 bans, 100 open
# windows) and a large one (BANS bans, TRACKS open windows). Prints the
# medians, CPU times, ratios and the peak RSS of each.
#
#   bench/start.sh [RUNS] [BANS] [TRACKS]     (default 200 10000 100000)
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
mkdir "$dir/hello"
printf 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello, world") }\n' >"$dir/hello/main.go"
printf 'module hello\n\ngo 1.26\n' >"$dir/hello/go.mod"
(cd "$dir/hello" && go build -o "$out/hello" .)
now=2026-11-24T12:00:00Z
small=$(go run ./bench/quietstate -dir "$dir/small" -now "$now" -bans 10 -tracks 100)
large=$(go run ./bench/quietstate -dir "$dir/large" -now "$now" -bans "$bans" -tracks "$tracks")
lj=$out/logjail
"$lj" --config "$small" --now "$now" run >/dev/null # read the logs to their end
"$lj" --config "$large" --now "$now" run >/dev/null
hyperfine -N -w 20 -r "$runs" --export-json "$dir/h.json" \
	-n hello "$out/hello" \
	-n version "$lj version" \
	-n quiet-small "$lj --config $small --now $now run" \
	-n quiet-large "$lj --config $large --now $now run" >/dev/null
rss() { # peak RSS in KiB over 20 runs
	local m=0 r
	for _ in $(seq 20); do
		/usr/bin/time -o "$dir/rss" -f '%M' "$@" >/dev/null 2>&1
		r=$(tail -1 "$dir/rss")
		[ "$r" -gt "$m" ] && m=$r
	done
	echo "$m"
}
printf '%s %s\n' hello "$(rss "$out/hello")" version "$(rss "$lj" version)" \
	quiet-small "$(rss "$lj" --config "$small" --now "$now" run)" \
	quiet-large "$(rss "$lj" --config "$large" --now "$now" run)" >"$dir/rss.txt"
printf '%s, %s runs each, large state %s bans / %s windows, load %s\n\n' \
	"$(date -u '+%Y-%m-%d %H:%M UTC')" "$runs" "$bans" "$tracks" "$(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$dir/h.json" "$dir/rss.txt" <<'EOF'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
rss = dict(l.split() for l in open(sys.argv[2]))
h = res["hello"]["median"]
s = res["quiet-small"]["median"]
print("| command | median ms | min ms | user+sys ms (mean) | × hello | × quiet-small | peak RSS MiB |")
print("|---|---:|---:|---:|---:|---:|---:|")
for n, r in res.items():
    print("| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f |" % (
        n, r["median"] * 1e3, r["min"] * 1e3, (r["user"] + r["system"]) * 1e3,
        r["median"] / h, r["median"] / s, int(rss[n]) / 1024))
EOF
