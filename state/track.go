package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"math"
	"net/netip"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"logjail/analyze"
)

// Tracks are packed in shards (shard.go) in the tracks bucket. The expiry
// bucket indexes the shards by the earliest time one of their tracks goes
// stale: jail, 0, the time (8 bytes, big-endian, sign bit flipped so that
// the order is the times' order), the shard's start (18 bytes). A run
// purges a jail's tracks by walking its index from the start up to the
// jail's time: a quiet run reads one index key per jail, whatever the
// number of tracks, and a run that passes windows rewrites the shards
// that hold them. The index is a hint, not the truth: a track is deleted
// only when the policy of the day finds it stale, and a track written
// without its expiry (PutTrack) is due at once, to be judged by the next
// purge.

// A track is stored as format byte (2), varint expiry (Unix nanoseconds:
// its shard is indexed at the earliest of its tracks'), uvarint offenses, varint ban start and until
// (Unix nanoseconds), uvarint count, then the failure times as varint
// deltas: some twenty bytes for a typical address. Format 1 lacks the
// expiry; its tracks are due (schema 1 files, see migrate).

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

// expiryKey returns the index key of a shard key (jail, 0, start).
func expiryKey(shardKey []byte, expires int64) []byte {
	j := bytes.IndexByte(shardKey, 0)
	k := make([]byte, 0, len(shardKey)+8)
	k = append(k, shardKey[:j+1]...)
	k = binary.BigEndian.AppendUint64(k, uint64(expires)^1<<63)
	return append(k, shardKey[j+1:]...)
}

// splitExpiryKey returns an index key's expiry and shard key.
func splitExpiryKey(k []byte) (expires int64, shardKey []byte, ok bool) {
	j := bytes.IndexByte(k, 0)
	if j < 0 || len(k) != j+1+8+18 {
		return 0, nil, false
	}
	expires = int64(binary.BigEndian.Uint64(k[j+1:]) ^ 1<<63)
	shardKey = append(append(make([]byte, 0, j+1+18), k[:j+1]...), k[j+9:]...)
	return expires, shardKey, true
}

// Track returns the track of key in jail, or nil.
func (tx *Tx) Track(jail string, key netip.Prefix) (*analyze.Track, error) {
	if n, ok := tx.at[pendingKey{jail, key}]; ok {
		return cloneTrack(tx.pending[n].Track), nil
	}
	id := idOf(key)
	sh, err := tx.shardOf(jail, id)
	if err != nil || sh == nil {
		return nil, err
	}
	i, ok := sh.find(id)
	if !ok {
		return nil, nil
	}
	tr, err := decodeTrack(sh.vals[i])
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
	// transaction looked (Tx.Track returned nil). A hint that the
	// shards (schema 4) no longer need: the track's shard is read
	// anyway.
	New bool
}

// PutTrack saves a track, to be judged by the next purge (PutTracks
// indexes it by its expiry instead). The track is copied.
func (tx *Tx) PutTrack(jail string, key netip.Prefix, tr *analyze.Track) error {
	return tx.putPending(TrackUpdate{Jail: jail, Key: key, Track: cloneTrack(tr), Expires: expiryNow})
}

// DeleteTrack removes a track.
func (tx *Tx) DeleteTrack(jail string, key netip.Prefix) error {
	return tx.putPending(TrackUpdate{Jail: jail, Key: key})
}

// putPending keeps an update of one track until the next write of many:
// written one at a time, each rewrote its shard (an unban of 10,000
// addresses by hand: 40 us each, ten times one key per track).
func (tx *Tx) putPending(u TrackUpdate) error {
	if !tx.tx.Writable() {
		return fmt.Errorf("%w: %s", ErrReadOnly, tx.path)
	}
	k := pendingKey{u.Jail, u.Key}
	if n, ok := tx.at[k]; ok {
		tx.pending[n] = u
		return nil
	}
	if tx.at == nil {
		tx.at = map[pendingKey]int{}
	}
	tx.at[k] = len(tx.pending)
	tx.pending = append(tx.pending, u)
	return nil
}

