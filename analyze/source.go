package analyze

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// FingerprintLen is how many bytes at the start of a file are remembered to
// recognise it: enough to hold a log's first line with its timestamp, which
// tells one generation of a log from the next.
const FingerprintLen = 256

// How long the previous file of a path is followed after a rotation (see
// PrevFile): it is dropped once it was found unchanged at PrevQuietRuns
// runs in a row and has not grown for PrevLinger by the runs' own clock.
const (
	PrevQuietRuns = 2
	PrevLinger    = 10 * time.Minute
)

var (
	// ErrNotRegular is returned, wrapped with the path, for a log path that
	// is not a regular file (a directory, a device, a FIFO): there is no
	// offset to resume from in such a thing.
	ErrNotRegular = errors.New("not a regular file")

	// ErrRotating is returned when a rotated file vanished between the
	// listing of its directory and its opening: logrotate is at work. The
	// next run finds the directory settled.
	ErrRotating = errors.New("rotation under way")
)

// FileState is what is remembered of one log path between runs. It holds no
// open file, only plain fields the state file can encode.
type FileState struct {
	// Path is the log path as configured (after glob expansion).
	Path string
	// Dev and Inode identify the file last read under Path.
	Dev, Inode uint64
	// Offset is how far that file was consumed, in whole lines; for a gzip
	// file it counts decompressed bytes.
	Offset int64
	// Size and ModTime are the file's as stat saw them before the last
	// read. Unchanged, with the same Dev and Inode, they mean nothing new:
	// a quiet run costs one stat. ModTime also tells which rotated files
	// were written after the last run. Size 0 after an error means "look
	// again".
	Size    int64
	ModTime time.Time
	// Line is the number of the last line consumed, so that line numbers
	// go on across runs.
	Line int64
	// Fingerprint is the first up to FingerprintLen bytes of the file (of
	// its decompressed content for gzip). A file that no longer starts
	// with them was truncated and rewritten or replaced; a rotated copy or
	// a compressed sibling that does is the same content.
	Fingerprint []byte
	// Prev is the file that was under Path before the last rotation, while
	// it is followed; nil otherwise.
	Prev *PrevFile `json:",omitempty"`
}

// PrevFile is the previous file of a path after a rename rotation. A
// program writing to the log (rsyslog, nginx) keeps appending to the renamed
// file until it is told to reopen, so its new lines are read at the following
// runs too, before those of the new file. It is dropped when it is gone,
// found only compressed or as a copy (neither grows), replaced by a newer
// rotation, or once it was found unchanged at PrevQuietRuns runs in a row
// and PrevLinger after it last grew.
type PrevFile struct {
	// Name is the file's base name in the directory of the path, where it
	// was last found; it is looked for by Dev and Inode when it moved.
	Name        string
	Dev, Inode  uint64
	Offset      int64
	Line        int64
	Size        int64
	ModTime     time.Time
	Fingerprint []byte
	// Seen is the run time (Read's now) at which it last grew, or at which
	// the rotation was noticed.
	Seen time.Time
	// Quiet counts the runs in a row that found it unchanged.
	Quiet int
}

// LineFunc receives each complete line read: the name of the file it came
// from (a rotated sibling's own path when it was read there), its 1-based
// number in that file, and its bytes, valid during the call only.
type LineFunc func(file string, num int64, line []byte) error

// Read reads the complete lines of path written since st and returns the
// state to save for the next call. st nil means a path never seen: it is
// read from its beginning, or with fromEnd from the end of its last complete
// line (its lines are counted so that numbers stay true, not passed to fn).
//
// Rotation is followed (see "Sources" in the package documentation): the
// rest of the file read last time is read first, from wherever the rotation
// put it in the same directory, then whole rotated files never seen, then
// the file now under path from its beginning. now is the run's time; it
// only decides when a previous file stops being followed. Read changes
// nothing on disk.
//
// An error from fn stops reading and is returned. A missing path returns an
// error wrapping fs.ErrNotExist, another unreadable one the cause, naming
// the path; those come before any line is passed to fn. On every error the
// returned state describes exactly the lines passed to fn without error:
// saving it neither loses nor repeats a line. A caller that drops what it
// made of the lines must drop the returned state too, keeping st.
func Read(path string, st *FileState, fromEnd bool, now time.Time, fn LineFunc) (FileState, error) {
	s := &source{path: path, dir: filepath.Dir(path), base: filepath.Base(path), now: now, fn: fn}
	return s.read(st, fromEnd)
}

