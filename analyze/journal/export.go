package journal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MaxField is the largest field value an Entry keeps, in bytes. A longer
// value (journald accepts up to 768 MiB) is skipped: the entry keeps the
// field's name with an empty value and Truncated is set.
const MaxField = 64 << 10

// The fields an Entry keeps. Every other field is skipped as it is read.
const (
	fCursor = iota
	fRealtime
	fHostname
	fIdentifier
	fComm
	fPID
	fSyslogPID
	fMessage
	fMessageID
	fUnit
	fDropped
	nFields
)

var fieldNames = [nFields]string{
	"__CURSOR", "__REALTIME_TIMESTAMP", "_HOSTNAME", "SYSLOG_IDENTIFIER", "_COMM", "_PID",
	"SYSLOG_PID", "MESSAGE", "MESSAGE_ID", "_SYSTEMD_UNIT", "N_DROPPED",
}

func fieldIndex(name []byte) int {
	switch string(name) {
	case "__CURSOR":
		return fCursor
	case "__REALTIME_TIMESTAMP":
		return fRealtime
	case "_HOSTNAME":
		return fHostname
	case "SYSLOG_IDENTIFIER":
		return fIdentifier
	case "_COMM":
		return fComm
	case "_PID":
		return fPID
	case "SYSLOG_PID":
		return fSyslogPID
	case "MESSAGE":
		return fMessage
	case "MESSAGE_ID":
		return fMessageID
	case "_SYSTEMD_UNIT":
		return fUnit
	case "N_DROPPED":
		return fDropped
	}
	return -1
}

// Entry is one journal entry with the fields logjail reads. Its byte
// slices are valid until the next call of Parser.Next.
type Entry struct {
	// Num is the entry's 1-based number in the stream.
	Num int64
	// Realtime is __REALTIME_TIMESTAMP: microseconds since the Unix epoch,
	// UTC; 0 when the entry had none.
	Realtime int64
	// Truncated is set when a kept field was longer than MaxField.
	Truncated bool

	val     [nFields][]byte
	set     [nFields]bool
	buf     []byte
	ext     []extra
	scratch []extSpan
	// The hour AppendRecord formatted last (hours since the epoch) and
	// its text.
	hour     int64
	hourText []byte
}

type extra struct{ name, value []byte }

// Cursor is __CURSOR, the entry's position.
func (e *Entry) Cursor() []byte { return e.val[fCursor] }

// Message is MESSAGE, possibly with newlines or any other byte.
func (e *Entry) Message() []byte { return e.val[fMessage] }

// Hostname is _HOSTNAME.
func (e *Entry) Hostname() []byte { return e.val[fHostname] }

// Comm is _COMM: the process name the kernel reported to journald, which
// the logging client cannot choose.
func (e *Entry) Comm() []byte { return e.val[fComm] }

// Program is SYSLOG_IDENTIFIER, else _COMM.
func (e *Entry) Program() []byte {
	if e.set[fIdentifier] {
		return e.val[fIdentifier]
	}
	return e.val[fComm]
}

// PID is _PID (from the kernel), else SYSLOG_PID.
func (e *Entry) PID() []byte {
	if e.set[fPID] {
		return e.val[fPID]
	}
	return e.val[fSyslogPID]
}

// MessageID is MESSAGE_ID.
func (e *Entry) MessageID() []byte { return e.val[fMessageID] }

// Unit is _SYSTEMD_UNIT.
func (e *Entry) Unit() []byte { return e.val[fUnit] }

// Field returns the value of a field the Parser was asked to keep (see
// NewParser), or of one it always keeps, and whether the entry has it.
func (e *Entry) Field(name string) ([]byte, bool) {
	if i := fieldIndex([]byte(name)); i >= 0 {
		return e.val[i], e.set[i]
	}
	for _, x := range e.ext {
		if string(x.name) == name {
			return x.value, true
		}
	}
	return nil, false
}

// ErrFormat is wrapped by the errors about malformed export data.
var ErrFormat = errors.New("malformed journal export data")

// Parser reads the journal export format (journalctl -o export): entries
// separated by an empty line, each field "NAME=value\n", or, for a value
// that is binary or holds a newline, "NAME\n", its length as 64-bit little
// endian, the value and "\n". Field names are upper-case letters, digits
// and underscores.
type Parser struct {
	r     *bufio.Reader
	e     Entry
	keep  map[string]bool
	spans [nFields]span
	read  int64
}

type span struct{ from, to int }

// NewParser returns a parser of r that keeps, beside the fields Entry
// names, the fields listed in keep (for Entry.Field).
func NewParser(r io.Reader, keep ...string) *Parser {
	p := &Parser{r: bufio.NewReaderSize(r, 256<<10)}
	for _, k := range keep {
		if fieldIndex([]byte(k)) < 0 {
			if p.keep == nil {
				p.keep = map[string]bool{}
			}
			p.keep[k] = true
		}
	}
	return p
}

