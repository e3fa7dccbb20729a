//go:build linux

package analyze

import (
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// srcHarness plays a program writing numbered lines ("line 17") to a log,
// logrotate working on it, and logjail reading it with Read, on real files.
// Every write sets the file's modification time from a simulated clock
// that ticks one second per step, as a cron-driven life would; the
// kernel's own clock is too coarse to order files written a few
// microseconds apart.
//
// It checks as it goes that every line delivered carries its true number in
// the file it was written to, is delivered once, and after the lines
// written before it to the same file; check verifies at the end that every
// complete line was delivered.
type srcHarness struct {
	t       testing.TB
	dir     string
	path    string
	clock   time.Time
	fromEnd bool

	w     *os.File // the writer's file
	stale bool     // the writer's file was rotated away and not reopened
	gen   int      // the generation of content the writer appends to
	gens  int
	genOf map[uint64]int // generation of content in each inode
	nums  map[int]int64  // lines written per generation
	next  int            // number of the next line
	pend  string         // rest of a line partly written

	where map[int]srcPos // line -> its generation and number there
	lost  map[int]bool   // lines a scenario destroys before they are read

	st      *FileState
	got     map[int]int
	lastGot map[int]int // per generation, the last line delivered
	reads   int
	errs    []error
}

type srcPos struct {
	gen int
	num int64
}

func newSrcHarness(t testing.TB) *srcHarness {
	dir := t.TempDir()
	h := &srcHarness{
		t: t, dir: dir, path: filepath.Join(dir, "auth.log"),
		clock: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC),
		genOf: map[uint64]int{}, nums: map[int]int64{},
		where: map[int]srcPos{}, lost: map[int]bool{},
		got: map[int]int{}, lastGot: map[int]int{}, next: 1,
	}
	t.Cleanup(func() {
		if h.w != nil {
			h.w.Close()
		}
	})
	h.reopen()
	return h
}

func (h *srcHarness) tick() { h.clock = h.clock.Add(time.Second) }

// touch sets the modification time of name to the clock.
func (h *srcHarness) touch(name string) {
	h.t.Helper()
	if err := os.Chtimes(name, h.clock, h.clock); err != nil {
		h.t.Fatal(err)
	}
}

func inodeOf(t testing.TB, fi fs.FileInfo) uint64 {
	t.Helper()
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		t.Skip("no inode numbers on this platform")
	}
	return st.Ino
}

// newGen starts a generation of content in the inode ino.
func (h *srcHarness) newGen(ino uint64) int {
	h.gens++
	h.genOf[ino] = h.gens
	return h.gens
}

// create makes an empty file at name, a new generation.
func (h *srcHarness) create(name string) {
	h.t.Helper()
	if err := os.WriteFile(name, nil, 0o644); err != nil {
		h.t.Fatal(err)
	}
	h.touch(name)
	fi, err := os.Stat(name)
	if err != nil {
		h.t.Fatal(err)
	}
	h.newGen(inodeOf(h.t, fi))
}