// source is one call of Read.
type source struct {
	path, dir, base string
	now             time.Time
	fn              LineFunc
	buf             []byte // the LineReader's buffer, shared by every file read
	sibs            []sibling
	listed          bool
	claimed         map[string]bool // siblings already read in this call
}

// fileID is a file's identity: device and inode numbers.
type fileID struct{ dev, ino uint64 }

func (st *FileState) id() fileID { return fileID{st.Dev, st.Inode} }
func (p *PrevFile) id() fileID   { return fileID{p.Dev, p.Inode} }

// sibling is another regular file in the directory of the path.
type sibling struct {
	name    string
	id      fileID
	mtime   time.Time
	rotated bool // named like a rotation of the path (see rotatedName)
}

// remembered is a file read before, to be found again: the current file
// of a FileState, or its PrevFile.
type remembered struct {
	id          fileID
	offset      int64
	line        int64
	mtime       time.Time
	fingerprint []byte
	hint        string // the base name it was last seen under, if any
}

// found is a file found again (or a rotated file found at all), open and
// positioned where reading starts.
type found struct {
	name    string
	log     *Log
	r       io.Reader
	fp      []byte
	byInode bool // the remembered file itself, not a copy of its content
}

// spot is how far a file was read: enough to find it again and go on.
type spot struct {
	name      string
	id        fileID
	size      int64
	mtime     time.Time
	fp        []byte
	off, line int64
}

func (sp spot) prev() *PrevFile {
	return &PrevFile{
		Name: sp.name, Dev: sp.id.dev, Inode: sp.id.ino, Offset: sp.off, Line: sp.line,
		Size: sp.size, ModTime: sp.mtime, Fingerprint: sp.fp,
	}
}

