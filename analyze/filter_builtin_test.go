package analyze

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"logjail/internal/testenv"
)

// Shared machinery for the built-in filters' tests: golden files, the
// agreement with fail2ban-regex, the framing corpora, allocation checks and
// fuzzing.

// builtinFixtures are the filters whose fixture and golden file live in
// testdata/filters/<name>.log and .expected.
var builtinFixtures = []string{"vsftpd", "proftpd", "pure-ftpd", "apache-auth", "nginx-http-auth", "postfix", "dovecot"}

// TestBuiltinGolden runs each filter over its fixture and compares the
// failures with the golden file next to it. Regenerate with:
//
//	go test ./analyze -run TestBuiltinGolden -update
func TestBuiltinGolden(t *testing.T) {
	for _, name := range builtinFixtures {
		t.Run(name, func(t *testing.T) {
			base := filepath.Join("testdata", "filters", name)
			fs := runFilter(t, name, "", base+".log")
			if len(fs) == 0 {
				t.Fatalf("%s.log: no failures", base)
			}
			f, _ := Builtin(name)
			for _, x := range fs {
				if !slices.Contains(f.Rules, x.Rule) {
					t.Errorf("%s.log:%d: rule %q is not in Rules %v", base, x.Line, x.Rule, f.Rules)
				}
			}
			checkGolden(t, base+".expected", fs)
		})
	}
}

// f2bDiff is a deliberate difference from fail2ban: a (line, client) that
// only one side reports.
type f2bDiff struct {
	Line int64
	Host string
	Only string // "logjail" or "fail2ban"
	Why  string
}

// fail2banHits runs fail2ban-regex with filter spec over path and returns
// the (line, client) pairs it reports. Unlike fail2banFailures it passes
// -r, so that host names are reported as written instead of being
// resolved. It skips the test when fail2ban-regex is missing, unless
// CI=true.
func fail2banHits(t *testing.T, spec, path string) map[lineHost]bool {
	t.Helper()
	bin := testenv.Tool(t, "fail2ban-regex")
	lines, err := readLines(path)
	if err != nil {
		t.Fatal(err)
	}
	// -r: report host names raw, never resolve them.
	cmd := exec.Command(bin, "-r", "-o", "<ip> <msg>", path, spec)
	cmd.Env = append(os.Environ(), "TZ=UTC", "LANG=C.UTF-8")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("fail2ban-regex %s %s: %v\n%s", path, spec, err, stderr.Bytes())
	}
	// Each failure prints "IP MSG"; MSG is the matched lines joined by
	// newlines, and the failure belongs to the last of them. Lines are
	// printed in file order, so each is looked up after the previous one.
	hits := make(map[lineHost]bool)
	next := 0
	find := func(msg string) int {
		for i := next; i < len(lines); i++ {
			if lines[i] == msg || strings.TrimRight(lines[i], " \t") == strings.TrimRight(msg, " \t") {
				return i
			}
		}
		return -1
	}
	var last *lineHost
	for _, ol := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if ol == "" {
			continue
		}
		if ip, msg, ok := strings.Cut(ol, " "); ok {
			if i := find(msg); i >= 0 {
				h := lineHost{int64(i + 1), canonHost(ip)}
				hits[h] = true
				last, next = &h, i+1
				continue
			}
		}
		// A continuation line of a multi-line failure.
		i := find(ol)
		if i < 0 || last == nil {
			t.Fatalf("cannot place fail2ban-regex output line %q in %s", ol, path)
		}
		delete(hits, *last)
		h := lineHost{int64(i + 1), last.host}
		hits[h] = true
		last, next = &h, i+1
	}
	return hits
}

// canonHost writes an address the way Failure.HostString does.
func canonHost(s string) string {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().String()
	}
	return s
}

func readLines(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := strings.TrimSuffix(string(b), "\n")
	return strings.Split(s, "\n"), nil
}

