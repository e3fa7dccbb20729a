package enforce

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParsePorts(t *testing.T) {
	for _, tc := range []struct {
		in, proto, want string
		err             bool
	}{
		{"", "tcp", "", false},
		{"all", "tcp", "", false},
		{"22", "tcp", "22", false},
		{"ssh", "tcp", "22", false},
		{"80,22,443", "tcp", "22,80,443", false},
		{"8000:8100,8050:8200,22", "tcp", "22,8000:8200", false},
		{"1000-2000", "tcp", "1000:2000", false},
		{"22,23,24", "tcp", "22:24", false},
		{"0:65535", "tcp", "", false},
		{"99999", "tcp", "", true},
		{"90:80", "tcp", "", true},
		{"nosuchservice", "tcp", "", true},
		{"22,", "tcp", "", true},
	} {
		rs, err := parsePorts(tc.in, tc.proto)
		if (err != nil) != tc.err {
			t.Errorf("parsePorts(%q): error %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if got := portList(rs); !tc.err && got != tc.want {
			t.Errorf("parsePorts(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPortGroups(t *testing.T) {
	var rs []portRange
	for p := uint16(1); p <= 20; p++ {
		rs = append(rs, portRange{p * 10, p * 10})
	}
	rs = append(rs, portRange{1000, 2000})
	gs := portGroups(rs)
	if len(gs) != 2 || len(gs[0]) != 15 || len(gs[1]) != 6 {
		t.Errorf("groups %v", gs)
	}
	if gs := portGroups(nil); len(gs) != 1 || gs[0] != nil {
		t.Errorf("no ports: %v", gs)
	}
}

func TestCheckJail(t *testing.T) {
	good := []JailSpec{{Name: "sshd"}, {Name: "nginx-http_auth.2", Protocol: "udp", Ports: "53"}, {Name: "x", Protocol: "all"}}
	bad := []JailSpec{{}, {Name: strings.Repeat("a", MaxJailName+1)}, {Name: "a b"}, {Name: "x", Protocol: "sctp"}, {Name: "x", Protocol: "all", Ports: "22"}}
	for _, j := range good {
		if err := CheckJail(j); err != nil {
			t.Errorf("%+v: %v", j, err)
		}
	}
	for _, j := range bad {
		if err := CheckJail(j); !errors.Is(err, ErrInvalidJail) {
			t.Errorf("%+v: got %v, want ErrInvalidJail", j, err)
		}
	}
}

func TestPlan(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	pf := netip.MustParsePrefix
	b := func(jail, p string, until time.Duration) Ban {
		x := Ban{Jail: jail, Prefix: pf(p)}
		if until != 0 {
			x.Until = now.Add(until)
		}
		return x
	}
	g := newGuard([]ownAddr{{netip.MustParseAddr("192.0.2.1"), "eth0"}}, []netip.Prefix{pf("10.0.0.0/8")})
	p, err := newPlan([]JailSpec{{Name: "a"}, {Name: "b"}}, []Ban{
		b("a", "203.0.113.0/24", time.Hour),
		b("a", "203.0.113.9/32", 2*time.Hour), // folded into the /24
		b("a", "198.51.100.1/32", time.Minute),
		b("a", "198.51.100.1/32", 0), // permanent wins
		b("a", "198.51.100.2/32", time.Minute),
		b("a", "198.51.100.2/32", time.Hour), // the later end wins
		b("a", "198.51.100.3/32", -time.Second),
		b("a", "::ffff:198.51.100.4/128", 0),
		b("a", "2001:db8::5/64", 0), // masked
		b("b", "203.0.113.9/32", 0),
		b("a", "127.0.0.2/32", 0),
		b("a", "192.0.2.0/25", 0),
		b("a", "10.1.2.3/32", 0),
		b("c", "203.0.113.1/32", 0),
	}, now, g, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, j := range p.jails {
		for _, fam := range families {
			for _, x := range p.bySet[setKey{j.name, fam}] {
				got = append(got, x.String())
			}
		}
	}
	want := []string{
		"a 198.51.100.1",
		"a 198.51.100.2 until 2026-11-24T13:00:00Z",
		"a 198.51.100.4",
		"a 203.0.113.0/24 until 2026-11-24T13:00:00Z",
		"a 2001:db8::/64",
		"b 203.0.113.9",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("plan:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var refused []string
	for _, r := range p.refused {
		refused = append(refused, r.String())
	}
	wantRefused := []string{
		"a 127.0.0.2: overlaps loopback 127.0.0.0/8",
		"a 192.0.2.0/25: covers own address 192.0.2.1 on eth0",
		"a 10.1.2.3: overlaps never-ban range 10.0.0.0/8",
		"c 203.0.113.1: jail not configured",
	}
	if !reflect.DeepEqual(refused, wantRefused) {
		t.Errorf("refused:\n%s\nwant\n%s", strings.Join(refused, "\n"), strings.Join(wantRefused, "\n"))
	}

	_, err = newPlan([]JailSpec{{Name: "a"}}, []Ban{b("a", "192.0.2.10/32", 0), b("a", "192.0.2.11/32", 0), b("a", "2001:db8::1/128", 0)}, now, g, 1)
	if !errors.Is(err, ErrSetFull) {
		t.Errorf("two IPv4 bans with maxelem 1: %v", err)
	}
	if _, err := newPlan([]JailSpec{{Name: "a"}, {Name: "a"}}, nil, now, g, 1); !errors.Is(err, ErrInvalidJail) {
		t.Errorf("jail twice: %v", err)
	}
}

func TestTimeouts(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	if got := kernelTimeout(time.Time{}, now); got != 0 {
		t.Errorf("permanent: %v", got)
	}
	if got := kernelTimeout(now.Add(1500*time.Millisecond), now); got != 2*time.Second {
		t.Errorf("1.5s: %v", got)
	}
	if got := kernelTimeout(now.Add(365*24*time.Hour), now); got != maxTimeout {
		t.Errorf("a year: %v", got)
	}
	h := now.Add(time.Hour)
	year := now.Add(365 * 24 * time.Hour)
	for _, tc := range []struct {
		k, until time.Time
		ok       bool
	}{
		{time.Time{}, time.Time{}, true},
		{h, time.Time{}, false},
		{time.Time{}, h, false},
		{h.Add(-3 * time.Second), h, true},
		{h.Add(-2 * time.Minute), h, false},
		{h.Add(2 * time.Minute), h, false},
		{now.Add(maxTimeout), year, true},
		{now.Add(maxTimeout / 3), year, false},
	} {
		if got := timeoutOK(tc.k, tc.until, now); got != tc.ok {
			t.Errorf("timeoutOK(%v, %v) = %v", tc.k.Sub(now), tc.until.Sub(now), got)
		}
	}
}

func TestToolMessage(t *testing.T) {
	for in, want := range map[string]string{
		"ipset v7.17: Error in line 3: Hash is full, cannot add more elements\n": "line 3: Hash is full, cannot add more elements",
		"iptables-restore: line 2 failed: Bad rule\n":                            "line 2 failed: Bad rule",
		"# Warning: iptables-legacy tables present\nreal problem\n":              "real problem",
		"iptables v1.8.9 (nf_tables): Chain already exists\n":                    "Chain already exists",
		"": "",
	} {
		if got := toolMessage(in); got != want {
			t.Errorf("toolMessage(%q) = %q, want %q", in, got, want)
		}
	}
}
