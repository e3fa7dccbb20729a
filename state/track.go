package state

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"logjail/analyze"
)

// Tracks are kept in the tracks bucket under jail, 0, prefix (18 bytes).
// The expiry bucket indexes them by the time they go stale: jail, 0, the
// time (8 bytes, big-endian, sign bit flipped so that the order is the
// times' order), prefix. A run purges a jail's tracks by walking its index
// from the start up to the jail's time: a quiet run reads one index key per
// jail, whatever the number of tracks. The index is a hint, not the truth:
// a track is deleted only when the policy of the day finds it stale, and a
// track written without its expiry (PutTrack) is indexed as due at once, to
// be judged by the next purge.

// A track is stored as format byte (2), varint expiry (Unix nanoseconds:
// where its index entry is), uvarint offenses, varint ban start and until
// (Unix nanoseconds), uvarint count, then the failure times as varint
// deltas: some thirty bytes for a typical address. Format 1 lacks the
// expiry; its tracks are indexed as due (schema 1 files, see migrate).

const (
	trackFormat1 = 1
	trackFormat  = 2
)

// expiryNow is the expiry of a track that the next purge must judge.
const expiryNow = math.MinInt64

// ExpiryNow is the TrackUpdate.Expires of a track that the next purge
// judges (as PutTrack writes it), for a writer that does not know when
// the track goes stale.
const ExpiryNow int64 = expiryNow

func encodeTrack(tr *analyze.Track, expires int64) []byte {
	return appendTrack(make([]byte, 0, 40+8*len(tr.Failures)), tr, expires)
}

func appendTrack(b []byte, tr *analyze.Track, expires int64) []byte {
	b = append(b, trackFormat)
	b = binary.AppendVarint(b, expires)
	b = binary.AppendUvarint(b, uint64(tr.Offenses))
	b = binary.AppendVarint(b, tr.BanStart)
	b = binary.AppendVarint(b, tr.BanUntil)
	b = binary.AppendUvarint(b, uint64(len(tr.Failures)))
	prev := int64(0)
	for _, f := range tr.Failures {
		b = binary.AppendVarint(b, f-prev)
		prev = f
	}
	return b
}

var errTrack = errors.New("bad track encoding")

// trackExpiry returns the expiry a stored track is indexed at.
func trackExpiry(b []byte) (int64, error) {
	if len(b) == 0 {
		return 0, errTrack
	}
	switch b[0] {
	case trackFormat1:
		return expiryNow, nil
	case trackFormat:
		v, n := binary.Varint(b[1:])
		if n <= 0 {
			return 0, errTrack
		}
		return v, nil
	}
	return 0, errTrack
}

