#!/usr/bin/env bash
# Speed of the sshd filter beside its peers, on one core, on the same file.
#
#   bench/filter.sh [LINES]        (default 1000000)
#
# Generates a corpus of LINES lines from testdata/loghub/OpenSSH_2k.log
# (addresses rewritten and times shifted forward per copy), then runs, each
# pinned to CPU 0:
#   logjail filter test --filter sshd   (best of 5)
#   sshguard's parser   sshg-parser     (best of 3; Debian sshguard)
#   fail2ban-regex      ... sshd        (once; Debian fail2ban)
# and prints seconds (wall clock and CPU time), lines per second and
# logjail's speed-up over each, by either.
set -euo pipefail
lines=${1:-1000000}
here=$(cd "$(dirname "$0")/.." && pwd)
out=$here/bench/out
mkdir -p "$out"
cd "$here"
for tool in taskset fail2ban-regex /usr/libexec/sshguard/sshg-parser; do
	command -v "$tool" >/dev/null || { echo "bench/filter.sh: $tool is missing (apt-get install util-linux fail2ban sshguard)" >&2; exit 1; }
done
CGO_ENABLED=0 go build -tags urfave_cli_no_docs -o "$out/logjail" .  # as README
corpus=$out/corpus-$lines.log
[ -s "$corpus" ] || go run ./bench/gencorpus -lines "$lines" -o "$corpus" testdata/loghub/OpenSSH_2k.log
n=$(wc -l <"$corpus")

# best wall-clock SECONDS and best CPU SECONDS (user+sys) of N runs of a
# command (stdout discarded). On a busy machine the wall clock counts the
# time spent waiting for the core; the CPU time does not.
best() {
	local runs=$1; shift
	local bw="" bc=""
	for _ in $(seq "$runs"); do
		local t w c
		t=$( { TIMEFORMAT='%R %U %S'; time taskset -c 0 "$@" >/dev/null 2>&1; } 2>&1 )
		w=$(echo "$t" | awk '{print $1}')
		c=$(echo "$t" | awk '{print $2 + $3}')
		if [ -z "$bw" ] || [ "$(echo "$w < $bw" | bc -l)" = 1 ]; then bw=$w; fi
		if [ -z "$bc" ] || [ "$(echo "$c < $bc" | bc -l)" = 1 ]; then bc=$c; fi
	done
	echo "$bw $bc"
}
read -r lj ljc < <(best 5 "$out/logjail" filter test --filter sshd "$corpus")
read -r sg sgc < <(best 3 sh -c "/usr/libexec/sshguard/sshg-parser < '$corpus'")
read -r fb fbc < <(best 1 fail2ban-regex "$corpus" sshd)

ljf=$("$out/logjail" filter test --filter sshd "$corpus" | sed -n 's/^Failures: *\([0-9]*\).*/\1/p')
sgf=$(/usr/libexec/sshguard/sshg-parser <"$corpus" | wc -l)
fbf=$(fail2ban-regex "$corpus" sshd 2>/dev/null | sed -n 's/^Lines:.* \([0-9]*\) matched.*/\1/p')

printf '%s lines, %s, on one core (taskset -c 0)\n\n' "$n" "$(date -u +%Y-%m-%d)"
printf '| %-34s | %9s | %12s | %10s | %14s | %9s | %14s |\n' tool seconds lines/s failures "logjail is ×" "CPU s" "× by CPU time"
printf '|%s|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..36})" "-----------" "--------------" "------------" "----------------" "-----------" "----------------"
row() { printf '| %-34s | %9.3f | %12.0f | %10s | %14s | %9.2f | %14s |\n' "$1" "$2" "$(echo "$n / $2" | bc -l)" "$3" "$4" "$5" "$6"; }
ratio() { printf "%.${3}f" "$(echo "$1 / $2" | bc -l)"; }
row "logjail filter test --filter sshd" "$lj" "$ljf" "1.0" "$ljc" "1.0"
row "sshguard sshg-parser" "$sg" "$sgf" "$(ratio "$sg" "$lj" 1)" "$sgc" "$(ratio "$sgc" "$ljc" 1)"
row "fail2ban-regex (sshd)" "$fb" "$fbf" "$(ratio "$fb" "$lj" 0)" "$fbc" "$(ratio "$fbc" "$ljc" 0)"
