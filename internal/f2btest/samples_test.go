package f2btest

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestRead reads a sample log written here in fail2ban's annotation
// format: option blocks, a block whose condition is false, a constraint,
// an unannotated line, an injection comment and an added file.
func TestRead(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"demo": `# filterOptions: [{}, {"mode": "strict"}]
# failJSON: { "match": true, "host": "192.0.2.1" }
line one
# a forged address: injection attempt
# failJSON: { "constraint": "opts.get('mode') == 'strict'", "match": false }
line two
line three
# filterOptions: [{"test.condition": "name=='other'"}]
# failJSON: { "match": true }
line of another filter
# filterOptions: {"mode": "strict"}
# failJSON: { "match": false }
line four
# addFILE: "demo-more"
`,
		"demo-more": `# fileOptions: {"logtype": "journal"}
# failJSON: { "match": true, "host": "192.0.2.5" }
journal line
`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string][]int{} // options -> line numbers
	inject := map[int]bool{}
	for _, v := range Read(t, dir, "demo") {
		key := ""
		for k, x := range v.Opts {
			key += k + "=" + x.(string) + ";"
		}
		for _, c := range v.Cases {
			got[key] = append(got[key], c.Num)
			if c.Inject {
				inject[c.Num] = true
			}
		}
	}
	want := map[string][]int{
		"":                 {3, 7},
		"mode=strict;":     {3, 6, 7, 13},
		"logtype=journal;": {3},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("cases by option set: %v, want %v", got, want)
	}
	if !reflect.DeepEqual(inject, map[int]bool{6: true}) {
		t.Errorf("injection cases: %v, want line 6 only", inject)
	}
	_, added := ReadFile(t, filepath.Join(dir, "demo"), "demo")
	if !reflect.DeepEqual(added, []string{"demo-more"}) {
		t.Errorf("added files: %v", added)
	}
}
