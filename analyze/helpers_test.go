package analyze

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"logjail/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// testRef is the reference time of the fixtures: their year-less dates
// fall in 2026.
var testRef = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// lineHost is one (line, address) failure, the unit of comparison with
// fail2ban.
type lineHost struct {
	line int64
	host string
}

func (lh lineHost) String() string { return fmt.Sprintf("line %d %s", lh.line, lh.host) }

// fail2banFailures runs fail2ban-regex with filter (e.g. "sshd[mode=ddos]")
// over path and returns the (line, address) of every failure it reports,
// the line being the last one of its match.
func fail2banFailures(t *testing.T, path, filter string) map[lineHost]bool {
	t.Helper()
	bin := testenv.Tool(t, "fail2ban-regex")
	out, err := exec.Command(bin, "-o", "<ip>\x1f<matches>", path, filter).Output()
	if err != nil {
		t.Fatalf("fail2ban-regex %s %s: %v", path, filter, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for i := range lines {
		lines[i] = strings.TrimSuffix(lines[i], "\r") // the loghub sample has CRLF endings
	}
	// Each failure prints "IP\x1fLINE" followed by the further lines of
	// its match, one per output line; the failing line is the last.
	type group struct{ ip, last string }
	var groups []group
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if ip, rest, ok := strings.Cut(l, "\x1f"); ok {
			groups = append(groups, group{ip, rest})
		} else if len(groups) > 0 && l != "" {
			groups[len(groups)-1].last = l
		}
	}
	got := map[lineHost]bool{}
	pos := 0
	for gi, g := range groups {
		for pos < len(lines) && lines[pos] != g.last {
			pos++
		}
		if pos == len(lines) {
			t.Fatalf("fail2ban-regex reported a line not found in order in %s: %q (group %d of %d)", path, g.last, gi, len(groups))
		}
		got[lineHost{int64(pos + 1), g.ip}] = true
	}
	return got
}

// runFilter applies a filter to a whole file.
func runFilter(t testing.TB, name, mode, path string) []Failure {
	t.Helper()
	f, ok := Builtin(name)
	if !ok {
		t.Fatalf("no built-in filter %q", name)
	}
	l, err := OpenLog(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	m := f.New(mode)
	tp := NewTimeParser(testRef, time.UTC)
	lr := NewLineReader(l)
	var all []Failure
	for {
		line, ok := lr.Next()
		if !ok {
			break
		}
		all, _ = m.Match(all, lr.Num(), line, tp)
	}
	if err := lr.Err(); err != nil {
		t.Fatal(err)
	}
	return all
}

func failureSet(fs []Failure) map[lineHost]bool {
	s := map[lineHost]bool{}
	for i := range fs {
		s[lineHost{fs[i].Line, fs[i].HostString()}] = true
	}
	return s
}

// goldenFailure is one line of a .expected file.
type goldenFailure struct {
	Line int64  `json:"line"`
	Time string `json:"time"`
	Host string `json:"host"`
	User string `json:"user,omitempty"`
	Rule string `json:"rule"`
}

// checkGolden compares failures with the JSON lines in path, or rewrites
// path with -update.
func checkGolden(t *testing.T, path string, fs []Failure) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := range fs {
		f := &fs[i]
		enc.Encode(goldenFailure{f.Line, f.Time.Format(time.RFC3339Nano), f.HostString(), f.User, f.Rule})
	}
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(want, buf.Bytes()) {
		gl := strings.Split(buf.String(), "\n")
		wl := strings.Split(string(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs at entry %d:\n got: %s\nwant: %s\n(run with -update if the change is intended)", path, i+1, g, w)
			}
		}
	}
}
