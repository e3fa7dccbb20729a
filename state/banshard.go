package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
)

// Bans are packed in shards (schema 5), as tracks are (shard.go): a
// jail's bans, sorted by prefix, are cut into ranges of at most
// banShardMax, each stored as one value of the bans bucket under jail, 0
// and its first ban's prefix (18 bytes, prefixBytes). A shard holds the
// bans from its key up to the next shard's. Its value is banShardFormat,
// uvarint the count, then per ban in prefix order a ban entry
// (appendBanEntry). A value of banFormat (schema 4 and before: one ban
// per key) reads as a shard of one. One bbolt key per ban made `ban -` of
// 100,000 addresses put 100,000 keys, a binary search of the bucket's
// node each; packed, it puts some 500.

const banShardFormat = 0x43

// banShardMax is the most bans a shard holds; a write that makes one
// larger cuts it into shards of 3/4 of it.
var banShardMax = 256

// appendBanEntry appends a ban as a shard or history batch holds it: its
// prefix (18 bytes), uvarint the length of its encoding (appendBan), the
// encoding.
func appendBanEntry(dst []byte, id trackID, enc []byte) []byte {
	dst = id.appendKey(dst)
	return append(binary.AppendUvarint(dst, uint64(len(enc))), enc...)
}

// nextBanEntry reads the ban entry at the start of v: its prefix, its
// encoding and the rest of v.
func nextBanEntry(v []byte) (id trackID, enc, rest []byte, err error) {
	if len(v) < 18 {
		return trackID{}, nil, nil, errors.New("truncated")
	}
	id = idOfKey(v[:18])
	l, w := binary.Uvarint(v[18:])
	if w <= 0 || l > uint64(len(v)-18-w) {
		return trackID{}, nil, nil, errors.New("truncated")
	}
	v = v[18+w:]
	return id, v[:l], v[l:], nil
}

// banShard is a shard read from the bans bucket: its bans' prefixes and
// encodings, in prefix order (slices of the bbolt value).
type banShard struct {
	ids  []trackID
	encs [][]byte
}

// banEntries calls fn with the prefix and encoding of each ban of the
// shard under key k, value v, in prefix order.
func banEntries(k, v []byte, fn func(id trackID, enc []byte) error) error {
	_, start, ok := splitShardKey(k)
	if !ok {
		return fmt.Errorf("key %q", k)
	}
	if len(v) > 0 && v[0] == banFormat {
		return fn(start, v)
	}
	if len(v) == 0 || v[0] != banShardFormat {
		return errBan
	}
	n, w := binary.Uvarint(v[1:])
	if w <= 0 || n == 0 || n > uint64(len(v)) {
		return errors.New("bad count")
	}
	v = v[1+w:]
	last := start
	for i := uint64(0); i < n; i++ {
		id, enc, rest, err := nextBanEntry(v)
		if err != nil {
			return err
		}
		if i == 0 && id != start || i > 0 && compareID(last, id) >= 0 {
			return errors.New("bans out of order")
		}
		if err := fn(id, enc); err != nil {
			return err
		}
		last, v = id, rest
	}
	if len(v) != 0 {
		return errors.New("trailing bytes")
	}
	return nil
}

// banCount returns how many bans the shard value v holds, by its header
// (banEntries checks it).
func banCount(v []byte) int {
	if len(v) > 0 && v[0] == banShardFormat {
		if n, w := binary.Uvarint(v[1:]); w > 0 && n <= uint64(len(v)) {
			return int(n)
		}
	}
	return 1
}

// decodeBanShard reads the shard under key k.
func decodeBanShard(k, v []byte) (*banShard, error) {
	n := banCount(v)
	s := &banShard{ids: make([]trackID, 0, n), encs: make([][]byte, 0, n)}
	err := banEntries(k, v, func(id trackID, enc []byte) error {
		s.ids, s.encs = append(s.ids, id), append(s.encs, enc)
		return nil
	})
	return s, err
}

func (tx *Tx) banError(k []byte, err error) error {
	if jail, id, ok := splitShardKey(k); ok {
		if p, perr := id.prefix(); perr == nil {
			return corrupt(tx.path, fmt.Errorf("ban shard %s %s: %w", jail, p, err))
		}
	}
	return corrupt(tx.path, fmt.Errorf("ban shard %q: %w", k, err))
}

