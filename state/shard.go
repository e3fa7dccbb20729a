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

	bolt "go.etcd.io/bbolt"
)

// Tracks are packed in shards (schema 4): a jail's tracks, sorted by key,
// are cut into ranges of at most shardMax tracks, each stored as one
// value of the tracks bucket under jail, 0, the range's start (a track
// key: 18 bytes, see prefixBytes). A shard holds the keys from its start
// up to the next shard's start; the jail's first shard holds the keys
// below its start as well. One bbolt key per window made a flood of a
// million new addresses put two million keys (the window and its index
// entry), most of the run; packed, it puts a few thousand.
//
// A shard value is shardFormat, varint the earliest expiry of its tracks
// (where its one index entry is), uvarint the count of tracks, then per
// track in key order: a byte 1 for IPv4 (0 for IPv6), the prefix length,
// the address (4 or 16 bytes), uvarint the length of the track, the track
// (appendTrack: it holds its own expiry).

const shardFormat = 0x40

// shardMax is the most tracks a shard holds: a write that makes one
// larger splits it into shards of about shardFill. Small shards cost a
// bbolt key and an index entry per few tracks; large ones make a run that
// changes one track rewrite and decode many (bench/flood.sh, issue 15).
var shardMax = 256

// shardBytes bounds a shard's tracks' bytes as well: a jail whose
// tracks hold many failures (a large maxretry) gets shards of fewer
// tracks, so that a run changing one track rewrites some 64 KiB, not
// megabytes. Typical windows (some 30 bytes) never reach it.
var shardBytes = 64 << 10

// shardFill is how full a shard is left by a split: 3/4 of shardMax, so
// that a few new tracks do not split it again at once.
func shardFill() int { return max(1, shardMax*3/4) }

// trackID is a track key (prefixBytes) in a form quick to compare: the
// address's 16 bytes as two words, its length and its IPv4 flag.
type trackID struct {
	hi, lo    uint64
	bits, is4 uint8
}

func idOf(p netip.Prefix) trackID {
	a := p.Addr().As16()
	return trackID{binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:]), uint8(p.Bits()), boolByte(p.Addr().Is4())}
}

// idOfKey reads the 18 bytes of prefixBytes.
func idOfKey(k []byte) trackID {
	return trackID{binary.BigEndian.Uint64(k[:8]), binary.BigEndian.Uint64(k[8:16]), k[16], k[17]}
}

func compareID(a, b trackID) int {
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

func (id trackID) appendKey(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, id.hi)
	b = binary.BigEndian.AppendUint64(b, id.lo)
	return append(b, id.bits, id.is4)
}

func (id trackID) prefix() (netip.Prefix, error) {
	var a16 [16]byte
	binary.BigEndian.PutUint64(a16[:8], id.hi)
	binary.BigEndian.PutUint64(a16[8:], id.lo)
	a := netip.AddrFrom16(a16)
	if id.is4 == 1 {
		a = a.Unmap()
	}
	p, err := a.Prefix(int(id.bits))
	if err != nil || p.Addr() != a || id.is4 > 1 || id.is4 == 1 && !a.Is4() {
		return netip.Prefix{}, fmt.Errorf("track key %x/%d", a16, id.bits)
	}
	return p, nil
}

// shardKey returns the bbolt key of the shard of jail starting at id.
func shardKey(jail string, id trackID) []byte {
	k := make([]byte, 0, len(jail)+1+18)
	k = append(k, jail...)
	k = append(k, 0)
	return id.appendKey(k)
}

// splitShardKey returns a shard key's jail and start.
func splitShardKey(k []byte) (string, trackID, bool) {
	j := bytes.IndexByte(k, 0)
	if j < 0 || len(k) != j+1+18 {
		return "", trackID{}, false
	}
	return string(k[:j]), idOfKey(k[j+1:]), true
}

// shard is a shard decoded in a transaction: its tracks' keys, expiries
// and encodings (slices of the bbolt value, valid in the transaction).
type shard struct {
	key     []byte // its bbolt key (a copy)
	start   trackID
	next    trackID // the next shard's start, when hasNext
	hasNext bool
	first   bool  // the jail's first shard: it holds the keys below start too
	expires int64 // the earliest expiry, as indexed
	ids     []trackID
	exps    []int64
	vals    [][]byte
}

