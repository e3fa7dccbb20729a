package report

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Printable makes text read from logs safe to show on a terminal, in a
// table or a mail: control characters (escape sequences among them),
// invisible and bidirectional formatting characters and invalid UTF-8 are
// written as Go escapes (\x1b, \n, \u202e, \xff), and a backslash is
// doubled so that no escape can be forged; everything else is kept.
func Printable(s string) string { return PrintableCut(s, -1, "") }

// PrintableCut is Printable cut to at most max characters of its result
// (max < 0: no limit), with more appended when something was cut.
func PrintableCut(s string, max int, more string) string {
	clean := max < 0 || utf8.RuneCountInString(s) <= max
	for _, r := range s {
		if r == utf8.RuneError || r == '\\' || !unicode.IsPrint(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		var piece string
		switch {
		case r == utf8.RuneError && size == 1:
			piece = `\x` + strconv.FormatUint(uint64(s[i])|0x100, 16)[1:]
		case r == '\\':
			piece = `\\`
		case unicode.IsPrint(r):
			piece = s[i : i+size]
		default:
			q := strconv.QuoteRune(r)
			piece = q[1 : len(q)-1]
		}
		if pn := utf8.RuneCountInString(piece); max >= 0 && n+pn > max {
			b.WriteString(more)
			break
		} else {
			n += pn
		}
		b.WriteString(piece)
		i += size
	}
	return b.String()
}
