package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"logjail/internal/testenv"
)

// TestBanStagedCommitFails: `ban -` stages its firewall change while the
// state commits; when the commit fails for real (the state on a full
// filesystem: a 600 KiB tmpfs in a mount namespace of the test's own),
// the command fails naming the file, and the firewall is as before: the
// one ban already there, no staging set, nothing sent.
func TestBanStagedCommitFails(t *testing.T) {
	for _, c := range []struct{ kind, tools string }{
		{"ipset", "ipset iptables ip6tables"},
		{"nftables", "nft"},
	} {
		t.Run(c.kind, func(t *testing.T) {
			testenv.Netns(t, append(strings.Fields(c.tools), "unshare", "mount")...)
			ns := netns(t)
			inNS(t, ns, "ip", "link", "set", "lo", "up")
			dir := t.TempDir()
			full := filepath.Join(dir, "full")
			os.Mkdir(full, 0o755)
			cfg := sshdFirewallConfig(t, dir, c.kind, filepath.Join(full, "state.db"), "")
			var addrs strings.Builder
			for i := range 20000 {
				fmt.Fprintf(&addrs, "10.%d.%d.%d\n", i>>16, byte(i>>8), byte(i))
			}
			os.WriteFile(filepath.Join(dir, "addrs"), []byte(addrs.String()), 0o644)
			bin, err := exec.LookPath("logjail")
			if err != nil {
				t.Fatal(err)
			}
			dump := "iptables-save 2>/dev/null | sed '/^#/d'; ipset list -n 2>/dev/null; nft list ruleset | sed 's/ expires [0-9a-z]*//'"
			script := fmt.Sprintf(`set -e
mount -t tmpfs -o size=600k lj-full %[1]s
lj() { "%[2]s" --config %[3]s --now %[4]s "$@"; }
lj ban --jail sshd --for 1h 192.0.2.5
ip netns exec %[5]s sh -c "%[6]s" >%[7]s/before
if lj ban --jail sshd --for 1h - <%[7]s/addrs 2>%[7]s/stderr; then echo "ban - succeeded" >&2; exit 1; fi
ip netns exec %[5]s sh -c "%[6]s" >%[7]s/after
`, full, bin, cfg, testNow, ns, dump, dir)
			cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", script)
			cmd.Env = append(os.Environ(), "LOGJAIL_NETNS="+ns)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			stderr, _ := os.ReadFile(filepath.Join(dir, "stderr"))
			if !bytes.Contains(stderr, []byte(filepath.Join(full, "state.db"))) || !bytes.Contains(stderr, []byte("no space left on device")) {
				t.Errorf("ban - on a full filesystem said %q, want the state file and ENOSPC", stderr)
			}
			before, _ := os.ReadFile(filepath.Join(dir, "before"))
			after, _ := os.ReadFile(filepath.Join(dir, "after"))
			if !bytes.Equal(before, after) {
				t.Errorf("the failed ban - changed the firewall:\nbefore\n%s\nafter\n%s", before, after)
			}
			got := kernelMembers(t, c.kind, ns)
			if len(got) != 1 || !got["sshd 192.0.2.5"] {
				t.Errorf("after the failed ban -: %d members, want sshd 192.0.2.5 only", len(got))
			}
			if sets := inNS(t, ns, "sh", "-c", "ipset list -n 2>/dev/null || true"); strings.Contains(sets, "-4t") || strings.Contains(sets, "-6t") {
				t.Errorf("staging sets left: %s", sets)
			}
		})
	}
}

