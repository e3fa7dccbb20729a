package analyze

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPolicyNetwork: with Net6 64, failures from many addresses of one
// /64 ban the /64 at MaxRetry; one address reaching MaxRetry alone is
// banned alone, and its failures do not also count towards its network;
// nothing counts while the address or the network is banned; a network
// holding an ignored or own address is never counted.
func TestPolicyNetwork(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	base := Policy{MaxRetry: 3, FindTime: time.Minute, BanTime: 10 * time.Minute, History: time.Hour, Prefix6: 128, Net6: 64}
	a := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	type fail struct {
		sec  int
		addr string
	}
	tests := []struct {
		name  string
		pol   Policy
		fails []fail
		want  []string // "second key"
	}{
		{"rotation in a /64 bans the /64", base,
			[]fail{{0, "2001:db8:1:2::1"}, {1, "2001:db8:1:2::2"}, {2, "2001:db8:1:2::3"}},
			[]string{"2 2001:db8:1:2::/64"}},
		{"a single address alone is banned as before", base,
			[]fail{{0, "2001:db8:1:2::1"}, {1, "2001:db8:1:2::1"}, {2, "2001:db8:1:2::1"}},
			[]string{"2 2001:db8:1:2::1/128"}},
		{"the banned address's failures leave its network", base,
			[]fail{{0, "2001:db8:1:2::1"}, {1, "2001:db8:1:2::1"}, {2, "2001:db8:1:2::1"}, {3, "2001:db8:1:2::9"}, {4, "2001:db8:1:2::8"}},
			[]string{"2 2001:db8:1:2::1/128"}},
		{"...and a third neighbour bans the network", base,
			[]fail{{0, "2001:db8:1:2::1"}, {1, "2001:db8:1:2::1"}, {2, "2001:db8:1:2::1"}, {3, "2001:db8:1:2::9"}, {4, "2001:db8:1:2::8"}, {5, "2001:db8:1:2::7"}},
			[]string{"2 2001:db8:1:2::1/128", "5 2001:db8:1:2::/64"}},
		{"nothing counts while the network is banned", base,
			[]fail{{0, "2001:db8:1:2::1"}, {1, "2001:db8:1:2::2"}, {2, "2001:db8:1:2::3"}, {3, "2001:db8:1:2::4"}, {4, "2001:db8:1:2::4"}, {5, "2001:db8:1:2::4"}},
			[]string{"2 2001:db8:1:2::/64"}},
		{"other /64s count apart", base,
			[]fail{{0, "2001:db8:1:2::1"}, {1, "2001:db8:1:3::1"}, {2, "2001:db8:1:4::1"}},
			nil},
		{"outside the window", base,
			[]fail{{0, "2001:db8:1:2::1"}, {30, "2001:db8:1:2::2"}, {60, "2001:db8:1:2::3"}},
			nil},
		{"IPv4 is not grouped", base,
			[]fail{{0, "192.0.2.1"}, {1, "192.0.2.2"}, {2, "192.0.2.3"}},
			nil},
		{"off at 128", Policy{MaxRetry: 3, FindTime: time.Minute, BanTime: time.Minute, Net6: 128},
			[]fail{{0, "2001:db8:1:2::1"}, {1, "2001:db8:1:2::2"}, {2, "2001:db8:1:2::3"}},
			nil},
		{"ban_prefix6 64 counts the /64 already", Policy{MaxRetry: 3, FindTime: time.Minute, BanTime: time.Minute, Prefix6: 64, Net6: 64},
			[]fail{{0, "2001:db8:1:2::1"}, {1, "2001:db8:1:2::2"}, {2, "2001:db8:1:2::3"}},
			[]string{"2 2001:db8:1:2::/64"}},
		{"a network with an ignored address is not counted", func() Policy {
			p := base
			p.Ignore = []netip.Prefix{netip.MustParsePrefix("2001:db8:1:2::53/128")}
			return p
		}(),
			[]fail{{0, "2001:db8:1:2::1"}, {1, "2001:db8:1:2::2"}, {2, "2001:db8:1:2::3"}, {3, "2001:db8:1:2::3"}, {4, "2001:db8:1:2::3"}},
			[]string{"4 2001:db8:1:2::3/128"}},
		{"a network with an own address is not counted", func() Policy {
			p := base
			p.Never = []netip.Prefix{netip.MustParsePrefix("2001:db8:1:2::1:1/128")}
			return p
		}(),
			[]fail{{0, "2001:db8:1:2::1"}, {1, "2001:db8:1:2::2"}, {2, "2001:db8:1:2::3"}},
			nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tracks := map[netip.Prefix]*Track{}
			get := func(k netip.Prefix) *Track {
				if tracks[k] == nil {
					tracks[k] = &Track{}
				}
				return tracks[k]
			}
			var got []string
			for _, f := range tc.fails {
				ad := a(f.addr)
				key := tc.pol.Key(ad)
				var nt *Track
				net, ok := tc.pol.NetKey(ad)
				if ok {
					nt = get(net)
				}
				at := t0.Add(time.Duration(f.sec) * time.Second)
				if d, ok := tc.pol.Fail(get(key), key, nt, net, at); ok {
					got = append(got, fmt.Sprintf("%d %s", int(d.Start.Sub(t0).Seconds()), d.Key))
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("bans %v, want %v", got, tc.want)
			}
		})
	}
}

