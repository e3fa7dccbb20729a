package analyze

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"sync"
	"time"
)

// This file finds the date in a line for fail2ban-style filters: either
// the way fail2ban's default templates do (the templates of defaultPatterns,
// at the start of the line or after any non-word character; inside
// brackets only the date is cut, so "[]" stays for the regexes that expect
// it), or with a filter's datepattern translated to a Go expression.

// findDate returns the line's time and the span [s, e) to cut out.
func (m *f2bMatcher) findDate(line []byte, tp *TimeParser) (t time.Time, s, e int, ok bool) {
	p := m.f.date
	if p == nil {
		p = defaultDates()
	}
	return p.find(line, tp)
}

// defaultPatterns are the date formats fail2ban looks for when a filter
// names none, most specific first (the formats are fail2ban's; the
// patterns are written here with this file's codes). Each is tried
// anchored at the start of the line first, then anywhere at a word start.
var defaultPatterns = []string{
	`%ExY(?P<_sep>[-/.])%m(?P=_sep)%d(?:T|  ?)%H:%M:%S(?:[.,]%f)?(?:\s*%z)?`, // ISO 8601 and kin
	`(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?`,                              // syslog, asctime
	`(?:%a )?%b %d %ExY %k:%M:%S(?:\.%f)?`,                                   // year after the day
	`%d(?P<_sep>[-/])%m(?P=_sep)(?:%ExY|%Exy) %k:%M:%S`,                      // 23/01/2005 21:59:59
	`%d(?P<_sep>[-/])%b(?P=_sep)%ExY[ :]?%H:%M:%S(?:\.%f)?(?: %z)?`,          // Apache access log
	`%m/%d/%ExY:%H:%M:%S`,                                                    // cPanel
	`%m-%d-%ExY %k:%M:%S(?:\.%f)?`,                                           // 01-27-2012 16:22:44
	`EPOCH`,
	`{^LN-BEG}%H:%M:%S`, // a time only
	`^<%m/%d/%Exy@%H:%M:%S>`,
	`%Exy%Exm%Exd  ?%H:%M:%S`,                                // MySQL
	`%b %d, %ExY %I:%M:%S %p`,                                // Tomcat
	`^%b-%d-%Exy %k:%M:%S`,                                   // ASSP
	`%ExY%Exm%Exd(?:T|  ?)%ExH%ExM%ExS(?:[.,]%f)?(?:\s*%z)?`, // basic ISO 8601
	`(?:%Z )?(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?`,      // monit
	`(?:%z )?(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?`,
	`TAI64N`,
}

var (
	defaultOnce sync.Once
	defaultPat  *datePattern
)

// defaultDates compiles defaultPatterns once: every one anchored at the
// line's start first, then as written.
func defaultDates() *datePattern {
	defaultOnce.Do(func() {
		p := &datePattern{}
		for _, anchored := range []bool{true, false} {
			for _, s := range defaultPatterns {
				if anchored && (strings.HasPrefix(s, "^") || strings.HasPrefix(s, "{^LN-BEG}")) {
					continue
				}
				if anchored {
					s = "{^LN-BEG}" + s
				}
				ts, err := parseDateTemplate(s)
				if err != nil {
					panic("analyze: default date pattern " + s + ": " + err.Error())
				}
				p.tpl = append(p.tpl, ts...)
			}
		}
		defaultPat = p
	})
	return defaultPat
}

// datePattern is a translated datepattern: templates tried in order.
type datePattern struct {
	tpl []dateTemplate
}

type dateKind uint8

const (
	dateCodes  dateKind = iota // % codes
	dateEpoch                  // seconds since 1970, optional fraction
	dateLEpoch                 // milliseconds since 1970
	dateTAI64N                 // @ and 24 hex digits
)

// dateTemplate is one compiled template: re's group "date" is cut.
type dateTemplate struct {
	kind dateKind
	re   *regexp.Regexp
	idx  map[string][]int
}

