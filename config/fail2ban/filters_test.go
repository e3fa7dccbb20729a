package fail2ban

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"logjail/internal/f2btest"
)

// sampleVariants lists every filter of the installed fail2ban that has an
// annotated sample log, with its default options and each option set its
// sample log runs it with (the variants fail2ban's own samples test uses).
func sampleVariants(t *testing.T, in f2btest.Install) [][2]any {
	var out [][2]any
	for _, n := range f2btest.Filters(t, in) {
		seen := map[string]bool{}
		add := func(o map[string]any) {
			clean := map[string]string{}
			for k, v := range o {
				if s, ok := v.(string); ok {
					clean[k] = s
				}
			}
			key, _ := json.Marshal(clean)
			if !seen[string(key)] {
				seen[string(key)] = true
				out = append(out, [2]any{n, clean})
			}
		}
		add(nil)
		for _, v := range f2btest.Read(t, in.Samples, n) {
			add(v.FilterOpts())
		}
	}
	return out
}

// TestFiltersEqualFilterReader resolves every filter that has a sample
// log, in every option set its sample log uses (modes, log types), with
// this package's reader and with fail2ban's own FilterReader: the
// expressions, datepattern, maxlines and journalmatch must be equal. With
// analyze's TestFail2banStyleSamples (100% on every variant that compiles,
// from FilterReader's resolution) this makes the import agree with
// fail2ban's samples too.
func TestFiltersEqualFilterReader(t *testing.T) {
	in := f2btest.Find(t)
	config := in.Config
	vars := sampleVariants(t, in)
	reqs := make([][3]any, len(vars))
	for i, v := range vars {
		reqs[i] = [3]any{config, v[0], v[1]}
	}
	var want []map[string]any
	f2btest.Resolve(t, in, reqs, &want)
	r := newReader()
	compared := 0
	for i, v := range vars {
		name := v[0].(string)
		opts := map[string]value{}
		for k, x := range v[1].(map[string]string) {
			opts[k] = value{text: x}
		}
		fr, err := r.openFilter(config, name, opts, "", value{})
		if err != nil {
			t.Errorf("%s %v: %v", name, v[1], err)
			continue
		}
		comb, err := fr.resolve(map[string]value{})
		if err != nil {
			t.Errorf("%s %v: %v", name, v[1], err)
			continue
		}
		got := map[string][]string{}
		for _, k := range filterKeys {
			x, ok := comb[k]
			if !ok {
				continue
			}
			switch k {
			case "failregex", "ignoreregex":
				if l := splitLines(x.text); len(l) > 0 {
					got["add"+k] = l
				}
			case "journalmatch":
				for _, l := range splitLines(x.text) {
					got["addjournalmatch"] = append(got["addjournalmatch"], strings.Fields(l)...)
				}
			default:
				got[k] = []string{x.text}
			}
		}
		w := map[string][]string{}
		for k, x := range want[i] {
			for _, e := range x.([]any) {
				if s, ok := e.(string); ok {
					w[k] = append(w[k], s)
				} else {
					b, _ := json.Marshal(e)
					w[k] = append(w[k], string(b))
				}
			}
		}
		keys := map[string]bool{}
		for k := range got {
			keys[k] = true
		}
		for k := range w {
			keys[k] = true
		}
		var ks []string
		for k := range keys {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			compared++
			if strings.Join(got[k], "\n") != strings.Join(w[k], "\n") {
				t.Errorf("%s %v: %s:\n got %q\nwant %q", name, v[1], k, got[k], w[k])
			}
		}
	}
	if len(vars) < 70 {
		t.Errorf("only %d filter variants", len(vars))
	}
	t.Logf("%d filter variants, %d values equal to FilterReader's", len(vars), compared)
}
