#!/usr/bin/env bash
# A flood of distinct addresses through the real command line (issue 15):
# one `logjail run` over N failed passwords from N distinct addresses
# (IPv4; IPv6 spread over 4 /64s, with the /64 rule on and off) beside the
# same run over N failures from 1,000 addresses of the same family (IPv6
# text takes longer to parse: the IPv6 floods are compared with 1,000 IPv6
# addresses, each counted alone). Firewall none, one sshd
# jail, start: beginning, findtime 1d. Wall time, CPU time (user+sys: on
# a busy machine the wall time is mostly waiting for a core) and peak RSS,
# best and median of RUNS; each run starts from an empty state. Then the quiet run
# (nothing new) over the state each flood left, beside the one over the
# state of the 1,000 addresses; the run of one more line two days later,
# which passes the flood's windows; and the quiet run after it.
#
#   bench/flood.sh [N] [RUNS]       (defaults 1000000 and 3)
set -euo pipefail
n=${1:-1000000}
runs=${2:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
out=$here/bench/out
mkdir -p "$out"
cd "$here"
CGO_ENABLED=0 go build -tags urfave_cli_no_docs -o "$out/logjail" .  # as README
go build -o "$out/floodlog" ./bench/floodlog
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
now=2026-11-24T12:00:00Z

# config NAME EXTRA: a config reading $dir/NAME.log
config() {
	cat >"$dir/$1.yaml" <<EOC
state: $dir/$1.db
firewall: {backend: none}
jails:
  sshd:
    filter: sshd
    logpath: [$dir/$1.log]
    start: beginning
    findtime: 1d
    bantime: 1d
$2
EOC
}
"$out/floodlog" -n "$n" -addrs 1000 -o "$dir/few.log";                config few ""
"$out/floodlog" -n "$n" -addrs "$n" -o "$dir/v4.log";                 config v4 ""
"$out/floodlog" -n "$n" -addrs "$n" -nets 4 -o "$dir/v6.log";         config v6 ""
"$out/floodlog" -n "$n" -addrs 1000 -nets 4 -o "$dir/few6.log";       config few6 "    count_prefix6: 128"
cp "$dir/v6.log" "$dir/v6off.log";                                    config v6off "    count_prefix6: 128"
cases=(few v4 few6 v6 v6off)
declare -A base=([few]=few [v4]=few [few6]=few6 [v6]=few6 [v6off]=few6)
declare -A label=(
	[few]="$n failures, 1,000 IPv4 addresses"
	[v4]="$n failures, $n IPv4 addresses"
	[few6]="$n failures, 1,000 IPv6 addresses in 4 /64s (count_prefix6 128)"
	[v6]="$n failures, $n IPv6 addresses in 4 /64s (count_prefix6 64, the default)"
	[v6off]="$n failures, $n IPv6 addresses in 4 /64s (count_prefix6 128: every address counted alone)"
)
declare -A times cpu rss size
for r in $(seq "$runs"); do
	for c in "${cases[@]}"; do # interleaved, so that the machine's load falls on all alike
		rm -f "$dir/$c.db"
		s=$(date +%s%N)
		/usr/bin/time -o "$dir/rss" -f '%e %U %S %M' "$out/logjail" --config "$dir/$c.yaml" --now "$now" run
		e=$(date +%s%N)
		times[$c]+="$(( (e - s) / 1000000 )) "
		read -r _ u sy m < <(tail -1 "$dir/rss")
		cpu[$c]+="$(echo "($u+$sy)*1000/1" | bc) "
		[ "${rss[$c]:-0}" -lt "$m" ] && rss[$c]=$m
		if [ "$r" = 1 ]; then
			"$out/logjail" --config "$dir/$c.yaml" --now "$now" status --format json >"$dir/$c.status"
			size[$c]=$(stat -c %s "$dir/$c.db")
		fi
	done
done
stat_of() { printf '%s\n' $1 | sort -n | awk '{a[NR]=$1} END {printf "%d %d\n", a[1], a[int((NR+1)/2)]}'; }

printf 'flood: %s runs, %s, %s cores, load %s\n\n' "$runs" "$(date -u +%Y-%m-%dT%H:%MZ)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '| one run over | wall best s | wall median s | wall ratio to 1,000 addresses of its family (median) | CPU best s | CPU median s | CPU ratio (median) | peak RSS MiB | state file MiB | bans | open windows |\n|---|---|---|---|---|---|---|---|---|---|---|\n'
for c in "${cases[@]}"; do
	read -r _ few_med < <(stat_of "${times[${base[$c]}]}")
	read -r _ few_cmed < <(stat_of "${cpu[${base[$c]}]}")
	read -r best med < <(stat_of "${times[$c]}")
	read -r cbest cmed < <(stat_of "${cpu[$c]}")
	bans=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d.get("bans") or []), len(d.get("failures") or []))' "$dir/$c.status")
	printf '| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.0f | %.1f | %s | %s |\n' "${label[$c]}" \
		"$(echo "$best/1000" | bc -l)" "$(echo "$med/1000" | bc -l)" "$(echo "$med/$few_med" | bc -l)" \
		"$(echo "$cbest/1000" | bc -l)" "$(echo "$cmed/1000" | bc -l)" "$(echo "$cmed/$few_cmed" | bc -l)" \
		"$(echo "${rss[$c]}/1024" | bc -l)" "$(echo "${size[$c]:-0}/1048576" | bc -l)" ${bans% *} ${bans#* }
done

# median wall ms of QRUNS quiet runs of case $1 at time $2
qruns=20
quiet() {
	local ts=() s e
	for _ in $(seq "$qruns"); do
		s=$(date +%s%N)
		"$out/logjail" --config "$dir/$1.yaml" --now "$2" run
		e=$(date +%s%N)
		ts+=($(( (e - s) / 1000 )))
	done
	printf '%s\n' "${ts[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'
}
printf '\nquiet runs after the flood (median of %s, ms):\n\n' "$qruns"
printf '| state | quiet run ms |\n|---|---|\n'
for c in "${cases[@]}"; do
	printf '| after %s | %s |\n' "${label[$c]}" "$(quiet "$c" "$now")"
done
later=2026-11-26T12:00:00Z
# Windows go with the run whose log time passes them: one more line, two
# days later.
"$out/floodlog" -n 1 -addrs 1 -start 2026-11-26T11:59:00Z >>"$dir/v4.log"
s=$(date +%s%N)
/usr/bin/time -o "$dir/rss" -f '%M' "$out/logjail" --config "$dir/v4.yaml" --now "$later" run
e=$(date +%s%N)
printf '| v4 two days later: the run that passes the 1,000,000 windows | %.1f (once; %.0f MiB) |\n' "$(echo "($e-$s)/1000000" | bc -l)" "$(echo "$(tail -1 "$dir/rss")/1024" | bc -l)"
printf '| v4 two days later, quiet, windows gone | %s |\n' "$(quiet v4 "$later")"
printf 'state file after the passing run (compacted on close): %s bytes\n' "$(stat -c %s "$dir/v4.db")"
"$out/logjail" --config "$dir/v4.yaml" --now "$later" status --format json | python3 -c 'import json,sys; d=json.load(sys.stdin); print("open windows left after the passing run:", len(d.get("failures") or []))'
