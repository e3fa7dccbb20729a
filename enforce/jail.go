package enforce

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
)

// MaxJailName is the longest jail name every backend can use: iptables
// chain names hold 28 characters ("logjail-" + 20) and ipset set names 31
// ("logjail-" + 20 + "-4t" for the set rebuilt in place).
const MaxJailName = 20

// CheckJail reports whether every backend can express spec; the error
// wraps ErrInvalidJail. Configuration code can call it to reject a jail
// early.
func CheckJail(spec JailSpec) error {
	_, err := parseJail(spec)
	return err
}

// jail is a JailSpec in canonical form.
type jail struct {
	name  string
	proto string      // "tcp", "udp" or "all"
	ports []portRange // sorted, merged; nil = all ports
}

type portRange struct{ lo, hi uint16 }

func (r portRange) String() string {
	if r.lo == r.hi {
		return strconv.Itoa(int(r.lo))
	}
	return strconv.Itoa(int(r.lo)) + ":" + strconv.Itoa(int(r.hi))
}

func parseJail(spec JailSpec) (jail, error) {
	j := jail{name: spec.Name, proto: strings.ToLower(spec.Protocol)}
	bad := func(format string, args ...any) (jail, error) {
		return jail{}, fmt.Errorf("jail %q: %s: %w", spec.Name, fmt.Sprintf(format, args...), ErrInvalidJail)
	}
	if j.name == "" {
		return bad("empty name")
	}
	if len(j.name) > MaxJailName {
		return bad("name longer than %d characters", MaxJailName)
	}
	for _, c := range j.name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return bad("name may hold only letters, digits, '_', '-' and '.'")
		}
	}
	switch j.proto {
	case "":
		j.proto = "tcp"
	case "tcp", "udp", "all":
	default:
		return bad("protocol %q (want tcp, udp or all)", spec.Protocol)
	}
	ports, err := parsePorts(spec.Ports, j.proto)
	if err != nil {
		return bad("%v", err)
	}
	if ports != nil && j.proto == "all" {
		return bad("protocol all takes no ports")
	}
	j.ports = ports
	return j, nil
}

// parsePorts reads "22,80:90,ssh" (also "80-90") into sorted, merged
// ranges. "" and "all" mean every port (nil).
func parsePorts(s, proto string) ([]portRange, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "all" {
		return nil, nil
	}
	var rs []portRange
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		lo, hi, isRange := strings.Cut(item, ":")
		if !isRange {
			lo, hi, isRange = strings.Cut(item, "-")
			if isRange && (lo == "" || !isDigits(lo)) {
				// a service name with a dash, e.g. "netbios-ssn"
				lo, hi, isRange = item, "", false
			}
		}
		a, err := port(lo, proto)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = port(hi, proto); err != nil {
				return nil, err
			}
		}
		if a > b {
			return nil, fmt.Errorf("port range %q runs backwards", item)
		}
		rs = append(rs, portRange{a, b})
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].lo < rs[j].lo })
	merged := rs[:1]
	for _, r := range rs[1:] {
		last := &merged[len(merged)-1]
		if int(r.lo) <= int(last.hi)+1 {
			last.hi = max(last.hi, r.hi)
			continue
		}
		merged = append(merged, r)
	}
	if len(merged) == 1 && merged[0] == (portRange{0, 65535}) {
		return nil, nil
	}
	return merged, nil
}

func port(s, proto string) (uint16, error) {
	if s == "" {
		return 0, fmt.Errorf("empty port")
	}
	if isDigits(s) {
		n, err := strconv.Atoi(s)
		if err != nil || n > 65535 {
			return 0, fmt.Errorf("port %q out of range", s)
		}
		return uint16(n), nil
	}
	if proto == "all" {
		proto = "tcp"
	}
	n, err := net.LookupPort(proto, s)
	if err != nil {
		return 0, fmt.Errorf("unknown port %q", s)
	}
	return uint16(n), nil
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// portGroups splits the ranges into groups that fit one multiport match,
// which takes at most 15 ports with a range counting twice. No ports
// gives one empty group.
func portGroups(rs []portRange) [][]portRange {
	if len(rs) == 0 {
		return [][]portRange{nil}
	}
	var groups [][]portRange
	var cur []portRange
	n := 0
	for _, r := range rs {
		w := 1
		if r.lo != r.hi {
			w = 2
		}
		if n+w > 15 {
			groups = append(groups, cur)
			cur, n = nil, 0
		}
		cur = append(cur, r)
		n += w
	}
	return append(groups, cur)
}

func portList(rs []portRange) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.String()
	}
	return strings.Join(s, ",")
}
