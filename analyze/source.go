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

// How long a previous file of a path is followed after a rotation (see
// PrevFile): it is dropped once it was found unchanged at PrevQuietRuns
// runs in a row and has not grown for PrevLinger by the runs' own clock.
// At most MaxPrev are followed, the oldest dropped first.
const (
	PrevQuietRuns = 2
	PrevLinger    = 10 * time.Minute
	MaxPrev       = 8
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
	// a quiet run costs one stat. Size 0 after an error means "look again".
	Size    int64
	ModTime time.Time
	// Line is the number of the last line consumed, so that line numbers
	// go on across runs.
	Line int64
	// Horizon is the latest modification time of the files read to their
	// end for this path: a rotated file modified after it holds lines
	// never seen.
	Horizon time.Time
	// Fingerprint is the first up to FingerprintLen bytes of the file (of
	// its decompressed content for gzip). A file that no longer starts
	// with them was truncated and rewritten or replaced; a rotated copy or
	// a compressed sibling that does is the same content.
	Fingerprint []byte
	// Prev lists the files rotated away from Path that may still grow,
	// oldest first.
	Prev []PrevFile `json:",omitempty"`
}

// PrevFile is a file rotated away from a path. A program writing to the log
// (rsyslog, nginx) keeps appending to the renamed file until it is told to
// reopen, so its new lines are read at the following runs too, before those
// of the file under the path. It is dropped when it is gone, found only
// compressed or as a copy (neither grows), or once it was found unchanged
// at PrevQuietRuns runs in a row and PrevLinger after it last grew.
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
// line (its lines are counted so that numbers stay true, not passed to fn);
// its rotated files are history, not read.
//
// Rotation is followed (see "Sources" in the package documentation): the
// new lines of the files rotated away earlier come first, then the rest of
// the file read last time, from wherever the rotation put it in the same
// directory, then whole rotated files never seen, then the file now under
// path from its beginning. now is the run's time; it only decides when a
// rotated file stops being followed. Read changes nothing on disk.
//
// An error from fn stops reading and is returned. A missing path returns an
// error wrapping fs.ErrNotExist, another unreadable one the cause, naming
// the path; those come before any line is passed to fn. On every error the
// returned state describes exactly the lines passed to fn without error:
// saving it neither loses nor repeats a line. A caller that drops what it
// made of the lines must drop the returned state too, keeping st.
func Read(path string, st *FileState, fromEnd bool, now time.Time, fn LineFunc) (FileState, error) {
	s := &source{path: path, now: now, fn: fn}
	if st != nil {
		s.horizon = st.Horizon
		if s.horizon.IsZero() {
			s.horizon = st.ModTime
		}
		s.known = [][]byte{st.Fingerprint}
		for _, p := range st.Prev {
			s.known = append(s.known, p.Fingerprint)
		}
	}
	since := s.horizon
	res, err := s.read(st, since, fromEnd)
	if res.Horizon.Before(s.horizon) {
		res.Horizon = s.horizon
	}
	return res, err
}

