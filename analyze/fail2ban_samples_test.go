package analyze

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"logjail/internal/testenv"
)

// The tests here use Debian's fail2ban package as installed: its own
// FilterReader resolves its filters and its annotated sample logs say what
// each line must give. Nothing of fail2ban is kept in this tree (GPL).

// f2bInstall is where the installed fail2ban keeps what the tests read.
type f2bInstall struct {
	python  string // the interpreter fail2ban runs with
	config  string // /etc/fail2ban
	samples string // .../fail2ban/tests/files/logs
}

func findFail2ban(t testing.TB) f2bInstall {
	t.Helper()
	regex := testenv.Tool(t, "fail2ban-regex")
	f, err := os.Open(regex)
	if err != nil {
		t.Fatalf("open %s: %v", regex, err)
	}
	first, _ := bufio.NewReader(f).ReadString('\n')
	f.Close()
	py := strings.TrimSpace(strings.TrimPrefix(first, "#!"))
	out, err := exec.Command(py, "-c", "import fail2ban, os; print(os.path.dirname(fail2ban.__file__))").Output()
	if err != nil {
		testenv.Missing(t, "needs fail2ban's python package (%s): %v", py, err)
	}
	pkg := strings.TrimSpace(string(out))
	in := f2bInstall{python: py, config: "/etc/fail2ban", samples: filepath.Join(pkg, "tests", "files", "logs")}
	if _, err := os.Stat(in.samples); err != nil {
		testenv.Missing(t, "needs fail2ban's sample logs: %v", err)
	}
	return in
}

// resolvedFilter is what fail2ban's FilterReader makes of a filter.
type resolvedFilter struct {
	Pref   []string `json:"prefregex"`
	Fail   []string `json:"addfailregex"`
	Ignore []string `json:"addignoreregex"`
	Date   []string `json:"datepattern"`
	Lines  []any    `json:"maxlines"`
	DNS    []string `json:"usedns"`
	Error  string   `json:"error"`
}

func (r resolvedFilter) spec(name string) Fail2banSpec {
	s := Fail2banSpec{Name: name, FailRegex: r.Fail, IgnoreRegex: r.Ignore}
	if len(r.Pref) > 0 {
		s.PrefRegex = r.Pref[0]
	}
	if len(r.Date) > 0 {
		s.DatePattern = r.Date[0]
	}
	if len(r.DNS) > 0 {
		s.UseDNS = r.DNS[0]
	}
	if len(r.Lines) > 0 {
		switch v := r.Lines[0].(type) {
		case float64:
			s.MaxLines = int(v)
		case string:
			json.Unmarshal([]byte(v), &s.MaxLines)
		}
	}
	return s
}

// resolveFilters asks fail2ban's FilterReader for each (filter, options).
func resolveFilters(t testing.TB, in f2bInstall, reqs [][3]any) []resolvedFilter {
	t.Helper()
	body, _ := json.Marshal(reqs)
	cmd := exec.Command(in.python, "testdata/fail2ban/resolve.py")
	cmd.Stdin = bytes.NewReader(body)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("resolve.py: %v: %s", err, stderr.String())
	}
	var res []resolvedFilter
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("resolve.py output: %v", err)
	}
	return res
}

// sampleCase is one annotated line of a sample log.
type sampleCase struct {
	file string
	num  int
	line string
	want map[string]any // failJSON; nil for an unannotated line
}

// sampleVariant is a filter with one set of options and the lines to run.
type sampleVariant struct {
	filter string
	opts   map[string]any
	cases  []sampleCase
}

var sampleDirective = regexp.MustCompile(`^#+ ?(failJSON|(?:file|filter)Options|addFILE):(.+)$`)

