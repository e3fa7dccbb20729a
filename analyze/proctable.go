package analyze

import "iter"

// procTable holds the sshd matcher's process contexts by key: a hash table
// with open addressing and linear probing. Most sshd processes live for a
// few lines, so the table sees an insertion and a deletion for every few
// lookups; Go's map pays for that churn (a third of a replay's map time
// went to deleting), this table does not: deletion shifts the entries
// after the hole back, leaving no tombstones.
type procTable struct {
	slots []procSlot // a power of two in length, at most half full; nil when empty
	n     int
	shift uint // 64 - log2(len(slots))
}

type procSlot struct {
	key uint64
	p   *sshProc // nil: the slot is free
}

const procTableMin = 16

// home returns the slot where key's probe starts. Keys are hashes already,
// but their low bits follow the pid: Fibonacci hashing takes the high bits
// of a multiple.
func (t *procTable) home(key uint64) int {
	return int((key * 0x9E3779B97F4A7C15) >> t.shift)
}

// Len returns the number of contexts held.
func (t *procTable) Len() int { return t.n }

// Get returns the context of key, or nil.
func (t *procTable) Get(key uint64) *sshProc {
	if t.n == 0 {
		return nil
	}
	mask := len(t.slots) - 1
	for i := t.home(key); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.p == nil {
			return nil
		}
		if s.key == key {
			return s.p
		}
	}
}

// Set makes p, which must not be nil, the context of key.
func (t *procTable) Set(key uint64, p *sshProc) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	mask := len(t.slots) - 1
	for i := t.home(key); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.p == nil {
			*s = procSlot{key, p}
			t.n++
			return
		}
		if s.key == key {
			s.p = p
			return
		}
	}
}

func (t *procTable) grow() {
	old := t.slots
	size := max(2*len(old), procTableMin)
	t.slots, t.n = make([]procSlot, size), 0
	t.shift = 64
	for s := size; s > 1; s >>= 1 {
		t.shift--
	}
	for _, s := range old {
		if s.p != nil {
			t.Set(s.key, s.p)
		}
	}
}

// Delete removes key's context, if any.
func (t *procTable) Delete(key uint64) {
	if t.n == 0 {
		return
	}
	mask := len(t.slots) - 1
	i := t.home(key)
	for ; t.slots[i].key != key || t.slots[i].p == nil; i = (i + 1) & mask {
		if t.slots[i].p == nil {
			return
		}
	}
	// Move back each later entry of the run whose probe starts at or
	// before the hole, so that every lookup still finds its key before
	// the first free slot.
	for j := i; ; {
		j = (j + 1) & mask
		if t.slots[j].p == nil {
			break
		}
		// The entry at j may fill the hole at i unless its home lies
		// cyclically in (i, j].
		if h := t.home(t.slots[j].key); (j-h)&mask >= (j-i)&mask {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = procSlot{}
	t.n--
}

// All yields every key and context. The yield function may delete the
// key it was given (and no other): each entry is still yielded once or,
// when a deletion moves it back past the cursor, twice.
func (t *procTable) All() iter.Seq2[uint64, *sshProc] {
	return func(yield func(uint64, *sshProc) bool) {
		for i := 0; i < len(t.slots); i++ {
			s := t.slots[i]
			if s.p == nil {
				continue
			}
			if !yield(s.key, s.p) {
				return
			}
			// A deletion may have moved a later entry into slot i.
			if t.slots[i].p != s.p {
				i--
			}
		}
	}
}