// find tries each template; the first that finds a date decides.
func (p *datePattern) find(line []byte, tp *TimeParser) (time.Time, int, int, bool) {
	for i := range p.tpl {
		if t, s, e, ok := p.tpl[i].find(line, tp); ok {
			return t, s, e, true
		}
	}
	return time.Time{}, 0, 0, false
}

func (d *dateTemplate) find(line []byte, tp *TimeParser) (time.Time, int, int, bool) {
	// Most templates do not match a given line: Match tells without
	// tracking (and allocating) the groups.
	if !d.re.Match(line) {
		return time.Time{}, 0, 0, false
	}
	sub := d.re.FindSubmatchIndex(line)
	if sub == nil {
		return time.Time{}, 0, 0, false
	}
	s, e := -1, -1
	for _, di := range d.idx["date"] {
		if sub[2*di] >= 0 {
			s, e = sub[2*di], sub[2*di+1]
			break
		}
	}
	switch d.kind {
	case dateEpoch, dateLEpoch:
		t := epochTime(string(line[s:e]), d.kind == dateLEpoch)
		return t.In(tp.loc()), s, e, true
	case dateTAI64N:
		return tai64nTime(string(line[s+1 : e])).In(tp.loc()), s, e, true
	}
	field := func(name string) (string, bool) {
		for _, i := range d.idx[name] {
			if sub[2*i] >= 0 {
				return string(line[sub[2*i]:sub[2*i+1]]), true
			}
		}
		return "", false
	}
	t, ok := convertFields(field, tp)
	if !ok {
		return time.Time{}, 0, 0, false
	}
	return t, s, e, true
}

