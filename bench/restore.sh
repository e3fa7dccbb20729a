#!/usr/bin/env bash
# 100,000 bans through the real command line (issue 19), for ipset and
# nftables, each in a fresh network namespace, beside a bare "ipset
# restore" of the same members in the same minutes:
#
#   ban   `logjail ban --for 1d -` reading the addresses on stdin
#   wiped the first `logjail run` after the firewall was wiped (a reboot:
#         `logjail firewall flush`), which puts them all back
#   no-op the next `logjail run` (the firewall already right)
#
# Firewall backend as said, digest off, one sshd jail on an empty log.
# Median of RUNS (wall time of the whole command, start included).
#
#   sudo bench/restore.sh [N] [RUNS]      (defaults 100000 and 3)
set -euo pipefail
n=${1:-100000}
runs=${2:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
[ "$(id -u)" = 0 ] || { echo "bench/restore.sh: needs root (network namespaces)" >&2; exit 1; }
tmp=$(mktemp -d)
out=$tmp
go build -o "$out/logjail" .
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
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# The same addresses as bench/fwbench's (198.18.0.0 upwards).
"$out/fwbench" -emit-ipset "$tmp/raw.ipset" -n "$n"
awk '$1 == "add" { print $3 }' "$tmp/raw.ipset" | sed 's/,.*//' >"$tmp/addrs"
[ "$(wc -l <"$tmp/addrs")" = "$n" ] || { echo "bench/restore.sh: expected $n addresses" >&2; exit 1; }
: >"$tmp/auth.log"
now=2026-11-24T12:00:00Z

declare -A t
for r in $(seq "$runs"); do
	for kind in ipset nftables; do
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
		s=$(date +%s%N); "${lj[@]}" ban --jail sshd --for 1d - <"$tmp/addrs"; e=$(date +%s%N)
		t[$kind-ban]+="$(ms "$s" "$e") "
		"${lj[@]}" firewall flush
		s=$(date +%s%N); "${lj[@]}" run; e=$(date +%s%N)
		t[$kind-wiped]+="$(ms "$s" "$e") "
		s=$(date +%s%N); "${lj[@]}" run; e=$(date +%s%N)
		t[$kind-noop]+="$(ms "$s" "$e") "
		# The kernel holds exactly the bans.
		if [ "$kind" = ipset ]; then
			got=$(ip netns exec "$NS" ipset list -t | awk '/^Number of entries/ { s += $4 } END { print s }')
		else
			got=$(ip netns exec "$NS" nft -j list ruleset | grep -o '"198\.1[89]\.[0-9.]*"' | wc -l)
		fi
		[ "$got" = "$n" ] || { echo "bench/restore.sh: $kind holds $got bans, want $n" >&2; exit 1; }
		ip netns del "$NS"
	done
	newns
	s=$(date +%s%N); ip netns exec "$NS" ipset restore <"$tmp/raw.ipset"; e=$(date +%s%N)
	t[raw]+="$(ms "$s" "$e") "
	ip netns del "$NS"
done
raw=$(printf '%s\n' ${t[raw]} | median)
printf 'restore: %s bans, %s runs, %s, %s cores, load %s\n\n' "$n" "$runs" "$(date -u +%Y-%m-%dT%H:%MZ)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '| step | ipset ms (median; all) | nftables ms (median; all) | ipset × raw restore | nftables × raw restore |\n|---|---|---|---|---|\n'
for step in ban wiped noop; do
	a=$(printf '%s\n' ${t[ipset-$step]} | median); b=$(printf '%s\n' ${t[nftables-$step]} | median)
	printf '| %s | %s (%s) | %s (%s) | %.2f | %.2f |\n' "$step" "$a" "${t[ipset-$step]% }" "$b" "${t[nftables-$step]% }" \
		"$(echo "$a/$raw" | bc -l)" "$(echo "$b/$raw" | bc -l)"
done
printf '| bare `ipset restore` | %s (%s) | | | |\n' "$raw" "${t[raw]% }"
