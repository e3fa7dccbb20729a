package analyze

import (
	"io"
	"sync"
)

// readAheadChunk is the size of the pieces a read-ahead inflates at a time,
// and readAheadDepth how many it may hold ready.
const (
	readAheadChunk = 256 << 10
	readAheadDepth = 4
)

// readAhead reads its source in a goroutine of its own, a few chunks ahead
// of its reader, so that inflating a gzip file and parsing its lines use
// two cores. Read gets the source's bytes in order, then its error.
type readAhead struct {
	full chan []byte // chunks read, in order; closed after the last
	free chan []byte // chunks read out, to be filled again
	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup
	err  error // the source's error; read after full is closed
	cur  []byte
	buf  []byte // cur's whole buffer, to give back when cur is read
}

func newReadAhead(src io.Reader) *readAhead {
	r := &readAhead{
		full: make(chan []byte, readAheadDepth),
		free: make(chan []byte, readAheadDepth+1),
		stop: make(chan struct{}),
	}
	for range readAheadDepth + 1 {
		r.free <- make([]byte, readAheadChunk)
	}
	r.wg.Add(1)
	go r.fill(src)
	return r
}

func (r *readAhead) fill(src io.Reader) {
	defer r.wg.Done()
	defer close(r.full)
	for {
		var b []byte
		select {
		case b = <-r.free:
		case <-r.stop:
			return
		}
		n, err := io.ReadFull(src, b[:cap(b)])
		if n > 0 {
			select {
			case r.full <- b[:n]:
			case <-r.stop:
				return
			}
		}
		switch err {
		case nil:
		case io.ErrUnexpectedEOF:
			r.err = io.EOF
			return
		default:
			r.err = err
			return
		}
	}
}

func (r *readAhead) Read(p []byte) (int, error) {
	if len(r.cur) == 0 {
		if r.buf != nil {
			r.free <- r.buf
			r.buf = nil
		}
		b, ok := <-r.full
		if !ok {
			return 0, r.err
		}
		r.cur, r.buf = b, b
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

// Close stops the goroutine and waits for it: the source may be closed
// after.
func (r *readAhead) Close() {
	r.once.Do(func() { close(r.stop) })
	r.wg.Wait()
}