// readStockSamples reads the sample log of filter name (and the files it adds)
// the way fail2ban's samples test does: filterOptions start a block run
// with each option set; test.condition and constraint are evaluated.
func readStockSamples(t testing.TB, dir, name string) []*sampleVariant {
	var all []*sampleVariant
	var cur []*sampleVariant
	byKey := map[string]*sampleVariant{}
	variant := func(opts map[string]any) *sampleVariant {
		key, _ := json.Marshal(opts)
		if v := byKey[string(key)]; v != nil {
			return v
		}
		v := &sampleVariant{filter: name, opts: opts}
		byKey[string(key)] = v
		all = append(all, v)
		return v
	}
	files := []string{name}
	for i := 0; i < len(files); i++ {
		data, err := os.ReadFile(filepath.Join(dir, files[i]))
		if err != nil {
			t.Fatalf("read sample: %v", err)
		}
		common := map[string]any{}
		ignore := false
		lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		for n := 0; n < len(lines); n++ {
			ln := lines[n]
			var want map[string]any
			if m := sampleDirective.FindStringSubmatch(ln); m != nil {
				var v any
				if err := json.Unmarshal([]byte(m[2]), &v); err != nil {
					t.Fatalf("%s:%d: %v", files[i], n+1, err)
				}
				switch m[1] {
				case "fileOptions":
					common = v.(map[string]any)
					continue
				case "filterOptions":
					cur, ignore = nil, false
					list, ok := v.([]any)
					if !ok {
						list = []any{v}
					}
					for _, o := range list {
						opts := map[string]any{}
						for k, x := range common {
							opts[k] = x
						}
						for k, x := range o.(map[string]any) {
							opts[k] = x
						}
						if c, ok := opts["test.condition"].(string); ok && !evalConstraint(t, c, name, opts) {
							ignore = true
							continue
						}
						if !ignore {
							cur = append(cur, variant(opts))
						}
					}
					continue
				case "addFILE":
					files = append(files, v.(string))
					continue
				}
				want = v.(map[string]any)
				n++
				if n >= len(lines) {
					break
				}
				ln = lines[n]
			} else if ignore || strings.HasPrefix(ln, "#") || strings.TrimSpace(ln) == "" {
				continue
			} else {
				want = map[string]any{}
			}
			if ignore {
				continue
			}
			if cur == nil {
				cur = []*sampleVariant{variant(map[string]any{})}
			}
			ln = strings.TrimRight(ln, "\r\n")
			for _, v := range cur {
				if c, ok := want["constraint"].(string); ok && !evalConstraint(t, c, name, v.opts) {
					continue
				}
				v.cases = append(v.cases, sampleCase{file: files[i], num: n + 1, line: ln, want: want})
			}
		}
	}
	return all
}

var constraintRE = regexp.MustCompile(`^(name|opts\.get\('([\w.-]+)'\))\s*(==|!=)\s*'([^']*)'$`)

// evalConstraint evaluates the few Python expressions the samples use.
func evalConstraint(t testing.TB, c, name string, opts map[string]any) bool {
	m := constraintRE.FindStringSubmatch(strings.TrimSpace(c))
	if m == nil {
		t.Fatalf("sample constraint %q not understood", c)
	}
	v := name
	if m[2] != "" {
		s, _ := opts[m[2]].(string)
		v = s
	}
	return (v == m[4]) == (m[3] == "==")
}

func (v *sampleVariant) filterOpts() map[string]any {
	o := map[string]any{}
	for k, x := range v.opts {
		if !strings.HasPrefix(k, "test.") {
			o[k] = x
		}
	}
	return o
}

