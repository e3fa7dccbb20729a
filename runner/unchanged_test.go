package runner

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"logjail/enforce"
	"logjail/state"
)

// TestUnchangedRunCommitsNothing: a run that finds nothing new leaves the
// state file as it was, byte for byte and with its modification time,
// and its time still shows as the last run; the filter's saved context
// (an sshd connection whose attempt has not ended) is kept as it was. A
// line that changes nothing but the position, or a failure, is written.
func TestUnchangedRunCommitsNothing(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	t0 := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	appendLog := func(s string) {
		t.Helper()
		f, err := os.OpenFile(log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	appendLog(sshdFail(t0, "192.0.2.1") +
		t0.Format(time.Stamp) + " h sshd[7]: Connection from 192.0.2.9 port 5555 on 10.0.0.1 port 22\n")
	cfg := testConfig(t, log)
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := state.Open(path, state.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fw, err := enforce.New("none", enforce.Options{})
	if err != nil {
		t.Fatal(err)
	}
	guard, _ := enforce.NewGuard(enforce.Options{})
	run := func(now time.Time) *Result {
		t.Helper()
		res, err := Run(context.Background(), db, Options{Config: cfg, Now: now, Firewall: fw, Guard: guard})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	type snap struct {
		data  []byte
		mtime time.Time
	}
	file := func() snap {
		t.Helper()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return snap{data, fi.ModTime()}
	}
	lastRun := func() time.Time {
		t.Helper()
		var last time.Time
		err := db.View(func(tx *state.Tx) error {
			last, _ = tx.LastRun()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return last
	}
	savedContext := func() []byte {
		t.Helper()
		var rec sourceRecord
		err := db.View(func(tx *state.Tx) error {
			_, err := tx.File("sshd", log, &rec)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return rec.context
	}

	// The first runs read the log and record the position, the window,
	// the clock and the ban summary.
	if res := run(t0.Add(time.Minute)); res.unchanged || res.Jails["sshd"].Lines != 2 {
		t.Fatalf("first run: unchanged %v, %+v", res.unchanged, res.Jails["sshd"])
	}
	ctx := savedContext()
	if len(ctx) == 0 {
		t.Fatal("no sshd context saved for the open connection")
	}
	run(t0.Add(2 * time.Minute)) // the summary of a run without the bans read
	before := file()
	time.Sleep(10 * time.Millisecond) // a write would show in the mtime
	for i := 3; i <= 4; i++ {
		now := t0.Add(time.Duration(i) * time.Minute)
		res := run(now)
		if !res.unchanged || !res.quiet {
			t.Errorf("run %d, nothing new: unchanged %v, quiet %v", i, res.unchanged, res.quiet)
		}
		if after := file(); !bytes.Equal(after.data, before.data) || !after.mtime.Equal(before.mtime) {
			t.Errorf("run %d, nothing new: the state file changed (mtime %s, was %s)", i, after.mtime, before.mtime)
		}
		if got := lastRun(); !got.Equal(now) {
			t.Errorf("run %d: last run %s, want %s", i, got, now)
		}
	}
	if got := savedContext(); !bytes.Equal(got, ctx) {
		t.Errorf("the filter context changed in runs that read nothing: %q, was %q", got, ctx)
	}

	// A line that is no failure moves the position: written.
	appendLog(t0.Add(5*time.Minute).Format(time.Stamp) + " h cron[9]: (root) CMD (true)\n")
	if res := run(t0.Add(5 * time.Minute)); res.unchanged {
		t.Error("a new line: the run committed nothing")
	}
	if bytes.Equal(file().data, before.data) {
		t.Error("a new line: the state file is unchanged")
	}
	if got := lastRun(); !got.Equal(t0.Add(5 * time.Minute)) {
		t.Errorf("after a committed run: last run %s", got)
	}
	// A failure: a window written.
	before = file()
	appendLog(sshdFail(t0.Add(6*time.Minute), "192.0.2.2"))
	if res := run(t0.Add(6 * time.Minute)); res.unchanged || res.Jails["sshd"].Failures != 1 {
		t.Errorf("a failure: unchanged %v, %+v", res.unchanged, res.Jails["sshd"])
	}
	if bytes.Equal(file().data, before.data) {
		t.Error("a failure: the state file is unchanged")
	}
	// Nothing new again: nothing written, the last run still moves.
	before = file()
	if res := run(t0.Add(7 * time.Minute)); !res.unchanged {
		t.Error("nothing new after a failure: committed")
	}
	if !bytes.Equal(file().data, before.data) {
		t.Error("nothing new after a failure: the state file changed")
	}
	if got := lastRun(); !got.Equal(t0.Add(7 * time.Minute)) {
		t.Errorf("last run %s, want %s", got, t0.Add(7*time.Minute))
	}
}

// TestUnchangedDryRun: a dry run with nothing new plans what a real run
// would (nothing) and writes nothing, not even the time of the run.
func TestUnchangedDryRun(t *testing.T) {
	log := filepath.Join(t.TempDir(), "auth.log")
	if err := os.WriteFile(log, []byte(sshdFail(banNow, "192.0.2.1")), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, log)
	db := openDB(t)
	if _, err := Run(context.Background(), db, Options{Config: cfg, Now: banNow}); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), db, Options{Config: cfg, Now: banNow.Add(time.Minute), DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Bans)+len(res.Unbans) != 0 || res.unchanged {
		t.Errorf("dry run: %d bans, %d unbans, unchanged %v", len(res.Bans), len(res.Unbans), res.unchanged)
	}
	if _, err := os.Stat(db.Path() + ".lastrun"); !os.IsNotExist(err) {
		t.Errorf("the dry run noted its time: %v", err)
	}
}
