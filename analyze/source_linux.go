//go:build linux

package analyze

import (
	"fmt"
	"io/fs"
	"syscall"
)

// statID returns the device and inode numbers of a file stat described.
func statID(fi fs.FileInfo) (fileID, error) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, fmt.Errorf("no device and inode numbers in %T", fi.Sys())
	}
	return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}, nil
}
