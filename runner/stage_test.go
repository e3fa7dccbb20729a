package runner

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"logjail/enforce"
	"logjail/state"
)

// recStager records what Ban stages (a fake beside the namespace tests
// of main and enforce, which stage into the kernel).
type recStager struct {
	enforce.Backend
	stages  int
	jails   []string
	desired []string
	applied bool
}

func (r *recStager) Stage(_ context.Context, jails []enforce.JailSpec, desired []enforce.Ban, now time.Time) (enforce.Staged, error) {
	r.stages++
	r.jails, r.desired = nil, nil
	for _, j := range jails {
		r.jails = append(r.jails, j.Name)
	}
	for _, b := range desired {
		r.desired = append(r.desired, b.String())
	}
	slices.Sort(r.jails)
	slices.Sort(r.desired)
	return recStaged{r}, nil
}

type recStaged struct{ r *recStager }

func (s recStaged) Apply(context.Context) (enforce.Diff, error) {
	s.r.applied = true
	return enforce.Diff{}, nil
}
func (s recStaged) Drop(context.Context) error { return nil }

// TestBanStagesWhatItCommits: what Ban stages, early (--for, the manual
// jail) or late (a jail's bantime), is exactly what the state holds
// active after its commit, over bans held longer, shorter, for good and
// ended; and the staged change is applied.
func TestBanStagesWhatItCommits(t *testing.T) {
	cfg := banConfig(t, false)
	for _, c := range []struct {
		name, jail, dur string
	}{
		{"for 1h in sshd", "sshd", "1h"},
		{"for 30m in sshd", "sshd", "30m"},
		{"permanent in sshd", "sshd", "permanent"},
		{"sshd's bantime", "sshd", ""},
		{"manual", "", ""},
		{"manual for 1h", "", "1h"},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := openDB(t)
			// Held: 10.0.0.1 for 45m, .2 for good, .3 ended, .4 for 2h,
			// in sshd and in manual; web 10.0.0.1 for 1h.
			err := db.Update(func(tx *state.Tx) error {
				for _, jail := range []string{"sshd", ManualJail} {
					for i, d := range []time.Duration{45 * time.Minute, 0, -time.Minute, 2 * time.Hour} {
						b := &state.Ban{Jail: jail, Prefix: pfx(fmt.Sprintf("10.0.0.%d", i+1)), Start: banNow.Add(-time.Hour), Offense: 1}
						if d != 0 {
							b.Until = banNow.Add(d)
						}
						if err := tx.PutBan(b); err != nil {
							return err
						}
					}
				}
				return tx.PutBan(&state.Ban{Jail: "web", Prefix: pfx("10.0.0.1"), Start: banNow, Until: banNow.Add(time.Hour), Offense: 1})
			})
			if err != nil {
				t.Fatal(err)
			}
			none, err := enforce.New("none", enforce.Options{})
			if err != nil {
				t.Fatal(err)
			}
			fw := &recStager{Backend: none}
			targets := []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "192.0.2.0/24", "10.0.0.5"}
			var ps []netip.Prefix
			for _, s := range targets {
				ps = append(ps, pfx(s))
			}
			if _, err := Ban(context.Background(), db, BanOptions{Config: cfg, Now: banNow, Jail: c.jail, For: c.dur, Targets: ps, Firewall: fw}); err != nil {
				t.Fatal(err)
			}
			active, err := ActiveBans(db, banNow)
			if err != nil {
				t.Fatal(err)
			}
			var want, wantJails []string
			for _, b := range Desired(active) {
				want = append(want, b.String())
			}
			for _, j := range JailSpecs(cfg, active) {
				wantJails = append(wantJails, j.Name)
			}
			slices.Sort(want)
			slices.Sort(wantJails)
			if fw.stages != 1 || !fw.applied {
				t.Errorf("staged %d times, applied %v; want once, applied", fw.stages, fw.applied)
			}
			if got, w := strings.Join(fw.desired, "\n"), strings.Join(want, "\n"); got != w {
				t.Errorf("staged\n%s\nthe state holds\n%s", got, w)
			}
			if !slices.Equal(fw.jails, wantJails) {
				t.Errorf("staged jails %v, want %v", fw.jails, wantJails)
			}
		})
	}
}
