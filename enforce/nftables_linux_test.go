//go:build linux

package enforce

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// nftEachShard repeats a shell line for every shard number $k.
func nftEachShard(line string) string {
	return fmt.Sprintf("for k in $(seq 0 %d); do %s; done", nftShards-1, line)
}

// TestShardOf: bans spread evenly over the shards whatever their pattern,
// and a prefix's shard never changes between versions (a change would
// move every ban of an upgraded firewall).
func TestShardOf(t *testing.T) {
	const n = 100000
	rng := rand.New(rand.NewPCG(1, 2))
	base4 := netip.MustParseAddr("198.18.0.0").As4()
	v4At := func(i int, shift uint) netip.Prefix {
		a := base4
		v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(i)<<shift
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), 32-int(shift))
	}
	v6At := func(i int) netip.Prefix {
		a := netip.MustParseAddr("2001:db8::").As16()
		a[4], a[5], a[6], a[7] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
		return netip.PrefixFrom(netip.AddrFrom16(a), 64)
	}
	for name, gen := range map[string]func(int) netip.Prefix{
		"consecutive IPv4 addresses": func(i int) netip.Prefix { return v4At(i, 0) },
		"IPv4 /24 networks":          func(i int) netip.Prefix { return v4At(i, 8) },
		"IPv4 every 16th address":    func(i int) netip.Prefix { return netip.PrefixFrom(v4At(i*16, 0).Addr(), 32) },
		"consecutive IPv6 /64s":      v6At,
		"random IPv4 addresses": func(int) netip.Prefix {
			return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())}), 32)
		},
	} {
		count := make([]int, nftShards)
		for i := range n {
			count[shardOf(gen(i))]++
		}
		for k, c := range count {
			if want := n / nftShards; c < want*9/10 || c > want*11/10 {
				t.Errorf("%s: shard %d holds %d of %d, want %d ± 10%%: %v", name, k, c, n, want, count)
				break
			}
		}
	}

	// Fixed values: the shard of a ban must stay what it was.
	for p, want := range map[string]int{"198.18.0.0/32": 1, "203.0.113.7/32": 2, "203.0.113.64/26": 3, "2001:db8:bad::7/128": 3, "2001:db8:bad:1::/64": 5} {
		if got := shardOf(netip.MustParsePrefix(p)); got != want {
			t.Errorf("shardOf(%s) = %d, want %d", p, got, want)
		}
	}
	if shardOf(netip.MustParsePrefix("203.0.113.77/26")) != shardOf(netip.MustParsePrefix("203.0.113.64/26")) {
		t.Error("a network's shard depends on its host bits")
	}

	for name, want := range map[string]string{
		"logjail-sshd-4.ip0a": "sshd 4 0 false a", "logjail-a-6-6.ip15b": "a-6 6 15 false b", "logjail-a.1-4.ip3a": "a.1 4 3 false a",
		"logjail-sshd-4.net0a": "sshd 4 0 true a", "logjail-a-6-6.net15b": "a-6 6 15 true b", "logjail-net-4.net3a": "net 4 3 true a",
		"logjail-ip-6.ip1b": "ip 6 1 false b", "logjail-sshd-4.ip99a": "sshd 4 99 false a",
		// earlier layouts
		"logjail-sshd-4": "sshd 4 -1 true -", "logjail-x-4.3-6": "x-4.3 6 -1 true -", "logjail-sshd-4.0": "sshd 4 -1 true -", "logjail-sshd-4.15": "sshd 4 -1 true -",
		"logjail-sshd-4.": "", "logjail-sshd-4.03": "", "logjail-sshd.3": "", "logjail-sshd-4t.3a": "", "other-4.3": "", "logjail-sshd-4.0a": "",
		"logjail-sshd-4.ip0": "", "logjail-sshd-4.net3": "", "logjail-sshd-4.ip3c": "", "logjail-sshd-4.ip3ab": "", "logjail-sshd-4.ipa": "",
		"logjail-sshd-4.neta": "", "logjail-sshd-4.ip03a": "", "logjail-sshd-4.nett3a": "", "logjail-sshd-4.3neta": "", "logjail-sshd-4.ipnet3a": "",
	} {
		got := ""
		if o, ok := nftSetOwner(name); ok {
			g := "-"
			if o.gen != 0 {
				g = string(o.gen)
			}
			got = fmt.Sprintf("%s %d %d %v %s", o.jail, o.fam, o.pl.k, o.pl.net, g)
		}
		if got != want {
			t.Errorf("nftSetOwner(%q) = %q, want %q", name, got, want)
		}
	}
	for pl, want := range map[nftPlace]string{{15, false}: "logjail-a-6-6.ip15a", {3, true}: "logjail-a-6-6.net3a"} {
		if got := shardName("a-6", v6, pl, 'a'); got != want {
			t.Errorf("shardName(%v) = %s, want %s", pl, got, want)
		}
	}
	if got := shardName("sshd", v4, nftPlace{k: 7}, otherGen('a')); got != "logjail-sshd-4.ip7b" || otherGen('b') != 'a' {
		t.Errorf("the other generation: %s", got)
	}
	for p, want := range map[string]nftPlace{"203.0.113.7/32": {2, false}, "203.0.113.64/26": {3, true}, "2001:db8:bad::7/128": {3, false}, "2001:db8:bad:1::/64": {5, true}, "198.18.0.0/31": {shardOf(netip.MustParsePrefix("198.18.0.0/31")), true}} {
		if got := placeOf(netip.MustParsePrefix(p)); got != want {
			t.Errorf("placeOf(%s) = %v, want %v", p, got, want)
		}
	}
}

