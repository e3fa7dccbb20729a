package state

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"
)

// A run that finds nothing new (no new line in any source, nothing due)
// writes nothing to the file: its write transaction holds no change and
// is rolled back rather than committed, which saves the pages bbolt would
// write anyway (freelist, meta) and its two fdatasyncs. Such a run still
// says when it ran, in a small file beside the state (PATH.lastrun, the
// time as text): [Tx.LastRun] is the later of that and the time the last
// committed run recorded in the file.

// lastRunSuffix names the file beside the state that holds the time of
// the last run that committed nothing.
const lastRunSuffix = ".lastrun"

// ErrUnchanged is returned by [DB.Update]'s function to end a write
// transaction that changed nothing without committing it; Update then
// returns it, and the file is as before.
var ErrUnchanged = errors.New("state unchanged: nothing to commit")

// Changed reports whether this write transaction has changed anything
// yet: a put or a delete of an existing key, a bucket made or dropped, a
// track kept for the commit (PutTrack, DeleteTrack).
// (bbolt copies a page into a node before any change to it, and only
// then; a transaction without one would commit only its freelist and
// meta page.)
func (tx *Tx) Changed() bool {
	if !tx.tx.Writable() {
		return false
	}
	st := tx.tx.Stats()
	return len(tx.pending) > 0 || st.GetNodeCount() > 0
}

// lastRunLen is the length of what NoteRun writes: the longest RFC 3339
// time, padded with spaces, and a newline.
const lastRunLen = len(time.RFC3339Nano) + 1

// NoteRun records t as the time of a run that committed nothing, beside
// the file (see ErrUnchanged). It overwrites the same bytes in place,
// neither truncating (ext4 would then write the file out at close) nor
// syncing: after a crash the status may name an earlier run.
func (db *DB) NoteRun(t time.Time) error {
	if db.readOnly {
		return fmt.Errorf("%w: %s", ErrReadOnly, db.path)
	}
	buf := fmt.Appendf(make([]byte, 0, lastRunLen), "%-*s\n", lastRunLen-1, t.Format(time.RFC3339Nano))
	f, err := openNote(db.path, os.O_WRONLY|os.O_CREATE)
	if err == nil {
		_, err = f.WriteAt(buf, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("state %s: last run: %w", db.path, err)
	}
	return nil
}

// openNote opens the note beside the state file at path: a regular file,
// never through a symbolic link (the state file itself is refused as
// one, see checkFile), nor blocking on a FIFO.
func openNote(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path+lastRunSuffix, flag|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o600)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s%s: not a regular file", path, lastRunSuffix)
	}
	return f, nil
}

// noted returns the time NoteRun recorded, if any (unreadable: none).
func noted(path string) (time.Time, bool) {
	f, err := openNote(path, os.O_RDONLY)
	if err != nil {
		return time.Time{}, false
	}
	defer f.Close()
	buf := make([]byte, lastRunLen)
	n, _ := io.ReadFull(f, buf)
	t, err := time.Parse(time.RFC3339Nano, string(bytes.TrimSpace(buf[:n])))
	return t, err == nil
}
