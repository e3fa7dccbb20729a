#!/usr/bin/env bash
# Speed of logjail's firewall backends beside a bare "ipset restore" and
# beside fail2ban, each in a fresh network namespace.
#
#   sudo bench/firewall.sh [BIG] [IPT] [F2B] [RUNS]
#
# defaults: BIG=100000 bans for ipset and nftables, IPT=10000 for iptables,
# F2B=1000 bans for fail2ban, RUNS=3 (the median is shown).
#
# For each of ipset and nftables (BIG bans) and iptables (IPT bans),
# bench/fwbench applies the bans to an empty firewall, then reconciles
# the same bans again (a no-op run), timing both inside the process. Then
# the members logjail's ipset backend writes are fed to a bare
# "ipset restore", and fail2ban 1.0 (Debian's) bans F2B addresses with its
# iptables-ipset action via "fail2ban-client set sshd banip ...", timed
# until all of them are in its set, and extrapolated per ban.
#
# Safety: everything runs in namespaces this script creates (lj-bench-*)
# and deletes on exit, fail2ban-server included, with its configuration,
# socket, pid file and database in a temporary directory; the host's own
# firewall is never touched.
set -euo pipefail
big=${1:-100000}
ipt=${2:-10000}
f2b=${3:-1000}
runs=${4:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
out=$here/bench/out
mkdir -p "$out"
cd "$here"

die() { echo "bench/firewall.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
for tool in ip ipset nft iptables ip6tables iptables-restore fail2ban-server fail2ban-client awk; do
	command -v "$tool" >/dev/null || die "$tool is missing (apt-get install iproute2 ipset nftables iptables fail2ban)"
done
go build -o "$out/fwbench" ./bench/fwbench

tmp=$(mktemp -d)
namespaces=()
f2bpid=""
nscount=0
cleanup() {
	if [ -n "$f2bpid" ]; then
		fail2ban-client -c "$tmp/f2b" -s "$tmp/f2b.sock" stop >/dev/null 2>&1 || true
		sleep 1
		kill "$f2bpid" 2>/dev/null || true
		wait "$f2bpid" 2>/dev/null || true
	fi
	for ns in "${namespaces[@]}"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

# newns sets NS to a fresh namespace with loopback up.
newns() {
	nscount=$((nscount + 1))
	NS=lj-bench-$$-$nscount
	ip netns add "$NS"
	namespaces+=("$NS")
	ip -n "$NS" link set lo up
}
delns() { ip netns del "$1"; }
now() { date +%s.%N; }
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

# logjail KIND N: median apply and no-op seconds over RUNS fresh namespaces.
logjail() {
	local kind=$1 n=$2 r
	: >"$tmp/apply"
	: >"$tmp/noop"
	for r in $(seq "$runs"); do
		newns
		"$out/fwbench" -kind "$kind" -netns "$NS" -n "$n" >"$tmp/run"
		delns "$NS"
		awk '/^apply/ { print $2 }' "$tmp/run" >>"$tmp/apply"
		awk '/^noop/ { print $2 }' "$tmp/run" >>"$tmp/noop"
	done
	echo "$(median <"$tmp/apply") $(median <"$tmp/noop")"
}

echo "logjail firewall benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -r), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "  $(iptables --version), $(ipset --version | head -1), $(nft --version), $(fail2ban-server --version 2>&1 | head -1)" >&2

read -r ipset_apply ipset_noop < <(logjail ipset "$big")
read -r nft_apply nft_noop < <(logjail nftables "$big")
read -r ipt_apply ipt_noop < <(logjail iptables "$ipt")

# A bare ipset restore of the same members.
"$out/fwbench" -emit-ipset "$tmp/raw.ipset" -n "$big"
: >"$tmp/raw"
for r in $(seq "$runs"); do
	newns
	s=$(now)
	ip netns exec "$NS" ipset restore <"$tmp/raw.ipset"
	e=$(now)
	delns "$NS"
	calc "%.4f\n" "$e - $s" >>"$tmp/raw"
done
raw=$(median <"$tmp/raw")

# fail2ban 1.0 in its own namespace, with a private configuration.
newns
f2bns=$NS
cp -r /etc/fail2ban "$tmp/f2b"
rm -f "$tmp/f2b/jail.d/"*.conf "$tmp/f2b/jail.d/"*.local "$tmp/f2b/fail2ban.d/"*
: >"$tmp/auth.log"
cat >"$tmp/f2b/fail2ban.local" <<EOF
[Definition]
loglevel = WARNING
logtarget = $tmp/fail2ban.log
socket = $tmp/f2b.sock
pidfile = $tmp/f2b.pid
dbfile = $tmp/fail2ban.sqlite3
EOF
cat >"$tmp/f2b/jail.local" <<EOF
[DEFAULT]
banaction = iptables-ipset
bantime = 1h
[sshd]
enabled = true
backend = polling
port = ssh
logpath = $tmp/auth.log
EOF
ip netns exec "$f2bns" fail2ban-server -xf -c "$tmp/f2b" -s "$tmp/f2b.sock" -p "$tmp/f2b.pid" >"$tmp/f2b.out" 2>&1 &
f2bpid=$!
for _ in $(seq 100); do
	fail2ban-client -c "$tmp/f2b" -s "$tmp/f2b.sock" ping >/dev/null 2>&1 && break
	sleep 0.2
done
fail2ban-client -c "$tmp/f2b" -s "$tmp/f2b.sock" ping >/dev/null || die "fail2ban-server did not start: $(cat "$tmp/f2b.out" "$tmp/fail2ban.log" 2>/dev/null)"
ips=$(awk -v n="$f2b" 'BEGIN { for (i = 0; i < n; i++) printf "198.18.%d.%d ", int(i / 256), i % 256 }')
count() { ip netns exec "$f2bns" ipset list -t f2b-sshd 2>/dev/null | awk '/^Number of entries/ { print $4 }'; }
s=$(now)
# shellcheck disable=SC2086
fail2ban-client -c "$tmp/f2b" -s "$tmp/f2b.sock" set sshd banip $ips >/dev/null
client=$(calc "%.3f" "$(now) - $s")
deadline=$(($(date +%s) + 3600))
while [ "$(count)" != "$f2b" ]; do
	[ "$(date +%s)" -lt "$deadline" ] || die "fail2ban banned only $(count) of $f2b in an hour"
	sleep 0.1
done
f2bsecs=$(calc "%.3f" "$(now) - $s")
fail2ban-client -c "$tmp/f2b" -s "$tmp/f2b.sock" stop >/dev/null 2>&1 || true
wait "$f2bpid" 2>/dev/null || true
f2bpid=""

per() { calc "%.1f" "$1 / $2 * 1000000"; } # µs per ban
f2bper=$(calc "%.6f" "$f2bsecs / $f2b")
cat <<EOF
| what | bans | seconds | µs per ban | compared |
|---|---:|---:|---:|---|
| logjail ipset: apply to an empty firewall | $big | $ipset_apply | $(per "$ipset_apply" "$big") | $(calc "%.2f" "$ipset_apply / $raw")× bare ipset restore |
| logjail ipset: no-op reconcile | $big | $ipset_noop | $(per "$ipset_noop" "$big") | |
| logjail nftables: apply to an empty firewall | $big | $nft_apply | $(per "$nft_apply" "$big") | $(calc "%.2f" "$nft_apply / $raw")× bare ipset restore |
| logjail nftables: no-op reconcile | $big | $nft_noop | $(per "$nft_noop" "$big") | $(calc "%.2f" "$nft_noop / $ipset_noop")× logjail ipset no-op |
| logjail iptables: apply to an empty firewall | $ipt | $ipt_apply | $(per "$ipt_apply" "$ipt") | |
| logjail iptables: no-op reconcile | $ipt | $ipt_noop | $(per "$ipt_noop" "$ipt") | |
| bare \`ipset restore\` of the same members | $big | $raw | $(per "$raw" "$big") | |
| fail2ban $(fail2ban-server --version 2>&1 | head -1 | sed 's/Fail2Ban v//') iptables-ipset, \`set sshd banip\` | $f2b | $f2bsecs | $(per "$f2bsecs" "$f2b") | $big bans ≈ $(calc "%.0f" "$f2bper * $big") s, $(calc "%.0f" "$f2bper * $big / $ipset_apply")× logjail ipset (client returned after $client s) |
EOF