func (s *source) read(st *FileState, fromEnd bool) (FileState, error) {
	var keep FileState
	if st != nil {
		keep = *st
	}
	fi, err := os.Stat(s.path)
	if err != nil {
		return keep, err
	}
	if !fi.Mode().IsRegular() {
		return keep, &fs.PathError{Op: "read", Path: s.path, Err: ErrNotRegular}
	}
	id, err := statID(fi)
	if err != nil {
		return keep, &fs.PathError{Op: "read", Path: s.path, Err: err}
	}
	prog := keep // what has been delivered so far
	prog.Path = s.path
	if st != nil && id == st.id() && fi.Size() == st.Size && fi.ModTime().Equal(st.ModTime) {
		// Nothing new in the current file: the quiet run.
		if st.Prev != nil {
			prog.Prev, err = s.follow(st.Prev)
		}
		return prog, err
	}

	cur, fp, err := s.openPath()
	if err != nil {
		return keep, err
	}
	defer cur.Close()
	if id, err = statID(cur.Info); err != nil {
		return keep, &fs.PathError{Op: "read", Path: s.path, Err: err}
	}
	// The state of the current file; Size stays 0 until it is read to its
	// end, so that a run stopped by an error is not taken for a quiet one.
	out := FileState{
		Path: s.path, Dev: id.dev, Inode: id.ino,
		ModTime: cur.Info.ModTime(), Fingerprint: fp,
	}
	if st == nil {
		r, _, err := seekLog(cur, fp, 0)
		if err != nil {
			return keep, fmt.Errorf("read %s: %w", s.path, err)
		}
		if !fromEnd {
			return s.current(cur, r, &out)
		}
		// Count the lines without passing them: nothing is delivered, so
		// on an error nothing is remembered.
		s.fn = func(string, int64, []byte) error { return nil }
		res, err := s.current(cur, r, &out)
		if err != nil {
			return keep, err
		}
		return res, nil
	}

	// The previous file's lines are older than the current file's.
	if st.Prev != nil {
		if prog.Prev, err = s.follow(st.Prev); err != nil {
			return prog, err
		}
	}
	out.Prev = prog.Prev

	same := id == st.id()
	if same && cur.Info.Size() >= st.Size && fingerprintMatch(st.Fingerprint, fp) {
		// Growth, the usual case.
		if r, ok, err := seekLog(cur, fp, st.Offset); err != nil || ok {
			if err != nil {
				return prog, fmt.Errorf("read %s: %w", s.path, err)
			}
			out.Offset, out.Line = st.Offset, st.Line
			return s.current(cur, r, &out)
		}
	}

	// The file under path is not the one read last time (rename, deletion,
	// replacement) or was truncated in place (copytruncate): finish the old
	// one where it went, then read the generations rotated since, then the
	// new file from its start.
	old := remembered{
		id: st.id(), offset: st.Offset, line: st.Line,
		mtime: st.ModTime, fingerprint: st.Fingerprint,
	}
	known := [][]byte{st.Fingerprint}
	if st.Prev != nil {
		known = append(known, st.Prev.Fingerprint)
	}
	// last is the newest rotated file read, which its writer may not have
	// left yet; nil when it is compressed or a copy.
	var last *PrevFile
	f, err := s.locate(old, id)
	if err != nil {
		return prog, err
	}
	if f != nil {
		grows := f.byInode && !f.log.Compressed
		sp, err := s.finish(f, old.offset, old.line)
		prog.Offset, prog.Line = sp.off, sp.line
		if err != nil {
			return prog, err
		}
		if grows {
			last = sp.prev()
		}
	}
	unseen, err := s.unseen(st.ModTime, known, id)
	if err != nil {
		return prog, err
	}
	for _, sib := range unseen {
		f, err := s.open(sib.name, true)
		if err != nil {
			return prog, err
		}
		if f == nil {
			continue
		}
		s.claim(sib.name)
		grows := !f.log.Compressed
		sp, err := s.finish(f, 0, 0)
		// Should the run stop, this generation stands for the path's
		// file: the next run finishes it, then reads the generations
		// modified after it.
		prog = FileState{
			Path: s.path, Dev: sp.id.dev, Inode: sp.id.ino, Offset: sp.off, Line: sp.line,
			Size: sp.size, ModTime: sp.mtime, Fingerprint: sp.fp, Prev: prog.Prev,
		}
		if err != nil {
			return prog, err
		}
		last = nil
		if grows {
			last = sp.prev()
		}
	}
	if !same {
		// The file just rotated away replaces any previous one: a writer
		// that got through a whole rotation without reopening is not
		// followed further. After copytruncate the writer goes on in the
		// same file and copies never grow: the previous file stays as is.
		out.Prev = last
		if last != nil {
			last.Seen = s.now
		}
	}
	r, _, err := seekLog(cur, fp, 0)
	if err != nil {
		return out, fmt.Errorf("read %s: %w", s.path, err)
	}
	return s.current(cur, r, &out)
}

// current reads the file under the path from r, positioned at out.Offset
// just after line out.Line, and completes out.
func (s *source) current(cur *Log, r io.Reader, out *FileState) (FileState, error) {
	off, line, err := s.lines(s.path, r, out.Offset, out.Line, false)
	out.Offset, out.Line = off, line
	if err != nil {
		return *out, err
	}
	out.Size = cur.Info.Size()
	return *out, nil
}

// openPath opens the file under the path and reads its fingerprint.
func (s *source) openPath() (*Log, []byte, error) {
	l, err := OpenLog(s.path)
	if err != nil {
		return nil, nil, err
	}
	if !l.Info.Mode().IsRegular() {
		l.Close()
		return nil, nil, &fs.PathError{Op: "read", Path: s.path, Err: ErrNotRegular}
	}
	fp, err := readFingerprint(l)
	if err != nil {
		l.Close()
		return nil, nil, &fs.PathError{Op: "read", Path: s.path, Err: err}
	}
	return l, fp, nil
}

