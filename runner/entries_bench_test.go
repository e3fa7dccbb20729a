package runner

import "testing"

func BenchmarkEntryTable(b *testing.B) {
	for i := 0; i < b.N; i++ {
		var t entryTable
		keys := make([]netKey, 0, 1000000)
		for n := uint64(0); n < 1000000; n++ {
			x := uint32(n) * 2654435761
			k := netKey{0, 0xffff<<32 | uint64(x), 32, true}
			t.grow()
			h := k.hash()
			s := t.slot(h, func(n int32) bool { return keys[n] == k })
			if s.n1 == 0 {
				*s = entrySlot{uint32(h >> 32), uint32(len(keys)) + 1}
				keys = append(keys, k)
				t.used++
			}
		}
	}
}
