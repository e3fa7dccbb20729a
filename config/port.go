package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// PortRange is an inclusive range of ports; a single port has Lo == Hi.
type PortRange struct {
	Lo, Hi uint16
}

// String writes the range as iptables does: "22" or "1000:2000".
func (r PortRange) String() string {
	if r.Lo == r.Hi {
		return strconv.Itoa(int(r.Lo))
	}
	return fmt.Sprintf("%d:%d", r.Lo, r.Hi)
}

// AllPorts is the port word that bans an address on every port.
const AllPorts = "all"

// MaxMultiport is how many ports one iptables multiport match takes; a
// range counts as two.
const MaxMultiport = 15

// services maps the service names a port list may use to their ports. The
// list is fixed (no /etc/services) so a configuration means the same on
// every machine.
var services = map[string]uint16{
	"ftp-data":    20,
	"ftp":         21,
	"ssh":         22,
	"telnet":      23,
	"smtp":        25,
	"domain":      53,
	"dns":         53,
	"http":        80,
	"pop3":        110,
	"sunrpc":      111,
	"imap":        143,
	"imap2":       143,
	"ldap":        389,
	"https":       443,
	"smtps":       465,
	"submissions": 465,
	"submission":  587,
	"ldaps":       636,
	"rsync":       873,
	"ftps-data":   989,
	"ftps":        990,
	"imaps":       993,
	"pop3s":       995,
	"openvpn":     1194,
	"mysql":       3306,
	"rdp":         3389,
	"sieve":       4190,
	"postgresql":  5432,
	"http-alt":    8080,
}

// ServicePort returns the port of a service name a port list may use.
func ServicePort(name string) (uint16, bool) {
	p, ok := services[strings.ToLower(name)]
	return p, ok
}

// parsePortWord parses one element of a port list: a service name, a port
// number, a range lo:hi, or "all" (all = true).
func parsePortWord(w string) (r PortRange, all bool, err error) {
	w = strings.TrimSpace(w)
	if strings.EqualFold(w, AllPorts) {
		return PortRange{}, true, nil
	}
	if lo, hi, ok := strings.Cut(w, ":"); ok {
		l, err := parsePortNumber(lo)
		if err != nil {
			return r, false, fmt.Errorf("bad port range %q: %w", w, err)
		}
		h, err := parsePortNumber(hi)
		if err != nil {
			return r, false, fmt.Errorf("bad port range %q: %w", w, err)
		}
		if l > h {
			return r, false, fmt.Errorf("bad port range %q: %d is above %d", w, l, h)
		}
		return PortRange{l, h}, false, nil
	}
	if p, ok := ServicePort(w); ok {
		return PortRange{p, p}, false, nil
	}
	if w != "" && (w[0] >= 'a' && w[0] <= 'z' || w[0] >= 'A' && w[0] <= 'Z') {
		return r, false, fmt.Errorf("unknown service name %q (write a port number, or one of: %s)", w, serviceNames())
	}
	p, err := parsePortNumber(w)
	if err != nil {
		return r, false, err
	}
	return PortRange{p, p}, false, nil
}

func parsePortNumber(s string) (uint16, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %q is not a number from 1 to 65535", s)
	}
	return uint16(n), nil
}

func serviceNames() string {
	names := make([]string, 0, len(services))
	for n := range services {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// ParsePorts parses a port list written as in the configuration's port:
// words separated by commas ("ssh,ftp,1000:2000" or "all"). The result is
// normalised as the configuration's: sorted, overlapping and adjacent
// ranges merged, and nil for all ports.
func ParsePorts(s string) ([]PortRange, error) {
	var rs []PortRange
	all := false
	for _, w := range strings.Split(s, ",") {
		r, a, err := parsePortWord(w)
		if err != nil {
			return nil, err
		}
		if a {
			all = true
			continue
		}
		rs = append(rs, r)
	}
	if all {
		if len(rs) > 0 {
			return nil, fmt.Errorf("port list %q: %q cannot be combined with other ports", s, AllPorts)
		}
		return nil, nil
	}
	return normalisePorts(rs), nil
}

// normalisePorts sorts rs and merges ranges that overlap or touch.
func normalisePorts(rs []PortRange) []PortRange {
	if len(rs) == 0 {
		return nil
	}
	rs = append([]PortRange(nil), rs...)
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].Lo != rs[j].Lo {
			return rs[i].Lo < rs[j].Lo
		}
		return rs[i].Hi < rs[j].Hi
	})
	out := rs[:1]
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		if uint32(r.Lo) <= uint32(last.Hi)+1 {
			if r.Hi > last.Hi {
				last.Hi = r.Hi
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

// multiportCount is how many of iptables' multiport slots rs takes.
func multiportCount(rs []PortRange) int {
	n := 0
	for _, r := range rs {
		if r.Lo == r.Hi {
			n++
		} else {
			n += 2
		}
	}
	return n
}

// formatPorts writes rs in iptables multiport syntax, "" for all ports.
func formatPorts(rs []PortRange) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.String()
	}
	return strings.Join(parts, ",")
}
