package runner

import (
	"errors"
	"fmt"
)

// UsageError is a request refused as given, before anything was changed:
// a ban the guard forbids, a jail that is not configured, a bad value.
// Its text is one line naming the value; logjail exits 2 on it.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &UsageError{fmt.Sprintf(format, a...)} }

// IsUsage reports whether err is, or wraps, a *UsageError.
func IsUsage(err error) bool {
	var ue *UsageError
	return errors.As(err, &ue)
}