// follow reads what was appended to the previous file since the last run
// and returns what to remember of it, nil when it is no longer followed.
// On an error it returns how far it got.
func (s *source) follow(p *PrevFile) (*PrevFile, error) {
	if fi, err := os.Lstat(filepath.Join(s.dir, p.Name)); err == nil && fi.Mode().IsRegular() {
		if id, err := statID(fi); err == nil && id == p.id() &&
			fi.Size() == p.Size && fi.ModTime().Equal(p.ModTime) {
			q := *p
			return s.aged(&q), nil
		}
	}
	f, err := s.locate(remembered{
		id: p.id(), offset: p.Offset, line: p.Line,
		mtime: p.ModTime, fingerprint: p.Fingerprint, hint: p.Name,
	}, fileID{})
	if err != nil {
		q := *p
		return &q, err
	}
	if f == nil {
		return nil, nil // gone
	}
	grows := f.byInode && !f.log.Compressed
	sp, err := s.finish(f, p.Offset, p.Line)
	q := sp.prev()
	q.Seen, q.Quiet = p.Seen, p.Quiet
	switch {
	case err != nil:
		return q, err
	case !grows:
		return nil, nil // compressed or copied: read to its end for good
	case q.Size == p.Size && q.ModTime.Equal(p.ModTime):
		return s.aged(q), nil // moved, not grown
	}
	q.Seen, q.Quiet = s.now, 0
	return q, nil
}

// aged returns q, a previous file found unchanged, one quiet run older, or
// nil when it has been quiet long enough to be dropped.
func (s *source) aged(q *PrevFile) *PrevFile {
	q.Quiet++
	if q.Quiet >= PrevQuietRuns && !s.now.Before(q.Seen.Add(PrevLinger)) {
		return nil
	}
	return q
}

// finish reads f from off, line to its last complete line and closes it.
func (s *source) finish(f *found, off, line int64) (spot, error) {
	defer f.log.Close()
	sp := spot{name: f.name, size: f.log.Info.Size(), mtime: f.log.Info.ModTime(), fp: f.fp, off: off, line: line}
	id, err := statID(f.log.Info)
	if err != nil {
		return sp, err
	}
	sp.id = id
	sp.off, sp.line, err = s.lines(filepath.Join(s.dir, f.name), f.r, off, line, f.log.Compressed)
	return sp, err
}

// lines passes the complete lines of r to fn, r starting at offset off just
// after line number line of the file called name. It returns the offset and
// number of the last line passed to fn without error (or skipped for its
// length). A damaged compressed file (tolerant) ends without an error:
// reading it again would not repair it.
func (s *source) lines(name string, r io.Reader, off, line int64, tolerant bool) (int64, int64, error) {
	if s.buf == nil {
		s.buf = make([]byte, readBufSize)
	}
	lr := &LineReader{r: r, buf: s.buf}
	lr.SetStart(off, line+1)
	for {
		b, ok := lr.Next()
		if !ok {
			break
		}
		if err := s.fn(name, lr.Num(), b); err != nil {
			return off, line, err
		}
		off, line = lr.Offset(), lr.Num()
	}
	if err := lr.Err(); err != nil && !tolerant {
		return off, line, fmt.Errorf("read %s: %w", name, err)
	}
	// Long lines skipped after the last line passed count as consumed.
	return lr.Offset(), lr.Num(), nil
}

