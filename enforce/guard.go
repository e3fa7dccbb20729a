package enforce

import (
	"fmt"
	"net/netip"
)

// guard is the last safety check before the firewall: it refuses any ban
// that overlaps loopback, an address of the machine's own interfaces, or a
// never-ban range. Overlap goes both ways: a ban inside the range and a
// ban that covers the range (0.0.0.0/0 covers loopback) are both refused.
type guard struct {
	ranges []guardRange
}

type guardRange struct {
	p   netip.Prefix
	why string
}

// ownAddr is an address configured on one of the target's interfaces.
type ownAddr struct {
	addr  netip.Addr
	iface string
}

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

func newGuard(own []ownAddr, never []netip.Prefix) guard {
	var g guard
	for _, p := range loopback {
		g.ranges = append(g.ranges, guardRange{p, "overlaps loopback " + Addr(p)})
	}
	for _, a := range own {
		addr := a.addr.Unmap().WithZone("")
		g.ranges = append(g.ranges, guardRange{netip.PrefixFrom(addr, addr.BitLen()), "covers own address " + addr.String() + " on " + a.iface})
	}
	for _, p := range never {
		if n, ok := normPrefix(p); ok {
			g.ranges = append(g.ranges, guardRange{n, "overlaps never-ban range " + Addr(n)})
		}
	}
	return g
}

// check returns why p must not be banned, or "" when it may be.
func (g guard) check(p netip.Prefix) string {
	for _, r := range g.ranges {
		if r.p.Overlaps(p) {
			return r.why
		}
	}
	return ""
}

// normPrefix masks p, drops a zone and turns a 4in6 prefix
// (::ffff:192.0.2.0/120) into its IPv4 form.
func normPrefix(p netip.Prefix) (netip.Prefix, bool) {
	if !p.IsValid() {
		return netip.Prefix{}, false
	}
	a, bits := p.Addr().WithZone(""), p.Bits()
	if a.Is4In6() {
		if bits < 96 {
			// wider than the mapped range: keep it IPv6
			return netip.PrefixFrom(a, bits).Masked(), true
		}
		a, bits = a.Unmap(), bits-96
	}
	return netip.PrefixFrom(a, bits).Masked(), true
}

// Guard is the check Apply makes before the firewall, for callers that
// must refuse a ban before they record it: the ban command, and the
// policy, which never decides a ban the firewall would refuse.
type Guard struct{ g guard }

// NewGuard reads the addresses of the machine's interfaces (in
// opts.NetNS when set) and returns the guard Apply uses with opts: it
// refuses bans overlapping loopback, those addresses, or opts.Never.
// When the addresses cannot be read it returns the error and a guard of
// loopback and opts.Never alone: a caller may go on with it, since Apply
// reads the addresses again and fails the same way before installing
// anything.
func NewGuard(opts Options) (*Guard, error) {
	own, err := target{netns: opts.NetNS}.ownAddrs()
	g := &Guard{newGuard(own, opts.Never)}
	if err != nil {
		return g, fmt.Errorf("guard: %w", err)
	}
	return g, nil
}

// Check returns why p must not be banned ("overlaps loopback
// 127.0.0.0/8", "covers own address 192.0.2.1 on eth0", "overlaps
// never-ban range 203.0.113.0/24"), or "" when it may be.
func (g *Guard) Check(p netip.Prefix) string {
	n, ok := normPrefix(p)
	if !ok {
		return "invalid address"
	}
	return g.g.check(n)
}
