package runner

import (
	"math/rand"
	"testing"
)

// TestEntryTable: keys inserted across several growths are found again,
// each at its own entry, with colliding hashes among them; keys never
// inserted are not found.
func TestEntryTable(t *testing.T) {
	var tab entryTable
	var keys []netKey
	rng := rand.New(rand.NewSource(1))
	hash := func(k netKey) uint64 {
		if k.lo%3 == 0 {
			return 0xdeadbeef << 32 // one hash for a third of the keys
		}
		return k.hash()
	}
	find := func(k netKey) *entrySlot {
		return tab.slot(hash(k), func(n int32) bool { return keys[n] == k })
	}
	seen := map[netKey]bool{}
	for len(keys) < 5000 {
		k := netKey{uint64(rng.Intn(2)), uint64(rng.Intn(20000)), int16(32 + 96*rng.Intn(2)), rng.Intn(2) == 0}
		tab.grow()
		s := find(k)
		if seen[k] != (s.n1 != 0) {
			t.Fatalf("%v: found %v, want %v", k, s.n1 != 0, seen[k])
		}
		if s.n1 == 0 {
			*s = entrySlot{uint32(hash(k) >> 32), uint32(len(keys)) + 1}
			keys = append(keys, k)
			tab.used++
			seen[k] = true
		}
	}
	for n, k := range keys {
		if s := find(k); s.n1 != uint32(n)+1 {
			t.Errorf("%v: entry %d, want %d", k, int(s.n1)-1, n)
		}
	}
	if len(tab.slots) < 5000*4/3 || tab.used != 5000 {
		t.Errorf("%d slots, %d used", len(tab.slots), tab.used)
	}
}
