#!/usr/bin/env bash
# The quiet cron run: 20 log files with nothing new, 10,000 active bans,
# 100,000 addresses with open windows. Wall time and peak RSS of
# `logjail run`, beside `logjail version` (process start alone).
#
#   bench/quiet.sh [RUNS]       (default 50)
set -euo pipefail
runs=${1:-50}
here=$(cd "$(dirname "$0")/.." && pwd)
out=$here/bench/out
mkdir -p "$out"
cd "$here"
CGO_ENABLED=0 go build -tags urfave_cli_no_docs -o "$out/logjail" .  # as README
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
now=2026-11-24T12:00:00Z
cfg=$(go run ./bench/quietstate -dir "$dir" -now "$now")
ljc=("$out/logjail" --config "$cfg" --now "$now")
"${ljc[@]}" run                       # reads the 20 files to their end
# median wall time (µs) and peak RSS (KiB) of N runs of a command
measure() {
	local times=() rss=0 m s e
	for _ in $(seq "$runs"); do
		s=$(date +%s%N)
		/usr/bin/time -o "$dir/rss" -f '%M' "$@" >/dev/null 2>&1
		e=$(date +%s%N)
		times+=($(( (e - s) / 1000 )))
		m=$(tail -1 "$dir/rss")
		[ "$m" -gt "$rss" ] && rss=$m
	done
	printf '%s %s\n' "$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')" "$rss"
}
read -r q_us q_rss < <(measure "${ljc[@]}" run)
read -r v_us v_rss < <(measure "$out/logjail" version)
printf 'quiet run: 20 files, 10,000 active bans, 100,000 open windows; %s runs, %s\n\n' "$runs" "$(date -u +%Y-%m-%d)"
printf '| command | median wall ms | peak RSS MiB |\n|---|---|---|\n'
printf '| logjail run (quiet) | %.1f | %.1f |\n' "$(echo "$q_us/1000" | bc -l)" "$(echo "$q_rss/1024" | bc -l)"
printf '| logjail version | %.1f | %.1f |\n' "$(echo "$v_us/1000" | bc -l)" "$(echo "$v_rss/1024" | bc -l)"
printf '\nquiet run costs %.1f ms beyond process start\n' "$(echo "($q_us-$v_us)/1000" | bc -l)"
