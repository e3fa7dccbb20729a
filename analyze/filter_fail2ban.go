package analyze

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fail2banSpec is a filter written in fail2ban's terms: what a filter.d
// file resolves to, or a logjail filter mapping with style: fail2ban.
//
// Its semantics are fail2ban's: the line's date is found and cut out
// (leaving the text around it, so a leading date leaves a leading space);
// the prefregex, when set, must match, and its <F-CONTENT> becomes the
// text the failregexes see; the failregexes are searched (not anchored)
// in order and the first that matches decides; an ignoreregex that
// matches the same text turns it into no failure. The failure's address
// is the first of the groups ip4, ip6, dns, fid that is set; <F-MLFID>
// ties the lines of one connection together (<F-NOFAIL>, <F-MLFFORGET>,
// <F-MLFGAINED>), and alt_NAME groups stand in for NAME.
//
// Everything runs on Go's RE2: linear in the line's length whatever the
// line holds. A regex that needs backtracking is refused (UnsupportedError)
// rather than run on a slower engine.
type Fail2banSpec struct {
	Name        string
	PrefRegex   string
	FailRegex   []string
	IgnoreRegex []string
	// DatePattern is fail2ban's datepattern: % codes, {^LN-BEG}, EPOCH,
	// TAI64N; "" finds the date the way fail2ban's default templates do.
	DatePattern string
	// MaxLines > 1 searches the last MaxLines lines together, with ^ and $
	// matching at every line.
	MaxLines int
	// UseDNS "no" makes <HOST> match addresses only.
	UseDNS string
}

// RegexError is one regular expression of a fail2ban filter that cannot be
// used. Kind is prefregex, failregex, ignoreregex or datepattern; Index
// counts from 1 within its kind.
type RegexError struct {
	Filter string
	Kind   string
	Index  int
	Regex  string
	Err    error
}

func (e *RegexError) Error() string {
	return fmt.Sprintf("filter %s: %s %d: %v", e.Filter, e.Kind, e.Index, e.Err)
}

func (e *RegexError) Unwrap() error { return e.Err }

// f2bRegex is one compiled expression with what its groups mean.
type f2bRegex struct {
	re    *regexp.Regexp
	names []string // SubexpNames
	alt   [][2]int // alt_NAME group index, index into names of NAME's name ("" when absent)
	alts  []string // the names alt groups stand in for
}

func newF2BRegex(re *regexp.Regexp, names []string) *f2bRegex {
	r := &f2bRegex{re: re, names: names}
	for i, n := range r.names {
		if rest, ok := strings.CutPrefix(n, "alt_"); ok && rest != "" {
			// alt_user_2 stands in for user.
			if k := strings.LastIndexByte(rest, '_'); k > 0 {
				if _, err := strconv.Atoi(rest[k+1:]); err == nil {
					rest = rest[:k]
				}
			}
			r.alt = append(r.alt, [2]int{i, len(r.alts)})
			r.alts = append(r.alts, f2bGroupName(strings.ToUpper(rest)))
		}
	}
	return r
}

// groups stores the named groups of a match into g: a group that took
// part is set (possibly to ""), one that did not is deleted, as Python's
// dict.update with None values leaves them for fail2ban.
func (r *f2bRegex) groups(g map[string]string, text []byte, sub []int) {
	for i := 1; i < len(r.names); i++ {
		n := r.names[i]
		if n == "" || strings.HasPrefix(n, "skiplines") {
			continue
		}
		if sub[2*i] < 0 {
			delete(g, n)
			continue
		}
		g[n] = string(text[sub[2*i]:sub[2*i+1]])
	}
	for _, a := range r.alt {
		v := g[r.names[a[0]]]
		if n := r.alts[a[1]]; v != "" && g[n] == "" {
			g[n] = v
		}
	}
}

// f2bFilter is a compiled Fail2banSpec.
type f2bFilter struct {
	name   string
	pref   *f2bRegex
	fail   []*f2bRegex
	ignore []*f2bRegex
	date   *datePattern // nil: fail2ban's default detection
	lines  int
	rules  []string
}

