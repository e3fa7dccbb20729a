#!/usr/bin/env bash
# Speed and memory of `logjail replay` beside fail2ban-regex, on one core,
# on the same generated corpus.
#
#   bench/replay.sh [LINES]        (default 1000000)
#
# Generates, from testdata/loghub/OpenSSH_2k.log (bench/gencorpus):
#   corpus-replay-LINES.log.gz     LINES lines, 500 copies' worth of distinct
#                                  addresses (-cycle 500)
#   corpus-replay-4xLINES.log.gz   four times the lines, the same addresses
# then runs, pinned to CPU 0 with GOMAXPROCS=1:
#   logjail replay --format json   on both (best of 5; peak RSS of each),
#                                  and on LINES again with two cores
#                                  (CPUs 0-1, GOMAXPROCS=2: gzip inflates
#                                  in a goroutine of its own)
#   fail2ban-regex ... sshd        on the LINES corpus inflated to a plain
#                                  file (it reads no gzip), once
# and prints seconds, lines per second, peak memory and the ratio.
set -euo pipefail
lines=${1:-1000000}
here=$(cd "$(dirname "$0")/.." && pwd)
out=$here/bench/out
mkdir -p "$out"
cd "$here"
for tool in taskset fail2ban-regex bc /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "bench/replay.sh: $tool is missing (apt-get install util-linux fail2ban bc time)" >&2; exit 1; }
done
CGO_ENABLED=0 go build -tags urfave_cli_no_docs -o "$out/logjail" .  # as README
seed=testdata/loghub/OpenSSH_2k.log
one=$out/corpus-replay-$lines.log.gz
four=$out/corpus-replay-4x$lines.log.gz
plain=$out/corpus-replay-$lines.log
[ -s "$one" ] || go run ./bench/gencorpus -lines "$lines" -cycle 500 -o "$one" "$seed"
[ -s "$four" ] || go run ./bench/gencorpus -lines $((4 * lines)) -cycle 500 -o "$four" "$seed"
[ -s "$plain" ] || zcat "$one" >"$plain"
# The corpus starts on 10 December 2025 and has no years: fix the reference.
now=2026-11-30T00:00:00Z
export GOMAXPROCS=1 LOGJAIL_CONFIG=/etc/logjail/logjail.yaml
[ -e "$LOGJAIL_CONFIG" ] && { echo "bench/replay.sh: $LOGJAIL_CONFIG exists; the bench wants the embedded default" >&2; exit 1; }

# best SECONDS of N runs (stdout discarded); PEAK_KB is set to the peak RSS
# of the best run.
best() {
	local runs=$1; shift
	local b="" bk=""
	for _ in $(seq "$runs"); do
		local s e t k
		s=$(date +%s.%N)
		/usr/bin/time -f %M -o "$out/.rss" taskset -c "$cpus" "$@" >/dev/null 2>&1
		k=$(cat "$out/.rss")
		e=$(date +%s.%N)
		t=$(echo "$e - $s" | bc -l)
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t bk=$k; fi
	done
	PEAK_KB=$bk
	echo "$b" >"$out/.best"
}
cpus=0
best 5 "$out/logjail" --now "$now" replay --format json "$one"; lj=$(cat "$out/.best"); ljk=$PEAK_KB
best 5 "$out/logjail" --now "$now" replay --format json "$four"; lj4=$(cat "$out/.best"); lj4k=$PEAK_KB
best 1 fail2ban-regex "$plain" sshd; fb=$(cat "$out/.best"); fbk=$PEAK_KB
cpus=0,1
export GOMAXPROCS=2
best 5 "$out/logjail" --now "$now" replay --format json "$one"; lj2=$(cat "$out/.best"); lj2k=$PEAK_KB

summary() { "$out/logjail" --now "$now" replay --format json "$1" | sed -n 's/^  "\(lines\|failures\|addresses\)": \([0-9]*\),/\2/p' | paste -sd' '; }
read -r n ljf lja <<<"$(summary "$one")"
read -r n4 lj4f lj4a <<<"$(summary "$four")"
fbf=$(fail2ban-regex "$plain" sshd 2>/dev/null | sed -n 's/^Lines:.* \([0-9]*\) matched.*/\1/p')

printf '%s, on one core (taskset -c 0, GOMAXPROCS=1) unless said\n\n' "$(date -u +%Y-%m-%d)"
printf '| %-44s | %9s | %9s | %12s | %10s | %9s | %12s |\n' run lines seconds lines/s failures "peak MiB" "logjail is ×"
printf '|%s|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" "----------:" "----------:" "-------------:" "-----------:" "----------:" "-------------:"
row() { printf '| %-44s | %9s | %9.3f | %12.0f | %10s | %9.1f | %12s |\n' "$1" "$2" "$3" "$(echo "$2 / $3" | bc -l)" "$4" "$(echo "$5 / 1024" | bc -l)" "$6"; }
row "logjail replay, gzip ($lja addresses)" "$n" "$lj" "$ljf" "$ljk" "1.0"
row "logjail replay, gzip, 4× lines ($lj4a addresses)" "$n4" "$lj4" "$lj4f" "$lj4k" ""
row "logjail replay, gzip, two cores" "$n" "$lj2" "$ljf" "$lj2k" ""
row "fail2ban-regex (sshd), plain" "$n" "$fb" "$fbf" "$fbk" "$(printf '%.0f' "$(echo "$fb / $lj" | bc -l)")"
