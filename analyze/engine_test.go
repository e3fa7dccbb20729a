package analyze

import (
	"math"
	"net/netip"
	"testing"
	"time"
)

func TestPolicyStep(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	base := Policy{MaxRetry: 3, FindTime: 60 * time.Second, BanTime: 10 * time.Minute, History: 24 * time.Hour}
	type ban struct {
		at      int // seconds after t0 of the failure that bans
		until   int // seconds after t0; -1: permanent
		offense int
	}
	tests := []struct {
		name     string
		policy   Policy
		failures []int
		want     []ban
	}{
		{"maxretry inside the window bans at the last failure", base, []int{0, 10, 20}, []ban{{20, 620, 1}}},
		{"maxretry-1 does not", base, []int{0, 10}, nil},
		{"the window is (t-findtime, t]: exactly findtime apart falls out", base, []int{0, 30, 60}, nil},
		{"one second less is inside", base, []int{1, 30, 60}, []ban{{60, 660, 1}}},
		{"failures while banned do not count", base, []int{0, 1, 2, 3, 4, 5, 600, 601}, []ban{{2, 602, 1}}},
		{"counting starts afresh after the ban", base, []int{0, 1, 2, 602, 603, 604}, []ban{{2, 602, 1}, {604, 1204, 2}}},
		{"the ban clears the window", base, []int{0, 1, 2, 603}, []ban{{2, 602, 1}}},
		{"growing bans, capped at maxtime",
			Policy{MaxRetry: 1, FindTime: time.Minute, BanTime: 10 * time.Second, Factor: 3, MaxTime: 60 * time.Second, History: time.Hour},
			[]int{0, 10, 40, 130},
			[]ban{{0, 10, 1}, {10, 40, 2}, {40, 100, 3}, {130, 190, 4}}},
		{"offenses older than history are forgotten",
			Policy{MaxRetry: 1, FindTime: time.Minute, BanTime: 10 * time.Second, Factor: 2, MaxTime: time.Hour, History: 100 * time.Second},
			[]int{0, 10, 200},
			[]ban{{0, 10, 1}, {10, 30, 2}, {200, 210, 1}}},
		{"permanent", Policy{MaxRetry: 2, FindTime: time.Minute, Permanent: true, History: time.Hour}, []int{0, 1, 5000, 5001}, []ban{{1, -1, 1}}},
		{"out of order failures ban as if in order", base, []int{20, 0, 10}, []ban{{20, 620, 1}}},
		{"a late failure before a full window", base, []int{100, 110, 50}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr Track
			var got []ban
			for _, s := range tt.failures {
				d, ok := tt.policy.Step(&tr, at(s))
				if len(tr.Failures) >= tt.policy.MaxRetry {
					t.Fatalf("track holds %d failures, want < maxretry %d", len(tr.Failures), tt.policy.MaxRetry)
				}
				if !ok {
					continue
				}
				b := ban{int(d.Start.Sub(t0) / time.Second), -1, d.Offense}
				if !d.Permanent {
					b.until = int(d.Until.Sub(t0) / time.Second)
				}
				got = append(got, b)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("bans %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("bans %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestPolicyKeyAndIgnore(t *testing.T) {
	p := Policy{Prefix6: 64, Ignore: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("::1/128")}}
	if k := p.Key(netip.MustParseAddr("2001:db8:1:2:3:4:5:6")); k.String() != "2001:db8:1:2::/64" {
		t.Errorf("key %s, want the /64", k)
	}
	if k := p.Key(netip.MustParseAddr("198.51.100.7")); k.String() != "198.51.100.7/32" {
		t.Errorf("key %s", k)
	}
	if !p.Ignored(netip.MustParseAddr("192.0.2.200")) || !p.Ignored(netip.MustParseAddr("::1")) || p.Ignored(netip.MustParseAddr("198.51.100.7")) {
		t.Error("ignore list not applied")
	}
}

func TestTrackStale(t *testing.T) {
	p := Policy{MaxRetry: 3, FindTime: time.Minute, BanTime: time.Hour, History: 24 * time.Hour}
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	var tr Track
	p.Step(&tr, t0)
	if tr.Stale(&p, t0.Add(30*time.Second)) || !tr.Stale(&p, t0.Add(61*time.Second)) {
		t.Error("a lone failure must be kept inside the window and dropped after it")
	}
	p.Step(&tr, t0.Add(time.Second))
	p.Step(&tr, t0.Add(2*time.Second)) // banned for an hour
	if tr.Stale(&p, t0.Add(2*time.Hour)) {
		t.Error("an offense within history must be kept for bantime_increment")
	}
	if !tr.Stale(&p, t0.Add(25*time.Hour)) {
		t.Error("an offense older than history must go")
	}
}

// TestTrackExpiry: a track is Stale from its Expiry on, and not before,
// for tracks with and without failures and bans (temporary, permanent,
// ended, future).
func TestTrackExpiry(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC).UnixNano()
	p := &Policy{MaxRetry: 3, FindTime: time.Minute, BanTime: time.Hour, History: 24 * time.Hour}
	s := int64(time.Second)
	tracks := []Track{
		{},
		{Failures: []int64{t0}},
		{Failures: []int64{t0 - 10*s, t0}},
		{BanStart: t0, BanUntil: t0 + 3600*s, Offenses: 1},
		{BanStart: t0, BanUntil: t0 + 3600*s, Offenses: 1, Failures: []int64{t0 + 7200*s}},
		{BanStart: t0, Offenses: 1},                           // permanent
		{BanStart: t0, BanUntil: t0 + 48*3600*s, Offenses: 2}, // longer than History
	}
	for i, tr := range tracks {
		e := tr.Expiry(p)
		for _, at := range []int64{t0 - 3600*s, t0, t0 + 59*s, t0 + 60*s, t0 + 3600*s, t0 + 7260*s, t0 + 24*3600*s, t0 + 48*3600*s, e - 1, e} {
			if e == math.MaxInt64 && at == e {
				continue
			}
			if got, want := tr.Stale(p, time.Unix(0, at)), at >= e; got != want {
				t.Errorf("track %d (%+v): Stale at %d = %v, but Expiry %d", i, tr, at-t0, got, e-t0)
			}
		}
	}
}
