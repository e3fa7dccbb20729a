package state

import (
	"encoding/binary"
	"errors"

	"logjail/analyze"
)

// A track is stored as uvarint offenses, varint ban start and until (Unix
// nanoseconds), uvarint count, then the failure times as varint deltas:
// some twenty bytes for a typical address.

const trackFormat = 1

func encodeTrack(tr *analyze.Track) []byte {
	b := make([]byte, 0, 32+8*len(tr.Failures))
	b = append(b, trackFormat)
	b = binary.AppendUvarint(b, uint64(tr.Offenses))
	b = binary.AppendVarint(b, tr.BanStart)
	b = binary.AppendVarint(b, tr.BanUntil)
	b = binary.AppendUvarint(b, uint64(len(tr.Failures)))
	prev := int64(0)
	for _, f := range tr.Failures {
		b = binary.AppendVarint(b, f-prev)
		prev = f
	}
	return b
}

var errTrack = errors.New("bad track encoding")

func decodeTrack(b []byte) (*analyze.Track, error) {
	if len(b) == 0 || b[0] != trackFormat {
		return nil, errTrack
	}
	b = b[1:]
	next := func() (int64, bool) {
		v, n := binary.Varint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	nextU := func() (uint64, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	var tr analyze.Track
	off, ok1 := nextU()
	start, ok2 := next()
	until, ok3 := next()
	count, ok4 := nextU()
	if !ok1 || !ok2 || !ok3 || !ok4 || count > 1<<16 || off > 1<<30 {
		return nil, errTrack
	}
	tr.Offenses, tr.BanStart, tr.BanUntil = int(off), start, until
	tr.Failures = make([]int64, 0, count)
	prev := int64(0)
	for i := uint64(0); i < count; i++ {
		d, ok := next()
		if !ok {
			return nil, errTrack
		}
		prev += d
		tr.Failures = append(tr.Failures, prev)
	}
	if len(b) != 0 {
		return nil, errTrack
	}
	return &tr, nil
}
