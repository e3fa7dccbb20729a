package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"logjail/enforce"
	"logjail/internal/testenv"
)

// TestDryRunIsThePlan builds, for each backend in a namespace of its own,
// a state in which the firewall's plan differs from the bans the state
// holds: a /24 ban with an address inside it (one banned by hand, one the
// run decides from the log), an address that a jail's ignoreip came to
// cover, an address that became the machine's own, a permanent ban over a
// timed one the kernel holds, and a ban lifted while the firewall was not
// told. The dry run must list exactly what the real run then changes in
// the kernel, the real run must say what the guard refused, and a dry run
// after it must list nothing to change.
func TestDryRunIsThePlan(t *testing.T) {
	for _, kind := range []string{"iptables", "ipset", "nftables", "none"} {
		t.Run(kind, func(t *testing.T) { testDryRunIsThePlan(t, kind) })
	}
}

func testDryRunIsThePlan(t *testing.T, kind string) {
	testenv.Netns(t, "iptables", "ip6tables", "ipset", "nft")
	ns := netns(t)
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	state := filepath.Join(dir, "state.db")
	writeCfg := func(name, backend, ignore string) string {
		p := filepath.Join(dir, name)
		y := fmt.Sprintf("state: %s\nfirewall: {backend: %s}\njails:\n  sshd:\n    logpath: [%s]\n    port: ssh\n    maxretry: 3\n    bantime: 10m\n"+
			"  web:\n    filter: sshd\n    logpath: [%s]\n    port: [http]\n    ignoreip: [%s]\n", state, backend, log, log, ignore)
		if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// real is the configuration under test; setup records bans in the same
	// state without touching the firewall, and without the ignoreip that
	// real has gained since.
	real := writeCfg("real.yaml", kind, "127.0.0.1, 203.0.113.0/24")
	setup := writeCfg("setup.yaml", "none", "127.0.0.1")
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	at := func(d time.Duration) string { return t0.Add(d).Format(time.RFC3339) }
	lj := func(cfg string, now time.Duration, want int, args ...string) (string, string) {
		t.Helper()
		return ljNSAt(t, ns, cfg, at(now), want, args...)
	}
	os.WriteFile(log, nil, 0o644)

	// The kernel holds a timed ban of 192.0.2.50 and one of 192.0.2.60.
	lj(real, 0, 0, "ban", "--jail", "sshd", "--for", "1h", "192.0.2.50", "192.0.2.60")
	// Then, the firewall not told: 192.0.2.50 banned for good, 192.0.2.60
	// lifted, a /24 with an address inside it, an address the ignoreip
	// now covers, and one that becomes an address of the machine.
	lj(setup, time.Minute, 0, "ban", "--jail", "sshd", "--for", "permanent", "192.0.2.50", "198.51.100.0/24")
	lj(setup, time.Minute, 0, "ban", "--jail", "sshd", "198.51.100.7")
	lj(setup, time.Minute, 0, "ban", "203.0.113.9", "10.9.9.9")
	lj(setup, time.Minute, 0, "unban", "192.0.2.60")
	inNS(t, ns, "ip", "link", "set", "lo", "up")
	inNS(t, ns, "ip", "addr", "add", "10.9.9.9/32", "dev", "lo")
	// The log brings a ban of 198.51.100.8, inside the /24, that the run
	// decides itself.
	f, _ := os.OpenFile(log, os.O_WRONLY|os.O_APPEND, 0o644)
	for i := range 3 {
		fmt.Fprintf(f, "%s h sshd[9]: Failed password for root from 198.51.100.8 port 22 ssh2\n", t0.Add(2*time.Minute+time.Duration(i)*time.Second).Format(time.Stamp))
	}
	f.Close()

	type plan struct {
		Ban      []struct{ Jail, IP string } `json:"ban"`
		Firewall struct {
			Backend                      string
			Add, Remove, Update, Refused []string
			Error                        string
		} `json:"firewall"`
	}
	dryRun := func(now time.Duration) plan {
		t.Helper()
		out, _ := lj(real, now, 0, "run", "--dry-run", "--format", "json")
		var p plan
		if err := json.Unmarshal([]byte(out), &p); err != nil {
			t.Fatalf("dry run: %v\n%s", err, out)
		}
		if p.Firewall.Backend != kind || p.Firewall.Error != "" {
			t.Fatalf("dry run firewall: %+v", p.Firewall)
		}
		return p
	}
	fw, err := enforce.New(kind, enforce.Options{NetNS: ns})
	if err != nil {
		t.Fatal(err)
	}
	now := 3 * time.Minute
	kernel := func() map[string]enforce.Ban {
		t.Helper()
		bans, err := fw.Actual(context.Background(), t0.Add(now))
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]enforce.Ban{}
		for _, b := range bans {
			m[b.Jail+" "+enforce.Addr(b.Prefix)] = b
		}
		return m
	}

	before := kernel()
	dry := dryRun(now)
	if len(dry.Ban) != 1 || dry.Ban[0].IP != "198.51.100.8" {
		t.Fatalf("the dry run decides %v, want the ban of 198.51.100.8", dry.Ban)
	}
	if !mapsEqual(kernel(), before) {
		t.Fatal("the dry run changed the firewall")
	}
	// What a real backend must do; none keeps nothing, so it adds all and
	// has nothing to remove or update.
	wantAdd, wantRemove, wantUpdate := []string{"sshd 198.51.100.0/24"}, []string{"sshd 192.0.2.60"}, []string{"sshd 192.0.2.50"}
	switch kind {
	case "iptables":
		wantUpdate = nil // it keeps no timeouts
	case "none":
		wantAdd, wantRemove, wantUpdate = []string{"sshd 192.0.2.50", "sshd 198.51.100.0/24"}, nil, nil
	}
	wantRefused := []string{"manual 10.9.9.9: covers own address 10.9.9.9 on lo", "manual 203.0.113.9: overlaps never-ban range 203.0.113.0/24"}
	check := func(what string, got, want []string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", what, got, want)
		}
	}
	check("dry run adds", dry.Firewall.Add, wantAdd)
	check("dry run removes", dry.Firewall.Remove, orEmpty(wantRemove))
	check("dry run updates", dry.Firewall.Update, wantUpdate)
	check("dry run refuses", dry.Firewall.Refused, wantRefused)

	// The real run changes exactly that in the kernel and says, once, what
	// the guard refused.
	_, stderr := lj(real, now, 0, "run")
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		lines = append(lines, strings.TrimPrefix(l, "logjail: not enforced: "))
	}
	check("the run's refusals", lines, wantRefused)
	after := kernel()
	var added, removed, updated []string
	for k, b := range after {
		if old, ok := before[k]; !ok {
			added = append(added, k)
		} else if old.Until.IsZero() != b.Until.IsZero() {
			updated = append(updated, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			removed = append(removed, k)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	if kind == "none" {
		if len(after) != 0 {
			t.Errorf("backend none installed %v", after)
		}
	} else {
		check("the run added", added, dry.Firewall.Add)
		check("the run removed", orEmpty(removed), dry.Firewall.Remove)
		check("the run updated", updated, dry.Firewall.Update)
	}

	// A dry run after it has nothing left to do (none: the same plan
	// again, since it keeps nothing).
	again := dryRun(now)
	if kind == "none" {
		check("none's plan again", again.Firewall.Add, wantAdd)
	} else {
		check("dry run after: adds", again.Firewall.Add, []string{})
		check("dry run after: removes", again.Firewall.Remove, []string{})
		check("dry run after: updates", again.Firewall.Update, nil)
	}
	check("dry run after: refuses", again.Firewall.Refused, wantRefused)
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func mapsEqual(a, b map[string]enforce.Ban) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w.Until.IsZero() != v.Until.IsZero() {
			return false
		}
	}
	return true
}