// convertFields builds the time from the named fields.
func convertFields(field func(string) (string, bool), tp *TimeParser) (time.Time, bool) {
	var s stamp
	ref := tp.Ref.In(tp.loc())
	atoi := func(k string) (int, bool) {
		v, ok := field(k)
		if !ok {
			return 0, false
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		return n, err == nil
	}
	if y, ok := atoi("Y"); ok {
		s.year, s.hasYear = y, true
	} else if y, ok := atoi("y"); ok {
		s.year, s.hasYear = 2000+y, true
	}
	s.mon, s.day = int(ref.Month()), ref.Day()
	_, hasDay := field("d")
	if !s.hasYear && !hasDay {
		s.year, s.hasYear = ref.Year(), true
	}
	if v, ok := atoi("m"); ok {
		s.mon = v
	} else if v, ok := field("b"); ok {
		if s.mon, ok = month([]byte(strings.ToUpper(v[:1])+strings.ToLower(v[1:])), 0); !ok {
			return time.Time{}, false
		}
	}
	if v, ok := atoi("d"); ok {
		s.day = v
	}
	s.hour, _ = atoi("H")
	if h, ok := atoi("I"); ok {
		s.hour = h % 12
		if p, _ := field("p"); strings.EqualFold(p, "PM") {
			s.hour += 12
		}
	}
	s.min, _ = atoi("M")
	s.sec, _ = atoi("S")
	if f, ok := field("f"); ok {
		f = (f + "000000000")[:9]
		s.nsec, _ = strconv.Atoi(f)
	}
	if z, ok := field("z"); ok {
		switch z {
		case "Z", "UTC", "GMT":
			s.hasZone = true
		default:
			if n := zone([]byte(z), 0, &s); n == 0 {
				return time.Time{}, false
			}
		}
	}
	if z, ok := field("Z"); ok {
		if off, known := zoneAbbr[strings.ToUpper(z)]; known {
			s.off, s.hasZone = off*60, true
		}
	}
	if s.hasZone && !s.hasYear {
		// convert takes the year as written when a zone is: choose it
		// as for any date without one, at most a day after Ref.
		s.year, s.hasYear = ref.Year(), true
		if t, ok := tp.convert(&s); ok && t.After(tp.Ref.Add(24*time.Hour)) {
			s.year--
		}
	}
	t, ok := tp.convert(&s)
	if ok && !hasDay && t.After(tp.Ref) {
		// A time without a date is today's, or yesterday's when today's
		// lies ahead.
		t = t.AddDate(0, 0, -1)
	}
	return t, ok
}

// zoneAbbr are the offsets (minutes east of UTC) of the zone
// abbreviations logs commonly carry; others are read as local time.
var zoneAbbr = map[string]int{
	"Z": 0, "UTC": 0, "GMT": 0, "UT": 0, "WET": 0, "WEST": 60, "BST": 60,
	"CET": 60, "CEST": 120, "MET": 60, "MEST": 120, "EET": 120, "EEST": 180, "MSK": 180,
	"EST": -300, "EDT": -240, "CST": -360, "CDT": -300, "MST": -420, "MDT": -360,
	"PST": -480, "PDT": -420, "AKST": -540, "AKDT": -480, "HST": -600,
	"JST": 540, "KST": 540, "IST": 330, "AEST": 600, "AEDT": 660, "NZST": 720, "NZDT": 780,
}

// datePatternCodes are the patterns of the % codes (after %Ex, the
// stricter forms); the names of their groups say which field they fill.
// Written from strftime's definitions, with fail2ban's widths.
var datePatternCodes = map[string]string{
	"Y":   `(?P<Y>[0-9]{4})`,
	"ExY": `(?P<Y>(?:19|20)[0-9]{2})`,
	"y":   `(?P<y>[0-9]{2})`,
	"Exy": `(?P<y>[0-9]{2})`,
	"m":   `(?P<m>0?[1-9]|1[0-2])`,
	"Exm": `(?P<m>0[1-9]|1[0-2])`,
	"d":   `(?P<d>[12][0-9]|[0 ]?[1-9]|3[01])`,
	"Exd": `(?P<d>[12][0-9]|0[1-9]|3[01])`,
	"e":   `(?P<d>[12][0-9]|[0 ]?[1-9]|3[01])`,
	"H":   `(?P<H>[01]?[0-9]|2[0-3])`,
	"ExH": `(?P<H>[01][0-9]|2[0-3])`,
	"k":   ` ?(?P<H>[0-2]?[0-9])`,
	"Exk": ` ?(?P<H>[01]?[0-9]|2[0-3])`,
	"I":   `(?P<I>1[0-2]|0?[1-9])`,
	"l":   ` ?(?P<I>1?[0-9])`,
	"Exl": ` ?(?P<I>1[0-2]|[0-9])`,
	"M":   `(?P<M>[0-5]?[0-9])`,
	"ExM": `(?P<M>[0-5][0-9])`,
	"S":   `(?P<S>[0-5]?[0-9]|6[01])`,
	"ExS": `(?P<S>[0-5][0-9]|6[01])`,
	"f":   `(?P<f>[0-9]{1,6})`,
	"p":   `(?P<p>(?i:am|pm))`,
	"b":   `(?P<b>(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))`,
	"B":   `(?P<b>(?i:january|february|march|april|may|june|july|august|september|october|november|december))`,
	"h":   `(?P<b>(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))`,
	"a":   `(?i:mon|tue|wed|thu|fri|sat|sun)`,
	"A":   `(?i:monday|tuesday|wednesday|thursday|friday|saturday|sunday)`,
	"z":   `(?P<z>Z|UTC|GMT|[+-][01][0-9](?::?[0-9]{2})?)`,
	"Z":   `(?P<Z>Z|[A-Z]{3,5})`,
	"%":   `%`,
}

const (
	nonWord    = `[^\p{L}\p{N}_]`
	lineBegin  = `^(?:` + nonWord + `{0,2})?`
	epochDigit = `[0-9]{10,11}`
)

// parseDatePattern translates fail2ban's datepattern: one template a line,
// % codes (%Ex forms too), {^LN-BEG}, {DATE}, EPOCH, LEPOCH, TAI64N. What
// it does not understand is an error naming it.
func parseDatePattern(src string) (*datePattern, error) {
	return datePatternOf(src, true)
}

// datePatternOf is parseDatePattern; without compile it only checks the
// templates (its result then holds none).
func datePatternOf(src string, compile bool) (*datePattern, error) {
	p := &datePattern{}
	for _, ln := range strings.Split(src, "\n") {
		ln = strings.TrimSpace(ln)
		if ln == "" {
			continue
		}
		ts, err := dateTemplates(ln, compile)
		if err != nil {
			return nil, fmt.Errorf("datepattern %q: %w", ln, err)
		}
		p.tpl = append(p.tpl, ts...)
	}
	if len(p.tpl) == 0 {
		return nil, nil
	}
	return p, nil
}

// parseDateTemplate compiles one template line; a (?P<_sep>[...]) group
// referred to again by (?P=_sep) becomes one template per separator.
func parseDateTemplate(ln string) ([]dateTemplate, error) { return dateTemplates(ln, true) }

// dateTemplates is parseDateTemplate; without compile it only checks the
// line: each regular expression is parsed, not compiled, and the
// templates returned hold none.
func dateTemplates(ln string, compile bool) ([]dateTemplate, error) {
	body, lnBeg := strings.CutPrefix(ln, "{^LN-BEG}")
	switch strings.ToUpper(body) {
	case "":
		if !compile {
			return nil, nil // the default formats: defaultDates compiles them all
		}
		// The default formats, at the start of the line.
		var ts []dateTemplate
		for _, s := range defaultPatterns {
			if !strings.HasPrefix(s, "^") && !strings.HasPrefix(s, "{^LN-BEG}") {
				s = "{^LN-BEG}" + s
			}
			t, err := dateTemplates(s, compile)
			if err != nil {
				return nil, err
			}
			ts = append(ts, t...)
		}
		return ts, nil
	case "EPOCH", "LEPOCH", "{EPOCH}", "{LEPOCH}":
		kind, digits := dateEpoch, epochDigit+`(?:\.[0-9]{3,6})?`
		if strings.Contains(strings.ToUpper(body), "LEPOCH") {
			kind, digits = dateLEpoch, `[0-9]{13}`
		}
		re := `^\[?(?P<date>` + digits + `)(?:\]|` + nonWord + `|$)`
		if !lnBeg {
			re = `(?:^\[?|audit\()(?P<date>` + digits + `)(?:\]|:[0-9]+\)|` + nonWord + `|$)`
		}
		if !compile {
			return []dateTemplate{{kind: kind}}, nil
		}
		return []dateTemplate{{kind: kind, re: regexp.MustCompile(re), idx: map[string][]int{"date": {1}}}}, nil
	case "TAI64N":
		re := `(?P<date>@[0-9a-f]{24})`
		if lnBeg {
			re = lineBegin + re
		}
		if !compile {
			return []dateTemplate{{kind: dateTAI64N}}, nil
		}
		return []dateTemplate{{kind: dateTAI64N, re: regexp.MustCompile(re), idx: map[string][]int{"date": {1}}}}, nil
	}
	if before, after, ok := strings.Cut(body, "{DATE}"); ok {
		// Every default format in the place of {DATE}.
		var ts []dateTemplate
		for _, s := range defaultPatterns {
			s = strings.TrimPrefix(strings.TrimPrefix(s, "{^LN-BEG}"), "^")
			if s == "EPOCH" || s == "TAI64N" {
				continue
			}
			t, err := dateTemplates(before+s+after, compile)
			if err != nil {
				return nil, err
			}
			ts = append(ts, t...)
		}
		return ts, nil
	}
	const sepOpen = "(?P<_sep>["
	if i := strings.Index(body, sepOpen); i >= 0 {
		j := strings.Index(body[i:], "])")
		if j < 0 || !strings.Contains(body, "(?P=_sep)") {
			return nil, fmt.Errorf("the _sep group is not understood")
		}
		chars := body[i+len(sepOpen) : i+j]
		var ts []dateTemplate
		for _, c := range chars {
			lit := regexp.QuoteMeta(string(c))
			b := body[:i] + lit + body[i+j+2:]
			b = strings.ReplaceAll(b, "(?P=_sep)", lit)
			if lnBeg {
				b = "{^LN-BEG}" + b
			}
			t, err := dateTemplates(b, compile)
			if err != nil {
				return nil, err
			}
			ts = append(ts, t...)
		}
		return ts, nil
	}
	// ** at either end switches off the word boundary there.
	wordBegin, wordEnd := !lnBeg, true
	if b, ok := strings.CutPrefix(body, "**"); ok {
		body, wordBegin = b, false
	}
	if b, ok := strings.CutSuffix(body, "**"); ok {
		body, wordEnd = b, false
	}
	if strings.HasPrefix(body, "^") || strings.HasPrefix(body, "(^") {
		wordBegin = false
	}
	if strings.HasSuffix(body, "$") || strings.HasSuffix(body, `\b`) || strings.HasSuffix(body, `\s`) {
		wordEnd = false
	}
	var b strings.Builder
	hasGroup := false
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '%' && i+1 < len(body):
			code := body[i+1 : i+2]
			if code == "E" && i+3 < len(body) && body[i+2] == 'x' {
				code = body[i+1 : i+4]
			}
			pat, ok := datePatternCodes[code]
			if !ok {
				return nil, fmt.Errorf("%%%s is not understood", code)
			}
			b.WriteString(pat)
			i += len(code)
		case c == '\\' && i+1 < len(body):
			b.WriteString(body[i : i+2])
			i++
		case c == '(' && (i+1 >= len(body) || body[i+1] != '?') && !hasGroup:
			b.WriteString("(?P<date>")
			hasGroup = true
		case c == '{' && i+1 < len(body) && (body[i+1] == '^' || body[i+1] >= 'A' && body[i+1] <= 'Z'):
			return nil, fmt.Errorf("%s is not understood", body[i:])
		default:
			b.WriteByte(c)
		}
	}
	s := b.String()
	if !hasGroup {
		s = "(?P<date>" + s + ")"
	}
	switch {
	case lnBeg:
		s = lineBegin + s
	case wordBegin:
		s = `(?:^|\b|` + nonWord + `)` + s
	}
	if wordEnd {
		s += `(?:\b|$|` + nonWord + `)`
	}
	if strings.Contains(body, "%a") || strings.Contains(body, "%A") || strings.Contains(body, "%b") ||
		strings.Contains(body, "%B") || strings.Contains(body, "%p") {
		s = "(?i)" + s
	}
	g, err := translatePython(s)
	if err != nil {
		return nil, err
	}
	if !compile {
		if _, err := syntax.Parse(g, syntax.Perl); err != nil {
			return nil, fmt.Errorf("does not compile in Go: %w", err)
		}
		return []dateTemplate{{kind: dateCodes}}, nil
	}
	re, err := regexp.Compile(g)
	if err != nil {
		return nil, fmt.Errorf("does not compile in Go: %w", err)
	}
	d := dateTemplate{kind: dateCodes, re: re, idx: map[string][]int{}}
	for i, n := range re.SubexpNames() {
		if n != "" {
			d.idx[n] = append(d.idx[n], i)
		}
	}
	return []dateTemplate{d}, nil
}

// epochTime reads seconds since 1970 with an optional fraction, or
// milliseconds.
func epochTime(s string, milli bool) time.Time {
	if milli {
		n, _ := strconv.ParseInt(s, 10, 64)
		return time.UnixMilli(n)
	}
	sec, frac, _ := strings.Cut(s, ".")
	n, _ := strconv.ParseInt(sec, 10, 64)
	ns := 0
	if frac != "" {
		ns, _ = strconv.Atoi((frac + "000000000")[:9])
	}
	return time.Unix(n, int64(ns))
}

// tai64nTime reads the 24 hex digits of a TAI64N label: 2^62 plus the
// seconds, then nanoseconds. Like fail2ban, the seconds are taken as Unix
// seconds (TAI's 10 s and leap seconds are not subtracted) and the
// nanoseconds are dropped.
func tai64nTime(h string) time.Time {
	sec, _ := strconv.ParseUint(h[:16], 16, 64)
	return time.Unix(int64(sec&(1<<62-1)), 0)
}