// checkAgreement compares the (line, client) pairs logjail's filter name
// finds in its fixture with those of fail2ban-regex with filter spec; the
// pairs only one side reports must be exactly the listed differences.
func checkAgreement(t *testing.T, name, spec string, diffs []f2bDiff) {
	t.Helper()
	path := filepath.Join("testdata", "filters", name+".log")
	theirs := fail2banHits(t, spec, path)
	ours := failureSet(runFilter(t, name, "", path))
	want := make(map[string]string) // "only side: hit" -> why
	for _, d := range diffs {
		want[d.Only+": "+lineHost{d.Line, d.Host}.String()] = d.Why
	}
	var got []string
	for h := range ours {
		if !theirs[h] {
			got = append(got, "logjail: "+h.String())
		}
	}
	for h := range theirs {
		if !ours[h] {
			got = append(got, "fail2ban: "+h.String())
		}
	}
	sort.Strings(got)
	for _, g := range got {
		if _, ok := want[g]; !ok {
			t.Errorf("%s: only %s (not a listed difference)", path, g)
		}
		delete(want, g)
	}
	for w := range want {
		t.Errorf("%s: listed difference did not happen: only %s", path, w)
	}
	if len(ours) == 0 {
		t.Errorf("%s: logjail found nothing", path)
	}
}

// The framing corpus of a filter, testdata/framing/<filter>.txt, holds
// crafted lines in which the attacker has put 10.9.9.9 in every place a
// client chooses (user names, passwords, URLs, host headers, reverse DNS
// names). As in sshd's corpus, each case is EXPECT<TAB>LINE, EXPECT being
// the client the line must count for, or - for none; lines starting with
// '#' and blank lines are comments.
const framedAddr = "10.9.9.9"

type framingCase struct {
	lineNo int
	want   string // an address, or "-"
	line   string
}

func readFraming(t testing.TB, name string) []framingCase {
	t.Helper()
	path := filepath.Join("testdata", "framing", name+".txt")
	var cases []framingCase
	for i, l := range fileLines(t, path) {
		if l == "" || l[0] == '#' {
			continue
		}
		want, line, ok := strings.Cut(l, "\t")
		if !ok {
			t.Fatalf("%s:%d: no tab", path, i+1)
		}
		cases = append(cases, framingCase{i + 1, want, line})
	}
	if len(cases) == 0 {
		t.Fatalf("%s: no cases", path)
	}
	return cases
}

// checkFraming runs the framing corpus of filter name: each line must
// count for exactly its expected client, and never for 10.9.9.9.
func checkFraming(t *testing.T, name string) {
	t.Helper()
	f, ok := Builtin(name)
	if !ok {
		t.Fatalf("no built-in filter %q", name)
	}
	for _, c := range readFraming(t, name) {
		t.Run(fmt.Sprintf("line%d", c.lineNo), func(t *testing.T) {
			m := f.New("")
			tp := NewTimeParser(testRef, time.UTC)
			fs, _ := m.Match(nil, 1, []byte(c.line), tp)
			var got []string
			for _, x := range fs {
				if x.HostString() == framedAddr || strings.Contains(x.Host, framedAddr) {
					t.Errorf("framed: %q counts for %s", c.line, framedAddr)
				}
				got = append(got, x.HostString())
			}
			want := []string(nil)
			if c.want != "-" {
				want = []string{c.want}
			}
			if strings.Join(dedup(got), ",") != strings.Join(want, ",") {
				t.Errorf("%q: got %v, want %v", c.line, got, want)
			}
		})
	}
}