// Ban returns the ban of prefix in jail, or nil.
func (tx *Tx) Ban(jail string, p netip.Prefix) (*Ban, error) {
	bb := tx.bucket(bucketBans)
	if bb == nil {
		return nil, nil
	}
	id := idOf(p)
	key := shardKey(jail, id)
	c := bb.Cursor()
	k, v := c.Seek(key)
	if !bytes.Equal(k, key) {
		if k, v = keyBelowSeek(c, jailFloor(jail), key, k); k == nil {
			return nil, nil
		}
	}
	// Read up to the prefix, nothing decoded on the way: a run looks up
	// each ban it decides.
	var found *Ban
	err := banEntries(k, v, func(eid trackID, enc []byte) error {
		switch c := compareID(eid, id); {
		case c < 0:
			return nil
		case c == 0:
			b, err := decodeBan(jail, p, enc)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			found = &b
		}
		return errStop
	})
	if err != nil && err != errStop {
		return nil, tx.banError(k, err)
	}
	return found, nil
}

// errStop ends a walk of a shard's bans early.
var errStop = errors.New("stop")

// Bans returns every ban held, active or expired but not yet lifted, in
// key order (jail, then address).
func (tx *Tx) Bans() ([]Ban, error) {
	bb := tx.bucket(bucketBans)
	if bb == nil {
		return nil, nil
	}
	n := 0
	bb.ForEach(func(_, v []byte) error { n += banCount(v); return nil })
	out := make([]Ban, 0, n)
	err := bb.ForEach(func(k, v []byte) error {
		jail, _, ok := splitShardKey(k)
		if !ok {
			return tx.banError(k, errors.New("bad key"))
		}
		err := banEntries(k, v, func(id trackID, enc []byte) error {
			p, err := id.prefix()
			if err != nil {
				return err
			}
			b, err := decodeBan(jail, p, enc)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			out = append(out, b)
			return nil
		})
		if err != nil {
			return tx.banError(k, err)
		}
		return nil
	})
	return out, err
}

// PutBan saves a ban, replacing one of the same jail and prefix.
func (tx *Tx) PutBan(b *Ban) error { return tx.PutBans([]*Ban{b}) }

// DeleteBan lifts a ban from the state.
func (tx *Tx) DeleteBan(jail string, p netip.Prefix) error {
	if err := tx.bansWritten(); err != nil {
		return err
	}
	return tx.writeBans(jail, []banUpdate{{id: idOf(p)}})
}

// banUpdate puts a ban's encoding under its prefix; enc nil deletes it.
type banUpdate struct {
	id  trackID
	enc []byte
}

// PutBans saves bans, as PutBan each (of two of a jail and prefix, the
// later wins).
func (tx *Tx) PutBans(bans []*Ban) error {
	if len(bans) == 0 {
		return nil
	}
	if err := tx.bansWritten(); err != nil {
		return err
	}
	// By jail and prefix, stably, with the sort the tracks use (its
	// room for a track's encoding holds the ban's index here).
	if len(bans) > math.MaxUint32 {
		return fmt.Errorf("state %s: %d bans in one write", tx.path, len(bans))
	}
	jails := map[string]uint16{}
	for _, b := range bans {
		jails[b.Jail] = 0
	}
	if len(jails) > math.MaxUint16 {
		return fmt.Errorf("state %s: more than %d jails", tx.path, math.MaxUint16)
	}
	names := make([]string, 0, len(jails))
	for j := range jails {
		names = append(names, j)
	}
	slices.Sort(names)
	for r, j := range names {
		jails[j] = uint16(r)
	}
	ord := make([]updateOrder, len(bans))
	for i, b := range bans {
		id := idOf(b.Prefix)
		ord[i] = updateOrder{hi: id.hi, lo: id.lo, bits: id.bits, is4: id.is4, jail: jails[b.Jail]}
		binary.LittleEndian.PutUint32(ord[i].val[:], uint32(i))
	}
	sortOrder(ord)
	// Every encoding in one buffer (bbolt keeps the values until the
	// commit), sized for the usual 20 to 30 bytes of a ban.
	buf := make([]byte, 0, 32*len(bans))
	ups := make([]banUpdate, 0, len(ord))
	for i := 0; i < len(ord); {
		j := i
		ups = ups[:0]
		for ; j < len(ord) && ord[j].jail == ord[i].jail; j++ {
			if len(ups) > 0 && ups[len(ups)-1].id == ord[j].id() {
				ups = ups[:len(ups)-1] // the later of two wins
			}
			b := bans[binary.LittleEndian.Uint32(ord[j].val[:])]
			start := len(buf)
			buf = appendBan(buf, b)
			ups = append(ups, banUpdate{id: ord[j].id(), enc: buf[start:len(buf):len(buf)]})
		}
		if err := tx.writeBans(names[ord[i].jail], ups); err != nil {
			return err
		}
		i = j
	}
	return nil
}

