package runner

import (
	"bytes"
	"encoding/json"
	"fmt"

	"logjail/analyze/journal"
	"logjail/config"
	"logjail/state"
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

// journalSource is a jail's journal as the run reads it: a
// [journal.RunSource], whose record the state keeps in its journals
// under the journal's own key, with the totals of entries lost to vacuum
// and messages to journald's rate limit. Its entries reach the filter
// only once journalctl has finished without error: a failed read keeps
// nothing, and the next run reads the same entries.
type journalSource struct {
	*journal.RunSource
	saved JournalRecord // as loaded
}

func (r *run) journalSource(j *config.Jail) *journalSource {
	return &journalSource{RunSource: &journal.RunSource{Source: JournalSource(j), FromEnd: j.Start == config.StartEnd, Now: r.o.Now}}
}

func (s *journalSource) load(tx *state.Tx, jail string) (rec sourceRecord, found bool, err error) {
	found, err = tx.Journal(jail, s.Source.Key(), &s.saved)
	if err != nil || !found {
		return rec, found, err
	}
	rec.context = s.saved.Context
	rec.pos, err = json.Marshal(s.saved.Position)
	return rec, found, err
}

func (s *journalSource) keep(r *run, jail string, rec sourceRecord, prev *sourceRecord) {
	// Only a read that succeeded returns a position to keep (RunSource),
	// so the position is its Result's, the one rec.pos encodes.
	next := JournalRecord{Position: s.Result.Pos, Context: rec.context,
		Lost: s.saved.Lost + s.Result.Lost, Suppressed: s.saved.Suppressed + s.Result.Suppressed}
	if prev != nil && next.Position == s.saved.Position && bytes.Equal(next.Context, s.saved.Context) &&
		next.Lost == s.saved.Lost && next.Suppressed == s.saved.Suppressed {
		return // nothing new: the record saved stands
	}
	r.journals = append(r.journals, journalSave{jail, s.Source.Key(), next})
}

func (s *journalSource) ended(r *run, jail string, stats *JailStats, err error) bool {
	for _, w := range s.Result.Warnings {
		r.warnOnce("journal:"+jail+":"+w, fmt.Sprintf("jail %s: %s", jail, w))
	}
	for _, w := range s.Result.Notices {
		r.res.Warnings = append(r.res.Warnings, fmt.Sprintf("jail %s: %s", jail, w))
	}
	lost, suppressed := s.saved.Lost, s.saved.Suppressed
	if err == nil {
		stats.Journals++
		lost, suppressed = lost+s.Result.Lost, suppressed+s.Result.Suppressed
	}
	stats.JournalLost, stats.JournalSuppressed = stats.JournalLost+lost, stats.JournalSuppressed+suppressed
	return false
}
