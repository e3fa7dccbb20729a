package analyze

import (
	"math"
	"net/netip"
	"slices"
	"sort"
	"time"
)

// Policy decides when an address is banned in one jail, as CONTRACT.md's
// policy section says.
type Policy struct {
	MaxRetry int
	FindTime time.Duration
	// BanTime is the length of a first ban; Permanent makes bans endless.
	BanTime   time.Duration
	Permanent bool
	// With Factor > 1, the n-th ban of an address lasts
	// min(BanTime * Factor^(n-1), MaxTime) (bantime_increment).
	Factor  float64
	MaxTime time.Duration
	// History is how long a ban counts as a previous offense.
	History time.Duration
	// Ignore lists networks whose failures are dropped.
	Ignore []netip.Prefix
	// Prefix6 groups IPv6 addresses into networks of this many bits (64
	// bans an attacker's whole /64); 0 or 128 keeps single addresses.
	Prefix6 int
	// Net6, when shorter than Prefix6, is the IPv6 network that failures
	// count in besides their own key: an attacker who takes a new address
	// of its /64 for every attempt is banned by the network once the
	// network holds MaxRetry failures (see Fail). 0 or 128: off.
	Net6 int
	// Never lists networks a network ban must not cover besides Ignore:
	// the machine's own addresses. A network that overlaps one (or an
	// ignored network) is not counted; its addresses still are.
	Never []netip.Prefix
}

// BanDuration returns the length of the offense-th ban (1-based); permanent
// is true for a ban without end.
func (p *Policy) BanDuration(offense int) (d time.Duration, permanent bool) {
	if p.Permanent {
		return 0, true
	}
	d = p.BanTime
	if p.Factor > 1 && offense > 1 {
		f := float64(p.BanTime) * math.Pow(p.Factor, float64(offense-1))
		if f > float64(p.MaxTime) || math.IsInf(f, 0) || f > math.MaxInt64 {
			return p.MaxTime, false
		}
		d = time.Duration(f)
		if d > p.MaxTime {
			d = p.MaxTime
		}
	}
	return d, false
}

