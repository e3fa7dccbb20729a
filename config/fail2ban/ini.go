package fail2ban

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// value is one option's text and where it was written.
type value struct {
	text string
	file string
	line int
}

// where names the file and line of v.
func (v value) where() string { return fmt.Sprintf("%s:%d", v.file, v.line) }

// section is a [name] of one or several files merged.
type section struct {
	name string
	vals map[string]value // keys lower case
	keys []string         // in order of first appearance
}

func newSection(name string) *section { return &section{name: name, vals: map[string]value{}} }

func (s *section) set(k string, v value) {
	if _, ok := s.vals[k]; !ok {
		s.keys = append(s.keys, k)
	}
	s.vals[k] = v
}

// ini is fail2ban's configuration language read into sections: Python's
// configparser (key = value or key: value, indented continuation lines,
// # and ; comments, ; after a blank as an inline comment, keys in lower
// case, [DEFAULT] behind every section) plus fail2ban's [INCLUDES]
// before/after and the KNOWN/<section> record of values a later file
// replaced.
type ini struct {
	def      *section
	sections map[string]*section
	order    []string
}

func newINI() *ini {
	return &ini{def: newSection("DEFAULT"), sections: map[string]*section{}}
}

func (c *ini) section(name string) *section {
	if name == "DEFAULT" {
		return c.def
	}
	s := c.sections[name]
	if s == nil {
		s = newSection(name)
		c.sections[name] = s
		c.order = append(c.order, name)
	}
	return s
}

// Problem is one thing wrong in a fail2ban configuration, at its place.
type Problem struct {
	File string
	Line int
	Msg  string
}

func (p Problem) Error() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	if p.File != "" {
		return p.File + ": " + p.Msg
	}
	return p.Msg
}

// parseFile reads one file. Syntax problems are returned, each with its line;
// the rest of the file is still read.
func parseFile(path string) (*ini, []Problem, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	c := newINI()
	var probs []Problem
	var cur *section
	var key string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	n := 0
	for sc.Scan() {
		n++
		raw := strings.TrimRight(sc.Text(), "\r")
		trimmed := strings.TrimSpace(raw)
		if trimmed == "" {
			// configparser keeps empty lines inside a value; fail2ban
			// drops empty entries of every list, so they can go.
			continue
		}
		if trimmed[0] == '#' || trimmed[0] == ';' {
			continue
		}
		text := stripInline(raw)
		indented := raw[0] == ' ' || raw[0] == '\t'
		if indented && cur != nil && key != "" {
			v := cur.vals[key]
			if v.text == "" {
				v.text = strings.TrimSpace(text)
			} else {
				v.text += "\n" + strings.TrimSpace(text)
			}
			cur.vals[key] = v
			continue
		}
		if strings.HasPrefix(trimmed, "[") {
			end := strings.IndexByte(trimmed, ']')
			if end < 0 {
				probs = append(probs, Problem{path, n, fmt.Sprintf("section header %q lacks ]", trimmed)})
				cur, key = nil, ""
				continue
			}
			cur, key = c.section(trimmed[1:end]), ""
			continue
		}
		i := strings.IndexAny(text, "=:")
		if i <= 0 {
			probs = append(probs, Problem{path, n, fmt.Sprintf("not a section, option or continuation: %q", trimmed)})
			continue
		}
		if cur == nil {
			probs = append(probs, Problem{path, n, fmt.Sprintf("option %q before any [section]", strings.TrimSpace(text[:i]))})
			continue
		}
		key = strings.ToLower(strings.TrimSpace(text[:i]))
		cur.set(key, value{text: strings.TrimSpace(text[i+1:]), file: path, line: n})
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	return c, probs, nil
}

// stripInline removes a ; comment that follows a blank.
func stripInline(s string) string {
	for i := 1; i < len(s); i++ {
		if s[i] == ';' && (s[i-1] == ' ' || s[i-1] == '\t') {
			return s[:i]
		}
	}
	return s
}

// reader reads files with their includes and merges them, as fail2ban's
// readers do.
type reader struct {
	parsed map[string]*ini
	probs  []Problem
}

func newReader() *reader { return &reader{parsed: map[string]*ini{}} }

func (r *reader) parse(path string) *ini {
	if c, ok := r.parsed[path]; ok {
		return c
	}
	c, probs, err := parseFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		// A missing include is skipped, as by fail2ban.
		r.probs = append(r.probs, Problem{File: path, Msg: err.Error()})
	}
	r.probs = append(r.probs, probs...)
	r.parsed[path] = c
	return c
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// withLocal adds each file's .local right after it, when it exists and is
// not listed already.
func withLocal(files []string) []string {
	var out []string
	listed := map[string]bool{}
	for _, f := range files {
		listed[f] = true
	}
	for _, f := range files {
		out = append(out, f)
		l := strings.TrimSuffix(f, filepath.Ext(f)) + ".local"
		if !listed[l] && exists(l) {
			out = append(out, l)
		}
	}
	return out
}

// includes expands files with their [INCLUDES] before and after, depth
// first, skipping a file already on the way (loops).
func (r *reader) includes(files []string, seen []string) []string {
	var out []string
	for _, f := range withLocal(files) {
		c := r.parse(f)
		if c == nil {
			continue
		}
		var before, after []string
		if inc, ok := c.sections["INCLUDES"]; ok {
			for _, k := range []string{"before", "after"} {
				v, ok := inc.vals[k]
				if !ok {
					continue
				}
				for _, p := range strings.Split(v.text, "\n") {
					p = strings.TrimSpace(p)
					if p == "" {
						continue
					}
					if !filepath.IsAbs(p) {
						p = filepath.Join(filepath.Dir(f), p)
					}
					if contains(seen, p) {
						continue
					}
					got := r.includes([]string{p}, append(append([]string{}, seen...), f))
					if k == "before" {
						before = append(before, got...)
					} else {
						after = append(after, got...)
					}
				}
			}
		}
		out = append(out, before...)
		out = append(out, f)
		out = append(out, after...)
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// read reads the named files (and their includes) into one ini.
func (r *reader) read(files []string) *ini {
	all := newINI()
	for _, f := range r.includes(files, nil) {
		c := r.parsed[f]
		if c == nil {
			continue
		}
		for _, k := range c.def.keys {
			all.def.set(k, c.def.vals[k])
		}
		for _, name := range c.order {
			s := c.sections[name]
			old, had := all.sections[name]
			if had {
				known := all.section("KNOWN/" + name)
				for _, k := range s.keys {
					if v, ok := old.vals[k]; ok {
						known.set(k, v)
					}
				}
			}
			dst := all.section(name)
			for _, k := range s.keys {
				dst.set(k, s.vals[k])
			}
		}
	}
	return all
}

// readConf reads base.conf, base.d/*.conf, base.local, base.d/*.local
// under dir, the files that exist, with their includes.
func (r *reader) readConf(dir, base string) (*ini, []string) {
	b := filepath.Join(dir, base)
	files := []string{b + ".conf"}
	confs, _ := filepath.Glob(b + ".d/*.conf")
	sort.Strings(confs)
	files = append(files, confs...)
	files = append(files, b+".local")
	locals, _ := filepath.Glob(b + ".d/*.local")
	sort.Strings(locals)
	files = append(files, locals...)
	var have []string
	for _, f := range files {
		if exists(f) {
			have = append(have, f)
		}
	}
	return r.read(have), have
}

var interpRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`%\(([^)]+)\)s`) })

