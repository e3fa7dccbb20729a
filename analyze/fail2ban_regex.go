package analyze

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"sync"
)

// This file turns a regular expression written for fail2ban (Python's re
// module, with fail2ban's <TAGS>) into one Go's RE2 engine runs in linear
// time with the same matches, or refuses it naming the construct.
//
// The rewrites that keep the meaning:
//   - {,n} is {0,n} in Python (Go would read the braces as text);
//   - \Z is \z;
//   - the lookbehind (?<=:) in front of the last ':' of an IPv6 address
//     pattern is always true there (every repetition before it ends in a
//     colon) and is dropped;
//   - \w, \W stand for Unicode word characters, as Python's do.
//
// Refused: lookahead, lookbehind, backreferences, conditionals, the
// verbose flag, repeat counts above RE2's 1000.

// Pieces of the tags. Written for this project from what the tags match
// (fail2ban's documentation: an IPv4 dotted quad, possibly behind an
// IPv4-mapped IPv6 prefix; an IPv6 address of up to eight groups; a host
// name); the spans they find agree with fail2ban's on its sample logs.
const (
	f2bWord = `\p{L}\p{N}_`
	f2bIP4  = `(?:::f{4,6}:)?(?P<ip4>[0-9]{1,3}(?:\.[0-9]{1,3}){3})`
	f2bIP6  = `(?P<ip6>(?:[[:xdigit:]]{1,4}:{1,2}|::){1,7}(?:[[:xdigit:]]{1,4}|:))`
	f2bDNS  = `(?P<dns>[` + f2bWord + `.^-]*[` + f2bWord + `])`
	f2bAddr = `\[?(?:` + f2bIP4 + `|` + f2bIP6 + `)\]?`
	f2bHost = `(?:` + f2bAddr + `|` + f2bDNS + `)`
	f2bCIDR = `(?P<cidr>[0-9]+)`
	f2bSub  = `\[?(?:` + f2bIP4 + `|` + f2bIP6 + `)(?:/` + f2bCIDR + `)?\]?`
)

// f2bTags maps the fixed tags to their patterns.
var f2bTags = map[string]string{
	"IP4": f2bIP4, "F-IP4/": f2bIP4,
	"IP6": f2bIP6, "F-IP6/": f2bIP6,
	"ADDR": f2bAddr, "F-ADDR/": f2bAddr,
	"CIDR": f2bCIDR, "F-CIDR/": f2bCIDR,
	"SUBNET": f2bSub, "F-SUBNET/": f2bSub,
	"DNS": f2bDNS, "F-DNS/": f2bDNS,
	"F-ID/":   `(?P<fid>\S+)`,
	"F-PORT/": `(?P<fport>[` + f2bWord + `]+)`,
}

