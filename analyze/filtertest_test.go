package analyze

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTestFilterCounts(t *testing.T) {
	f, _ := Builtin("sshd")
	st, err := TestFilter(TestOptions{Filter: f, Mode: "normal", Files: []string{"../testdata/loghub/OpenSSH_2k.log"},
		Ref: time.Date(2025, 12, 11, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if st.Lines != 2000 || st.Matched != 642 || st.Ignored != 950 || st.Missed != 408 || st.Failures != 650 || st.Addrs != 24 {
		t.Errorf("stats = %+v, want 2000 read, 642 matched, 950 ignored, 408 missed, 650 failures from 24 addresses", st)
	}
	var sum int64
	for i, r := range st.Rules {
		sum += r.N
		if i > 0 && (st.Rules[i-1].N < r.N || st.Rules[i-1].N == r.N && st.Rules[i-1].Rule > r.Rule) {
			t.Errorf("rules not sorted most first: %v", st.Rules)
		}
	}
	if sum != st.Failures {
		t.Errorf("hits per rule sum to %d, failures %d", sum, st.Failures)
	}
}

func TestTestFilterOutput(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	b := filepath.Join(dir, "b.log")
	os.WriteFile(a, []byte("Nov 24 10:00:00 h sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2\n"+
		"Nov 24 10:00:01 h sshd[1]: something else entirely\n"), 0o644)
	// The last line has no newline: it counts all the same.
	os.WriteFile(b, []byte("Nov 24 10:00:02 h sshd[2]: Invalid user bob from 2001:db8::7 port 22"), 0o644)
	f, _ := Builtin("sshd")
	ref := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

	var out bytes.Buffer
	st, err := TestFilter(TestOptions{Filter: f, Mode: "normal", Files: []string{a, b}, Ref: ref, JSON: true, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 || st.Failures != 2 || st.Addrs != 2 || st.Missed != 1 {
		t.Fatalf("json = %q, stats %+v; want 2 failures of 2 addresses, 1 missed", out.String(), st)
	}
	var got testJSON
	if err := json.Unmarshal([]byte(lines[1]), &got); err != nil {
		t.Fatal(err)
	}
	want := testJSON{Line: 1, Time: "2026-11-24T10:00:02Z", Host: "2001:db8::7", User: "bob", Filter: "sshd", File: b}
	if got != want {
		t.Errorf("json line = %+v, want %+v", got, want)
	}

	out.Reset()
	if _, err := TestFilter(TestOptions{Filter: f, Mode: "normal", Files: []string{"-"}, Stdin: strings.NewReader(
		"Nov 24 10:00:01 h sshd[1]: something else entirely\n"), Ref: ref, Invert: true, Out: &out}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "Nov 24 10:00:01 h sshd[1]: something else entirely\n" {
		t.Errorf("invert = %q, want the missed line", out.String())
	}

	if _, err := TestFilter(TestOptions{Filter: f, Files: []string{filepath.Join(dir, "nosuch.log")}}); err == nil || !strings.Contains(err.Error(), "nosuch.log") {
		t.Errorf("missing file: err = %v, want it named", err)
	}
}