func dedup(s []string) []string {
	var out []string
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// checkNoAllocs asserts that lines which are no failures cost the filter no
// allocation.
func checkNoAllocs(t *testing.T, name string, lines []string) {
	t.Helper()
	f, _ := Builtin(name)
	for _, l := range lines {
		t.Run("", func(t *testing.T) {
			m := f.New("")
			tp := NewTimeParser(testRef, time.UTC)
			line := []byte(l)
			dst := make([]Failure, 0, 8)
			var out Outcome
			allocs := testing.AllocsPerRun(100, func() {
				dst, out = m.Match(dst[:0], 1, line, tp)
			})
			if out == Matched {
				t.Fatalf("%q is a failure; the allocation check wants non-failures", l)
			}
			if allocs != 0 {
				t.Errorf("%q: %v allocations per line, want 0", l, allocs)
			}
		})
	}
}

// fuzzFilter is the body of the FuzzFilter* targets: no panic, and every
// reported client is valid and written in the line.
func fuzzFilter(f *testing.F, name string) {
	fl, ok := Builtin(name)
	if !ok {
		f.Fatalf("no built-in filter %q", name)
	}
	if lines, err := readLines(filepath.Join("testdata", "filters", name+".log")); err == nil {
		for _, l := range lines {
			f.Add(l)
		}
	}
	for _, c := range readFraming(f, name) {
		f.Add(c.line)
	}
	f.Fuzz(func(t *testing.T, line string) {
		m := fl.New("")
		tp := NewTimeParser(testRef, time.UTC)
		fs, out := m.Match(nil, 1, []byte(line), tp)
		if len(fs) > 0 && out != Matched {
			t.Fatalf("%q: %d failures with outcome %d", line, len(fs), out)
		}
		for _, x := range fs {
			switch {
			case x.Addr.IsValid():
				if x.Host != "" || !addrWritten(line, x.Addr) {
					t.Fatalf("%q: address %v (host %q) is not written in the line", line, x.Addr, x.Host)
				}
			case x.Host != "":
				if !IsHostname([]byte(x.Host)) || !strings.Contains(line, x.Host) {
					t.Fatalf("%q: host name %q is not written in the line", line, x.Host)
				}
			default:
				t.Fatalf("%q: failure without a client", line)
			}
			if x.Line != 1 || x.Time.IsZero() {
				t.Fatalf("%q: failure %+v lacks line or time", line, x)
			}
		}
	})
}

// addrWritten reports whether some substring of line parses as a.
func addrWritten(line string, a netip.Addr) bool {
	for i := 0; i < len(line); i++ {
		for j := i + 2; j <= len(line) && j <= i+45; j++ {
			if b, ok := ParseAddr([]byte(line[i:j])); ok && b == a {
				return true
			}
		}
	}
	return false
}

// BenchmarkBuiltins runs each filter over all the fixtures together, so
// that most lines belong to other programs, as in a shared syslog file.
func BenchmarkBuiltins(b *testing.B) {
	var lines [][]byte
	for _, name := range builtinFixtures {
		ls, err := readLines(filepath.Join("testdata", "filters", name+".log"))
		if err != nil {
			b.Fatal(err)
		}
		for _, l := range ls {
			lines = append(lines, []byte(l))
		}
	}
	for _, name := range builtinFixtures {
		b.Run(name, func(b *testing.B) {
			f, _ := Builtin(name)
			m := f.New("")
			tp := NewTimeParser(testRef, time.UTC)
			dst := make([]Failure, 0, 16)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for j, l := range lines {
					dst, _ = m.Match(dst[:0], int64(j+1), l, tp)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(lines)), "ns/line")
		})
	}
}

// TestBuiltinSamples checks that each filter recognises its documented
// sample line.
func TestBuiltinSamples(t *testing.T) {
	for _, name := range builtinFixtures {
		t.Run(name, func(t *testing.T) {
			f, _ := Builtin(name)
			if f.Description == "" || len(f.Rules) == 0 {
				t.Errorf("%s: no description or rules", name)
			}
			fs, out := f.New("").Match(nil, 1, []byte(f.Sample), NewTimeParser(testRef, time.UTC))
			if out != Matched || len(fs) != 1 {
				t.Fatalf("%s: sample %q: outcome %d, %d failures", name, f.Sample, out, len(fs))
			}
			known := false
			for _, r := range f.Rules {
				known = known || r == fs[0].Rule
			}
			if !known {
				t.Errorf("%s: rule %q is not in Rules %v", name, fs[0].Rule, f.Rules)
			}
		})
	}
}
