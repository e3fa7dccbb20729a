package state

import (
	"errors"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestChanged: a write transaction is changed by a put, a delete of a
// key that exists or a new bucket, and not by reads, a delete of a
// missing key or an existing bucket asked for again; one that returns
// ErrUnchanged commits nothing.
func TestChanged(t *testing.T) {
	db, path := openTemp(t)
	if err := db.Update(func(tx *Tx) error { return tx.SetLastRun(t0) }); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name    string
		fn      func(tx *Tx) error
		changed bool
	}{
		{"reads", func(tx *Tx) error {
			tx.LastRun()
			tx.Warned("x")
			_, err := tx.Bans()
			return err
		}, false},
		{"delete a missing key", func(tx *Tx) error { return tx.ClearWarned("x") }, false},
		{"an existing bucket", func(tx *Tx) error {
			_, err := tx.tx.CreateBucketIfNotExists(bucketMeta)
			return err
		}, false},
		{"put", func(tx *Tx) error { return tx.SetWarned("x", t0) }, true},
		{"delete a key", func(tx *Tx) error { return tx.ClearWarned("x") }, true},
		{"a new bucket", func(tx *Tx) error {
			_, err := tx.tx.CreateBucketIfNotExists([]byte("new"))
			return err
		}, true},
	}
	for _, s := range steps {
		before, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		err = db.Update(func(tx *Tx) error {
			if err := s.fn(tx); err != nil {
				return err
			}
			if got := tx.Changed(); got != s.changed {
				t.Errorf("%s: changed %v, want %v", s.name, got, s.changed)
			}
			if !tx.Changed() {
				return ErrUnchanged
			}
			return nil
		})
		if s.changed != (err == nil) || !s.changed && !errors.Is(err, ErrUnchanged) {
			t.Errorf("%s: Update: %v", s.name, err)
		}
		after, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !s.changed && string(after) != string(before) {
			t.Errorf("%s: the file changed", s.name)
		}
	}
	if err := db.View(func(tx *Tx) error {
		if tx.Changed() {
			t.Error("a read transaction changed")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestNoteRun: the last run is the later of the time a committed run
// recorded and the time noted beside the file; a read-only state notes
// nothing; an unreadable note is none.
func TestNoteRun(t *testing.T) {
	db, path := openTemp(t)
	last := func() time.Time {
		t.Helper()
		var got time.Time
		if err := db.View(func(tx *Tx) error { got, _ = tx.LastRun(); return nil }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if err := db.Update(func(tx *Tx) error { return tx.SetLastRun(t0) }); err != nil {
		t.Fatal(err)
	}
	// A long time, then a shorter one written over it: nothing of the
	// first is left.
	long := time.Date(2026, 11, 24, 10, 1, 0, 123456789, time.FixedZone("", -7*3600))
	for _, n := range []time.Time{long, t0.Add(2 * time.Minute)} {
		if err := db.NoteRun(n); err != nil {
			t.Fatal(err)
		}
		if got := last(); !got.Equal(n) {
			t.Errorf("noted %s: last run %s", n, got)
		}
	}
	if err := db.Update(func(tx *Tx) error { return tx.SetLastRun(t0.Add(3 * time.Minute)) }); err != nil {
		t.Fatal(err)
	}
	if got := last(); !got.Equal(t0.Add(3 * time.Minute)) {
		t.Errorf("after a committed run: last run %s", got)
	}
	if err := os.WriteFile(path+lastRunSuffix, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := last(); !got.Equal(t0.Add(3 * time.Minute)) {
		t.Errorf("unreadable note: last run %s", got)
	}
	db.Close()
	ro, err := Open(path, Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.NoteRun(t0); !errors.Is(err, ErrReadOnly) {
		t.Errorf("read-only NoteRun: %v", err)
	}
}

// TestNoteNotFollowed: the note is never written or read through a
// symbolic link, nor opened when it is a FIFO (the run then records its
// time in the file).
func TestNoteNotFollowed(t *testing.T) {
	db, path := openTemp(t)
	target := path + ".target"
	if err := os.WriteFile(target, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path+lastRunSuffix); err != nil {
		t.Fatal(err)
	}
	if err := db.NoteRun(t0); err == nil {
		t.Error("NoteRun wrote through a symbolic link")
	}
	if data, _ := os.ReadFile(target); string(data) != "keep" {
		t.Errorf("the link's target was written: %q", data)
	}
	if err := os.WriteFile(target, []byte(t0.Format(time.RFC3339Nano)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := noted(path); ok {
		t.Error("a note read through a symbolic link")
	}
	os.Remove(path + lastRunSuffix)
	if err := syscall.Mkfifo(path+lastRunSuffix, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := db.NoteRun(t0); err == nil {
		t.Error("NoteRun wrote into a FIFO")
	}
	if _, ok := noted(path); ok {
		t.Error("a note read from a FIFO")
	}
}
