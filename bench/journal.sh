#!/usr/bin/env bash
# The cost of reading the systemd journal: logjail beside `journalctl -o
# export > /dev/null` on the same journal files with the same arguments, in
# the same run, and beside replay of the same lines as text.
#
#   bench/journal.sh [ENTRIES] [RUNS]      (default 1000000 entries, 5 runs)
#
# Builds, from testdata/loghub/OpenSSH_2k.log (bench/gencorpus, then
# bench/genjournal into systemd-journal-remote):
#   corpus-journal-N.log     N sshd lines as text
#   journal-N/               the same lines as journal entries (_COMM=sshd)
#   journal-cron-N/          the same, written in two parts: all but the
#                            last 1,000, a logjail run (its state is kept),
#                            then the last 1,000 appended
# and measures, best and median of RUNS, wall seconds and the CPU seconds
# (user+sys) of the whole process tree (logjail waits for its journalctl,
# so its figures include journalctl's):
#   replay:   journalctl -q --no-pager -o export --file=... MATCH >/dev/null
#             logjail replay --format json --journal DIR
#             on both cores (taskset -c 0,1), then on one (taskset -c 0)
#             logjail replay --format json of the text file
#   cron run: journalctl --cursor=SAVED MATCH ... >/dev/null
#             logjail run from a copy of the saved state (firewall none):
#             the 1,000 new lines' entries, the state committed
#             (20 invocations a run, averaged: one takes milliseconds)
# MATCH is what logjail asks for: the sshd filter's match and journald's
# rate-limit notices. The extra cost is logjail's over journalctl's.
set -euo pipefail
n=${1:-1000000}
runs=${2:-5}
here=$(cd "$(dirname "$0")/.." && pwd)
out=$here/bench/out
mkdir -p "$out"
cd "$here"
remote=/lib/systemd/systemd-journal-remote
for tool in taskset journalctl bc /usr/bin/time $remote; do
	command -v "$tool" >/dev/null || [ -x "$tool" ] || { echo "bench/journal.sh: $tool is missing (apt-get install util-linux systemd-journal-remote bc time)" >&2; exit 1; }
done
CGO_ENABLED=0 go build -tags urfave_cli_no_docs -o "$out/logjail" .  # as README
ref=2026-11-30T00:00:00Z
text=$out/corpus-journal-$n.log
dir=$out/journal-$n
cron=$out/journal-cron-$n
[ -s "$text" ] || go run ./bench/gencorpus -lines "$n" -cycle 500 -o "$text" testdata/loghub/OpenSSH_2k.log
go build -o "$out/genjournal" ./bench/genjournal
if [ ! -d "$dir" ]; then
	mkdir -p "$dir.tmp"
	"$out/genjournal" -ref $ref "$text" | $remote -o "$dir.tmp/corpus.journal" - 2>/dev/null
	mv "$dir.tmp" "$dir"
