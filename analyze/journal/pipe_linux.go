//go:build linux

package journal

import (
	"os"
	"syscall"
)

// newPipe makes the pipe journalctl writes to: 1 MiB instead of 64 KiB
// (journalctl then waits less for logjail), and in blocking mode, so that
// logjail's reads are plain read(2) calls on a thread of their own rather
// than a trip through the runtime's poller for each 4 KiB journalctl
// writes (the poller's wake-ups cost more than the parsing).
func newPipe() (r, w *os.File, err error) {
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC); err != nil {
		return nil, nil, err
	}
	const fSetPipeSz = 1031 // F_SETPIPE_SZ
	// Refused above /proc/sys/fs/pipe-max-size for a user: harmless.
	syscall.Syscall(syscall.SYS_FCNTL, uintptr(fds[0]), fSetPipeSz, 1<<20)
	return os.NewFile(uintptr(fds[0]), "|journalctl"), os.NewFile(uintptr(fds[1]), "journalctl|"), nil
}