func decodeTrack(b []byte) (*analyze.Track, error) {
	if len(b) == 0 || (b[0] != trackFormat && b[0] != trackFormat1) {
		return nil, errTrack
	}
	format := b[0]
	b = b[1:]
	next := func() (int64, bool) {
		v, n := binary.Varint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	nextU := func() (uint64, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	if format == trackFormat {
		if _, ok := next(); !ok {
			return nil, errTrack
		}
	}
	var tr analyze.Track
	off, ok1 := nextU()
	start, ok2 := next()
	until, ok3 := next()
	count, ok4 := nextU()
	if !ok1 || !ok2 || !ok3 || !ok4 || count > 1<<16 || off > 1<<30 {
		return nil, errTrack
	}
	tr.Offenses, tr.BanStart, tr.BanUntil = int(off), start, until
	tr.Failures = make([]int64, 0, count)
	prev := int64(0)
	for i := uint64(0); i < count; i++ {
		d, ok := next()
		if !ok {
			return nil, errTrack
		}
		prev += d
		tr.Failures = append(tr.Failures, prev)
	}
	if len(b) != 0 {
		return nil, errTrack
	}
	return &tr, nil
}

func trackKeyOf(jail string, key netip.Prefix) []byte { return jailKey(jail, prefixBytes(key)) }

// expiryKey returns the index key of a track key (jail, 0, prefix).
func expiryKey(trackKey []byte, expires int64) []byte {
	return appendExpiryKey(make([]byte, 0, len(trackKey)+8), trackKey, expires)
}

func appendExpiryKey(k, trackKey []byte, expires int64) []byte {
	j := bytes.IndexByte(trackKey, 0)
	k = append(k, trackKey[:j+1]...)
	k = binary.BigEndian.AppendUint64(k, uint64(expires)^1<<63)
	return append(k, trackKey[j+1:]...)
}

// splitExpiryKey returns an index key's expiry and track key.
func splitExpiryKey(k []byte) (expires int64, trackKey []byte, ok bool) {
	j := bytes.IndexByte(k, 0)
	if j < 0 || len(k) != j+1+8+18 {
		return 0, nil, false
	}
	expires = int64(binary.BigEndian.Uint64(k[j+1:]) ^ 1<<63)
	trackKey = append(append(make([]byte, 0, j+1+18), k[:j+1]...), k[j+9:]...)
	return expires, trackKey, true
}

// Track returns the track of key in jail, or nil.
func (tx *Tx) Track(jail string, key netip.Prefix) (*analyze.Track, error) {
	data := tx.get(bucketTracks, trackKeyOf(jail, key))
	if data == nil {
		return nil, nil
	}
	tr, err := decodeTrack(data)
	if err != nil {
		return nil, corrupt(tx.path, fmt.Errorf("track %s %s: %w", jail, key, err))
	}
	return tr, nil
}

// TrackUpdate is a track to write back (PutTracks).
type TrackUpdate struct {
	Jail string
	Key  netip.Prefix
	// Track is the track to keep; nil deletes it.
	Track *analyze.Track
	// Expires is when the track goes stale (analyze.Track.Expiry), in
	// Unix nanoseconds: where the purge finds it.
	Expires int64
	// New says that the track was not in the state when this
	// transaction looked (Tx.Track returned nil): there is no old index
	// entry to look up.
	New bool
}

// PutTrack saves a track, to be judged by the next purge (PutTracks
// indexes it by its expiry instead).
func (tx *Tx) PutTrack(jail string, key netip.Prefix, tr *analyze.Track) error {
	return tx.PutTracks([]TrackUpdate{{Jail: jail, Key: key, Track: tr, Expires: expiryNow}})
}

// DeleteTrack removes a track.
func (tx *Tx) DeleteTrack(jail string, key netip.Prefix) error {
	return tx.PutTracks([]TrackUpdate{{Jail: jail, Key: key}})
}

type keyVal struct{ k, v []byte }

// updateOrder is an update's key in a form quick to compare: jail, then
// prefixBytes as two words and a third (bits, IPv4 flag).
type updateOrder struct {
	jail      string
	hi, lo    uint64
	bits, is4 uint32
	i         int
}

func orderOf(u *TrackUpdate, i int) updateOrder {
	a := u.Key.Addr().As16()
	return updateOrder{u.Jail, binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:]),
		uint32(u.Key.Bits()), uint32(boolByte(u.Key.Addr().Is4())), i}
}

func compareOrder(a, b updateOrder) int {
	if a.jail != b.jail {
		return strings.Compare(a.jail, b.jail)
	}
	switch {
	case a.hi != b.hi:
		return cmp.Compare(a.hi, b.hi)
	case a.lo != b.lo:
		return cmp.Compare(a.lo, b.lo)
	case a.bits != b.bits:
		return cmp.Compare(a.bits, b.bits)
	}
	return cmp.Compare(a.is4, b.is4)
}

