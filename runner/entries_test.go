package runner

import (
	"math/rand"
	"testing"
)

// TestEntryTable: keys inserted across several growths are found again,
// each at its own entry (at once, while its number waits to be written,
// and later), with colliding hashes among them; keys never inserted are
// not found.
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
	find := func(k netKey) (uint32, int32, bool) {
		return tab.find(hash(k), func(n int32) bool { return keys[n] == k })
	}
	seen := map[netKey]bool{}
	for len(keys) < 5000 {
		k := netKey{uint64(rng.Intn(2)), uint64(rng.Intn(20000)), int16(32 + 96*rng.Intn(2)), rng.Intn(2) == 0}
		tab.grow()
		slot, _, found := find(k)
		if seen[k] != found {
			t.Fatalf("%v: found %v, want %v", k, found, seen[k])
		}
		if !found {
			tab.add(slot, hash(k), int32(len(keys)))
			keys = append(keys, k)
			seen[k] = true
			// found at once, its number still pending
			if _, got, found := find(k); !found || got != int32(len(keys)-1) {
				t.Fatalf("%v just added: entry %d (%v)", k, got, found)
			}
		}
	}
	for n, k := range keys {
		if _, got, found := find(k); !found || got != int32(n) {
			t.Errorf("%v: entry %d (%v), want %d", k, got, found, n)
		}
	}
	if len(tab.tags) < 10000 || len(tab.members) != 5000 {
		t.Errorf("%d slots, %d entries", len(tab.tags), len(tab.members))
	}
}
