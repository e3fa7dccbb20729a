package runner

import (
	"context"
	"fmt"
	"time"

	"logjail/analyze"
	"logjail/analyze/journal"
	"logjail/config"
)

// JournalRecord is what the state keeps per jail and journal source: the
// position (cursor, seqnum id, seqnum, time), the filter's memory of
// unfinished attempts, and the totals of entries lost to vacuum and
// messages lost to journald's rate limit, for the metrics.
type JournalRecord struct {
	journal.Position
	Context    []byte `json:"context,omitempty"`
	Lost       int64  `json:"lost,omitempty"`
	Suppressed int64  `json:"suppressed,omitempty"`
}

type journalSave struct {
	jail, source string
	rec          JournalRecord
}

// JournalSource turns a jail's journal: setting into the source to read.
func JournalSource(j *config.Jail) *journal.Source {
	jn := j.Journal
	src := &journal.Source{Directory: jn.Directory, Files: jn.Files, Namespace: jn.Namespace, Match: jn.Match}
	if j.Filter != nil {
		src.Units = journal.DefaultUnits(j.Filter.Name)
	}
	return src
}

// journal reads a jail's journal entries since the saved cursor. The
// failures are applied only once journalctl has finished without error:
// a failed read keeps nothing, and the next run reads the same entries.
func (r *run) journal(ctx context.Context, j *config.Jail, pol *analyze.Policy, stats *JailStats) error {
	src := JournalSource(j)
	key := src.Key()
	var rec JournalRecord
	found, err := r.tx.Journal(j.Name, key, &rec)
	if err != nil {
		return err
	}
	m := j.Filter.New(j.Mode)
	if snap, ok := m.(analyze.Snapshotter); ok && len(rec.Context) > 0 {
		if err := snap.Restore(rec.Context); err != nil {
			return fmt.Errorf("jail %s: %s: saved filter context: %w", j.Name, src, err)
		}
	}
	var prev *journal.Position
	if found {
		prev = &rec.Position
	}
	tp := analyze.NewTimeParser(r.o.Now, time.UTC)
	var (
		h     analyze.Header
		line  []byte
		fails []analyze.Failure
		n     int64
	)
	res, err := journal.Read(ctx, src, journal.ReadOptions{Prev: prev, FromEnd: j.Start == config.StartEnd, Now: r.o.Now},
		func(e *journal.Entry) error {
			n++
			line = e.AppendRecord(line[:0], &h)
			tp.Preset(&h)
			fails, _ = m.Match(fails, n, line, tp)
			return nil
		})
	for _, w := range res.Warnings {
		r.warnOnce("journal:"+j.Name+":"+w, fmt.Sprintf("jail %s: %s", j.Name, w))
	}
	for _, w := range res.Notices {
		r.res.Warnings = append(r.res.Warnings, fmt.Sprintf("jail %s: %s", j.Name, w))
	}
	if err != nil {
		r.problem("journal:"+j.Name+":"+key, fmt.Errorf("jail %s: %w", j.Name, err))
		stats.JournalLost, stats.JournalSuppressed = stats.JournalLost+rec.Lost, stats.JournalSuppressed+rec.Suppressed
		return nil
	}
	r.clearWarning("journal:" + j.Name + ":" + key)
	stats.Lines += n
	stats.Journals++
	for i := range fails {
		stats.Failures++
		if err := r.failure(j, pol, &fails[i]); err != nil {
			return err
		}
	}
	next := JournalRecord{Position: res.Pos, Lost: rec.Lost + res.Lost, Suppressed: rec.Suppressed + res.Suppressed}
	if snap, ok := m.(analyze.Snapshotter); ok {
		next.Context = snap.Snapshot()
	}
	stats.JournalLost, stats.JournalSuppressed = stats.JournalLost+next.Lost, stats.JournalSuppressed+next.Suppressed
	r.journals = append(r.journals, journalSave{j.Name, key, next})
	return nil
}
