package enforce

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"time"
)

// family is an IP family: 4 or 6.
type family int

const (
	v4 family = 4
	v6 family = 6
)

var families = []family{v4, v6}

func familyOf(p netip.Prefix) family {
	if p.Addr().Is4() {
		return v4
	}
	return v6
}

func (f family) String() string {
	if f == v4 {
		return "IPv4"
	}
	return "IPv6"
}

// setKey names one jail's members of one family: an ipset or nft set, or
// the IPv4 or IPv6 chain of the iptables backend.
type setKey struct {
	jail string
	fam  family
}

// pkey is a prefix as a compact map key: the 16-byte address and the
// length. Maps of it hash far faster than maps of netip.Prefix.
type pkey [17]byte

func keyOf(p netip.Prefix) pkey {
	var k pkey
	a := p.Addr().As16()
	copy(k[:16], a[:])
	k[16] = byte(p.Bits())
	return k
}

// plan is the cleaned desired state that every backend installs.
type plan struct {
	jails   []jail // sorted by name
	byName  map[string]jail
	bySet   map[setKey][]Ban          // in no particular order
	index   map[setKey]map[pkey]int32 // position in bySet
	refused []Refusal
}

// lookup finds the desired ban of a jail for a prefix.
func (p *plan) lookup(jail string, pfx netip.Prefix) (Ban, bool) {
	sk := setKey{jail, familyOf(pfx)}
	i, ok := p.index[sk][keyOf(pfx)]
	if !ok {
		return Ban{}, false
	}
	return p.bySet[sk][i], true
}

// Kernel timeouts are a safety net only: logjail removes a ban itself at
// the first run after it ended. ipset takes at most maxTimeout; nftables
// is held to the same bound so both behave alike. A ban longer than that
// gets the longest timeout and is refreshed when half of it is used up.
const (
	maxTimeout = 2147483 * time.Second
	// timeoutSlack is how far the kernel's expiry may stray from a ban's
	// end before Apply resets it: it absorbs the time between taking now
	// and reading the kernel (lock waits, reading logs).
	timeoutSlack = time.Minute
)

func newPlan(specs []JailSpec, desired []Ban, now time.Time, g guard, maxElem int) (*plan, error) {
	p := &plan{byName: map[string]jail{}, bySet: map[setKey][]Ban{}, index: map[setKey]map[pkey]int32{}}
	for _, s := range specs {
		j, err := parseJail(s)
		if err != nil {
			return nil, err
		}
		if _, dup := p.byName[j.name]; dup {
			return nil, fmt.Errorf("jail %q listed twice: %w", j.name, ErrInvalidJail)
		}
		p.byName[j.name] = j
		p.jails = append(p.jails, j)
	}
	sortJails(p.jails)

	var (
		lastKey setKey
		bans    []Ban
		idx     map[pkey]int32
	)
	for at, b := range desired {
		n, ok := normPrefix(b.Prefix)
		if !ok {
			p.refused = append(p.refused, Refusal{b, "invalid address"})
			continue
		}
		b.Prefix = n
		if !b.Until.IsZero() && !b.Until.After(now) {
			continue // not active any more
		}
		if _, ok := p.byName[b.Jail]; !ok {
			p.refused = append(p.refused, Refusal{b, "jail not configured"})
			continue
		}
		if why := g.check(n); why != "" {
			p.refused = append(p.refused, Refusal{b, why})
			continue
		}
		if sk := (setKey{b.Jail, familyOf(n)}); sk != lastKey || idx == nil {
			if lastKey.jail != "" {
				p.bySet[lastKey] = bans
			}
			lastKey, bans, idx = sk, p.bySet[sk], p.index[sk]
			if idx == nil {
				// room for the rest: sets of 100,000 bans must not grow
				// in steps
				idx = make(map[pkey]int32, len(desired)-at)
				bans = make([]Ban, 0, len(desired)-at)
				p.index[sk] = idx
			}
		}
		k := keyOf(n)
		if i, dup := idx[k]; dup {
			old := bans[i]
			if !old.Until.IsZero() && (b.Until.IsZero() || b.Until.After(old.Until)) {
				bans[i] = b
			}
			continue
		}
		idx[k] = int32(len(bans))
		bans = append(bans, b)
	}
	if lastKey.jail != "" {
		p.bySet[lastKey] = bans
	}

	for sk, bans := range p.bySet {
		if slices.ContainsFunc(bans, func(b Ban) bool { return !b.Prefix.IsSingleIP() }) {
			// Fold bans inside a wider one: sorted by address and then by
			// length, a covering prefix comes right before what it covers.
			sortBans(bans)
			kept := bans[:0]
			for _, b := range bans {
				if len(kept) > 0 {
					if last := kept[len(kept)-1].Prefix; last.Contains(b.Prefix.Addr()) && last.Bits() <= b.Prefix.Bits() {
						continue
					}
				}
				kept = append(kept, b)
			}
			bans = kept
			p.bySet[sk] = kept
			idx := make(map[pkey]int32, len(kept))
			for i, b := range kept {
				idx[keyOf(b.Prefix)] = int32(i)
			}
			p.index[sk] = idx
		}
		if len(bans) > maxElem {
			return nil, fmt.Errorf("jail %s would hold %d %s bans, maxelem is %d: %w", sk.jail, len(bans), sk.fam, maxElem, ErrSetFull)
		}
	}
	return p, nil
}