// reopen makes the writer open the path again (creating it if needed), as
// after logrotate's postrotate signal. A partly written line is finished
// first.
func (h *srcHarness) reopen() {
	h.t.Helper()
	h.tick()
	h.finishLine()
	if h.w != nil {
		h.w.Close()
	}
	if _, err := os.Stat(h.path); errors.Is(err, fs.ErrNotExist) {
		h.create(h.path)
	}
	w, err := os.OpenFile(h.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	fi, err := w.Stat()
	if err != nil {
		h.t.Fatal(err)
	}
	h.w, h.stale = w, false
	h.gen = h.genOf[inodeOf(h.t, fi)]
}

// raw writes s to the writer's file and stamps it with the clock.
func (h *srcHarness) raw(s string) {
	h.t.Helper()
	if _, err := h.w.WriteString(s); err != nil {
		h.t.Fatal(err)
	}
	tv := syscall.NsecToTimeval(h.clock.UnixNano())
	if err := syscall.Futimes(int(h.w.Fd()), []syscall.Timeval{tv, tv}); err != nil {
		h.t.Fatal(err)
	}
}

// startLine writes the first k bytes of the next line (all of it, k < 0).
func (h *srcHarness) startLine(k int) {
	h.t.Helper()
	n := h.next
	h.next++
	h.nums[h.gen]++
	h.where[n] = srcPos{h.gen, h.nums[h.gen]}
	s := fmt.Sprintf("line %d\n", n)
	if k < 0 || k > len(s) {
		k = len(s)
	}
	h.raw(s[:k])
	h.pend = s[k:]
}

func (h *srcHarness) finishLine() {
	if h.pend != "" {
		h.raw(h.pend)
		h.pend = ""
	}
}

// write finishes a partly written line, then writes n whole lines.
func (h *srcHarness) write(n int) {
	h.t.Helper()
	h.tick()
	h.finishLine()
	for range n {
		h.startLine(-1)
	}
}

// partial finishes a partly written line, then writes the first half of
// the next one.
func (h *srcHarness) partial() {
	h.t.Helper()
	h.tick()
	h.finishLine()
	h.startLine(4)
}

// shift renames path.N[.gz] to path.N+1[.gz], highest first.
func (h *srcHarness) shift() {
	h.t.Helper()
	top := 0
	entries, _ := os.ReadDir(h.dir)
	for _, e := range entries {
		if n, ok := rotationNumber(filepath.Base(h.path), e.Name()); ok {
			top = max(top, n)
		}
	}
	for n := top; n >= 1; n-- {
		for _, ext := range []string{"", ".gz"} {
			from := fmt.Sprintf("%s.%d%s", h.path, n, ext)
			if _, err := os.Stat(from); err == nil {
				if err := os.Rename(from, fmt.Sprintf("%s.%d%s", h.path, n+1, ext)); err != nil {
					h.t.Fatal(err)
				}
			}
		}
	}
}

// rotate renames the path to path.1 (after shifting the older ones) and,
// with create, creates it anew. The writer goes on writing to the renamed
// file until reopen.
func (h *srcHarness) rotate(create bool) {
	h.t.Helper()
	h.tick()
	h.shift()
	if err := os.Rename(h.path, h.path+".1"); err != nil {
		h.t.Fatal(err)
	}
	h.stale = true
	if create {
		h.create(h.path)
	}
}

// copytruncate copies the path to path.1 and truncates it, as logrotate's
// copytruncate does (with no write in between: a line torn by the truncation
// belongs to no file). With gz the copy is compressed at once.
func (h *srcHarness) copytruncate(gz bool) {
	h.t.Helper()
	if h.pend != "" {
		h.t.Fatal("copytruncate would tear a line")
	}
	h.tick()
	h.shift()
	data, err := os.ReadFile(h.path)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(h.path+".1", data, 0o644); err != nil {
		h.t.Fatal(err)
	}
	h.touch(h.path + ".1")
	if gz {
		h.compress(h.path + ".1")
	}
	if err := os.Truncate(h.path, 0); err != nil {
		h.t.Fatal(err)
	}
	h.touch(h.path)
	fi, err := os.Stat(h.path)
	if err != nil {
		h.t.Fatal(err)
	}
	h.gen = h.newGen(inodeOf(h.t, fi))
}

// compress replaces name by name.gz, keeping its modification time as
// logrotate and gzip do.
func (h *srcHarness) compress(name string) {
	h.t.Helper()
	fi, err := os.Stat(name)
	if err != nil {
		h.t.Fatal(err)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		h.t.Fatal(err)
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	zw.Close()
	if err := os.WriteFile(name+".gz", b.Bytes(), 0o644); err != nil {
		h.t.Fatal(err)
	}
	if err := os.Chtimes(name+".gz", fi.ModTime(), fi.ModTime()); err != nil {
		h.t.Fatal(err)
	}
	if err := os.Remove(name); err != nil {
		h.t.Fatal(err)
	}
}

// loseUnread marks the lines of the writer's generation not yet delivered
// as lost: the scenario destroys them before a read.
func (h *srcHarness) loseUnread(gen int) {
	for n, p := range h.where {
		if p.gen == gen && h.got[n] == 0 {
			h.lost[n] = true
		}
	}
}

// srcTrace makes the harness log the directory, the lines delivered and
// the state at each read: LOGJAIL_SRCTRACE=1 go test -run ...
var srcTrace = os.Getenv("LOGJAIL_SRCTRACE") != ""

// trace logs the directory as Read will see it.
func (h *srcHarness) trace() {
	entries, _ := os.ReadDir(h.dir)
	var b strings.Builder
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			continue
		}
		st := fi.Sys().(*syscall.Stat_t)
		fmt.Fprintf(&b, " %s(ino %d, gen %d, %dB, t%d)", e.Name(), st.Ino%1000, h.genOf[st.Ino], fi.Size(),
			int(fi.ModTime().Sub(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)).Seconds()))
	}
	h.t.Logf("read %d at t%d, writer on gen %d:%s", h.reads, int(h.clock.Sub(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)).Seconds()), h.gen, b.String())
}

// read runs Read as a cron run would and checks each line it delivers.
func (h *srcHarness) read() (FileState, error) {
	h.t.Helper()
	h.tick()
	h.reads++
	fn := h.deliver
	if srcTrace {
		h.trace()
		fn = func(file string, num int64, line []byte) error {
			h.t.Logf("  %s:%d %s", filepath.Base(file), num, line)
			return h.deliver(file, num, line)
		}
	}
	st, err := Read(h.path, h.st, h.fromEnd, h.clock, fn)
	if srcTrace {
		var p []string
		for _, q := range st.Prev {
			p = append(p, fmt.Sprintf("%s ino %d off %d", q.Name, q.Inode%1000, q.Offset))
		}
		h.t.Logf("  -> ino %d off %d line %d size %d fp %q prev %s err %v", st.Inode%1000, st.Offset, st.Line, st.Size, st.Fingerprint, p, err)
	}
	if err != nil {
		h.errs = append(h.errs, err)
		return st, err
	}
	h.st = &st
	return st, nil
}

// mustRead is read that fails the test on an error.
func (h *srcHarness) mustRead() FileState {
	h.t.Helper()
	st, err := h.read()
	if err != nil {
		h.t.Fatalf("read %d: %v", h.reads, err)
	}
	return st
}