// locate finds a remembered file among the siblings of the path, open and
// positioned at its offset; nil when it is gone. The file with its device
// and inode comes first, if it still starts with its fingerprint (else the
// inode was reused). Failing that, a rotated sibling other than the file
// cur whose content starts with the fingerprint and reaches the offset: a
// compressed copy, or the copy made by copytruncate. Among those the oldest
// modified no earlier than the remembered file was (to the second, as
// compressors may drop the fraction) wins: newer generations of a log whose
// first bytes never change would match too.
func (s *source) locate(m remembered, cur fileID) (*found, error) {
	if m.hint != "" && !s.claimed[m.hint] {
		if fi, err := os.Lstat(filepath.Join(s.dir, m.hint)); err == nil && fi.Mode().IsRegular() {
			if id, err := statID(fi); err == nil && id == m.id {
				if f, err := s.try(m.hint, m, true); f != nil || err != nil {
					return f, err
				}
			}
		}
	}
	sibs, err := s.siblings()
	if err != nil {
		return nil, err
	}
	if m.id != cur {
		for _, sib := range sibs {
			if sib.id == m.id && !s.claimed[sib.name] {
				if f, err := s.try(sib.name, m, true); f != nil || err != nil {
					return f, err
				}
			}
		}
	}
	since := m.mtime.Truncate(time.Second)
	var cands []sibling
	for _, sib := range sibs {
		if sib.rotated && sib.id != cur && sib.id != m.id && !s.claimed[sib.name] && !sib.mtime.Before(since) {
			cands = append(cands, sib)
		}
	}
	s.sortGenerations(cands)
	for _, sib := range cands {
		if f, err := s.try(sib.name, m, false); f != nil || err != nil {
			return f, err
		}
	}
	return nil, nil
}

// try opens the sibling name and positions it at m's offset if it starts
// with m's fingerprint and is long enough; nil otherwise.
func (s *source) try(name string, m remembered, byInode bool) (*found, error) {
	f, err := s.open(name, byInode)
	if f == nil || err != nil {
		return nil, err
	}
	if id, err := statID(f.log.Info); err == nil && (id == m.id) == byInode && fingerprintMatch(m.fingerprint, f.fp) {
		if r, ok, err := seekLog(f.log, f.fp, m.offset); err == nil && ok {
			f.r = r
			s.claim(name)
			return f, nil
		}
	}
	f.log.Close()
	return nil, nil
}

// open opens the sibling name at its start with its fingerprint read. A
// sibling that cannot be opened or decompressed is skipped (nil), unless it
// vanished since the directory was listed (ErrRotating).
func (s *source) open(name string, byInode bool) (*found, error) {
	l, err := OpenLog(filepath.Join(s.dir, name))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read %s: %s vanished: %w", s.path, name, ErrRotating)
		}
		return nil, nil
	}
	fp, err := readFingerprint(l)
	if err != nil {
		l.Close()
		return nil, nil
	}
	r, _, err := seekLog(l, fp, 0)
	if err != nil {
		l.Close()
		return nil, nil
	}
	return &found{name: name, log: l, r: r, fp: fp, byInode: byInode}, nil
}

// claim marks the sibling name as read in this call.
func (s *source) claim(name string) {
	if s.claimed == nil {
		s.claimed = make(map[string]bool)
	}
	s.claimed[name] = true
}

// unseen returns the rotated siblings written after the last run (modified
// after mtime, the remembered file's modification time then) that are not
// the file cur, were not read in this call, and are no copy of a file read
// before (they start with one of the known fingerprints): whole generations
// rotated away between two runs. Copies of one another count once, the
// plain one preferred (a compression may be under way). Oldest first.
func (s *source) unseen(mtime time.Time, known [][]byte, cur fileID) ([]sibling, error) {
	if mtime.IsZero() {
		return nil, nil
	}
	sibs, err := s.siblings()
	if err != nil {
		return nil, err
	}
	type cand struct {
		sibling
		fp         []byte
		compressed bool
	}
	var cands []cand
	for _, sib := range sibs {
		if !sib.rotated || sib.id == cur || s.claimed[sib.name] || !sib.mtime.After(mtime) {
			continue
		}
		f, err := s.open(sib.name, false)
		if err != nil {
			return nil, err
		}
		if f == nil {
			continue
		}
		f.log.Close()
		if len(f.fp) == 0 || slices.ContainsFunc(known, func(k []byte) bool {
			return len(k) > 0 && fingerprintMatch(k, f.fp)
		}) {
			continue
		}
		cands = append(cands, cand{sib, f.fp, f.log.Compressed})
	}
	slices.SortStableFunc(cands, func(a, b cand) int {
		switch {
		case a.compressed == b.compressed:
			return 0
		case !a.compressed:
			return -1
		}
		return 1
	})
	var out []sibling
	for i, c := range cands {
		if !slices.ContainsFunc(cands[:i], func(d cand) bool { return bytes.Equal(c.fp, d.fp) }) {
			out = append(out, c.sibling)
		}
	}
	s.sortGenerations(out)
	return out, nil
}

