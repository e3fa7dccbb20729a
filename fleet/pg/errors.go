package pg

import "errors"

var (
	// ErrNoSchema means the database lacks the fleet's tables, or has
	// an older version of them: `logjail fleet init` creates them.
	ErrNoSchema = errors.New("no logjail fleet schema")
	// ErrNewerSchema means a newer logjail migrated the database.
	ErrNewerSchema = errors.New("newer fleet schema")
	// ErrPasswordFile means the password file may be read by others.
	ErrPasswordFile = errors.New("password file readable by others")
)
