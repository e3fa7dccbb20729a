package runner

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"logjail/analyze"
	"logjail/config"
	"logjail/state"
)

// runSource is a jail's source as the run reads it: an [analyze.Source],
// and what differs between the kinds of source around the read: where
// the state keeps its record, and what the run counts and says once the
// read has ended. The loop (read) is the same for every kind.
type runSource interface {
	analyze.Source
	// load decodes the saved record; found false: never read.
	load(tx *state.Tx, jail string) (rec sourceRecord, found bool, err error)
	// keep queues rec to be saved at the end of the run, unless it is
	// the record loaded (prev; nil: none): a source with nothing new
	// writes nothing.
	keep(r *run, jail string, rec sourceRecord, prev *sourceRecord)
	// ended hears how the read ended (err nil: to the end, with no
	// problem) and counts it in stats. gone reports an err that only
	// means the source vanished for now: no problem, nothing kept.
	ended(r *run, jail string, stats *JailStats, err error) (gone bool)
}

// jail reads the new records of one jail's sources.
func (r *run) jail(j *config.Jail) error {
	stats := &JailStats{}
	r.res.Jails[j.Name] = stats
	pol := r.policy(j.Name)
	for _, src := range r.sources(j) {
		if err := r.read(j, pol, stats, src); err != nil {
			return err
		}
	}
	return nil
}

// read reads the records of one source after its saved position, with
// the filter's saved context, and queues the next record.
func (r *run) read(j *config.Jail, pol *analyze.Policy, stats *JailStats, src runSource) error {
	key := src.Key()
	rec, found, err := src.load(r.tx, j.Name)
	if err != nil {
		return err
	}
	pos, prev := rec.pos, &rec
	if !found {
		pos, prev = nil, nil
	}
	// The filter is made, with its saved context, for the first line: a
	// source with nothing new (most of them, most runs) costs a stat,
	// and its context stays as saved, byte for byte.
	var m analyze.Matcher
	var tp *analyze.TimeParser
	next, err := src.Read(r.ctx, pos, func(file string, num int64, line []byte) error {
		if m == nil {
			m = j.Filter.New(j.Mode)
			if snap, ok := m.(analyze.Snapshotter); ok && len(rec.context) > 0 {
				if err := snap.Restore(rec.context); err != nil {
					return stateError{fmt.Errorf("jail %s: %s: saved filter context: %w", j.Name, key, err)}
				}
			}
			tp = analyze.NewTimeParser(r.o.Now, nil)
		}
		stats.Lines++
		r.buf, _ = m.Match(r.buf[:0], num, line, tp)
		for i := range r.buf {
			stats.Failures++
			if err := r.failure(j, pol, &r.buf[i]); err != nil {
				return stateError{err}
			}
		}
		return nil
	})
	var se stateError
	if err != nil && (errors.As(err, &se) || r.ctx.Err() != nil) {
		return err // the state itself failed, or the run was stopped: keep nothing
	}
	if src.ended(r, j.Name, stats, err) {
		return nil // gone between the listing and the open: next run
	}
	if err != nil {
		r.problem("read:"+key, fmt.Errorf("jail %s: %w", j.Name, err))
		// Keep the records delivered before the error: they must not
		// count twice.
		if next != nil {
			src.keep(r, j.Name, sourceRecord{pos: next, context: rec.context}, prev)
		}
		return nil
	}
	r.clearWarning("read:" + key)
	kept := sourceRecord{pos: next, context: rec.context}
	if snap, ok := m.(analyze.Snapshotter); ok {
		kept.context = snap.Snapshot()
	}
	src.keep(r, j.Name, kept, prev)
	return nil
}

// sources lists the sources a jail reads: its log files, then its
// journal. A logpath that matches no file is said once, and a bad one is
// a problem of the run; the journal is read all the same.
func (r *run) sources(j *config.Jail) []runSource {
	var srcs []runSource
	if len(j.LogPath) > 0 {
		files, err := j.Files()
		switch {
		case err != nil:
			r.problem("jail:"+j.Name, fmt.Errorf("jail %s: logpath: %w", j.Name, err))
		case len(files) == 0:
			r.warnOnce("nolog:"+j.Name, fmt.Sprintf("jail %s: no log file matches %v", j.Name, j.LogPath))
		default:
			r.clearWarning("nolog:" + j.Name)
			for _, path := range files {
				srcs = append(srcs, fileSource{analyze.FileSource{Path: path, FromEnd: j.Start == config.StartEnd, Now: r.o.Now}})
			}
		}
	}
	if j.Journal != nil {
		srcs = append(srcs, r.journalSource(j))
	}
	return srcs
}

// fileSource is a log file: its record is kept in the state's files,
// under its path.
type fileSource struct{ analyze.FileSource }

func (s fileSource) load(tx *state.Tx, jail string) (rec sourceRecord, found bool, err error) {
	found, err = tx.File(jail, s.Path, &rec)
	return rec, found, err
}

func (s fileSource) keep(r *run, jail string, rec sourceRecord, prev *sourceRecord) {
	if prev != nil && bytes.Equal(rec.context, prev.context) && samePos(rec.pos, prev.pos) {
		return
	}
	r.files = append(r.files, fileSave{jail, s.Path, rec})
}

// samePos reports whether two positions (JSON objects) hold the same
// members. A record saved with a filter context was split from it
// through a map (sourceRecord.UnmarshalJSON): its members come back in
// another order, each as written.
func samePos(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var ma, mb map[string]json.RawMessage
	if json.Unmarshal(a, &ma) != nil || json.Unmarshal(b, &mb) != nil || len(ma) != len(mb) {
		return false
	}
	for k, v := range ma {
		if w, ok := mb[k]; !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}

func (s fileSource) ended(_ *run, _ string, stats *JailStats, err error) bool {
	if err == nil {
		stats.Files++
	}
	return errors.Is(err, fs.ErrNotExist)
}
