//go:build linux

package enforce

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// manyBans returns n bans of jail from 10.0.0.0 upwards.
func manyBans(jail string, n int, d time.Duration) []Ban {
	out := make([]Ban, n)
	for i := range out {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		out[i] = Ban{Jail: jail, Prefix: netip.PrefixFrom(a, 32), Until: now0.Add(d)}
	}
	return out
}

// stagingSets lists the staging sets in the namespace: ipset's, or the
// nftables sets no rule uses.
func (f *fixture) stagingSets() []string {
	f.t.Helper()
	if f.kind == "nftables" {
		return f.nftStagingSets()
	}
	var out []string
	for _, name := range strings.Fields(f.sh("ipset list -n")) {
		if _, _, tmp, ok := parseSetName(name); ok && tmp {
			out = append(out, name)
		}
	}
	return out
}

// enforced prints what the firewall blocks: the rules, and the members
// of the sets they use (not the staging sets) with their ends to the
// minute.
func (f *fixture) enforced() string {
	f.t.Helper()
	var b strings.Builder
	b.WriteString(dumpExpires.ReplaceAllString(f.sh("iptables-save | sed '/^#/d'; ip6tables-save | sed '/^#/d'"), ""))
	b.WriteString(withoutIdleSets(dumpExpires.ReplaceAllString(f.sh("nft list ruleset"), "")))
	for _, ban := range f.actual() {
		// The kernel counts a timeout down as the test runs: an end read
		// a second later is a second earlier. The tests' bans end on
		// whole minutes, so the minute is what they hold.
		if !ban.Until.IsZero() {
			ban.Until = ban.Until.Round(time.Minute)
		}
		fmt.Fprintf(&b, "%s\n", ban)
	}
	return b.String()
}

// withoutIdleSets drops from an nft listing the sets no rule uses.
func withoutIdleSets(ruleset string) string {
	var out []string
	lines := strings.Split(ruleset, "\n")
	for i := 0; i < len(lines); i++ {
		name, ok := strings.CutPrefix(strings.TrimSpace(lines[i]), "set ")
		if name, _ = strings.CutSuffix(name, " {"); ok && !strings.Contains(ruleset, "@"+name+" ") {
			for i < len(lines) && strings.TrimSpace(lines[i]) != "}" {
				i++
			}
			continue
		}
		if strings.TrimSpace(lines[i]) != "" {
			out = append(out, lines[i])
		}
	}
	return strings.Join(out, "\n")
}

// nftStagingSets lists the nftables sets no rule uses.
func (f *fixture) nftStagingSets() []string {
	f.t.Helper()
	ruleset := f.sh("nft list ruleset")
	var out []string
	for _, line := range strings.Split(ruleset, "\n") {
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), "set "); ok {
			if name, _ = strings.CutSuffix(name, " {"); !strings.Contains(ruleset, "@"+name+" ") {
				out = append(out, name)
			}
		}
	}
	return out
}

func stager(t *testing.T, f *fixture) Stager {
	t.Helper()
	st, ok := f.b.(Stager)
	if !ok {
		t.Fatalf("the %s backend is no Stager", f.kind)
	}
	return st
}

func TestStageIpset(t *testing.T)    { testStage(t, "ipset") }
func TestStageNftables(t *testing.T) { testStage(t, "nftables") }

