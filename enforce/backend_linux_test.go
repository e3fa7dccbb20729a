//go:build linux

package enforce

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"logjail/internal/testenv"
)

// The shared suite: every backend, the none backend included where it
// applies, must pass the same tests against a real kernel, each in a
// network namespace of its own.

func TestBackendIptables(t *testing.T) { testBackend(t, "iptables") }
func TestBackendIpset(t *testing.T)    { testBackend(t, "ipset") }
func TestBackendNftables(t *testing.T) { testBackend(t, "nftables") }
func TestBackendNone(t *testing.T)     { testBackend(t, "none") }

var now0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

var suiteJails = []JailSpec{
	{Name: "sshd", Protocol: "tcp", Ports: "22"},
	{Name: "web", Protocol: "tcp", Ports: "80,443,8000:8100"},
	{Name: "dns", Protocol: "udp", Ports: "53"},
	{Name: "any", Protocol: "all"},
}

func ban(jail, prefix string, d time.Duration) Ban {
	p, err := netip.ParsePrefix(prefix)
	if err != nil {
		a := netip.MustParseAddr(prefix)
		p = netip.PrefixFrom(a, a.BitLen())
	}
	b := Ban{Jail: jail, Prefix: p}
	if d != 0 {
		b.Until = now0.Add(d)
	}
	return b
}

func suiteBans() []Ban {
	return []Ban{
		ban("sshd", "203.0.113.7", 10*time.Minute),
		ban("sshd", "203.0.113.64/26", time.Hour),
		ban("sshd", "2001:db8:bad::7", time.Hour),
		ban("sshd", "2001:db8:bad:1::/64", 0),
		ban("web", "203.0.113.8", 0),
		ban("web", "203.0.113.7", 2*time.Hour),
		ban("dns", "2001:db8:bad::9", 5*time.Minute),
		ban("any", "198.51.100.77", 0),
	}
}

// fixture is one backend in one fresh namespace, which has a veth
// interface with 192.0.2.1/24 and 2001:db8::1/64 for the guard to find.
type fixture struct {
	t      *testing.T
	kind   string
	ns     string
	b      Backend
	kernel bool // the backend changes the kernel (not "none")
	start  time.Time
}

func newFixture(t *testing.T, kind string, opts Options) *fixture {
	t.Helper()
	testenv.Netns(t, kindTools[kind]...)
	ns := newNS(t)
	nsSh(t, ns, `ip link add lj0 type veth peer name lj1
ip link set lj0 up
ip link set lj1 up
ip addr add 192.0.2.1/24 dev lj0
ip addr add 2001:db8::1/64 dev lj0 nodad`)
	opts.NetNS = ns
	b, err := New(kind, opts)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, kind: kind, ns: ns, b: b, kernel: kind != "none", start: time.Now()}
}

// apply applies desired, and checks Plan on the way (every Apply of the
// suite does): a Plan before it changes nothing in the kernel and lists
// exactly what the Apply then does, and a Plan after it lists nothing.
func (f *fixture) apply(jails []JailSpec, desired []Ban) Diff {
	f.t.Helper()
	ctx := context.Background()
	before := f.dump()
	plan, err := f.b.Plan(ctx, jails, desired, now0)
	if err != nil {
		f.t.Fatalf("Plan: %v", err)
	}
	if after := f.dump(); after != before {
		f.t.Fatalf("Plan changed the firewall:\n%s", diffLines(before, after))
	}
	d, err := f.b.Apply(ctx, jails, desired, now0)
	if err != nil {
		f.t.Fatalf("Apply: %v", err)
	}
	if got, want := diffText(plan), diffText(d); got != want {
		f.t.Errorf("Plan listed\n%s\nApply did\n%s", got, want)
	}
	if f.kernel {
		again, err := f.b.Plan(ctx, jails, desired, now0)
		if err != nil {
			f.t.Fatalf("Plan after Apply: %v", err)
		}
		if !again.Empty() {
			f.t.Errorf("Plan after Apply lists changes:\n%s", diffText(again))
		}
	}
	return d
}