// NewFail2banFilter makes a filter with fail2ban's semantics. All the
// expressions that cannot be used are reported together, each a
// *RegexError. They are checked here (translated and parsed) and compiled
// when the filter first makes a Matcher: a run whose sources have no new
// line compiles none (fail2ban's date templates alone are some 40
// expressions).
func NewFail2banFilter(s Fail2banSpec) (*Filter, error) {
	if len(s.FailRegex) == 0 {
		return nil, fmt.Errorf("filter %s: no failregex", s.Name)
	}
	checked, err := buildFail2ban(s, false)
	if err != nil {
		return nil, err
	}
	compiled := sync.OnceValue(func() *f2bFilter {
		f, err := buildFail2ban(s, true)
		if err != nil {
			// Parsed without error, compiled with one: regexp.Compile
			// fails only where its parser does.
			panic(fmt.Sprintf("analyze: fail2ban filter %s checked, then failed to compile: %v", s.Name, err))
		}
		return f
	})
	return &Filter{
		Name:        s.Name,
		Rules:       checked.rules,
		Description: "fail2ban-style regular expressions",
		New:         func(string) Matcher { return compiled().newMatcher() },
	}, nil
}

// buildFail2ban translates the filter s and, with compile, compiles it;
// without, it only parses each expression, for its errors and its
// groups' names.
func buildFail2ban(s Fail2banSpec, compile bool) (*f2bFilter, error) {
	f := &f2bFilter{name: s.Name, lines: max(s.MaxLines, 1)}
	multi := f.lines > 1
	var errs []error
	compileOne := func(kind string, i int, src string) *f2bRegex {
		var re *regexp.Regexp
		var names []string
		var err error
		if compile {
			if re, err = compileF2B(src, s.UseDNS, multi); err == nil {
				names = re.SubexpNames()
			}
		} else {
			names, err = checkF2B(src, s.UseDNS, multi)
		}
		if err != nil {
			errs = append(errs, &RegexError{Filter: s.Name, Kind: kind, Index: i, Regex: src, Err: err})
			return nil
		}
		return newF2BRegex(re, names)
	}
	prefBad := false
	if strings.TrimSpace(s.PrefRegex) != "" {
		f.pref = compileOne("prefregex", 1, s.PrefRegex)
		prefBad = f.pref == nil
	}
	for i, src := range s.FailRegex {
		r := compileOne("failregex", i+1, src)
		if r != nil && !prefBad && !hasFailureID(r.names) && (f.pref == nil || !hasFailureID(f.pref.names)) {
			errs = append(errs, &RegexError{Filter: s.Name, Kind: "failregex", Index: i + 1, Regex: src,
				Err: errors.New("names no address or failure id (<HOST>, <ADDR>, <IP4>, <IP6>, <DNS>, <F-ID>, <F-MLFID>)")})
		}
		f.fail = append(f.fail, r)
		f.rules = append(f.rules, "failregex "+strconv.Itoa(i+1))
	}
	for i, src := range s.IgnoreRegex {
		f.ignore = append(f.ignore, compileOne("ignoreregex", i+1, src))
	}
	if s.DatePattern != "" {
		dp, err := datePatternOf(s.DatePattern, compile)
		if err != nil {
			errs = append(errs, &RegexError{Filter: s.Name, Kind: "datepattern", Index: 1, Regex: s.DatePattern, Err: err})
		}
		f.date = dp
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return f, nil
}

func hasFailureID(names []string) bool {
	for _, n := range names {
		switch n {
		case "fid", "ip4", "ip6", "dns", "mlfid":
			return true
		}
	}
	return false
}

// mlfCacheMax bounds the connections remembered by <F-MLFID>; mlfCacheAge
// is how long (in log time) one is remembered, as fail2ban's 5 minutes.
const (
	mlfCacheMax = 10000
	mlfCacheAge = 5 * time.Minute
)

type mlfEntry struct {
	seen  time.Time
	g     map[string]string
	users map[string]bool
}

type f2bMatcher struct {
	f        *f2bFilter
	buf      []string // the last lines (maxlines > 1), dates cut out
	text     []byte   // scratch for the searched text
	mlf      map[string]*mlfEntry
	lastTime time.Time
	haveTime bool
}

func (f *f2bFilter) newMatcher() *f2bMatcher {
	return &f2bMatcher{f: f, mlf: map[string]*mlfEntry{}}
}

// Match implements Matcher.
func (m *f2bMatcher) Match(dst []Failure, num int64, line []byte, tp *TimeParser) ([]Failure, Outcome) {
	t, s, e, ok := m.findDate(line, tp)
	switch {
	case ok && s == e:
		// A template that matched an empty date says the line has none
		// (a continuation line): it takes the last date, whole.
		if !m.haveTime {
			m.lastTime, m.haveTime = tp.Ref, true
		}
		t, s, e = m.lastTime, 0, 0
	case ok:
		m.lastTime, m.haveTime = t, true
	default:
		if !m.haveTime {
			m.lastTime, m.haveTime = tp.Ref, true
		}
		t, s, e = m.lastTime, 0, 0
	}
	m.text = append(append(m.text[:0], line[:s]...), line[e:]...)
	return m.process(dst, num, t)
}

// process runs the filter on m.text, the current line with its date cut.
func (m *f2bMatcher) process(dst []Failure, num int64, t time.Time) ([]Failure, Outcome) {
	f := m.f
	multi := f.lines > 1
	text := m.text
	var lines []string
	if multi {
		m.buf = append(m.buf, string(text))
		if len(m.buf) > f.lines {
			m.buf = m.buf[len(m.buf)-f.lines:]
		}
		lines = m.buf
		text = []byte(strings.Join(lines, "\n") + "\n")
	}
	// fail2ban looks at the ignoreregexes first when there are clearly
	// fewer of them than failregexes.
	if len(f.ignore) > 0 && len(f.ignore) < len(f.fail)-2 {
		for _, r := range f.ignore {
			if r.re.Match(text) {
				return dst, Ignored
			}
		}
	}
	var pre map[string]string
	if f.pref != nil {
		sub := f.pref.re.FindSubmatchIndex(text)
		if sub == nil {
			return dst, Missed
		}
		pre = map[string]string{}
		f.pref.groups(pre, text, sub)
		if c := pre["content"]; c != "" {
			text = []byte(c)
			if multi {
				m.buf = []string{c}
				lines = m.buf
				text = []byte(c + "\n")
			}
		}
		delete(pre, "content")
	}
	for i, r := range f.fail {
		sub := r.re.FindSubmatchIndex(text)
		if sub == nil {
			continue
		}
		searched := text
		var unmatched []string
		if multi {
			var matched []string
			matched, unmatched = splitMatched(lines, text, sub, r)
			searched = []byte(strings.Join(matched, "\n") + "\n")
		}
		for _, ig := range f.ignore {
			if ig.re.Match(searched) {
				if multi {
					m.buf = unmatched
				}
				return dst, Ignored
			}
		}
		if multi {
			m.buf = unmatched
		}
		g := make(map[string]string, len(pre)+4)
		for k, v := range pre {
			g[k] = v
		}
		r.groups(g, text, sub)
		mlfid, hasMLF := g["mlfid"]
		if hasMLF {
			g = m.merge(mlfid, g, t)
			if g["nofail"] != "" {
				return dst, Ignored
			}
		}
		fl, ok := failureOf(g)
		if !ok {
			// A line of a connection whose address comes later: wait.
			g["mlfpending"] = "1"
			return dst, Ignored
		}
		fl.Line, fl.Time, fl.Rule = num, t, f.rules[i]
		return append(dst, fl), Matched
	}
	return dst, Missed
}

// failureOf takes the failure's address from the groups, in fail2ban's
// order: ip4, ip6, dns, then the failure id.
func failureOf(g map[string]string) (Failure, bool) {
	fl := Failure{User: userString([]byte(g["user"]))}
	var id string
	switch {
	case hasKey(g, "ip4"):
		id = g["ip4"]
	case hasKey(g, "ip6"):
		id = g["ip6"]
	case hasKey(g, "dns"):
		id = g["dns"]
	case hasKey(g, "fid"):
		id = g["fid"]
	default:
		return fl, false
	}
	if a, ok := ParseAddr([]byte(strings.Trim(id, "[]"))); ok {
		fl.Addr = a
	} else {
		fl.Host = id
	}
	return fl, true
}

func hasKey(g map[string]string, k string) bool {
	_, ok := g[k]
	return ok
}

// merge joins a line's groups with those remembered for its connection
// (<F-MLFID>), the way fail2ban does: the newest values win, <F-NOFAIL>
// marks a line that is no failure by itself, <F-MLFGAINED> a connection
// that succeeded (forgetting what was pending), <F-MLFFORGET> its end; a
// second user name tried on the connection undoes a no-fail.
func (m *f2bMatcher) merge(id string, g map[string]string, t time.Time) map[string]string {
	gained := g["mlfgained"] != ""
	if gained && g["nofail"] == "" {
		g["nofail"] = g["mlfgained"]
	}
	forget := g["mlfforget"] != ""
	delete(g, "mlfforget")
	var users map[string]bool
	e := m.mlf[id]
	if e != nil && t.Sub(e.seen) > mlfCacheAge {
		delete(m.mlf, id)
		e = nil
	}
	if e != nil {
		cg := e.g
		if u := g["user"]; u != "" {
			e.users[u] = true
		}
		users = e.users
		// Only the newest line says whether the connection is a no-fail.
		delete(cg, "nofail")
		delete(cg, "mlfgained")
		if gained {
			delete(cg, "mlfpending")
		}
		for k, v := range g {
			cg[k] = v
		}
		g = cg
		e.seen = t
		if forget {
			delete(m.mlf, id)
		}
	} else if !forget {
		users = map[string]bool{}
		if u := g["user"]; u != "" {
			users[u] = true
		}
		m.remember(id, &mlfEntry{seen: t, g: g, users: users})
	}
	pending := g["mlfpending"] != ""
	delete(g, "mlfpending")
	if pending || len(users) > 1 {
		delete(g, "nofail")
		delete(g, "mlfgained")
	}
	return g
}

// remember stores a connection, making room by dropping the stale ones
// (and, when all are fresh, an arbitrary one) at the bound.
func (m *f2bMatcher) remember(id string, e *mlfEntry) {
	if len(m.mlf) >= mlfCacheMax {
		for k, old := range m.mlf {
			if e.seen.Sub(old.seen) > mlfCacheAge {
				delete(m.mlf, k)
			}
		}
		for k := range m.mlf {
			if len(m.mlf) < mlfCacheMax {
				break
			}
			delete(m.mlf, k)
		}
	}
	m.mlf[id] = e
}

// splitMatched divides the buffered lines into those the match covers and
// the others (which stay buffered); lines taken by <SKIPLINES> count as
// not matched.
func splitMatched(lines []string, text []byte, sub []int, r *f2bRegex) (matched, unmatched []string) {
	start, end := sub[0], sub[1]
	ls := bytes.LastIndexByte(text[:min(start+1, len(text))], '\n') + 1
	le := len(text)
	if k := bytes.IndexByte(text[max(end-1, 0):], '\n'); k >= 0 {
		le = max(end-1, 0) + k + 1
	}
	c1 := bytes.Count(text[:ls], []byte{'\n'})
	c2 := bytes.Count(text[:le], []byte{'\n'})
	c1, c2 = min(c1, len(lines)), min(c2, len(lines))
	matched = append([]string(nil), lines[c1:c2]...)
	unmatched = append([]string(nil), lines[:c1]...)
	for i, n := range r.names {
		if !strings.HasPrefix(n, "skiplines") || sub[2*i] < 0 {
			continue
		}
		for _, sk := range strings.Split(strings.TrimSuffix(string(text[sub[2*i]:sub[2*i+1]]), "\n"), "\n") {
			for j, ml := range matched {
				if ml == sk {
					unmatched = append(unmatched, ml)
					matched = append(matched[:j], matched[j+1:]...)
					break
				}
			}
		}
	}
	return matched, append(unmatched, lines[c2:]...)
}