// TestFramingNetwork: the framing corpora with the framed address made a
// different IPv6 address of one /64 on each line, replayed with the
// network rule on and maxretry 2: no ban covers that /64. Two genuine
// failures from two addresses of another /64, added to each corpus, ban
// theirs (the rule is on).
func TestFramingNetwork(t *testing.T) {
	victim := netip.MustParsePrefix("2001:db8:9:9::/64")
	control := netip.MustParsePrefix("2001:db8:7:7::/64")
	entries, err := filepath.Glob("testdata/framing/*.txt")
	if err != nil || len(entries) < 5 {
		t.Fatalf("framing corpora: %v, %d", err, len(entries))
	}
	for _, path := range entries {
		name := strings.TrimSuffix(filepath.Base(path), ".txt")
		f, ok := Builtin(name)
		if !ok {
			t.Fatalf("%s: no built-in filter", path)
		}
		var lines []string
		for i, c := range readFraming(t, name) {
			lines = append(lines, strings.ReplaceAll(c.line, framedAddr, fmt.Sprintf("2001:db8:9:9::%x", i+1)))
		}
		pol := &Policy{MaxRetry: 2, FindTime: 24 * time.Hour, BanTime: time.Hour, History: time.Hour, Prefix6: 128, Net6: 64}
		var jails []ReplayJail
		for _, mode := range append([]string{""}, f.Modes...) {
			jails = append(jails, ReplayJail{Name: name + "-" + mode, Filter: f, Mode: mode, Policy: pol})
		}
		if name == "sshd" {
			lines = append(lines,
				"Nov 24 10:59:00 h sshd[7001]: Failed password for root from 2001:db8:7:7::1 port 22 ssh2",
				"Nov 24 10:59:01 h sshd[7002]: Failed password for root from 2001:db8:7:7::2 port 22 ssh2")
		}
		log := filepath.Join(t.TempDir(), name+".log")
		if err := os.WriteFile(log, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		st, err := Replay(context.Background(), []string{log}, ReplayOptions{Jails: jails, Ref: testRef, Loc: time.UTC})
		if err != nil {
			t.Fatal(err)
		}
		controlled := false
		for _, b := range st.Bans {
			if b.Key.Overlaps(victim) {
				t.Errorf("%s: %s bans %s, covering the framed addresses", name, b.Jail, b.Key)
			}
			controlled = controlled || b.Key == control
		}
		if name == "sshd" && !controlled {
			t.Errorf("sshd: the control failures from two addresses of %s did not ban it: %+v", control, st.Bans)
		}
	}
}