func (h *srcHarness) deliver(file string, num int64, line []byte) error {
	h.t.Helper()
	if filepath.Dir(file) != h.dir {
		h.t.Fatalf("read %d: line %q from %s, not a sibling of %s", h.reads, line, file, h.path)
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(line), "line "))
	if err != nil {
		h.t.Fatalf("read %d: %s:%d: unexpected line %q", h.reads, file, num, line)
	}
	p, ok := h.where[n]
	switch {
	case !ok:
		h.t.Fatalf("read %d: %s:%d: line %d was never written", h.reads, file, num, n)
	case h.got[n] > 0:
		h.t.Fatalf("read %d: %s:%d: line %d delivered again", h.reads, file, num, n)
	case num != p.num:
		h.t.Fatalf("read %d: %s: line %d delivered as number %d, written as %d", h.reads, file, n, num, p.num)
	case n < h.lastGot[p.gen]:
		h.t.Fatalf("read %d: %s: line %d delivered after line %d of the same file", h.reads, file, n, h.lastGot[p.gen])
	}
	h.got[n]++
	h.lastGot[p.gen] = n
	return nil
}

// complete returns the numbers of the lines written whole.
func (h *srcHarness) complete() []int {
	var out []int
	for n := 1; n < h.next; n++ {
		if _, ok := h.where[n]; ok && (n < h.next-1 || h.pend == "") {
			out = append(out, n)
		}
	}
	return out
}