// flushTracks writes the pending updates.
func (tx *Tx) flushTracks() error {
	if len(tx.pending) == 0 {
		return nil
	}
	return tx.PutTracks(nil)
}

func cloneTrack(tr *analyze.Track) *analyze.Track {
	if tr == nil {
		return nil
	}
	c := *tr
	c.Failures = slices.Clone(tr.Failures)
	return &c
}

// PutTracks writes and deletes tracks. Each shard they fall in is read
// once and written once, in key order (bbolt keeps a bucket's pages as
// sorted slices that it splits only at commit: keys put in random order
// move memory in proportion to the square of their number); a shard that
// grows past shardMax is split, one left empty deleted, and each shard
// written is indexed again at its earliest expiry. The cost is linear in
// the updates and the shards they touch, not in the state's size. Of two
// updates of one key, the later wins.
func (tx *Tx) PutTracks(us []TrackUpdate) error {
	return tx.PutTrackSeq(len(us), func(yield func(*TrackUpdate) bool) {
		for i := range us {
			if !yield(&us[i]) {
				return
			}
		}
	})
}

// PutTrackSeq is PutTracks of the updates seq yields, about n of them: a
// run of a million new addresses need not hold a million updates as well
// as its tracks. The updates are read once, in seq's order, and not kept.
func (tx *Tx) PutTrackSeq(n int, seq iter.Seq[*TrackUpdate]) error {
	tb, ib := tx.bucket(bucketTracks), tx.bucket(bucketExpiry)
	if tb == nil || ib == nil || !tx.tx.Writable() {
		return fmt.Errorf("%w: %s", ErrReadOnly, tx.path)
	}
	// Pages filled to 90% rather than bbolt's 50%: keys in order fill
	// one page after the other, and half-empty pages would double the
	// file and the bytes written.
	tb.FillPercent, ib.FillPercent = 0.9, 0.9
	if len(tx.pending) > 0 {
		// PutTrack's first: seq's come later, and win
		pending := tx.pending
		tx.pending, tx.at = nil, nil
		seq0 := seq
		seq = func(yield func(*TrackUpdate) bool) {
			for i := range pending {
				if !yield(&pending[i]) {
					return
				}
			}
			seq0(yield)
		}
		n += len(pending)
	}
	// The tracks are encoded in seq's order, which is the order of the
	// tracks in the caller's memory (a run's: the order met), into their
	// updateOrder (a window of one failure takes 23 bytes) or, when
	// longer, one buffer: in key order every track would be a cache miss
	// or two, and one allocation each a million for a flood.
	w := shardWriter{tx: tx, tb: tb}
	var scratch []byte
	var jails []string
	jailOf := map[string]uint16{}
	order := make([]updateOrder, 0, n)
	var err error
	for u := range seq {
		j, ok := jailOf[u.Jail]
		if !ok {
			if len(jails) > math.MaxUint16 {
				err = fmt.Errorf("state %s: more than %d jails", tx.path, math.MaxUint16)
				break
			}
			j = uint16(len(jails))
			jailOf[u.Jail] = j
			jails = append(jails, u.Jail)
		}
		id := idOf(u.Key)
		o := updateOrder{hi: id.hi, lo: id.lo, bits: id.bits, is4: id.is4, jail: j}
		if u.Track != nil {
			scratch = appendTrack(scratch[:0], u.Track, u.Expires)
			if len(scratch) <= len(o.val) {
				o.n = uint8(copy(o.val[:], scratch))
			} else {
				if len(w.arena)+len(scratch) > math.MaxUint32 {
					err = fmt.Errorf("state %s: %d bytes of tracks in one write", tx.path, len(w.arena))
					break
				}
				o.n = inArena
				binary.LittleEndian.PutUint32(o.val[:], uint32(len(w.arena)))
				binary.LittleEndian.PutUint32(o.val[4:], uint32(len(scratch)))
				if cap(w.arena)-len(w.arena) < len(scratch) {
					// doubled: append's growth by a quarter allocated
					// five times the arena (16 MB for ban - of 100,000)
					w.arena = slices.Grow(w.arena, max(len(w.arena), 4096))
				}
				w.arena = append(w.arena, scratch...)
			}
		}
		order = append(order, o)
	}
	if err != nil {
		return err
	}
	// Jails by name, so that the shards go in key order.
	rank := make([]uint16, len(jails))
	byName := slices.Clone(jails)
	slices.Sort(byName)
	for r, name := range byName {
		rank[jailOf[name]] = uint16(r)
	}
	for i := range order {
		order[i].jail = rank[order[i].jail]
	}
	sortOrder(order)
	for start := 0; start < len(order); {
		jail := byName[order[start].jail]
		end := start + 1
		for end < len(order) && order[end].jail == order[start].jail {
			end++
		}
		err := w.putJail(jail, order[start:end])
		delete(tx.shards, jail) // the shards read are rewritten
		if err != nil {
			return err
		}
		start = end
	}
	return tx.writeIndex(ib, w.idxDel, w.idxPut)
}

