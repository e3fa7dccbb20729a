package analyze

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// refLine is what a LineReader must report for one line of a stream.
type refLine struct {
	num  int64
	off  int64 // Offset after the line
	text string
	long bool // skipped for exceeding MaxLineLen
}

// refSplit is the specification of LineReader written with bytes.Split:
// every '\n' ends a line, a '\r' before it is dropped, the part after the
// last '\n' is pending, or, closed, the last line when not empty.
func refSplit(data []byte, closed bool) (lines []refLine, offset, pending int64) {
	parts := bytes.Split(data, []byte("\n"))
	last := parts[len(parts)-1]
	if closed && len(last) > 0 {
		parts = append(parts, nil)
	}
	for i, p := range parts[:len(parts)-1] {
		if i < len(parts)-2 || !closed || len(last) == 0 {
			offset++ // the '\n'
		}
		offset += int64(len(p))
		p = bytes.TrimSuffix(p, []byte("\r"))
		lines = append(lines, refLine{
			num:  int64(i + 1),
			off:  offset,
			text: string(p),
			long: len(p) > MaxLineLen,
		})
	}
	return lines, offset, int64(len(parts[len(parts)-1]))
}

// These cases pin refSplit itself down.
func TestRefSplit(t *testing.T) {
	for _, c := range []struct {
		data      string
		closed    bool
		lines     string
		off, pend int64
	}{
		{"a\nbb\r\nc", false, "[{1 2 a false} {2 6 bb false}]", 6, 1},
		{"a\nbb\r\nc", true, "[{1 2 a false} {2 6 bb false} {3 7 c false}]", 7, 0},
		{"a\nc\r", true, "[{1 2 a false} {2 4 c false}]", 4, 0},
		{"a\n", true, "[{1 2 a false}]", 2, 0},
		{"", true, "[]", 0, 0},
	} {
		lines, off, pend := refSplit([]byte(c.data), c.closed)
		if fmt.Sprint(lines) != c.lines || off != c.off || pend != c.pend {
			t.Errorf("refSplit(%q, %v) = %v, %d, %d; want %s, %d, %d", c.data, c.closed, lines, off, pend, c.lines, c.off, c.pend)
		}
	}
}

// readAll drives lr to its end and records what it reports after each line.
func readAll(lr *LineReader) []refLine {
	var got []refLine
	for {
		line, ok := lr.Next()
		if !ok {
			return got
		}
		got = append(got, refLine{num: lr.Num(), off: lr.Offset(), text: string(line)})
	}
}

// checkAgainstRef reads data through lr and compares every line, offset and
// counter with refSplit.
func checkAgainstRef(t *testing.T, data []byte, lr *LineReader) {
	t.Helper()
	ref, off, pend := refSplit(data, lr.Closed)
	var want []refLine
	var long int64
	for _, l := range ref {
		if l.long {
			long++
			continue
		}
		want = append(want, l)
	}
	got := readAll(lr)
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("line %d: got {num %d, off %d, %q}, want {num %d, off %d, %q}", i,
				got[i].num, got[i].off, short(got[i].text), want[i].num, want[i].off, short(want[i].text))
		}
	}
	if lr.Offset() != off || lr.Pending() != pend || lr.Long != long || lr.Err() != nil {
		t.Fatalf("at end: offset %d, pending %d, long %d, err %v; want %d, %d, %d, nil",
			lr.Offset(), lr.Pending(), lr.Long, lr.Err(), off, pend, long)
	}
}

func short(s string) string {
	if len(s) > 40 {
		return fmt.Sprintf("%s...(%d bytes)", s[:40], len(s))
	}
	return s
}

// readers are the ways a stream can deliver its bytes.
var readers = []struct {
	name string
	wrap func(io.Reader) io.Reader
}{
	{"whole", func(r io.Reader) io.Reader { return r }},
	{"onebyte", iotest.OneByteReader},
	{"half", iotest.HalfReader},
	{"dataerr", iotest.DataErrReader},
}