// Read returns how many bytes the parser consumed.
func (p *Parser) Read() int64 { return p.read }

// Next returns the next entry, io.EOF after the last, or an error wrapping
// ErrFormat (io.ErrUnexpectedEOF when the data stops inside an entry).
func (p *Parser) Next() (*Entry, error) {
	e := &p.e
	e.Num++
	e.Realtime, e.Truncated = 0, false
	e.buf, e.ext = e.buf[:0], e.ext[:0]
	e.set = [nFields]bool{}
	extSpans := &e.scratch
	*extSpans = (*extSpans)[:0]
	fields := 0
	for {
		line, err := p.r.ReadSlice('\n')
		p.read += int64(len(line))
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if err == io.EOF && len(line) == 0 && fields == 0 {
				e.Num--
				return nil, io.EOF
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, p.errorf("%w", err)
		}
		if len(line) == 1 && err == nil {
			if fields == 0 {
				return nil, p.errorf("empty entry")
			}
			break
		}
		fields++
		eq := -1
		for i, c := range line {
			if c == '=' || c == '\n' {
				if c == '=' {
					eq = i
				}
				break
			}
		}
		var name []byte
		if eq >= 0 {
			name = line[:eq]
		} else if err == nil {
			name = line[:len(line)-1]
		} else {
			return nil, p.errorf("field name longer than %d bytes", len(line))
		}
		idx := fieldIndex(name)
		if idx < 0 && !validName(name) {
			return nil, p.errorf("bad field name %q", clip(name))
		}
		want := idx >= 0 || p.keep[string(name)]
		var nameCopy []byte
		if idx < 0 && want {
			nameCopy = append([]byte(nil), name...)
		}
		start := len(e.buf)
		if eq >= 0 {
			// Text value: the rest of the line, maybe beyond the buffer.
			val := line[eq+1:]
			full := err == nil
			if full {
				val = val[:len(val)-1]
			}
			over := false
			if want {
				e.buf = append(e.buf, val...)
			}
			for !full {
				line, err = p.r.ReadSlice('\n')
				p.read += int64(len(line))
				if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
					if err == io.EOF {
						err = io.ErrUnexpectedEOF
					}
					return nil, p.errorf("%w", err)
				}
				full = err == nil
				if full {
					line = line[:len(line)-1]
				}
				if want && !over {
					if len(e.buf)-start+len(line) > MaxField {
						over = true
					} else {
						e.buf = append(e.buf, line...)
					}
				}
			}
			if over || len(e.buf)-start > MaxField {
				e.buf, e.Truncated = e.buf[:start], true
			}
		} else {
			var lb [8]byte
			if _, err := io.ReadFull(p.r, lb[:]); err != nil {
				return nil, p.errorf("field %s: length: %w", name, unexpected(err))
			}
			n := binary.LittleEndian.Uint64(lb[:])
			p.read += 8
			if n > 1<<40 {
				return nil, p.errorf("field %s: length %d", name, n)
			}
			if want && n <= MaxField {
				e.buf = append(e.buf, make([]byte, n)...)
				if _, err := io.ReadFull(p.r, e.buf[start:]); err != nil {
					return nil, p.errorf("field %s: %w", name, unexpected(err))
				}
			} else {
				if _, err := p.r.Discard(int(n)); err != nil {
					return nil, p.errorf("field %s: %w", name, unexpected(err))
				}
				e.Truncated = e.Truncated || want
			}
			p.read += int64(n)
			c, err := p.r.ReadByte()
			if err != nil {
				return nil, p.errorf("field %s: %w", name, unexpected(err))
			}
			p.read++
			if c != '\n' {
				return nil, p.errorf("field %s: no newline after %d bytes of value", name, n)
			}
		}
		if !want {
			continue
		}
		if idx >= 0 {
			p.spans[idx] = span{start, len(e.buf)}
			e.set[idx] = true
		} else {
			*extSpans = append(*extSpans, extSpan{nameCopy, span{start, len(e.buf)}})
		}
	}
	// e.buf may have moved while growing: slice it only now.
	for i := range e.val {
		if e.set[i] {
			e.val[i] = e.buf[p.spans[i].from:p.spans[i].to]
		} else {
			e.val[i] = nil
		}
	}
	for _, x := range *extSpans {
		e.ext = append(e.ext, extra{x.name, e.buf[x.from:x.to]})
	}
	if e.set[fRealtime] {
		t, ok := parseUint(e.val[fRealtime])
		if !ok || t > 1<<62 {
			return nil, p.errorf("bad __REALTIME_TIMESTAMP %q", clip(e.val[fRealtime]))
		}
		e.Realtime = int64(t)
	}
	return e, nil
}

type extSpan struct {
	name []byte
	span
}

func (p *Parser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: entry %d (byte %d): %w", ErrFormat, p.e.Num, p.read, fmt.Errorf(format, args...))
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func validName(b []byte) bool {
	if len(b) == 0 || len(b) > 256 {
		return false
	}
	for _, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// clip shortens b for an error message.
func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}