var (
	f2bTagRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`</?[\w-]+/?>`) })
	f2bCustomRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(/?)F-([A-Z0-9_-]+)$`) })
)

// expandTags replaces fail2ban's tags in src. useDNS "no" makes <HOST> an
// address only. Tags it does not know stay as text, as in fail2ban.
func expandTags(src string, useDNS string) string {
	open := map[string]bool{}
	skip := 0
	return f2bTagRE().ReplaceAllStringFunc(src, func(tag string) string {
		name := tag[1 : len(tag)-1]
		switch name {
		case "HOST":
			if useDNS == "no" {
				return f2bAddr
			}
			return f2bHost
		case "SKIPLINES":
			skip++
			return `\n(?P<skiplines` + strconv.Itoa(skip-1) + `>(?:.*\n)*?)`
		}
		if p, ok := f2bTags[name]; ok {
			return p
		}
		m := f2bCustomRE().FindStringSubmatch(name)
		if m == nil {
			return tag
		}
		if m[1] == "/" {
			if open[m[2]] {
				return ")"
			}
			return tag
		}
		open[m[2]] = true
		return "(?P<" + f2bGroupName(m[2]) + ">"
	})
}

// f2bGroupName is the group an <F-NAME> tag opens.
func f2bGroupName(tag string) string {
	n := strings.ToLower(tag)
	switch n {
	case "id":
		return "fid"
	case "port":
		return "fport"
	}
	return n
}

// UnsupportedError is a fail2ban regular expression that RE2 cannot run.
type UnsupportedError struct {
	Construct string // what was found, e.g. "negative lookahead (?!"
	Offset    int    // byte offset in the expression as written
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("%s at offset %d needs a backtracking engine, which logjail does not use", e.Construct, e.Offset)
}

// translatePython rewrites a Python regular expression (tags already
// expanded) into Go syntax, or returns an *UnsupportedError.
func translatePython(src string) (string, error) {
	var b strings.Builder
	b.Grow(len(src) + 16)
	inClass := false
	classStart := 0
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '\\':
			if i+1 >= len(src) {
				b.WriteByte(c)
				continue
			}
			i++
			d := src[i]
			switch {
			case d == 'Z' && !inClass:
				b.WriteString(`\z`)
			case d >= '1' && d <= '9' && !inClass:
				return "", &UnsupportedError{Construct: `backreference \` + string(d), Offset: i - 1}
			case d == 'w':
				if inClass {
					b.WriteString(f2bWord)
				} else {
					b.WriteString(`[` + f2bWord + `]`)
				}
			case d == 'W' && !inClass:
				b.WriteString(`[^` + f2bWord + `]`)
			default:
				b.WriteByte('\\')
				b.WriteByte(d)
			}
		case inClass:
			if c == ']' && i > classStart {
				inClass = false
			}
			b.WriteByte(c)
		case c == '[':
			inClass = true
			classStart = i + 1
			if classStart < len(src) && src[classStart] == '^' {
				classStart++
			}
			b.WriteByte(c)
		case c == '(' && strings.HasPrefix(src[i:], "(?"):
			rest := src[i+2:]
			switch {
			case strings.HasPrefix(rest, "P<"), strings.HasPrefix(rest, ":"):
				b.WriteString("(?")
				i++
			case strings.HasPrefix(rest, "P="):
				return "", &UnsupportedError{Construct: "backreference (?P=", Offset: i}
			case strings.HasPrefix(rest, "<=:):") && ipv6Tail(b.String()):
				// Always true: the repetition before it ended in ':'.
				i += len("(?<=:)") - 1
			case strings.HasPrefix(rest, "="):
				return "", &UnsupportedError{Construct: "lookahead (?=", Offset: i}
			case strings.HasPrefix(rest, "!"):
				return "", &UnsupportedError{Construct: "negative lookahead (?!", Offset: i}
			case strings.HasPrefix(rest, "<="):
				return "", &UnsupportedError{Construct: "lookbehind (?<=", Offset: i}
			case strings.HasPrefix(rest, "<!"):
				return "", &UnsupportedError{Construct: "negative lookbehind (?<!", Offset: i}
			case strings.HasPrefix(rest, "("):
				return "", &UnsupportedError{Construct: "conditional (?(", Offset: i}
			case strings.HasPrefix(rest, "#"):
				j := strings.IndexByte(rest, ')')
				if j < 0 {
					return "", fmt.Errorf("comment (?# at offset %d is not closed", i)
				}
				i += 2 + j
			default:
				// Flags: (?aiLmsux) or (?flags:...).
				j := 0
				for j < len(rest) && strings.IndexByte("aiLmsux-", rest[j]) >= 0 {
					j++
				}
				if j == 0 || j >= len(rest) || (rest[j] != ')' && rest[j] != ':') {
					b.WriteString("(?")
					i++
					continue
				}
				flags := rest[:j]
				if strings.IndexByte(flags, 'x') >= 0 {
					return "", &UnsupportedError{Construct: "verbose flag (?x)", Offset: i}
				}
				kept := strings.Map(func(r rune) rune {
					if strings.ContainsRune("ims-", r) {
						return r
					}
					return -1
				}, flags)
				switch {
				case kept == "" && rest[j] == ')':
				case kept == "":
					b.WriteString("(?:")
				default:
					b.WriteString("(?" + kept + string(rest[j]))
				}
				i += 2 + j
			}
		case c == '{':
			if n, k, ok := emptyMin(src[i:]); ok {
				b.WriteString("{0," + n + "}")
				i += k - 1
				continue
			}
			if m, n, k, ok := repeatCount(src[i:]); ok && (m > 1000 || n > 1000) {
				return "", &UnsupportedError{Construct: "repeat count " + src[i:i+k] + " above 1000", Offset: i}
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// ipv6Tail reports whether out ends where fail2ban's IPv6 pattern has its
// always-true lookbehind: after "{1,7}(?:<hex group>|".
func ipv6Tail(out string) bool {
	return strings.HasSuffix(out, "){1,7}(?:[0-9a-fA-F]{1,4}|")
}

// emptyMin recognises "{,n}" and returns n and the length.
func emptyMin(s string) (string, int, bool) {
	if !strings.HasPrefix(s, "{,") {
		return "", 0, false
	}
	j := 2
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == 2 || j >= len(s) || s[j] != '}' {
		return "", 0, false
	}
	return s[2:j], j + 1, true
}

// repeatCount recognises "{m}", "{m,}" and "{m,n}".
func repeatCount(s string) (m, n, k int, ok bool) {
	j := strings.IndexByte(s, '}')
	if j < 2 {
		return 0, 0, 0, false
	}
	lo, hi, comma := strings.Cut(s[1:j], ",")
	var err error
	if m, err = strconv.Atoi(lo); err != nil {
		return 0, 0, 0, false
	}
	n = m
	if comma && hi != "" {
		if n, err = strconv.Atoi(hi); err != nil {
			return 0, 0, 0, false
		}
	}
	return m, n, j + 1, true
}

// compileF2B expands the tags of src, translates it and compiles it.
// multiline is fail2ban's mode for maxlines > 1.
func compileF2B(src, useDNS string, multiline bool) (*regexp.Regexp, error) {
	s, err := translateF2B(src, useDNS, multiline)
	if err != nil {
		return nil, err
	}
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, fmt.Errorf("does not compile in Go: %w", err)
	}
	return re, nil
}

// checkF2B reports what compileF2B would, and the names of the groups it
// would have, without compiling: the expression is only parsed (the
// error is the same: regexp.Compile's is the parser's). Results are kept
// for the process: the configuration checks a filter where it is written
// and again for each jail that uses it.
func checkF2B(src, useDNS string, multiline bool) ([]string, error) {
	k := f2bCheckKey{src, useDNS, multiline}
	if r, ok := f2bChecked.Load(k); ok {
		c := r.(f2bCheck)
		return c.names, c.err
	}
	var c f2bCheck
	s, err := translateF2B(src, useDNS, multiline)
	if err == nil {
		var re *syntax.Regexp
		if re, err = syntax.Parse(s, syntax.Perl); err == nil {
			c.names = re.CapNames()
		} else {
			err = fmt.Errorf("does not compile in Go: %w", err)
		}
	}
	c.err = err
	f2bChecked.Store(k, c)
	return c.names, c.err
}

type f2bCheckKey struct {
	src, useDNS string
	multiline   bool
}

type f2bCheck struct {
	names []string // read only
	err   error
}

var f2bChecked sync.Map // f2bCheckKey to f2bCheck

// translateF2B expands the tags of src and translates it to Go's syntax.
func translateF2B(src, useDNS string, multiline bool) (string, error) {
	// Check the text as written first, so that an offset points into it;
	// the tags' own patterns need no translation beyond \w.
	if _, err := translatePython(src); err != nil {
		return "", err
	}
	s, err := translatePython(expandTags(src, useDNS))
	if err != nil {
		return "", err
	}
	if multiline {
		s = "(?m)" + s
	}
	return s, nil
}