// shardsHolding lists the sets of a jail and family in generation gen
// whose listing shows the address or network s.
func (f *fixture) shardsHolding(jail string, fam family, s string, gen byte) []string {
	f.t.Helper()
	return f.setsHolding(jail, fam, gen)[s]
}

// setsHolding maps every address or network in the sets of a jail and
// family in generation gen to the sets whose listing shows it.
func (f *fixture) setsHolding(jail string, fam family, gen byte) map[string][]string {
	f.t.Helper()
	holding := map[string][]string{}
	for _, pl := range nftPlaces {
		name := shardName(jail, fam, pl, gen)
		out := f.sh("nft list set inet logjail " + name)
		for _, field := range strings.FieldsFunc(out, func(r rune) bool { return r == ' ' || r == ',' || r == '{' || r == '}' || r == '\n' || r == '\t' }) {
			holding[field] = append(holding[field], name)
		}
	}
	return holding
}

// TestNftablesShards: each ban lies in exactly the set placeOf names, an
// address in its shard's hash set, a network in its shard's interval
// set; a ban moved into another set by hand (another shard, or an
// address into a network set) goes back, and a set with a shard number
// past nftShards goes, without either counting as a change of bans.
func TestNftablesShards(t *testing.T) {
	f := newFixture(t, "nftables", Options{})
	want := suiteBans()
	f.apply(suiteJails, want)
	for _, b := range want {
		fam := familyOf(b.Prefix)
		got := f.shardsHolding(b.Jail, fam, Addr(b.Prefix), 'a')
		if w := shardName(b.Jail, fam, placeOf(b.Prefix), 'a'); len(got) != 1 || got[0] != w {
			t.Errorf("%s lies in %v, want only %s", b, got, w)
		}
	}
	for _, pl := range nftPlaces {
		out := f.sh("nft list set inet logjail " + shardName("sshd", v4, pl, 'a'))
		if isInterval := strings.Contains(out, "flags interval,timeout"); isInterval != pl.net || !strings.Contains(out, "timeout") {
			t.Errorf("set %s: want interval %v with timeouts:\n%s", shardName("sshd", v4, pl, 'a'), pl.net, out)
		}
	}

	net, host := want[1], want[0] // sshd 203.0.113.64/26, 203.0.113.7
	home := shardName("sshd", v4, placeOf(net.Prefix), 'a')
	away := shardName("sshd", v4, nftPlace{k: (placeOf(net.Prefix).k + 1) % nftShards, net: true}, 'a')
	hostHome := shardName("sshd", v4, placeOf(host.Prefix), 'a')
	hostAway := shardName("sshd", v4, nftPlace{k: placeOf(host.Prefix).k, net: true}, 'a')
	f.sh(fmt.Sprintf(`nft delete element inet logjail %s '{ 203.0.113.64/26 }'
nft add element inet logjail %s '{ 203.0.113.64/26 timeout 1h }'
nft delete element inet logjail %s '{ 203.0.113.7 }'
nft add element inet logjail %s '{ 203.0.113.7 timeout 10m }'
nft add set inet logjail logjail-sshd-4.ip%da '{ type ipv4_addr; flags timeout; }'
nft add element inet logjail logjail-sshd-4.ip%[5]da '{ 203.0.113.7 timeout 10m }'`, home, away, hostHome, hostAway, nftShards))
	d := f.apply(suiteJails, want)
	if len(d.Added)+len(d.Removed)+len(d.Updated) != 0 {
		t.Errorf("moving bans to their shards changed bans: %+v", d)
	}
	if step := fmt.Sprintf("delete set inet logjail logjail-sshd-4.ip%da", nftShards); !slices.Contains(d.Setup, step) {
		t.Errorf("no %q in %q", step, d.Setup)
	}
	if got := f.shardsHolding("sshd", v4, "203.0.113.64/26", 'a'); len(got) != 1 || got[0] != home {
		t.Errorf("203.0.113.64/26 lies in %v after Apply, want only %s", got, home)
	}
	if got := f.shardsHolding("sshd", v4, "203.0.113.7", 'a'); len(got) != 1 || got[0] != hostHome {
		t.Errorf("203.0.113.7 lies in %v after Apply, want only %s", got, hostHome)
	}
	f.checkActual(want)
	if d := f.apply(suiteJails, want); !d.Empty() {
		t.Errorf("Apply after the move is no no-op: %+v", d)
	}
}

