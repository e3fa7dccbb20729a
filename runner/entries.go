package runner

import (
	"fmt"
	"math"
	"slices"
)

// entryTable finds a jail's entries by network: open addressing with
// linear probing over slots of 8 bytes, the top 32 bits of the key's
// hash and the entry's number (the key itself is the entry's). One probe
// sequence finds an entry or the slot for a new one: a flood of a million
// new addresses made Go's map look each up twice (lookup, then insert)
// in 40-byte slots, a fifth of the run, most of it first touches of
// memory.
//
// A slot's place is the top bits of its hash, so the slots lie in the
// order of their hashes (linear probing keeps that order): doubling the
// table moves each slot to about twice its place, in one sweep, with no
// key to read.
type entryTable struct {
	slots []entrySlot
	bits  uint // log2(len(slots))
	used  int
}

type entrySlot struct {
	hash uint32 // the top 32 bits of the key's hash
	n1   uint32 // the entry's number + 1; 0: empty
}

// slot returns the slot of the key whose hash is h: the one for which
// same(entry number) holds, or the empty one where the key goes. The
// table must have room for one more (grow).
func (t *entryTable) slot(h uint64, same func(n int32) bool) *entrySlot {
	top := uint32(h >> 32)
	mask := uint32(len(t.slots) - 1)
	for i := top >> (32 - t.bits); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.n1 == 0 || s.hash == top && same(int32(s.n1-1)) {
			return s
		}
	}
}

// grow makes room for one more entry: at most half the slots full
// (linear probing looks at 2.5 slots for a new key at half full, 8.5 at
// three quarters).
func (t *entryTable) grow() {
	if (t.used+1)*2 <= len(t.slots) {
		return
	}
	old := t.slots
	t.bits = max(10, t.bits+1)
	t.slots = make([]entrySlot, 1<<t.bits)
	mask := uint32(len(t.slots) - 1)
	for _, s := range old {
		if s.n1 == 0 {
			continue
		}
		i := s.hash >> (32 - t.bits)
		for t.slots[i].n1 != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = s
	}
}

// hash mixes a network's words (the finalizer of SplitMix64).
func (k netKey) hash() uint64 {
	h := k.hi*0x9e3779b97f4a7c15 ^ k.lo ^ uint64(k.bits)<<1 ^ boolU64(k.is4)
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	return h ^ h>>31
}

func boolU64(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// jailEntries finds a jail's entries.
type jailEntries struct {
	table entryTable
	jail  uint16 // its name's number
}

// names numbers the jail and user names of a run's entries: an entry
// keeps 2 or 4 bytes, not a string (16) or a slice of them (24).
type names struct {
	ids  map[string]uint32
	list []string
	last uint32 // the number + 1 of the name asked last
}

// id returns name's number.
func (n *names) id(name string) (uint32, error) {
	if n.last != 0 && n.list[n.last-1] == name {
		return n.last - 1, nil // a flood tries one user name after the other
	}
	id, ok := n.ids[name]
	if !ok {
		if len(n.list) == math.MaxUint16 {
			// user names are many, jails few; both come before this
			return 0, fmt.Errorf("more than %d distinct jail and user names in one run", math.MaxUint16)
		}
		if n.ids == nil {
			n.ids = map[string]uint32{}
		}
		id = uint32(len(n.list))
		n.ids[name] = id
		n.list = append(n.list, name)
	}
	n.last = id + 1
	return id, nil
}

// addUser records a user name tried from e's address: maxUsers at most.
func (r *run) addUser(e *trackEntry, name string) {
	if e.user != 0 && r.names.list[e.user-1] == name {
		return
	}
	id, err := r.names.id(name)
	if err != nil {
		return // names are a courtesy of the digest: this one goes
	}
	if e.user == 0 {
		e.user = id + 1
		return
	}
	more := r.moreUsers[e]
	if 1+len(more) >= maxUsers || slices.Contains(more, name) {
		return
	}
	if r.moreUsers == nil {
		r.moreUsers = map[*trackEntry][]string{}
	}
	r.moreUsers[e] = append(more, name)
}

// users returns the user names tried from e's address, first first.
func (r *run) users(e *trackEntry) []string {
	if e.user == 0 {
		return nil
	}
	return append([]string{r.names.list[e.user-1]}, r.moreUsers[e]...)
}
