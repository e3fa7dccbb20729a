#!/usr/bin/env bash
# 100,000 bans through the real command line (issue 19), for ipset and
# nftables, each in a fresh network namespace, beside a bare "ipset
# restore" of the same members in the same minutes:
#
#   ban   `logjail ban --for 1d -` reading the addresses on stdin
#   wiped the first `logjail run` after the firewall was wiped (a reboot:
#         `logjail firewall flush`), which puts them all back
#   no-op the next `logjail run` (the firewall already right: it checks
#         the kernel against the last apply's mark)
#   full  `logjail run --dry-run`: what a run costs when it compares
#         every member (at least every 15 minutes, or after a failed
#         check), reading the bans and the kernel's sets, writing nothing.
#         (A run with --now 15 minutes on would also reset every kernel
#         timeout, since the kernel's clock did not move.)
#
# Firewall backend as said, digest off, one sshd jail on an empty log.
# Median of RUNS (wall time of the whole command, start included).
#
#   sudo bench/restore.sh [N] [RUNS] [KINDS]
#
# (defaults 100000, 3 and "ipset nftables"; N up to 4194304; KINDS may
# name iptables too: bench/restore.sh 10000 3 "iptables ipset nftables")
set -euo pipefail
n=${1:-100000}
runs=${2:-3}
kinds=${3:-ipset nftables}
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
[ "$(id -u)" = 0 ] || { echo "bench/restore.sh: needs root (network namespaces)" >&2; exit 1; }
tmp=$(mktemp -d)
out=$tmp
CGO_ENABLED=0 go build -tags urfave_cli_no_docs -o "$out/logjail" .  # as README
go build -o "$out/fwbench" ./bench/fwbench
namespaces=()
cleanup() {
	for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
nscount=0
newns() {
	nscount=$((nscount + 1))
	NS=lj-restore-$$-$nscount
	ip netns add "$NS"
	namespaces+=("$NS")
	ip -n "$NS" link set lo up
}
ms() { echo $(( ($2 - $1) / 1000000 )); }
# timed STEP CMD...: runs CMD, adds its wall ms to t[STEP], its CPU ms
# (user+sys, children included) to c[STEP] and its peak RSS (MiB) to m[STEP]
timed() {
	local step=$1 s e
	shift
	s=$(date +%s%N)
	/usr/bin/time -o "$tmp/time" -f '%U %S %M' "$@"
	e=$(date +%s%N)
	t[$step]+="$(ms "$s" "$e") "
	read -r u sy rss <"$tmp/time"
	c[$step]+="$(echo "($u+$sy)*1000/1" | bc) "
	m[$step]+="$((rss / 1024)) "
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# The same addresses as bench/fwbench's (198.18.0.0 upwards; 100.64.0.0
# beyond 131,072).
"$out/fwbench" -emit-ipset "$tmp/raw.ipset" -n "$n"
awk '$1 == "add" { print $3 }' "$tmp/raw.ipset" | sed 's/,.*//' >"$tmp/addrs"
[ "$(wc -l <"$tmp/addrs")" = "$n" ] || { echo "bench/restore.sh: expected $n addresses" >&2; exit 1; }
: >"$tmp/auth.log"
now=2026-11-24T12:00:00Z

declare -A t c m
for r in $(seq "$runs"); do
	for kind in $kinds; do
		newns
		cat >"$tmp/$kind.yaml" <<EOC
state: $tmp/$kind-$r/state.db
firewall: {backend: $kind}
jails:
  sshd:
    logpath: [$tmp/auth.log]
    port: [ssh]
EOC
		lj=(env LOGJAIL_NETNS="$NS" "$out/logjail" --config "$tmp/$kind.yaml" --now "$now")
		timed "$kind-ban" "${lj[@]}" ban --jail sshd --for 1d - <"$tmp/addrs"
		"${lj[@]}" firewall flush
		timed "$kind-wiped" "${lj[@]}" run
		timed "$kind-noop" "${lj[@]}" run
		timed "$kind-full" "${lj[@]}" run --dry-run >/dev/null
		# The kernel holds exactly the bans.
		if [ "$kind" = ipset ]; then
			got=$(ip netns exec "$NS" ipset list -t | awk '/^Number of entries/ { s += $4 } END { print s }')
		elif [ "$kind" = iptables ]; then
			got=$( (ip netns exec "$NS" iptables-save -t filter; ip netns exec "$NS" ip6tables-save -t filter) | grep -c '^-A logjail-[^ ]* -s ')
		else
			got=$(ip netns exec "$NS" nft -j list ruleset | grep -oE '"(198\.1[89]|100\.[0-9]+)\.[0-9]+\.[0-9]+"' | wc -l)
		fi
		[ "$got" = "$n" ] || { echo "bench/restore.sh: $kind holds $got bans, want $n" >&2; exit 1; }
		ip netns del "$NS"
	done
	newns
	timed raw ip netns exec "$NS" ipset restore <"$tmp/raw.ipset"
	ip netns del "$NS"
done
raw=$(printf '%s\n' ${t[raw]} | median)
rawc=$(printf '%s\n' ${c[raw]} | median)
[ "$rawc" -gt 0 ] || rawc=10 # /usr/bin/time counts in 10 ms
printf 'restore: %s bans, %s runs, %s, %s cores, load %s\n\n' "$n" "$runs" "$(date -u +%Y-%m-%dT%H:%MZ)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '| step | backend | wall ms median (all) | CPU ms median (all) | × raw restore, wall | × raw restore, CPU | peak RSS MiB (all) |\n|---|---|---|---|---:|---:|---|\n'
for step in ban wiped noop full; do
	for kind in $kinds; do
		k=$kind-$step
		a=$(printf '%s\n' ${t[$k]} | median); b=$(printf '%s\n' ${c[$k]} | median)
		printf '| %s | %s | %s (%s) | %s (%s) | %.2f | %.2f | %s |\n' "$step" "$kind" "$a" "${t[$k]% }" "$b" "${c[$k]% }" \
			"$(echo "$a/$raw" | bc -l)" "$(echo "$b/$rawc" | bc -l)" "${m[$k]% }"
	done
done
printf '| bare `ipset restore` | | %s (%s) | %s (%s) | | | %s |\n' "$raw" "${t[raw]% }" "$rawc" "${c[raw]% }" "${m[raw]% }"
