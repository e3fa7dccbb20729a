package state

import (
	"io"
	"math/rand"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"logjail/analyze"
)

// bloated writes a state whose free pages pass half of a file over
// compactMin: n tracks written, all but every tenth deleted. It returns
// the path and the prefixes kept.
func bloated(t *testing.T, dir string, n int) (string, []netip.Prefix) {
	t.Helper()
	path := filepath.Join(dir, "state.db")
	db, err := Open(path, Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	us := make([]TrackUpdate, n)
	for i := range us {
		// Two dozen failures each: tracks packed in shards take
		// few bytes apiece.
		f := make([]int64, 24)
		for j := range f {
			f[j] = int64(i) + int64(j)*1e9
		}
		us[i] = TrackUpdate{Jail: "sshd", Key: benchAddr(i), Track: &analyze.Track{Failures: f}, Expires: int64(i), New: true}
	}
	var kept []netip.Prefix
	err = db.Update(func(tx *Tx) error {
		if err := tx.PutTracks(us); err != nil {
			return err
		}
		for i := 0; i < 3; i++ {
			if err := tx.AddEvent(&Event{Kind: EventWarning, Text: "w"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = db.Update(func(tx *Tx) error {
			var del []TrackUpdate
			for i := range us {
				if i%10 == 0 {
					kept = append(kept, us[i].Key)
				} else {
					del = append(del, TrackUpdate{Jail: "sshd", Key: us[i].Key})
				}
			}
			return tx.PutTracks(del)
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	// Closed without compaction: the file as a run before this change
	// would leave it.
	if err := db.b.Close(); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if fi.Size() < compactMin {
		t.Fatalf("bloated file %d bytes, want at least %d", fi.Size(), compactMin)
	}
	return path, kept
}

// checkState opens path and checks that it holds exactly the kept tracks
// and the outbox's three events, numbered 1 to 3, the next one 4.
func checkState(t *testing.T, path string, kept []netip.Prefix) {
	t.Helper()
	db, err := Open(path, Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *Tx) error {
		n := 0
		tx.ForEachTrack(func(string, netip.Prefix, *analyze.Track) error { n++; return nil })
		if n != len(kept) {
			t.Errorf("%d tracks, want %d", n, len(kept))
		}
		for _, i := range []int{0, len(kept) / 2, len(kept) - 1} {
			if tr, err := tx.Track("sshd", kept[i]); tr == nil || err != nil {
				t.Errorf("track %s lost: %v", kept[i], err)
			}
		}
		ev, err := tx.Events()
		if err != nil || len(ev) != 3 || ev[2].Seq != 3 {
			t.Errorf("outbox %+v, %v", ev, err)
		}
		if err := tx.AddEvent(&Event{Kind: EventWarning}); err != nil {
			return err
		}
		if ev, _ = tx.Events(); ev[len(ev)-1].Seq != 4 {
			t.Errorf("next event numbered %d, want 4", ev[len(ev)-1].Seq)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCompact: Close compacts a file mostly free, keeping every entry and
// the outbox's numbering; a file little free is left alone.
func TestCompact(t *testing.T) {
	path, kept := bloated(t, t.TempDir(), 400000)
	before, _ := os.Stat(path)
	db, err := Open(path, Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(path)
	if after.Size()*2 > before.Size() {
		t.Errorf("compaction left %d bytes of %d", after.Size(), before.Size())
	}
	if _, err := os.Stat(path + compactSuffix); !os.IsNotExist(err) {
		t.Errorf("%s left behind: %v", compactSuffix, err)
	}
	checkState(t, path, kept)
	// Compact now: the next Close leaves it as it is.
	db, _ = Open(path, Options{Timeout: time.Second})
	ino := inode(path)
	db.Close()
	if inode(path) != ino {
		t.Error("a compact file was compacted again")
	}
}

// TestCompactKilled: a process compacting the file is killed at random
// instants; whenever it died, the file opens with every entry, and a
// process that waited for the lock meanwhile works on the file at the
// path, not the one replaced.
func TestCompactKilled(t *testing.T) {
	if os.Getenv("LJ_COMPACT") != "" {
		return // the helper below
	}
	dir := t.TempDir()
	template, kept := bloated(t, dir, 400000)
	trial := func(i int) string {
		p := filepath.Join(dir, "trial", strconv.Itoa(i), "state.db")
		os.MkdirAll(filepath.Dir(p), 0o700)
		src, _ := os.Open(template)
		dst, _ := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o600)
		io.Copy(dst, src)
		src.Close()
		dst.Close()
		return p
	}
	helper := func(path string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCompactHelper$")
		cmd.Env = append(os.Environ(), "LJ_COMPACT="+path)
		return cmd
	}
	// One run to the end measures the span to kill within.
	p := trial(0)
	start := time.Now()
	if out, err := helper(p).CombinedOutput(); err != nil {
		t.Fatalf("helper: %v: %s", err, out)
	}
	span := time.Since(start)
	checkState(t, p, kept)
	// A kill may come after the end when the machine got faster than it
	// was for the measure: trials go on until six compactions died
	// (at most 40).
	killed, trials := 0, 0
	for i := 1; killed < 6 && i <= 40; i++ {
		trials++
		p := trial(i)
		cmd := helper(p)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rand.Int63n(int64(span))))
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			killed++
		}
		checkState(t, p, kept)
	}
	t.Logf("%d of %d compactions killed (span %s)", killed, trials, span)
	if killed < 4 {
		t.Fatalf("only %d compactions killed: the test proves little", killed)
	}

	// A writer waiting for the lock while another compacts: it opens the
	// new file and its write stays.
	p = trial(100)
	db, err := Open(p, Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		w, err := Open(p, Options{Timeout: 30 * time.Second})
		if err == nil {
			err = w.Update(func(tx *Tx) error { return tx.AddEvent(&Event{Kind: EventWarning, Text: "waited"}) })
			w.b.Close()
		}
		done <- err
	}()
	time.Sleep(200 * time.Millisecond) // the second Open waits for the lock
	ino := inode(p)
	if err := db.Close(); err != nil { // compacts, then releases the lock
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if inode(p) == ino {
		t.Fatal("the file was not replaced: the test proves nothing")
	}
	db, _ = Open(p, Options{Timeout: time.Second, ReadOnly: true})
	defer db.Close()
	db.View(func(tx *Tx) error {
		ev, _ := tx.Events()
		if len(ev) != 4 || ev[3].Text != "waited" {
			t.Errorf("the waiting writer's event is not in the file: %+v", ev)
		}
		return nil
	})
}

// TestCompactHelper opens and closes (compacts) the state at $LJ_COMPACT
// for TestCompactKilled.
func TestCompactHelper(t *testing.T) {
	path := os.Getenv("LJ_COMPACT")
	if path == "" {
		t.Skip("a helper of TestCompactKilled")
	}
	db, err := Open(path, Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}
