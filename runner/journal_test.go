package runner

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"logjail/config"
	"logjail/internal/journaltest"
	"logjail/state"
)

func journalConfig(t *testing.T, files string, extra string) *config.Config {
	t.Helper()
	y := fmt.Sprintf("firewall: {backend: none}\njails:\n  sshd:\n    journal: {files: [%s]}\n    maxretry: 3\n    findtime: 10m\n    bantime: 20m\n%s", files, extra)
	cfg, err := config.Parse(strings.NewReader(y), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestRunJournal: run reads a journal in pieces from the saved cursor and
// bans as over a file; a forged SYSLOG_IDENTIFIER counts for nothing; a
// failing journalctl keeps nothing, and the next run reads the same
// entries.
func TestRunJournal(t *testing.T) {
	journaltest.Need(t)
	dir := t.TempDir()
	j := filepath.Join(dir, "system.journal")
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	fail := func(sec int, comm, addr string) journaltest.Entry {
		return journaltest.Entry{Time: t0.Add(time.Duration(sec) * time.Second), Comm: comm, Ident: "sshd", PID: 100 + sec, Msg: journaltest.SSHFail(addr)}
	}
	cfg := journalConfig(t, filepath.Join(dir, "*.journal"), "")
	db := openDB(t)
	run := func(now time.Time) *Result {
		t.Helper()
		res, err := Run(context.Background(), db, Options{Config: cfg, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	// Two failures, and three forged ones from logger.
	journaltest.Write(t, j, fail(1, "sshd", "192.0.2.1"), fail(2, "sshd-session", "192.0.2.1"),
		fail(3, "logger", "198.51.100.9"), fail(4, "logger", "198.51.100.9"), fail(5, "logger", "198.51.100.9"))
	res := run(t0.Add(time.Minute))
	if s := res.Jails["sshd"]; s.Lines != 2 || s.Failures != 2 || len(res.Bans) != 0 || len(res.Problems) != 0 {
		t.Fatalf("first run: %+v bans %v problems %v", s, res.Bans, res.Problems)
	}
	// journalctl writes every entry, then fails: a problem, nothing kept.
	journaltest.Write(t, j, fail(61, "sshd", "192.0.2.1"))
	real, err := exec.LookPath("journalctl")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	os.WriteFile(filepath.Join(bin, "journalctl"), []byte("#!/bin/sh\n"+real+" \"$@\"\necho 'journalctl: broken' >&2\nexit 1\n"), 0o755)
	path := os.Getenv("PATH")
	t.Setenv("PATH", bin+":"+path)
	res = run(t0.Add(2 * time.Minute))
	if len(res.Problems) != 1 || res.Jails["sshd"].Failures != 0 || !strings.Contains(res.Problems[0].Error(), "broken") {
		t.Fatalf("failing journalctl: problems %v stats %+v", res.Problems, res.Jails["sshd"])
	}
	t.Setenv("PATH", path)
	res = run(t0.Add(3 * time.Minute))
	if len(res.Bans) != 1 || res.Bans[0].Prefix.Addr().String() != "192.0.2.1" || !res.Bans[0].Start.Equal(t0.Add(61*time.Second)) {
		t.Fatalf("third run: bans %v problems %v", res.Bans, res.Problems)
	}
	// Nothing new: nothing read.
	res = run(t0.Add(4 * time.Minute))
	if s := res.Jails["sshd"]; s.Lines != 0 || s.Journals != 1 {
		t.Fatalf("quiet run: %+v", s)
	}
	// The saved position is in the state.
	db.View(func(tx *state.Tx) error {
		var rec JournalRecord
		found, err := tx.Journal("sshd", "files:"+filepath.Join(dir, "*.journal"), &rec)
		if err != nil || !found || rec.Seqnum != 6 || rec.Cursor == "" || rec.Realtime != t0.Add(61*time.Second).UnixMicro() {
			t.Errorf("saved %+v found %v err %v", rec, found, err)
		}
		return nil
	})
	// The totals of lost entries and suppressed messages go on from the
	// saved record, into the stats and the next record.
	key := "files:" + filepath.Join(dir, "*.journal")
	err = db.Update(func(tx *state.Tx) error {
		var rec JournalRecord
		if _, err := tx.Journal("sshd", key, &rec); err != nil {
			return err
		}
		rec.Lost, rec.Suppressed = 5, 2
		return tx.PutJournal("sshd", key, rec)
	})
	if err != nil {
		t.Fatal(err)
	}
	res = run(t0.Add(4*time.Minute + 30*time.Second))
	if s := res.Jails["sshd"]; s.JournalLost != 5 || s.JournalSuppressed != 2 || s.Journals != 1 {
		t.Errorf("totals: %+v, want 5 lost, 2 suppressed", s)
	}
	db.View(func(tx *state.Tx) error {
		var rec JournalRecord
		if _, err := tx.Journal("sshd", key, &rec); err != nil || rec.Lost != 5 || rec.Suppressed != 2 || rec.Seqnum != 6 {
			t.Errorf("saved %+v err %v, want 5 lost, 2 suppressed, seqnum 6", rec, err)
		}
		return nil
	})
	// A dry run keeps nothing either.
	journaltest.Write(t, j, fail(200, "sshd", "192.0.2.7"))
	before, _ := os.ReadFile(db.Path())
	res, err = Run(context.Background(), db, Options{Config: cfg, Now: t0.Add(5 * time.Minute), DryRun: true})
	if err != nil || res.Jails["sshd"].Lines != 1 {
		t.Fatalf("dry run: %v %+v", err, res.Jails["sshd"])
	}
	after, _ := os.ReadFile(db.Path())
	if string(before) != string(after) {
		t.Errorf("dry run changed the state file")
	}
}
