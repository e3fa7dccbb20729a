package state

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Tx is a transaction on the state file with typed accessors. Writes on a
// read transaction fail.
type Tx struct {
	tx   *bolt.Tx
	path string
	// summaryGone: the ban summary was deleted in this transaction.
	summaryGone bool
	// shards: the track shards read in this transaction, per jail.
	shards map[string]*jailShards
	// pending are PutTrack's and DeleteTrack's updates, written with
	// the next PutTracks, purge, walk of the tracks or at the commit;
	// at is their place by jail and key.
	pending []TrackUpdate
	at      map[pendingKey]int
}

type pendingKey struct {
	jail string
	key  netip.Prefix
}

// Ban is a ban logjail holds.
type Ban struct {
	Jail     string       `json:"jail"`
	Prefix   netip.Prefix `json:"prefix"`
	Start    time.Time    `json:"start"`
	Until    time.Time    `json:"until,omitzero"` // zero: permanent
	Offense  int          `json:"offense"`
	Failures int          `json:"failures,omitempty"`
	Users    []string     `json:"users,omitempty"` // user names tried, a few
	Manual   bool         `json:"manual,omitempty"`
	// Origin is the fleet host that decided the ban; "" for this host.
	Origin string `json:"origin,omitempty"`
}

// Permanent reports a ban without end.
func (b *Ban) Permanent() bool { return b.Until.IsZero() }

// ActiveAt reports whether the ban holds at t: Start <= t < Until.
func (b *Ban) ActiveAt(t time.Time) bool {
	return !t.Before(b.Start) && (b.Permanent() || t.Before(b.Until))
}

func jailKey(jail string, rest []byte) []byte {
	k := make([]byte, 0, len(jail)+1+len(rest))
	k = append(k, jail...)
	k = append(k, 0)
	return append(k, rest...)
}

func prefixBytes(p netip.Prefix) []byte {
	a := p.Addr().As16()
	return append(a[:], byte(p.Bits()), boolByte(p.Addr().Is4()))
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func (tx *Tx) bucket(name []byte) *bolt.Bucket {
	b := tx.tx.Bucket(name)
	if b == nil && tx.tx.Writable() {
		// A file older than the bucket (journals), or an odd file.
		b, _ = tx.tx.CreateBucketIfNotExists(name)
	}
	return b
}

func (tx *Tx) get(bucket, key []byte) []byte {
	b := tx.bucket(bucket)
	if b == nil {
		return nil
	}
	return b.Get(key)
}

func (tx *Tx) put(bucket, key, val []byte) error {
	b := tx.bucket(bucket)
	if b == nil || !tx.tx.Writable() {
		return fmt.Errorf("%w: %s", ErrReadOnly, tx.path)
	}
	return b.Put(key, val)
}

func (tx *Tx) del(bucket, key []byte) error {
	b := tx.bucket(bucket)
	if b == nil || !tx.tx.Writable() {
		return fmt.Errorf("%w: %s", ErrReadOnly, tx.path)
	}
	return b.Delete(key)
}

// File decodes the saved reading position of a jail's log path into v;
// found is false when there is none.
func (tx *Tx) File(jail, path string, v any) (found bool, err error) {
	data := tx.get(bucketFiles, jailKey(jail, []byte(path)))
	if data == nil {
		return false, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, corrupt(tx.path, fmt.Errorf("file entry %s %s: %w", jail, path, err))
	}
	return true, nil
}

// PutFile saves the reading position of a jail's log path.
func (tx *Tx) PutFile(jail, path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode file entry %s %s: %w", jail, path, err)
	}
	return tx.put(bucketFiles, jailKey(jail, []byte(path)), data)
}

// DeleteFile forgets a jail's log path.
func (tx *Tx) DeleteFile(jail, path string) error {
	return tx.del(bucketFiles, jailKey(jail, []byte(path)))
}

