//go:build linux

package enforce

import (
	"context"
	"strconv"
	"testing"
)

// TestCheck: every kernel backend's Apply leaves a mark that its Check
// finds again, and Check finds an outside change of a member, of the
// structure, or another configuration; Plan leaves none.
func TestCheck(t *testing.T) {
	for _, kind := range []string{"iptables", "ipset", "nftables"} {
		t.Run(kind, func(t *testing.T) {
			f := newFixture(t, kind, Options{})
			ctx := context.Background()
			c, ok := f.b.(Checker)
			if !ok {
				t.Fatalf("%s is no Checker", kind)
			}
			check := func(what string, jails []JailSpec, m Mark, want bool) {
				t.Helper()
				got, err := c.Check(ctx, jails, m)
				if err != nil || got != want {
					t.Fatalf("%s: Check = %v, %v; want %v", what, got, err, want)
				}
			}
			if d, err := f.b.Plan(ctx, suiteJails, suiteBans(), now0); err != nil || d.Mark != nil {
				t.Fatalf("Plan: mark %+v, %v; want none", d.Mark, err)
			}
			d := f.apply(suiteJails, suiteBans())
			if d.Mark == nil {
				t.Fatal("Apply to an empty firewall left no mark")
			}
			m := *d.Mark
			check("right after Apply", suiteJails, m, true)
			check("with another jail's ports", append([]JailSpec{{Name: "sshd", Protocol: "tcp", Ports: "2222"}}, suiteJails[1:]...), m, false)
			check("with another backend's mark", suiteJails, Mark{Kind: "none", Spec: m.Spec}, false)

			// A member deleted by hand.
			switch kind {
			case "iptables":
				f.sh("iptables -D logjail-sshd -s 203.0.113.7/32 -m comment --comment logjail -j DROP")
			case "ipset":
				f.sh("ipset del logjail-sshd-4 203.0.113.7")
			case "nftables":
				f.sh("nft delete element inet logjail logjail-sshd-4.ip" + strconv.Itoa(shardOf(ban("sshd", "203.0.113.7", 0).Prefix)) + "a '{ 203.0.113.7 }'")
			}
			check("after a member was deleted", suiteJails, m, false)
			d = f.apply(suiteJails, suiteBans())
			if len(d.Added) != 1 || d.Mark == nil {
				t.Fatalf("the repair added %v, mark %+v", d.Added, d.Mark)
			}
			m = *d.Mark
			check("after the repair", suiteJails, m, true)

			// The structure deleted by hand.
			switch kind {
			case "iptables", "ipset":
				f.sh("iptables -F INPUT")
			case "nftables":
				f.sh("nft flush chain inet logjail input")
			}
			check("after INPUT was flushed", suiteJails, m, false)
			d = f.apply(suiteJails, suiteBans())
			check("after the second repair", suiteJails, *d.Mark, true)

			// A no-op Apply (the full comparison) leaves a mark too.
			d = f.apply(suiteJails, suiteBans())
			if !d.Empty() || d.Mark == nil {
				t.Fatalf("no-op Apply: %s, mark %+v", diffText(d), d.Mark)
			}
			check("after a no-op Apply", suiteJails, *d.Mark, true)
		})
	}
}
