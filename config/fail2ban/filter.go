package fail2ban

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// filterKeys are the options a filter file gives a jail.
var filterKeys = []string{"usedns", "prefregex", "ignoreregex", "failregex", "maxlines", "datepattern", "journalmatch"}

// Filter is a filter.d file resolved for one jail: its [Init] values and
// the jail's filter = name[k=v] options applied, %(x)s and <x> replaced.
type Filter struct {
	Name  string
	Files []string // the files read, in order
	// Values holds the resolved options of filterKeys that are set.
	Values map[string]value
}

// Get returns option k's resolved text.
func (f *Filter) Get(k string) (string, bool) {
	v, ok := f.Values[k]
	return v.text, ok
}

// List returns a multi-line option as its non-empty lines.
func (f *Filter) List(k string) []string {
	v, ok := f.Values[k]
	if !ok {
		return nil
	}
	return splitLines(v.text)
}

func splitLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// filterRead is a filter's files, read once per jail, and its [Init]
// options as fail2ban's reader keeps them between its two passes.
type filterRead struct {
	name  string
	c     *ini
	files []string
	init  map[string]value // the jail's name[k=v] options, then [Init]'s
}

// openFilter reads filter.d/name with its .local and includes.
func (r *reader) openFilter(dir, name string, opts map[string]value, backend string, at value) (*filterRead, error) {
	c, files := r.readConf(dir, "filter.d/"+name)
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: filter %q: no filter.d/%s.conf or .local under %s", at.where(), name, name, dir)
	}
	fr := &filterRead{name: name, c: c, files: files, init: map[string]value{}}
	for k, v := range opts {
		fr.init[k] = v
	}
	// The log type follows the backend unless set: the journal's lines
	// have no syslog prefix. (No backend: a filter read alone.)
	if _, ok := fr.init["logtype"]; !ok && backend != "" {
		if s, ok := c.sections["Definition"]; !ok || s.vals["logtype"].text == "" {
			lt := "file"
			if strings.HasPrefix(backend, "systemd") {
				lt = "journal"
			}
			fr.init["logtype"] = value{text: lt, file: at.file, line: at.line}
		}
	}
	return fr, nil
}

// resolve is one pass of fail2ban's filter reader with the jail's options
// jail: the options of filterKeys the jail sets itself are left to it.
func (fr *filterRead) resolve(jail map[string]value) (map[string]value, error) {
	pOpts := map[string]value{}
	for k, v := range jail {
		pOpts[k] = v
	}
	for k, v := range fr.init {
		pOpts[k] = v
	}
	opts := map[string]value{}
	for _, k := range filterKeys {
		if _, ok := pOpts[k]; ok {
			continue
		}
		v, ok, err := fr.c.get("Definition", k, pOpts)
		if err != nil {
			return nil, err
		}
		if ok {
			opts[k] = v
		}
	}
	if init, ok := fr.c.sections["Init"]; ok {
		for _, k := range init.keys {
			v, _, err := fr.c.get("Init", k, nil)
			if err != nil {
				return nil, err
			}
			if !strings.HasPrefix(k, "known/") {
				fr.init["known/"+k] = v
			}
			if _, ok := fr.init[k]; !ok {
				fr.init[k] = v
			}
		}
	}
	combined := map[string]value{}
	for k, v := range opts {
		combined[k] = v
	}
	for k, v := range fr.init {
		combined[k] = v
	}
	cache := map[string]*value{}
	addrepl := func(name string) (value, bool) {
		if v, ok := cache[name]; ok {
			if v == nil {
				return value{}, false
			}
			return *v, true
		}
		key := strings.ToLower(name)
		if sec, opt, ok := strings.Cut(name, "/"); ok {
			key = sec + "/" + strings.ToLower(opt)
		}
		v, ok, err := fr.c.get("Definition", key, pOpts)
		if err != nil || !ok {
			cache[name] = nil
			return value{}, false
		}
		cache[name] = &v
		return v, true
	}
	return substituteTags(combined, addrepl)
}

var tagRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`<([^ <>]+)>`) })

// maxValue bounds a value grown by tags that name each other twice over.
const maxValue = 1 << 20

// maxTagReplace bounds how often one tag is replaced within one value.
const maxTagReplace = 10

