package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"logjail/internal/testenv"
)

// TestDryRunChangesNothing: with each real firewall backend, a dry run
// leaves the state file's bytes and the firewall exactly as they were, and
// what it prints is what the next real run then does.
func TestDryRunChangesNothing(t *testing.T) {
	for _, kind := range []string{"iptables", "ipset", "nftables"} {
		t.Run(kind, func(t *testing.T) {
			testenv.Netns(t, "iptables-save", "ip6tables-save", "ipset", "nft")
			ns := netns(t)
			dir := t.TempDir()
			log := filepath.Join(dir, "auth.log")
			state := filepath.Join(dir, "state.db")
			cfg := filepath.Join(dir, "logjail.yaml")
			os.WriteFile(cfg, []byte(fmt.Sprintf("state: %s\nfirewall: {backend: %s}\njails:\n  sshd:\n    logpath: [%s]\n    port: ssh\n    maxretry: 3\n    bantime: 10m\n", state, kind, log)), 0o644)
			t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
			fail := func(addr string, at time.Time) {
				f, _ := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
				defer f.Close()
				for i := 0; i < 3; i++ {
					fmt.Fprintf(f, "%s h sshd[9]: Failed password for root from %s port 22 ssh2\n", at.Add(time.Duration(i)*time.Second).Format(time.Stamp), addr)
				}
			}
			at := func(d time.Duration) string { return t0.Add(d).Format(time.RFC3339) }
			run := func(now string, args ...string) string {
				out, _ := ljNSAt(t, ns, cfg, now, 0, append([]string{"run"}, args...)...)
				return out
			}
			fail("192.0.2.1", t0)
			run(at(10 * time.Second))
			fail("192.0.2.2", t0.Add(20*time.Second))

			dump := func() string {
				var b strings.Builder
				for _, c := range [][]string{{"iptables-save", "-t", "filter"}, {"ip6tables-save", "-t", "filter"}, {"ipset", "save"}, {"nft", "list", "ruleset"}} {
					b.WriteString(inNS(t, ns, c...))
				}
				// Remaining kernel timeouts tick by themselves: not a change.
				return ticking.ReplaceAllString(b.String(), "")
			}
			stateBefore, _ := os.ReadFile(state)
			fwBefore := dump()
			now := at(10*time.Minute + 15*time.Second) // A's ban has ended, B's holds
			var dry struct {
				Ban      []struct{ Jail, IP string } `json:"ban"`
				Unban    []struct{ Jail, IP string } `json:"unban"`
				Firewall struct {
					Add, Remove []string
					Error       string
				} `json:"firewall"`
			}
			if err := json.Unmarshal([]byte(run(now, "--dry-run", "--format", "json")), &dry); err != nil {
				t.Fatal(err)
			}
			stateAfter, _ := os.ReadFile(state)
			if string(stateBefore) != string(stateAfter) {
				t.Error("the dry run changed the state file's bytes")
			}
			if fw := dump(); fw != fwBefore {
				t.Errorf("the dry run changed the firewall:\nbefore:\n%s\nafter:\n%s", fwBefore, fw)
			}
			if len(dry.Ban) != 1 || dry.Ban[0].IP != "192.0.2.2" || len(dry.Unban) != 1 || dry.Unban[0].IP != "192.0.2.1" {
				t.Fatalf("dry run says ban %v, unban %v; want ban 192.0.2.2, unban 192.0.2.1", dry.Ban, dry.Unban)
			}
			if dry.Firewall.Error != "" || !reflect.DeepEqual(dry.Firewall.Add, []string{"sshd 192.0.2.2"}) || !reflect.DeepEqual(dry.Firewall.Remove, []string{"sshd 192.0.2.1"}) {
				t.Fatalf("dry run firewall preview %+v", dry.Firewall)
			}

			// The real run does what the dry run said.
			run(now)
			st := status(t, cfg, now)
			var banned []string
			for _, b := range st.Bans {
				banned = append(banned, b.IP)
			}
			sort.Strings(banned)
			if !reflect.DeepEqual(banned, []string{"192.0.2.2"}) {
				t.Fatalf("after the real run: banned %v, want what the dry run said", banned)
			}
			fw := dump()
			if !strings.Contains(fw, "192.0.2.2") || strings.Contains(fw, "192.0.2.1") {
				t.Fatalf("after the real run the firewall holds:\n%s", fw)
			}
		})
	}
}

var ticking = regexp.MustCompile(`(?m)( expires [0-9hms]+| timeout [0-9]+)|^#.*$`)

func ljNSAt(t *testing.T, ns, cfg, now string, want int, args ...string) (string, string) {
	t.Helper()
	return ljExec(t, []string{"LOGJAIL_NETNS=" + ns}, "", want, append([]string{"--config", cfg, "--now", now}, args...)...)
}
