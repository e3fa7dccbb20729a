package analyze

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Outcome says what a Matcher made of one line.
type Outcome uint8

const (
	// Missed: the line is none of the filter's business.
	Missed Outcome = iota
	// Matched: the line completed at least one failure.
	Matched
	// Ignored: the filter recognised the line but it is no failure (an
	// ignoreregex matched, or an informational line that only tells which
	// address a process is serving).
	Ignored
	// Ambiguous: the line is of the filter's business but client-chosen
	// text stands on both sides of the address, and nothing the client
	// cannot write tells which address the daemon wrote: the line is
	// skipped, never guessed ("ambiguous lines skipped").
	Ambiguous
)

// Matcher recognises failures in the lines of one stream. It may remember
// earlier lines (sshd reports some failures over several lines of one
// process), so every stream needs a Matcher of its own. A Matcher is not safe
// for concurrent use.
type Matcher interface {
	// Match examines line number num (1-based) of the stream, without its
	// line ending, and appends the failures it completes to dst. Matchers
	// must not keep line after they return: its bytes are reused.
	Match(dst []Failure, num int64, line []byte, tp *TimeParser) ([]Failure, Outcome)
}

// Filter is a named recogniser for one kind of log.
type Filter struct {
	// Name is the name used in configuration (sshd, vsftpd, ...).
	Name string
	// Modes lists the modes the filter knows; the first is the default.
	// Nil means the filter has no modes.
	Modes []string
	// Rules names the rules a failure's Rule field may hold, for statistics.
	Rules []string
	// Sample is a log line the filter recognises as a failure, for docs.
	Sample string
	// Description says in a few words what the filter reads.
	Description string
	// New makes a Matcher for one stream in the given mode ("" for the
	// default). The mode has been checked with CheckMode.
	New func(mode string) Matcher
}

// CheckMode returns the mode to use for m ("" selects the default) or an
// error naming the filter and the modes it knows.
func (f *Filter) CheckMode(m string) (string, error) {
	if len(f.Modes) == 0 {
		if m == "" || m == "normal" {
			return "", nil
		}
		return "", fmt.Errorf("filter %s has no modes, got mode %q", f.Name, m)
	}
	if m == "" {
		return f.Modes[0], nil
	}
	for _, x := range f.Modes {
		if x == m {
			return m, nil
		}
	}
	return "", fmt.Errorf("filter %s has no mode %q (modes: %s)", f.Name, m, strings.Join(f.Modes, ", "))
}

// builtins are the built-in filters by name, made at the first use: a
// command that reads no log (version, status, ban) makes none.
var builtins = sync.OnceValue(func() map[string]*Filter {
	m := map[string]*Filter{}
	for _, f := range []*Filter{apacheAuthFilter(), dovecotFilter(), nginxAuthFilter(), postfixFilter(),
		proftpdFilter(), pureFTPdFilter(), sshdFilter(), vsftpdFilter()} {
		if _, dup := m[f.Name]; dup {
			panic("analyze: two built-in filters named " + f.Name)
		}
		m[f.Name] = f
	}
	return m
})

// Builtin returns the built-in filter called name.
func Builtin(name string) (*Filter, bool) {
	f, ok := builtins()[name]
	return f, ok
}

// Builtins returns every built-in filter, sorted by name.
func Builtins() []*Filter {
	fs := make([]*Filter, 0, len(builtins()))
	for _, f := range builtins() {
		fs = append(fs, f)
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].Name < fs[j].Name })
	return fs
}

// Snapshotter is a Matcher that remembers earlier lines and can save that
// memory between runs: a run that stops between two lines of one sshd
// attempt then loses nothing. Restore takes what Snapshot returned.
type Snapshotter interface {
	Snapshot() []byte
	Restore(data []byte) error
}