// covers reports whether id falls in the shard's range.
func (s *shard) covers(id trackID) bool {
	return (s.first || compareID(id, s.start) >= 0) && (!s.hasNext || compareID(id, s.next) < 0)
}

// find returns the place of id among the shard's tracks.
func (s *shard) find(id trackID) (int, bool) {
	return slices.BinarySearchFunc(s.ids, id, compareID)
}

var errShard = errors.New("bad track shard encoding")

// decodeShard reads a shard value; its tracks' own encodings are checked
// when they are read (decodeTrack).
func decodeShard(key, v []byte) (*shard, error) {
	_, start, ok := splitShardKey(key)
	if !ok {
		return nil, fmt.Errorf("track shard key %q", key)
	}
	s := &shard{key: bytes.Clone(key), start: start}
	if len(v) > 0 && (v[0] == trackFormat || v[0] == trackFormat1) {
		// A track of schema 3 or before, under its own key: a file
		// opened read-only is read as it is (the next run migrates
		// it), each track a shard of one.
		exp, err := trackExpiry(v)
		if err != nil {
			return nil, err
		}
		s.expires, s.ids, s.exps, s.vals = exp, []trackID{start}, []int64{exp}, [][]byte{v}
		return s, nil
	}
	if len(v) == 0 || v[0] != shardFormat {
		return nil, errShard
	}
	v = v[1:]
	exp, n := binary.Varint(v)
	if n <= 0 {
		return nil, errShard
	}
	v = v[n:]
	count, n := binary.Uvarint(v)
	if n <= 0 || count > uint64(len(v)) {
		return nil, errShard
	}
	v = v[n:]
	s.expires = exp
	s.ids = make([]trackID, 0, count)
	s.exps = make([]int64, 0, count)
	s.vals = make([][]byte, 0, count)
	least := int64(math.MaxInt64)
	for range count {
		if len(v) < 2 || v[0] > 1 {
			return nil, errShard
		}
		id := trackID{bits: v[1], is4: v[0]}
		v = v[2:]
		if id.is4 == 1 {
			if len(v) < 4 {
				return nil, errShard
			}
			id.lo = 0xffff<<32 | uint64(binary.BigEndian.Uint32(v))
			v = v[4:]
		} else {
			if len(v) < 16 {
				return nil, errShard
			}
			id.hi, id.lo = binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:])
			v = v[16:]
		}
		l, n := binary.Uvarint(v)
		if n <= 0 || l > uint64(len(v)-n) {
			return nil, errShard
		}
		tv := v[n : n+int(l) : n+int(l)]
		v = v[n+int(l):]
		te, err := trackExpiry(tv)
		if err != nil {
			return nil, err
		}
		if k := len(s.ids); k > 0 && compareID(s.ids[k-1], id) >= 0 {
			return nil, fmt.Errorf("%w: tracks out of order", errShard)
		}
		s.ids = append(s.ids, id)
		s.exps = append(s.exps, te)
		s.vals = append(s.vals, tv)
		least = min(least, te)
	}
	if len(v) != 0 || count == 0 || least != exp {
		return nil, errShard
	}
	return s, nil
}

// shardEntry is a track of a shard being written: its key, expiry and
// encoding (appendTrack).
type shardEntry struct {
	id  trackID
	exp int64
	val []byte
}

// encodeShard returns the value of a shard holding es, and its earliest
// expiry.
func encodeShard(es []shardEntry) ([]byte, int64) {
	size := 1 + 2*binary.MaxVarintLen64
	least := int64(math.MaxInt64)
	for i := range es {
		size += 2 + 16 - 12*int(es[i].id.is4) + binary.MaxVarintLen32 + len(es[i].val)
		least = min(least, es[i].exp)
	}
	b := make([]byte, 0, size)
	b = append(b, shardFormat)
	b = binary.AppendVarint(b, least)
	b = binary.AppendUvarint(b, uint64(len(es)))
	for i := range es {
		e := &es[i]
		b = append(b, e.id.is4, e.id.bits)
		if e.id.is4 == 1 {
			b = binary.BigEndian.AppendUint32(b, uint32(e.id.lo))
		} else {
			b = binary.BigEndian.AppendUint64(b, e.id.hi)
			b = binary.BigEndian.AppendUint64(b, e.id.lo)
		}
		b = binary.AppendUvarint(b, uint64(len(e.val)))
		b = append(b, e.val...)
	}
	return b, least
}

