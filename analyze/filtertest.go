package analyze

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"time"
)

// TestOptions say what [TestFilter] reads and what it writes as it goes.
type TestOptions struct {
	// Filter, in Mode, judges every line.
	Filter *Filter
	Mode   string
	// Files are the inputs, plain or gzip; "-" is Stdin.
	Files []string
	Stdin io.Reader
	// Ref is the reference for year-less dates; zero: each file's
	// modification time (standard input: the clock).
	Ref time.Time
	// JSON writes one object per failure to Out (JSON Lines); Invert
	// writes the lines no rule matched nor ignored. Neither: nothing is
	// written, the counts are the result.
	JSON, Invert bool
	Out          io.Writer
}

// TestStats count what a filter made of its inputs.
type TestStats struct {
	Lines, Matched, Ignored, Missed, Ambiguous int64
	// Long counts the lines skipped for being longer than [MaxLineLen].
	Long     int64
	Failures int64
	// Addrs and Names count the distinct addresses and host names failed.
	Addrs, Names int
	// Rules are the hits per rule, most first (then by name).
	Rules []RuleHits
}

// RuleHits is how many failures one rule of a filter found.
type RuleHits struct {
	Rule string
	N    int64
}

// testJSON is one line of `filter test --json`, as CONTRACT.md fixes it.
type testJSON struct {
	Line   int64  `json:"line"`
	Time   string `json:"time"`
	Host   string `json:"host"`
	User   string `json:"user,omitempty"`
	Filter string `json:"filter"`
	File   string `json:"file,omitempty"`
}

// tester is one TestFilter call under way.
type tester struct {
	o     TestOptions
	st    TestStats
	addrs map[netip.Addr]struct{}
	names map[string]struct{}
	w     *bufio.Writer
}

// TestFilter runs a filter over files, as `logjail filter test` does:
// every line ends in one outcome, every failure is counted by rule and
// host, and, with JSON or Invert, written out as it is found. A file's
// last line counts whether a newline ends it or not.
func TestFilter(o TestOptions) (*TestStats, error) {
	t := &tester{o: o, addrs: map[netip.Addr]struct{}{}, names: map[string]struct{}{}}
	if o.JSON || o.Invert {
		t.w = bufio.NewWriterSize(o.Out, 64<<10)
		defer t.w.Flush()
	}
	for _, path := range o.Files {
		if err := t.file(path); err != nil {
			return nil, err
		}
	}
	if t.w != nil {
		if err := t.w.Flush(); err != nil {
			return nil, err
		}
	}
	t.st.Addrs, t.st.Names = len(t.addrs), len(t.names)
	sort.Slice(t.st.Rules, func(i, j int) bool {
		a, b := t.st.Rules[i], t.st.Rules[j]
		if a.N != b.N {
			return a.N > b.N
		}
		return a.Rule < b.Rule
	})
	return &t.st, nil
}

// countRule adds one hit; rule names are few and constant, so a short
// list beats a map.
func (st *TestStats) countRule(rule string) {
	for i := range st.Rules {
		if st.Rules[i].Rule == rule {
			st.Rules[i].N++
			return
		}
	}
	st.Rules = append(st.Rules, RuleHits{rule, 1})
}

func (t *tester) file(path string) error {
	var r io.Reader
	ref := t.o.Ref
	if path == "-" {
		r = t.o.Stdin
		if ref.IsZero() {
			ref = time.Now()
		}
	} else {
		l, err := OpenLog(path)
		if err != nil {
			return fmt.Errorf("filter test: %w", err)
		}
		defer l.Close()
		r = l
		if ref.IsZero() {
			ref = l.Info.ModTime()
		}
	}
	tp := NewTimeParser(ref, nil)
	lr := NewLineReader(r)
	lr.Closed = true // the last line counts, ended by a newline or not
	m := t.o.Filter.New(t.o.Mode)
	var buf []Failure
	var out Outcome
	var lastAddr netip.Addr
	var enc *json.Encoder
	if t.o.JSON {
		enc = json.NewEncoder(t.w)
	}
	file := ""
	if len(t.o.Files) > 1 {
		file = path
	}
	st := &t.st
	for {
		line, ok := lr.Next()
		if !ok {
			break
		}
		st.Lines++
		buf, out = m.Match(buf[:0], lr.Num(), line, tp)
		switch out {
		case Matched:
			st.Matched++
		case Ignored:
			st.Ignored++
		case Ambiguous:
			st.Ambiguous++
		default:
			st.Missed++
		}
		if t.o.Invert && out == Missed {
			t.w.Write(line)
			t.w.WriteByte('\n')
		}
		for i := range buf {
			fl := &buf[i]
			st.Failures++
			st.countRule(fl.Rule)
			if fl.Addr.IsValid() {
				if fl.Addr != lastAddr {
					t.addrs[fl.Addr] = struct{}{}
					lastAddr = fl.Addr
				}
			} else {
				t.names[fl.Host] = struct{}{}
			}
			if enc != nil {
				err := enc.Encode(testJSON{Line: fl.Line, Time: fl.Time.Format(time.RFC3339Nano),
					Host: fl.HostString(), User: fl.User, Filter: t.o.Filter.Name, File: file})
				if err != nil {
					return err
				}
			}
		}
	}
	st.Long += lr.Long
	if err := lr.Err(); err != nil {
		return fmt.Errorf("filter test: read %s: %w", path, err)
	}
	return nil
}
