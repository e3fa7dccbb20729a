package analyze

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// procTable agrees with a map and a list in touch order under random
// insertions, touches, lookups, deletions and deleting scans, with few
// distinct keys (long probe runs, wrapping around the table's end) and
// many.
func TestProcTable(t *testing.T) {
	for _, keys := range []int{8, 100, 5000} {
		r := rand.New(rand.NewPCG(1, uint64(keys)))
		var tab procTable
		model := map[uint64]*sshProc{}
		var order []uint64 // least recently touched first
		remove := func(k uint64) {
			if i := slices.Index(order, k); i >= 0 {
				order = slices.Delete(order, i, i+1)
			}
		}
		// Keys whose multiple has one of 16 values in its top 4 bits and
		// small low bits start their probe at one of 16 slots, evenly
		// spread, in any table: runs long enough to wrap around the end.
		key := func() uint64 { return (uint64(r.IntN(16))<<60 | uint64(r.IntN(keys))) * fibInverse }
		for step := 0; step < 100000; step++ {
			k := key()
			switch op := r.IntN(100); {
			case op < 35:
				p := &sshProc{seen: int64(step)}
				tab.Set(k, p)
				model[k] = p
				remove(k)
				order = append(order, k)
			case op < 45:
				if p := model[k]; p != nil {
					if step%2 == 0 {
						tab.Get(k) // Touch after a lookup, or without one
					}
					tab.Touch(k, p)
					remove(k)
					order = append(order, k)
				}
			case op < 70:
				tab.Delete(k)
				delete(model, k)
				remove(k)
			case op < 98:
				if got := tab.Get(k); got != model[k] {
					t.Fatalf("step %d: Get(%x) = %p, want %p", step, k, got, model[k])
				}
			default:
				if k, p := tab.Oldest(); len(order) == 0 && p != nil || len(order) > 0 && (k != order[0] || p != model[k]) {
					t.Fatalf("step %d: Oldest = %x %p, want the head of %x", step, k, p, order)
				}
				// Delete about half while scanning, as the eviction does.
				var seen []uint64
				for k, p := range tab.All() {
					if model[k] != p {
						t.Fatalf("step %d: All yields %x: %p, want %p", step, k, p, model[k])
					}
					seen = append(seen, k)
					if p.seen%2 == 0 {
						tab.Delete(k)
						delete(model, k)
					}
				}
				if !slices.Equal(seen, order) {
					t.Fatalf("step %d: All yields %x, want %x in touch order", step, seen, order)
				}
				order = slices.DeleteFunc(order, func(k uint64) bool { return model[k] == nil })
			}
			if tab.Len() != len(model) {
				t.Fatalf("step %d: Len %d, want %d", step, tab.Len(), len(model))
			}
		}
	}
}

// BenchmarkSSHDFlood: new processes that never finish, past the table's
// cap, each evicting the least recently seen. The cost per line does not
// depend on the cap (it scanned the whole table before).
func BenchmarkSSHDFlood(b *testing.B) {
	f, _ := Builtin("sshd")
	m := f.New("normal")
	tp := NewTimeParser(testRef, time.UTC)
	lines := make([][]byte, 4*sshProcMax)
	for i := range lines {
		lines[i] = []byte("Nov 24 10:00:00 h sshd[" + itoa(int64(i)) + "]: Failed password for root from 192.0.2.1 port 22 ssh2")
	}
	buf := make([]Failure, 0, 4)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Match(buf[:0], 1, lines[i%len(lines)], tp)
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
