package analyze

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"logjail/internal/f2btest"
)

// The tests here use Debian's fail2ban package as installed: its own
// FilterReader resolves its filters and its annotated sample logs say what
// each line must give. Nothing of fail2ban is kept in this tree (GPL).

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
func resolveFilters(t testing.TB, in f2btest.Install, reqs [][3]any) []resolvedFilter {
	t.Helper()
	var res []resolvedFilter
	f2btest.Resolve(t, in, reqs, &res)
	return res
}

// sampleOutcome is what a filter made of one annotated line.
type sampleOutcome struct {
	match bool
	fl    Failure
}

// runSample runs filter f over the variant's lines like fail2ban's test:
// one matcher per variant, lines in order; a journal variant gets the text
// without date detection.
func runSample(f *Filter, v *f2btest.Variant, tp *TimeParser) []sampleOutcome {
	m := f.New("").(*f2bMatcher)
	journal := v.Opts["logtype"] == "journal"
	prefix, _ := v.Opts["test.prefix-line"].(string)
	out := make([]sampleOutcome, len(v.Cases))
	var dst []Failure
	for i, c := range v.Cases {
		dst = dst[:0]
		var o Outcome
		if journal {
			m.text = append(m.text[:0], prefix+c.Line...)
			dst, o = m.process(dst, int64(c.Num), f2bTestNow)
		} else {
			dst, o = m.Match(dst, int64(c.Num), []byte(c.Line), tp)
		}
		if o == Matched {
			out[i] = sampleOutcome{match: true, fl: dst[0]}
		}
	}
	return out
}

// disagreement says how the outcome differs from the annotation, or "".
func disagreement(c f2btest.Case, o sampleOutcome, loc *time.Location) string {
	want, _ := c.Want["match"].(bool)
	if want != o.match {
		if want {
			return "not matched"
		}
		return "matched " + o.fl.HostString()
	}
	if !want {
		return ""
	}
	if h, ok := c.Want["host"].(string); ok && h != o.fl.HostString() {
		return "host " + o.fl.HostString() + ", want " + h
	}
	if u, ok := c.Want["user"].(string); ok && u != o.fl.User {
		return "user " + o.fl.User + ", want " + u
	}
	return ""
}

// timeDisagreement compares the failure's time with the annotation's
// (local time in the samples' zone).
func timeDisagreement(c f2btest.Case, o sampleOutcome, loc *time.Location) string {
	ts, ok := c.Want["time"].(string)
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
	in := f2btest.Find(t)
	loc := f2bTestZone
	var variants []*f2btest.Variant
	for _, n := range f2btest.Filters(t, in) {
		variants = append(variants, f2btest.Read(t, in.Samples, n)...)
	}
	reqs := make([][3]any, len(variants))
	for i, v := range variants {
		reqs[i] = [3]any{in.Config, v.Filter, v.FilterOpts()}
	}
	res := resolveFilters(t, in, reqs)
	var compiled, refused, lines, timeOK, timed int
	for i, v := range variants {
		name := v.Filter
		if o := v.FilterOpts(); len(o) > 0 {
			b, _ := json.Marshal(o)
			name += string(b)
		}
		if res[i].Error != "" {
			t.Errorf("%s: fail2ban's reader: %s", name, res[i].Error)
			continue
		}
		f, err := NewFail2banFilter(res[i].spec(v.Filter))
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
		for j, c := range v.Cases {
			lines++
			if d := disagreement(c, outs[j], loc); d != "" {
				bad++
				if bad <= 5 {
					t.Errorf("%s: %s:%d: %s\n  %s", name, c.File, c.Num, d, c.Line)
				}
			}
			if _, ok := c.Want["time"]; ok && outs[j].match {
				timed++
				if d := timeDisagreement(c, outs[j], loc); d == "" {
					timeOK++
				} else {
					t.Errorf("%s: %s:%d: %s\n  %s", name, c.File, c.Num, d, c.Line)
				}
			}
		}
	}
	t.Logf("%d filter variants: %d compiled, %d refused; %d annotated lines; times agree on %d of %d", len(variants), compiled, refused, lines, timeOK, timed)
}
