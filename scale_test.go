package main

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"logjail/internal/testenv"
	"logjail/runner"
)

// TestFirewallExactAtScale: through the real command line, in a
// namespace of the test's own, the kernel holds exactly the active bans
// after each step of issue 19's restore: ban - of 100,000 addresses
// (10,000 for iptables), a wipe and the run after it, a no-op run (which
// only checks the kernel against the last apply), and after outside
// changes, which the next run repairs: a member deleted, the jail's
// blocking structure deleted, and a member swapped for a stranger, which
// keeps the counts the check compares and is repaired by the full
// comparison due FullCompareEvery after the last (nftables' generation
// sees it at once). The members are read with the tools themselves
// (ipset save, iptables-save, nft -j), not logjail's readers.
func TestFirewallExactAtScale(t *testing.T) {
	for _, c := range []struct {
		kind  string
		n     int
		tools []string
	}{
		{"ipset", 100000, []string{"ipset", "iptables", "ip6tables", "iptables-save"}},
		{"nftables", 100000, []string{"nft"}},
		{"iptables", 10000, []string{"iptables", "ip6tables", "iptables-save", "ip6tables-save"}},
	} {
		t.Run(c.kind, func(t *testing.T) {
			testenv.Netns(t, c.tools...)
			testFirewallExact(t, c.kind, c.n)
		})
	}
}

func testFirewallExact(t *testing.T, kind string, n int) {
	ns := netns(t)
	inNS(t, ns, "ip", "link", "set", "lo", "up")
	dir := t.TempDir()
	cfg := sshdFirewallConfig(t, dir, kind, filepath.Join(dir, "state.db"), "")
	now, _ := time.Parse(time.RFC3339, testNow)
	lj := func(at time.Time, stdin string, args ...string) string {
		t.Helper()
		out, _ := ljExec(t, []string{"LOGJAIL_NETNS=" + ns}, stdin, 0, append([]string{"--config", cfg, "--now", at.Format(time.RFC3339), "--verbose"}, args...)...)
		return out
	}

	want := map[string]bool{}
	var in strings.Builder
	for i := range n {
		a := netip.AddrFrom4([4]byte{198, 18 + byte(i>>16), byte(i >> 8), byte(i)})
		want["sshd "+a.String()] = true
		fmt.Fprintln(&in, a)
	}
	exact := func(step string) {
		t.Helper()
		got := kernelMembers(t, kind, ns)
		missing, extra := 0, 0
		var sample []string
		for m := range want {
			if !got[m] {
				missing++
				if len(sample) < 3 {
					sample = append(sample, "missing "+m)
				}
			}
		}
		for m := range got {
			if !want[m] {
				extra++
				if len(sample) < 6 {
					sample = append(sample, "extra "+m)
				}
			}
		}
		if missing > 0 || extra > 0 {
			t.Fatalf("%s: the kernel holds %d members, %d missing and %d not banned (%s)", step, len(got), missing, extra, strings.Join(sample, ", "))
		}
	}
	checked := func(step, out string, want bool) {
		t.Helper()
		if got := strings.Contains(out, "firewall: as the last apply left it"); got != want {
			t.Fatalf("%s: checked only %v, want %v:\n%s", step, got, want, out)
		}
	}

	lj(now, in.String(), "ban", "--jail", "sshd", "--for", "1d", "-")
	exact("after ban -")

	lj(now, "", "firewall", "flush")
	if got := kernelMembers(t, kind, ns); len(got) != 0 {
		t.Fatalf("after firewall flush: %d members", len(got))
	}
	out := lj(now, "", "run")
	checked("the run after a wipe", out, false)
	exact("after the run after a wipe")

	at := now.Add(time.Minute)
	checked("a no-op run", lj(at, "", "run"), true)
	exact("after a no-op run")

	// A member deleted by hand: the counts (or generation) differ.
	delMember(t, kind, ns, "198.18.0.5")
	at = at.Add(time.Minute)
	checked("the run after a member was deleted", lj(at, "", "run"), false)
	exact("after a member was deleted")
	at = at.Add(time.Minute)
	checked("the run after the repair", lj(at, "", "run"), true)

	// The structure that blocks the jail's bans deleted by hand.
	delStructure(t, kind, ns)
	at = at.Add(time.Minute)
	checked("the run after the structure was deleted", lj(at, "", "run"), false)
	exact("after the structure was deleted")
	if kind != "nftables" {
		if rules := inNS(t, ns, "iptables-save"); !strings.Contains(rules, "--comment logjail") {
			t.Fatalf("no logjail rule in INPUT after the repair:\n%s", rules)
		}
	} else if rules := inNS(t, ns, "nft", "list", "chain", "inet", "logjail", "input"); !strings.Contains(rules, "jump logjail-sshd") {
		t.Fatalf("no jump in chain input after the repair:\n%s", rules)
	}

	// A member swapped for a stranger: ipset's and iptables' counts stay
	// the same, nftables' generation moves.
	at = at.Add(time.Minute)
	lj(at, "", "run") // takes the mark after the repair
	delMember(t, kind, ns, "198.18.0.9")
	addMember(t, kind, ns, "203.0.113.9")
	at = at.Add(time.Minute)
	out = lj(at, "", "run")
	if kind == "nftables" {
		checked("the run after a swap", out, false)
		exact("after a swap")
	} else {
		checked("the run after a swap", out, true) // the documented blind spot
		checked("the run when a full comparison is due", lj(at.Add(runner.FullCompareEvery), "", "run"), false)
		exact("after the full comparison")
	}
}