// jailShards are the shards of a jail a transaction has read, sorted by
// start; none says that the jail has no shard.
type jailShards struct {
	read   []*shard
	starts []trackID // read's starts, for a binary search that reads no shard
	none   bool
}

// shardOf returns the shard of jail whose range holds id, or nil when the
// jail has none. A shard is decoded once per transaction: a run looks up
// its new addresses one by one, and writes them back (PutTracks) through
// the same shards.
func (tx *Tx) shardOf(jail string, id trackID) (*shard, error) {
	js := tx.shards[jail]
	if js == nil {
		js = &jailShards{}
		if tx.shards == nil {
			tx.shards = map[string]*jailShards{}
		}
		tx.shards[jail] = js
	}
	if js.none {
		return nil, nil
	}
	i, _ := slices.BinarySearchFunc(js.starts, id, compareID)
	// read[i-1] is the last starting at or before id; read[0] may hold
	// keys below its start.
	if i > 0 && js.read[i-1].covers(id) {
		return js.read[i-1], nil
	}
	if i < len(js.read) && compareID(js.read[i].start, id) == 0 {
		return js.read[i], nil
	}
	if len(js.read) > 0 && js.read[0].covers(id) {
		return js.read[0], nil
	}
	s, err := tx.seekShard(jail, id)
	if err != nil || s == nil {
		js.none = s == nil && err == nil
		return s, err
	}
	j, found := slices.BinarySearchFunc(js.starts, s.start, compareID)
	if found {
		return js.read[j], nil
	}
	js.read = slices.Insert(js.read, j, s)
	js.starts = slices.Insert(js.starts, j, s.start)
	return s, nil
}

// inJail returns k's start if k is a shard key of jail.
func inJail(k []byte, jail string) (trackID, bool) {
	if len(k) != len(jail)+1+18 || k[len(jail)] != 0 || string(k[:len(jail)]) != jail {
		return trackID{}, false
	}
	return idOfKey(k[len(jail)+1:]), true
}

// keyBelow returns the last key of c's bucket from floor up and below
// key, with its value; nil when there is none. bbolt's Cursor.Prev
// answers nil, not the key before, when it comes to a leaf this
// transaction emptied by deletes (Next and Last step over such a leaf,
// Prev does not): then the keys from floor up to key are walked forward.
func keyBelow(c *bolt.Cursor, floor, key []byte) (k, v []byte) {
	at, _ := c.Seek(key)
	return keyBelowSeek(c, floor, key, at)
}

// keyBelowSeek is keyBelow for a cursor just sought to key, at being
// what the seek found.
func keyBelowSeek(c *bolt.Cursor, floor, key, at []byte) (k, v []byte) {
	if at == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	if k != nil {
		if bytes.Compare(k, floor) < 0 {
			return nil, nil
		}
		return k, v
	}
	var lk, lv []byte
	for k, v = c.Seek(floor); k != nil && bytes.Compare(k, key) < 0; k, v = c.Next() {
		lk, lv = k, v
	}
	return lk, lv
}

// jailFloor is the lowest key a shard of jail can have.
func jailFloor(jail string) []byte { return append([]byte(jail), 0) }

// seekShard reads the shard of jail holding id from the file: the one
// starting at id or before it, else the jail's first.
func (tx *Tx) seekShard(jail string, id trackID) (*shard, error) {
	tb := tx.bucket(bucketTracks)
	if tb == nil {
		return nil, nil
	}
	c := tb.Cursor()
	key := shardKey(jail, id)
	sk, sv := c.Seek(key)
	if !bytes.Equal(sk, key) {
		pk, pv := keyBelowSeek(c, jailFloor(jail), key, sk)
		if _, ok := inJail(pk, jail); ok {
			sk, sv = pk, pv
		} else if _, ok := inJail(sk, jail); !ok {
			return nil, nil
		}
	}
	s, err := decodeShard(sk, sv)
	if err != nil {
		return nil, tx.shardError(sk, err)
	}
	pk, _ := keyBelow(c, jailFloor(jail), s.key)
	_, before := inJail(pk, jail)
	s.first = !before
	c.Seek(s.key)
	nk, _ := c.Next()
	s.next, s.hasNext = inJail(nk, jail)
	return s, nil
}

