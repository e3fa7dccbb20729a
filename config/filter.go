package config

import (
	"fmt"
	"regexp/syntax"
	"sort"
	"strings"

	"logjail/analyze"
)

// newRegexFilter builds a jail's custom filter. It is analyze's
// constructor; Parse checks each expression beforehand (checkRegex) only to
// report problems at the expression's own line.
var newRegexFilter = analyze.NewRegexFilter

// checkRegex checks one custom filter expression as analyze.NewRegexFilter
// does: a failregex holds <HOST> exactly once and <USER> at most once, and
// each expression compiles with those tags replaced.
func checkRegex(src string, fail bool) error {
	if fail {
		if n := strings.Count(src, "<HOST>"); n != 1 {
			return fmt.Errorf("must contain <HOST> exactly once, found %d", n)
		}
		if strings.Count(src, "<USER>") > 1 {
			return fmt.Errorf("may contain <USER> only once")
		}
	}
	s := strings.ReplaceAll(src, "<HOST>", `(?P<host>\S+)`)
	s = strings.ReplaceAll(s, "<USER>", `(?P<user>\S*)`)
	// Parsed, not compiled (regexp.Compile fails only where its parser
	// does): the filter compiles at its first line (analyze.NewRegexFilter).
	if _, err := syntax.Parse(s, syntax.Perl); err != nil {
		if _, err2 := syntax.Parse(src, syntax.Perl); err2 != nil {
			err = err2 // the user's own text is easier to read
		}
		return fmt.Errorf("does not compile: %w", err)
	}
	return nil
}

// builtinNames lists the built-in filters for error messages.
func builtinNames() string {
	fs := analyze.Builtins()
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Name
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