// shardWriter writes shards and gathers their index changes.
type shardWriter struct {
	tx *Tx
	tb *bolt.Bucket
	// arena holds the updates' tracks too long for their updateOrder.
	arena          []byte
	entries        []shardEntry
	idxDel, idxPut [][]byte
}

// entry returns the shard entry of an update that keeps its track.
func (w *shardWriter) entry(o *updateOrder) shardEntry {
	var v []byte
	if o.n == inArena {
		off, n := binary.LittleEndian.Uint32(o.val[:]), binary.LittleEndian.Uint32(o.val[4:])
		v = w.arena[off : off+n : off+n]
	} else {
		v = o.val[:o.n:o.n]
	}
	exp, _ := trackExpiry(v)
	return shardEntry{o.id(), exp, v}
}

// putJail merges the updates of one jail (ord, in key order) into the
// shards they fall in.
func (w *shardWriter) putJail(jail string, ord []updateOrder) error {
	for i := 0; i < len(ord); {
		id := ord[i].id()
		sh, err := w.tx.shardOf(jail, id)
		if err != nil {
			return err
		}
		j := i + 1
		for j < len(ord) && (sh == nil || sh.covers(ord[j].id())) {
			j++
		}
		// Counted first, then written: a shard of a million new
		// tracks (the first write of a flood) is cut into pieces as
		// they come, never held whole.
		merge := func(emit func(shardEntry)) {
			a := 0 // the next of sh's tracks
			for k := i; k < j; k++ {
				o := &ord[k]
				id := o.id()
				if k+1 < j && ord[k+1].id() == id {
					continue // a later update of the same key
				}
				if sh != nil {
					for ; a < len(sh.ids) && compareID(sh.ids[a], id) < 0; a++ {
						emit(shardEntry{sh.ids[a], sh.exps[a], sh.vals[a]})
					}
					if a < len(sh.ids) && sh.ids[a] == id {
						a++
					}
				}
				if o.n > 0 {
					emit(w.entry(o))
				}
			}
			if sh != nil {
				for ; a < len(sh.ids); a++ {
					emit(shardEntry{sh.ids[a], sh.exps[a], sh.vals[a]})
				}
			}
		}
		n := 0
		merge(func(shardEntry) { n++ })
		if err := w.write(jail, sh, n, merge); err != nil {
			return err
		}
		i = j
	}
	return nil
}