// check verifies that every complete line not lost was delivered.
func (h *srcHarness) check() {
	h.t.Helper()
	var missing []int
	for _, n := range h.complete() {
		if h.got[n] == 0 && !h.lost[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		h.t.Fatalf("after %d reads, %d lines never delivered: %v", h.reads, len(missing), srcShort(missing))
	}
}

// delivered returns the number of lines delivered.
func (h *srcHarness) delivered() int {
	n := 0
	for _, c := range h.got {
		n += c
	}
	return n
}

func srcShort(ns []int) string {
	if len(ns) > 20 {
		return fmt.Sprint(ns[:20]) + "..."
	}
	return fmt.Sprint(ns)
}

func TestReadGrowth(t *testing.T) {
	h := newSrcHarness(t)
	h.write(3)
	h.partial()
	st := h.mustRead()
	if h.delivered() != 3 {
		t.Fatalf("delivered %d lines, want 3", h.delivered())
	}
	if want := int64(len("line 1\nline 2\nline 3\n")); st.Offset != want || st.Line != 3 {
		t.Fatalf("offset %d line %d, want %d 3 (the unterminated line stays)", st.Offset, st.Line, want)
	}
	h.write(2)
	h.mustRead()
	h.check()
	if h.delivered() != 6 {
		t.Fatalf("delivered %d lines, want 6", h.delivered())
	}
}

func TestReadQuiet(t *testing.T) {
	h := newSrcHarness(t)
	h.write(5)
	st := h.mustRead()
	again, err := Read(h.path, &st, false, h.clock, func(string, int64, []byte) error {
		t.Fatal("a line from a file that did not change")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(again) != fmt.Sprint(st) {
		t.Fatalf("state changed by a quiet run:\n%+v\n%+v", st, again)
	}
	// Touched, not grown: the fingerprint is checked, nothing read.
	h.tick()
	h.touch(h.path)
	h.mustRead()
	h.check()
}

// TestReadFirst covers a path seen for the first time: from the beginning,
// or from the end of its last complete line with start: end.
func TestReadFirst(t *testing.T) {
	t.Run("beginning", func(t *testing.T) {
		h := newSrcHarness(t)
		h.write(4)
		h.mustRead()
		h.check()
	})
	t.Run("end", func(t *testing.T) {
		h := newSrcHarness(t)
		h.write(4)
		h.partial()
		h.fromEnd = true
		st := h.mustRead()
		if h.delivered() != 0 || st.Line != 4 {
			t.Fatalf("start at end: delivered %d, line %d; want 0, 4", h.delivered(), st.Line)
		}
		for n := 1; n <= 4; n++ {
			h.lost[n] = true
		}
		// The line being written when reading started is whole later,
		// and numbers go on.
		h.write(2)
		h.mustRead()
		h.check()
		if h.delivered() != 3 {
			t.Fatalf("delivered %d lines, want 3", h.delivered())
		}
	})
	t.Run("end of an empty file", func(t *testing.T) {
		h := newSrcHarness(t)
		h.fromEnd = true
		h.mustRead()
		h.write(2)
		h.mustRead()
		h.check()
	})
}

func TestReadRenameRotation(t *testing.T) {
	t.Run("old file finished first", func(t *testing.T) {
		h := newSrcHarness(t)
		h.write(3)
		h.mustRead()
		h.write(2) // unread when the rotation comes
		h.partial()
		h.rotate(true)
		h.reopen() // finishes the partial line in the old file
		h.write(3)
		var order []string
		st, err := Read(h.path, h.st, false, h.clock, func(file string, num int64, line []byte) error {
			order = append(order, filepath.Base(file))
			return h.deliver(file, num, line)
		})
		if err != nil {
			t.Fatal(err)
		}
		h.st = &st
		h.check()
		if want := "[auth.log.1 auth.log.1 auth.log.1 auth.log auth.log auth.log]"; fmt.Sprint(order) != want {
			t.Fatalf("files in order %v, want %s", order, want)
		}
	})
	t.Run("new file already holding lines", func(t *testing.T) {
		h := newSrcHarness(t)
		h.write(2)
		h.mustRead()
		h.rotate(true)
		h.reopen()
		h.write(5)
		h.mustRead()
		h.rotate(true)
		h.reopen()
		h.write(1)
		h.mustRead()
		h.check()
	})
	t.Run("nocreate", func(t *testing.T) {
		h := newSrcHarness(t)
		h.write(2)
		h.mustRead()
		h.write(1)
		h.rotate(false)
		if _, err := h.read(); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("read of a path rotated away: %v, want fs.ErrNotExist", err)
		}
		h.reopen()
		h.write(1)
		h.mustRead()
		h.check()
	})
	t.Run("dateext", func(t *testing.T) {
		h := newSrcHarness(t)
		h.write(2)
		h.mustRead()
		h.write(2)
		h.tick()
		if err := os.Rename(h.path, h.path+"-20261124"); err != nil {
			t.Fatal(err)
		}
		h.create(h.path)
		h.reopen()
		h.write(1)
		h.mustRead()
		h.write(1)
		h.tick()
		if err := os.Rename(h.path, h.path+"-20261125-10"); err != nil {
			t.Fatal(err)
		}
		h.create(h.path)
		h.reopen()
		h.mustRead()
		h.check()
	})
	t.Run("renamed to any name", func(t *testing.T) {
		h := newSrcHarness(t)
		h.write(2)
		h.mustRead()
		h.write(2)
		h.tick()
		if err := os.Rename(h.path, filepath.Join(h.dir, "old-auth")); err != nil {
			t.Fatal(err)
		}
		h.create(h.path)
		h.reopen()
		h.write(1)
		h.mustRead()
		h.check()
	})
}

// TestReadPrevious covers the writer that goes on appending to the renamed
// file until it reopens (rsyslog before its HUP).
func TestReadPrevious(t *testing.T) {
	h := newSrcHarness(t)
	h.write(2)
	h.mustRead()
	h.rotate(true)
	h.write(2) // to the renamed file
	st := h.mustRead()
	if got := prevNames(st); got != "[auth.log.1]" {
		t.Fatalf("rotated files followed: %s, want [auth.log.1]", got)
	}
	h.write(2) // still there
	h.partial()
	h.mustRead()
	h.reopen()
	h.write(2)
	h.mustRead()
	h.check()

	// Unchanged at PrevQuietRuns runs and PrevLinger after its last
	// growth, it is dropped; not before.
	for i := 0; i < PrevQuietRuns; i++ {
		if st := h.mustRead(); len(st.Prev) == 0 {
			t.Fatalf("previous file dropped after %d quiet runs within %v", i+1, PrevLinger)
		}
	}
	h.clock = h.clock.Add(PrevLinger)
	if st := h.mustRead(); len(st.Prev) != 0 {
		t.Fatalf("previous file still followed after %d quiet runs and %v: %+v", PrevQuietRuns+1, PrevLinger, st.Prev)
	}
	h.check()
}

// TestReadPreviousMoved covers a previous file that moves on: compressed
// with its late lines unread, or rotated once more.
func TestReadPreviousMoved(t *testing.T) {
	t.Run("compressed", func(t *testing.T) {
		h := newSrcHarness(t)
		h.write(2)
		h.mustRead()
		h.rotate(true)
		h.write(1)
		h.mustRead()
		h.write(2) // late lines, then the writer reopens and it is compressed
		h.reopen()
		h.compress(h.path + ".1")
		h.write(1)
		st := h.mustRead()
		h.check()
		if len(st.Prev) != 0 {
			t.Fatalf("a compressed previous file is still followed: %s", prevNames(st))
		}
	})
	t.Run("rotated again", func(t *testing.T) {
		h := newSrcHarness(t)
		h.write(2)
		h.mustRead()
		h.rotate(true)
		h.write(1)
		h.mustRead()
		h.write(2)
		h.reopen()
		h.write(2)
		h.rotate(true) // the previous file is now auth.log.2
		h.reopen()
		h.write(1)
		st := h.mustRead()
		h.check()
		// The first one grew at this run: it is still followed.
		if got := prevNames(st); got != "[auth.log.2 auth.log.1]" {
			t.Fatalf("rotated files followed: %s, want [auth.log.2 auth.log.1]", got)
		}
	})
}

func TestReadCompressed(t *testing.T) {
	t.Run("compress", func(t *testing.T) {
		// No delaycompress: the old file is auth.log.1.gz, a new inode.
		h := newSrcHarness(t)
		h.write(3)
		h.mustRead()
		h.write(3)
		h.rotate(true)
		h.reopen()
		h.compress(h.path + ".1")
		h.write(2)
		h.mustRead()
		h.check()
	})
	t.Run("delaycompress", func(t *testing.T) {
		h := newSrcHarness(t)
		for i := 0; i < 4; i++ {
			h.write(3)
			h.mustRead()
			h.write(2)
			h.rotate(true)
			h.reopen()
			if _, err := os.Stat(h.path + ".2"); err == nil {
				h.compress(h.path + ".2")
			}
			h.write(1)
			h.mustRead()
		}
		h.check()
	})
	t.Run("two rotations, both compressed", func(t *testing.T) {
		h := newSrcHarness(t)
		h.write(3)
		h.mustRead()
		h.write(2)
		h.rotate(true)
		h.reopen()
		h.compress(h.path + ".1")
		h.write(4) // a whole generation never seen
		h.rotate(true)
		h.reopen()
		h.compress(h.path + ".1")
		h.write(1)
		h.mustRead()
		h.check()
	})
	t.Run("damaged", func(t *testing.T) {
		// A damaged gzip sibling: its lines up to the damage are read,
		// and the run goes on (reading it again would not repair it).
		h := newSrcHarness(t)
		h.write(2)
		h.mustRead()
		h.write(300)
		h.rotate(true)
		h.reopen()
		h.compress(h.path + ".1")
		gz := h.path + ".1.gz"
		data, err := os.ReadFile(gz)
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(gz)
		os.WriteFile(gz, data[:len(data)-12], 0o644)
		os.Chtimes(gz, fi.ModTime(), fi.ModTime())
		h.write(1)
		h.mustRead()
		for n := 3; n <= 302; n++ {
			h.lost[n] = true
		}
		h.check()
		if got := h.got[303]; got != 1 {
			t.Fatalf("the new file's line delivered %d times", got)
		}
	})
}

func TestReadCopyTruncate(t *testing.T) {
	for _, gz := range []bool{false, true} {
		t.Run(fmt.Sprintf("gz=%v", gz), func(t *testing.T) {
			h := newSrcHarness(t)
			h.write(3)
			h.mustRead()
			h.write(3) // in the copy only
			h.copytruncate(gz)
			h.write(2)
			h.mustRead()
			h.write(1)
			h.mustRead()
			h.check()
		})
	}
	t.Run("grown past the old offset", func(t *testing.T) {
		// The truncated file is longer again than what was read: only
		// its first bytes tell.
		h := newSrcHarness(t)
		h.write(2)
		h.mustRead()
		h.write(1)
		h.copytruncate(false)
		h.write(20)
		h.mustRead()
		h.check()
	})
	t.Run("twice", func(t *testing.T) {
		h := newSrcHarness(t)
		h.write(2)
		h.mustRead()
		h.write(2)
		h.copytruncate(false)
		h.write(3)
		h.copytruncate(false)
		h.write(1)
		h.mustRead()
		h.check()
	})
}

func TestReadTruncated(t *testing.T) {
	h := newSrcHarness(t)
	h.write(5)
	h.mustRead()
	h.write(2)
	h.loseUnread(h.gen)
	h.tick()
	if err := os.Truncate(h.path, 0); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(h.path)
	h.gen = h.newGen(inodeOf(t, fi))
	h.write(1) // shorter than the offset
	h.mustRead()
	h.write(10)
	h.mustRead()
	h.check()
}

func TestReadDeletedAndRecreated(t *testing.T) {
	h := newSrcHarness(t)
	h.write(5)
	h.mustRead()
	h.write(2)
	h.loseUnread(h.gen)
	h.tick()
	if err := os.Remove(h.path); err != nil {
		t.Fatal(err)
	}
	h.create(h.path) // ext4 and tmpfs may give it the same inode
	h.reopen()
	h.write(8) // longer than the old offset: only the fingerprint tells
	h.mustRead()
	h.check()
	if h.delivered() != 13 {
		t.Fatalf("delivered %d lines, want 13", h.delivered())
	}
}

// TestReadReplacedSameSize covers a file replaced by another of exactly
// the same size: in place (same inode) and by a rename over it.
func TestReadReplacedSameSize(t *testing.T) {
	for _, inPlace := range []bool{true, false} {
		t.Run(fmt.Sprintf("in place=%v", inPlace), func(t *testing.T) {
			h := newSrcHarness(t)
			h.write(3)
			h.mustRead()
			old, err := os.ReadFile(h.path)
			if err != nil {
				t.Fatal(err)
			}
			// Another writer's file of the same length: lines 7 to 9
			// have as many digits as 1 to 3.
			h.w.Close()
			h.tick()
			target := h.path // os.Create truncates it: same inode
			if !inPlace {
				target = filepath.Join(h.dir, "new")
			}
			w, err := os.Create(target)
			if err != nil {
				t.Fatal(err)
			}
			h.w, h.gen, h.next = w, h.newGen(mustIno(t, target)), 7
			h.write(3)
			if !inPlace {
				if err := os.Rename(target, h.path); err != nil {
					t.Fatal(err)
				}
			}
			now, _ := os.ReadFile(h.path)
			if len(now) != len(old) || bytes.Equal(now, old) {
				t.Fatalf("replacement %q for %q", now, old)
			}
			h.mustRead()
			h.check()
			if h.delivered() != 6 {
				t.Fatalf("delivered %d lines, want 6", h.delivered())
			}
		})
	}
}

// TestReadTwoRotations covers two rotations between two runs: the file read
// last time is now auth.log.2 and auth.log.1 is a whole file never seen.
func TestReadTwoRotations(t *testing.T) {
	h := newSrcHarness(t)
	h.write(3)
	h.mustRead()
	h.write(2)
	h.rotate(true)
	h.reopen()
	h.write(4)
	h.rotate(true)
	h.reopen()
	h.write(1)
	var files []string
	st, err := Read(h.path, h.st, false, h.clock, func(file string, num int64, line []byte) error {
		if len(files) == 0 || files[len(files)-1] != filepath.Base(file) {
			files = append(files, filepath.Base(file))
		}
		return h.deliver(file, num, line)
	})
	if err != nil {
		t.Fatal(err)
	}
	h.st = &st
	h.check()
	if want := "[auth.log.2 auth.log.1 auth.log]"; fmt.Sprint(files) != want {
		t.Fatalf("files read %v, want %s", files, want)
	}
	if got := prevNames(st); got != "[auth.log.2 auth.log.1]" {
		t.Fatalf("rotated files followed: %s, want [auth.log.2 auth.log.1]", got)
	}
	// Three more, with empty generations among them.
	h.rotate(true)
	h.reopen()
	h.rotate(true)
	h.reopen()
	h.write(2)
	h.rotate(true)
	h.reopen()
	h.mustRead()
	h.check()
}

// TestReadLost documents what cannot be recovered: a file deleted (or
// rotated out of the directory) before its last lines were read.
func TestReadLost(t *testing.T) {
	h := newSrcHarness(t)
	h.write(2)
	h.mustRead()
	h.write(3)
	h.rotate(true)
	h.reopen()
	h.loseUnread(h.genOf[mustIno(t, h.path+".1")])
	if err := os.Remove(h.path + ".1"); err != nil { // rotate 0
		t.Fatal(err)
	}
	h.write(1)
	h.mustRead()
	h.check()
}

// prevNames lists the names of the rotated files st follows.
func prevNames(st FileState) string {
	var names []string
	for _, p := range st.Prev {
		names = append(names, p.Name)
	}
	return fmt.Sprint(names)
}

func mustIno(t *testing.T, name string) uint64 {
	t.Helper()
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	return inodeOf(t, fi)
}

func TestReadOddContent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "odd.log")
	long := strings.Repeat("x", 10<<20)
	parts := []string{"a\r\n", "nul\x00byte\n", "bad \xff\xfe utf8\n", long + "\n", "after\r\n", "tail"}
	if err := os.WriteFile(path, []byte(strings.Join(parts, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	var got []string
	collect := func(file string, num int64, line []byte) error {
		got = append(got, fmt.Sprintf("%d:%q", num, line))
		return nil
	}
	st, err := Read(path, nil, false, time.Now(), collect)
	if err != nil {
		t.Fatal(err)
	}
	want := `[1:"a" 2:"nul\x00byte" 3:"bad \xff\xfe utf8" 5:"after"]`
	if fmt.Sprint(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if size := int64(len(strings.Join(parts, "")) - len("tail")); st.Offset != size || st.Line != 5 {
		t.Fatalf("offset %d line %d, want %d 5", st.Offset, st.Line, size)
	}
	// A long line split across runs keeps the offset exact.
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("\n" + long[:3<<20])
	f.Close()
	got = nil
	st2, err := Read(path, &st, false, time.Now(), collect)
	if err != nil {
		t.Fatal(err)
	}
	f, _ = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(long[:1<<20] + "\nlast\n")
	f.Close()
	if _, err := Read(path, &st2, false, time.Now(), collect); err != nil {
		t.Fatal(err)
	}
	if want := `[6:"tail" 8:"last"]`; fmt.Sprint(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	nop := func(string, int64, []byte) error { return nil }
	t.Run("missing", func(t *testing.T) {
		path := filepath.Join(dir, "missing.log")
		_, err := Read(path, nil, false, time.Now(), nop)
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
			t.Fatalf("got %v, want fs.ErrNotExist naming %s", err, path)
		}
	})
	t.Run("dangling symlink", func(t *testing.T) {
		path := filepath.Join(dir, "dangling.log")
		os.Symlink(filepath.Join(dir, "nowhere"), path)
		_, err := Read(path, nil, false, time.Now(), nop)
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
			t.Fatalf("got %v, want fs.ErrNotExist naming %s", err, path)
		}
	})
	t.Run("directory", func(t *testing.T) {
		path := filepath.Join(dir, "dir.log")
		os.Mkdir(path, 0o755)
		st := &FileState{Path: path, Offset: 12, Line: 2}
		got, err := Read(path, st, false, time.Now(), nop)
		if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), path) {
			t.Fatalf("got %v, want ErrNotRegular naming %s", err, path)
		}
		if got.Offset != 12 || got.Line != 2 {
			t.Fatalf("state after an error %+v, want the one given", got)
		}
	})
	t.Run("symlink to a log", func(t *testing.T) {
		// logrotate does not rotate links: the file they point to is
		// rotated where it is, under its own name.
		os.Mkdir(filepath.Join(dir, "real"), 0o755)
		target := filepath.Join(dir, "real", "target.log")
		os.WriteFile(target, []byte("one\n"), 0o644)
		path := filepath.Join(dir, "link.log")
		os.Symlink(target, path)
		var got []string
		collect := func(file string, num int64, line []byte) error {
			got = append(got, fmt.Sprintf("%s:%d:%s", filepath.Base(file), num, line))
			return nil
		}
		st, err := Read(path, nil, false, time.Now(), collect)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := os.OpenFile(target, os.O_WRONLY|os.O_APPEND, 0)
		f.WriteString("two\n")
		f.Close()
		os.Rename(target, target+".1")
		os.WriteFile(target, []byte("three\n"), 0o644)
		if _, err := Read(path, &st, false, time.Now(), collect); err != nil {
			t.Fatal(err)
		}
		if want := "[link.log:1:one target.log.1:2:two link.log:1:three]"; fmt.Sprint(got) != want {
			t.Fatalf("read through a symlink: %s, want %s", got, want)
		}
	})
}

// TestReadCallbackError checks that an error from fn stops reading, comes
// back, and leaves a state that neither repeats nor loses a line, wherever
// it happens: in the growth, the previous file, the rotated file, a
// generation never seen, the new file.
func TestReadCallbackError(t *testing.T) {
	errStop := errors.New("stop")
	for at := 1; at <= 10; at++ {
		t.Run(fmt.Sprint("at line ", at), func(t *testing.T) {
			h := newSrcHarness(t)
			h.write(2)
			h.mustRead()
			h.rotate(true)
			h.write(2) // 3, 4: late lines in the previous file
			h.mustRead()
			h.write(2) // 5, 6: more late lines
			h.reopen()
			h.write(2) // 7, 8: in the file read last, rotated twice
			h.rotate(true)
			h.reopen()
			h.write(2) // 9, 10: a generation never seen
			h.rotate(true)
			h.reopen()
			h.write(3) // 11, 12, 13 in the new file
			calls := 0
			st, err := Read(h.path, h.st, false, h.clock, func(file string, num int64, line []byte) error {
				calls++
				if calls == at {
					return errStop
				}
				return h.deliver(file, num, line)
			})
			if calls >= at && !errors.Is(err, errStop) {
				t.Fatalf("fn error at call %d: got %v", at, err)
			}
			h.st = &st
			h.mustRead()
			h.check()
		})
	}
}

// TestReadRandom plays random sequences of appends (partial lines too),
// rename rotations with and without create, late writes to the renamed
// file, copytruncates, compressions and reads, and checks that every line
// is delivered exactly once, in order, with its number.
func TestReadRandom(t *testing.T) {
	seeds := *srcSeeds
	if testing.Short() {
		seeds = min(seeds, 8)
	}
	for seed := range seeds {
		t.Run(fmt.Sprint("seed ", *srcSeed0+seed), func(t *testing.T) {
			srcRandom(t, uint64(*srcSeed0+seed), *srcSteps)
		})
	}
}

// Longer searches: go test -run TestReadRandom -source.seeds 2000 -source.steps 600
var (
	srcSeeds = flag.Int("source.seeds", 40, "seeds TestReadRandom tries")
	srcSeed0 = flag.Int("source.seed0", 0, "first seed TestReadRandom tries")
	srcSteps = flag.Int("source.steps", 250, "steps of each TestReadRandom sequence")
)

func srcRandom(t *testing.T, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	h := newSrcHarness(t)
	h.fromEnd = false
	var log []string
	step := func(op string) {
		log = append(log, op)
		if srcTrace {
			t.Logf("%s (t%d)", op, int(h.clock.Sub(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)).Seconds()))
		}
	}
	defer func() {
		if t.Failed() {
			t.Logf("seed %d steps: %s", seed, strings.Join(log, " "))
		}
	}()
	// A path is read from its beginning when first seen, its rotated
	// files are history: start with a run.
	h.mustRead()
	for range steps {
		switch p := rng.IntN(100); {
		case p < 35:
			n := 1 + rng.IntN(3)
			step(fmt.Sprint("w", n))
			h.write(n)
		case p < 45:
			step("p")
			h.partial()
		case p < 70:
			step("R")
			if _, err := h.read(); err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("read: %v", err)
			}
		case p < 78:
			if h.stale {
				step("o")
				h.reopen()
			}
			create := rng.IntN(5) > 0
			step(fmt.Sprint("rot", map[bool]string{true: "", false: "-nocreate"}[create]))
			h.rotate(create)
		case p < 86:
			if h.stale {
				step("o")
				h.reopen()
			}
		case p < 91:
			if h.stale {
				step("o")
				h.reopen()
			}
			h.tick()
			h.finishLine()
			gz := rng.IntN(3) == 0
			step(fmt.Sprint("ct", map[bool]string{true: "-gz", false: ""}[gz]))
			h.copytruncate(gz)
		default:
			// Compress a rotated plain file the writer has left.
			n := 1 + rng.IntN(4)
			name := fmt.Sprintf("%s.%d", h.path, n)
			if _, err := os.Stat(name); err != nil || (h.stale && n == 1) {
				continue
			}
			step(fmt.Sprint("gz", n))
			h.compress(name)
		}
	}
	step("end")
	if h.stale {
		h.reopen()
	}
	h.write(0)
	h.mustRead()
	h.mustRead()
	h.check()
}