func TestLineReader(t *testing.T) {
	auth := "Jun 21 16:47:48 host sshd[123]: Failed password for root from 192.0.2.1 port 22 ssh2\n"
	long := strings.Repeat("x", MaxLineLen)
	tests := []struct {
		name string
		data string
	}{
		{"empty", ""},
		{"one line", auth},
		{"empty lines", "\n\n\n"},
		{"crlf", "a\r\nb\r\n\r\n"},
		{"lone cr stays", "a\rb\n\r\rc\r\n"},
		{"unterminated last line", auth + "Jun 21 16:47:49 host sshd[1"},
		{"only unterminated", "no newline"},
		{"unterminated cr", "a\n\r"},
		{"nul bytes", "a\x00b\n\x00\n\x00"},
		{"invalid utf8", "\xff\xfe\xc3\x28\n\xe2\x82\n"},
		{"exactly max", long + "\n" + auth},
		{"exactly max crlf", long + "\r\n" + auth},
		{"max plus one", long + "y\n" + auth},
		{"max plus one crlf", long + "y\r\n" + auth},
		{"max plus two unterminated", auth + long + "yz"},
		{"long lines in a row", auth + long + "y\n" + long + "yy\n" + long + "\n" + auth},
		{"three buffers", strings.Repeat(auth, 3*readBufSize/len(auth)+7)},
		{"long then pending", auth + strings.Repeat("z", 3*MaxLineLen) + "\n" + "tail"},
	}
	for _, tt := range tests {
		for _, rd := range readers {
			for _, closed := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/closed=%v", tt.name, rd.name, closed), func(t *testing.T) {
					data := []byte(tt.data)
					lr := NewLineReader(rd.wrap(bytes.NewReader(data)))
					lr.Closed = closed
					checkAgainstRef(t, data, lr)
				})
			}
		}
	}
}

// A 10 MB line between normal lines is skipped without slowing down, however
// small the reads are: it costs about what 10 MB of short lines cost.
func TestLineReaderHugeLine(t *testing.T) {
	const size = 10 << 20
	var buf bytes.Buffer
	buf.WriteString("before 1\nbefore 2\r\n")
	buf.Write(bytes.Repeat([]byte("0123456789abcdef"), size/16))
	buf.WriteString("\r\nafter 1\nafter 2\n")
	huge := buf.Bytes()
	normal := bytes.Repeat([]byte(strings.Repeat("n", 99)+"\n"), size/100)
	for _, rd := range readers[:3] {
		t.Run(rd.name, func(t *testing.T) {
			start := time.Now()
			checkAgainstRef(t, normal, NewLineReader(rd.wrap(bytes.NewReader(normal))))
			limit := 4*time.Since(start) + 500*time.Millisecond
			// Searching the held bytes again after every small read makes
			// the huge line cost 20 times the short ones; take the best of
			// three tries so that a busy machine does not fail the test.
			var best time.Duration
			for try := 0; try < 3; try++ {
				start = time.Now()
				checkAgainstRef(t, huge, NewLineReader(rd.wrap(bytes.NewReader(huge))))
				if d := time.Since(start); try == 0 || d < best {
					best = d
				}
				if best <= limit {
					return
				}
			}
			t.Fatalf("the huge line took %v, short lines of the same size %v", best, (limit-500*time.Millisecond)/4)
		})
	}
}

func TestLineReaderSetStart(t *testing.T) {
	lr := NewLineReader(strings.NewReader("a\nbb\r\nccc"))
	lr.SetStart(1000, 51)
	want := []refLine{{51, 1002, "a", false}, {52, 1006, "bb", false}}
	got := readAll(lr)
	if fmt.Sprint(got) != fmt.Sprint(want) || lr.Offset() != 1006 || lr.Pending() != 3 {
		t.Fatalf("got %v offset %d pending %d, want %v offset 1006 pending 3", got, lr.Offset(), lr.Pending(), want)
	}
}

