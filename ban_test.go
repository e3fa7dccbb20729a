package main

import (
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"logjail/internal/testenv"
)

// netns creates a network namespace for the test and deletes it after.
func netns(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("lj-cli-%08x", rand.Uint32())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	return name
}

func inNS(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// ljNS runs logjail acting in namespace ns at testNow; it returns stdout
// and stderr.
func ljNS(t *testing.T, ns, cfg string, want int, stdin string, args ...string) (string, string) {
	t.Helper()
	return ljExec(t, []string{"LOGJAIL_NETNS=" + ns}, stdin, want, append([]string{"--config", cfg, "--now", testNow}, args...)...)
}

// TestBanUnbanFirewall drives ban, unban, run and firewall flush against
// real ipset and iptables in a namespace of the test's own.
func TestBanUnbanFirewall(t *testing.T) {
	testenv.Netns(t, "ipset", "iptables", "ip6tables")
	ns := netns(t)
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	os.WriteFile(log, nil, 0o644)
	cfgText := fmt.Sprintf("state: %s\nfirewall: {backend: ipset}\njails:\n  sshd:\n    logpath: [%s]\n    port: ssh\n    ignoreip: [192.0.2.200]\n",
		filepath.Join(dir, "state.db"), log)
	cfg := filepath.Join(dir, "logjail.yaml")
	os.WriteFile(cfg, []byte(cfgText), 0o644)
	members := func(set string) []string {
		var out []string
		for _, l := range strings.Split(inNS(t, ns, "ipset", "list", set), "\n") {
			if f := strings.Fields(l); len(f) > 0 && (strings.Contains(f[0], ".") || strings.Contains(f[0], ":")) && !strings.HasSuffix(f[0], ":") {
				out = append(out, f[0])
			}
		}
		return out
	}
	has := func(set, member string) bool {
		for _, m := range members(set) {
			if m == member {
				return true
			}
		}
		return false
	}

	ljNS(t, ns, cfg, 0, "", "ban", "192.0.2.7", "198.51.100.0/24")
	if !has("logjail-manual-4", "192.0.2.7") || !has("logjail-manual-4", "198.51.100.0/24") {
		t.Fatalf("ban did not reach the firewall before returning: %v", members("logjail-manual-4"))
	}
	ljNS(t, ns, cfg, 0, "", "ban", "--jail", "sshd", "--for", "1h", "2001:db8::7")
	if !has("logjail-sshd-6", "2001:db8::7") {
		t.Fatalf("jail ban missing: %v", members("logjail-sshd-6"))
	}
	if rules := inNS(t, ns, "iptables-save"); !strings.Contains(rules, "logjail-sshd-4") && !strings.Contains(inNS(t, ns, "ip6tables-save"), "logjail-sshd-6") {
		t.Fatalf("no rule matches the jail's set:\n%s", rules)
	}

	// Never: loopback, and the jail's ignoreip.
	_, stderr := ljNS(t, ns, cfg, 2, "", "ban", "127.0.0.1")
	if !strings.Contains(stderr, "127.0.0.1") || has("logjail-manual-4", "127.0.0.1") {
		t.Fatalf("loopback: %q, members %v", stderr, members("logjail-manual-4"))
	}
	if _, stderr := ljNS(t, ns, cfg, 2, "", "ban", "0.0.0.0/0"); !strings.Contains(stderr, "loopback") {
		t.Fatalf("ban of everything: %q", stderr)
	}
	if _, stderr := ljNS(t, ns, cfg, 2, "", "ban", "--jail", "sshd", "192.0.2.200"); !strings.Contains(stderr, "ignoreip") {
		t.Fatalf("ignoreip: %q", stderr)
	}

	// ban - : 20,000 addresses from stdin in one go.
	var sb strings.Builder
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&sb, "10.%d.%d.%d\n", 100+i>>16, i>>8&255, i&255)
	}
	ljNS(t, ns, cfg, 0, sb.String(), "ban", "-")
	if n := len(members("logjail-manual-4")); n != 20002 {
		t.Fatalf("after ban -: %d members, want 20002", n)
	}

	// unban lifts from state and firewall; a second time says so.
	ljNS(t, ns, cfg, 0, "", "unban", "192.0.2.7")
	if has("logjail-manual-4", "192.0.2.7") {
		t.Fatal("unban left the member")
	}
	if _, stderr := ljNS(t, ns, cfg, 1, "", "unban", "192.0.2.7"); !strings.Contains(stderr, "no ban of 192.0.2.7/32") {
		t.Fatalf("second unban: %q", stderr)
	}

	// A "reboot": everything gone; the next run puts it back.
	inNS(t, ns, "iptables", "-F")
	inNS(t, ns, "iptables", "-X")
	inNS(t, ns, "ip6tables", "-F")
	inNS(t, ns, "ip6tables", "-X")
	inNS(t, ns, "ipset", "destroy")
	ljNS(t, ns, cfg, 0, "", "run")
	if !has("logjail-manual-4", "198.51.100.0/24") || !has("logjail-sshd-6", "2001:db8::7") || len(members("logjail-manual-4")) != 20001 {
		t.Fatal("the run after a reboot did not restore the bans")
	}

	// The firewall failing: exit 1, one line naming the backend; the state
	// keeps the ban and the next run installs it.
	_, stderr = ljNS(t, "lj-no-such-namespace", cfg, 1, "", "ban", "192.0.2.9")
	if lines := strings.Split(strings.TrimSpace(stderr), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "ipset") {
		t.Fatalf("firewall failure: %q, want one line naming ipset", stderr)
	}
	// So does a quiet cron run, at every run, until the firewall works.
	for range 2 {
		_, stderr = ljNS(t, "lj-no-such-namespace", cfg, 1, "", "run")
		if lines := strings.Split(strings.TrimSpace(stderr), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "ipset") {
			t.Fatalf("run with a failing firewall: %q, want one line naming ipset", stderr)
		}
	}
	ljNS(t, ns, cfg, 0, "", "run")
	if !has("logjail-manual-4", "192.0.2.9") {
		t.Fatal("the ban kept in the state was not installed by the next run")
	}

	// firewall flush removes everything logjail made, and nothing else.
	inNS(t, ns, "ipset", "create", "mine", "hash:ip")
	ljNS(t, ns, cfg, 0, "", "firewall", "flush")
	sets := inNS(t, ns, "ipset", "list", "-n")
	if strings.Contains(sets, "logjail") || !strings.Contains(sets, "mine") {
		t.Fatalf("after flush: sets %q", sets)
	}
	if strings.Contains(inNS(t, ns, "iptables-save"), "logjail") || strings.Contains(inNS(t, ns, "ip6tables-save"), "logjail") {
		t.Fatal("after flush: logjail rules remain")
	}
}

func TestParseTargetsStdin(t *testing.T) {
	in := "# bans\r\n192.0.2.1\r\n\n  2001:db8::/32  \n::ffff:198.51.100.7\n192.0.2.0/24\n10.0.0.1"
	got, err := parseTargets([]string{"-"}, strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"192.0.2.1/32", "2001:db8::/32", "198.51.100.7/32", "192.0.2.0/24", "10.0.0.1/32"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("parseTargets = %v, want %v", got, want)
	}
	_, err = parseTargets([]string{"-"}, strings.NewReader("192.0.2.1\n# x\n\n192.0.2.300\n"))
	if err == nil || !strings.Contains(err.Error(), `stdin line 4 "192.0.2.300"`) {
		t.Errorf("bad line 4: err = %v, want one naming stdin line 4", err)
	}
	if got, err := parseTargets([]string{"-"}, strings.NewReader("")); err != nil || len(got) != 0 {
		t.Errorf("empty stdin: %v, %v", got, err)
	}
}