func (tx *Tx) shardError(k []byte, err error) error {
	if jail, start, ok := splitShardKey(k); ok {
		p, _ := start.prefix()
		return corrupt(tx.path, fmt.Errorf("track shard %s %s: %w", jail, p, err))
	}
	return corrupt(tx.path, fmt.Errorf("track shard %q: %w", k, err))
}

// updateOrder is an update in a form quick to sort by jail and key: its
// jail's rank by name, its track key, and its track's encoding (n bytes
// of val; n 0: deleted; n inArena: val holds the offset and length of
// the encoding in the writer's arena, little-endian). Everything a
// shard's merge needs is here, moved by the sort: in key order, a look
// anywhere else would be a cache miss per update.
type updateOrder struct {
	hi, lo    uint64
	bits, is4 uint8
	jail      uint16
	n         uint8
	val       [27]byte
}

// inArena is the updateOrder.n of a track encoded in the arena.
const inArena = 0xff

func (o *updateOrder) id() trackID { return trackID{o.hi, o.lo, o.bits, o.is4} }

// sortWord returns the w-th word of o's sort key, least significant
// first.
func (o *updateOrder) sortWord(w int) uint64 {
	switch w {
	case 0:
		return uint64(o.bits)<<8 | uint64(o.is4)
	case 1:
		return o.lo
	case 2:
		return o.hi
	}
	return uint64(o.jail)
}

// sortOrder sorts updates by jail and key, stably (of two updates of a
// key, the later stays later): a radix sort on the bytes that differ
// between them (a flood of IPv4 addresses differs in four); a comparison
// sort of a million updates was a tenth of such a run.
func sortOrder(o []updateOrder) {
	radixSort(o, make([]updateOrder, len(o)))
}

// radixSort sorts o with tmp (as long) as room. A large o is first cut by
// its most significant byte that differs, each part then sorted within
// the cache, from the least significant byte up.
func radixSort(o, tmp []updateOrder) {
	if len(o) < 256 {
		slices.SortStableFunc(o, func(a, b updateOrder) int {
			if a.jail != b.jail {
				return cmp.Compare(a.jail, b.jail)
			}
			return compareID(a.id(), b.id())
		})
		return
	}
	var differ [4]uint64 // per word, its bits that differ
	for word := range differ {
		and, or := ^uint64(0), uint64(0)
		for i := range o {
			v := o[i].sortWord(word)
			and, or = and&v, or|v
		}
		differ[word] = and ^ or
	}
	if len(o) > 1<<13 {
		for word := 3; word >= 0; word-- {
			for shift := 56; shift >= 0; shift -= 8 {
				if differ[word]>>shift&0xff == 0 {
					continue
				}
				ends := radixPass(o, tmp, word, uint(shift))
				copy(o, tmp)
				start := 0
				for _, end := range ends {
					radixSort(o[start:end], tmp[start:end])
					start = end
				}
				return
			}
		}
		return // all alike
	}
	src, dst := o, tmp
	for word := range differ {
		for shift := uint(0); shift < 64; shift += 8 {
			if differ[word]>>shift&0xff != 0 {
				radixPass(src, dst, word, shift)
				src, dst = dst, src
			}
		}
	}
	if &src[0] != &o[0] {
		copy(o, src)
	}
}

// radixPass moves src to dst in the order of their byte at shift of
// word, stably, and returns where each byte value's run ends.
func radixPass(src, dst []updateOrder, word int, shift uint) [256]int {
	var count [256]int
	for i := range src {
		count[src[i].sortWord(word)>>shift&0xff]++
	}
	sum := 0
	for b := range count {
		count[b], sum = sum, sum+count[b]
	}
	for i := range src {
		b := src[i].sortWord(word) >> shift & 0xff
		dst[count[b]] = src[i]
		count[b]++
	}
	return count
}
