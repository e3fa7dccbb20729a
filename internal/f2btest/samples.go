package f2btest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// fail2ban's sample logs precede each log line with a comment "# failJSON:
// {...}" saying whether the filter must count it ("match") and, when it
// does, for which client ("host") at which time ("time", local time of the
// test zone); a "constraint" limits it to some option sets. "#
// filterOptions:" names the option sets (an object or a list) the lines
// below it run with, "# fileOptions:" options common to the file, "#
// addFILE:" another sample file to read after this one. A
// "test.condition" option or a constraint is a Python expression on the
// filter's name or an option.

// Case is one line of a sample log with its annotation.
type Case struct {
	File string
	Num  int // line number, from 1
	Line string
	// Want is the failJSON; an unannotated log line has an empty one:
	// it must not count.
	Want map[string]any
	// Inject says that fail2ban marks the line as an injection case: the
	// annotation or a comment since the previous annotated line says so.
	Inject bool
}

// Variant is a filter with one option set (filterOptions over
// fileOptions) and the lines run with it, in the files' order.
type Variant struct {
	Filter string // fail2ban's filter name: "name" in conditions
	Opts   map[string]any
	Cases  []Case
}

// FilterOpts returns the variant's options without the test's own
// (test.*): what fail2ban's FilterReader is given.
func (v *Variant) FilterOpts() map[string]any {
	o := map[string]any{}
	for k, x := range v.Opts {
		if !strings.HasPrefix(k, "test.") {
			o[k] = x
		}
	}
	return o
}

// Read reads the sample log of filter name in dir and the files it adds,
// as fail2ban's samples test does. A variant's cases run through one
// matcher, in order, across the files.
func Read(t testing.TB, dir, name string) []*Variant {
	t.Helper()
	r := newReader(t, name)
	files := []string{name}
	for i := 0; i < len(files); i++ {
		files = append(files, r.readFile(filepath.Join(dir, files[i]))...)
	}
	return r.all
}

// ReadFile reads one sample file, for filter name, without the files it
// adds (returned, by name).
func ReadFile(t testing.TB, path, name string) (variants []*Variant, added []string) {
	t.Helper()
	r := newReader(t, name)
	added = r.readFile(path)
	return r.all, added
}

type reader struct {
	t     testing.TB
	name  string
	all   []*Variant
	byKey map[string]*Variant
}

func newReader(t testing.TB, name string) *reader {
	return &reader{t: t, name: name, byKey: map[string]*Variant{}}
}

// variant returns the variant of opts, made once.
func (r *reader) variant(opts map[string]any) *Variant {
	key, _ := json.Marshal(opts)
	if v := r.byKey[string(key)]; v != nil {
		return v
	}
	v := &Variant{Filter: r.name, Opts: opts}
	r.byKey[string(key)] = v
	r.all = append(r.all, v)
	return v
}

var directive = regexp.MustCompile(`^#+ ?(failJSON|fileOptions|filterOptions|addFILE):(.+)$`)

// readFile adds the cases of one file to the variants they run in and
// returns the files it adds.
func (r *reader) readFile(path string) (added []string) {
	t := r.t
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read sample log: %v", err)
	}
	file := filepath.Base(path)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	common := map[string]any{}
	var cur []*Variant // the option sets of the current block
	skip := false      // the block's test.condition is false
	inject := false    // a comment since the last case says "inject"
	for n := 0; n < len(lines); n++ {
		ln := strings.TrimSuffix(lines[n], "\r")
		where := func() string { return file + ":" + strconv.Itoa(n+1) }
		var want map[string]any
		if m := directive.FindStringSubmatch(ln); m != nil {
			var v any
			if err := json.Unmarshal([]byte(m[2]), &v); err != nil {
				t.Fatalf("%s: %s: %v", where(), m[1], err)
			}
			switch m[1] {
			case "fileOptions":
				o, ok := v.(map[string]any)
				if !ok {
					t.Fatalf("%s: fileOptions: want one object", where())
				}
				common = o
				continue
			case "filterOptions":
				cur, skip = nil, false
				list, ok := v.([]any)
				if !ok {
					list = []any{v}
				}
				for _, o := range list {
					om, ok := o.(map[string]any)
					if !ok {
						t.Fatalf("%s: filterOptions: want objects", where())
					}
					opts := merge(common, om)
					if !r.holds(where(), opts["test.condition"], opts) {
						skip = true
						continue
					}
					cur = append(cur, r.variant(opts))
				}
				if skip {
					cur = nil
				}
				continue
			case "addFILE":
				f, ok := v.(string)
				if !ok {
					t.Fatalf("%s: addFILE: want a file name", where())
				}
				added = append(added, f)
				continue
			}
			var ok bool
			if want, ok = v.(map[string]any); !ok {
				t.Fatalf("%s: failJSON: want an object", where())
			}
			inject = inject || strings.Contains(strings.ToLower(m[2]), "inject")
			n++
			if n >= len(lines) {
				t.Fatalf("%s: failJSON without a line after it", where())
			}
			ln = strings.TrimSuffix(lines[n], "\r")
		} else if strings.HasPrefix(ln, "#") {
			inject = inject || strings.Contains(strings.ToLower(ln), "inject")
			continue
		} else if strings.TrimSpace(ln) == "" {
			continue
		} else {
			want = map[string]any{} // unannotated: must not count
		}
		c := Case{File: file, Num: n + 1, Line: ln, Want: want, Inject: inject}
		inject = false
		if skip {
			continue
		}
		if cur == nil { // no filterOptions yet: the file's options alone
			opts := merge(common, nil)
			if !r.holds(where(), opts["test.condition"], opts) {
				continue
			}
			cur = []*Variant{r.variant(opts)}
		}
		for _, v := range cur {
			if r.holds(where(), want["constraint"], v.Opts) {
				v.Cases = append(v.Cases, c)
			}
		}
	}
	return added
}

func merge(a, b map[string]any) map[string]any {
	m := make(map[string]any, len(a)+len(b))
	for k, x := range a {
		m[k] = x
	}
	for k, x := range b {
		m[k] = x
	}
	return m
}

var conditionRE = regexp.MustCompile(`^\s*(name|opts\.get\('([\w.-]+)'\))\s*(==|!=)\s*'([^']*)'\s*$`)

// holds evaluates a test.condition or constraint (nil: none). The
// samples use comparisons of the filter's name or an option with a
// string; another form fails the test: the reader must learn it.
func (r *reader) holds(where string, expr any, opts map[string]any) bool {
	if expr == nil {
		return true
	}
	s, ok := expr.(string)
	m := conditionRE.FindStringSubmatch(s)
	if !ok || m == nil {
		r.t.Fatalf("%s: condition %v not understood", where, expr)
	}
	v := r.name
	if m[2] != "" {
		v, _ = opts[m[2]].(string)
	}
	return (v == m[4]) == (m[3] == "==")
}
