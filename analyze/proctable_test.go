package analyze

import (
	"math/rand/v2"
	"testing"
)

// procTable agrees with a map under random insertions, lookups, deletions
// and deleting scans, with few distinct keys (long probe runs, wrapping
// around the table's end) and many.
func TestProcTable(t *testing.T) {
	for _, keys := range []int{8, 100, 5000} {
		r := rand.New(rand.NewPCG(1, uint64(keys)))
		var tab procTable
		model := map[uint64]*sshProc{}
		// Keys whose multiple has one of 16 values in its top 4 bits and
		// small low bits start their probe at one of 16 slots, evenly
		// spread, in any table: runs long enough to wrap around the end.
		key := func() uint64 { return (uint64(r.IntN(16))<<60 | uint64(r.IntN(keys))) * fibInverse }
		for step := 0; step < 100000; step++ {
			k := key()
			switch op := r.IntN(100); {
			case op < 40:
				p := &sshProc{seen: int64(step)}
				tab.Set(k, p)
				model[k] = p
			case op < 70:
				tab.Delete(k)
				delete(model, k)
			case op < 99:
				if got := tab.Get(k); got != model[k] {
					t.Fatalf("step %d: Get(%x) = %p, want %p", step, k, got, model[k])
				}
			default:
				// Delete about half while scanning, as the eviction does.
				seen := map[uint64]bool{}
				for k, p := range tab.All() {
					if model[k] != p {
						t.Fatalf("step %d: All yields %x: %p, want %p", step, k, p, model[k])
					}
					seen[k] = true
					if p.seen%2 == 0 {
						tab.Delete(k)
						delete(model, k)
					}
				}
				for k := range model {
					if !seen[k] {
						t.Fatalf("step %d: All skips %x", step, k)
					}
				}
			}
			if tab.Len() != len(model) {
				t.Fatalf("step %d: Len %d, want %d", step, tab.Len(), len(model))
			}
		}
	}
}

// fibInverse is the multiplicative inverse of procTable's multiplier.
var fibInverse = func() uint64 {
	const c = 0x9E3779B97F4A7C15
	x := uint64(c) // Newton's iteration doubles the correct low bits
	for range 6 {
		x *= 2 - c*x
	}
	if x*c != 1 {
		panic("no inverse")
	}
	return x
}()
