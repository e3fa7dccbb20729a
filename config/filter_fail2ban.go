package config

import (
	"errors"
	"strconv"

	"gopkg.in/yaml.v3"

	"logjail/analyze"
)

// StyleFail2ban is the filter mapping's style: for expressions written for
// fail2ban (see analyze.Fail2banSpec).
const StyleFail2ban = "fail2ban"

// filterStyle reads the style: of a filter mapping first, whatever the
// keys' order, since it decides how the expressions are read.
func (p *parser) filterStyle(where string, kvs []pair, fs *filterSpec) bool {
	for _, kv := range kvs {
		if kv.k.Value != "style" {
			continue
		}
		s, ok := p.word(where+"filter.", "style", kv.v, "logjail", StyleFail2ban)
		if !ok {
			return false
		}
		if s == StyleFail2ban {
			fs.f2b = &analyze.Fail2banSpec{}
		}
	}
	return true
}

// fail2banKey reads the keys only a style: fail2ban filter has.
func (p *parser) fail2banKey(where string, k, v *yaml.Node, fs *filterSpec) bool {
	if k.Value == "style" {
		return true
	}
	if fs.f2b == nil {
		p.errorf(k, "%sfilter.%s needs style: fail2ban", where, k.Value)
		return false
	}
	var ok bool
	switch k.Value {
	case "prefregex":
		fs.f2b.PrefRegex, ok = p.str(where+"filter.", k.Value, v)
	case "datepattern":
		fs.f2b.DatePattern, ok = p.str(where+"filter.", k.Value, v)
	case "maxlines":
		fs.f2b.MaxLines, ok = p.integer(where+"filter.", k.Value, v)
		if ok && (fs.f2b.MaxLines < 1 || fs.f2b.MaxLines > 100) {
			p.errorf(v, "%sfilter.maxlines must be 1 to 100, got %d", where, fs.f2b.MaxLines)
			ok = false
		}
	}
	return ok
}

// fail2banDone checks a style: fail2ban filter's expressions, each error
// at the filter's line.
func (p *parser) fail2banDone(where string, v *yaml.Node, fs *filterSpec) bool {
	if fs.f2b == nil || len(fs.fail) == 0 {
		return true
	}
	spec := *fs.f2b
	spec.Name, spec.FailRegex, spec.IgnoreRegex = "", fs.fail, fs.ignore
	_, err := analyze.NewFail2banFilter(spec)
	if err == nil {
		return true
	}
	for _, e := range unjoin(err) {
		var re *analyze.RegexError
		if errors.As(e, &re) {
			p.wrapf(v, e, "%sfilter.%s %d: %v (rewrite it without that construct, or use a built-in filter)", where, re.Kind, re.Index, re.Err)
			continue
		}
		p.wrapf(v, e, "%sfilter: %v", where, e)
	}
	return false
}

// unjoin splits an errors.Join error into its parts.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// fail2banNode writes a style: fail2ban filter mapping.
func (j *Jail) fail2banNode() *yaml.Node {
	f := j.Fail2ban
	m := mapNode("style", str(StyleFail2ban))
	if f.PrefRegex != "" {
		m.Content = append(m.Content, str("prefregex"), regexStr(f.PrefRegex))
	}
	m.Content = append(m.Content, str("failregex"), regexSeq(j.FailRegex), str("ignoreregex"), regexSeq(j.IgnoreRegex))
	if f.DatePattern != "" {
		m.Content = append(m.Content, str("datepattern"), regexStr(f.DatePattern))
	}
	if f.MaxLines > 1 {
		m.Content = append(m.Content, str("maxlines"), str(strconv.Itoa(f.MaxLines)))
	}
	return m
}

// regexStr writes one expression single-quoted where it can.
func regexStr(s string) *yaml.Node {
	return regexSeq([]string{s}).Content[0]
}