// Ignored reports whether failures of a must be dropped.
func (p *Policy) Ignored(a netip.Addr) bool {
	for _, n := range p.Ignore {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// Key returns the network a failure of a counts against and a ban covers:
// the address itself, or its IPv6 network of Prefix6 bits.
func (p *Policy) Key(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	bits := a.BitLen()
	if a.Is6() && p.Prefix6 > 0 && p.Prefix6 < 128 {
		bits = p.Prefix6
	}
	pfx, _ := a.Prefix(bits)
	return pfx
}

// NetKey returns the network a failure of a counts in besides Key, when
// the network rule applies to a: an IPv6 address, Net6 shorter than the
// key's length, and a network clear of ignored and Never networks.
func (p *Policy) NetKey(a netip.Addr) (netip.Prefix, bool) {
	a = a.Unmap()
	if !a.Is6() || p.Net6 <= 0 || p.Net6 >= 128 || (p.Prefix6 > 0 && p.Prefix6 <= p.Net6) {
		return netip.Prefix{}, false
	}
	n, _ := a.Prefix(p.Net6)
	for _, list := range [][]netip.Prefix{p.Ignore, p.Never} {
		for _, x := range list {
			if x.Overlaps(n) {
				return netip.Prefix{}, false
			}
		}
	}
	return n, true
}

// Fail applies one failure at t to its key's track and to its network's
// track (nt nil when NetKey has none), and returns the ban it triggers,
// with Key set to key or net:
//
//   - nothing counts while the key or the network is banned;
//   - the key's track steps first: an address that reaches MaxRetry
//     alone is banned alone, as without the network rule, and the
//     failures that banned it leave the network's track (they are paid
//     for: one attacker banned does not bring its neighbours' network
//     closer to a ban);
//   - otherwise the failure counts in the network's track, and the
//     network is banned when it holds MaxRetry failures in the window,
//     from any of its addresses.
func (p *Policy) Fail(tr *Track, key netip.Prefix, nt *Track, net netip.Prefix, t time.Time) (Decision, bool) {
	n := t.UnixNano()
	if tr.BannedAt(n) || (nt != nil && nt.BannedAt(n)) {
		return Decision{}, false
	}
	if nt == nil {
		d, ok := p.Step(tr, t)
		d.Key = key
		return d, ok
	}
	var before [8]int64
	prior := append(before[:0], tr.Failures...)
	if d, ok := p.Step(tr, t); ok {
		// Step cleared the window: the failures it held, and t, go from
		// the network's.
		nt.forget(append(prior, n))
		d.Key = key
		return d, true
	}
	d, ok := p.Step(nt, t)
	d.Key = net
	return d, ok
}

// forget removes one failure at each of the times ts, where present.
func (tr *Track) forget(ts []int64) {
	for _, x := range ts {
		if i, ok := slices.BinarySearch(tr.Failures, x); ok {
			tr.Failures = slices.Delete(tr.Failures, i, i+1)
		}
	}
}

// Track is what the engine remembers of one network in one jail between
// failures: the failures inside the window and the bans so far. A track
// holds at most MaxRetry-1 failure times.
type Track struct {
	// Failures are Unix nanosecond times, ascending.
	Failures []int64
	// BanStart and BanUntil are the last ban; BanUntil 0 with BanStart
	// set means permanent. Both 0: never banned (within History).
	BanStart, BanUntil int64
	// Offenses counts the bans within History, the last included.
	Offenses int
}

// BannedAt reports whether the track's last ban is active at t.
func (tr *Track) BannedAt(t int64) bool {
	if tr.BanStart == 0 || t < tr.BanStart {
		return false
	}
	return tr.BanUntil == 0 || t < tr.BanUntil
}

// Stale reports whether the track holds nothing worth keeping at now: no
// failure inside the window, no active ban, no offense within History.
func (tr *Track) Stale(p *Policy, now time.Time) bool {
	n := now.UnixNano()
	if len(tr.Failures) > 0 && tr.Failures[len(tr.Failures)-1] > n-int64(p.FindTime) {
		return false
	}
	if tr.BannedAt(n) {
		return false
	}
	return tr.BanStart == 0 || tr.BanStart <= n-int64(p.History)
}

// Expiry returns the time, in Unix nanoseconds, from which the track is
// Stale under p: the end of its newest failure's window, of its ban, and
// of the History its ban counts in. A permanent ban never expires
// (math.MaxInt64).
func (tr *Track) Expiry(p *Policy) int64 {
	e := int64(math.MinInt64)
	if n := len(tr.Failures); n > 0 {
		e = tr.Failures[n-1] + int64(p.FindTime)
	}
	if tr.BanStart != 0 {
		if tr.BanUntil == 0 {
			return math.MaxInt64
		}
		e = max(e, tr.BanUntil, tr.BanStart+int64(p.History))
	}
	return e
}

// Decision is a ban the policy decided.
type Decision struct {
	Key       netip.Prefix
	Start     time.Time
	Until     time.Time // zero for a permanent ban
	Offense   int
	Failures  int // failures inside the window that led to it
	Permanent bool
}

// Step applies one failure at t to a track. It returns the ban the failure
// triggers, if any. Failures while the network is banned do not count;
// failures at or before t-FindTime fall out of the window.
func (p *Policy) Step(tr *Track, t time.Time) (Decision, bool) {
	n := t.UnixNano()
	if tr.BannedAt(n) {
		return Decision{}, false
	}
	// Insert in time order (pieces of several files may interleave).
	i := sort.Search(len(tr.Failures), func(i int) bool { return tr.Failures[i] > n })
	tr.Failures = append(tr.Failures, 0)
	copy(tr.Failures[i+1:], tr.Failures[i:])
	tr.Failures[i] = n
	// The first failure from t on whose window (f-FindTime, f] holds
	// MaxRetry failures bans, as if the failures had come in time order.
	banAt, count := -1, 0
	for j := i; j < len(tr.Failures); j++ {
		f := tr.Failures[j]
		first := sort.Search(j, func(k int) bool { return tr.Failures[k] > f-int64(p.FindTime) })
		if c := j + 1 - first; c >= p.MaxRetry {
			banAt, count = j, c
			break
		}
	}
	if banAt < 0 {
		// Keep the window bounded: entries outside the newest one's
		// window, or beyond MaxRetry-1, can never count again.
		newest := tr.Failures[len(tr.Failures)-1]
		drop := sort.Search(len(tr.Failures), func(k int) bool { return tr.Failures[k] > newest-int64(p.FindTime) })
		if keep := p.MaxRetry - 1; len(tr.Failures)-drop > keep {
			drop = len(tr.Failures) - keep
		}
		tr.Failures = append(tr.Failures[:0], tr.Failures[drop:]...)
		return Decision{}, false
	}
	n = tr.Failures[banAt]
	t = time.Unix(0, n).In(t.Location())
	if tr.BanStart != 0 && tr.BanStart <= n-int64(p.History) {
		tr.Offenses = 0
	}
	tr.Offenses++
	d, perm := p.BanDuration(tr.Offenses)
	tr.BanStart = n
	tr.BanUntil = 0
	dec := Decision{Start: t, Offense: tr.Offenses, Failures: count, Permanent: perm}
	if !perm {
		tr.BanUntil = n + int64(d)
		dec.Until = t.Add(d)
	}
	tr.Failures = tr.Failures[:0]
	return dec, true
}