// diffText prints a Diff one change a line, for comparing a Plan with an
// Apply; ends are left out (the kernel's count down in between).
func diffText(d Diff) string {
	var b strings.Builder
	for _, x := range []struct {
		what string
		bans []Ban
	}{{"add", d.Added}, {"remove", d.Removed}, {"update", d.Updated}} {
		for _, ban := range x.bans {
			fmt.Fprintf(&b, "%s %s %s\n", x.what, ban.Jail, Addr(ban.Prefix))
		}
	}
	for _, r := range d.Refused {
		fmt.Fprintf(&b, "refuse %s %s: %s\n", r.Ban.Jail, Addr(r.Ban.Prefix), r.Reason)
	}
	for _, s := range d.Setup {
		fmt.Fprintf(&b, "setup %s\n", s)
	}
	return b.String()
}

func (f *fixture) actual() []Ban {
	f.t.Helper()
	bans, err := f.b.Actual(context.Background(), now0)
	if err != nil {
		f.t.Fatalf("Actual: %v", err)
	}
	return bans
}

func (f *fixture) sh(script string) string {
	f.t.Helper()
	return nsSh(f.t, f.ns, script)
}

func (f *fixture) dump() string {
	f.t.Helper()
	return dumpFirewall(f.t, f.ns)
}

// hasTimeouts tells whether the backend keeps the bans' ends in the kernel.
func (f *fixture) hasTimeouts() bool { return f.kind == "ipset" || f.kind == "nftables" }

// checkBans compares bans with want: same jails and prefixes, and where
// the backend keeps them the same ends, less what the kernel has counted
// down since the fixture was made (seconds on a loaded machine).
func (f *fixture) checkBans(what string, got, want []Ban, withUntil bool) {
	f.t.Helper()
	want = append([]Ban(nil), want...)
	sortBans(want)
	show := func(bs []Ban) string {
		var s []string
		for _, b := range bs {
			s = append(s, b.String())
		}
		return strings.Join(s, "\n  ")
	}
	bad := len(got) != len(want)
	for i := 0; !bad && i < len(got); i++ {
		g, w := got[i], want[i]
		if g.Jail != w.Jail || g.Prefix != w.Prefix {
			bad = true
		}
		if withUntil {
			if early := w.Until.Sub(g.Until); g.Until.IsZero() != w.Until.IsZero() || early < -time.Second || early > time.Since(f.start)+time.Second {
				bad = true
			}
		}
	}
	if bad {
		f.t.Errorf("%s:\n got\n  %s\n want\n  %s", what, show(got), show(want))
	}
}

// checkActual checks the kernel holds exactly want.
func (f *fixture) checkActual(want []Ban) {
	f.t.Helper()
	if !f.kernel {
		want = nil
	}
	f.checkBans("Actual", f.actual(), want, f.hasTimeouts())
}

func without(bans []Ban, drop ...int) []Ban {
	var out []Ban
	for i, b := range bans {
		keep := true
		for _, d := range drop {
			keep = keep && i != d
		}
		if keep {
			out = append(out, b)
		}
	}
	return out
}