// write replaces shard sh (nil: none yet) with the n tracks merge gives:
// one shard, or several of about shardFill when more than shardMax (or
// of shardBytes at most), or none.
func (w *shardWriter) write(jail string, sh *shard, n int, merge func(emit func(shardEntry))) error {
	kept := false // sh's index entry stays
	moved := true // sh's key goes: its tracks are gone or start below it
	pieces := 1
	if n > shardMax {
		pieces = (n + shardFill() - 1) / shardFill()
	}
	size := (n + pieces - 1) / pieces
	var err error
	first := true
	flush := func() {
		piece := w.entries
		w.entries = w.entries[:0]
		if err != nil || len(piece) == 0 {
			return
		}
		key := []byte(nil)
		if first && sh != nil && compareID(piece[0].id, sh.start) >= 0 {
			key = sh.key
		} else {
			// A new shard; or the jail's first, whose tracks now
			// start below it: it moves to its first track.
			key = shardKey(jail, piece[0].id)
		}
		if sh != nil && bytes.Equal(key, sh.key) {
			// the first piece; or, when the first moved below
			// it, the one starting at sh's own first track
			moved = false
		}
		val, least := encodeShard(piece)
		if err = w.tb.Put(key, val); err != nil {
			err = fmt.Errorf("state %s: track shard %s: %w", w.tx.path, jail, err)
			return
		}
		if first && sh != nil && !moved && least == sh.expires {
			kept = true
		} else {
			w.idxPut = append(w.idxPut, expiryKey(key, least))
		}
		first = false
	}
	w.entries = w.entries[:0]
	held := 0 // the bytes of w.entries' tracks
	merge(func(e shardEntry) {
		if held += len(e.val); held > shardBytes && len(w.entries) > 0 {
			flush()
			held = len(e.val)
		}
		w.entries = append(w.entries, e)
		if len(w.entries) == size {
			flush()
			held = 0
		}
	})
	flush()
	if err != nil || sh == nil {
		return err
	}
	if moved {
		if err := w.tb.Delete(sh.key); err != nil {
			return fmt.Errorf("state %s: track shard %s: %w", w.tx.path, jail, err)
		}
	}
	if !kept {
		w.idxDel = append(w.idxDel, expiryKey(sh.key, sh.expires))
	}
	return nil
}