// Files calls fn for every saved log path with its raw JSON entry.
func (tx *Tx) Files(fn func(jail, path string, data []byte) error) error {
	b := tx.bucket(bucketFiles)
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error {
		j, p, ok := bytes.Cut(k, []byte{0})
		if !ok {
			return corrupt(tx.path, fmt.Errorf("file key %q", k))
		}
		return fn(string(j), string(p), v)
	})
}

// Journal decodes the saved position of a jail's journal source (named by
// its key, see journal.Source.Key) into v; found is false when there is
// none.
func (tx *Tx) Journal(jail, source string, v any) (found bool, err error) {
	data := tx.get(bucketJournals, jailKey(jail, []byte(source)))
	if data == nil {
		return false, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, corrupt(tx.path, fmt.Errorf("journal entry %s %s: %w", jail, source, err))
	}
	return true, nil
}

// PutJournal saves the position of a jail's journal source.
func (tx *Tx) PutJournal(jail, source string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode journal entry %s %s: %w", jail, source, err)
	}
	return tx.put(bucketJournals, jailKey(jail, []byte(source)), data)
}

// Journals calls fn for every saved journal position with its raw JSON.
func (tx *Tx) Journals(fn func(jail, source string, data []byte) error) error {
	b := tx.tx.Bucket(bucketJournals)
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error {
		j, s, ok := bytes.Cut(k, []byte{0})
		if !ok {
			return corrupt(tx.path, fmt.Errorf("journal key %q", k))
		}
		return fn(string(j), string(s), v)
	})
}

// LogClock returns the time of the newest failure a jail has seen: with
// logs in time order, no later failure can be older, so windows that ended
// before it minus findtime can go.
func (tx *Tx) LogClock(jail string) (time.Time, bool) {
	return tx.timeMeta([]byte(prefixClock + jail))
}

// SetLogClock records the newest failure time of a jail.
func (tx *Tx) SetLogClock(jail string, t time.Time) error {
	return tx.setTimeMeta([]byte(prefixClock+jail), t)
}

func banKey(jail string, p netip.Prefix) []byte { return jailKey(jail, prefixBytes(p)) }

// appendBanKey appends banKey(jail, p) to dst.
func appendBanKey(dst []byte, jail string, p netip.Prefix) []byte {
	dst = append(append(dst, jail...), 0)
	a := p.Addr().As16()
	return append(append(dst, a[:]...), byte(p.Bits()), boolByte(p.Addr().Is4()))
}

func (tx *Tx) timeMeta(key []byte) (time.Time, bool) {
	v := tx.get(bucketMeta, key)
	if v == nil {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(v))
	return t, err == nil
}

func (tx *Tx) setTimeMeta(key []byte, t time.Time) error {
	return tx.put(bucketMeta, key, []byte(t.Format(time.RFC3339Nano)))
}

// LastRun returns the time of the last completed run: the later of the
// one the last committed run recorded and the one a run that committed
// nothing noted beside the file (DB.NoteRun).
func (tx *Tx) LastRun() (time.Time, bool) {
	t, ok := tx.timeMeta(keyLastRun)
	if n, found := noted(tx.path); found && (!ok || n.After(t)) {
		return n, true
	}
	return t, ok
}

// SetLastRun records the time of this run.
func (tx *Tx) SetLastRun(t time.Time) error { return tx.setTimeMeta(keyLastRun, t) }

// Warned reports whether the warning named key was already reported.
func (tx *Tx) Warned(key string) bool { return tx.get(bucketMeta, []byte(prefixWarn+key)) != nil }

// SetWarned records that the warning named key was reported at t.
func (tx *Tx) SetWarned(key string, t time.Time) error {
	return tx.setTimeMeta([]byte(prefixWarn+key), t)
}

// ClearWarned forgets a warning, so that it is reported again if the
// problem comes back.
func (tx *Tx) ClearWarned(key string) error {
	if tx.get(bucketMeta, []byte(prefixWarn+key)) == nil {
		return nil
	}
	return tx.del(bucketMeta, []byte(prefixWarn+key))
}
