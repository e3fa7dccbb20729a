//go:build linux

package journal

import (
	"io"
	"os"
	"syscall"
)

// growPipe asks for a 1 MiB pipe buffer (the default is 64 KiB): journalctl
// then writes, and logjail reads, in fewer and larger pieces. Failing is
// harmless (an unprivileged user over /proc/sys/fs/pipe-max-size).
func growPipe(r io.Reader) {
	const fSetPipeSz = 1031 // F_SETPIPE_SZ
	if f, ok := r.(*os.File); ok {
		syscall.Syscall(syscall.SYS_FCNTL, f.Fd(), fSetPipeSz, 1<<20)
	}
}