// siblings lists the regular files of the path's directory but the path
// itself, once per call.
func (s *source) siblings() ([]sibling, error) {
	if s.listed {
		return s.sibs, nil
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("read %s: list rotated files: %w", s.path, err)
	}
	for _, e := range entries {
		if e.Name() == s.base || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // gone since listed
		}
		id, err := statID(fi)
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: s.path, Err: err}
		}
		s.sibs = append(s.sibs, sibling{
			name: e.Name(), id: id, mtime: fi.ModTime(),
			rotated: rotatedName(s.base, e.Name()),
		})
	}
	s.listed = true
	return s.sibs, nil
}

// rotatedName reports whether name looks like a rotation of the file base:
// base followed by '.', '-' or '_' and a number or date made of digits and
// '-', '_' or '.' (auth.log.1, auth.log.0, auth.log-20261124,
// auth.log-20261124-13, auth.log.2026-11-24), or by nothing, each
// optionally followed by ".gz".
func rotatedName(base, name string) bool {
	rest, ok := strings.CutPrefix(name, base)
	if !ok {
		return false
	}
	rest = strings.TrimSuffix(rest, ".gz")
	if rest == "" {
		return name != base
	}
	if rest[0] != '.' && rest[0] != '-' && rest[0] != '_' {
		return false
	}
	rest = rest[1:]
	if rest == "" || rest[0] < '0' || rest[0] > '9' {
		return false
	}
	return strings.Trim(rest, "0123456789-_.") == ""
}

// sortGenerations orders rotated files oldest first: by modification time,
// then a higher rotation number first (auth.log.2 before auth.log.1), then
// by name (dates ascending).
func (s *source) sortGenerations(sibs []sibling) {
	slices.SortStableFunc(sibs, func(a, b sibling) int {
		if c := a.mtime.Compare(b.mtime); c != 0 {
			return c
		}
		na, okA := rotationNumber(s.base, a.name)
		nb, okB := rotationNumber(s.base, b.name)
		if okA && okB && na != nb {
			return nb - na
		}
		return strings.Compare(a.name, b.name)
	})
}

// rotationNumber returns N for a name base.N or base.N.gz.
func rotationNumber(base, name string) (int, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSuffix(name, ".gz"), base+".")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil
}

// readFingerprint returns the first up to FingerprintLen bytes of l's
// content, consuming them from a compressed l.
func readFingerprint(l *Log) ([]byte, error) {
	b := make([]byte, FingerprintLen)
	if !l.Compressed {
		n, err := l.f.ReadAt(b, 0)
		if err != nil && err != io.EOF {
			return nil, err
		}
		return b[:n], nil
	}
	n, err := io.ReadFull(l.Reader, b)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, err
	}
	return b[:n], nil
}

// fingerprintMatch reports whether a file starting with now is the file
// that started with saved when it was read: saved may be shorter, as the
// file was.
func fingerprintMatch(saved, now []byte) bool {
	return len(now) >= len(saved) && bytes.Equal(now[:len(saved)], saved)
}

// seekLog returns a reader of l from offset off of its content, fp being
// the fingerprint readFingerprint took from it; false when the content is
// shorter than off (or, compressed, damaged before it).
func seekLog(l *Log, fp []byte, off int64) (io.Reader, bool, error) {
	if !l.Compressed {
		if off > l.Info.Size() {
			return nil, false, nil
		}
		if _, err := l.f.Seek(off, io.SeekStart); err != nil {
			return nil, false, err
		}
		return l.f, true, nil
	}
	if n := int64(len(fp)); off <= n {
		return io.MultiReader(bytes.NewReader(fp[off:]), l.Reader), true, nil
	} else if _, err := io.CopyN(io.Discard, l.Reader, off-n); err != nil {
		return nil, false, nil
	}
	return l.Reader, true, nil
}
