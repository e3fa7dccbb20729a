package analyze

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Source is where a jail's log records come from, read a run at a time
// from a saved position: a log file followed across rotation
// ([FileSource]), the systemd journal, ... The run's loop knows sources
// only through this interface: it hands Read the position saved by the
// previous run and saves the one Read returns, in the same transaction as
// the bans those records decided, so a record is never counted twice or
// lost.
type Source interface {
	// Key names the source in the state, unique within its jail: a log
	// file's path; other kinds start theirs with the kind and a colon
	// ("journal:...").
	Key() string

	// Read passes the records after pos to fn, in order: each as the line
	// a filter reads (a file's line; a journal entry in the syslog
	// format), with the name of where it came from and its number there
	// (0 where there is none). It returns the position after the last
	// record passed: a JSON object, opaque to the caller. pos nil means
	// never read: where to start then (the beginning, or the end, as the
	// jail's start: says) is the source's own setting.
	//
	// An error from fn stops the read and is returned as it is. On every
	// error the position returned covers exactly the records passed to fn
	// without error (nil: none, keep pos), so saving it neither loses nor
	// repeats one. A missing source is an error wrapping fs.ErrNotExist.
	Read(ctx context.Context, pos []byte, fn LineFunc) ([]byte, error)
}

// FileSource is one log path, read with [Read]; its position is the
// [FileState] as JSON.
type FileSource struct {
	Path string
	// FromEnd starts a path never read at its end instead of its
	// beginning.
	FromEnd bool
	// Now is the run's time (see [Read]).
	Now time.Time
}

// Key returns the path.
func (s FileSource) Key() string { return s.Path }

// Read reads the lines written since pos (see [Read]).
func (s FileSource) Read(ctx context.Context, pos []byte, fn LineFunc) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var prev *FileState
	if pos != nil {
		prev = &FileState{}
		if err := json.Unmarshal(pos, prev); err != nil {
			return nil, fmt.Errorf("%s: saved position: %w", s.Path, err)
		}
	}
	next, err := Read(s.Path, prev, s.FromEnd, s.Now, fn)
	if err != nil && prev == nil && next.Offset == 0 {
		return nil, err // nothing read of a path never seen: nothing to save
	}
	if err == nil && prev != nil && next.same(prev) {
		return pos, nil // nothing new (most paths, most runs): pos as saved
	}
	data, merr := json.Marshal(next)
	if merr != nil {
		return nil, fmt.Errorf("%s: position: %w", s.Path, merr)
	}
	return data, err
}

// same reports whether st and o remember the same: Read found nothing
// new.
func (st *FileState) same(o *FileState) bool {
	return st.Path == o.Path && st.Dev == o.Dev && st.Inode == o.Inode && st.Offset == o.Offset &&
		st.Size == o.Size && st.ModTime.Equal(o.ModTime) && st.Line == o.Line &&
		st.Horizon.Equal(o.Horizon) && bytes.Equal(st.Fingerprint, o.Fingerprint) &&
		slices.EqualFunc(st.Prev, o.Prev, func(a, b PrevFile) bool {
			return a.Name == b.Name && a.Dev == b.Dev && a.Inode == b.Inode && a.Offset == b.Offset &&
				a.Line == b.Line && a.Size == b.Size && a.ModTime.Equal(b.ModTime) &&
				bytes.Equal(a.Fingerprint, b.Fingerprint) && a.Seen.Equal(b.Seen) && a.Quiet == b.Quiet
		})
}
