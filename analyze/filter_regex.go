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

// hostPattern is what <HOST> stands for: a bracketed or bare address, with
// an optional port, or a host name. What it captures is checked again by
// hostOf, so the pattern only has to find the right span.
const hostPattern = `(?P<host>\[[0-9A-Fa-f:.]+\](?::\d+)?|[0-9A-Fa-f:.]*[0-9A-Fa-f](?::\d+)?|[A-Za-z0-9_][A-Za-z0-9_.-]*)`

// userPattern is what <USER> stands for.
const userPattern = `(?P<user>\S*)`

// NewRegexFilter builds a filter from fail2ban-style lists of Go regular
// expressions. Each failregex must contain <HOST> once and may contain
// <USER> once. They are matched against the message after the syslog header
// (or, for lines that are not syslog, after the leading timestamp), anchored
// at its start. A line in which an ignoreregex matches anywhere is ignored.
// The expressions are checked here (parsed: regexp.Compile fails only
// where its parser does) and compiled when the filter first makes a
// Matcher: a run whose sources have no new line compiles none.
func NewRegexFilter(name string, failregex, ignoreregex []string) (*Filter, error) {
	if len(failregex) == 0 {
		return nil, fmt.Errorf("filter %s: no failregex", name)
	}
	rules := make([]string, len(failregex))
	for i, src := range failregex {
		if n := strings.Count(src, "<HOST>"); n != 1 {
			return nil, fmt.Errorf("filter %s: failregex %d %q: must contain <HOST> exactly once, found %d", name, i+1, src, n)
		}
		if strings.Count(src, "<USER>") > 1 {
			return nil, fmt.Errorf("filter %s: failregex %d %q: <USER> may appear once", name, i+1, src)
		}
		if err := parseError(anchored(src), src); err != nil {
			return nil, fmt.Errorf("filter %s: failregex %d %q: %w", name, i+1, src, err)
		}
		rules[i] = "failregex " + strconv.Itoa(i+1)
	}
	for i, src := range ignoreregex {
		if _, err := syntax.Parse(src, syntax.Perl); err != nil {
			return nil, fmt.Errorf("filter %s: ignoreregex %d %q: %w", name, i+1, src, err)
		}
	}
	compiled := sync.OnceValue(func() *regexFilter {
		rf := &regexFilter{rules: rules}
		for _, src := range failregex {
			re := regexp.MustCompile(anchored(src)) // checked above
			rf.fail = append(rf.fail, re)
			rf.host = append(rf.host, re.SubexpIndex("host"))
			rf.user = append(rf.user, re.SubexpIndex("user"))
		}
		for _, src := range ignoreregex {
			rf.ignore = append(rf.ignore, regexp.MustCompile(src))
		}
		return rf
	})
	return &Filter{
		Name:        name,
		Rules:       rules,
		Description: "custom regular expressions",
		New: func(string) Matcher {
			m := *compiled()
			return &m
		},
	}, nil
}

// anchored is the expression a failregex src stands for: its tags
// replaced, anchored at the start of the message.
func anchored(src string) string {
	s := strings.ReplaceAll(src, "<HOST>", hostPattern)
	s = strings.ReplaceAll(s, "<USER>", userPattern)
	s = strings.TrimPrefix(s, "^")
	return "^(?:" + s + ")"
}

// parseError is the error compiling expr would give, nil if none; one in
// src, the user's own text the expression was made from, is reported
// against it.
func parseError(expr, src string) error {
	_, err := syntax.Parse(expr, syntax.Perl)
	if err == nil {
		return nil
	}
	if _, err2 := syntax.Parse(src, syntax.Perl); err2 != nil {
		return err2
	}
	return err
}

type regexFilter struct {
	fail, ignore []*regexp.Regexp
	host, user   []int
	rules        []string
	h            Header
}

func (m *regexFilter) Match(dst []Failure, num int64, line []byte, tp *TimeParser) ([]Failure, Outcome) {
	var texts [2][]byte
	repeat := 1
	if tp.Syslog(line, &m.h) {
		texts[0], repeat = m.h.Msg, m.h.Repeat
	}
	t, n, ok := tp.Parse(line)
	if ok {
		rest := line[n:]
		for len(rest) > 0 && rest[0] == ' ' {
			rest = rest[1:]
		}
		texts[1] = rest
	} else if t, ok = clfAnywhere(line, tp); ok {
		texts[1] = line
	} else {
		return dst, Missed
	}
	if texts[0] != nil {
		t = m.h.Time
	}
	for _, text := range texts {
		if text == nil {
			continue
		}
		for _, re := range m.ignore {
			if re.Match(text) {
				return dst, Ignored
			}
		}
		for i, re := range m.fail {
			sub := re.FindSubmatchIndex(text)
			if sub == nil {
				continue
			}
			hs, he := sub[2*m.host[i]], sub[2*m.host[i]+1]
			addr, name, ok := hostOf(text[hs:he])
			if !ok {
				continue
			}
			user := ""
			if u := m.user[i]; u >= 0 && sub[2*u] >= 0 {
				user = userString(text[sub[2*u]:sub[2*u+1]])
			}
			for k := 0; k < repeat; k++ {
				dst = append(dst, Failure{Line: num, Time: t, Addr: addr, Host: name, User: user, Rule: m.rules[i]})
			}
			return dst, Matched
		}
	}
	return dst, Missed
}

// clfAnywhere finds an access-log time "[10/Oct/2000:13:55:36 -0700]" in
// the line.
func clfAnywhere(line []byte, tp *TimeParser) (t time.Time, ok bool) {
	for i := 0; i+1 < len(line); i++ {
		if line[i] == '[' && isDigit(line[i+1]) {
			if t, _, ok = tp.ParseCLF(line[i+1:]); ok {
				return t, true
			}
		}
	}
	return t, false
}
