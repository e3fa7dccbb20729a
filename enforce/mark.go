package enforce

import (
	"context"
	"encoding/binary"
	"hash/fnv"
	"time"
)

// Mark is what an Apply left in the kernel, in the few figures a cheap
// look can compare without reading a single member: per set (ipset) or
// chain (iptables) the number of members, or nftables' ruleset
// generation with the boot and the network namespace it counts in. An
// Apply takes it only when the kernel was found to hold exactly its plan
// (Diff.Mark); a caller keeps it beside the bans it applied and, as long
// as those bans are the same, asks Check whether the kernel still shows
// the same figures before it pays for a full comparison.
//
// A mark is evidence, not proof: an outside change that keeps every count
// (a member deleted and another added by hand) passes a count check.
// Callers therefore still make a full comparison from time to time
// (Full); nftables' generation, which moves with any change to any
// table, has no such blind spot, but kernel timeouts expire members
// without moving it.
type Mark struct {
	// Kind is the backend that took it.
	Kind string `json:"kind"`
	// Spec identifies the jails, their ports and the backend's options
	// the plan was made with: a configuration change needs a full Apply.
	Spec uint64 `json:"spec"`
	// Full is the time (the caller's now) of the full comparison the mark
	// was taken after.
	Full time.Time `json:"full"`
	// Counts holds the members per set (ipset: "logjail-sshd-4") or per
	// chain and family (iptables: "logjail-sshd/4").
	Counts map[string]int `json:"counts,omitempty"`
	// Gen, Boot and NetNS are nftables' ruleset generation after the
	// Apply, the kernel's boot id and the network namespace's cookie
	// (unique within a boot): together they change with any change to
	// the ruleset, a reboot or another namespace.
	Gen   uint32 `json:"gen,omitempty"`
	Boot  string `json:"boot,omitempty"`
	NetNS uint64 `json:"netns,omitempty"`
}

// Checker is a Backend that can tell cheaply whether the kernel still
// holds what the Apply that returned a mark left there. Every kernel
// backend is one.
type Checker interface {
	// Check reports whether the kernel shows what m records for jails,
	// reading no member: the structure (chains, sets, jump rules) as
	// Apply makes it for jails, and the counts or generation of m. False
	// means "compare in full"; an error too.
	Check(ctx context.Context, jails []JailSpec, m Mark) (bool, error)
}

// parseJails parses and sorts jails.
func parseJails(jails []JailSpec) ([]jail, error) {
	js := make([]jail, 0, len(jails))
	for _, s := range jails {
		j, err := parseJail(s)
		if err != nil {
			return nil, err
		}
		js = append(js, j)
	}
	sortJails(js)
	return js, nil
}

// specPrint fingerprints the jails (parsed) and options a plan is made
// for.
func specPrint(kind string, opts Options, js []jail) uint64 {
	h := fnv.New64a()
	put := func(s string) { h.Write([]byte(s)); h.Write([]byte{0}) }
	put(kind)
	put(opts.BlockType)
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(opts.MaxElem)))
	for _, j := range js {
		put(j.name)
		put(j.proto)
		for _, r := range j.ports {
			put(r.String())
		}
		put("")
	}
	return h.Sum64()
}

// markedJails parses jails and reports whether m was taken by a backend
// of kind for them with opts; a Check goes on with the jails parsed.
func markedJails(kind string, opts Options, jails []JailSpec, m Mark) ([]jail, bool) {
	js, err := parseJails(jails)
	if err != nil || m.Kind != kind || m.Spec != specPrint(kind, opts, js) {
		return nil, false
	}
	return js, true
}

// newMark starts the mark of an Apply of kind for jails at now.
func newMark(kind string, opts Options, jails []JailSpec, now time.Time) *Mark {
	js, err := parseJails(jails)
	if err != nil {
		return nil
	}
	return &Mark{Kind: kind, Spec: specPrint(kind, opts, js), Full: now}
}

// planCounts is the number of members the plan puts in each of its sets,
// named by name.
func planCounts(p *plan, fams []family, name func(jail string, fam family) string) map[string]int {
	counts := map[string]int{}
	for _, j := range p.jails {
		for _, fam := range fams {
			counts[name(j.name, fam)] = len(p.bySet[setKey{j.name, fam}])
		}
	}
	return counts
}
