package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterr "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the layout this logjail writes. Older files are
// migrated on open; newer ones are refused. 5 packs the bans in shards
// (banshard.go) and adds history batches (history.go), which a logjail
// of 4 would call damage.
const SchemaVersion = 5

var (
	bucketMeta    = []byte("meta")
	bucketFiles   = []byte("files")
	bucketTracks  = []byte("tracks")
	bucketBans    = []byte("bans")
	bucketHistory = []byte("history")
	bucketOutbox  = []byte("outbox")
	bucketExpiry  = []byte("expiry")
	// bucketJournals holds the journal positions. A file written before
	// it existed gets it at the first run's write (no schema change:
	// reading a missing bucket finds nothing).
	bucketJournals = []byte("journals")
	allBuckets     = [][]byte{bucketMeta, bucketFiles, bucketTracks, bucketBans, bucketHistory, bucketOutbox, bucketExpiry, bucketJournals}

	keyVersion    = []byte("version")
	keyLastRun    = []byte("last_run")
	keyPurged     = []byte("tracks_purged") // schema 1: the last full scan of the tracks
	keyLastDigest = []byte("last_digest")
	prefixWarn    = "warned/"
	prefixClock   = "clock/"

	// The digest's failed deliveries in a row (see DigestFailure).
	keyDigestFailures  = []byte("digest_failures")
	keyDigestFailSince = []byte("digest_failing_since")
	keyDigestFailLast  = []byte("digest_failed_at")
	keyDigestError     = []byte("digest_error")
)

// initialMmap is the address space mapped for the file at once (none of
// it is read until used): a transaction that grows the file past the
// mapping makes bbolt copy every key and value it holds to the heap
// before remapping, a fifth of a run that writes a million tracks. With
// it bbolt grows the file in steps of 16 MiB: a new file is 16 MiB long
// but sparse (du shows the pages written).
const initialMmap = 1 << 30 * (strconv.IntSize / 64) // none on 32 bits

// Options tune Open.
type Options struct {
	// Timeout is how long to wait for the lock; 0 fails at once.
	Timeout time.Duration
	// ReadOnly opens with a shared lock and refuses writes. A missing
	// file is not created: Open fails with an error wrapping
	// fs.ErrNotExist.
	ReadOnly bool
}

// DB is an open state file.
type DB struct {
	b        *bolt.DB
	path     string
	readOnly bool
}

// Open opens (or, unless read-only, creates) the state file at path.
func Open(path string, o Options) (*DB, error) {
	if err := checkFile(path, o.ReadOnly); err != nil {
		return nil, err
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = time.Millisecond // bbolt's 0 would wait for ever
	}
	var db *DB
	err := catch(path, func() error {
		// A compaction (Close) replaces the file under its lock: a
		// process that waited for the lock then holds the old one, and
		// opens again.
		var b *bolt.DB
		for try := 0; ; try++ {
			before := inode(path)
			var err error
			b, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, ReadOnly: o.ReadOnly, InitialMmapSize: initialMmap})
			if err != nil || before == inode(path) || try == 3 {
				if err != nil {
					return openError(path, err, o.Timeout)
				}
				break
			}
			b.Close()
		}
		db = &DB{b: b, path: path, readOnly: o.ReadOnly}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := db.init(); err != nil {
		db.b.Close()
		return nil, err
	}
	return db, nil
}

func openError(path string, err error, timeout time.Duration) error {
	switch {
	case errors.Is(err, bolterr.ErrTimeout):
		return fmt.Errorf("%w: %s (waited %s)", ErrLocked, path, timeout)
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("open state %s: %w", path, err)
	}
	return corrupt(path, err)
}

// checkFile creates the directory (0700) and refuses files that others
// could have written.
func checkFile(path string, readOnly bool) error {
	dir := filepath.Dir(path)
	if !readOnly {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create state directory %s: %w", dir, err)
		}
	}
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		if readOnly {
			return fmt.Errorf("open state %s: %w (no run has written it yet)", path, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("open state %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file (%s)", ErrCorrupt, path, fi.Mode().Type())
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if ok && !readOnly && int(st.Uid) != os.Geteuid() && st.Uid != 0 {
		return fmt.Errorf("%w: %s is owned by uid %d, not by uid %d who runs logjail: chown it, or remove it if you did not create it", ErrPermissions, path, st.Uid, os.Geteuid())
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%w: %s has mode %04o, writable by others: chmod 600 %s", ErrPermissions, path, fi.Mode().Perm(), path)
	}
	return nil
}

// catch turns a panic inside bbolt (it panics on some damaged pages) into
// ErrCorrupt.
func catch(path string, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = corrupt(path, fmt.Errorf("%v", r))
		}
	}()
	return fn()
}

