package enforce

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// Ban is one address or network banned in one jail.
type Ban struct {
	// Jail names the jail the ban belongs to; it selects the chain or set.
	Jail string
	// Prefix is the banned address (a /32 or /128) or network.
	Prefix netip.Prefix
	// Until is when the ban ends; the zero time means permanent. In the
	// bans Actual reports it is the kernel's own expiry (zero for the
	// iptables backend, which keeps none).
	Until time.Time
}

// String formats the ban as "jail addr" or "jail net/len", plus the end
// of the ban when there is one.
func (b Ban) String() string {
	s := b.Jail + " " + Addr(b.Prefix)
	if !b.Until.IsZero() {
		s += " until " + b.Until.UTC().Format(time.RFC3339)
	}
	return s
}

// Addr prints a prefix the way the firewall tools do: a single address
// (/32, /128) as the bare address, a network in CIDR notation.
func Addr(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// JailSpec is what the firewall needs to know about a jail: which traffic
// its bans block.
type JailSpec struct {
	// Name is the jail's name: letters, digits, '_', '.', '-', at most
	// MaxJailName characters (the longest that fits iptables' and ipset's
	// name limits once prefixed with "logjail-").
	Name string
	// Protocol is "tcp" (also when empty), "udp" or "all"; "all" takes no
	// ports.
	Protocol string
	// Ports lists the blocked destination ports in iptables multiport
	// syntax, "22,80:90"; service names from /etc/services are accepted.
	// Empty (or "all") blocks every port.
	Ports string
}

// Diff tells what an Apply changed, or, for Refused, declined to do.
type Diff struct {
	// Added lists the bans installed, with the end the kernel was given.
	Added []Ban
	// Removed lists the bans taken out, as they were found.
	Removed []Ban
	// Updated lists the bans whose kernel timeout was reset to a new end
	// (ipset and nftables only).
	Updated []Ban
	// Refused lists desired bans that were not installed, and why.
	Refused []Refusal
	// Setup describes the structure created or removed, one line each
	// ("create chain logjail-sshd (iptables)").
	Setup []string
	// Mark is what a Checker's Check compares with the kernel later: set
	// by an Apply of a kernel backend that found the kernel holding
	// exactly its plan when it was done (nil otherwise, and in a Plan).
	Mark *Mark
}

// Empty reports whether the Apply left the kernel as it found it.
// Refusals do not count: they are reported on every run.
func (d Diff) Empty() bool {
	return len(d.Added) == 0 && len(d.Removed) == 0 && len(d.Updated) == 0 && len(d.Setup) == 0
}

// Refusal is a desired ban the guard kept out of the firewall.
type Refusal struct {
	Ban    Ban
	Reason string // e.g. "covers loopback 127.0.0.0/8"
}

func (r Refusal) String() string { return r.Ban.String() + ": " + r.Reason }

// Backend installs bans into one kind of firewall.
//
// Every method reads the kernel afresh; a Backend keeps no memory of the
// firewall between calls, so anything done to the firewall in between (a
// reboot, a flush by hand, an expired kernel timeout) is seen and repaired
// by the next Apply. A Backend is not safe for concurrent use; callers
// serialise runs (logjail holds its state lock).
type Backend interface {
	// Kind names the backend: "iptables", "ipset", "nftables" or "none".
	Kind() string

	// Actual lists the bans installed in the kernel in logjail's chains,
	// sets or table, for every jail found there, sorted by jail and
	// prefix. now converts the kernel's remaining timeouts into Until.
	// Members the kernel holds in a form logjail does not write are
	// listed too.
	Actual(ctx context.Context, now time.Time) ([]Ban, error)

	// Apply brings the kernel to hold exactly the active bans of desired
	// for jails: it creates missing chains, sets, jump rules and the
	// table, rewrites rules whose ports, protocol or block type changed,
	// removes members that are not desired, removes the structure of jails
	// that are no longer listed, and adds the missing members, with the
	// member changes in one batch per tool (one iptables-restore per IP
	// family, one ipset restore, one nftables transaction).
	//
	// Before anything is changed, desired is cleaned: prefixes are masked
	// and 4in6 addresses unmapped, bans that ended at or before now are
	// dropped, duplicates are merged (the later end wins, permanent beats
	// any end), and a ban that lies inside a wider ban of the same jail is
	// folded into it. Bans of jails not in jails, and bans overlapping
	// loopback, an address of the machine's own interfaces, or
	// Options.Never are refused: never installed, listed in Diff.Refused.
	//
	// Invalid jails (ErrInvalidJail), a set that would hold more than
	// Options.MaxElem members (ErrSetFull) and a name taken by something
	// logjail did not make (ErrConflict) are reported before any change.
	// A failure half way leaves a firewall that the next Apply repairs.
	Apply(ctx context.Context, jails []JailSpec, desired []Ban, now time.Time) (Diff, error)

	// Plan returns the Diff that Apply would return now, and its errors,
	// by the same code: the kernel is read and the plan made as Apply
	// does, and only the writes are skipped. It is the dry run's
	// firewall step: an Apply right after it changes exactly what Plan
	// listed (Added, Removed, Updated, Setup), and a Plan right after an
	// Apply lists nothing.
	Plan(ctx context.Context, jails []JailSpec, desired []Ban, now time.Time) (Diff, error)

	// Flush removes every rule, chain, set and table this backend's kind
	// creates (names starting with "logjail-", table inet logjail, INPUT
	// rules carrying the comment "logjail"), and nothing else. Flushing a
	// clean firewall is no error.
	Flush(ctx context.Context) error
}

// Stager is a Backend that can do the slow part of an Apply ahead, while
// the caller commits the bans it applies, without changing what the
// firewall blocks: the caller's state is written first, the firewall
// changed after, and a crash in between leaves nothing in force that the
// state does not hold.
//
// ipset fills every set that gains at least StageMin members into a
// staging set no rule references, and the Apply swaps it in (atomic);
// nftables fills such a jail's sets of the generation no rule uses, and
// the Apply points the rules at them in one transaction.
type Stager interface {
	// Stage reads the kernel and plans as Apply(jails, desired, now)
	// would, and reports the same errors; the returned Staged finishes
	// or drops it.
	Stage(ctx context.Context, jails []JailSpec, desired []Ban, now time.Time) (Staged, error)
}

// Staged is an Apply that Stage prepared: exactly one of its methods is
// called, once.
type Staged interface {
	// Apply makes the change: it returns what Apply would have, the
	// kernel being as Stage read it.
	Apply(ctx context.Context) (Diff, error)
	// Drop abandons the change (the caller's commit failed): the
	// firewall is left as Stage found it, without staging sets.
	Drop(ctx context.Context) error
}

// StageMin is how many members a set gains before Stage fills it as a
// staging set (ipset), and they must make half of the set or more: else
// the members are added to the set in place at the Apply, which costs
// less than filling the whole set anew.
const StageMin = 1000

// Kinds lists the backends New knows.
var Kinds = []string{"iptables", "ipset", "nftables", "none"}

// Options configure a Backend.
type Options struct {
	// NetNS names a network namespace (as listed by "ip netns list") to
	// act in: every command runs under "ip netns exec NetNS" and every
	// netlink socket is opened there. Empty means the process's own
	// namespace, which is what production uses; tests set it.
	NetNS string

	// BlockType is "DROP" (the default) or "REJECT". REJECT answers TCP
	// with a reset and other protocols with ICMP port unreachable.
	BlockType string

	// MaxElem caps the members of one jail and IP family (an ipset set's
	// maxelem). An Apply that would exceed it fails with ErrSetFull
	// before changing anything. Zero means DefaultMaxElem.
	MaxElem int

	// Never lists networks that are never banned (a jail's ignoreip),
	// in addition to loopback and the machine's own addresses.
	Never []netip.Prefix
}

// DefaultMaxElem is the MaxElem used when Options leaves it zero: ipset's
// own default.
const DefaultMaxElem = 65536

// New returns the backend of the given kind (one of Kinds).
func New(kind string, opts Options) (Backend, error) {
	switch opts.BlockType {
	case "":
		opts.BlockType = "DROP"
	case "DROP", "REJECT":
	default:
		return nil, fmt.Errorf("%s: blocktype %q: %w", kind, opts.BlockType, ErrInvalidOption)
	}
	if opts.MaxElem == 0 {
		opts.MaxElem = DefaultMaxElem
	}
	if opts.MaxElem < 0 {
		return nil, fmt.Errorf("%s: maxelem %d: %w", kind, opts.MaxElem, ErrInvalidOption)
	}
	t := target{netns: opts.NetNS}
	switch kind {
	case "none":
		return &noneBackend{opts: opts, t: t}, nil
	case "iptables", "ipset", "nftables":
		return newKernelBackend(kind, opts, t)
	}
	return nil, fmt.Errorf("firewall backend %q (want one of %s): %w", kind, strings.Join(Kinds, ", "), ErrUnknownBackend)
}

// sortBans orders bans by jail, then family (IPv4 first), address and
// prefix length, so that reports and tests are stable.
func sortBans(bans []Ban) {
	slices.SortFunc(bans, func(a, b Ban) int {
		if c := strings.Compare(a.Jail, b.Jail); c != 0 {
			return c
		}
		if c := a.Prefix.Addr().Compare(b.Prefix.Addr()); c != 0 {
			return c
		}
		return a.Prefix.Bits() - b.Prefix.Bits()
	})
}

// concurrently runs every fn at once and returns the first error in
// argument order. Apply uses it to build its plan while the firewall
// tools read the kernel.
func concurrently(fns ...func() error) error {
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
