//go:build linux

package enforce

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"logjail/internal/testenv"
)

// ipsetRow is one member as a comparable line: the prefix, whether logjail
// takes it as its own, and the seconds its timeout has left.
type ipsetRow struct {
	prefix netip.Prefix
	ok     bool
	left   int // seconds; 0: no timeout
}

func (r ipsetRow) String() string { return fmt.Sprintf("%s ok=%t left=%d", r.prefix, r.ok, r.left) }

// ipsetRef is a set as "ipset save" prints it, the reference the netlink
// reader must agree with.
type ipsetRef struct {
	header string // type family maxelem timeout
	rows   []ipsetRow
}

// parseSaveRef reads "ipset save" output: per set its create line's type,
// family, maxelem and timeout support, and per add line the member, its
// timeout and whether anything else follows (nomatch, counters, a
// comment), which makes it a member logjail did not write.
func parseSaveRef(t *testing.T, save string) map[string]*ipsetRef {
	t.Helper()
	sets := map[string]*ipsetRef{}
	for _, line := range strings.Split(save, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		switch f[0] {
		case "create":
			typ, family, maxelem, timeout := f[2], "", 0, false
			for i := 3; i+1 < len(f); i++ {
				switch f[i] {
				case "family":
					family = f[i+1]
				case "maxelem":
					maxelem, _ = strconv.Atoi(f[i+1])
				case "timeout":
					timeout = true
				}
			}
			sets[f[1]] = &ipsetRef{header: fmt.Sprintf("%s %s %d %t", typ, family, maxelem, timeout)}
		case "add":
			p, err := netip.ParsePrefix(f[2])
			if err != nil {
				a, err := netip.ParseAddr(f[2])
				if err != nil {
					t.Fatalf("ipset save: %q: %v", line, err)
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			rest := f[3:]
			left := 0
			if len(rest) >= 2 && rest[0] == "timeout" {
				left, _ = strconv.Atoi(rest[1])
				rest = rest[2:]
			}
			sets[f[1]].rows = append(sets[f[1]].rows, ipsetRow{p, len(rest) == 0, left})
		}
	}
	return sets
}

func rowsOf(s *ipsetSet, now time.Time) []ipsetRow {
	var rows []ipsetRow
	for _, m := range s.members {
		left := 0
		if !m.ban.Until.IsZero() {
			left = int(m.ban.Until.Sub(now) / time.Second)
		}
		rows = append(rows, ipsetRow{m.ban.Prefix, m.ok, left})
	}
	return rows
}

func sortRows(rows []ipsetRow) {
	slices.SortFunc(rows, func(a, b ipsetRow) int {
		if c := a.prefix.Addr().Compare(b.prefix.Addr()); c != 0 {
			return c
		}
		return a.prefix.Bits() - b.prefix.Bits()
	})
}

// ipsetFill is an "ipset restore" script of the sets the reader is
// compared on: thousands of IPv4 and IPv6 members with and without a
// prefix length, with and without timeouts, a nomatch entry, a set
// without timeout support, one with counters and comments (whose members
// logjail did not write), a hash:ip set, and a set that is not logjail's.
func ipsetFill() string {
	var b strings.Builder
	fmt.Fprintln(&b, "create logjail-sshd-4 hash:net family inet hashsize 1024 maxelem 100000 timeout 0")
	for i := range 3000 {
		m := fmt.Sprintf("198.18.%d.%d", i>>8, i&255)
		switch i % 5 {
		case 1:
			m = fmt.Sprintf("10.%d.%d.0/24", i>>8, i&255)
		case 2:
			m = fmt.Sprintf("100.64.%d.%d/30", i>>6, (i&63)<<2)
		}
		timeout := 0
		if i%4 != 0 {
			timeout = 1000 + 7*i
		}
		fmt.Fprintf(&b, "add logjail-sshd-4 %s timeout %d\n", m, timeout)
	}
	fmt.Fprintln(&b, "add logjail-sshd-4 172.16.0.0/16 timeout 0 nomatch")
	fmt.Fprintln(&b, "add logjail-sshd-4 0.0.0.0/1 timeout 2147483")
	fmt.Fprintln(&b, "create logjail-sshd-6 hash:net family inet6 hashsize 1024 maxelem 65536 timeout 0")
	for i := range 2000 {
		m := fmt.Sprintf("2001:db8:ffff::%x", i)
		switch i % 3 {
		case 1:
			m = fmt.Sprintf("2001:db8:%x::/48", i)
		case 2:
			m = fmt.Sprintf("2001:db8:aaaa:%x::/64", i)
		}
		timeout := 0
		if i%2 == 0 {
			timeout = 50000 + i
		}
		fmt.Fprintf(&b, "add logjail-sshd-6 %s timeout %d\n", m, timeout)
	}
	fmt.Fprintln(&b, "add logjail-sshd-6 2001:db8:ffff:ffff::/96 timeout 0 nomatch")
	fmt.Fprintln(&b, "create logjail-web-4 hash:net family inet maxelem 1000")
	for i := range 20 {
		fmt.Fprintf(&b, "add logjail-web-4 203.0.113.%d\nadd logjail-web-4 192.168.%d.0/24\n", i, i)
	}
	fmt.Fprintln(&b, "create logjail-cnt-6 hash:net family inet6 counters comment timeout 0")
	for i := range 10 {
		fmt.Fprintf(&b, "add logjail-cnt-6 2001:db8:c::%x timeout %d comment \"by hand\"\n", i, 100*i)
	}
	fmt.Fprintln(&b, "create logjail-ip-4 hash:ip family inet netmask 24 timeout 0")
	fmt.Fprintln(&b, "add logjail-ip-4 198.51.100.7 timeout 600")
	fmt.Fprintln(&b, "create logjail-empty-4 hash:net family inet timeout 0")
	fmt.Fprintln(&b, "create foreign hash:net family inet")
	fmt.Fprintln(&b, "add foreign 192.0.2.0/24")
	return b.String()
}

// TestIpsetReaderMatchesSave fills sets in a namespace with ipset restore
// and checks that the netlink reader finds exactly the sets, headers and
// members "ipset save" prints.
func TestIpsetReaderMatchesSave(t *testing.T) {
	testenv.Netns(t, "ipset")
	ns := newNS(t)
	fill := exec.Command("ip", "netns", "exec", ns, "ipset", "restore")
	fill.Stdin = strings.NewReader(ipsetFill())
	if out, err := fill.CombinedOutput(); err != nil {
		t.Fatalf("ipset restore: %v\n%s", err, out)
	}
	now := time.Now()
	ref := parseSaveRef(t, nsSh(t, ns, "ipset save"))

	r, err := openIpsetReader(target{netns: ns})
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	names, err := r.names()
	if err != nil {
		t.Fatal(err)
	}
	if want := slices.Sorted(func(yield func(string) bool) {
		for n := range ref {
			if !yield(n) {
				return
			}
		}
	}); !slices.Equal(slices.Sorted(slices.Values(names)), want) {
		t.Fatalf("names %q, ipset save has %q", names, want)
	}
	for _, name := range names {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		s, err := r.set(name, now)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := ref[name]
		if got := fmt.Sprintf("%s %s %d %t", s.typ, s.family, s.maxelem, s.timeout); got != want.header {
			t.Errorf("%s: header %q, ipset save %q", name, got, want.header)
		}
		jail, _, _, _ := parseSetName(name)
		for _, m := range s.members {
			if m.ban.Jail != jail {
				t.Fatalf("%s: member %v of jail %q, want %q", name, m.ban, m.ban.Jail, jail)
			}
		}
		got := rowsOf(s, now)
		sortRows(got)
		sortRows(want.rows)
		if len(got) != len(want.rows) {
			t.Errorf("%s: %d members, ipset save %d", name, len(got), len(want.rows))
			continue
		}
		for i, g := range got {
			w := want.rows[i]
			// Read after ipset save: a timeout may have run on a little.
			if g.prefix != w.prefix || g.ok != w.ok || (g.left == 0) != (w.left == 0) || g.left > w.left || g.left < w.left-3 {
				t.Errorf("%s: member %v, ipset save %v", name, g, w)
			}
		}
	}

	// The big sets take several netlink messages.
	msgs := 0
	if err := r.dump([]netlink.Attribute{{Type: ipsetAttrSetname, Data: []byte("logjail-sshd-4\x00")}}, func(uint16, []byte) error {
		msgs++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if msgs < 3 {
		t.Errorf("logjail-sshd-4 came in %d netlink messages; the test wants several", msgs)
	}

	// The kernel's error names the cause; the backend adds the set.
	_, err = r.set("logjail-nosuch-4", now)
	if err == nil || err.Error() != "no such set (no such file or directory)" {
		t.Errorf("reading a missing set: %v", err)
	}
}

// BenchmarkIpsetReader reads a set of 100,000 members (root only).
func BenchmarkIpsetReader(b *testing.B) {
	testenv.Netns(b, "ipset")
	ns := newNS(b)
	var script strings.Builder
	script.WriteString("create logjail-sshd-4 hash:net family inet hashsize 16384 maxelem 131072 timeout 0\n")
	for i := range 100000 {
		fmt.Fprintf(&script, "add logjail-sshd-4 198.%d.%d.%d timeout 3600\n", 18+i>>16, i>>8&255, i&255)
	}
	fill := exec.Command("ip", "netns", "exec", ns, "ipset", "restore")
	fill.Stdin = strings.NewReader(script.String())
	if out, err := fill.CombinedOutput(); err != nil {
		b.Fatalf("ipset restore: %v\n%s", err, out)
	}
	r, err := openIpsetReader(target{netns: ns})
	if err != nil {
		b.Fatal(err)
	}
	defer r.close()
	now := time.Now()
	for b.Loop() {
		s, err := r.set("logjail-sshd-4", now)
		if err != nil {
			b.Fatal(err)
		}
		if len(s.members) != 100000 {
			b.Fatalf("%d members", len(s.members))
		}
	}
}

// Hand-made answers, for what a kernel would not send.

func nlAttr(typ uint16, data []byte) netlink.Attribute {
	return netlink.Attribute{Type: typ, Data: data}
}

func nlNest(t testing.TB, typ uint16, attrs ...netlink.Attribute) netlink.Attribute {
	t.Helper()
	b, err := netlink.MarshalAttributes(attrs)
	if err != nil {
		t.Fatal(err)
	}
	return netlink.Attribute{Type: typ | unix.NLA_F_NESTED, Data: b}
}

func be32(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }

// ipsetMsg is the payload of an answer about set name.
func ipsetMsg(t testing.TB, name string, attrs ...netlink.Attribute) []byte {
	t.Helper()
	b, err := netlink.MarshalAttributes(append([]netlink.Attribute{
		nlAttr(ipsetAttrProtocol, []byte{ipsetProtocol}),
		nlAttr(ipsetAttrSetname, append([]byte(name), 0)),
	}, attrs...))
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte{unix.NFPROTO_IPV4, 0, 0, 0}, b...)
}

func ipsetHeader(t testing.TB) []netlink.Attribute {
	return []netlink.Attribute{
		nlAttr(ipsetAttrTypename, []byte("hash:net\x00")),
		nlAttr(ipsetAttrFamily, []byte{unix.NFPROTO_IPV4}),
		nlAttr(4, []byte{7}), // revision
		nlNest(t, ipsetAttrData,
			nlAttr(18|unix.NLA_F_NET_BYTEORDER, be32(1024)), // hashsize
			nlAttr(ipsetAttrMaxelem|unix.NLA_F_NET_BYTEORDER, be32(100)),
			nlAttr(ipsetAttrTimeout|unix.NLA_F_NET_BYTEORDER, be32(0)),
			nlAttr(ipsetAttrElements|unix.NLA_F_NET_BYTEORDER, be32(4))),
	}
}

// ipsetEntry is one member: IP, then the other attributes.
func ipsetEntry(t testing.TB, ip []byte, attrs ...netlink.Attribute) netlink.Attribute {
	at := uint16(ipsetAttrIPv4)
	if len(ip) == 16 {
		at = ipsetAttrIPv6
	}
	return nlNest(t, ipsetAttrData, append([]netlink.Attribute{
		nlNest(t, ipsetAttrIP, nlAttr(at|unix.NLA_F_NET_BYTEORDER, ip)),
	}, attrs...)...)
}

func cidr(n byte) netlink.Attribute { return nlAttr(ipsetAttrCIDR, []byte{n}) }
func timeout(s uint32) netlink.Attribute {
	return nlAttr(ipsetAttrTimeout|unix.NLA_F_NET_BYTEORDER, be32(s))
}

const ipsetListType = unix.NFNL_SUBSYS_IPSET<<8 | ipsetCmdList

func TestIpsetMsg(t *testing.T) {
	v6 := netip.MustParseAddr("2001:db8::").As16()
	first := ipsetMsg(t, "logjail-sshd-4", append(ipsetHeader(t), nlNest(t, ipsetAttrADT,
		ipsetEntry(t, []byte{192, 0, 2, 1}, cidr(32), timeout(99)),
		ipsetEntry(t, []byte{198, 51, 100, 0}, cidr(24), timeout(0)),
		ipsetEntry(t, []byte{203, 0, 113, 0}, cidr(28), nlAttr(ipsetAttrCadtFlags|unix.NLA_F_NET_BYTEORDER, be32(1<<2)), timeout(5)), // nomatch
		ipsetEntry(t, v6[:], cidr(64), timeout(7), nlAttr(25|unix.NLA_F_NET_BYTEORDER, make([]byte, 8))),                             // packets
	))...)
	next := ipsetMsg(t, "logjail-sshd-4", nlNest(t, ipsetAttrADT,
		ipsetEntry(t, []byte{192, 0, 2, 2}),           // no CIDR: a host
		ipsetEntry(t, []byte{192, 0, 2, 3}, cidr(24)), // not masked
	))
	s := &ipsetSet{name: "logjail-sshd-4"}
	for _, msg := range [][]byte{first, next} {
		if err := s.addMsg("sshd", ipsetListType, msg, now0); err != nil {
			t.Fatal(err)
		}
	}
	if s.typ != "hash:net" || s.family != "inet" || s.maxelem != 100 || !s.timeout {
		t.Errorf("header %+v", s)
	}
	var got []string
	for _, m := range s.members {
		got = append(got, fmt.Sprintf("%s ok=%t", m.ban, m.ok))
	}
	want := []string{
		"sshd 192.0.2.1 until 2026-11-24T12:01:39Z ok=true",
		"sshd 198.51.100.0/24 ok=true",
		"sshd 203.0.113.0/28 until 2026-11-24T12:00:05Z ok=false",
		"sshd 2001:db8::/64 until 2026-11-24T12:00:07Z ok=false",
		"sshd 192.0.2.2 ok=true",
		"sshd 192.0.2.3/24 ok=false",
	}
	if !slices.Equal(got, want) {
		t.Errorf("members\n got %q\nwant %q", got, want)
	}

	// Each of these must be an error, not a panic nor a member.
	bad := map[string][]byte{
		"other set": ipsetMsg(t, "logjail-web-4", ipsetHeader(t)...),
		"no set name": func() []byte {
			b, err := netlink.MarshalAttributes(ipsetHeader(t))
			if err != nil {
				t.Fatal(err)
			}
			return append([]byte{unix.NFPROTO_IPV4, 0, 0, 0}, b...)
		}(),
		"no nfgenmsg": {2, 0},
		"members first": ipsetMsg(t, "logjail-sshd-4", nlNest(t, ipsetAttrADT,
			ipsetEntry(t, []byte{192, 0, 2, 1}))),
		"no address": ipsetMsg(t, "logjail-sshd-4", append(ipsetHeader(t), nlNest(t, ipsetAttrADT,
			nlNest(t, ipsetAttrData, cidr(32))))...),
		"short address": ipsetMsg(t, "logjail-sshd-4", append(ipsetHeader(t), nlNest(t, ipsetAttrADT,
			ipsetEntry(t, []byte{192, 0, 2})))...),
		"long prefix": ipsetMsg(t, "logjail-sshd-4", append(ipsetHeader(t), nlNest(t, ipsetAttrADT,
			ipsetEntry(t, []byte{192, 0, 2, 1}, cidr(33))))...),
		"short timeout": ipsetMsg(t, "logjail-sshd-4", append(ipsetHeader(t), nlNest(t, ipsetAttrADT,
			ipsetEntry(t, []byte{192, 0, 2, 1}, nlAttr(ipsetAttrTimeout, []byte{1, 2}))))...),
		"not a member": ipsetMsg(t, "logjail-sshd-4", append(ipsetHeader(t), nlNest(t, ipsetAttrADT,
			nlAttr(ipsetAttrIP, be32(1))))...),
		"truncated":   first[:len(first)-3],
		"bad length":  append(ipsetMsg(t, "logjail-sshd-4"), 0xff, 0xff, 1, 0),
		"zero length": append(ipsetMsg(t, "logjail-sshd-4"), 0, 0, 0, 0),
	}
	for name, msg := range bad {
		s := &ipsetSet{name: "logjail-sshd-4"}
		if err := s.addMsg("sshd", ipsetListType, msg, now0); err == nil {
			t.Errorf("%s: no error; members %v", name, s.members)
		}
	}
	if err := s.addMsg("sshd", unix.NFNL_SUBSYS_NFTABLES<<8, first, now0); err == nil {
		t.Error("an nftables message taken for ipset's")
	}
	for k := range first {
		s := &ipsetSet{name: "logjail-sshd-4"}
		_ = s.addMsg("sshd", ipsetListType, first[:k], now0) // no panic
	}
}

// FuzzIpsetMsg feeds the parser of ipset's answers anything: it must
// return an error or members with valid prefixes, never panic.
func FuzzIpsetMsg(f *testing.F) {
	f.Add(ipsetMsg(f, "logjail-sshd-4", append(ipsetHeader(f), nlNest(f, ipsetAttrADT,
		ipsetEntry(f, []byte{192, 0, 2, 1}, cidr(32), timeout(99)),
		ipsetEntry(f, make([]byte, 16), cidr(0)),
	))...))
	f.Add(ipsetMsg(f, "logjail-sshd-4"))
	f.Add([]byte{2, 0, 0, 0, 5, 0, 1, 0, 7, 0, 0, 0})
	f.Fuzz(func(t *testing.T, msg []byte) {
		_, _ = ipsetMsgSetname(ipsetListType, msg)
		s := &ipsetSet{name: "logjail-sshd-4"}
		if err := s.addMsg("sshd", ipsetListType, msg, now0); err != nil {
			return
		}
		for _, m := range s.members {
			if !m.ban.Prefix.IsValid() || m.ban.Jail != "sshd" {
				t.Fatalf("member %+v", m)
			}
		}
	})
}