// testStage checks Stage against the kernel: until the Apply nothing the
// firewall blocks changes; the Apply leaves exactly the desired bans and
// the Diff a plain Apply reports; Drop leaves the firewall as it was; and
// what a crash leaves after Stage goes at the next Apply.
func testStage(t *testing.T, kind string) {
	ctx := context.Background()
	base := suiteBans()
	// A large change: 3,000 more bans in sshd (staged, ipset), one more
	// in web (added in place).
	grown := append(append([]Ban(nil), base...), manyBans("sshd", 3000, time.Hour)...)
	grown = append(grown, ban("web", "198.51.100.9", time.Hour))

	t.Run("Apply", func(t *testing.T) {
		f := newFixture(t, kind, Options{})
		f.apply(suiteJails, base)
		plan, err := f.b.Plan(ctx, suiteJails, grown, now0)
		if err != nil {
			t.Fatal(err)
		}
		before := f.enforced()
		staged, err := stager(t, f).Stage(ctx, suiteJails, grown, now0)
		if err != nil {
			t.Fatalf("Stage: %v", err)
		}
		if after := f.enforced(); after != before {
			t.Fatalf("Stage changed what the firewall blocks:\n%s", diffLines(before, after))
		}
		// sshd's IPv4 set is filled beside it; web's one new member
		// waits for the Apply.
		want := "logjail-sshd-4t"
		if kind == "nftables" {
			var sets []string
			for _, pl := range nftPlaces {
				sets = append(sets, shardName("sshd", v4, pl, 'b'))
			}
			slices.Sort(sets)
			want = strings.Join(sets, " ")
		}
		staging := f.stagingSets()
		slices.Sort(staging)
		if got := strings.Join(staging, " "); got != want {
			t.Errorf("staging sets after Stage: %q, want %q", got, want)
		}
		if kind == "nftables" {
			// The filled sets hold sshd's IPv4 bans, the old and the
			// new, each in its place.
			holding := f.setsHolding("sshd", v4, 'b')
			for _, b := range grown {
				if b.Jail == "sshd" && b.Prefix.Addr().Is4() {
					if got := holding[Addr(b.Prefix)]; len(got) != 1 || got[0] != shardName("sshd", v4, placeOf(b.Prefix), 'b') {
						t.Fatalf("after Stage, %s lies in %v, want %s", b.Prefix, got, shardName("sshd", v4, placeOf(b.Prefix), 'b'))
					}
				}
			}
		}
		d, err := staged.Apply(ctx)
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
		got, want := diffText(d), diffText(plan)
		if kind == "nftables" {
			// The bans are the same; the structure is not: sshd's
			// IPv4 rules move to the filled sets, the sets they used
			// go.
			for _, step := range []string{
				`add rule "logjail-sshd-4.ip0b drop" to chain logjail-sshd`, `delete rule "logjail-sshd-4.ip0a drop" from chain logjail-sshd`,
				"delete set inet logjail logjail-sshd-4.ip0a", "delete set inet logjail logjail-sshd-4.net15a",
			} {
				if !slices.Contains(d.Setup, step) {
					t.Errorf("staged Apply: no %q in %q", step, d.Setup)
				}
			}
			d.Setup, plan.Setup = nil, nil
			got, want = diffText(d), diffText(plan)
		}
		if got != want {
			t.Errorf("staged Apply did\n%s\nPlan listed\n%s", got, want)
		}
		if len(d.Added) != 3001 || len(d.Removed) != 0 {
			t.Errorf("staged Apply added %d, removed %d; want 3001, 0", len(d.Added), len(d.Removed))
		}
		f.checkActual(grown)
		if s := f.stagingSets(); len(s) > 0 {
			t.Errorf("staging sets left after Apply: %v", s)
		}
		if d.Mark == nil {
			t.Error("a staged Apply into a quiet kernel left no mark")
		}
		if again, err := f.b.Plan(ctx, suiteJails, grown, now0); err != nil || !again.Empty() {
			t.Errorf("Plan after the staged Apply: %v\n%s", err, diffText(again))
		}
		// And back: 3,000 fewer (removals are made in place at the
		// Apply: nothing to fill ahead).
		staged, err = stager(t, f).Stage(ctx, suiteJails, base, now0)
		if err != nil {
			t.Fatal(err)
		}
		if d, err = staged.Apply(ctx); err != nil || len(d.Removed) != 3001 {
			t.Fatalf("staged Apply back: %v, removed %d", err, len(d.Removed))
		}
		f.checkActual(base)
	})

	t.Run("IntoEmpty", func(t *testing.T) {
		// The first ban -: no set yet; the staging set is renamed in.
		f := newFixture(t, kind, Options{})
		staged, err := stager(t, f).Stage(ctx, suiteJails, grown, now0)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.actual(); len(got) != 0 {
			t.Fatalf("Stage put %d bans in force", len(got))
		}
		if _, err := staged.Apply(ctx); err != nil {
			t.Fatal(err)
		}
		f.checkActual(grown)
		if s := f.stagingSets(); len(s) > 0 {
			t.Errorf("staging sets left: %v", s)
		}
	})

	t.Run("Small", func(t *testing.T) {
		// One ban more stays an add in place: nothing staged; and so
		// do many into a set much larger.
		f := newFixture(t, kind, Options{})
		f.apply(suiteJails, grown)
		more := append(append([]Ban(nil), grown...), ban("sshd", "198.51.100.10", time.Hour))
		staged, err := stager(t, f).Stage(ctx, suiteJails, more, now0)
		if err != nil {
			t.Fatal(err)
		}
		if s := f.stagingSets(); len(s) > 0 {
			t.Errorf("one ban staged sets %v", s)
		}
		d, err := staged.Apply(ctx)
		if err != nil || len(d.Added) != 1 {
			t.Fatalf("Apply: %v, %d added, want 1", err, len(d.Added))
		}
		f.checkActual(more)
		// 1,200 more in a set of 3,001 (ipset): past StageMin, but
		// less than half of the set, so added in place too.
		more = append(more, manyBans("sshd", 4200, time.Hour)[3000:]...)
		if staged, err = stager(t, f).Stage(ctx, suiteJails, more, now0); err != nil {
			t.Fatal(err)
		}
		if s := f.stagingSets(); len(s) > 0 {
			t.Errorf("1,200 bans into 3,002 staged sets %v", s)
		}
		if d, err = staged.Apply(ctx); err != nil || len(d.Added) != 1200 {
			t.Fatalf("Apply: %v, %d added, want 1200", err, len(d.Added))
		}
		f.checkActual(more)
	})

	t.Run("Drop", func(t *testing.T) {
		f := newFixture(t, kind, Options{})
		f.apply(suiteJails, base)
		before := f.dump()
		staged, err := stager(t, f).Stage(ctx, suiteJails, grown, now0)
		if err != nil {
			t.Fatal(err)
		}
		if err := staged.Drop(ctx); err != nil {
			t.Fatalf("Drop: %v", err)
		}
		if after := f.dump(); after != before {
			t.Errorf("Drop left the firewall changed:\n%s", diffLines(before, after))
		}
	})

	t.Run("DropIntoEmpty", func(t *testing.T) {
		// The first ban - failed its commit: nothing of it stays, not
		// even the table nftables' Stage made for its sets.
		f := newFixture(t, kind, Options{})
		before := f.dump()
		staged, err := stager(t, f).Stage(ctx, suiteJails, grown, now0)
		if err != nil {
			t.Fatal(err)
		}
		if kind == "nftables" && len(f.stagingSets()) == 0 {
			t.Fatal("Stage into an empty firewall filled no set")
		}
		if err := staged.Drop(ctx); err != nil {
			t.Fatalf("Drop: %v", err)
		}
		if after := f.dump(); after != before {
			t.Errorf("Drop left the firewall changed:\n%s", diffLines(before, after))
		}
	})

	t.Run("Crash", func(t *testing.T) {
		// Stage, then neither Apply nor Drop (the process died): the
		// next Apply, and the next Stage, clean up after it.
		f := newFixture(t, kind, Options{})
		f.apply(suiteJails, base)
		if _, err := stager(t, f).Stage(ctx, suiteJails, grown, now0); err != nil {
			t.Fatal(err)
		}
		f.checkActual(base)
		if _, err := stager(t, f).Stage(ctx, suiteJails, grown, now0); err != nil {
			t.Fatalf("Stage over a crashed one: %v", err)
		}
		f.apply(suiteJails, base)
		f.checkActual(base)
		if s := f.stagingSets(); len(s) > 0 {
			t.Errorf("staging sets left after the next Apply: %v", s)
		}
	})
}

