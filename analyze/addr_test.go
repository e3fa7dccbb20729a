package analyze

import (
	"net/netip"
	"strings"
	"testing"
)

// addrString is a parse result in comparable form: the address, or "" when
// the input was rejected.
func addrString(a netip.Addr, ok bool) string {
	if !ok {
		return ""
	}
	return a.String()
}

var parseAddrTests = []struct{ in, want string }{
	{"192.0.2.1", "192.0.2.1"},
	{"0.0.0.0", "0.0.0.0"},
	{"255.255.255.255", "255.255.255.255"},
	{"10.0.0.10", "10.0.0.10"},
	{"01.2.3.4", ""},
	{"1.2.3.04", ""},
	{"1.2.3.00", ""},
	{"1.02.3.4", ""},
	{"256.1.1.1", ""},
	{"1.2.3.256", ""},
	{"1.2.3.1000", ""},
	{"1.2.3", ""},
	{"1.2.3.4.5", ""},
	{"1..3.4", ""},
	{".1.2.3", ""},
	{"1.2.3.", ""},
	{"1.2.3.4 ", ""},
	{" 1.2.3.4", ""},
	{"+1.2.3.4", ""},
	{"1.2.3.-4", ""},
	{"1.2.3.4:22", ""},
	{"", ""},
	{"2001:db8::1", "2001:db8::1"},
	{"2001:DB8::1", "2001:db8::1"},
	{"2001:db8:0:0:0:0:0:1", "2001:db8::1"},
	{"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
	{"::", "::"},
	{"::1", "::1"},
	{"1::", "1::"},
	{"fe80::1:2:3:4", "fe80::1:2:3:4"},
	{"2001:db8::192.0.2.1", "2001:db8::c000:201"},
	{"::ffff:192.0.2.1", "192.0.2.1"},
	{"::FFFF:192.0.2.1", "192.0.2.1"},
	{"::ffff:c000:201", "192.0.2.1"},
	{"0:0:0:0:0:ffff:192.0.2.1", "192.0.2.1"},
	{"::ffff:01.2.3.4", ""},
	{"fe80::1%eth0", ""},
	{"fe80::1%1", ""},
	{"2001:db8:::1", ""},
	{"2001:db8::1::2", ""},
	{"1:2:3:4:5:6:7:8:9", ""},
	{"1:2:3:4:5:6:7", ""},
	{"12345::", ""},
	{"g::1", ""},
	{":", ""},
	{":::", ""},
	{"[::1]", ""},
	{"dead:beef", ""},
	{"deadbeef", ""},
}

func TestParseAddr(t *testing.T) {
	for _, tt := range parseAddrTests {
		t.Run(tt.in, func(t *testing.T) {
			if got := addrString(ParseAddr([]byte(tt.in))); got != tt.want {
				t.Fatalf("ParseAddr(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

var hostPortTests = []struct{ in, want string }{
	{"192.0.2.1", "192.0.2.1"},
	{"192.0.2.1:22", "192.0.2.1"},
	{"192.0.2.1:65535", "192.0.2.1"},
	{"[2001:db8::1]", "2001:db8::1"},
	{"[2001:db8::1]:22", "2001:db8::1"},
	{"[192.0.2.1]:22", "192.0.2.1"},
	{"[::ffff:192.0.2.1]:22", "192.0.2.1"},
	{"::ffff:192.0.2.1", "192.0.2.1"},
	{"2001:db8::1", "2001:db8::1"},
	{"2001:db8::1:22", "2001:db8::1:22"}, // a bare IPv6 address is never split
	{"192.0.2.1:", ""},
	{"192.0.2.1:abc", ""},
	{"192.0.2.1:123456", ""},
	{"192.0.2.1:22:22", ""},
	{"01.2.3.4:22", ""},
	{"[2001:db8::1", ""},
	{"[2001:db8::1]:", ""},
	{"[2001:db8::1]22", ""},
	{"[2001:db8::1]:22x", ""},
	{"[fe80::1%eth0]:22", ""},
	{"fe80::1%eth0", ""},
	{"host:22", ""},
	{":22", ""},
	{"[]", ""},
	{"[]:22", ""},
	{"[", ""},
	{"", ""},
}

func TestParseHostPort(t *testing.T) {
	for _, tt := range hostPortTests {
		t.Run(tt.in, func(t *testing.T) {
			if got := addrString(ParseHostPort([]byte(tt.in))); got != tt.want {
				t.Fatalf("ParseHostPort(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestIsHostname(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"example.com", true},
		{"mail-1.example.com", true},
		{"host_name.local", true},
		{"a", true},
		{"1host", true},
		{"host1", true},
		{"xn--bcher-kva.example", true},
		{"example.com.", true},
		{strings.Repeat("a", 63) + ".com", true},
		{strings.Repeat("a.", 126) + "a", true}, // 253 bytes
		{"", false},
		{"1234", false},
		{"192.0.2.1", false},
		{"2001:db8::1", false},
		{"-", false}, // what many logs write for "no host"
		{"--", false},
		{"_", false},
		{"-.example", false},
		{"-host.example", false},
		{"host-.example", false},
		{"a..b", false},
		{".a", false},
		{"..", false},
		{"a b", false},
		{"a:b", false},
		{"[a]", false},
		{"b\u00fccher.example", false},
		{strings.Repeat("a", 64) + ".com", false},
		{strings.Repeat("a.", 127), false}, // 254 bytes
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := IsHostname([]byte(tt.in)); got != tt.want {
				t.Fatalf("IsHostname(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestHostOf(t *testing.T) {
	tests := []struct{ in, addr, name string }{
		{"192.0.2.1", "192.0.2.1", ""},
		{"[2001:db8::1]:22", "2001:db8::1", ""},
		{"attacker.example", "invalid IP", "attacker.example"},
		{"-", "", ""},
		{"01.2.3.4", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			a, name, ok := hostOf([]byte(tt.in))
			if addrString(a, ok) != tt.addr || name != tt.name {
				t.Fatalf("hostOf(%q) = %q, %q, %v; want %q, %q", tt.in, a, name, ok, tt.addr, tt.name)
			}
		})
	}
}

func TestParseAddrAllocs(t *testing.T) {
	for _, in := range []string{"192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1", "[2001:db8::1]:22"} {
		t.Run(in, func(t *testing.T) {
			b := []byte(in)
			if n := testing.AllocsPerRun(100, func() { ParseHostPort(b) }); n != 0 {
				t.Fatalf("ParseHostPort(%q) makes %v allocations, want 0", in, n)
			}
		})
	}
}
