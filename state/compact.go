package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bbolt never gives a file's free pages back: after a flood's windows are
// purged the file keeps its size. Close compacts it when free pages pass
// half of a file of at least compactMin bytes.
const compactMin = 32 << 20

// compactSuffix names the new file while it is written.
const compactSuffix = ".compact"

// compactIfNeeded rewrites the file without its free pages, while the
// caller still holds the lock: into path.compact, synced, then renamed
// over path, the directory synced. A crash before the rename leaves path
// as it was (and a stray path.compact, removed by the next compaction); a
// crash after it, the compacted file. A process waiting for the lock
// holds the old file open: Open sees the path's inode change and opens
// the new one.
func (db *DB) compactIfNeeded() error {
	fi, err := os.Stat(db.path)
	if err != nil || fi.Size() < compactMin {
		return nil
	}
	// Free and pending pages (FreeAlloc is not kept up to date).
	st := db.b.Stats()
	free := int64(st.FreePageN+st.PendingPageN) * int64(db.b.Info().PageSize)
	if free*2 < fi.Size() {
		return nil
	}
	return db.compact()
}

func (db *DB) compact() error {
	tmp := db.path + compactSuffix
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("compact state %s: %w", db.path, err)
	}
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("compact state %s: %w", db.path, err)
	}
	err = bolt.Compact(dst, db.b, 64<<20)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, db.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("compact state %s: %w", db.path, err)
	}
	if d, err := os.Open(filepath.Dir(db.path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// inode returns the inode of the file at path, or 0.
func inode(path string) uint64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}