// PutTracks writes and deletes tracks, with their index entries, in key
// order: bbolt keeps a bucket's pages as sorted slices that it splits
// only at commit, so a transaction that inserts many keys in random order
// moves memory in proportion to the square of their number (68% of a run
// with 50,000 new addresses), and in key order appends.
func (tx *Tx) PutTracks(us []TrackUpdate) error {
	tb, ib := tx.bucket(bucketTracks), tx.bucket(bucketExpiry)
	if tb == nil || ib == nil || !tx.tx.Writable() {
		return fmt.Errorf("%w: %s", ErrReadOnly, tx.path)
	}
	// Pages filled to 90% rather than bbolt's 50%: keys in order fill
	// one page after the other, and half-empty pages would double the
	// file and the bytes written.
	tb.FillPercent, ib.FillPercent = 0.9, 0.9
	order := make([]updateOrder, len(us))
	for i := range us {
		order[i] = orderOf(&us[i], i)
	}
	slices.SortFunc(order, compareOrder)
	// Keys and values go in one buffer (bbolt keeps the slices it is
	// given until the commit): a run of a million new addresses makes
	// three allocations here, not four million.
	size := 0
	for i := range us {
		size += 2 * (len(us[i].Jail) + 1 + 18 + 8)
		if tr := us[i].Track; tr != nil {
			size += 1 + 5*binary.MaxVarintLen64 + binary.MaxVarintLen64*len(tr.Failures)
		}
	}
	arena := make([]byte, 0, size)
	take := func(start int) []byte { return arena[start:len(arena):len(arena)] }
	type indexPut struct {
		jail    string
		expires int64
		n       int // place in key order
		key     []byte
	}
	// Encoded in the updates' own order, which is the order of their
	// tracks in the caller's memory (a run's, the order met): in key
	// order every track would be a cache miss or two.
	kvs := make([]keyVal, len(us))
	for i := range us {
		u := &us[i]
		start := len(arena)
		arena = append(arena, u.Jail...)
		arena = append(arena, 0)
		arena = append(arena, prefixBytes(u.Key)...)
		kvs[i].k = take(start)
		if u.Track != nil {
			start = len(arena)
			arena = appendTrack(arena, u.Track, u.Expires)
			kvs[i].v = take(start)
		}
	}
	// By the updates' own order: a run gives them in the order met, so
	// their expiries come nearly sorted, which the sort below is quick on.
	byInput := make([]indexPut, len(us))
	var idxDel [][]byte
	for n, o := range order {
		u := &us[o.i]
		k, v := kvs[o.i].k, kvs[o.i].v
		keep := false
		if !u.New {
			if old := tb.Get(k); old != nil {
				exp, err := trackExpiry(old)
				if err != nil {
					return corrupt(tx.path, fmt.Errorf("track %s %s: %w", u.Jail, u.Key, err))
				}
				if v != nil && exp == u.Expires {
					keep = true // the index entry is in place
				} else {
					idxDel = append(idxDel, expiryKey(k, exp))
				}
			}
		}
		if v != nil && !keep {
			byInput[o.i] = indexPut{u.Jail, u.Expires, n, k}
		}
		var err error
		if v == nil {
			err = tb.Delete(k)
		} else {
			err = tb.Put(k, v)
		}
		if err != nil {
			return fmt.Errorf("state %s: track %s %s: %w", tx.path, u.Jail, u.Key, err)
		}
	}
	puts := byInput[:0]
	for _, p := range byInput {
		if p.key != nil {
			puts = append(puts, p)
		}
	}
	// The index's order: jail, expiry, then the track key's.
	slices.SortFunc(puts, func(a, b indexPut) int {
		if a.jail != b.jail {
			return strings.Compare(a.jail, b.jail)
		}
		if a.expires != b.expires {
			return cmp.Compare(a.expires, b.expires)
		}
		return cmp.Compare(a.n, b.n)
	})
	idxPut := make([][]byte, len(puts))
	for i, p := range puts {
		start := len(arena)
		arena = appendExpiryKey(arena, p.key, p.expires)
		idxPut[i] = take(start)
	}
	return tx.writeIndex(ib, idxDel, idxPut, true)
}

// writeIndex deletes and adds index keys, each in key order (put is
// sorted already when sorted is true).
func (tx *Tx) writeIndex(ib *bolt.Bucket, del, put [][]byte, sorted bool) error {
	slices.SortFunc(del, bytes.Compare)
	if !sorted {
		slices.SortFunc(put, bytes.Compare)
	}
	for _, k := range del {
		if err := ib.Delete(k); err != nil {
			return fmt.Errorf("state %s: track index: %w", tx.path, err)
		}
	}
	for _, k := range put {
		if err := ib.Put(k, nil); err != nil {
			return fmt.Errorf("state %s: track index: %w", tx.path, err)
		}
	}
	return nil
}

// ForEachTrack calls fn for every track (status).
func (tx *Tx) ForEachTrack(fn func(jail string, key netip.Prefix, tr *analyze.Track) error) error {
	b := tx.bucket(bucketTracks)
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error {
		jail, key, err := splitTrackKey(k)
		if err != nil {
			return corrupt(tx.path, err)
		}
		tr, err := decodeTrack(v)
		if err != nil {
			return corrupt(tx.path, fmt.Errorf("track %s %s: %w", jail, key, err))
		}
		return fn(jail, key, tr)
	})
}

// TrackJudge decides on a track that its index says is due: stale true
// deletes it; otherwise it is indexed again at expires (Unix nanoseconds),
// which must lie after the jail's due time (a policy changed since it was
// written, say).
type TrackJudge func(jail string, tr *analyze.Track) (stale bool, expires int64)

