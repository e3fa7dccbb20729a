package fail2ban

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

var optionsLineRE = regexp.MustCompile(`^#+ ?filterOptions:(.+)$`)

// sampleVariants lists every filter of the installed fail2ban that has an
// annotated sample log, with each option set its sample log runs it with
// (the variants fail2ban's own samples test uses).
func sampleVariants(t *testing.T, samples, config string) [][2]any {
	ents, err := os.ReadDir(filepath.Join(config, "filter.d"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][2]any
	for _, e := range ents {
		n, ok := strings.CutSuffix(e.Name(), ".conf")
		if !ok || strings.HasSuffix(n, "common") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(samples, n))
		if err != nil {
			continue
		}
		seen := map[string]bool{}
		add := func(o map[string]any) {
			clean := map[string]string{}
			for k, v := range o {
				if s, ok := v.(string); ok && !strings.HasPrefix(k, "test.") {
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
		for _, l := range strings.Split(string(data), "\n") {
			m := optionsLineRE.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			var v any
			if json.Unmarshal([]byte(m[1]), &v) != nil {
				continue
			}
			list, ok := v.([]any)
			if !ok {
				list = []any{v}
			}
			for _, x := range list {
				if o, ok := x.(map[string]any); ok {
					add(o)
				}
			}
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
	_, py := f2bPython(t)
	out, err := exec.Command(py, "-c", "import fail2ban, os; print(os.path.dirname(fail2ban.__file__))").Output()
	if err != nil {
		t.Fatal(err)
	}
	samples := filepath.Join(strings.TrimSpace(string(out)), "tests", "files", "logs")
	const config = "/etc/fail2ban"
	vars := sampleVariants(t, samples, config)
	reqs := make([][3]any, len(vars))
	for i, v := range vars {
		reqs[i] = [3]any{config, v[0], v[1]}
	}
	body, _ := json.Marshal(reqs)
	cmd := exec.Command(py, "../../analyze/testdata/fail2ban/resolve.py")
	cmd.Stdin = bytes.NewReader(body)
	js, err := cmd.Output()
	if err != nil {
		t.Fatalf("resolve.py: %v", err)
	}
	var want []map[string]any
	if err := json.Unmarshal(js, &want); err != nil {
		t.Fatal(err)
	}
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