// sortJails sorts jails by name.
func sortJails(js []jail) {
	sort.Slice(js, func(a, b int) bool { return js[a].name < js[b].name })
}

// found is a member as a backend read it from the kernel. raw holds what
// the backend needs to delete it (a rule's text, an element's keys).
type found[T any] struct {
	ban Ban
	// ok is false when the member is not in the form this backend writes
	// (another target, an ipset nomatch entry, a range that is no prefix):
	// it is removed, and re-added in the right form if desired.
	ok  bool
	raw T
}

// memberDiff is what a backend must do to one kind of member storage.
type memberDiff[T any] struct {
	add []Ban      // desired, missing
	del []found[T] // present, not desired (or not in logjail's form)
	// upd pairs a present member whose kernel timeout is wrong with the
	// desired ban holding the right end.
	upd []update[T]
}

type update[T any] struct {
	old found[T]
	ban Ban
}

// diffMembers compares what is installed (of the jails and families the
// backend covers with have) with the plan. withTimeouts says whether the
// backend keeps kernel timeouts that must match the bans' ends.
func diffMembers[T any](p *plan, have []found[T], inScope func(setKey) bool, withTimeouts bool, now time.Time) memberDiff[T] {
	var d memberDiff[T]
	matched := map[setKey][]bool{}
	var (
		lastKey setKey
		want    []Ban
		idx     map[pkey]int32
		seen    []bool
	)
	for _, f := range have {
		if !f.ok {
			d.del = append(d.del, f)
			continue
		}
		if sk := (setKey{f.ban.Jail, familyOf(f.ban.Prefix)}); sk != lastKey || seen == nil {
			lastKey, want, idx = sk, p.bySet[sk], p.index[sk]
			if seen = matched[sk]; seen == nil {
				seen = make([]bool, len(want)+1) // never nil
				matched[sk] = seen
			}
		}
		i, desired := idx[keyOf(f.ban.Prefix)]
		if !desired || seen[i] {
			d.del = append(d.del, f)
			continue
		}
		seen[i] = true
		if withTimeouts && !timeoutOK(f.ban.Until, want[i].Until, now) {
			d.upd = append(d.upd, update[T]{f, want[i]})
		}
	}
	for _, j := range p.jails {
		for _, fam := range families {
			sk := setKey{j.name, fam}
			if !inScope(sk) {
				continue
			}
			seen := matched[sk]
			for i, b := range p.bySet[sk] {
				if seen == nil || !seen[i] {
					d.add = append(d.add, b)
				}
			}
		}
	}
	return d
}

// kernelTimeout is the timeout a member gets for a ban ending at until:
// 0 for a permanent ban, else the time left, rounded up to whole seconds
// and capped at maxTimeout.
func kernelTimeout(until, now time.Time) time.Duration {
	if until.IsZero() {
		return 0
	}
	d := until.Sub(now)
	if d > maxTimeout {
		return maxTimeout
	}
	d = (d + time.Second - 1).Truncate(time.Second)
	return max(d, time.Second)
}

// timeoutOK reports whether a kernel expiry k (zero: none) fits a ban
// ending at until (zero: permanent).
func timeoutOK(k, until, now time.Time) bool {
	if until.IsZero() || k.IsZero() {
		return until.IsZero() && k.IsZero()
	}
	floor := until
	if until.Sub(now) > maxTimeout {
		floor = now.Add(maxTimeout / 2)
	}
	return !k.Before(floor.Add(-timeoutSlack)) && !k.After(until.Add(timeoutSlack))
}

// banOf builds the Ban for a member found in the kernel, whose remaining
// timeout is left (0: none).
func banOf(jail string, p netip.Prefix, left time.Duration, now time.Time) Ban {
	return Ban{Jail: jail, Prefix: p, Until: expiry(left, now)}
}

// expiry is when a member with the given time left expires; zero for
// none.
func expiry(left time.Duration, now time.Time) time.Time {
	if left <= 0 {
		return time.Time{}
	}
	return now.Add(left)
}

// refuseFamily refuses every desired ban of one family.
func (p *plan) refuseFamily(fam family, why string) {
	for sk, bans := range p.bySet {
		if sk.fam != fam {
			continue
		}
		for _, b := range bans {
			p.refused = append(p.refused, Refusal{b, why})
		}
		delete(p.bySet, sk)
		delete(p.index, sk)
	}
}