// TestStageNftablesTooLarge: a change past one transaction. Stage may
// fill sets no rule uses in several transactions, which changes nothing
// the firewall blocks, and the Apply swaps them in (Adds); the rest of a
// change is never sent in parts by Stage (that would put bans in force
// before the caller's commit): Stage sends nothing, and the Apply makes
// it afresh (Removals, which are made in place).
func TestStageNftablesTooLarge(t *testing.T) {
	defer func(n int) { nftTxnElems = n }(nftTxnElems)
	nftTxnElems = 1000
	ctx := context.Background()
	base := suiteBans()
	grown := append(append([]Ban(nil), base...), manyBans("sshd", 3000, time.Hour)...)
	for _, c := range []struct {
		name       string
		from, to   []Ban
		added, rem int
		staged     int // sets Stage fills
	}{
		{"Adds", base, grown, 3000, 0, 2 * nftShards},
		{"Removals", grown, base, 0, 3000, 0},
		// sshd's adds are staged, web's removals are too many to hold:
		// all of it afresh, the sets filled for sshd deleted again.
		{"Both", append(append([]Ban(nil), base...), manyBans("web", 3000, time.Hour)...), grown, 3000, 3000, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			nftTxnElems = 100000
			f := newFixture(t, "nftables", Options{})
			f.apply(suiteJails, c.from)
			nftTxnElems = 1000
			before, enforced := f.dump(), f.enforced()
			staged, err := stager(t, f).Stage(ctx, suiteJails, c.to, now0)
			if err != nil {
				t.Fatal(err)
			}
			if after := f.enforced(); after != enforced {
				t.Fatalf("Stage of a change past one transaction changed what the firewall blocks:\n%s", diffLines(enforced, after))
			}
			if got := len(f.stagingSets()); got != c.staged {
				t.Errorf("Stage filled %d sets, want %d", got, c.staged)
			}
			if after := f.dump(); c.staged == 0 && after != before {
				t.Fatalf("Stage of a change past one transaction changed the firewall:\n%s", diffLines(before, after))
			}
			d, err := staged.Apply(ctx)
			if err != nil || len(d.Added) != c.added || len(d.Removed) != c.rem {
				t.Fatalf("Apply: %v, %d added, %d removed; want %d, %d", err, len(d.Added), len(d.Removed), c.added, c.rem)
			}
			f.checkActual(c.to)
			if s := f.stagingSets(); len(s) > 0 {
				t.Errorf("staging sets left after Apply: %v", s)
			}
		})
	}
}
