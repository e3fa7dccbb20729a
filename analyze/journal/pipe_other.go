//go:build !linux

package journal

import "os"

// newPipe makes the pipe journalctl writes to.
func newPipe() (r, w *os.File, err error) { return os.Pipe() }
