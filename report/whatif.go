package report

import (
	"cmp"
	"net/netip"
	"slices"

	"logjail/analyze"
)

// WhatIf compares a replay under `--set` overrides with the same replay
// under the configured policy: which addresses only one of them bans.
type WhatIf struct {
	// Set are the overrides, as given (maxretry=3).
	Set []string
	// Bans counts the configured policy's bans, Banned the (jail, network)
	// pairs it bans at least once.
	Bans, Banned int
	// OnlyWhatIf are the pairs the overrides ban and the configured policy
	// never does; OnlyConfigured the other way round. Sorted by jail, then
	// address.
	OnlyWhatIf, OnlyConfigured []JailPrefix
}

// JailPrefix names a network in a jail.
type JailPrefix struct {
	Jail   string
	Prefix netip.Prefix
}

// CompareWhatIf sets r.WhatIf from the bans the configured policy issues
// over the same files; r is the replay under the overrides set.
func CompareWhatIf(r *Replay, configured []analyze.ReplayBan, set []string) {
	inMine := r.bannedSet()
	inTheirs := make(map[JailPrefix]bool, len(configured))
	for _, b := range configured {
		inTheirs[JailPrefix{b.Jail, b.Key}] = true
	}
	w := &WhatIf{Set: set, Bans: len(configured), Banned: len(inTheirs)}
	for p := range inMine {
		if !inTheirs[p] {
			w.OnlyWhatIf = append(w.OnlyWhatIf, p)
		}
	}
	for p := range inTheirs {
		if !inMine[p] {
			w.OnlyConfigured = append(w.OnlyConfigured, p)
		}
	}
	order := func(a, b JailPrefix) int {
		if c := cmp.Compare(a.Jail, b.Jail); c != 0 {
			return c
		}
		return a.Prefix.Addr().Compare(b.Prefix.Addr())
	}
	slices.SortFunc(w.OnlyWhatIf, order)
	slices.SortFunc(w.OnlyConfigured, order)
	r.WhatIf = w
}

// bannedSet returns the (jail, network) pairs of r's bans.
func (r *Replay) bannedSet() map[JailPrefix]bool {
	seen := make(map[JailPrefix]bool, len(r.Bans))
	for _, b := range r.Bans {
		seen[JailPrefix{b.Jail, b.Prefix}] = true
	}
	return seen
}

// banned counts the (jail, network) pairs of r's bans.
func (r *Replay) banned() int { return len(r.bannedSet()) }
