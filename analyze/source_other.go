//go:build !linux

package analyze

import (
	"errors"
	"fmt"
	"io/fs"
)

// statID has no device and inode numbers to give on this platform, and
// without them rotation cannot be told from truncation: Read fails with an
// error wrapping errors.ErrUnsupported. replay and filter test, which read
// whole files, are not concerned.
func statID(fs.FileInfo) (fileID, error) {
	return fileID{}, fmt.Errorf("following log rotation needs inode numbers: %w", errors.ErrUnsupported)
}
