package analyze

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"logjail/internal/f2btest"
)

// resolveStockFilters resolves every filter of the installed fail2ban
// (filter.d, default options, without the *common includes) with
// fail2ban's own code: the names and their resolved expressions.
func resolveStockFilters(t testing.TB) ([]string, []resolvedFilter) {
	in := f2btest.Find(t)
	ents, err := os.ReadDir(filepath.Join(in.Config, "filter.d"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var reqs [][3]any
	for _, e := range ents {
		n, ok := strings.CutSuffix(e.Name(), ".conf")
		if !ok || strings.HasSuffix(n, "common") {
			continue
		}
		names = append(names, n)
		reqs = append(reqs, [3]any{in.Config, n, map[string]any{}})
	}
	return names, resolveFilters(t, in, reqs)
}

// stockFilters compiles every filter of the installed fail2ban
// (/etc/fail2ban/filter.d, default options) that logjail can run.
func stockFilters(t testing.TB) map[string]*Filter {
	names, res := resolveStockFilters(t)
	out := map[string]*Filter{}
	for i, n := range names {
		if res[i].Error != "" || len(res[i].Fail) == 0 {
			continue
		}
		if f, err := NewFail2banFilter(res[i].spec(n)); err == nil {
			out[n] = f
		}
	}
	if len(out) < 10 {
		t.Fatalf("only %d of fail2ban's filters compile", len(out))
	}
	return out
}

// baitLines are lines made to send a backtracking engine into exponential
// time: long runs of the separators the filters' regexes repeat around
// .*, \S+ and alternations (the dovecot advisory's repeated fields, the
// apache-badbots user agent, colons and brackets of prefix lines).
func baitLines(prog string, n int) []string {
	head := "Dec  6 03:00:00 host " + prog + "[123]: "
	rep := func(s string) string { return strings.Repeat(s, n/len(s)+1)[:n] }
	return []string{
		head + rep("a"),
		head + rep(" "),
		head + rep(":"),
		head + rep(": "),
		head + rep("[") + rep("]"),
		head + rep("("),
		head + "auth: pam(" + rep("a,") + "): " + rep("rip=192.0.2.1, "),
		head + "imap-login: Disconnected (auth failed, 1 attempts): user=<" + rep("<a") + ">, method=PLAIN, rip=192.0.2.1",
		// fail2ban's dovecot failregex 2 nests (?:: [^(]+)*: 130 bytes
		// of this take fail2ban-regex 3.8 s, doubling every 6 bytes.
		head + "imap-login: Disconnected" + rep(": a") + " (x",
		`192.0.2.1 - - [06/Dec/2026:03:00:00 +0000] "GET /` + rep("a/") + ` HTTP/1.1" 404 0 "-" "` + rep("Mozilla ") + `"`,
		head + "Failed password for " + rep("invalid user ") + "from 192.0.2.1 port 22 ssh2",
		head + rep("from 192.0.2.1 "),
		head + rep("user=") + " rhost=192.0.2.1",
	}
}

// TestFail2banLinearTime feeds every stock filter that compiles the bait
// lines at 100 and 20,000 bytes. A backtracking engine takes seconds to
// hours on such lines (fail2ban: 2.2 s for a 128-byte dovecot line); RE2
// cannot. Time is not asserted (see BenchmarkFail2banLineLength for the
// figures); what is asserted is that the long form of each line gets the
// same answer as the short one, so every filter really ran on it.
func TestFail2banLinearTime(t *testing.T) {
	filters := stockFilters(t)
	names := make([]string, 0, len(filters))
	for n := range filters {
		names = append(names, n)
	}
	sort.Strings(names)
	tp := NewTimeParser(time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC), time.UTC)
	lines := 0
	for _, n := range names {
		short, long := baitLines(n, 100), baitLines(n, 20000)
		for i := range short {
			_, o1 := filters[n].New("").Match(nil, 1, []byte(short[i]), tp)
			_, o2 := filters[n].New("").Match(nil, 1, []byte(long[i]), tp)
			lines += 2
			if o1 != o2 && !(o1 == Matched && o2 != Matched) {
				// A long line may lose a bounded match ({1,n}); it must
				// not gain one the short line did not have.
				t.Errorf("%s: bait %d: %v at 100 bytes, %v at 20000", n, i, o1, o2)
			}
		}
	}
	t.Logf("%d filters, %d bait lines", len(names), lines)
}

// BenchmarkFail2banLineLength runs every stock filter over each bait line
// at several lengths; ns/byte staying flat as the length grows is linear
// time. (fail2ban doubles its time every 6 bytes on the dovecot line.)
func BenchmarkFail2banLineLength(b *testing.B) {
	filters := stockFilters(b)
	tp := NewTimeParser(time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC), time.UTC)
	for _, size := range []int{128, 1024, 8192, 65536} {
		b.Run(fmt.Sprintf("bytes=%d", size), func(b *testing.B) {
			type job struct {
				m    Matcher
				line []byte
			}
			var jobs []job
			total := 0
			for n, f := range filters {
				for _, l := range baitLines(n, size) {
					jobs = append(jobs, job{f.New(""), []byte(l)})
					total += len(l)
				}
			}
			var dst []Failure
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for _, j := range jobs {
					dst, _ = j.m.Match(dst[:0], 1, j.line, tp)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(total), "ns/byte")
		})
	}
}

