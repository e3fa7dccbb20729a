package fleet

import (
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	c := func(b int64, n int) Count { return Count{Bucket: b, Count: n} }
	ten := 10 * time.Minute
	for _, tc := range []struct {
		name   string
		counts []Count
		after  int64
		want   int64 // 0: no ban
	}{
		{"2+2+2 over three hosts' buckets", []Count{c(1000, 2), c(1010, 2), c(1020, 2)}, 0, 1020},
		{"4 only", []Count{c(1000, 2), c(1010, 2)}, 0, 0},
		{"out of findtime", []Count{c(1000, 3), c(1000+600, 2)}, 0, 0},
		{"just inside findtime", []Count{c(1000, 3), c(1000+590, 2)}, 0, 1590},
		{"before the last unban", []Count{c(1000, 3), c(1010, 2)}, 1005, 0},
		{"second ban after the first", []Count{c(1000, 5), c(1100, 5)}, 0, 1100},
	} {
		start, _, ok := Decide(tc.counts, ten, 5, time.Unix(tc.after, 0))
		if ok != (tc.want != 0) || (ok && start.Unix() != tc.want) {
			t.Errorf("%s: Decide = %v, %v; want %d", tc.name, start.Unix(), ok, tc.want)
		}
	}
	if b := BucketOf(time.Unix(1019, 5)); b != 1010 {
		t.Errorf("BucketOf(1019.000000005) = %d, want 1010", b)
	}
	if b := BucketOf(time.Unix(-1, 0)); b != -10 {
		t.Errorf("BucketOf(-1) = %d, want -10", b)
	}
}
