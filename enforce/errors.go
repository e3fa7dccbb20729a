package enforce

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error a Backend returns names the backend and the
// failing step on one line and wraps one of these, or the cause from the
// tool or kernel, so callers can test with errors.Is.
var (
	// ErrUnknownBackend is returned by New for a kind not in Kinds.
	ErrUnknownBackend = errors.New("unknown firewall backend")

	// ErrInvalidOption is returned by New for an impossible Options value.
	ErrInvalidOption = errors.New("invalid firewall option")

	// ErrInvalidJail is returned by Apply for a JailSpec it cannot express
	// (bad name, protocol or ports). Nothing was changed.
	ErrInvalidJail = errors.New("invalid jail")

	// ErrSetFull is returned by Apply when one jail and IP family would
	// hold more bans than Options.MaxElem allows. Nothing was changed:
	// logjail never drops a ban silently.
	ErrSetFull = errors.New("set is full")

	// ErrConflict is returned when a name logjail needs (a chain, set or
	// table) exists but was not made by logjail, or not in the shape it
	// makes, e.g. an ipset set of another type. Nothing of it was touched.
	ErrConflict = errors.New("name taken by something logjail did not create")

	// ErrToolMissing is returned when a program the backend runs
	// (iptables-restore, ipset, ip) is not installed, or the kernel lacks
	// what it talks to (nf_tables).
	ErrToolMissing = errors.New("program not found")
)

// backendError is the one-line form of every failure: "backend: step: cause".
func backendError(kind, step string, err error) error {
	return fmt.Errorf("%s: %s: %w", kind, step, err)
}
