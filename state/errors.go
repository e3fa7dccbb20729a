package state

import "errors"

var (
	// ErrLocked: another process holds the state file and the wait timed
	// out.
	ErrLocked = errors.New("state file is locked by another run")
	// ErrNewerSchema: the file was written by a newer logjail.
	ErrNewerSchema = errors.New("state file written by a newer logjail")
	// ErrCorrupt: the file is not a logjail state file, or is damaged.
	ErrCorrupt = errors.New("state file damaged")
	// ErrPermissions: the file or its directory is owned by another user
	// or writable by others.
	ErrPermissions = errors.New("state file permissions unsafe")
	// ErrReadOnly: a write on a state opened read-only.
	ErrReadOnly = errors.New("state file opened read-only")
)