// writeIndex deletes and adds index keys, each in key order.
func (tx *Tx) writeIndex(ib *bolt.Bucket, del, put [][]byte) error {
	slices.SortFunc(del, bytes.Compare)
	slices.SortFunc(put, bytes.Compare)
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

// ForEachTrack calls fn for every track (status), in key order.
func (tx *Tx) ForEachTrack(fn func(jail string, key netip.Prefix, tr *analyze.Track) error) error {
	if err := tx.flushTracks(); err != nil {
		return err
	}
	b := tx.bucket(bucketTracks)
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error {
		sh, err := decodeShard(k, v)
		if err != nil {
			return tx.shardError(k, err)
		}
		jail, _, _ := splitShardKey(k)
		for i, id := range sh.ids {
			key, err := id.prefix()
			if err != nil {
				return tx.shardError(k, err)
			}
			tr, err := decodeTrack(sh.vals[i])
			if err != nil {
				return corrupt(tx.path, fmt.Errorf("track %s %s: %w", jail, key, err))
			}
			if err := fn(jail, key, tr); err != nil {
				return err
			}
		}
		return nil
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
// deleted or kept with the expiry the judge gives. The cost is one index
// key per jail plus the shards holding due tracks: a run that passes a
// flood's windows purges them, a quiet run reads no track. It returns how
// many tracks it deleted.
func (tx *Tx) PurgeTracks(due func(jail string) (time.Time, bool), judge TrackJudge) (int, error) {
	if err := tx.flushTracks(); err != nil {
		return 0, err
	}
	tb, ib := tx.bucket(bucketTracks), tx.bucket(bucketExpiry)
	if tb == nil || ib == nil {
		return 0, nil
	}
	type dueShard struct {
		jail     string
		end      int64 // the jail's due time
		live     bool  // the jail is configured
		idx, key []byte
		expires  int64
	}
	var todo []dueShard
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
			exp, sk, good := splitExpiryKey(k)
			if !good {
				return 0, corrupt(tx.path, fmt.Errorf("track index key %q", k))
			}
			if exp > end {
				break
			}
			todo = append(todo, dueShard{jail, end, ok, bytes.Clone(k), sk, exp})
		}
		// The next jail's entries start after jail, 0, 0xff...: seek
		// past this jail's remaining (not yet due) entries.
		k, _ = c.Seek(append([]byte(jail), 1))
	}
	if len(todo) == 0 {
		return 0, nil
	}
	if !tx.tx.Writable() {
		return 0, fmt.Errorf("%w: %s", ErrReadOnly, tx.path)
	}
	tb.FillPercent, ib.FillPercent = 0.9, 0.9
	tx.shards = nil // the shards read are rewritten
	// In shard key order, as bbolt wants its writes.
	slices.SortFunc(todo, func(a, b dueShard) int { return bytes.Compare(a.key, b.key) })
	w := shardWriter{tx: tx, tb: tb}
	dead := 0
	for _, d := range todo {
		w.idxDel = append(w.idxDel, d.idx)
		v := tb.Get(d.key)
		if v == nil {
			continue // a stray index entry: drop it
		}
		sh, err := decodeShard(d.key, v)
		if err != nil {
			return 0, tx.shardError(d.key, err)
		}
		if sh.expires != d.expires {
			continue // stray: the shard's own entry is elsewhere
		}
		es := w.entries[:0]
		for i, id := range sh.ids {
			e := shardEntry{id, sh.exps[i], sh.vals[i]}
			if e.exp <= d.end {
				if !d.live {
					dead++
					continue
				}
				tr, err := decodeTrack(e.val)
				if err != nil {
					p, _ := id.prefix()
					return 0, corrupt(tx.path, fmt.Errorf("track %s %s: %w", d.jail, p, err))
				}
				stale, exp := judge(d.jail, tr)
				if stale {
					dead++
					continue
				}
				e.exp, e.val = exp, appendTrack(nil, tr, exp)
			}
			es = append(es, e)
		}
		w.entries = es
		// The index entry is deleted above: write the shard as new
		// (same key, or gone).
		if len(es) == 0 {
			if err := tb.Delete(sh.key); err != nil {
				return 0, fmt.Errorf("state %s: track shard %s: %w", tx.path, d.jail, err)
			}
			continue
		}
		val, least := encodeShard(es)
		if err := tb.Put(sh.key, val); err != nil {
			return 0, fmt.Errorf("state %s: track shard %s: %w", tx.path, d.jail, err)
		}
		w.idxPut = append(w.idxPut, expiryKey(sh.key, least))
	}
	return dead, tx.writeIndex(ib, w.idxDel, w.idxPut)
}

// migrateTracks packs the tracks of a schema 1 to 3 file, one bbolt key
// each (jail, 0, prefixBytes: the value a track of format 1 or 2), into
// shards with their index (schema 4): one transaction, like every
// migration. A format 1 track (schema 1, no expiry) is due at once.
func (tx *Tx) migrateTracks() error {
	var us []TrackUpdate
	if old := tx.tx.Bucket(bucketTracks); old != nil {
		err := old.ForEach(func(k, v []byte) error {
			jail, key, err := splitTrackKey(k)
			if err != nil {
				return corrupt(tx.path, err)
			}
			tr, err := decodeTrack(v)
			if err != nil {
				return corrupt(tx.path, fmt.Errorf("track %s %s: %w", jail, key, err))
			}
			exp, _ := trackExpiry(v)
			us = append(us, TrackUpdate{Jail: jail, Key: key, Track: tr, Expires: exp, New: true})
			return nil
		})
		if err != nil {
			return err
		}
		if err := tx.tx.DeleteBucket(bucketTracks); err != nil {
			return fmt.Errorf("state %s: drop old tracks: %w", tx.path, err)
		}
	}
	if tx.tx.Bucket(bucketExpiry) != nil {
		if err := tx.tx.DeleteBucket(bucketExpiry); err != nil {
			return fmt.Errorf("state %s: drop old track index: %w", tx.path, err)
		}
	}
	for _, name := range [][]byte{bucketTracks, bucketExpiry} {
		if _, err := tx.tx.CreateBucket(name); err != nil {
			return fmt.Errorf("state %s: create bucket %s: %w", tx.path, name, err)
		}
	}
	tx.shards = nil
	return tx.PutTracks(us)
}

// splitTrackKey reads a track key of schema 3 and before.
func splitTrackKey(k []byte) (string, netip.Prefix, error) {
	j, rest, ok := bytes.Cut(k, []byte{0})
	if !ok || len(rest) != 18 {
		return "", netip.Prefix{}, fmt.Errorf("track key %q", k)
	}
	p, err := idOfKey(rest).prefix()
	if err != nil {
		return "", netip.Prefix{}, fmt.Errorf("track key %q: %w", k, err)
	}
	return string(j), p, nil
}