// The meddling of an administrator, per kind.
var (
	externalFlush = map[string]string{
		"iptables": "iptables -F logjail-sshd; ip6tables -F logjail-sshd",
		"ipset":    "ipset flush logjail-sshd-4; ipset flush logjail-sshd-6",
		"nftables": nftEachShard("nft flush set inet logjail logjail-sshd-4.ip${k}a; nft flush set inet logjail logjail-sshd-6.ip${k}a; " +
			"nft flush set inet logjail logjail-sshd-4.net${k}a; nft flush set inet logjail logjail-sshd-6.net${k}a"),
	}
	externalExtra = map[string]string{
		"iptables": `iptables -A logjail-sshd -s 198.51.100.99 -m comment --comment logjail -j DROP
iptables -A logjail-sshd -s 203.0.113.7 -j ACCEPT
iptables -A logjail-sshd -j RETURN
ip6tables -A logjail-sshd -s 2001:db8:bad::99 -j DROP`,
		"ipset": `ipset add logjail-sshd-4 198.51.100.99
ipset add logjail-sshd-4 198.51.100.0/28 nomatch
ipset add logjail-sshd-6 2001:db8:bad::99 timeout 100`,
		// 198.51.100.99 in its own shard, the range anywhere, the IPv6
		// address in a shard that is not its own.
		"nftables": fmt.Sprintf(`nft add element inet logjail logjail-sshd-4.ip%da '{ 198.51.100.99 }'
nft add element inet logjail logjail-sshd-4.net0a '{ 198.51.100.16-198.51.100.21 }'
nft add element inet logjail logjail-sshd-6.ip%da '{ 2001:db8:bad::99 timeout 100s }'`,
			shardOf(netip.MustParsePrefix("198.51.100.99/32")), (shardOf(netip.MustParsePrefix("2001:db8:bad::99/128"))+1)%nftShards),
	}
	extraPrefixes = []string{"198.51.100.99/32", "2001:db8:bad::99/128"}
	// reboot leaves the kernel as after a restart: nothing at all.
	reboot = "iptables -F; iptables -X; ip6tables -F; ip6tables -X; ipset destroy; nft flush ruleset"
	// portMarks are what a rule for sshd on port 22, and one on
	// 2222,3000:3010, look like in the dump.
	portMarks = map[string][2]string{
		"iptables": {"--dports 22 ", "--dports 2222,3000:3010 "},
		"ipset":    {"--dports 22 ", "--dports 2222,3000:3010 "},
		"nftables": {"dport 22 ", "dport 3000-3010 "},
	}
	// foreign is what an administrator made by hand, which logjail must
	// never touch.
	foreign = `iptables -N f2b-sshd
iptables -A f2b-sshd -s 198.51.100.7 -j DROP
iptables -A INPUT -s 198.51.100.8 -j DROP
iptables -A INPUT -p tcp --dport 22 -m comment --comment other -j ACCEPT
ip6tables -N foreign6
ip6tables -A INPUT -s 2001:db8:ffff::1 -j DROP
ipset create foreign hash:ip
ipset add foreign 198.51.100.9
nft add table inet foreign
nft add chain inet foreign input '{ type filter hook input priority 0; }'
nft add set inet foreign s '{ type ipv4_addr; }'
nft add element inet foreign s '{ 198.51.100.10 }'`
)

