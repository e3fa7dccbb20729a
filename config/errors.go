package config

import (
	"fmt"
	"strings"
)

// Error is one problem found in a configuration file.
type Error struct {
	// File is the name the configuration was parsed under.
	File string
	// Line is the 1-based line of the offending value, or 0 when the
	// problem has no line (a YAML syntax error the parser could not place).
	Line int
	// Msg says what is wrong, naming the jail or key and the value.
	Msg string
	// Err is the underlying cause, if any (a regexp or filter error).
	Err error
}

// Error returns "config FILE:LINE: MESSAGE".
func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("config %s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("config %s: %s", e.File, e.Msg)
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Errors is every problem found in one configuration file, in the order of
// the file. Parse and Load return it as a *Errors so that `config check` can
// print them all: use errors.As with a *Errors target.
type Errors []*Error

// Error returns the problems, one a line.
func (e Errors) Error() string {
	var b strings.Builder
	for i, x := range e {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(x.Error())
	}
	return b.String()
}

// Unwrap returns the problems, for errors.Is and errors.As.
func (e Errors) Unwrap() []error {
	errs := make([]error, len(e))
	for i, x := range e {
		errs[i] = x
	}
	return errs
}