fi
match=(_COMM=sshd _COMM=sshd-session _COMM=sshd-auth + MESSAGE_ID=a596d6fe7bfa4994828e72309e95d61e)
files=()
for f in "$dir"/*.journal; do files+=("--file=$f"); done

# The cron journal and its state: a run over all but the last 1,000
# entries, then 1,000 more.
cat >"$out/journal-cron.yaml" <<YAML
state: $out/journal-cron-state/state.db
firewall: {backend: none}
jails:
  sshd:
    journal: {directory: $cron}
YAML
total=$("$out/genjournal" -ref $ref "$text" | grep -c '^__REALTIME_TIMESTAMP=')
lines=$(wc -l <"$text")
# The last 1,000 lines (a "message repeated" line is more entries).
new=$("$out/genjournal" -ref $ref -skip $((lines - 1000)) "$text" | grep -c '^__REALTIME_TIMESTAMP=')
if [ ! -s "$out/journal-cron-state.db" ] || [ ! -d "$cron" ]; then
	rm -rf "$cron" "$out/journal-cron-state"
	mkdir -p "$cron"
	"$out/genjournal" -ref $ref -n $((lines - 1000)) "$text" | $remote -o "$cron/corpus.journal" - 2>/dev/null
	"$out/logjail" --config "$out/journal-cron.yaml" --now $ref run || [ $? = 1 ]
	cp "$out/journal-cron-state/state.db" "$out/journal-cron-state.db"
	"$out/genjournal" -ref $ref -skip $((lines - 1000)) "$text" | $remote -o "$cron/corpus.journal" - 2>/dev/null
fi
cursor=$(cp "$out/journal-cron-state.db" "$out/journal-cron-state/state.db" &&
	"$out/logjail" --config "$out/journal-cron.yaml" status --format json | sed -n 's/^ *"cursor": "\(.*\)",$/\1/p')
cfiles=()
for f in "$cron"/*/*.journal "$cron"/*.journal; do [ -e "$f" ] && cfiles+=("--file=$f"); done

# measure CPUS NAME REPS CMD...: RUNS runs of REPS invocations each (the
# state copied back before each, outside the time); prints "best median
# cpu-best": wall seconds of one invocation, and its CPU seconds in the
# best run.
measure() {
	local cpus=$1 name=$2 reps=$3; shift 3
	local walls=() best="" bcpu=""
	for _ in $(seq "$runs"); do
		local w=0 c=0
		for _ in $(seq "$reps"); do
			[ "$name" = run ] && cp "$out/journal-cron-state.db" "$out/journal-cron-state/state.db"
			local t0=$EPOCHREALTIME
			/usr/bin/time -f "%U %S" -o "$out/.time" taskset -c "$cpus" "$@" >/dev/null 2>"$out/.err" || { cat "$out/.err" >&2; exit 1; }
			local t1=$EPOCHREALTIME
			read -r u s <"$out/.time"
			w=$(echo "$w + $t1 - $t0" | bc -l)
			c=$(echo "$c + $u + $s" | bc -l)
		done
		w=$(echo "$w / $reps" | bc -l)
		c=$(echo "$c / $reps" | bc -l)
		walls+=("$w")
		if [ -z "$best" ] || [ "$(echo "$w < $best" | bc -l)" = 1 ]; then best=$w bcpu=$c; fi
	done
	local med
	med=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p")
	echo "$best $med $bcpu"
}

row() { # label entries best median cpu base-best base-cpu
	local extra="" cextra=""
	if [ -n "${6:-}" ]; then
		extra=$(printf '%+.0f%%' "$(echo "($3 / $6 - 1) * 100" | bc -l)")
		cextra=n/a
		[ "$(echo "$7 > 0" | bc -l)" = 1 ] && cextra=$(printf '%+.0f%%' "$(echo "($5 / $7 - 1) * 100" | bc -l)")
	fi
	printf '| %-58s | %9s | %7.4f | %7.4f | %10.0f | %6.3f | %9s | %9s |\n' "$1" "$2" "$3" "$4" "$(echo "$2 / $3" | bc -l)" "$5" "$extra" "$cextra"
}

echo "$(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg), $runs runs each, commit $(git rev-parse --short HEAD)"
echo
printf '| %-58s | %9s | %7s | %7s | %10s | %6s | %9s | %9s |\n' run entries best median "entries/s" "CPU s" "wall +" "CPU +"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..60})" "----------:" "--------:" "--------:" "-----------:" "-------:" "----------:" "----------:"
# The fields logjail asks journalctl for (analyze/journal.Read).
only=--output-fields=_HOSTNAME,SYSLOG_IDENTIFIER,_COMM,_PID,SYSLOG_PID,MESSAGE,MESSAGE_ID,_SYSTEMD_UNIT,N_DROPPED,_COMM,MESSAGE_ID
for cpus in 0,1 0; do
	if [ $cpus = 0 ]; then export GOMAXPROCS=1 cores="one core"; else export GOMAXPROCS=2 cores="two cores"; fi
	read -r jb jm jc <<<"$(measure $cpus jctl 1 journalctl -q --no-pager -o export "${files[@]}" "${match[@]}")"
	row "journalctl -o export > /dev/null, $cores" "$total" "$jb" "$jm" "$jc"
	read -r ob om oc <<<"$(measure $cpus jctl 1 journalctl -q --no-pager -o export "$only" "${files[@]}" "${match[@]}")"
	row "journalctl -o export logjail's fields > /dev/null, $cores" "$total" "$ob" "$om" "$oc" "$jb" "$jc"
	read -r lb lm lc <<<"$(measure $cpus lj 1 "$out/logjail" --now $ref replay --format json --journal "$dir")"
	row "logjail replay --journal, $cores (vs all fields)" "$total" "$lb" "$lm" "$lc" "$jb" "$jc"
	row "logjail replay --journal, $cores (vs logjail's fields)" "$total" "$lb" "$lm" "$lc" "$ob" "$oc"
	read -r tb tm tc <<<"$(measure $cpus lj 1 "$out/logjail" --now $ref replay --format json "$text")"
	row "logjail replay of the same lines as text, $cores (vs journal)" "$lines" "$tb" "$tm" "$tc" "$lb" "$lc"
done
export GOMAXPROCS=2
read -r cb cm cc <<<"$(measure 0,1 jctl 20 journalctl -q --no-pager -o export "${cfiles[@]}" "--cursor=$cursor" "${match[@]}")"
row "cron: journalctl --cursor > /dev/null, two cores" "$new" "$cb" "$cm" "$cc"
read -r ob om oc <<<"$(measure 0,1 jctl 20 journalctl -q --no-pager -o export "$only" "${cfiles[@]}" "--cursor=$cursor" "${match[@]}")"
row "cron: the same, logjail's fields, two cores" "$new" "$ob" "$om" "$oc" "$cb" "$cc"
read -r rb rm rc <<<"$(measure 0,1 run 20 "$out/logjail" --config "$out/journal-cron.yaml" --now $ref run)"
row "cron: logjail run (state committed), two cores (vs all)" "$new" "$rb" "$rm" "$rc" "$cb" "$cc"
row "cron: logjail run, two cores (vs logjail's fields)" "$new" "$rb" "$rm" "$rc" "$ob" "$oc"
echo
echo "wall +, CPU +: over the row named in parentheses (journalctl with all fields, or with logjail's --output-fields; for text, over the journal replay). CPU s: user+sys of the process tree, journalctl included."