// stockSampleFilters lists the filters that have a sample log.
func stockSampleFilters(t testing.TB, in f2bInstall) []string {
	ents, err := os.ReadDir(filepath.Join(in.config, "filter.d"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		n, ok := strings.CutSuffix(e.Name(), ".conf")
		if !ok || strings.HasSuffix(n, "common") {
			continue
		}
		if _, err := os.Stat(filepath.Join(in.samples, n)); err == nil {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// sampleOutcome is what a filter made of one annotated line.
type sampleOutcome struct {
	match bool
	fl    Failure
}

// runSample runs filter f over the variant's lines like fail2ban's test:
// one matcher per variant, lines in order; a journal variant gets the text
// without date detection.
func runSample(f *Filter, v *sampleVariant, tp *TimeParser) []sampleOutcome {
	m := f.New("").(*f2bMatcher)
	journal := v.opts["logtype"] == "journal"
	prefix, _ := v.opts["test.prefix-line"].(string)
	out := make([]sampleOutcome, len(v.cases))
	var dst []Failure
	for i, c := range v.cases {
		dst = dst[:0]
		var o Outcome
		if journal {
			m.text = append(m.text[:0], prefix+c.line...)
			dst, o = m.process(dst, int64(c.num), f2bTestNow)
		} else {
			dst, o = m.Match(dst, int64(c.num), []byte(c.line), tp)
		}
		if o == Matched {
			out[i] = sampleOutcome{match: true, fl: dst[0]}
		}
	}
	return out
}

// disagreement says how the outcome differs from the annotation, or "".
func disagreement(c sampleCase, o sampleOutcome, loc *time.Location) string {
	want, _ := c.want["match"].(bool)
	if want != o.match {
		if want {
			return "not matched"
		}
		return "matched " + o.fl.HostString()
	}
	if !want {
		return ""
	}
	if h, ok := c.want["host"].(string); ok && h != o.fl.HostString() {
		return "host " + o.fl.HostString() + ", want " + h
	}
	if u, ok := c.want["user"].(string); ok && u != o.fl.User {
		return "user " + o.fl.User + ", want " + u
	}
	return ""
}

// timeDisagreement compares the failure's time with the annotation's
// (local time in the samples' zone).
func timeDisagreement(c sampleCase, o sampleOutcome, loc *time.Location) string {
	ts, ok := c.want["time"].(string)
	if !ok || !o.match {
		return ""
	}
	layout := "2006-1-2T15:04:05" // strptime takes one-digit days too
	if strings.Contains(ts, ".") {
		layout += ".999999999"
	}
	wt, err := time.ParseInLocation(layout, ts, loc)
	if err != nil {
		return "bad annotation " + ts
	}
	if !wt.Equal(o.fl.Time.Truncate(time.Second)) && !wt.Equal(o.fl.Time) {
		return "time " + o.fl.Time.In(loc).Format(layout) + ", want " + ts
	}
	return ""
}

// TestFail2banStyleSamples runs every fail2ban filter with a sample log, as
// fail2ban's FilterReader resolves it, over its annotated lines: each
// filter that compiles must agree on every line (match, address, user,
// and the time where the annotation gives one).
// The filters refused are listed with the reason, and counted.
func TestFail2banStyleSamples(t *testing.T) {
	in := findFail2ban(t)
	loc := f2bTestZone
	var variants []*sampleVariant
	for _, n := range stockSampleFilters(t, in) {
		variants = append(variants, readStockSamples(t, in.samples, n)...)
	}
	reqs := make([][3]any, len(variants))
	for i, v := range variants {
		reqs[i] = [3]any{in.config, v.filter, v.filterOpts()}
	}
	res := resolveFilters(t, in, reqs)
	var compiled, refused, lines, timeOK, timed int
	for i, v := range variants {
		name := v.filter
		if o := v.filterOpts(); len(o) > 0 {
			b, _ := json.Marshal(o)
			name += string(b)
		}
		if res[i].Error != "" {
			t.Errorf("%s: fail2ban's reader: %s", name, res[i].Error)
			continue
		}
		f, err := NewFail2banFilter(res[i].spec(v.filter))
		if err != nil {
			var re *RegexError
			if !errors.As(err, &re) {
				t.Errorf("%s: %v", name, err)
				continue
			}
			refused++
			t.Logf("refused %s: %v", name, strings.ReplaceAll(err.Error(), "\n", "; "))
			continue
		}
		compiled++
		tp := NewTimeParser(f2bTestNow, loc)
		outs := runSample(f, v, tp)
		bad := 0
		for j, c := range v.cases {
			lines++
			if d := disagreement(c, outs[j], loc); d != "" {
				bad++
				if bad <= 5 {
					t.Errorf("%s: %s:%d: %s\n  %s", name, c.file, c.num, d, c.line)
				}
			}
			if _, ok := c.want["time"]; ok && outs[j].match {
				timed++
				if d := timeDisagreement(c, outs[j], loc); d == "" {
					timeOK++
				} else {
					t.Errorf("%s: %s:%d: %s\n  %s", name, c.file, c.num, d, c.line)
				}
			}
		}
	}
	t.Logf("%d filter variants: %d compiled, %d refused; %d annotated lines; times agree on %d of %d", len(variants), compiled, refused, lines, timeOK, timed)
}
