package runner

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"logjail/enforce"
	"logjail/state"
)

// TestQuietRun: a run that decides nothing, with backend none, takes the
// active counts from the state's ban summary instead of reading the bans,
// and reads them again as soon as a ban was written, ended or started, or
// the guard changed; a ban the guard refuses keeps every run reading (and
// reporting it).
func TestQuietRun(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	if err := os.WriteFile(log, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, log)
	db := openDB(t)
	fw, err := enforce.New("none", enforce.Options{})
	if err != nil {
		t.Fatal(err)
	}
	guard, _ := enforce.NewGuard(enforce.Options{})
	run := func(now time.Time, g *enforce.Guard) *Result {
		t.Helper()
		res, err := Run(context.Background(), db, Options{Config: cfg, Now: now, Firewall: fw, Guard: g})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	check := func(name string, res *Result, quiet bool, active int, unbans int) {
		t.Helper()
		if res.quiet != quiet || res.ActiveCount["manual"] != active || len(res.Unbans) != unbans {
			t.Errorf("%s: quiet %v, active %v, unbans %d; want %v, %d, %d", name, res.quiet, res.ActiveCount, len(res.Unbans), quiet, active, unbans)
		}
		if quiet && (res.Active != nil || res.Firewall != nil) {
			t.Errorf("%s: a quiet run read the bans (%d) or planned the firewall (%+v)", name, len(res.Active), res.Firewall)
		}
		if !quiet && (len(res.Active) != active || res.Firewall == nil) {
			t.Errorf("%s: %d active read, firewall %+v; want %d and a plan", name, len(res.Active), res.Firewall, active)
		}
	}
	mustBan(t, db, BanOptions{Config: cfg, Now: banNow, For: "1h", Targets: []netip.Prefix{pfx("198.51.100.7")}})
	check("after a ban", run(banNow.Add(time.Minute), guard), false, 1, 0)
	check("nothing new", run(banNow.Add(2*time.Minute), guard), true, 1, 0)
	check("nothing new again", run(banNow.Add(3*time.Minute), guard), true, 1, 0)
	check("another guard", run(banNow.Add(4*time.Minute), &enforce.Guard{}), false, 1, 0)
	check("the first guard again", run(banNow.Add(5*time.Minute), guard), false, 1, 0)
	mustBan(t, db, BanOptions{Config: cfg, Now: banNow.Add(10 * time.Minute), For: "1h", Targets: []netip.Prefix{pfx("198.51.100.8")}})
	check("after a second ban", run(banNow.Add(11*time.Minute), guard), false, 2, 0)
	check("quiet with two", run(banNow.Add(12*time.Minute), guard), true, 2, 0)
	// The first ban ends at banNow+1h: the summary's Next.
	check("the first ban ended", run(banNow.Add(time.Hour), guard), false, 1, 1)
	check("quiet with one", run(banNow.Add(time.Hour+time.Minute), guard), true, 1, 0)
	if _, err := Unban(context.Background(), db, UnbanOptions{Config: cfg, Now: banNow.Add(time.Hour + 2*time.Minute), Targets: []netip.Prefix{pfx("198.51.100.8")}}); err != nil {
		t.Fatal(err)
	}
	check("after an unban", run(banNow.Add(time.Hour+3*time.Minute), guard), false, 0, 0)
	check("quiet with none", run(banNow.Add(time.Hour+4*time.Minute), guard), true, 0, 0)
	// A run at an earlier time than the summary's (made at the run
	// after the unban) reads the bans.
	check("the clock went back", run(banNow.Add(time.Hour+2*time.Minute), guard), false, 0, 0)

	// A ban the guard refuses (recorded without the guard, as by an
	// older version) is reported at every run, so every run reads.
	mustBan(t, db, BanOptions{Config: cfg, Now: banNow.Add(2 * time.Hour), For: "1h", Targets: []netip.Prefix{pfx("127.0.0.9")}})
	for i := 1; i <= 2; i++ {
		res := run(banNow.Add(2*time.Hour+time.Duration(i)*time.Minute), guard)
		check("refused", res, false, 1, 0)
		if res.Firewall == nil || len(res.Firewall.Refused) != 1 {
			t.Errorf("run %d with a refused ban: %+v", i, res.Firewall)
		}
	}
}

// TestBanSummaryDropped: every write of a ban drops the summary; one set
// after the writes of its transaction stays.
func TestBanSummaryDropped(t *testing.T) {
	db := openDB(t)
	b := state.Ban{Jail: "sshd", Prefix: pfx("192.0.2.1"), Start: banNow, Until: banNow.Add(time.Hour), Offense: 1}
	sum := state.BanSummary{At: banNow, Next: b.Until, Active: map[string]int{"sshd": 1}, Config: 7}
	steps := []struct {
		name string
		fn   func(tx *state.Tx) error
		kept bool
	}{
		{"set", func(tx *state.Tx) error { return tx.SetBanSummary(sum) }, true},
		{"put a ban", func(tx *state.Tx) error { return tx.PutBan(&b) }, false},
		{"put, then set", func(tx *state.Tx) error {
			if err := tx.PutBan(&b); err != nil {
				return err
			}
			return tx.SetBanSummary(sum)
		}, true},
		{"set, then put", func(tx *state.Tx) error {
			if err := tx.SetBanSummary(sum); err != nil {
				return err
			}
			return tx.PutBan(&b)
		}, false},
		{"set", func(tx *state.Tx) error { return tx.SetBanSummary(sum) }, true},
		{"put bans", func(tx *state.Tx) error { return tx.PutBans([]*state.Ban{&b}) }, false},
		{"set", func(tx *state.Tx) error { return tx.SetBanSummary(sum) }, true},
		{"delete a ban", func(tx *state.Tx) error { return tx.DeleteBan(b.Jail, b.Prefix) }, false},
	}
	for _, s := range steps {
		if err := db.Update(s.fn); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		err := db.View(func(tx *state.Tx) error {
			got, ok, err := tx.BanSummary()
			if ok != s.kept || ok && (got.Config != 7 || got.Active["sshd"] != 1 || !got.Next.Equal(b.Until)) {
				t.Errorf("%s: summary %+v kept %v, want kept %v", s.name, got, ok, s.kept)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