// TestStockFilterCounts counts Debian's stock filters (default options)
// the way README's "Moving from fail2ban" gives them: run as they are on
// RE2, taken over by a built-in filter, or refused (with the construct).
// Every refusal must be an expression RE2 cannot run, never another error.
func TestStockFilterCounts(t *testing.T) {
	names, res := resolveStockFilters(t)
	builtin := map[string]bool{"sshd": true, "dovecot": true, "apache-auth": true, "nginx-http-auth": true,
		"proftpd": true, "pure-ftpd": true, "vsftpd": true} // postfix only in mode auth
	var asIs, mapped, refused, noRegex []string
	for i, n := range names {
		if res[i].Error != "" {
			t.Errorf("%s: fail2ban's reader: %s", n, res[i].Error)
			continue
		}
		if len(res[i].Fail) == 0 {
			noRegex = append(noRegex, n)
			continue
		}
		_, err := NewFail2banFilter(res[i].spec(n))
		switch {
		case builtin[n]:
			mapped = append(mapped, n)
		case err == nil:
			asIs = append(asIs, n)
		default:
			var ue *UnsupportedError
			if !errors.As(err, &ue) {
				t.Errorf("%s: refused for another reason than a construct: %v", n, err)
			}
			refused = append(refused, n)
		}
	}
	t.Logf("%d stock filters: %d run as they are, %d map to a built-in (%s), %d refused (%s), %d without failregex (%s)",
		len(names), len(asIs), len(mapped), strings.Join(mapped, " "), len(refused), strings.Join(refused, " "), len(noRegex), strings.Join(noRegex, " "))
}

// BenchmarkFail2banSample runs fail2ban's dovecot filter (as its
// FilterReader resolves it) over the lines of its annotated sample log.
func BenchmarkFail2banSample(b *testing.B) {
	in := f2btest.Find(b)
	res := resolveFilters(b, in, [][3]any{{in.Config, "dovecot", map[string]any{}}})
	f, err := NewFail2banFilter(res[0].spec("dovecot"))
	if err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(in.Samples, "dovecot"))
	if err != nil {
		b.Fatal(err)
	}
	var lines [][]byte
	for _, l := range strings.Split(string(data), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, []byte(l))
		}
	}
	tp := NewTimeParser(time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC), time.UTC)
	m := f.New("")
	var dst []Failure
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, l := range lines {
			dst, _ = m.Match(dst[:0], 1, l, tp)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(lines)), "ns/line")
}
