package runner

// entryTable finds a jail's entries by network: open addressing with
// linear probing over slots that hold the network and the entry's
// number, no pointer (the collector skips it). One probe sequence finds
// an entry or the slot for a new one: a flood of a million new addresses
// made Go's map look each up twice (lookup, then insert), a fifth of the
// run.
type entryTable struct {
	slots []entrySlot
	used  int
}

// entrySlot is a netKey and an entry's number in 24 bytes (a netKey
// alone takes 24).
type entrySlot struct {
	hi, lo uint64
	n      int32
	bits   int16
	is4    bool
	full   bool
}

func (s *entrySlot) key() netKey { return netKey{s.hi, s.lo, s.bits, s.is4} }

// slot returns k's slot: the one holding k (full), or the empty one where
// it goes. The table must have room for one more (grow).
func (t *entryTable) slot(k netKey) *entrySlot {
	mask := uint64(len(t.slots) - 1)
	for i := k.hash() & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if !s.full || s.hi == k.hi && s.lo == k.lo && s.bits == k.bits && s.is4 == k.is4 {
			return s
		}
	}
}

// grow makes room for one more entry: at most 3/4 of the slots full.
func (t *entryTable) grow() {
	if (t.used+1)*4 <= len(t.slots)*3 {
		return
	}
	old := t.slots
	t.slots = make([]entrySlot, max(1024, 2*len(old)))
	for i := range old {
		if old[i].full {
			*t.slot(old[i].key()) = old[i]
		}
	}
}

// hash mixes a network's words (the finalizer of SplitMix64).
func (k netKey) hash() uint64 {
	h := k.hi*0x9e3779b97f4a7c15 ^ k.lo ^ uint64(k.bits)<<1 ^ uint64(boolU64(k.is4))
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
