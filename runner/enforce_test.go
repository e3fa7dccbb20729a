package runner

import (
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"logjail/enforce"
	"logjail/state"
)

// TestSummaryMark: a quiet run trusts the summary's firewall mark only
// when the same kind of backend took it, and for FullCompareEvery after
// the full comparison it was taken at (not before it: a clock set back).
func TestSummaryMark(t *testing.T) {
	full := banNow
	raw, err := json.Marshal(enforce.Mark{Kind: "ipset", Full: full, Counts: map[string]int{"logjail-sshd-4": 3}})
	if err != nil {
		t.Fatal(err)
	}
	s := state.BanSummary{At: full, Firewall: raw}
	for _, c := range []struct {
		name string
		s    state.BanSummary
		kind string
		now  time.Time
		want bool
	}{
		{"right after", s, "ipset", full, true},
		{"just before the full comparison is due", s, "ipset", full.Add(FullCompareEvery - time.Second), true},
		{"when it is due", s, "ipset", full.Add(FullCompareEvery), false},
		{"another backend", s, "nftables", full.Add(time.Minute), false},
		{"the clock set back", s, "ipset", full.Add(-time.Minute), false},
		{"no mark", state.BanSummary{At: full}, "ipset", full, false},
		{"a damaged mark", state.BanSummary{At: full, Firewall: json.RawMessage(`{"kind":`)}, "ipset", full, false},
	} {
		m, ok := summaryMark(c.s, c.kind, c.now)
		if ok != c.want || ok && (m.Kind != "ipset" || m.Counts["logjail-sshd-4"] != 3) {
			t.Errorf("%s: %+v, %v; want %v", c.name, m, ok, c.want)
		}
	}
}

// checkedFirewall is a kernel backend for a unit test of the run's
// firewall step (the real ones are in TestFirewallExactAtScale, package
// main): Apply plans as backend none does and returns a mark; Check
// answers same.
type checkedFirewall struct {
	none    enforce.Backend
	same    bool
	applies int
	checks  int
}

func (f *checkedFirewall) Kind() string { return "ipset" }
func (f *checkedFirewall) Actual(ctx context.Context, now time.Time) ([]enforce.Ban, error) {
	return nil, nil
}
func (f *checkedFirewall) Apply(ctx context.Context, jails []enforce.JailSpec, desired []enforce.Ban, now time.Time) (enforce.Diff, error) {
	f.applies++
	d, err := f.none.Plan(ctx, jails, desired, now)
	d.Mark = &enforce.Mark{Kind: "ipset", Full: now}
	return d, err
}
func (f *checkedFirewall) Plan(ctx context.Context, jails []enforce.JailSpec, desired []enforce.Ban, now time.Time) (enforce.Diff, error) {
	return f.none.Plan(ctx, jails, desired, now)
}
func (f *checkedFirewall) Flush(ctx context.Context) error { return nil }
func (f *checkedFirewall) Check(ctx context.Context, jails []enforce.JailSpec, m enforce.Mark) (bool, error) {
	f.checks++
	return f.same, nil
}

// TestQuietRunChecksKernel: with a kernel backend, a run whose bans did
// not change checks the kernel against the last apply's mark instead
// of applying; a failed check, or a full comparison due, applies with
// the bans read; a run that changed the bans applies.
func TestQuietRunChecksKernel(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	os.WriteFile(log, nil, 0o644)
	cfg := testConfig(t, log)
	db := openDB(t)
	none, _ := enforce.New("none", enforce.Options{})
	fw := &checkedFirewall{none: none, same: true}
	step := 0
	run := func(name string, at time.Time, applied, checked bool) {
		t.Helper()
		step++
		a, c := fw.applies, fw.checks
		res, err := Run(context.Background(), db, Options{Config: cfg, Now: at, Firewall: fw})
		if err != nil {
			t.Fatal(err)
		}
		if got := fw.applies > a; got != applied {
			t.Errorf("%s: applied %v, want %v", name, got, applied)
		}
		if got := fw.checks > c; got != checked {
			t.Errorf("%s: checked %v, want %v", name, got, checked)
		}
		if res.FirewallChecked != (checked && !applied) || res.Firewall == nil || res.ActiveCount["manual"] != 1 {
			t.Errorf("%s: checked only %v, firewall %+v, active %v", name, res.FirewallChecked, res.Firewall, res.ActiveCount)
		}
		if applied && len(res.Active) != 1 {
			t.Errorf("%s: applied with %d bans read, want 1", name, len(res.Active))
		}
	}
	mustBan(t, db, BanOptions{Config: cfg, Now: banNow, For: "1d", Targets: []netip.Prefix{pfx("198.51.100.7")}})
	run("after a ban", banNow.Add(time.Minute), true, false)
	run("nothing new", banNow.Add(2*time.Minute), false, true)
	fw.same = false
	run("the kernel changed", banNow.Add(3*time.Minute), true, true)
	fw.same = true
	run("repaired", banNow.Add(4*time.Minute), false, true)
	run("full comparison due", banNow.Add(3*time.Minute+FullCompareEvery), true, false)
	run("after it", banNow.Add(4*time.Minute+FullCompareEvery), false, true)
}
