//go:build linux

package enforce

import (
	"bytes"
	"iter"
	"net/netip"
	"time"

	"github.com/google/nftables"
)

// nftRange is one interval of an interval set: [start, end), with end
// invalid when the interval runs to the top of the address space. set
// names the set it was found in.
type nftRange struct {
	set        string
	start, end netip.Addr
	left       time.Duration
}

// intervals yields the intervals of an interval set's elements, pairing
// starts with ends; els is put into ascending order (sortElems).
func intervals(set string, els []nftElem) iter.Seq[nftRange] {
	return func(yield func(nftRange) bool) {
		sortElems(els)
		var open nftRange
		for _, e := range els {
			if e.end {
				if open.start.IsValid() {
					open.end = e.addr()
					if !yield(open) {
						return
					}
					open = nftRange{}
				}
				continue
			}
			if open.start.IsValid() && !yield(open) { // no end: runs to the next start
				return
			}
			open = nftRange{set: set, start: e.addr(), left: e.expires}
		}
		if open.start.IsValid() {
			yield(open)
		}
	}
}

// cmpElem orders elements by key, an end before a start at the same key:
// it closes the range before it.
func cmpElem(a, b nftElem) int {
	if c := bytes.Compare(a.key[:], b.key[:]); c != 0 {
		return c
	}
	switch {
	case a.end == b.end:
		return 0
	case a.end:
		return -1
	}
	return 1
}

// prefix is the one prefix r covers; false when r is no prefix.
func (r nftRange) prefix() (netip.Prefix, bool) {
	if r.start.Next() == r.end { // a single address, the common case
		return netip.PrefixFrom(r.start, r.start.BitLen()), true
	}
	if ps := rangePrefixes(r.start, r.end); len(ps) == 1 {
		return ps[0], true
	}
	return netip.Prefix{}, false
}

// rangePrefixes splits [start, end) into the fewest prefixes; an invalid
// end means the top of the address space.
func rangePrefixes(start, end netip.Addr) []netip.Prefix {
	var out []netip.Prefix
	for a := start; a.IsValid() && (!end.IsValid() || a.Less(end)); {
		bits := a.BitLen()
		for bits > 0 {
			p := netip.PrefixFrom(a, bits-1)
			if p.Masked().Addr() != a {
				break
			}
			next := lastAddr(p).Next()
			if end.IsValid() && next.IsValid() && end.Less(next) {
				break
			}
			if end.IsValid() && !next.IsValid() {
				break
			}
			bits--
		}
		p := netip.PrefixFrom(a, bits)
		out = append(out, p)
		a = lastAddr(p).Next()
	}
	return out
}

// lastAddr is the highest address in p.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr()
	if a.Is4() {
		b := a.As4()
		for i := p.Bits(); i < 32; i++ {
			b[i/8] |= 0x80 >> (i % 8)
		}
		return netip.AddrFrom4(b)
	}
	b := a.As16()
	for i := p.Bits(); i < 128; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom16(b)
}

// setElems are the elements of one prefix: a start carrying the timeout,
// and an end just past the prefix unless it reaches the top.
func setElems(p netip.Prefix, timeout time.Duration) []nftables.SetElement {
	els := []nftables.SetElement{{Key: p.Addr().AsSlice(), Timeout: timeout}}
	if next := lastAddr(p).Next(); next.IsValid() {
		els = append(els, nftables.SetElement{Key: next.AsSlice(), IntervalEnd: true})
	}
	return els
}

// rangeIn are the elements that delete r from set s.
func rangeIn(s *nftables.Set, r nftRange) []nftables.SetElement {
	if !s.Interval {
		return []nftables.SetElement{{Key: r.start.AsSlice()}}
	}
	return rangeElems(r)
}

func rangeElems(r nftRange) []nftables.SetElement {
	els := []nftables.SetElement{{Key: r.start.AsSlice()}}
	if r.end.IsValid() {
		els = append(els, nftables.SetElement{Key: r.end.AsSlice(), IntervalEnd: true})
	}
	return els
}
