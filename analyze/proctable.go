package analyze

import "iter"

// procTable holds the sshd matcher's process contexts by key: a hash table
// with open addressing and linear probing. Most sshd processes live for a
// few lines, so the table sees an insertion and a deletion for every few
// lookups; Go's map pays for that churn (a third of a replay's map time
// went to deleting), this table does not: deletion shifts the entries
// after the hole back, leaving no tombstones.
//
// The table also keeps its entries in the order they were last touched
// (Set, Touch), in a list through its nodes, so that the context to evict
// when the table is full is found in constant time ([procTable.Oldest]):
// a flood of processes that never finish costs the same per line as a
// trickle. Slots move on deletion; nodes do not, so the list links nodes.
type procTable struct {
	slots []procSlot // a power of two in length, at most half full; nil when empty
	n     int
	shift uint // 64 - log2(len(slots))

	nodes      []procNode // nodes[0] is unused: index 0 means none
	head, tail int32      // least and most recently touched
	free       int32      // first free node, linked through next
	last       int32      // node of the last key found or set
}

type procSlot struct {
	key  uint64
	node int32 // 0: the slot is free
}

type procNode struct {
	key        uint64
	p          *sshProc
	prev, next int32
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

// find returns the slot holding key, or -1.
func (t *procTable) find(key uint64) int {
	if t.n == 0 {
		return -1
	}
	mask := len(t.slots) - 1
	for i := t.home(key); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.node == 0 {
			return -1
		}
		if s.key == key {
			return i
		}
	}
}

// Get returns the context of key, or nil.
func (t *procTable) Get(key uint64) *sshProc {
	i := t.find(key)
	if i < 0 {
		return nil
	}
	t.last = t.slots[i].node
	return t.nodes[t.last].p
}

// Set makes p, which must not be nil, the context of key, and the most
// recently touched.
func (t *procTable) Set(key uint64, p *sshProc) {
	if i := t.find(key); i >= 0 {
		nd := t.slots[i].node
		t.nodes[nd].p = p
		t.moveToTail(nd)
		t.last = nd
		return
	}
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	nd := t.newNode(key, p)
	t.insert(key, nd)
	t.last = nd
}

// Touch makes key's context, p, the most recently touched. It costs no
// lookup when key was the last one found or set.
func (t *procTable) Touch(key uint64, p *sshProc) {
	nd := t.last
	if nd == 0 || t.nodes[nd].key != key || t.nodes[nd].p != p {
		i := t.find(key)
		if i < 0 {
			return
		}
		nd = t.slots[i].node
		t.last = nd
	}
	t.moveToTail(nd)
}

// Oldest returns the least recently touched key and context; p is nil
// when the table is empty.
func (t *procTable) Oldest() (key uint64, p *sshProc) {
	if t.head == 0 {
		return 0, nil
	}
	n := &t.nodes[t.head]
	return n.key, n.p
}

// insert puts key, known to be absent, in a free slot.
func (t *procTable) insert(key uint64, nd int32) {
	mask := len(t.slots) - 1
	i := t.home(key)
	for t.slots[i].node != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = procSlot{key, nd}
	t.n++
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
		if s.node != 0 {
			t.insert(s.key, s.node)
		}
	}
}

// newNode takes a free node for key and p and links it at the tail.
func (t *procTable) newNode(key uint64, p *sshProc) int32 {
	if len(t.nodes) == 0 {
		t.nodes = make([]procNode, 1, procTableMin)
	}
	nd := t.free
	if nd != 0 {
		t.free = t.nodes[nd].next
	} else {
		t.nodes = append(t.nodes, procNode{})
		nd = int32(len(t.nodes) - 1)
	}
	t.nodes[nd] = procNode{key: key, p: p}
	t.link(nd)
	return nd
}

// link appends node nd, not in the list, at the tail.
func (t *procTable) link(nd int32) {
	n := &t.nodes[nd]
	n.prev, n.next = t.tail, 0
	if t.tail != 0 {
		t.nodes[t.tail].next = nd
	} else {
		t.head = nd
	}
	t.tail = nd
}

// unlink takes node nd out of the list.
func (t *procTable) unlink(nd int32) {
	n := &t.nodes[nd]
	if n.prev != 0 {
		t.nodes[n.prev].next = n.next
	} else {
		t.head = n.next
	}
	if n.next != 0 {
		t.nodes[n.next].prev = n.prev
	} else {
		t.tail = n.prev
	}
	n.prev, n.next = 0, 0
}

func (t *procTable) moveToTail(nd int32) {
	if t.tail != nd {
		t.unlink(nd)
		t.link(nd)
	}
}

// Delete removes key's context, if any.
func (t *procTable) Delete(key uint64) {
	i := t.find(key)
	if i < 0 {
		return
	}
	nd := t.slots[i].node
	t.unlink(nd)
	t.nodes[nd] = procNode{next: t.free}
	t.free = nd
	if t.last == nd {
		t.last = 0
	}
	// Move back each later entry of the run whose probe starts at or
	// before the hole, so that every lookup still finds its key before
	// the first free slot.
	mask := len(t.slots) - 1
	for j := i; ; {
		j = (j + 1) & mask
		if t.slots[j].node == 0 {
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

// All yields every key and context, least recently touched first. The
// yield function may delete the key it was given (and no other).
func (t *procTable) All() iter.Seq2[uint64, *sshProc] {
	return func(yield func(uint64, *sshProc) bool) {
		for nd := t.head; nd != 0; {
			n := t.nodes[nd]
			if !yield(n.key, n.p) {
				return
			}
			nd = n.next
		}
	}
}