// PurgeTracks deletes the tracks whose time has come. due returns the time
// up to which a jail's tracks are due, or ok false for a jail no longer
// configured, all of whose tracks go. Each due track is judged, and
// deleted or indexed again. The cost is one index key per jail plus the
// tracks due: a run that passes a flood's windows purges them, a quiet
// run reads no track. It returns how many tracks it deleted.
func (tx *Tx) PurgeTracks(due func(jail string) (time.Time, bool), judge TrackJudge) (int, error) {
	tb, ib := tx.bucket(bucketTracks), tx.bucket(bucketExpiry)
	if tb == nil || ib == nil {
		return 0, nil
	}
	var dead, idxDel, idxPut [][]byte
	var reindex []keyVal
	c := ib.Cursor()
	for k, _ := c.First(); k != nil; {
		j := bytes.IndexByte(k, 0)
		if j < 0 {
			return 0, corrupt(tx.path, fmt.Errorf("track index key %q", k))
		}
		jail := string(k[:j])
		at, ok := due(jail)
		end := int64(math.MaxInt64)
		if ok {
			end = at.UnixNano()
		}
		for ; k != nil && len(k) > j && string(k[:j]) == jail && k[j] == 0; k, _ = c.Next() {
			exp, tk, good := splitExpiryKey(k)
			if !good {
				return 0, corrupt(tx.path, fmt.Errorf("track index key %q", k))
			}
			if exp > end {
				break
			}
			idxDel = append(idxDel, bytes.Clone(k))
			v := tb.Get(tk)
			if v == nil {
				continue // a stray index entry: drop it
			}
			if !ok {
				dead = append(dead, tk) // the jail is gone
				continue
			}
			tr, err := decodeTrack(v)
			if err != nil {
				return 0, corrupt(tx.path, fmt.Errorf("track %q: %w", tk, err))
			}
			if stale, exp := judge(jail, tr); stale {
				dead = append(dead, tk)
			} else {
				reindex = append(reindex, keyVal{tk, encodeTrack(tr, exp)})
				idxPut = append(idxPut, expiryKey(tk, exp))
			}
		}
		// The next jail's entries start after jail, 0, 0xff...: seek
		// past this jail's remaining (not yet due) entries.
		k, _ = c.Seek(append([]byte(jail), 1))
	}
	if !tx.tx.Writable() {
		return 0, fmt.Errorf("%w: %s", ErrReadOnly, tx.path)
	}
	for _, k := range dead { // in key order: the index is per jail, then by time
		if err := tb.Delete(k); err != nil {
			return 0, fmt.Errorf("state %s: track %q: %w", tx.path, k, err)
		}
	}
	slices.SortFunc(reindex, func(a, b keyVal) int { return bytes.Compare(a.k, b.k) })
	for _, kv := range reindex {
		if err := tb.Put(kv.k, kv.v); err != nil {
			return 0, fmt.Errorf("state %s: track %q: %w", tx.path, kv.k, err)
		}
	}
	return len(dead), tx.writeIndex(ib, idxDel, idxPut, false)
}

// indexTracks indexes every track as due: the migration from schema 1,
// whose files have no index.
func (tx *Tx) indexTracks() error {
	tb, ib := tx.bucket(bucketTracks), tx.bucket(bucketExpiry)
	var put [][]byte
	err := tb.ForEach(func(k, v []byte) error {
		exp, err := trackExpiry(v)
		if err != nil {
			return corrupt(tx.path, fmt.Errorf("track %q: %w", k, err))
		}
		put = append(put, expiryKey(k, exp))
		return nil
	})
	if err != nil {
		return err
	}
	return tx.writeIndex(ib, nil, put, false)
}

func splitTrackKey(k []byte) (string, netip.Prefix, error) {
	j, rest, ok := bytes.Cut(k, []byte{0})
	if !ok || len(rest) != 18 {
		return "", netip.Prefix{}, fmt.Errorf("track key %q", k)
	}
	a := netip.AddrFrom16([16]byte(rest[:16]))
	if rest[17] == 1 {
		a = a.Unmap()
	}
	p, err := a.Prefix(int(rest[16]))
	if err != nil {
		return "", netip.Prefix{}, fmt.Errorf("track key %q: %w", k, err)
	}
	return string(j), p, nil
}