// writeBans applies ups, sorted by prefix, to jail's shards: each shard
// an update falls in is merged with the updates in its range and written
// anew, cut in shards of 3/4 of banShardMax when it outgrows banShardMax.
// An update below the jail's first shard goes into that shard; one in a
// jail without shards, into new ones.
func (tx *Tx) writeBans(jail string, ups []banUpdate) error {
	bb := tx.bucket(bucketBans)
	if bb == nil || !tx.tx.Writable() {
		return fmt.Errorf("%w: %s", ErrReadOnly, tx.path)
	}
	bb.FillPercent = 0.9 // shards come in key order
	for len(ups) > 0 {
		// The shard holding ups[0]: the last one starting at or before
		// it, else the jail's first.
		c := bb.Cursor()
		key := shardKey(jail, ups[0].id)
		k, v := c.Seek(key)
		if !bytes.Equal(k, key) {
			if pk, pv := keyBelowSeek(c, jailFloor(jail), key, k); pk != nil {
				k, v = pk, pv
			} else if _, ok := inJail(k, jail); !ok {
				k, v = nil, nil // no shard: ups go into new ones
			}
		}
		var old *banShard
		var next trackID // the next shard's start, when hasNext
		hasNext := false
		if k != nil {
			var err error
			if old, err = decodeBanShard(k, v); err != nil {
				return tx.banError(k, err)
			}
			k = bytes.Clone(k)
			c.Seek(k)
			nk, _ := c.Next()
			next, hasNext = inJail(nk, jail)
		}
		n := len(ups)
		if hasNext {
			n, _ = slices.BinarySearchFunc(ups, next, func(u banUpdate, id trackID) int { return compareID(u.id, id) })
		}
		ids, encs := mergeBans(old, ups[:n])
		ups = ups[n:]
		if k != nil {
			if err := bb.Delete(k); err != nil {
				return fmt.Errorf("state %s: bans: %w", tx.path, err)
			}
		}
		per := len(ids)
		if per > banShardMax {
			per = max(1, banShardMax*3/4)
		}
		for len(ids) > 0 {
			m := min(per, len(ids))
			size := 1 + binary.MaxVarintLen64
			for _, enc := range encs[:m] {
				size += 18 + binary.MaxVarintLen64 + len(enc)
			}
			val := make([]byte, 1, size)
			val[0] = banShardFormat
			val = binary.AppendUvarint(val, uint64(m))
			for i := range m {
				val = appendBanEntry(val, ids[i], encs[i])
			}
			if err := bb.Put(shardKey(jail, ids[0]), val); err != nil {
				return fmt.Errorf("state %s: bans: %w", tx.path, err)
			}
			ids, encs = ids[m:], encs[m:]
		}
	}
	return nil
}

// mergeBans merges a shard's bans (nil: none) with updates in prefix
// order: an update replaces or deletes the ban of its prefix.
func mergeBans(s *banShard, ups []banUpdate) ([]trackID, [][]byte) {
	var have int
	if s != nil {
		have = len(s.ids)
	}
	ids := make([]trackID, 0, have+len(ups))
	encs := make([][]byte, 0, have+len(ups))
	i := 0
	for _, u := range ups {
		for ; i < have && compareID(s.ids[i], u.id) < 0; i++ {
			ids, encs = append(ids, s.ids[i]), append(encs, s.encs[i])
		}
		if i < have && s.ids[i] == u.id {
			i++ // replaced or deleted
		}
		if u.enc != nil {
			ids, encs = append(ids, u.id), append(encs, u.enc)
		}
	}
	for ; i < have; i++ {
		ids, encs = append(ids, s.ids[i]), append(encs, s.encs[i])
	}
	return ids, encs
}

// migrateBans packs the bans of a file of schema 4 or before (one per
// key) in shards.
func (tx *Tx) migrateBans() error {
	bans, err := tx.Bans()
	if err != nil || len(bans) == 0 {
		return err
	}
	if err := tx.tx.DeleteBucket(bucketBans); err != nil {
		return fmt.Errorf("state %s: migrate bans: %w", tx.path, err)
	}
	if _, err := tx.tx.CreateBucket(bucketBans); err != nil {
		return fmt.Errorf("state %s: migrate bans: %w", tx.path, err)
	}
	ps := make([]*Ban, len(bans))
	for i := range bans {
		ps[i] = &bans[i]
	}
	return tx.PutBans(ps)
}