func testBackend(t *testing.T, kind string) {
	ctx := context.Background()

	t.Run("AddRemove", func(t *testing.T) {
		f := newFixture(t, kind, Options{})
		want := suiteBans()
		d := f.apply(suiteJails, want)
		f.checkBans("Added", d.Added, want, true)
		if len(d.Removed)+len(d.Updated)+len(d.Refused) != 0 {
			t.Errorf("first Apply removed %v, updated %v, refused %v", d.Removed, d.Updated, d.Refused)
		}
		if f.kernel && len(d.Setup) == 0 {
			t.Error("first Apply reports no setup")
		}
		f.checkActual(want)

		// Unban an IPv4 address, an IPv6 network and a whole jail's bans.
		rest := without(want, 0, 3, 6)
		d = f.apply(suiteJails, rest)
		if f.kernel {
			f.checkBans("Removed", d.Removed, []Ban{want[0], want[3], want[6]}, f.hasTimeouts())
			if len(d.Added)+len(d.Updated)+len(d.Setup) != 0 {
				t.Errorf("unbanning added %v, updated %v, set up %v", d.Added, d.Updated, d.Setup)
			}
		}
		f.checkActual(rest)

		// Nothing desired: empty chains or sets remain, no member.
		f.apply(suiteJails, nil)
		f.checkActual(nil)
	})

	t.Run("Idempotent", func(t *testing.T) {
		f := newFixture(t, kind, Options{})
		if !f.kernel {
			t.Skip("none keeps nothing to compare")
		}
		want := suiteBans()
		f.apply(suiteJails, want)
		before := f.dump()
		d := f.apply(suiteJails, want)
		if !d.Empty() {
			t.Errorf("second Apply changed something: %+v", d)
		}
		if after := f.dump(); after != before {
			t.Errorf("second Apply changed the firewall:\n%s", diffLines(before, after))
		}
	})

	t.Run("ExternalFlush", func(t *testing.T) {
		f := newFixture(t, kind, Options{})
		if !f.kernel {
			t.Skip("nothing to flush")
		}
		want := suiteBans()
		f.apply(suiteJails, want)
		f.sh(externalFlush[kind])
		d := f.apply(suiteJails, want)
		f.checkBans("Added after flush", d.Added, want[:4], true)
		f.checkActual(want)
	})

	t.Run("ExtraMembers", func(t *testing.T) {
		f := newFixture(t, kind, Options{})
		if !f.kernel {
			t.Skip("nothing to add to")
		}
		want := suiteBans()
		f.apply(suiteJails, want)
		before := f.dump()
		f.sh(externalExtra[kind])
		d := f.apply(suiteJails, want)
		removed := map[string]bool{}
		for _, b := range d.Removed {
			removed[b.Prefix.String()] = true
		}
		for _, p := range extraPrefixes {
			if !removed[p] {
				t.Errorf("%s added by hand was not removed: removed %v", p, d.Removed)
			}
		}
		f.checkActual(want)
		if after := f.dump(); after != before {
			t.Errorf("firewall not back to what it was:\n%s", diffLines(before, after))
		}
	})

	t.Run("Reboot", func(t *testing.T) {
		f := newFixture(t, kind, Options{})
		if !f.kernel {
			t.Skip("nothing to lose")
		}
		want := suiteBans()
		f.apply(suiteJails, want)
		before := f.dump()
		f.sh(reboot)
		f.checkActual(nil)
		d := f.apply(suiteJails, want)
		f.checkBans("Added after reboot", d.Added, want, true)
		if len(d.Setup) == 0 {
			t.Error("no setup after reboot")
		}
		f.checkActual(want)
		// Line order may differ: ipset seeds its hashes anew.
		if diff := diffLines(before, f.dump()); diff != "" {
			t.Errorf("firewall after reboot differs:\n%s", diff)
		}
	})

	t.Run("JailChanges", func(t *testing.T) {
		f := newFixture(t, kind, Options{})
		if !f.kernel {
			t.Skip("no rules")
		}
		want := suiteBans()
		f.apply(suiteJails, want)
		marks := portMarks[kind]
		if dump := f.dump(); !strings.Contains(dump, marks[0]) || !strings.Contains(dump, "logjail-dns") {
			t.Fatalf("sshd port 22 rule (%q) or dns jail missing:\n%s", marks[0], dump)
		}
		// sshd moves to other ports; dns is no longer configured.
		jails := []JailSpec{{Name: "sshd", Protocol: "tcp", Ports: "2222,3000:3010"}, suiteJails[1], suiteJails[3]}
		rest := without(want, 6)
		d := f.apply(jails, rest)
		if len(d.Setup) == 0 {
			t.Error("no setup for changed ports")
		}
		f.checkBans("Removed with its jail", d.Removed, want[6:7], f.hasTimeouts())
		dump := f.dump()
		if strings.Contains(dump, marks[0]) || !strings.Contains(dump, marks[1]) {
			t.Errorf("want %q and no %q in\n%s", marks[1], marks[0], dump)
		}
		if strings.Contains(dump, "logjail-dns") {
			t.Errorf("jail dns left behind:\n%s", dump)
		}
		f.checkActual(rest)
		if d := f.apply(jails, rest); !d.Empty() {
			t.Errorf("Apply after the change is no no-op: %+v", d)
		}
	})

	t.Run("Timeouts", func(t *testing.T) {
		f := newFixture(t, kind, Options{})
		if !f.hasTimeouts() {
			t.Skip("no kernel timeouts")
		}
		want := suiteBans()
		f.apply(suiteJails, want)
		longer := append([]Ban(nil), want...)
		longer[0].Until = longer[0].Until.Add(time.Hour) // a ban prolonged
		longer[4].Until = now0.Add(30 * time.Minute)     // permanent → timed
		longer[3].Until = time.Time{}                    // already permanent
		longer[1].Until = now0.Add(1000 * time.Hour)     // beyond ipset's longest timeout
		d := f.apply(suiteJails, longer)
		f.checkBans("Updated", d.Updated, []Ban{longer[0], longer[1], longer[4]}, false)
		if len(d.Added)+len(d.Removed) != 0 {
			t.Errorf("prolonging added %v, removed %v", d.Added, d.Removed)
		}
		got := f.actual()
		capped := append([]Ban(nil), longer...)
		capped[1].Until = now0.Add(maxTimeout)
		f.checkBans("Actual", got, capped, true)
		if d := f.apply(suiteJails, longer); !d.Empty() {
			t.Errorf("Apply after prolonging is no no-op: %+v", d)
		}
	})

	t.Run("Fold", func(t *testing.T) {
		f := newFixture(t, kind, Options{})
		wide := ban("sshd", "203.0.113.0/24", time.Hour)
		d := f.apply(suiteJails, []Ban{
			ban("sshd", "203.0.113.5", time.Hour), wide, ban("sshd", "203.0.113.128/25", 0),
			ban("web", "203.0.113.5", time.Hour),
			ban("sshd", "::ffff:198.51.100.3", 0), ban("sshd", "198.51.100.3", time.Minute),
			ban("sshd", "2001:db8:bad::/48", 0), ban("sshd", "2001:db8:bad:ffff::/64", 0),
			ban("sshd", "203.0.113.99", -time.Minute), // already over
		})
		want := []Ban{wide, ban("web", "203.0.113.5", time.Hour), ban("sshd", "198.51.100.3", 0), ban("sshd", "2001:db8:bad::/48", 0)}
		f.checkBans("Added", d.Added, want, true)
		f.checkActual(want)
	})

	t.Run("Guard", func(t *testing.T) {
		f := newFixture(t, kind, Options{Never: []netip.Prefix{netip.MustParsePrefix("198.51.100.128/25"), netip.MustParsePrefix("2001:db8:beef::/48")}})
		ok := ban("sshd", "203.0.113.7", time.Hour)
		refused := []Ban{
			ban("sshd", "127.0.0.1", time.Hour),
			ban("sshd", "::1", time.Hour),
			ban("sshd", "0.0.0.0/0", time.Hour),
			ban("sshd", "::/0", 0),
			ban("sshd", "192.0.2.1", time.Hour),     // own address
			ban("sshd", "192.0.2.0/24", time.Hour),  // covers it
			ban("sshd", "2001:db8::/64", time.Hour), // covers own IPv6
			ban("web", "198.51.100.200", 0),         // never
			ban("web", "198.51.100.0/24", 0),        // covers never
			ban("web", "2001:db8:beef::7", 0),       // never
			ban("nosuchjail", "203.0.113.9", 0),
			{Jail: "sshd"}, // no address
		}
		d := f.apply(suiteJails, append([]Ban{ok}, refused...))
		f.checkBans("Added", d.Added, []Ban{ok}, true)
		if len(d.Refused) != len(refused) {
			t.Errorf("refused %d of %d:\n%v", len(d.Refused), len(refused), d.Refused)
		}
		for _, r := range d.Refused {
			if r.Reason == "" {
				t.Errorf("refusal without reason: %v", r)
			}
		}
		f.checkActual([]Ban{ok})
	})

	t.Run("SetFull", func(t *testing.T) {
		f := newFixture(t, kind, Options{MaxElem: 3})
		f.apply(suiteJails, suiteBans())
		var before string
		if f.kernel {
			before = f.dump()
		}
		var many []Ban
		for i := range 4 {
			many = append(many, ban("web", fmt.Sprintf("203.0.113.%d", 10+i), 0))
		}
		_, err := f.b.Apply(ctx, suiteJails, many, now0)
		if !errors.Is(err, ErrSetFull) {
			t.Fatalf("4 bans with maxelem 3: got %v, want ErrSetFull", err)
		}
		if !strings.HasPrefix(err.Error(), kind+": ") || !strings.Contains(err.Error(), "web") || strings.Contains(err.Error(), "\n") {
			t.Errorf("error %q should be one line naming the backend and jail", err)
		}
		if f.kernel {
			if after := f.dump(); after != before {
				t.Errorf("a failed Apply changed the firewall:\n%s", diffLines(before, after))
			}
		}
	})

	t.Run("InvalidJail", func(t *testing.T) {
		f := newFixture(t, kind, Options{})
		for _, j := range []JailSpec{
			{Name: "a-jail-name-too-long-for-ipset"},
			{Name: "bad name"},
			{Name: "x", Protocol: "icmp"},
			{Name: "x", Ports: "22,99999"},
			{Name: "x", Protocol: "all", Ports: "22"},
		} {
			if _, err := f.b.Apply(ctx, []JailSpec{j}, nil, now0); !errors.Is(err, ErrInvalidJail) {
				t.Errorf("%+v: got %v, want ErrInvalidJail", j, err)
			}
		}
	})

	t.Run("Flush", func(t *testing.T) {
		f := newFixture(t, kind, Options{})
		if f.kernel {
			f.sh(foreign)
		}
		before := ""
		if f.kernel {
			before = f.dump()
		}
		f.apply(suiteJails, suiteBans())
		if err := f.b.Flush(ctx); err != nil {
			t.Fatalf("Flush: %v", err)
		}
		f.checkActual(nil)
		if f.kernel {
			after := f.dump()
			if after != before {
				t.Errorf("Flush left the firewall different from before logjail:\n%s", diffLines(before, after))
			}
			if strings.Contains(after, "logjail") {
				t.Errorf("logjail left behind:\n%s", after)
			}
		}
		if err := f.b.Flush(ctx); err != nil {
			t.Errorf("second Flush: %v", err)
		}
	})

	if kind == "nftables" {
		t.Run("Remake", func(t *testing.T) {
			f := newFixture(t, kind, Options{})
			// 203.0.113.7's set, made by hand without timeouts, and a
			// rule that uses it
			set := shardName("sshd", v4, placeOf(netip.MustParsePrefix("203.0.113.7/32")), 'a')
			f.sh(fmt.Sprintf(`nft add table inet logjail
nft add chain inet logjail logjail-sshd
nft add set inet logjail %[1]s '{ type ipv4_addr; }'
nft add rule inet logjail logjail-sshd ip saddr @%[1]s drop comment '"%[1]s drop"'
nft add element inet logjail %[1]s '{ 203.0.113.7, 198.51.100.99 }'`, set))
			want := suiteBans()
			d := f.apply(suiteJails, want)
			f.checkBans("Added", d.Added, without(want, 0), true)
			f.checkBans("Removed", d.Removed, []Ban{ban("sshd", "198.51.100.99", 0)}, true)
			for _, step := range []string{"delete set inet logjail " + set, "create set inet logjail " + set} {
				if !slices.Contains(d.Setup, step) {
					t.Errorf("set in the wrong shape: no %q in %q", step, d.Setup)
				}
			}
			f.checkActual(want)
			if d := f.apply(suiteJails, want); !d.Empty() {
				t.Errorf("Apply after the remake is no no-op: %+v", d)
			}
		})
	}

	if kind == "ipset" {
		t.Run("Conflict", func(t *testing.T) {
			f := newFixture(t, kind, Options{})
			// a set of another type, and one whose members are no
			// addresses alone
			f.sh(`ipset create logjail-sshd-4 hash:ip
ipset create logjail-sshd-6 hash:net,port family inet6
ipset add logjail-sshd-6 2001:db8:bad::/64,tcp:22`)
			before := f.dump()
			_, err := f.b.Apply(ctx, suiteJails, suiteBans(), now0)
			if !errors.Is(err, ErrConflict) {
				t.Fatalf("got %v, want ErrConflict", err)
			}
			if after := f.dump(); after != before {
				t.Errorf("a refused Apply changed the firewall:\n%s", diffLines(before, after))
			}
		})
		t.Run("Rebuild", func(t *testing.T) {
			f := newFixture(t, kind, Options{})
			want := suiteBans()
			f.apply(suiteJails, want)
			f2, err := New(kind, Options{NetNS: f.ns, MaxElem: 1000})
			if err != nil {
				t.Fatal(err)
			}
			d, err := f2.Apply(ctx, suiteJails, want, now0)
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Setup) == 0 || len(d.Added)+len(d.Removed) != 0 {
				t.Errorf("rebuild with a new maxelem: %+v", d)
			}
			if !strings.Contains(f.dump(), "maxelem 1000 ") {
				t.Error("sets not rebuilt with maxelem 1000")
			}
			f.checkActual(want)
		})
	}
}