// substituteTags replaces <name> by the value of option name within every
// value, until nothing changes; tags that name no option stay (<HOST> and
// the other regex tags). A definition that refers to itself is an error.
func substituteTags(tags map[string]value, addrepl func(string) (value, bool)) (map[string]value, error) {
	ignore := map[string]bool{}
	for k := range tags {
		if i := strings.IndexByte(k, '?'); i > 0 {
			ignore[k[:i]] = true
		}
	}
	done := map[string]bool{}
	counts := map[string]map[string]int{}
	for round := 0; ; round++ {
		if round > 100 {
			return nil, fmt.Errorf("tags keep expanding (a loop between definitions?)")
		}
		again := false
		for tag, v := range tags {
			if ignore[tag] || done[tag] {
				continue
			}
			s := v.text
			orig := s
			rc := counts[tag]
			if rc == nil {
				rc = map[string]int{}
				counts[tag] = rc
			}
			from := 0
			for {
				m := tagRE().FindStringSubmatchIndex(s[from:])
				if m == nil {
					break
				}
				rtag := s[from+m[2] : from+m[3]]
				if ignore[rtag] {
					from += m[1]
					continue
				}
				if rtag == tag || rc[rtag] > maxTagReplace {
					return nil, fmt.Errorf("%s: option %s refers to itself through <%s>", v.where(), tag, rtag)
				}
				repl, ok := tags[rtag]
				if !ok {
					repl, ok = addrepl(rtag)
				}
				if !ok {
					from += m[1]
					continue
				}
				s = strings.ReplaceAll(s, "<"+rtag+">", repl.text)
				if len(s) > maxValue {
					return nil, fmt.Errorf("%s: option %s grows beyond %d bytes replacing <%s>", v.where(), tag, maxValue, rtag)
				}
				rc[rtag]++
				from += m[0]
			}
			if s != orig {
				if tagRE().MatchString(s) {
					again = true
				}
				v.text = s
				tags[tag] = v
			}
			if !strings.Contains(s, "<") {
				done[tag] = true
			}
		}
		if !again {
			return tags, nil
		}
	}
}

// optionRE splits "name[k=v, k2="v 2"]".
var (
	optionRE     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?s)^([^\[]+)(?:\[(.*)\])?\s*$`) })
	optionItemRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?s)^\s*([\w\-.]+)=(?:"([^"]*)"|'([^']*)'|([^,\]]*))\s*(?:,|\]\s*\[|$)`)
	})
)

// extractOptions reads fail2ban's name[k=v,...] syntax.
func extractOptions(s string) (string, map[string]string, error) {
	m := optionRE().FindStringSubmatch(s)
	if m == nil {
		return "", nil, fmt.Errorf("%q is not name[option=value, ...]", s)
	}
	opts := map[string]string{}
	rest := m[2]
	for strings.TrimSpace(strings.TrimLeft(rest, ", ")) != "" {
		rest = strings.TrimLeft(rest, ", \t\n")
		im := optionItemRE().FindStringSubmatch(rest)
		if im == nil {
			return "", nil, fmt.Errorf("option list %q: expected key=value at %q", m[2], rest)
		}
		v := im[2] + im[3] + im[4]
		opts[strings.TrimSpace(im[1])] = strings.TrimSpace(v)
		rest = rest[len(im[0]):]
	}
	return strings.TrimSpace(m[1]), opts, nil
}

// splitActions splits a jail's action value into its actions: words
// separated by blanks or new lines, a [...] option list (with quoted
// values) belonging to the word before it.
func splitActions(s string) []string {
	var out []string
	var cur strings.Builder
	depth := 0
	var quote byte
	flush := func() {
		if t := strings.TrimSpace(cur.String()); t != "" {
			out = append(out, t)
		}
		cur.Reset()
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case depth > 0 && (c == '"' || c == '\''):
			quote = c
		case c == '[':
			depth++
		case c == ']' && depth > 0:
			depth--
		case depth == 0 && (c == ' ' || c == '\t' || c == '\n'):
			// A blank before "[" still belongs to the word.
			j := i
			for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
				j++
			}
			if j < len(s) && s[j] == '[' {
				i = j - 1
				continue
			}
			flush()
			continue
		}
		cur.WriteByte(c)
	}
	flush()
	return out
}