// TestNftablesMigration: a table left by an earlier version becomes, in
// one Apply, the table this version builds: old sets and rules gone,
// every ban in its set, and no ban counted as added or removed unless it
// was. testdata/nftables-v1.nft is what the version before the sharding
// made of the suite's bans (one interval set per jail and family, rules
// in chain input); nftables-v2.nft what the sharded version before the
// hash sets made (16 interval sets per jail and family, jail chains).
func TestNftablesMigration(t *testing.T) {
	for _, old := range []string{"v1", "v2"} {
		t.Run(old, func(t *testing.T) { testNftablesMigration(t, "testdata/nftables-"+old+".nft") })
	}
}

func testNftablesMigration(t *testing.T, file string) {
	for _, tc := range []struct {
		name     string
		blocking string
		desired  func([]Ban) []Ban
		added    []Ban
		removed  []int // indexes into the suite's bans
	}{
		{name: "same bans", blocking: "DROP", desired: func(b []Ban) []Ban { return b }},
		{name: "changed bans", blocking: "REJECT",
			desired: func(b []Ban) []Ban {
				return append(without(b, 0, 6), ban("sshd", "198.51.100.5", time.Hour), ban("web", "2001:db8:bad::5", 0))
			},
			added:   []Ban{ban("sshd", "198.51.100.5", time.Hour), ban("web", "2001:db8:bad::5", 0)},
			removed: []int{0, 6}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			f := newFixture(t, "nftables", Options{BlockType: tc.blocking})
			f.sh("nft -f " + file)
			f.checkActual(suiteBans())

			want := tc.desired(suiteBans())
			d := f.apply(suiteJails, want)
			f.checkBans("Added", d.Added, tc.added, true)
			var removed []Ban
			for _, i := range tc.removed {
				removed = append(removed, suiteBans()[i])
			}
			f.checkBans("Removed", d.Removed, removed, true)
			if len(d.Updated) != 0 {
				t.Errorf("migration updated %v", d.Updated)
			}
			for _, line := range strings.Split(string(old), "\n") {
				name, ok := strings.CutPrefix(strings.TrimSpace(line), "set ")
				if !ok {
					continue
				}
				name = strings.TrimSuffix(name, " {")
				if step := "delete set inet logjail " + name; !slices.Contains(d.Setup, step) {
					t.Errorf("old set %s not deleted", name)
				}
			}
			f.checkActual(want)

			// The same as what this version makes in an empty firewall.
			fresh := newFixture(t, "nftables", Options{BlockType: tc.blocking})
			fresh.apply(suiteJails, want)
			if diff := diffLines(fresh.dump(), f.dump()); diff != "" {
				t.Errorf("migrated firewall differs from a fresh one:\n%s", diff)
			}
			if d := f.apply(suiteJails, want); !d.Empty() {
				t.Errorf("Apply after the migration is no no-op: %+v", d)
			}
		})
	}
}