// kernelMembers lists the members of logjail's sets or chains as "jail
// address" (a network as address/length), read with the tools.
func kernelMembers(t *testing.T, kind, ns string) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	add := func(set, member string) {
		set = strings.TrimPrefix(set, "logjail-")
		if i := strings.LastIndexAny(set, "-"); i >= 0 && kind != "iptables" {
			set = set[:i] // the family (and nftables' shard)
		}
		p, err := netip.ParsePrefix(member)
		if err != nil {
			p = netip.PrefixFrom(netip.MustParseAddr(member), 32)
		}
		m := set + " " + p.String()
		if p.IsSingleIP() {
			m = set + " " + p.Addr().String()
		}
		if got[m] {
			t.Fatalf("%s twice", m)
		}
		got[m] = true
	}
	switch kind {
	case "ipset":
		for _, l := range strings.Split(inNS(t, ns, "ipset", "save"), "\n") {
			if f := strings.Fields(l); len(f) >= 3 && f[0] == "add" {
				add(f[1], f[2])
			}
		}
	case "iptables":
		for _, save := range []string{"iptables-save", "ip6tables-save"} {
			for _, l := range strings.Split(inNS(t, ns, save, "-t", "filter"), "\n") {
				if f := strings.Fields(l); len(f) >= 4 && f[0] == "-A" && strings.HasPrefix(f[1], "logjail-") && f[2] == "-s" {
					add(f[1], f[3])
				}
			}
		}
	case "nftables":
		out := inNS(t, ns, "sh", "-c", "nft -j list table inet logjail 2>/dev/null || echo '{\"nftables\": []}'")
		var doc struct {
			Nftables []struct {
				Set *struct {
					Name string            `json:"name"`
					Elem []json.RawMessage `json:"elem"`
				} `json:"set"`
			} `json:"nftables"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("nft -j: %v", err)
		}
		type prefix struct {
			Addr string `json:"addr"`
			Len  int    `json:"len"`
		}
		for _, o := range doc.Nftables {
			if o.Set == nil {
				continue
			}
			for _, raw := range o.Set.Elem {
				var e struct {
					Elem struct {
						Val json.RawMessage `json:"val"`
					} `json:"elem"`
				}
				val := raw
				if json.Unmarshal(raw, &e) == nil && e.Elem.Val != nil {
					val = e.Elem.Val
				}
				var s string
				var p struct {
					Prefix *prefix `json:"prefix"`
				}
				switch {
				case json.Unmarshal(val, &s) == nil:
					add(o.Set.Name, s)
				case json.Unmarshal(val, &p) == nil && p.Prefix != nil:
					add(o.Set.Name, fmt.Sprintf("%s/%d", p.Prefix.Addr, p.Prefix.Len))
				default:
					t.Fatalf("set %s: element %s", o.Set.Name, raw)
				}
			}
		}
	}
	return got
}

// nftSetOf returns the nftables set of jail sshd holding addr.
func nftSetOf(t *testing.T, ns, addr string) string {
	t.Helper()
	out := inNS(t, ns, "nft", "-j", "list", "table", "inet", "logjail")
	for k := range 16 {
		set := fmt.Sprintf("logjail-sshd-4.ip%d%c", k, nftGenInUse(t, ns))
		sets := inNS(t, ns, "nft", "list", "set", "inet", "logjail", set)
		if strings.Contains(sets, addr+" ") || strings.Contains(sets, addr+",") {
			return set
		}
	}
	t.Fatalf("%s in no set of table inet logjail:\n%.2000s", addr, out)
	return ""
}

// nftGenInUse returns the generation of jail sshd's sets that its rules
// use (a or b: a large ban fills the other and moves the rules to it).
func nftGenInUse(t *testing.T, ns string) byte {
	t.Helper()
	rules := inNS(t, ns, "nft", "list", "chain", "inet", "logjail", "logjail-sshd")
	for _, g := range []byte{'a', 'b'} {
		if strings.Contains(rules, fmt.Sprintf("@logjail-sshd-4.ip0%c ", g)) {
			return g
		}
	}
	t.Fatalf("no rule of chain logjail-sshd uses logjail-sshd-4.ip0a or ip0b:\n%s", rules)
	return 0
}

// delMember deletes a member of jail sshd by hand.
func delMember(t *testing.T, kind, ns, addr string) {
	t.Helper()
	switch kind {
	case "ipset":
		inNS(t, ns, "ipset", "del", "logjail-sshd-4", addr)
	case "iptables":
		inNS(t, ns, "iptables", "-D", "logjail-sshd", "-s", addr+"/32", "-m", "comment", "--comment", "logjail", "-j", "DROP")
	case "nftables":
		inNS(t, ns, "nft", "delete", "element", "inet", "logjail", nftSetOf(t, ns, addr), "{", addr, "}")
	}
}

// addMember adds a member to jail sshd by hand.
func addMember(t *testing.T, kind, ns, addr string) {
	t.Helper()
	switch kind {
	case "ipset":
		inNS(t, ns, "ipset", "add", "logjail-sshd-4", addr)
	case "iptables":
		inNS(t, ns, "iptables", "-A", "logjail-sshd", "-s", addr+"/32", "-m", "comment", "--comment", "logjail", "-j", "DROP")
	case "nftables":
		inNS(t, ns, "nft", "add", "element", "inet", "logjail", fmt.Sprintf("logjail-sshd-4.ip0%c", nftGenInUse(t, ns)), "{", addr, "}")
	}
}

// delStructure deletes by hand what makes jail sshd's bans block: its
// INPUT rules (ipset), its chain and jumps (iptables), its chain and the
// jump to it (nftables).
func delStructure(t *testing.T, kind, ns string) {
	t.Helper()
	switch kind {
	case "ipset":
		inNS(t, ns, "iptables", "-F", "INPUT")
	case "iptables":
		inNS(t, ns, "sh", "-c", "iptables -F INPUT && iptables -F logjail-sshd && iptables -X logjail-sshd")
	case "nftables":
		inNS(t, ns, "sh", "-c", "nft flush chain inet logjail input && nft flush chain inet logjail logjail-sshd && nft delete chain inet logjail logjail-sshd")
	}
}

// sshdFirewallConfig writes a configuration with one sshd jail over an
// empty log in dir, the given backend and state file, and the jail's
// extra YAML lines (indented by four spaces); it returns its path.
func sshdFirewallConfig(t *testing.T, dir, backend, stateFile, extra string) string {
	t.Helper()
	log := filepath.Join(dir, "auth.log")
	if err := os.WriteFile(log, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "logjail.yaml")
	text := fmt.Sprintf("state: %s\nfirewall: {backend: %s}\njails:\n  sshd:\n    logpath: [%s]\n    port: ssh\n%s", stateFile, backend, log, extra)
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}
