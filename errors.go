package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"logjail/runner"
	"logjail/state"
)

// Exit codes, as CONTRACT.md fixes them.
const (
	exitOK      = 0
	exitRuntime = 1 // a step failed at run time; retried by the next run
	exitUsage   = 2 // usage or configuration error; nothing was changed
	exitLocked  = 3 // the state is locked by another run
)

// exitError carries the exit code an error must end the program with.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError marks err as a usage or configuration error (exit 2).
func usageError(err error) error { return &exitError{code: exitUsage, err: err} }

// usagef formats a usage error.
func usagef(format string, a ...any) error { return usageError(fmt.Errorf(format, a...)) }

// errSilent ends the program with exit code 1 without a message: the
// problem was already reported (once, not at every cron run).
var errSilent = &exitError{code: exitRuntime, err: errors.New("")}

// stateError maps the state file's errors to exit codes: a lock held too
// long is 3; a file to be fixed by hand is 2; the rest 1.
func stateError(err error) error {
	switch {
	case errors.Is(err, state.ErrLocked):
		return &exitError{code: exitLocked, err: err}
	case errors.Is(err, state.ErrCorrupt), errors.Is(err, state.ErrNewerSchema), errors.Is(err, state.ErrPermissions):
		return &exitError{code: exitUsage, err: err}
	}
	return err
}

// exitCode prints err, one line per error, and maps it to an exit code.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	code := exitRuntime
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	} else if runner.IsUsage(err) {
		code = exitUsage
	}
	msg := strings.TrimRight(err.Error(), "\n")
	if msg == "" {
		return code
	}
	for _, line := range strings.Split(msg, "\n") {
		fmt.Fprintf(stderr, "logjail: %s\n", line)
	}
	return code
}