// source is one call of Read.
type source struct {
	path      string
	dir, base string // where rotated files are, and their stem (see resolve)
	resolved  bool
	now       time.Time
	fn        LineFunc
	horizon   time.Time // the latest modification time of a file read to its end
	sibs      []sibling
	listed    bool
	claimed   map[string]bool // siblings already read in this call
	known     [][]byte        // fingerprints of the files read before
	lost      bool            // a rotated file followed was not found
	done      [][]byte        // fingerprints of the files read in this call
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
// of a FileState, or a PrevFile.
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

func (sp spot) prev() PrevFile {
	return PrevFile{
		Name: sp.name, Dev: sp.id.dev, Inode: sp.id.ino, Offset: sp.off, Line: sp.line,
		Size: sp.size, ModTime: sp.mtime, Fingerprint: sp.fp,
	}
}

// read does Read's work; since is the horizon of the runs before.
func (s *source) read(st *FileState, since time.Time, fromEnd bool) (FileState, error) {
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
		if prog.Prev, err = s.followAll(st.Prev); err != nil || !s.lost {
			return prog, err
		}
		// A rotated file followed vanished: compressed, if it holds
		// lines, as a generation never seen.
		gen := prog
		more, err := s.readUnseen(since, id, nil, &gen)
		if err != nil {
			return gen, err
		}
		prog.Prev = s.addPrev(prog.Prev, more)
		return prog, nil
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

	// The rotated files' lines are older than the current file's.
	if prog.Prev, err = s.followAll(st.Prev); err != nil {
		return prog, err
	}
	out.Prev = prog.Prev

	same := id == st.id()
	if same && cur.Info.Size() >= st.Size && fingerprintMatch(st.Fingerprint, fp) {
		// Growth, the usual case.
		if r, ok, err := seekLog(cur, fp, st.Offset); err != nil || ok {
			if err != nil {
				return prog, fmt.Errorf("read %s: %w", s.path, err)
			}
			if st.Offset == 0 || s.lost {
				// Nothing was read of it: a copytruncate, or a rename
				// and a new file given the same inode, left nothing in
				// it to tell. Or a rotated file followed vanished,
				// compressed. The files written since come first.
				more, err := s.readUnseen(since, id, fp, &prog)
				if err != nil {
					return prog, err
				}
				out.Prev = s.addPrev(out.Prev, more)
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
	f, err := s.locate(old, id)
	if err != nil {
		return prog, err
	}
	if f != nil {
		plain := f.byInode && !f.log.Compressed
		sp, err := s.finish(f, old.offset, old.line, !plain)
		prog.Offset, prog.Line = sp.off, sp.line
		if err != nil {
			return prog, err
		}
		if plain {
			// Its writer may not have reopened yet.
			prog.Prev = s.addPrev(prog.Prev, []PrevFile{sp.prev()})
		}
	}
	more, err := s.readUnseen(since, id, nil, &prog)
	if err != nil {
		return prog, err
	}
	out.Prev = s.addPrev(prog.Prev, more)
	r, _, err := seekLog(cur, fp, 0)
	if err != nil {
		return out, fmt.Errorf("read %s: %w", s.path, err)
	}
	return s.current(cur, r, &out)
}

// current reads the file under the path from r, positioned at out.Offset
// just after line out.Line, and completes out.
func (s *source) current(cur *Log, r io.Reader, out *FileState) (FileState, error) {
	// The live file's unterminated last line may be being written: it
	// waits, unless the file is compressed (complete).
	off, line, err := s.lines(s.path, r, out.Offset, out.Line, false, cur.Compressed)
	out.Offset, out.Line = off, line
	if err != nil {
		return *out, err
	}
	out.Size = cur.Info.Size()
	s.saw(cur.Info.ModTime())
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

// resolve sets the directory and the name that rotated files of the path
// are found in and named after: those of the file a symbolic link points
// to, which is where logrotate (which does not rotate links) and programs
// that repoint a link rotate it. Resolved only when needed: a quiet run
// does not.
func (s *source) resolve() {
	if s.resolved {
		return
	}
	s.resolved = true
	p := s.path
	if r, err := filepath.EvalSymlinks(p); err == nil {
		p = r
	}
	s.dir, s.base = filepath.Dir(p), filepath.Base(p)
}

// saw notes that a file modified at t was read to its end.
func (s *source) saw(t time.Time) {
	if t.After(s.horizon) {
		s.horizon = t
	}
}

// addPrev returns ps with the rotated files just read appended, those not
// followed already, at most MaxPrev in all.
func (s *source) addPrev(ps []PrevFile, read []PrevFile) []PrevFile {
	for _, q := range read {
		if !slices.ContainsFunc(ps, func(p PrevFile) bool { return p.id() == q.id() }) {
			q.Seen = s.now
			ps = append(ps, q)
		}
	}
	if len(ps) > MaxPrev {
		ps = ps[len(ps)-MaxPrev:]
	}
	return ps
}

// followAll follows each rotated file of ps (see follow) and returns those
// still followed. On an error the list describes the progress made.
func (s *source) followAll(ps []PrevFile) ([]PrevFile, error) {
	var out []PrevFile
	for i := range ps {
		q, err := s.follow(&ps[i])
		if q != nil {
			out = append(out, *q)
		}
		if err != nil {
			return append(out, ps[i+1:]...), err
		}
	}
	return out, nil
}

// follow reads what was appended to a rotated file since the last run and
// returns what to remember of it, nil when it is no longer followed. On an
// error it returns how far it got.
func (s *source) follow(p *PrevFile) (*PrevFile, error) {
	s.resolve()
	if fi, err := os.Lstat(filepath.Join(s.dir, p.Name)); err == nil && fi.Mode().IsRegular() {
		if id, err := statID(fi); err == nil && id == p.id() &&
			fi.Size() == p.Size && fi.ModTime().Equal(p.ModTime) &&
			!(p.Offset < p.Size && s.drops(p)) {
			q := *p
			s.claim(p.Name)
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
		// Gone, or compressed with nothing read of it to recognise it
		// by: then its lines are in a generation never seen.
		s.lost = true
		return nil, nil
	}
	grows := f.byInode && !f.log.Compressed
	unchanged := f.log.Info.Size() == p.Size && f.log.Info.ModTime().Equal(p.ModTime)
	// Its unterminated last line is a line once it no longer grows:
	// compressed, a copy, or dropped now.
	sp, err := s.finish(f, p.Offset, p.Line, !grows || (unchanged && s.drops(p)))
	q := sp.prev()
	q.Seen, q.Quiet = p.Seen, p.Quiet
	switch {
	case err != nil:
		q.Size = 0 // not read to its end: look again
		return &q, err
	case !grows:
		return nil, nil // compressed or copied: read to its end for good
	case q.Size == p.Size && q.ModTime.Equal(p.ModTime):
		return s.aged(&q), nil // moved, not grown
	}
	q.Seen, q.Quiet = s.now, 0
	return &q, nil
}

// aged returns q, a rotated file found unchanged, one quiet run older, or
// nil when it has been quiet long enough to be dropped.
func (s *source) aged(q *PrevFile) *PrevFile {
	if s.drops(q) {
		return nil
	}
	q.Quiet++
	return q
}

// drops reports whether the rotated file p, found unchanged by this run,
// is dropped by it.
func (s *source) drops(p *PrevFile) bool {
	return p.Quiet+1 >= PrevQuietRuns && !s.now.Before(p.Seen.Add(PrevLinger))
}

// finish reads f from off, line to its last complete line and closes it;
// complete, an unterminated last line is a line too.
func (s *source) finish(f *found, off, line int64, complete bool) (spot, error) {
	s.resolve()
	defer f.log.Close()
	sp := spot{name: f.name, size: f.log.Info.Size(), mtime: f.log.Info.ModTime(), fp: f.fp, off: off, line: line}
	id, err := statID(f.log.Info)
	if err != nil {
		return sp, err
	}
	sp.id = id
	sp.off, sp.line, err = s.lines(filepath.Join(s.dir, f.name), f.r, off, line, f.log.Compressed, complete)
	s.done = append(s.done, f.fp)
	if err == nil {
		s.saw(sp.mtime)
	}
	return sp, err
}

// lines passes the complete lines of r to fn, r starting at offset off just
// after line number line of the file called name; with complete, the bytes
// after the last newline too (see LineReader.Closed). It returns the offset
// and number of the last line passed to fn without error (or skipped for
// its length). A damaged compressed file (tolerant) ends without an error:
// reading it again would not repair it.
func (s *source) lines(name string, r io.Reader, off, line int64, tolerant, complete bool) (int64, int64, error) {
	lr := NewLineReader(r)
	lr.Closed = complete
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
// and inode comes first (see try for what makes it the same). Failing
// that, a rotated sibling other than the file cur whose content starts with
// the fingerprint and reaches the offset: a compressed copy, or the copy
// made by copytruncate. Among those the oldest modified no earlier than the
// remembered file was (to the second, as compressors may drop the
// fraction) wins: newer generations of a log whose first bytes never
// change would match too. A file of which nothing was read is found by
// inode or not at all: all its content is new, and its copies are found as
// generations never seen.
func (s *source) locate(m remembered, cur fileID) (*found, error) {
	s.resolve()
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
	if m.offset == 0 {
		return nil, nil
	}
	since := m.mtime.Truncate(time.Second)
	var cands []sibling
	for _, sib := range sibs {
		// A copy may have been given the remembered file's inode number
		// once it was deleted: that does not rule it out.
		if sib.rotated && sib.id != cur && !s.claimed[sib.name] && !sib.mtime.Before(since) {
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

// try opens the sibling name and positions it at m's offset if it is m (or,
// not byInode, a copy of m's content); nil otherwise. It must start with
// m's fingerprint, reach its offset, and not have been modified before m
// was (files do not grow older: such a one took the inode number of a
// deleted file, or is an older generation). A compressed file is never the
// plain one read by inode: compressing makes a new file. Nor is a copy of
// another file read, when m's fingerprint holds no whole line to tell.
func (s *source) try(name string, m remembered, byInode bool) (*found, error) {
	f, err := s.open(name, byInode)
	if f == nil || err != nil {
		return nil, err
	}
	id, err := statID(f.log.Info)
	weak := bytes.IndexByte(m.fingerprint, '\n') < 0
	if err == nil && (id == m.id || !byInode) && !(byInode && f.log.Compressed) &&
		!f.log.Info.ModTime().Before(m.mtime.Truncate(time.Second)) &&
		fingerprintMatch(m.fingerprint, f.fp) && !(weak && s.copied(f.fp)) {
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
	s.resolve()
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

// copied reports whether a file starting with fp is a copy (see sameStart)
// of a file read before or in this call.
func (s *source) copied(fp []byte) bool {
	same := func(k []byte) bool { return sameStart(k, fp) }
	return slices.ContainsFunc(s.known, same) || slices.ContainsFunc(s.done, same)
}

// readUnseen reads the generations unseen returns, oldest first, each from
// its start. After each, prog describes it as the path's file, so that a
// run stopped by an error goes on after it. It returns the plain ones read,
// which may still grow.
func (s *source) readUnseen(since time.Time, cur fileID, curFP []byte, prog *FileState) ([]PrevFile, error) {
	unseen, err := s.unseen(since, cur, curFP)
	if err != nil {
		return nil, err
	}
	var plain []PrevFile
	for _, sib := range unseen {
		f, err := s.open(sib.name, true)
		if err != nil {
			return nil, err
		}
		if f == nil {
			continue
		}
		s.claim(sib.name)
		grows := !f.log.Compressed
		sp, err := s.finish(f, 0, 0, !grows)
		*prog = FileState{
			Path: s.path, Dev: sp.id.dev, Inode: sp.id.ino, Offset: sp.off, Line: sp.line,
			Size: sp.size, ModTime: sp.mtime, Fingerprint: sp.fp, Prev: prog.Prev,
		}
		if err != nil {
			return nil, err
		}
		if grows {
			plain = append(plain, sp.prev())
		}
	}
	return plain, nil
}

// unseen returns the rotated siblings written after the last run (modified
// after since, the horizon of the runs before) that are not the file cur,
// were not read in this call, and are no copy of a file read before or in
// this call (see copied), nor of the file cur (curFP: a copytruncate under
// way): whole generations rotated away between two runs. Empty ones count:
// their writer may not have reopened yet. Copies of one another count once,
// the plain one preferred (a compression may be under way). Oldest first.
func (s *source) unseen(since time.Time, cur fileID, curFP []byte) ([]sibling, error) {
	if since.IsZero() {
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
		if !sib.rotated || sib.id == cur || s.claimed[sib.name] || !sib.mtime.After(since) {
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
		if s.copied(f.fp) || sameStart(curFP, f.fp) {
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
		if !slices.ContainsFunc(cands[:i], func(d cand) bool { return sameStart(c.fp, d.fp) }) {
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
	s.resolve()
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

// sameStart reports whether two fingerprints are of copies of one content:
// they hold the same first line, complete, and agree as far as both go. A
// partial first line proves nothing ("Nov 2" starts many logs).
func sameStart(a, b []byte) bool {
	n := min(len(a), len(b))
	return bytes.IndexByte(a[:n], '\n') >= 0 && bytes.Equal(a[:n], b[:n])
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