func corrupt(path string, cause error) error {
	return fmt.Errorf("%w: %s: %v: move it aside (mv %s %s.bad) and run again; the next run rebuilds the state from the logs", ErrCorrupt, path, cause, path, path)
}

// init creates the buckets of a new file, and checks or migrates the
// schema of an existing one.
func (db *DB) init() error {
	var version uint64
	err := db.View(func(tx *Tx) error {
		meta := tx.tx.Bucket(bucketMeta)
		if meta == nil {
			if tx.tx.Bucket(bucketBans) != nil || hasBuckets(tx.tx) {
				return corrupt(db.path, errors.New("no meta bucket"))
			}
			return nil
		}
		v := meta.Get(keyVersion)
		n, k := binary.Uvarint(v)
		if k <= 0 {
			return corrupt(db.path, errors.New("no schema version"))
		}
		version = n
		return nil
	})
	if err != nil {
		return err
	}
	if version > SchemaVersion {
		return fmt.Errorf("%w: %s has schema version %d, this logjail knows %d: upgrade logjail", ErrNewerSchema, db.path, version, SchemaVersion)
	}
	if version == SchemaVersion {
		return nil
	}
	if db.readOnly {
		if version == 0 || version >= 2 {
			// empty: reads find nothing; 2 and 3 keep a track per
			// key, which reads as a shard of one (decodeShard), and
			// lack the ban summary (3), which no reader needs
			return nil
		}
		return fmt.Errorf("state %s has schema version %d: a run (not a read-only command) migrates it to %d", db.path, version, SchemaVersion)
	}
	return db.Update(func(tx *Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		// Migrations from older versions go here, one step each. 2 to
		// 3 needs none: without a ban summary the next run reads the
		// bans and writes one (a file of 3 is refused by a logjail of
		// 2, which would write bans without dropping the summary).
		// 1 to 2 indexed the tracks by expiry; 3 to 4 packs them in
		// shards (migrateTracks), indexed by theirs, which a file of
		// 1 (its tracks due at once: the next run's purge judges each)
		// or 2 gets as well. 4 to 5 packs the bans in shards
		// (migrateBans); history batches are only written from 5 on,
		// beside the single entries before.
		if version >= 1 && version < 4 {
			if err := tx.migrateTracks(); err != nil {
				return err
			}
		}
		if version >= 1 {
			if err := tx.migrateBans(); err != nil {
				return err
			}
		}
		if version == 1 {
			if err := tx.tx.Bucket(bucketMeta).Delete(keyPurged); err != nil {
				return err
			}
		}
		return tx.tx.Bucket(bucketMeta).Put(keyVersion, binary.AppendUvarint(nil, SchemaVersion))
	})
}

func hasBuckets(tx *bolt.Tx) bool {
	found := false
	tx.ForEach(func([]byte, *bolt.Bucket) error { found = true; return nil })
	return found
}

// Path returns the file's path.
func (db *DB) Path() string { return db.path }

// Close releases the file and its lock. A file opened for writing is
// compacted first when free pages fill more than half of it (at least
// 32 MiB): bbolt never shrinks a file, and a flood's windows, once
// purged, would keep it at its largest. A failed compaction leaves the
// file as it was and is returned.
func (db *DB) Close() error {
	var err error
	if !db.readOnly {
		err = db.compactIfNeeded()
	}
	if cerr := db.b.Close(); cerr != nil {
		return cerr
	}
	return err
}

// Update runs fn in a write transaction, committed when fn returns nil
// (fn returns ErrUnchanged to end one that changed nothing: it is rolled
// back, and Update returns ErrUnchanged).
func (db *DB) Update(fn func(*Tx) error) error {
	if db.readOnly {
		return fmt.Errorf("%w: %s", ErrReadOnly, db.path)
	}
	return catch(db.path, func() error {
		return db.b.Update(func(tx *bolt.Tx) error {
			t := &Tx{tx: tx, path: db.path}
			if err := fn(t); err != nil {
				return err
			}
			return t.flushTracks() // PutTrack's, written at the end
		})
	})
}

// View runs fn in a read transaction.
func (db *DB) View(fn func(*Tx) error) error {
	return catch(db.path, func() error {
		return db.b.View(func(tx *bolt.Tx) error { return fn(&Tx{tx: tx, path: db.path}) })
	})
}
