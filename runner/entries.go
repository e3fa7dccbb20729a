package runner

import (
	"fmt"
	"math"
	"slices"
)

// entryTable finds a jail's entries by network: open addressing with
// linear probing over a byte per slot (0: empty, else 8 bits of the
// key's hash) beside the slots' entry numbers; the key itself is the
// entry's. A new key, a flood's every address, reads the tag bytes
// alone: 2 MiB for a million entries, which the cache keeps, where
// slots of key and number (16 MiB, Go's map: 40 MiB) made each a cache
// and TLB miss, a tenth of the run. One probe sequence finds an entry or
// the slot for a new one.
//
// A slot's place is the top bits of its hash, so the slots lie in the
// order of their hashes: doubling the table moves each slot to about
// twice its place. members keeps every entry's hash and number in the
// order added, so that growing reads no key.
type entryTable struct {
	tags    []uint8
	nums    []int32 // entry number + 1; 0: in pending
	members []member
	bits    uint // log2(len(tags))
	// pending are the latest entries added, whose numbers are written
	// in nums a batch at a time: one at a time, each was a cache miss
	// the run waited for; a batch overlaps them.
	pending  [64]member // hash: the slot
	npending int
}

type member struct {
	hash uint32 // the top 32 bits of the key's hash
	n    int32
}

// tagOf is the tag byte of a hash's top 32 bits: never 0. Its bits are
// not the place's (the top ones) below 2^24 slots.
func tagOf(h32 uint32) uint8 { return uint8(h32) | 1 }

// find returns the entry of the key whose hash is h, for which same(entry
// number) holds, or the empty slot where the key goes (add). The table
// must have room for one more (grow).
func (t *entryTable) find(h uint64, same func(n int32) bool) (slot uint32, n int32, found bool) {
	h32 := uint32(h >> 32)
	tag, mask := tagOf(h32), uint32(len(t.tags)-1)
	for i := h32 >> (32 - t.bits); ; i = (i + 1) & mask {
		switch t.tags[i] {
		case 0:
			return i, 0, false
		case tag:
			n := t.nums[i] - 1
			if n < 0 {
				n = t.pendingAt(i)
			}
			if n >= 0 && same(n) {
				return i, n, true
			}
		}
	}
}

// pendingAt returns the entry number of a pending slot (-1: none, which
// cannot be: a tagged slot's number is in nums or pending).
func (t *entryTable) pendingAt(slot uint32) int32 {
	for _, p := range t.pending[:t.npending] {
		if p.hash == slot {
			return p.n
		}
	}
	return -1
}

// add puts entry n, of hash h, in the empty slot find returned.
func (t *entryTable) add(slot uint32, h uint64, n int32) {
	t.tags[slot] = tagOf(uint32(h >> 32))
	t.members = append(t.members, member{uint32(h >> 32), n})
	if t.npending == len(t.pending) {
		for _, p := range t.pending {
			t.nums[p.hash] = p.n + 1
		}
		t.npending = 0
	}
	t.pending[t.npending] = member{slot, n}
	t.npending++
}

// grow makes room for one more entry: at most half the slots full
// (linear probing looks at 2.5 slots for a new key at half full, 8.5 at
// three quarters).
func (t *entryTable) grow() {
	if (len(t.members)+1)*2 <= len(t.tags) {
		return
	}
	t.bits = max(10, t.bits+1)
	t.tags, t.nums = make([]uint8, 1<<t.bits), make([]int32, 1<<t.bits)
	mask := uint32(len(t.tags) - 1)
	for _, m := range t.members {
		i := m.hash >> (32 - t.bits)
		for t.tags[i] != 0 {
			i = (i + 1) & mask
		}
		t.tags[i], t.nums[i] = tagOf(m.hash), m.n+1
	}
	t.npending = 0
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
