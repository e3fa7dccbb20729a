package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStatus: status reads the last run, the bans active at now, the
// failures inside findtime at now (not those older) and where each log
// was read up to.
func TestStatus(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	cfg := testConfig(t, log) // maxretry 3, findtime 10m, bantime 20m
	line := sshdFail
	t0 := banNow
	text := line(t0, "192.0.2.1") + line(t0.Add(time.Second), "192.0.2.1") + line(t0.Add(2*time.Second), "192.0.2.1") + // banned
		line(t0.Add(-20*time.Minute), "192.0.2.2") + // out of the window at now
		line(t0.Add(time.Minute), "192.0.2.3") + line(t0.Add(2*time.Minute), "192.0.2.3")
	os.WriteFile(log, []byte(text), 0o644)
	db := openDB(t)
	now := t0.Add(3 * time.Minute)
	if _, err := Run(context.Background(), db, Options{Config: cfg, Now: now}); err != nil {
		t.Fatal(err)
	}
	st, err := Status(db, cfg, now)
	if err != nil {
		t.Fatal(err)
	}
	if st.LastRun == nil || *st.LastRun != "2026-11-24T12:03:00Z" {
		t.Errorf("last run %v", st.LastRun)
	}
	if len(st.Bans) != 1 || st.Bans[0].IP != "192.0.2.1" || st.Bans[0].Offense != 1 {
		t.Errorf("bans %+v", st.Bans)
	}
	if len(st.Failures) != 1 || st.Failures[0].IP != "192.0.2.3" || st.Failures[0].Count != 2 || st.Failures[0].First != "2026-11-24T12:01:00Z" {
		t.Errorf("failures %+v, want 192.0.2.3 twice from 12:01", st.Failures)
	}
	if len(st.Files) != 1 || st.Files[0].Path != log || st.Files[0].Offset != int64(len(text)) || st.Files[0].Inode == 0 {
		t.Errorf("files %+v", st.Files)
	}
	// Later, the ban over and the window passed: nothing in progress.
	st, _ = Status(db, cfg, now.Add(time.Hour))
	if len(st.Bans) != 0 || len(st.Failures) != 0 || !strings.Contains(*st.LastRun, "12:03") {
		t.Errorf("an hour later: %+v", st)
	}
}
