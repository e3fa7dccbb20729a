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
# and prints seconds, lines per second and logjail's speed-up over each.
set -euo pipefail
lines=${1:-1000000}
here=$(cd "$(dirname "$0")/.." && pwd)
out=$here/bench/out
mkdir -p "$out"
cd "$here"
for tool in taskset fail2ban-regex /usr/libexec/sshguard/sshg-parser; do
	command -v "$tool" >/dev/null || { echo "bench/filter.sh: $tool is missing (apt-get install util-linux fail2ban sshguard)" >&2; exit 1; }
done
go build -o "$out/logjail" .
corpus=$out/corpus-$lines.log
[ -s "$corpus" ] || go run ./bench/gencorpus -lines "$lines" -o "$corpus" testdata/loghub/OpenSSH_2k.log
n=$(wc -l <"$corpus")

# best SECONDS of N runs of a command (stdout discarded)
best() {
	local runs=$1; shift
	local b=""
	for _ in $(seq "$runs"); do
		local s e t
		s=$(date +%s.%N)
		taskset -c 0 "$@" >/dev/null 2>&1
		e=$(date +%s.%N)
		t=$(echo "$e - $s" | bc -l)
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
	done
	echo "$b"
}
lj=$(best 5 "$out/logjail" filter test --filter sshd "$corpus")
sg=$(best 3 sh -c "/usr/libexec/sshguard/sshg-parser < '$corpus'")
fb=$(best 1 fail2ban-regex "$corpus" sshd)

ljf=$("$out/logjail" filter test --filter sshd "$corpus" | sed -n 's/^Failures: *\([0-9]*\).*/\1/p')
sgf=$(/usr/libexec/sshguard/sshg-parser <"$corpus" | wc -l)
fbf=$(fail2ban-regex "$corpus" sshd 2>/dev/null | sed -n 's/^Lines:.* \([0-9]*\) matched.*/\1/p')

printf '%s lines, %s, on one core (taskset -c 0)\n\n' "$n" "$(date -u +%Y-%m-%d)"
printf '| %-34s | %9s | %12s | %10s | %14s |\n' tool seconds lines/s failures "logjail is ×"
printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..36})" "-----------" "--------------" "------------" "----------------"
row() { printf '| %-34s | %9.3f | %12.0f | %10s | %14s |\n' "$1" "$2" "$(echo "$n / $2" | bc -l)" "$3" "$4"; }
row "logjail filter test --filter sshd" "$lj" "$ljf" "1.0"
row "sshguard sshg-parser" "$sg" "$sgf" "$(printf '%.1f' "$(echo "$sg / $lj" | bc -l)")"
row "fail2ban-regex (sshd)" "$fb" "$fbf" "$(printf '%.0f' "$(echo "$fb / $lj" | bc -l)")"
