package analyze

import (
	"bytes"
	"io"
)

// MaxLineLen is the longest line handed to filters, in bytes without the
// line ending. Longer lines are counted in LineReader.Long and skipped: no
// authentication failure needs 64 KiB, and a cap keeps memory and time per
// line bounded whatever is written to a log.
const MaxLineLen = 64 << 10

const readBufSize = 4 * MaxLineLen

// maxEmptyReads is how many reads in a row may return neither bytes nor an
// error before Next gives up with io.ErrNoProgress (as bufio does).
const maxEmptyReads = 100

// LineReader splits a stream into lines without copying them.
//
// A line ends at '\n'; a '\r' just before it is dropped. Bytes after the
// last '\n' are not returned unless Closed is set: they may belong to a
// line still being written. Offset tells how far the stream has been
// consumed in whole lines, which is where the next reader of the same file
// must start.
type LineReader struct {
	r          io.Reader
	buf        []byte
	start, end int   // unread bytes are buf[start:end]
	scan       int   // buf[start:scan] is known to hold no '\n'
	off        int64 // stream offset of buf[start], minus any pending bytes
	pend       int64 // bytes of an over-long line already discarded
	num        int64 // number of the last line returned or skipped
	skipping   bool  // inside a line longer than MaxLineLen
	empty      int   // consecutive reads that returned nothing
	err        error

	// Long counts the lines skipped because they exceed MaxLineLen.
	Long int64

	// Closed says the stream is complete (a closed file, a rotated one
	// that no longer grows, standard input): at its clean end the bytes
	// after the last '\n' are its last line, returned like any other.
	Closed bool
}

// NewLineReader returns a reader of the lines in r. Offsets and line numbers
// count from where r starts.
func NewLineReader(r io.Reader) *LineReader {
	return &LineReader{r: r, buf: make([]byte, readBufSize)}
}

// SetStart declares that r starts at byte offset off of its file, which
// holds line number num-1 just before off; Offset and Num count from there.
func (lr *LineReader) SetStart(off, num int64) {
	lr.off, lr.num = off, num-1
}

// Next returns the next complete line without its line ending. The slice is
// valid until the next call. It returns false at the end of the complete
// lines, or on a read error (see Err).
func (lr *LineReader) Next() ([]byte, bool) {
	for {
		// Search only bytes not searched before: with small reads, searching
		// the whole held line again after each read would cost time
		// quadratic in the line's length.
		if i := bytes.IndexByte(lr.buf[lr.scan:lr.end], '\n'); i >= 0 {
			if line, ok := lr.take(i+lr.scan-lr.start, 1); ok {
				return line, true
			}
			continue
		}
		if lr.err != nil {
			if lr.err == io.EOF && lr.Closed && lr.Pending() > 0 {
				// The unterminated last line of a complete stream.
				if line, ok := lr.take(lr.end-lr.start, 0); ok {
					return line, true
				}
			}
			return nil, false
		}
		if lr.end-lr.start > MaxLineLen+1 {
			// Too long to be returned: drop what we have and look for
			// its end without keeping it.
			lr.pend += int64(lr.end - lr.start)
			lr.start, lr.end = 0, 0
			lr.skipping = true
		} else if lr.start > 0 {
			lr.end = copy(lr.buf, lr.buf[lr.start:lr.end])
			lr.start = 0
		}
		lr.scan = lr.end
		n, err := lr.r.Read(lr.buf[lr.end:])
		lr.end += n
		switch {
		case err != nil:
			lr.err = err
		case n > 0:
			lr.empty = 0
		default:
			// A reader may return nothing now and then, but one that
			// never does must not hang the run holding the state lock.
			if lr.empty++; lr.empty >= maxEmptyReads {
				lr.err = io.ErrNoProgress
			}
		}
	}
}

// take consumes the n bytes of the line at buf[start:] and its ending of
// nl bytes, and returns the line; false when it is too long to return.
func (lr *LineReader) take(n, nl int) ([]byte, bool) {
	line := lr.buf[lr.start : lr.start+n]
	lr.start += n + nl
	lr.scan = lr.start
	lr.off += lr.pend + int64(n+nl)
	lr.num++
	long := lr.skipping || lr.pend > 0
	lr.skipping, lr.pend = false, 0
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if long || len(line) > MaxLineLen {
		lr.Long++
		return nil, false
	}
	return line, true
}

// Num returns the 1-based number of the last complete line read: the line
// Next last returned, or after the end, the last line before Offset (which
// may have been skipped as too long). A later reader starting at Offset
// calls SetStart(Offset(), Num()+1).
func (lr *LineReader) Num() int64 { return lr.num }

// Offset returns the stream offset just past the last complete line read
// (returned or skipped): where a later reader must resume.
func (lr *LineReader) Offset() int64 { return lr.off }

// Pending returns how many bytes after Offset were read but do not yet form
// a complete line. It is meaningful once Next returned false.
func (lr *LineReader) Pending() int64 { return lr.pend + int64(lr.end-lr.start) }

// Err returns the error that ended the stream, or nil at a clean end.
func (lr *LineReader) Err() error {
	if lr.err == io.EOF {
		return nil
	}
	return lr.err
}
