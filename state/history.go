package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The history bucket keeps every ban issued, under its start time (8
// bytes, big-endian Unix nanoseconds), jail, 0 and prefix (18 bytes, see
// prefixBytes). A value is one ban (appendBan) or, since schema 5, a
// batch: the bans of one jail issued at one time, written together
// (`ban -` of 100,000 addresses), under the first one's key and 2 bytes
// more that keep it apart from any single ban's key. A batch is
// historyBatch, uvarint the count, then a ban entry per ban. One bbolt key per
// ban was a third of `ban -`; a batch of historyBatchMax bans is one.
// A ban entry is as a ban shard holds it (appendBanEntry).

const historyBatch = 0x42

// historyBatchMax is the most bans a batch holds: about 20 KiB.
const historyBatchMax = 512

// AddHistory records a ban issued.
func (tx *Tx) AddHistory(b *Ban) error {
	return tx.put(bucketHistory, historyKey(b), encodeBan(b))
}

func historyKey(b *Ban) []byte { return appendHistoryKey(nil, b) }

func appendHistoryKey(dst []byte, b *Ban) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(b.Start.UnixNano()))
	return appendBanKey(dst, b.Jail, b.Prefix)
}

// AddHistories records bans issued, those of one jail and start time in
// batches.
func (tx *Tx) AddHistories(bans []*Ban) error {
	if len(bans) == 0 {
		return nil
	}
	hb := tx.bucket(bucketHistory)
	if hb == nil || !tx.tx.Writable() {
		return fmt.Errorf("%w: %s", ErrReadOnly, tx.path)
	}
	// Keys grow with time: nothing comes between them later, so pages
	// are filled whole.
	hb.FillPercent = 1
	group := func(a, b *Ban) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.Jail, b.Jail)
	}
	if !slices.IsSortedFunc(bans, group) {
		bans = slices.Clone(bans)
		slices.SortStableFunc(bans, group)
	}
	var val, enc []byte
	for len(bans) > 0 {
		n := 1
		for n < len(bans) && n < historyBatchMax && group(bans[0], bans[n]) == 0 {
			n++
		}
		batch := bans[:n]
		bans = bans[n:]
		if n == 1 {
			if err := hb.Put(historyKey(batch[0]), encodeBan(batch[0])); err != nil {
				return fmt.Errorf("state %s: history: %w", tx.path, err)
			}
			continue
		}
		val = append(val[:0], historyBatch)
		val = binary.AppendUvarint(val, uint64(n))
		for _, b := range batch {
			enc = appendBan(enc[:0], b)
			val = appendBanEntry(val, idOf(b.Prefix), enc)
		}
		// Under the first ban's key and a count no batch of that key
		// took yet: a ban logged twice in a transaction must not
		// overwrite a batch.
		key := append(historyKey(batch[0]), 0, 0)
		for hb.Get(key) != nil {
			if key[len(key)-1]++; key[len(key)-1] == 0 {
				key[len(key)-2]++
			}
		}
		if err := hb.Put(key, bytes.Clone(val)); err != nil {
			return fmt.Errorf("state %s: history: %w", tx.path, err)
		}
	}
	return nil
}

// History calls fn for the bans issued in [from, to), oldest first.
func (tx *Tx) History(from, to time.Time, fn func(*Ban) error) error {
	b := tx.bucket(bucketHistory)
	if b == nil {
		return nil
	}
	c := b.Cursor()
	end := uint64(to.UnixNano())
	for k, v := c.Seek(binary.BigEndian.AppendUint64(nil, uint64(from.UnixNano()))); k != nil; k, v = c.Next() {
		if len(k) < 8 || binary.BigEndian.Uint64(k) >= end {
			break
		}
		if len(v) > 0 && v[0] == historyBatch {
			if err := tx.historyBatch(k, v, fn); err != nil {
				return err
			}
			continue
		}
		jail, p, err := splitTrackKey(k[8:])
		if err != nil {
			return corrupt(tx.path, fmt.Errorf("history: %w", err))
		}
		ban, err := decodeBan(jail, p, v)
		if err != nil {
			return corrupt(tx.path, fmt.Errorf("history %s %s: %w", jail, p, err))
		}
		if err := fn(&ban); err != nil {
			return err
		}
	}
	return nil
}

// historyBatch calls fn for each ban of the batch v under key k.
func (tx *Tx) historyBatch(k, v []byte, fn func(*Ban) error) error {
	bad := func(what string) error {
		return corrupt(tx.path, fmt.Errorf("history batch %x: %s", k, what))
	}
	if len(k) < 8+1+18+2 {
		return bad("short key")
	}
	jail, _, err := splitTrackKey(k[8 : len(k)-2])
	if err != nil {
		return bad(err.Error())
	}
	v = v[1:]
	n, w := binary.Uvarint(v)
	if w <= 0 || n > uint64(len(v)) {
		return bad("bad count")
	}
	v = v[w:]
	for ; n > 0; n-- {
		id, enc, rest, err := nextBanEntry(v)
		if err != nil {
			return bad(err.Error())
		}
		p, err := id.prefix()
		if err != nil {
			return bad(err.Error())
		}
		ban, err := decodeBan(jail, p, enc)
		if err != nil {
			return bad(fmt.Sprintf("%s: %v", p, err))
		}
		v = rest
		if err := fn(&ban); err != nil {
			return err
		}
	}
	if len(v) != 0 {
		return bad("trailing bytes")
	}
	return nil
}

// PurgeHistory deletes the bans issued before t.
func (tx *Tx) PurgeHistory(before time.Time) (int, error) {
	b := tx.bucket(bucketHistory)
	c := b.Cursor()
	end := uint64(before.UnixNano())
	// Collect, then delete: a cursor sent back to First after each delete
	// walks the pages emptied so far (bbolt frees them at commit).
	var dead [][]byte
	for k, _ := c.First(); len(k) >= 8 && binary.BigEndian.Uint64(k) < end; k, _ = c.Next() {
		dead = append(dead, bytes.Clone(k))
	}
	for i, k := range dead {
		if err := b.Delete(k); err != nil {
			return i, fmt.Errorf("state %s: history: %w", tx.path, err)
		}
	}
	return len(dead), nil
}
