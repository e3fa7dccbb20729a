package journal

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"logjail/analyze"
)

// RunSource is a jail's journal as an [analyze.Source], so that the run's loop
// reads it as it reads files: Key, and Read from an opaque saved
// position, records handed over as lines. The entries are
// collected and handed over only once journalctl has exited without
// error: a failed read hands over nothing and returns a nil position
// (keep the saved one), so nothing is counted before it is safe to save.
// The lines are Entry.AppendRecord's, which the filters' syslog parser
// reads back into the same header.
type RunSource struct {
	Source *Source
	// FromEnd starts a source never read after its newest entry.
	FromEnd bool
	// Now is the run's time.
	Now time.Time
	// Result is what the last Read found: warnings, notices, losses.
	Result Result
}

// Key names the source in the state: "journal:" and Source.Key.
func (s *RunSource) Key() string { return "journal:" + s.Source.Key() }

// Read hands fn the entries after pos (a Position as JSON; nil: never
// read) and returns the position after the last one.
func (s *RunSource) Read(ctx context.Context, pos []byte, fn analyze.LineFunc) ([]byte, error) {
	var prev *Position
	if pos != nil {
		prev = &Position{}
		if err := json.Unmarshal(pos, prev); err != nil {
			return nil, fmt.Errorf("%s: saved position: %w", s.Source, err)
		}
	}
	var (
		buf  []byte
		ends []int
		h    analyze.Header
	)
	res, err := Read(ctx, s.Source, ReadOptions{Prev: prev, FromEnd: s.FromEnd, Now: s.Now}, func(e *Entry) error {
		buf = e.AppendRecord(buf, &h)
		ends = append(ends, len(buf))
		return nil
	})
	s.Result = res
	if err != nil {
		return nil, err
	}
	name := s.Source.String()
	from := 0
	for i, end := range ends {
		if err := fn(name, int64(i+1), buf[from:end]); err != nil {
			return nil, err
		}
		from = end
	}
	data, err := json.Marshal(res.Pos)
	if err != nil {
		return nil, fmt.Errorf("%s: position: %w", s.Source, err)
	}
	return data, nil
}