// BenchmarkReadQuiet measures the quiet cron run: 20 files, nothing new.
func BenchmarkReadQuiet(b *testing.B) {
	dir := b.TempDir()
	now := time.Now()
	states := make([]FileState, 20)
	paths := make([]string, 20)
	for i := range paths {
		paths[i] = filepath.Join(dir, fmt.Sprintf("log%d", i))
		os.WriteFile(paths[i], bytes.Repeat([]byte("Nov 24 10:00:00 host sshd[1]: Accepted key\n"), 1000), 0o644)
		st, err := Read(paths[i], nil, false, now, func(string, int64, []byte) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
		states[i] = st
	}
	fn := func(string, int64, []byte) error {
		b.Fatal("a line in a quiet run")
		return nil
	}
	b.ReportAllocs()
	for b.Loop() {
		for i, p := range paths {
			if _, err := Read(p, &states[i], false, now, fn); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// unterminated writes the next line without its newline; the writer never
// ends it (it died, or writes none at the end).
func (h *srcHarness) unterminated() {
	h.t.Helper()
	h.tick()
	h.finishLine()
	h.startLine(len(fmt.Sprintf("line %d", h.next)))
	h.pend = ""
}

// TestReadUnterminatedLastLine: the live file's unterminated last line
// waits for its end, however long; once the file is rotated away and no
// longer grows (compressed, copied, or dropped from following), it is a
// line, delivered once.
func TestReadUnterminatedLastLine(t *testing.T) {
	// waits reads a few times over an hour and checks that line n stays
	// undelivered.
	waits := func(h *srcHarness, n int) {
		h.t.Helper()
		for range 3 {
			h.clock = h.clock.Add(20 * time.Minute)
			h.mustRead()
			if h.got[n] > 0 {
				t.Fatalf("read %d: the unterminated line %d of a file that may grow was delivered", h.reads, n)
			}
		}
	}
	t.Run("live file waits, then rotated and compressed", func(t *testing.T) {
		h := newSrcHarness(t)
		h.write(3)
		h.unterminated() // line 4
		waits(h, 4)
		h.rotate(true)
		h.reopen()
		h.compress(h.path + ".1")
		h.write(1)
		h.mustRead()
		h.check()
		if h.got[4] != 1 || h.delivered() != 5 {
			t.Fatalf("delivered %d lines, line 4 %d times; want 5 and once", h.delivered(), h.got[4])
		}
	})
	t.Run("rotated, followed until dropped", func(t *testing.T) {
		h := newSrcHarness(t)
		h.write(3)
		h.unterminated()
		h.mustRead()
		h.rotate(true)
		h.reopen()
		h.write(2)
		st := h.mustRead()
		if got := prevNames(st); got != "[auth.log.1]" || h.got[4] > 0 {
			t.Fatalf("followed %s, line 4 delivered %d times; want [auth.log.1] and not yet", got, h.got[4])
		}
		// Quiet, but not for PrevLinger yet: it may still grow.
		for i := 0; i < PrevQuietRuns; i++ {
			h.mustRead()
		}
		if h.got[4] > 0 {
			t.Fatal("line 4 delivered while its file may still grow")
		}
		h.clock = h.clock.Add(PrevLinger)
		st = h.mustRead()
		h.check()
		if len(st.Prev) != 0 || h.got[4] != 1 {
			t.Fatalf("followed %s, line 4 delivered %d times; want none followed, once", prevNames(st), h.got[4])
		}
		h.mustRead()
		h.check()
	})
	t.Run("rotated, then completed by its writer", func(t *testing.T) {
		h := newSrcHarness(t)
		h.write(3)
		h.partial() // line 4, half written
		h.mustRead()
		h.rotate(true)
		h.mustRead()
		h.reopen() // the writer ends line 4 in the renamed file
		h.write(1)
		h.mustRead()
		h.clock = h.clock.Add(PrevLinger)
		h.mustRead()
		h.check()
	})
	t.Run("rotated and compressed unseen", func(t *testing.T) {
		h := newSrcHarness(t)
		h.write(2)
		h.mustRead()
		h.rotate(true)
		h.reopen()
		h.write(2)
		h.unterminated() // line 5, in a generation never read
		h.rotate(true)
		h.reopen()
		h.compress(h.path + ".1")
		h.write(1)
		h.mustRead()
		h.check()
		if h.got[5] != 1 {
			t.Fatalf("line 5 delivered %d times, want once", h.got[5])
		}
	})
	t.Run("copytruncate", func(t *testing.T) {
		h := newSrcHarness(t)
		h.write(3)
		h.unterminated()
		waits(h, 4)
		h.copytruncate(false)
		h.write(2)
		h.mustRead()
		h.check()
		if h.got[4] != 1 {
			t.Fatalf("line 4 delivered %d times, want once", h.got[4])
		}
	})
}
