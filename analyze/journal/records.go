package journal

import (
	"context"
	"sync"
	"time"

	"logjail/analyze"
)

// Records reads a source for analyze.Replay: journalctl and the parser run
// in a goroutine of their own and hand over records in batches, so that
// reading and matching overlap.
type Records struct {
	src     *Source
	matches []*Match
	all     uint64 // the jails that see every entry
	cancel  context.CancelFunc
	ch      chan *batch
	free    chan *batch
	cur     *batch
	i       int
	h       analyze.Header
	read    int64
	done    sync.WaitGroup
	res     Result
	err     error
}

type record struct {
	start, end           int
	host, prog, pid, msg [2]int
	hasHost, hasPID      bool
	t                    time.Time
	jails                uint64
}

type batch struct {
	buf  []byte
	recs []record
}

const batchLen = 2048

// NewRecords starts reading src for jails whose matches are given in
// order (an empty match: every entry). journalctl is asked for the union of
// the matches; each record says which jails' matches it meets.
func NewRecords(ctx context.Context, src *Source, matches [][]string) (*Records, error) {
	r := &Records{src: src, ch: make(chan *batch, 4), free: make(chan *batch, 6)}
	var union []string
	var keep []string
	anyAll := false
	for i, terms := range matches {
		m, err := ParseMatch(terms)
		if err != nil {
			return nil, err
		}
		r.matches = append(r.matches, m)
		if m.Empty() {
			anyAll = true
			r.all |= 1 << i
			continue
		}
		if len(union) > 0 {
			union = append(union, "+")
		}
		union = append(union, terms...)
		keep = append(keep, m.Fields()...)
	}
	s := *src
	s.Match = union
	if anyAll {
		s.Match = nil
	}
	ctx, r.cancel = context.WithCancel(ctx)
	r.done.Add(1)
	go r.run(ctx, &s, keep)
	return r, nil
}

func (r *Records) run(ctx context.Context, src *Source, keep []string) {
	defer r.done.Done()
	defer close(r.ch)
	b := r.batch()
	var h analyze.Header
	res, err := Read(ctx, src, ReadOptions{Keep: keep}, func(e *Entry) error {
		jails := r.all
		for i, m := range r.matches {
			if !m.Empty() && m.Matches(e) {
				jails |= 1 << i
			}
		}
		if jails == 0 {
			return nil // a rate-limit notice, say
		}
		start := len(b.buf)
		b.buf = e.AppendRecord(b.buf, &h)
		line := b.buf[start:]
		rec := record{start: start, end: len(b.buf), t: h.Time, jails: jails,
			prog: spanOf(line, h.Prog, start), msg: spanOf(line, h.Msg, start)}
		if h.Host != nil {
			rec.host, rec.hasHost = spanOf(line, h.Host, start), true
		}
		if h.PID != nil {
			rec.pid, rec.hasPID = spanOf(line, h.PID, start), true
		}
		b.recs = append(b.recs, rec)
		if len(b.recs) == batchLen {
			select {
			case r.ch <- b:
			case <-ctx.Done():
				return ctx.Err()
			}
			b = r.batch()
		}
		return nil
	})
	if len(b.recs) > 0 && err == nil {
		select {
		case r.ch <- b:
		case <-ctx.Done():
		}
	}
	r.res, r.err = res, err
}

// spanOf returns where part lies in the buffer, given that line starts at
// off in it.
func spanOf(line, part []byte, off int) [2]int {
	if len(part) == 0 {
		return [2]int{off, off}
	}
	at := cap(line) - cap(part)
	return [2]int{off + at, off + at + len(part)}
}

func (r *Records) batch() *batch {
	select {
	case b := <-r.free:
		b.buf, b.recs = b.buf[:0], b.recs[:0]
		return b
	default:
		return &batch{buf: make([]byte, 0, 128*batchLen), recs: make([]record, 0, batchLen)}
	}
}

// Name names the source.
func (r *Records) Name() string { return r.src.String() }

// Next returns the next record, see analyze.RecordSource.
func (r *Records) Next() ([]byte, *analyze.Header, uint64, bool) {
	for r.cur == nil || r.i == len(r.cur.recs) {
		if r.cur != nil {
			select {
			case r.free <- r.cur:
			default:
			}
		}
		b, ok := <-r.ch
		if !ok {
			r.cur = nil
			return nil, nil, 0, false
		}
		r.cur, r.i = b, 0
	}
	rec := &r.cur.recs[r.i]
	r.i++
	r.read++
	buf := r.cur.buf
	r.h = analyze.Header{Time: rec.t, Prog: buf[rec.prog[0]:rec.prog[1]], Msg: buf[rec.msg[0]:rec.msg[1]], Repeat: 1}
	if rec.hasHost {
		r.h.Host = buf[rec.host[0]:rec.host[1]]
	}
	if rec.hasPID {
		r.h.PID = buf[rec.pid[0]:rec.pid[1]]
	}
	return buf[rec.start:rec.end], &r.h, rec.jails, true
}

// Err returns the error that ended reading, after Next returned false.
func (r *Records) Err() error {
	r.done.Wait()
	return r.err
}

// Result returns what the read did (warnings, notices), after Next
// returned false.
func (r *Records) Result() Result {
	r.done.Wait()
	return r.res
}

// Read returns how many records have been handed out.
func (r *Records) Read() int64 { return r.read }

// Close stops journalctl if it still runs.
func (r *Records) Close() error {
	r.cancel()
	for range r.ch {
	}
	r.done.Wait()
	return nil
}