// Reading a growing file in pieces, each run resuming at the previous
// Offset and Num, gives the lines of reading it whole.
func TestLineReaderResume(t *testing.T) {
	data := []byte("one\ntwo\r\n" + strings.Repeat("L", MaxLineLen+5) + "\nthree\nfour\nfive")
	whole := readAll(NewLineReader(bytes.NewReader(data)))
	for cut := 0; cut <= len(data); cut += 1 + cut/3 {
		var got []refLine
		lr := NewLineReader(bytes.NewReader(data[:cut]))
		got = append(got, readAll(lr)...)
		off, num := lr.Offset(), lr.Num()
		if off+lr.Pending() != int64(cut) {
			t.Fatalf("cut %d: offset %d + pending %d", cut, off, lr.Pending())
		}
		lr = NewLineReader(bytes.NewReader(data[off:]))
		lr.SetStart(off, num+1)
		got = append(got, readAll(lr)...)
		if fmt.Sprint(got) != fmt.Sprint(whole) {
			t.Fatalf("cut %d: got %v, want %v", cut, got, whole)
		}
	}
}

// errAfter delivers data, then fails.
type errAfter struct {
	r   io.Reader
	err error
}

func (e *errAfter) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		err = e.err
	}
	return n, err
}

func TestLineReaderError(t *testing.T) {
	boom := errors.New("boom")
	lr := NewLineReader(&errAfter{strings.NewReader("a\nb\nc"), boom})
	got := readAll(lr)
	want := []refLine{{1, 2, "a", false}, {2, 4, "b", false}}
	if fmt.Sprint(got) != fmt.Sprint(want) || !errors.Is(lr.Err(), boom) || lr.Offset() != 4 || lr.Pending() != 1 {
		t.Fatalf("got %v, err %v, offset %d, pending %d", got, lr.Err(), lr.Offset(), lr.Pending())
	}
}

// stuck returns no bytes and no error, forever.
type stuck struct{}

func (stuck) Read([]byte) (int, error) { return 0, nil }

// A reader that makes no progress ends the stream with an error instead of
// hanging the run (and the state lock it holds).
func TestLineReaderNoProgress(t *testing.T) {
	lr := NewLineReader(io.MultiReader(strings.NewReader("a\n"), stuck{}))
	done := make(chan []refLine)
	go func() { done <- readAll(lr) }()
	select {
	case got := <-done:
		if len(got) != 1 || !errors.Is(lr.Err(), io.ErrNoProgress) {
			t.Fatalf("got %v, err %v; want one line and io.ErrNoProgress", got, lr.Err())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Next does not return on a reader that makes no progress")
	}
}

// cycle repeats its data forever.
type cycle struct {
	data []byte
	i    int
}

func (c *cycle) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], c.data[c.i:])
		n += k
		c.i = (c.i + k) % len(c.data)
	}
	return n, nil
}

const benchLog = `Jun 21 16:47:48 host sshd[123]: Failed password for root from 192.0.2.1 port 22 ssh2
Jun 21 16:47:49 host sshd[123]: Connection closed by authenticating user root 192.0.2.1 port 22 [preauth]
Jun 21 16:47:50 host CRON[4567]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)
Jun 21 16:47:51 host sshd[124]: Invalid user admin from 2001:db8::7 port 50022
`

// BenchmarkLineReader measures one line (ns/op is per line).
func BenchmarkLineReader(b *testing.B) {
	lr := NewLineReader(&cycle{data: []byte(benchLog)})
	b.SetBytes(int64(len(benchLog) / strings.Count(benchLog, "\n")))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := lr.Next(); !ok {
			b.Fatal("no line")
		}
	}
}

func TestLineReaderAllocs(t *testing.T) {
	lr := NewLineReader(&cycle{data: []byte(benchLog)})
	if n := testing.AllocsPerRun(1000, func() { lr.Next() }); n != 0 {
		t.Fatalf("Next makes %v allocations per line, want 0", n)
	}
}