// TestNftFill: the elements nftFill writes itself reach the kernel as the
// library's would, addresses of both families with and without a
// timeout, over several transactions; and an error of the kernel's (a set
// that does not exist) comes back as an error, not a wait.
func TestNftFill(t *testing.T) {
	defer func(n int) { nftTxnElems = n }(nftTxnElems)
	nftTxnElems = 1000 // four transactions: 3 × 1,000 addresses, then 2
	f := newFixture(t, "nftables", Options{})
	f.sh(`nft add table inet logjail
nft add set inet logjail s4 '{ type ipv4_addr; flags timeout; }'
nft add set inet logjail s6 '{ type ipv6_addr; flags timeout; }'`)
	open := func() *nftFill {
		fd, closeNS, err := f.b.(*nftBackend).t.nsHandle()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(closeNS)
		r, err := dialDumpReader(fd)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.close() })
		fill, err := newNftFill(r)
		if err != nil {
			t.Fatal(err)
		}
		return fill
	}
	fill := open()
	for _, b := range manyBans("sshd", 3000, time.Hour) {
		if err := fill.add("s4", b.Prefix.Addr(), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []string{"2001:db8::1", "2001:db8::2"} {
		timeout := time.Duration(0)
		if a == "2001:db8::1" {
			timeout = 90 * time.Second
		}
		if err := fill.add("s6", netip.MustParseAddr(a), timeout); err != nil {
			t.Fatal(err)
		}
	}
	if err := fill.flush(); err != nil {
		t.Fatal(err)
	}
	if fill.sent != 4 {
		t.Errorf("%d transactions, want 4", fill.sent)
	}
	v4 := f.sh("nft list set inet logjail s4")
	if got := strings.Count(v4, "timeout 1h"); got != 3000 || !strings.Contains(v4, "10.0.11.183 timeout 1h") {
		t.Errorf("s4 holds %d addresses with timeout 1h, want 3000 with 10.0.11.183:\n%.500s", got, v4)
	}
	if v6 := f.sh("nft list set inet logjail s6"); !strings.Contains(v6, "2001:db8::1 timeout 1m30s") || !regexp.MustCompile(`2001:db8::2[ ,\n}]`).MatchString(v6) || strings.Contains(v6, "2001:db8::2 timeout") {
		t.Errorf("s6:\n%s", v6)
	}

	fill = open()
	if err := fill.add("missing", netip.MustParseAddr("192.0.2.9"), 0); err != nil {
		t.Fatal(err)
	}
	if err := fill.flush(); !errors.Is(err, unix.ENOENT) {
		t.Errorf("adding to a set that does not exist: %v, want ENOENT", err)
	}
}
