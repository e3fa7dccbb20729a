package analyze

import (
	"net/netip"
	"unsafe"
)

// ParseAddr parses an IPv4 or IPv6 address written in b, with no port and
// no zone. An IPv4-mapped IPv6 address (::ffff:192.0.2.1) gives the IPv4
// address: that is how the firewall sees the client.
func ParseAddr(b []byte) (netip.Addr, bool) {
	if a, ok := parseIPv4(b); ok {
		return a, true
	}
	if len(b) < 2 || len(b) > 45 {
		return netip.Addr{}, false
	}
	colon := false
	for _, c := range b {
		switch {
		case c == ':':
			colon = true
		case c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F':
		default:
			return netip.Addr{}, false // also rejects zones
		}
	}
	if !colon {
		return netip.Addr{}, false
	}
	// string(b) would be copied to the heap, since netip keeps its input in
	// the error it returns: one allocation for every IPv6 failure. The
	// error is dropped here and the address holds no part of the string
	// (zones were rejected above), so b's bytes may serve as the string.
	a, err := netip.ParseAddr(unsafe.String(&b[0], len(b)))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// ParseHostPort parses an address that may stand in brackets and may carry a
// port: 192.0.2.1, 192.0.2.1:22, [2001:db8::1], [2001:db8::1]:22. A bare
// IPv6 address is never split at a colon.
func ParseHostPort(b []byte) (netip.Addr, bool) {
	if len(b) > 2 && b[0] == '[' {
		for i := 1; i < len(b); i++ {
			if b[i] == ']' {
				rest := b[i+1:]
				if len(rest) > 0 && !isPort(rest) {
					return netip.Addr{}, false
				}
				return ParseAddr(b[1:i])
			}
		}
		return netip.Addr{}, false
	}
	if a, ok := ParseAddr(b); ok {
		return a, true
	}
	// a.b.c.d:port
	for i := len(b) - 1; i > 0; i-- {
		if b[i] == ':' {
			if !isPort(b[i:]) {
				return netip.Addr{}, false
			}
			a, ok := parseIPv4(b[:i])
			return a, ok
		}
		if b[i] < '0' || b[i] > '9' {
			return netip.Addr{}, false
		}
	}
	return netip.Addr{}, false
}

// isPort reports whether b is ":" followed by 1 to 5 digits.
func isPort(b []byte) bool {
	if len(b) < 2 || len(b) > 6 || b[0] != ':' {
		return false
	}
	for _, c := range b[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parseIPv4 parses dotted-decimal IPv4 without leading zeros.
func parseIPv4(b []byte) (netip.Addr, bool) {
	if len(b) < 7 || len(b) > 15 {
		return netip.Addr{}, false
	}
	var ip [4]byte
	field, digits, v := 0, 0, 0
	for _, c := range b {
		if c == '.' {
			if digits == 0 || field == 3 {
				return netip.Addr{}, false
			}
			ip[field] = byte(v)
			field, digits, v = field+1, 0, 0
			continue
		}
		if c < '0' || c > '9' || (digits == 1 && v == 0) {
			return netip.Addr{}, false
		}
		v = v*10 + int(c-'0')
		digits++
		if v > 255 {
			return netip.Addr{}, false
		}
	}
	if field != 3 || digits == 0 {
		return netip.Addr{}, false
	}
	ip[3] = byte(v)
	return netip.AddrFrom4(ip), true
}

// IsHostname reports whether b looks like a DNS name a log could give
// instead of an address: labels of letters, digits, '-' and '_' joined by
// dots (a final dot allowed), at most 253 bytes, no label starting or ending
// with '-', and a letter somewhere, so that a mangled address is no name.
// A lone "-", which many logs write for "no host", is no name either.
func IsHostname(b []byte) bool {
	if len(b) == 0 || len(b) > 253 {
		return false
	}
	letter, label := false, 0
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			letter = true
			label++
		case c >= '0' && c <= '9' || c == '_':
			label++
		case c == '-':
			if label == 0 || i+1 == len(b) || b[i+1] == '.' {
				return false
			}
			label++
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
		default:
			return false
		}
		if label > 63 {
			return false
		}
	}
	return letter
}

// hostOf interprets b as the client's address or, failing that, its host
// name. It returns false when b is neither.
func hostOf(b []byte) (netip.Addr, string, bool) {
	if a, ok := ParseHostPort(b); ok {
		// No connection comes from these: the line is garbage.
		if a.IsUnspecified() || a.IsMulticast() {
			return netip.Addr{}, "", false
		}
		return a, "", true
	}
	if IsHostname(b) {
		return netip.Addr{}, string(b), true
	}
	return netip.Addr{}, "", false
}
