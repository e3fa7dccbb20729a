//go:build linux

package enforce

import (
	"crypto/rand"
	"encoding/hex"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// kindTools are the programs a backend kind runs, plus what the tests use
// to look at and meddle with the firewall.
var kindTools = map[string][]string{
	"none":     nil,
	"iptables": {"iptables", "ip6tables", "iptables-save", "ip6tables-save", "iptables-restore", "ip6tables-restore", "ipset", "nft"},
	"ipset":    {"iptables", "ip6tables", "iptables-save", "ip6tables-save", "ipset", "nft"},
	"nftables": {"nft", "iptables-save", "ip6tables-save", "ipset"},
}

// newNS creates a network namespace lj-test-<random> with loopback up,
// deleted when the test ends, however it ends.
func newNS(t testing.TB) string {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	ns := "lj-test-" + hex.EncodeToString(b[:])
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", ns, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", ns, err, out)
		}
	})
	nsSh(t, ns, "ip link set lo up")
	return ns
}

// nsSh runs a shell script inside the namespace and returns its output;
// any failure ends the test.
func nsSh(t testing.TB, ns, script string) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns, "sh", "-ec", script).CombinedOutput()
	if err != nil {
		t.Fatalf("in %s: %s: %v\n%s", ns, script, err, out)
	}
	return string(out)
}

var (
	dumpComment = regexp.MustCompile(`(?m)^#.*\n`)
	dumpTimeout = regexp.MustCompile(`timeout [0-9]+`)
	dumpExpires = regexp.MustCompile(` expires [0-9a-z]+`)
	dumpInitval = regexp.MustCompile(`initval 0x[0-9a-f]+`)
)

// dumpFirewall prints everything iptables, ip6tables, ipset and nftables
// hold in the namespace, without the parts that change by themselves
// (dates, remaining timeouts).
func dumpFirewall(t testing.TB, ns string) string {
	t.Helper()
	out := nsSh(t, ns, "iptables-save; ip6tables-save; ipset save; nft list ruleset")
	out = dumpComment.ReplaceAllString(out, "")
	out = dumpTimeout.ReplaceAllStringFunc(out, func(s string) string {
		if s == "timeout 0" {
			return s
		}
		return "timeout N"
	})
	out = dumpInitval.ReplaceAllString(out, "initval X")
	return dumpExpires.ReplaceAllString(out, "")
}

// diffLines shows the lines only in a and only in b.
func diffLines(a, b string) string {
	in := func(s string) map[string]int {
		m := map[string]int{}
		for _, l := range strings.Split(s, "\n") {
			m[l]++
		}
		return m
	}
	ma, mb := in(a), in(b)
	var out []string
	for _, l := range strings.Split(a, "\n") {
		if ma[l] > mb[l] {
			out = append(out, "- "+l)
		}
	}
	for _, l := range strings.Split(b, "\n") {
		if mb[l] > ma[l] {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}
