#!/usr/bin/env bash
# The fail2ban-style filter path (a filter imported by config
# import-fail2ban) beside fail2ban-regex on the same filter and file, and
# beside logjail's built-in filter for the same service, in one run.
#
#   bench/fail2ban.sh [LINES] [FILTER]      (default 200000 dovecot)
#
# The corpus is the installed fail2ban's annotated sample log for FILTER
# (read here at run time, never kept in the tree), its lines repeated to
# LINES. A .local that keeps fail2ban's own expressions makes the import
# take the fail2ban-style path rather than the built-in filter. Every
# command runs pinned to CPU 0; CPU seconds (user + system), logjail best
# of 3, fail2ban-regex once.
set -euo pipefail
lines=${1:-200000}
filter=${2:-dovecot}
here=$(cd "$(dirname "$0")/.." && pwd)
out=$here/bench/out
mkdir -p "$out"
cd "$here"
for tool in taskset fail2ban-regex bc; do
	command -v "$tool" >/dev/null || { echo "bench/fail2ban.sh: $tool is missing" >&2; exit 1; }
done
py=$(head -1 "$(command -v fail2ban-regex)" | sed 's/^#!//')
samples=$($py -c 'import fail2ban, os; print(os.path.join(os.path.dirname(fail2ban.__file__), "tests/files/logs"))')
CGO_ENABLED=0 go build -tags urfave_cli_no_docs -o "$out/logjail" .  # as README

corpus=$out/f2b-$filter-$lines.log
grep -v '^#' "$samples/$filter" | grep -v '^[[:space:]]*$' >"$out/f2b-sample.log"
awk -v n="$lines" '{l[NR]=$0} END {for (i=0; i<n; i++) print l[i%NR+1]}' "$out/f2b-sample.log" >"$corpus"

conf=$out/f2b-etc
rm -rf "$conf"
cp -r /etc/fail2ban "$conf"
printf '[%s]\nenabled = true\nlogpath = %s\n' "$filter" "$corpus" >"$conf/jail.d/zz-bench.local"
printf '[Definition]\nfailregex = %%(known/failregex)s\n' >"$conf/filter.d/$filter.local"
"$out/logjail" config import-fail2ban "$conf" >"$out/f2b-imported.yaml"

# best CPU SECONDS (user + system) of N runs: on a machine shared with
# other work, wall time measures the others too.
best() {
	local runs=$1; shift
	local b=""
	for _ in $(seq "$runs"); do
		local t
		t=$( { TIMEFORMAT='%U %S'; time taskset -c 0 "$@" >/dev/null 2>&1; } 2>&1 | awk '{print $1 + $2}')
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
	done
	echo "$b"
}
imp=$(best 3 "$out/logjail" --config "$out/f2b-imported.yaml" filter test --jail "$filter" "$corpus")
bi=""
if "$out/logjail" filter list 2>/dev/null | grep -x "$filter" >/dev/null; then
	bi=$(best 3 "$out/logjail" filter test --filter "$filter" "$corpus")
fi
fb=$(best 1 fail2ban-regex "$corpus" "/etc/fail2ban/filter.d/$filter.conf")

impf=$("$out/logjail" --config "$out/f2b-imported.yaml" filter test --jail "$filter" "$corpus" | sed -n 's/^Lines:.* \([0-9]*\) matched.*/\1/p')
fbf=$(fail2ban-regex "$corpus" "/etc/fail2ban/filter.d/$filter.conf" 2>/dev/null | sed -n 's/^Lines:.* \([0-9]*\) matched.*/\1/p')

n=$(wc -l <"$corpus")
printf '%s lines of fail2ban'"'"'s %s sample, %s, on one core (taskset -c 0)\n\n' "$n" "$filter" "$(date -u +%Y-%m-%d)"
printf '| %-44s | %9s | %12s | %8s | %12s |\n' path 'CPU s' lines/s matched "× fail2ban"
printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" "-----------" "--------------" "----------" "--------------"
row() { printf '| %-44s | %9.3f | %12.0f | %8s | %12s |\n' "$1" "$2" "$(echo "$n / $2" | bc -l)" "$3" "$(printf '%.1f' "$(echo "$fb / $2" | bc -l)")"; }
row "fail2ban-regex $filter" "$fb" "$fbf"
row "logjail, imported (style: fail2ban)" "$imp" "$impf"
[ -n "$bi" ] && row "logjail, built-in filter $filter" "$bi" "-"

# One crafted line against fail2ban's dovecot filter (its failregex 2 nests
# a repetition): fail2ban's time doubles every few bytes, logjail's is its
# start-up. Wall seconds of one run each, fail2ban-regex cut at 120 s.
printf '\n| crafted dovecot line | fail2ban-regex s | logjail (imported) s |\n|---|---:|---:|\n'
for n in 16 20 24 28; do
	bait=$out/f2b-bait-$n.log
	printf 'Dec  6 03:00:00 host dovecot: imap-login: Disconnected' >"$bait"
	for _ in $(seq "$n"); do printf ': a' >>"$bait"; done
	printf ' (x\n' >>"$bait"
	s=$(date +%s.%N); timeout 120 fail2ban-regex "$bait" /etc/fail2ban/filter.d/dovecot.conf >/dev/null 2>&1 || true; e=$(date +%s.%N)
	fbt=$(echo "$e - $s" | bc -l)
	s=$(date +%s.%N); "$out/logjail" --config "$out/f2b-imported.yaml" filter test --jail dovecot "$bait" >/dev/null; e=$(date +%s.%N)
	ljt=$(echo "$e - $s" | bc -l)
	printf '| %d bytes | %.2f | %.3f |\n' "$(wc -c <"$bait")" "$fbt" "$ljt"
done
