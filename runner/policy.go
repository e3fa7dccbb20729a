package runner

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"logjail/analyze"
	"logjail/config"
)

// Policy turns a jail's settings into the engine's policy.
func Policy(j *config.Jail, history time.Duration) *analyze.Policy {
	p := &analyze.Policy{
		MaxRetry:  j.MaxRetry,
		FindTime:  j.FindTime,
		BanTime:   j.BanTime,
		Permanent: j.Permanent,
		History:   history,
		Ignore:    j.IgnoreIP,
		Prefix6:   j.BanPrefix6,
		Net6:      j.CountPrefix6,
	}
	if p.Net6 > 0 && p.Net6 < 128 {
		p.Never = ownAddrs()
	}
	if j.Increment.Enabled {
		p.Factor, p.MaxTime = j.Increment.Factor, j.Increment.MaxTime
	}
	return p
}

// ownAddrs lists the machine's own IPv6 addresses, read once: a network
// ban never covers them (count_prefix6). Without them (an error reading
// the interfaces) the firewall's guard still refuses such a ban.
var ownAddrs = sync.OnceValue(func() []netip.Prefix {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Prefix
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap().Is6() {
			ip = ip.Unmap().WithZone("")
			out = append(out, netip.PrefixFrom(ip, 128))
		}
	}
	return out
})