// lookup finds key for section sec: vars first, then the section, then
// [DEFAULT]; sec/key and known/key name another section or the values
// sec had before a later file replaced them.
func (c *ini) lookup(sec, key string, vars map[string]value) (value, bool) {
	v, _, ok := c.lookupIn(sec, key, vars)
	return v, ok
}

// lookupIn is lookup that also says in which section the value stands:
// a SECTION/NAME value is interpolated within its own section, as
// fail2ban's get_ex does.
func (c *ini) lookupIn(sec, key string, vars map[string]value) (value, string, bool) {
	if v, ok := vars[key]; ok {
		return v, sec, true
	}
	if s, ok := c.sections[sec]; ok {
		if v, ok := s.vals[key]; ok {
			return v, sec, true
		}
	}
	if v, ok := c.def.vals[key]; ok {
		return v, sec, true
	}
	s, k, ok := strings.Cut(key, "/")
	if !ok {
		return value{}, sec, false
	}
	switch strings.ToLower(s) {
	case "known":
		if ks, ok := c.sections["KNOWN/"+sec]; ok {
			if v, ok := ks.vals[k]; ok {
				return v, sec, true
			}
		}
	case "default":
	default:
		if ss, ok := c.sections[s]; ok {
			if v, ok := ss.vals[k]; ok {
				return v, s, true
			}
		}
	}
	v, ok := c.def.vals[k]
	return v, sec, ok
}

// get returns the interpolated value of key in sec.
func (c *ini) get(sec, key string, vars map[string]value) (value, bool, error) {
	v, in, ok := c.lookupIn(sec, key, vars)
	if !ok {
		return v, false, nil
	}
	if in != sec {
		vars = nil // another section's value: its own options only
	}
	t, err := c.interpolate(in, v.text, vars, 0)
	if err != nil {
		return v, true, fmt.Errorf("%s: option %s: %w", v.where(), key, err)
	}
	v.text = t
	return v, true, nil
}

// interpolate replaces %(name)s (recursively, as configparser: at most 10
// deep) and %% in s.
func (c *ini) interpolate(sec, s string, vars map[string]value, depth int) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	if depth > 10 {
		return "", fmt.Errorf("interpolation deeper than 10 levels (a loop?) in %q", s)
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '%')
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		b.WriteString(s[i : i+j])
		i += j
		if strings.HasPrefix(s[i:], "%%") {
			b.WriteByte('%')
			i += 2
			continue
		}
		m := interpRE().FindStringSubmatchIndex(s[i:])
		if m == nil || m[0] != 0 {
			return "", fmt.Errorf("'%%' must be followed by '%%' or '(', found %q", s[i:min(len(s), i+10)])
		}
		name := strings.ToLower(s[i+m[2] : i+m[3]])
		var repl string
		if name == "__name__" {
			repl = sec
		} else {
			v, ok := c.lookup(sec, name, vars)
			if !ok {
				return "", fmt.Errorf("%%(%s)s names no option", name)
			}
			// Like configparser: a %(section/name)s value is
			// interpolated where it is used (only a SECTION/NAME asked
			// for directly, by get, is interpolated in its section).
			var err error
			if repl, err = c.interpolate(sec, v.text, vars, depth+1); err != nil {
				return "", err
			}
		}
		b.WriteString(repl)
		if b.Len() > maxValue {
			return "", fmt.Errorf("interpolation grows beyond %d bytes", maxValue)
		}
		i += m[1]
	}
	return b.String(), nil
}

// options lists the keys of sec (with [DEFAULT]'s when withDefault).
func (c *ini) options(sec string, withDefault bool) []string {
	var keys []string
	seen := map[string]bool{}
	if s, ok := c.sections[sec]; ok {
		for _, k := range s.keys {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	if withDefault {
		for _, k := range c.def.keys {
			if !seen[k] {
				keys = append(keys, k)
			}
		}
	}
	return keys
}
