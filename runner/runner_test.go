package runner

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"logjail/analyze"
	"logjail/config"
	"logjail/state"
)

func testConfig(t *testing.T, log string) *config.Config {
	t.Helper()
	y := fmt.Sprintf("firewall: {backend: none}\njails:\n  sshd:\n    logpath: [%s]\n    maxretry: 3\n    findtime: 10m\n    bantime: 20m\n    bantime_increment: {enabled: true, factor: 2, maxtime: 2h}\n", log)
	cfg, err := config.Parse(strings.NewReader(y), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func openDB(t *testing.T) *state.DB {
	t.Helper()
	db, err := state.Open(filepath.Join(t.TempDir(), "state.db"), state.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func banString(b state.Ban) string {
	return fmt.Sprintf("%s %s %s %s #%d", b.Jail, b.Prefix, b.Start.UTC().Format(time.RFC3339), b.Until.UTC().Format(time.RFC3339), b.Offense)
}

// TestReplayEqualsLive: the loghub sample fed to Run in one-minute pieces,
// with now at each piece's end, decides exactly the bans of one replay of
// the whole log (analyze.Replay, what `logjail replay` runs), and so does
// one Run over it.
func TestReplayEqualsLive(t *testing.T) {
	raw, err := os.ReadFile("../testdata/loghub/OpenSSH_2k.log")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(strings.ReplaceAll(string(raw), "\r", "")))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	lines = lines[:len(lines)-1] // the sample's last line is unterminated
	stamp := func(l string) time.Time {
		ts, err := time.Parse(time.Stamp, l[:15])
		if err != nil {
			t.Fatal(err)
		}
		return ts.AddDate(2025, 0, 0)
	}
	end := stamp(lines[len(lines)-1]).Add(time.Minute)

	// One replay of the whole log, as `logjail replay` does it.
	cfg := testConfig(t, "/unused")
	whole := filepath.Join(t.TempDir(), "whole.log")
	if err := os.WriteFile(whole, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := replayBans(t, cfg, whole, end, time.Local)
	if len(want) < 10 {
		t.Fatalf("the engine banned %d: too few to compare", len(want))
	}

	decide := func(pieces bool) []string {
		dir := t.TempDir()
		log := filepath.Join(dir, "auth.log")
		cfg := testConfig(t, log)
		db := openDB(t)
		fh, err := os.Create(log)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		var got []string
		runAt := func(now time.Time) {
			res, err := Run(context.Background(), db, Options{Config: cfg, Now: now})
			if err != nil || len(res.Problems) > 0 {
				t.Fatalf("run at %s: %v %v", now, err, res.Problems)
			}
			for _, b := range res.Bans {
				got = append(got, banString(b))
			}
		}
		if !pieces {
			for _, l := range lines {
				fmt.Fprintln(fh, l)
			}
			runAt(end)
			return got
		}
		next := stamp(lines[0]).Truncate(time.Minute).Add(time.Minute)
		for _, l := range lines {
			for !stamp(l).Before(next) {
				runAt(next)
				next = next.Add(time.Minute)
			}
			fmt.Fprintln(fh, l)
		}
		runAt(end)
		return got
	}
	for _, mode := range []struct {
		name   string
		pieces bool
	}{{"one run", false}, {"one-minute pieces", true}} {
		t.Run(mode.name, func(t *testing.T) {
			got := decide(mode.pieces)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("bans differ from the replay:\n got %d:\n%s\nwant %d:\n%s", len(got), strings.Join(got, "\n"), len(want), strings.Join(want, "\n"))
			}
		})
	}
}

// replayBans replays log through cfg's sshd jail, as `logjail replay`
// does, and returns the bans decided as banString writes them.
func replayBans(t *testing.T, cfg *config.Config, log string, ref time.Time, loc *time.Location) []string {
	t.Helper()
	j := cfg.Jail("sshd")
	st, err := analyze.Replay(context.Background(), []string{log}, analyze.ReplayOptions{
		Jails: []analyze.ReplayJail{{Name: j.Name, Filter: j.Filter, Mode: j.Mode, Policy: Policy(j, cfg.History)}},
		Ref:   ref, Loc: loc})
	if err != nil {
		t.Fatal(err)
	}
	var bans []string
	for _, b := range st.Bans {
		bans = append(bans, banString(state.Ban{Jail: b.Jail, Prefix: b.Key, Start: b.Start, Until: b.Until, Offense: b.Offense}))
	}
	return bans
}