// TestRunRemovesStagingSets: a staging set left by a `ban -` that died
// before its commit (ipset's logjail-sshd-4t; nftables' sets of the
// generation no rule uses) goes at the next run, which leaves exactly the
// bans.
func TestRunRemovesStagingSets(t *testing.T) {
	for _, c := range []struct{ kind, tools string }{
		{"ipset", "ipset iptables ip6tables"},
		{"nftables", "nft"},
	} {
		t.Run(c.kind, func(t *testing.T) {
			testenv.Netns(t, strings.Fields(c.tools)...)
			ns := netns(t)
			dir := t.TempDir()
			cfg := sshdFirewallConfig(t, dir, c.kind, filepath.Join(dir, "state.db"), "")
			var addrs strings.Builder
			want := map[string]bool{}
			for i := range 3000 {
				a := fmt.Sprintf("10.0.%d.%d", byte(i>>8), byte(i))
				fmt.Fprintln(&addrs, a)
				want["sshd "+a] = true
			}
			ljNS(t, ns, cfg, 0, addrs.String(), "ban", "--jail", "sshd", "--for", "1d", "-")
			// What a crash between the staging and the commit leaves.
			leftover := "logjail-sshd-4t"
			if c.kind == "ipset" {
				inNS(t, ns, "sh", "-c", "ipset create logjail-sshd-4t hash:net timeout 0 && ipset add logjail-sshd-4t 203.0.113.99")
			} else {
				idle := byte('a')
				if nftGenInUse(t, ns) == 'a' {
					idle = 'b'
				}
				leftover = fmt.Sprintf("logjail-sshd-4.ip3%c", idle)
				inNS(t, ns, "sh", "-c", fmt.Sprintf("nft add set inet logjail %[1]s '{ type ipv4_addr; flags timeout; }' && nft add element inet logjail %[1]s '{ 203.0.113.99 timeout 1h }'", leftover))
			}
			ljNS(t, ns, cfg, 0, "", "run")
			if sets := inNS(t, ns, "sh", "-c", "ipset list -n 2>/dev/null; nft list ruleset"); strings.Contains(sets, leftover) {
				t.Errorf("the run left the staging set %s: %s", leftover, sets)
			}
			got := kernelMembers(t, c.kind, ns)
			if len(got) != len(want) {
				t.Errorf("after the run: %d members, want %d", len(got), len(want))
			}
			for m := range want {
				if !got[m] {
					t.Fatalf("after the run: %s missing", m)
				}
			}
		})
	}
}

// TestBanStagedTimeouts: the kernel's members and their timeouts after
// `ban -` staged late (a jail's bantime, decided per offense in the
// transaction) and early (--for: every new ban lasts as long, staged
// before the transaction from the bans held), replacing shorter bans and
// keeping longer ones as the state does.
func TestBanStagedTimeouts(t *testing.T) {
	testenv.Netns(t, "ipset", "iptables", "ip6tables")
	ns := netns(t)
	dir := t.TempDir()
	cfg := sshdFirewallConfig(t, dir, "ipset", filepath.Join(dir, "state.db"), "    bantime: 10m\n")
	addrs := func(from, to int) string {
		var b strings.Builder
		for i := from; i < to; i++ {
			fmt.Fprintf(&b, "10.0.%d.%d\n", byte(i>>8), byte(i))
		}
		return b.String()
	}
	// timeouts returns each member's timeout in seconds.
	timeouts := func() map[string]int {
		out := map[string]int{}
		for _, l := range strings.Split(inNS(t, ns, "ipset", "save"), "\n") {
			var set, addr string
			var n int
			if _, err := fmt.Sscanf(l, "add %s %s timeout %d", &set, &addr, &n); err == nil {
				if _, dup := out[addr]; dup || set != "logjail-sshd-4" {
					t.Fatalf("%s: in %s, or twice", addr, set)
				}
				out[addr] = n
			}
		}
		return out
	}
	check := func(step string, n int, want func(i int) int) {
		t.Helper()
		got := timeouts()
		if len(got) != n {
			t.Fatalf("%s: %d members, want %d", step, len(got), n)
		}
		for i := range n {
			a := fmt.Sprintf("10.0.%d.%d", byte(i>>8), byte(i))
			if w := want(i); got[a] < w-60 || got[a] > w {
				t.Fatalf("%s: %s timeout %d, want %d", step, a, got[a], w)
			}
		}
	}
	ljNS(t, ns, cfg, 0, addrs(0, 3000), "ban", "--jail", "sshd", "-")
	check("bantime", 3000, func(int) int { return 600 })
	ljNS(t, ns, cfg, 0, addrs(0, 1000)+addrs(3000, 4000), "ban", "--jail", "sshd", "--for", "1d", "-")
	day := func(i int) int {
		if i < 1000 || i >= 3000 {
			return 86400
		}
		return 600
	}
	check("--for 1d over 10m", 4000, day)
	out, _ := ljNS(t, ns, cfg, 0, addrs(0, 1500), "ban", "--jail", "sshd", "--for", "1h", "-")
	check("--for 1h under 1d", 4000, func(i int) int {
		if i >= 1000 && i < 1500 {
			return 3600
		}
		return day(i)
	})
	if n := strings.Count(out, "kept (a ban is never shortened)"); n != 1000 {
		t.Errorf("%d bans kept, want 1000", n)
	}
}
