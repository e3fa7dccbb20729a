//go:build linux

package enforce

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// nftBackend keeps everything in table inet logjail:
//
//   - a base chain "input" hooked on input at priority -1 (ahead of
//     iptables' filter), holding per jail and port range one rule that
//     matches the jail's protocol and ports and jumps to the jail's chain;
//   - per jail a chain logjail-<jail> holding one rule per set, which
//     drops (or rejects) the addresses in it;
//   - per jail and family nftShards shards, each a hash set of addresses
//     logjail-<jail>-4.ip<k><gen> and an interval set of networks
//     logjail-<jail>-4.net<k><gen> (and -6), with per-element timeouts; a
//     ban lives in the one set placeOf picks for it. The generation gen
//     (a or b) alternates when Stage fills a large change into sets no
//     rule uses yet (see Stage).
//
// Every rule is identified by its comment. The backend talks netlink
// directly through github.com/google/nftables and reads set elements with
// a dumpReader; every Apply is one transaction.
//
// Versions before the sharding kept one set per jail and family
// (logjail-<jail>-4) matched by rules in chain input; versions before the
// hash sets, 16 interval sets logjail-<jail>-4.<k> holding every ban.
// Apply migrates such a table in its transaction: the sets, jail chains
// and rules are added, filled with the bans, and the old rules and sets
// removed.
type nftBackend struct {
	opts Options
	t    target
}

const (
	nftTable = "logjail"
	nftChain = "input"
	// nftChunk is how many elements go in one netlink message: a message's
	// element list is one attribute, whose length field has 16 bits.
	nftChunk   = 1000
	nftSendBuf = 64 << 20
	// nftRecvBuf holds the acknowledgements of a transaction's messages,
	// each taking about a kilobyte of the buffer.
	nftRecvBuf = 16 << 20
)

// nftTxnElems bounds the elements of one transaction: the whole
// transaction travels in one sendmsg, which must fit the socket's send
// buffer (nftSendBuf). (A variable for the tests.)
var nftTxnElems = 250000

func (b *nftBackend) Kind() string { return "nftables" }

// nftConn is one Apply's, Actual's or Flush's view of table inet logjail.
type nftConn struct {
	c      *nftables.Conn
	er     *dumpReader
	close  func()
	table  *nftables.Table            // nil when missing
	chains map[string]*nftables.Chain // of table inet logjail
	sets   map[string]*nftables.Set
	elems  map[string][]nftElem        // of logjail's sets, as read
	rules  map[string][]*nftables.Rule // of chain input and logjail's chains
	// used names the sets that those rules look up.
	used map[string]bool
}

func (b *nftBackend) open() (*nftConn, error) {
	fd, closeNS, err := b.t.nsHandle()
	if err != nil {
		return nil, err
	}
	opts := []nftables.ConnOption{nftables.AsLasting(), nftables.WithSockOptions(tuneSocket)}
	if fd >= 0 {
		opts = append(opts, nftables.WithNetNSFd(fd))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		closeNS()
		return nil, fmt.Errorf("open netlink: %w", err)
	}
	er, err := dialDumpReader(fd)
	if err != nil {
		_ = c.CloseLasting()
		closeNS()
		return nil, err
	}
	var once sync.Once
	return &nftConn{
		c: c, er: er,
		close:  func() { once.Do(func() { _ = er.close(); _ = c.CloseLasting(); closeNS() }) },
		chains: map[string]*nftables.Chain{}, sets: map[string]*nftables.Set{},
		elems: map[string][]nftElem{}, rules: map[string][]*nftables.Rule{}, used: map[string]bool{},
	}, nil
}

// tuneSocket sizes the netlink socket's buffers for a whole transaction:
// it travels in one sendmsg, and the kernel answers each of its messages
// (every set, rule and block of elements) with an acknowledgement that
// must find room until the library reads them all, as nft arranges too.
func tuneSocket(c *netlink.Conn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, nftSendBuf)
		if serr == nil {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, nftRecvBuf)
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("set socket buffers: %w", serr)
	}
	return nil
}

// read loads the table, its chains, its sets with the elements of
// logjail's, and the rules of chain input and of logjail's chains.
func (n *nftConn) read() error {
	tables, err := n.c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EPROTONOSUPPORT) || errors.Is(err, unix.EAFNOSUPPORT) {
			return fmt.Errorf("list tables: the kernel has no nf_tables (%w): %w", ErrToolMissing, err)
		}
		return fmt.Errorf("list tables: %w", err)
	}
	for _, t := range tables {
		if t.Name == nftTable {
			n.table = t
		}
	}
	if n.table == nil {
		return nil
	}
	chains, err := n.c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return fmt.Errorf("list chains: %w", err)
	}
	for _, ch := range chains {
		if ch.Table.Name == nftTable {
			ch.Table = n.table
			n.chains[ch.Name] = ch
		}
	}
	sets, err := n.c.GetSets(n.table)
	if err != nil {
		return fmt.Errorf("list sets: %w", err)
	}
	for _, s := range sets {
		s.Table = n.table
		n.sets[s.Name] = s
		if _, ok := nftSetOwner(s.Name); ok {
			if n.elems[s.Name], err = n.er.elements(nftTable, s.Name); err != nil {
				return fmt.Errorf("list elements of set %s: %w", s.Name, err)
			}
		}
	}
	for name, ch := range n.chains {
		if name != nftChain && !strings.HasPrefix(name, prefix) {
			continue
		}
		if n.rules[name], err = n.c.GetRules(n.table, ch); err != nil {
			return fmt.Errorf("list rules of chain %s: %w", name, err)
		}
		for _, r := range n.rules[name] {
			for _, e := range r.Exprs {
				if l, ok := e.(*expr.Lookup); ok {
					n.used[l.SetName] = true
				}
			}
		}
	}
	return nil
}

// generations tells which generation of each jail's sets of a family is
// in use: the one the rules look up; without such a rule, the one whose
// sets exist, a before b. A jail and family missing from the map has no
// set: a.
func (n *nftConn) generations() map[setKey]byte {
	gens, found := map[setKey]byte{}, map[setKey]byte{}
	for name := range n.sets {
		o, ok := nftSetOwner(name)
		if !ok || !o.current() {
			continue
		}
		m := found
		if n.used[name] {
			m = gens
		}
		if g, seen := m[o.key()]; !seen || o.gen < g {
			m[o.key()] = o.gen
		}
	}
	for k, g := range found {
		if _, ok := gens[k]; !ok {
			gens[k] = g
		}
	}
	return gens
}

// genOf is the generation of k's sets in gens.
func genOf(gens map[setKey]byte, k setKey) byte {
	if g, ok := gens[k]; ok {
		return g
	}
	return nftGens[0]
}

// idle tells whether one of logjail's sets of this layout is looked up
// by no rule: its members block nothing. Such are the sets Stage filled,
// until the Apply, and those it left when its caller died; and every set
// when the rules are gone (deleted by hand), until the next Apply.
func (n *nftConn) idle(name string) bool {
	o, ok := nftSetOwner(name)
	return ok && o.gen != 0 && !n.used[name]
}

// members lists the bans in one of logjail's sets, as read. A range that
// is no single prefix (made by hand) is listed as the prefixes covering
// it, all marked not ok.
func (n *nftConn) members(s *nftables.Set, jail string, now time.Time) []found[nftRange] {
	var out []found[nftRange]
	for r := range n.ranges(s) {
		out = appendRange(out, r, jail, now)
	}
	return out
}

// ranges yields the members of one of logjail's sets, as read: the
// intervals of an interval set, the addresses of a hash set (each the
// interval of one address).
func (n *nftConn) ranges(s *nftables.Set) iter.Seq[nftRange] {
	if s.Interval {
		return intervals(s.Name, n.elems[s.Name])
	}
	return func(yield func(nftRange) bool) {
		for _, e := range n.elems[s.Name] {
			if e.end {
				continue
			}
			a := e.addr()
			if !yield(nftRange{set: s.Name, start: a, end: a.Next(), left: e.expires}) {
				return
			}
		}
	}
}

// appendRange appends the bans of one interval: its prefix, or the
// prefixes covering it, marked not ok, when it is no prefix.
func appendRange(out []found[nftRange], r nftRange, jail string, now time.Time) []found[nftRange] {
	if p, ok := r.prefix(); ok {
		return append(out, found[nftRange]{ban: banOf(jail, p, r.left, now), ok: true, raw: r})
	}
	for _, p := range rangePrefixes(r.start, r.end) {
		out = append(out, found[nftRange]{ban: banOf(jail, p, r.left, now), raw: r})
	}
	return out
}

func keyType(fam family) nftables.SetDatatype {
	if fam == v4 {
		return nftables.TypeIPAddr
	}
	return nftables.TypeIP6Addr
}

func (b *nftBackend) Actual(ctx context.Context, now time.Time) ([]Ban, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n, err := b.open()
	if err != nil {
		return nil, backendError(b.Kind(), "read", err)
	}
	defer n.close()
	if err := n.read(); err != nil {
		return nil, backendError(b.Kind(), "read", err)
	}
	var bans []Ban
	for name, s := range n.sets {
		o, ok := nftSetOwner(name)
		if !ok || n.idle(name) {
			continue
		}
		for _, f := range n.members(s, o.jail, now) {
			bans = append(bans, f.ban)
		}
	}
	sortBans(bans)
	return bans, nil
}

// Check compares nftables' ruleset generation, the boot and the
// namespace with m's: any change to any table (logjail's, a hand's,
// another program's) moves the generation. Members that the kernel's
// timeouts expire do not move it: their ends are the bans' ends, which
// the caller knows.
func (b *nftBackend) Check(ctx context.Context, jails []JailSpec, m Mark) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if _, ok := markedJails(b.Kind(), b.opts, jails, m); !ok || m.Boot == "" {
		return false, nil
	}
	fd, closeNS, err := b.t.nsHandle()
	if err != nil {
		return false, backendError(b.Kind(), "check", err)
	}
	defer closeNS()
	r, err := dialDumpReader(fd)
	if err != nil {
		return false, backendError(b.Kind(), "check", err)
	}
	defer r.close()
	g, err := r.gen()
	if err != nil {
		return false, backendError(b.Kind(), "check", err)
	}
	return g.id == m.Gen && g.boot == m.Boot && g.netns == m.NetNS, nil
}

func (b *nftBackend) Apply(ctx context.Context, jails []JailSpec, desired []Ban, now time.Time) (Diff, error) {
	return b.apply(ctx, jails, desired, now, false)
}

func (b *nftBackend) Plan(ctx context.Context, jails []JailSpec, desired []Ban, now time.Time) (Diff, error) {
	return b.apply(ctx, jails, desired, now, true)
}

// apply builds the transaction; dry drops it instead of committing it:
// the messages queued on the connection are never sent.
func (b *nftBackend) apply(ctx context.Context, jails []JailSpec, desired []Ban, now time.Time, dry bool) (Diff, error) {
	a, err := b.prepare(ctx, jails, desired, now, dry, false)
	if err != nil {
		return a.diff(), err
	}
	defer a.n.close()
	return a.finish()
}

// Stage reads the kernel and plans as Apply would. Every jail and family
// that gains at least StageMin bans, which make half of its bans or more,
// has all its bans filled at once into its sets of the other generation
// (logjail-sshd-4.ip0b ... when the rules use logjail-sshd-4.ip0a ...),
// which no rule uses: until the Apply, the firewall blocks what it
// blocked. The rest of the Apply's transaction is built, not sent: the
// Apply sends it, and it points the jail's rules at the filled sets and
// deletes the sets they used, in one transaction. Drop deletes the
// filled sets; sets a crash leaves go at the next Apply.
//
// The filled sets may take several transactions (nftTxnElems): no rule
// uses them. The rest of a change too large for one transaction is made
// afresh by the Apply.
func (b *nftBackend) Stage(ctx context.Context, jails []JailSpec, desired []Ban, now time.Time) (Staged, error) {
	a, err := b.prepare(ctx, jails, desired, now, false, true)
	if err != nil {
		if a != nil && len(a.filled) > 0 {
			err = errors.Join(err, a.Drop(ctx))
		}
		return nil, err
	}
	if a.tx.over {
		// The rest is too large to hold: made afresh after the commit,
		// without the sets filled for it.
		if err := a.Drop(ctx); err != nil {
			return nil, err
		}
		return nftAfresh{b, jails, desired, now}, nil
	}
	return a, nil
}

// nftAfresh is a change Stage could not hold in one transaction.
type nftAfresh struct {
	b       *nftBackend
	jails   []JailSpec
	desired []Ban
	now     time.Time
}

func (s nftAfresh) Apply(ctx context.Context) (Diff, error) {
	return s.b.Apply(ctx, s.jails, s.desired, s.now)
}

func (s nftAfresh) Drop(context.Context) error { return nil }

// Apply sends a staged transaction (see Stage).
func (a *nftApply) Apply(context.Context) (Diff, error) {
	defer a.n.close()
	return a.finish()
}

// Drop abandons a staged transaction, which was not sent, and deletes
// the sets Stage filled (the table with them when Stage made it).
func (a *nftApply) Drop(ctx context.Context) error {
	a.n.close()
	if len(a.filled) == 0 {
		return nil
	}
	n, err := a.b.open()
	if err != nil {
		return backendError(a.b.Kind(), "delete staged sets", err)
	}
	defer n.close()
	// Those that exist: a stage that failed made some or none.
	sets, err := n.c.GetSets(a.table)
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return backendError(a.b.Kind(), "delete staged sets", err)
	}
	switch {
	case len(sets) == 0:
	case a.tableMade:
		n.c.DelTable(a.table)
	default:
		for _, s := range sets {
			if a.filled[s.Name] != nil {
				n.c.DelSet(&nftables.Set{Table: a.table, Name: s.Name})
			}
		}
	}
	a.filled = nil
	if err := n.c.Flush(); err != nil {
		return backendError(a.b.Kind(), "delete staged sets", err)
	}
	return nil
}

// prepare reads the kernel and builds the transaction on the connection,
// sending nothing unless it must be committed in parts (hold forbids
// that: the transaction is marked over instead). hold also stages (see
// Stage): the sets filled are committed at once. The caller closes a.n.
func (b *nftBackend) prepare(ctx context.Context, jails []JailSpec, desired []Ban, now time.Time, dry, hold bool) (*nftApply, error) {
	// The plan is built while the kernel is read.
	var (
		p      *plan
		before nftGen
		genErr error
	)
	n, err := b.open()
	if err != nil {
		return nil, backendError(b.Kind(), "open", err)
	}
	err = concurrently(
		func() (err error) { p, err = preparePlan(ctx, b.Kind(), b.t, b.opts, jails, desired, now); return err },
		func() error {
			// The generation before anything is read: if only this
			// Apply's own transactions moved it when it is done, the
			// kernel holds its plan (see mark).
			before, genErr = n.er.gen()
			if err := n.read(); err != nil {
				return backendError(b.Kind(), "read", err)
			}
			return nil
		},
	)
	if err != nil {
		n.close()
		return nil, err
	}
	a := &nftApply{b: b, n: n, p: p, now: now, jails: jails, before: before, genErr: genErr,
		tx: &nftTxn{c: n.c, dry: dry, hold: hold}, d: Diff{Refused: p.refused}}
	if err := a.run(); err != nil {
		n.close()
		return a, backendError(b.Kind(), a.step, err)
	}
	return a, nil
}

// diff is the Diff of an Apply that may not have been prepared.
func (a *nftApply) diff() Diff {
	if a == nil {
		return Diff{}
	}
	return a.d
}

// finish commits what prepare built and leaves the mark.
func (a *nftApply) finish() (Diff, error) {
	b := a.b
	a.step = "commit"
	if err := a.tx.flush(); err != nil {
		return a.d, backendError(b.Kind(), a.step, err)
	}
	if !a.tx.dry && a.genErr == nil {
		if after, err := a.n.er.gen(); err == nil && after.sameKernel(a.before) && after.id-a.before.id == a.tx.sent {
			// Nobody else changed the ruleset between the reading and
			// the commit: the kernel holds the plan.
			if m := newMark(b.Kind(), b.opts, a.jails, a.now); m != nil {
				m.Gen, m.Boot, m.NetNS = after.id, after.boot, after.netns
				a.d.Mark = m
			}
		}
	}
	sortBans(a.d.Added)
	sortBans(a.d.Removed)
	sortBans(a.d.Updated)
	return a.d, nil
}

// nftApply is one Apply's work: what was read, the plan, and the
// transaction being built.
type nftApply struct {
	b     *nftBackend
	n     *nftConn
	p     *plan
	now   time.Time
	jails []JailSpec
	// before is the ruleset's generation before the reading (genErr:
	// why not known).
	before nftGen
	genErr error
	tx     *nftTxn
	d      Diff
	step   string // for the error: what was being done

	table  *nftables.Table
	chains map[string]*nftables.Chain // by name: input and the jails' chains
	// shards holds every wanted set by name, found or created.
	shards map[string]*nftables.Set
	// gen is the generation of each jail's sets of a family wanted: the
	// one in use, or the other where Stage filled it (staged).
	gen    map[setKey]byte
	staged map[setKey]bool
	// filled holds the sets Stage filled, tableMade whether it made
	// the table for them (what Drop deletes).
	filled    map[string]*nftables.Set
	tableMade bool
	// remake lists found shard sets of the wrong shape (made by hand),
	// deleted and created anew first thing; retire lists logjail's sets
	// that are not wanted (jails gone, an earlier layout), deleted last.
	remake map[string]bool
	retire []string
	nextID uint32
}

// run builds the transaction (finish commits it) in an order that never leaves a jail
// unguarded, should it be committed in parts (past nftTxnElems elements):
// structure that is missing first, then the members, then the rules, and
// what goes last.
func (a *nftApply) run() error {
	gens := a.n.generations()
	a.gen = map[setKey]byte{}
	for _, j := range a.p.jails {
		for _, fam := range families {
			k := setKey{j.name, fam}
			a.gen[k] = genOf(gens, k)
		}
	}
	if a.tx.hold {
		if err := a.stage(); err != nil {
			return err
		}
	}
	a.structure()
	a.sortSets()
	want := a.b.wantRules(a.p, a.gen)
	keep, early, late := a.sortRules(want)
	a.step = "delete rule"
	for _, r := range early {
		if err := a.delRule(r); err != nil {
			return err
		}
	}
	for _, name := range sortedKeys(a.remake) {
		a.n.c.DelSet(a.n.sets[name])
		a.setup("delete set inet " + nftTable + " " + name)
	}
	a.step = "create set"
	for _, j := range a.p.jails {
		for _, fam := range families {
			for _, pl := range nftPlaces {
				name := shardName(j.name, fam, pl, a.gen[setKey{j.name, fam}])
				if a.shards[name] != nil {
					continue
				}
				s, err := a.addSet(name, fam, pl)
				if err != nil {
					return err
				}
				a.shards[name] = s
			}
		}
	}
	a.step = "members"
	for _, j := range a.p.jails {
		for _, fam := range families {
			a.members(j, fam)
		}
	}
	a.removedWithJail()
	// Missing rules: those of the jails' chains first, so that a jump
	// never leads to a chain only partly filled.
	for _, w := range want {
		if w.set != "" && !keep[w.chain+"\x00"+w.id] {
			a.addRule(w)
		}
	}
	for _, w := range want {
		if w.set == "" && !keep[w.chain+"\x00"+w.id] {
			a.addRule(w)
		}
	}
	// What goes: rules, then the sets and chains they used.
	a.step = "delete rule"
	for _, r := range late {
		if err := a.delRule(r); err != nil {
			return err
		}
	}
	for _, name := range a.retire {
		a.n.c.DelSet(a.n.sets[name])
		a.setup("delete set inet " + nftTable + " " + name)
	}
	for _, name := range sortedKeys(a.n.chains) {
		if _, wanted := a.chains[name]; !wanted && strings.HasPrefix(name, prefix) {
			a.n.c.DelChain(a.n.chains[name])
			a.setup("delete chain inet " + nftTable + " " + name)
		}
	}
	a.tx.emit()
	return a.tx.err
}

// addSet creates a set of a jail and family at pl.
func (a *nftApply) addSet(name string, fam family, pl nftPlace) (*nftables.Set, error) {
	a.nextID++
	s := &nftables.Set{Table: a.table, ID: a.nextID, Name: name, KeyType: keyType(fam), Interval: pl.net, HasTimeout: true}
	if err := a.n.c.AddSet(s, nil); err != nil {
		return nil, err
	}
	a.setup("create set inet " + nftTable + " " + name)
	return s, nil
}

// stage fills the sets of the generation not in use of every jail and
// family worth it (worthStaging) with all its bans, and commits that (see
// Stage): no rule uses them, so nothing the firewall blocks changes.
// The rest of run points the rules at them and retires the sets they
// replace.
func (a *nftApply) stage() error {
	var keys []setKey
	for _, j := range a.p.jails {
		for _, fam := range families {
			if k := (setKey{j.name, fam}); a.worthStaging(k) {
				keys = append(keys, k)
			}
		}
	}
	if len(keys) == 0 {
		return nil
	}
	a.step = "stage"
	a.tx.hold = false // filled in as many transactions as it takes
	if a.n.table == nil {
		a.n.table = a.n.c.AddTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: nftTable})
		a.setup("create table inet " + nftTable)
		a.tableMade = true
	}
	a.table = a.n.table
	a.staged, a.filled = map[setKey]bool{}, map[string]*nftables.Set{}
	sets := map[setKey]map[nftPlace]*nftables.Set{}
	for _, k := range keys {
		g := otherGen(a.gen[k])
		sets[k] = map[nftPlace]*nftables.Set{}
		for _, pl := range nftPlaces {
			name := shardName(k.jail, k.fam, pl, g)
			if old := a.n.sets[name]; old != nil { // left by a stage that never came in use
				a.n.c.DelSet(old)
				a.setup("delete set inet " + nftTable + " " + name)
				delete(a.n.sets, name)
			}
			s, err := a.addSet(name, k.fam, pl)
			if err != nil {
				return err
			}
			sets[k][pl], a.filled[name] = s, s
		}
		a.gen[k], a.staged[k] = g, true
	}
	// The sets first, in a transaction of their own; then the addresses,
	// written by nftFill; the networks through the library.
	if err := a.tx.commit(); err != nil {
		return err
	}
	fill, err := newNftFill(a.n.er)
	if err != nil {
		return err
	}
	defer func() { a.tx.sent += fill.sent }()
	for _, k := range keys {
		want := a.p.bySet[k]
		for _, i := range byPlace(want) { // set by set: a message holds one set's elements
			w := &want[i]
			s := sets[k][placeOf(w.Prefix)]
			if s.Interval {
				a.tx.addPrefix(s, w.Prefix, kernelTimeout(w.Until, a.now))
			} else if err := fill.add(s.Name, w.Prefix.Addr(), kernelTimeout(w.Until, a.now)); err != nil {
				return err
			}
		}
	}
	if err := fill.flush(); err != nil {
		return err
	}
	a.tx.emit()
	if a.tx.err == nil {
		a.tx.err = a.tx.commit()
	}
	a.tx.hold, a.tx.pending = true, 0
	return a.tx.err
}

// byPlace orders the indexes of bans by their place (nftPlaces' order),
// keeping their order within a place.
func byPlace(bans []Ban) []int32 {
	at := make(map[nftPlace]int, len(nftPlaces))
	for i, pl := range nftPlaces {
		at[pl] = i
	}
	places := make([]uint8, len(bans))
	var count [2 * nftShards]int
	for i := range bans {
		pl := at[placeOf(bans[i].Prefix)]
		places[i] = uint8(pl)
		count[pl]++
	}
	var next [2 * nftShards]int
	for pl := 1; pl < len(next); pl++ {
		next[pl] = next[pl-1] + count[pl-1]
	}
	out := make([]int32, len(bans))
	for i, pl := range places {
		out[next[pl]] = int32(i)
		next[pl]++
	}
	return out
}

// worthStaging tells whether Stage fills k's sets of the other
// generation: k gains StageMin bans or more, which make half of its bans
// or more, and no rule uses those sets.
func (a *nftApply) worthStaging(k setKey) bool {
	want, idx := a.p.bySet[k], a.p.index[k]
	if len(want) < StageMin {
		return false
	}
	for _, pl := range nftPlaces {
		if a.n.used[shardName(k.jail, k.fam, pl, otherGen(a.gen[k]))] {
			return false
		}
	}
	held := 0
	for _, pl := range nftPlaces {
		if s := a.n.sets[shardName(k.jail, k.fam, pl, a.gen[k])]; s != nil {
			for r := range a.n.ranges(s) {
				if p, ok := r.prefix(); ok {
					if _, desired := idx[keyOf(p)]; desired {
						held++
					}
				}
			}
		}
	}
	gain := len(want) - held
	return gain >= StageMin && 2*gain >= len(want)
}

// structure finds or creates the table, chain input and the jails'
// chains.
func (a *nftApply) structure() {
	c := a.n.c
	a.table = a.n.table
	if a.table == nil {
		a.table = c.AddTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: nftTable})
		a.setup("create table inet " + nftTable)
	}
	a.chains = map[string]*nftables.Chain{}
	input := a.n.chains[nftChain]
	if input == nil {
		policy := nftables.ChainPolicyAccept
		input = c.AddChain(&nftables.Chain{
			Name: nftChain, Table: a.table, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityRef(-1), Policy: &policy,
		})
		a.setup("create chain inet " + nftTable + " " + nftChain)
	}
	a.chains[nftChain] = input
	for _, j := range a.p.jails {
		name := jailChain(j.name)
		ch := a.n.chains[name]
		if ch == nil {
			ch = c.AddChain(&nftables.Chain{Name: name, Table: a.table})
			a.setup("create chain inet " + nftTable + " " + name)
		}
		a.chains[name] = ch
	}
}

// sortSets sorts logjail's sets into those kept, remade and retired:
// the sets of jails gone, of earlier layouts and of the generation not
// wanted are retired.
func (a *nftApply) sortSets() {
	a.shards, a.remake = map[string]*nftables.Set{}, map[string]bool{}
	for _, name := range sortedKeys(a.n.sets) {
		s := a.n.sets[name]
		o, ok := nftSetOwner(name)
		if !ok {
			continue
		}
		_, configured := a.p.byName[o.jail]
		switch {
		case !configured || !o.current() || o.gen != a.gen[o.key()]:
			a.retire = append(a.retire, name)
		case s.Interval != o.pl.net || !s.HasTimeout || s.KeyType.Name != keyType(o.fam).Name:
			a.remake[name] = true
		default:
			a.shards[name] = s
		}
	}
	for name, s := range a.filled {
		a.shards[name] = s
	}
}

// sortRules finds which wanted rules exist (keep, by chain and id), and
// which found rules go: early, before the sets they use are remade, or
// late, after their replacements are in place.
func (a *nftApply) sortRules(want []nftRule) (keep map[string]bool, early, late []*nftables.Rule) {
	wanted := map[string]nftRule{}
	for _, w := range want {
		wanted[w.chain+"\x00"+w.id] = w
	}
	keep = map[string]bool{}
	for _, chain := range sortedKeys(a.n.rules) {
		for _, r := range a.n.rules[chain] {
			r.Table, r.Chain = a.table, a.n.chains[chain]
			key := chain + "\x00" + ruleID(r)
			switch w, ok := wanted[key]; {
			case uses(r, a.remake):
				early = append(early, r)
			case ok && !keep[key] && w.matches(r):
				keep[key] = true
			default:
				late = append(late, r)
			}
		}
	}
	return keep, early, late
}

func (a *nftApply) delRule(r *nftables.Rule) error {
	if err := a.n.c.DelRule(r); err != nil {
		return err
	}
	a.setup(fmt.Sprintf("delete rule %q from chain %s", ruleID(r), r.Chain.Name))
	return nil
}

func (a *nftApply) addRule(w nftRule) {
	a.n.c.AddRule(&nftables.Rule{
		Table: a.table, Chain: a.chains[w.chain],
		Exprs:    a.b.ruleExprs(w, a.shards[w.set]),
		UserData: userdata.AppendString(nil, userdata.TypeComment, w.id),
	})
	a.setup(fmt.Sprintf("add rule %q to chain %s", w.id, w.chain))
}

// members brings one jail's bans of one family to the plan: each desired
// ban in its own set with the right timeout, nothing else in the sets. A
// desired ban found elsewhere (in another set, in a set made anew, in a
// set of an earlier layout, or in the generation replaced by the sets
// Stage filled) moves to its set and counts as neither added nor
// removed, but as updated when its timeout changes. The members of a set
// that goes and that no rule uses (idle) count for nothing. Into sets
// Stage filled nothing is added: they hold every desired ban already.
//
// This is the hot path of a run that changes nothing: a member in its
// place is matched against the plan directly, without building a Ban.
func (a *nftApply) members(j jail, fam family) {
	sk := setKey{j.name, fam}
	want, idx := a.p.bySet[sk], a.p.index[sk]
	seen := make([]bool, len(want))
	byShard := map[nftPlace][]Ban{} // to add
	var stray []found[nftRange]     // not in its place, not desired or not in logjail's form
	for _, pl := range nftPlaces {
		s := a.n.sets[shardName(j.name, fam, pl, a.gen[sk])]
		if s == nil || a.remake[s.Name] {
			continue
		}
		for r := range a.n.ranges(s) {
			if p, ok := r.prefix(); ok && placeOf(p) == pl {
				if i, desired := idx[keyOf(p)]; desired && !seen[i] {
					seen[i] = true
					if w := want[i]; !timeoutOK(expiry(r.left, a.now), w.Until, a.now) {
						a.tx.del(s, rangeIn(s, r))
						byShard[pl] = append(byShard[pl], w)
						a.d.Updated = append(a.d.Updated, w)
					}
					continue
				}
			}
			stray = appendRange(stray, r, j.name, a.now)
		}
	}
	// Sets that go take their members with them.
	for _, name := range append(sortedKeys(a.remake), a.retire...) {
		if o, _ := nftSetOwner(name); o.key() == sk && !a.n.idle(name) {
			stray = append(stray, a.n.members(a.n.sets[name], j.name, a.now)...)
		}
	}

	had := map[pkey]Ban{}
	deleted := map[nftRange]bool{}
	for _, f := range stray {
		if _, desired := idx[keyOf(f.ban.Prefix)]; desired {
			had[keyOf(f.ban.Prefix)] = f.ban
		} else {
			a.d.Removed = append(a.d.Removed, f.ban)
		}
		if s := a.shards[f.raw.set]; s != nil && !a.remake[f.raw.set] && !deleted[f.raw] {
			deleted[f.raw] = true
			a.tx.del(s, rangeIn(s, f.raw))
		}
	}
	if len(had) == 0 && len(a.d.Added) == 0 {
		a.d.Added = make([]Ban, 0, len(want))
	}
	for i, w := range want {
		if seen[i] {
			continue
		}
		old, ok := had[keyOf(w.Prefix)]
		switch {
		case !ok:
			a.d.Added = append(a.d.Added, w)
		case !timeoutOK(old.Until, w.Until, a.now):
			a.d.Updated = append(a.d.Updated, w)
		}
		if !a.staged[sk] {
			pl := placeOf(w.Prefix)
			byShard[pl] = append(byShard[pl], w)
		}
	}
	for _, pl := range nftPlaces {
		s := a.shards[shardName(j.name, fam, pl, a.gen[sk])]
		for _, w := range byShard[pl] {
			a.tx.addPrefix(s, w.Prefix, kernelTimeout(w.Until, a.now))
		}
	}
}

// removedWithJail reports the members of the sets of jails no longer
// configured, which go with their sets.
func (a *nftApply) removedWithJail() {
	for _, name := range a.retire {
		o, _ := nftSetOwner(name)
		if _, configured := a.p.byName[o.jail]; configured || a.n.idle(name) {
			continue
		}
		for _, f := range a.n.members(a.n.sets[name], o.jail, a.now) {
			a.d.Removed = append(a.d.Removed, f.ban)
		}
	}
}

type nftTxn struct {
	c   *nftables.Conn
	dry bool // nothing is sent: the plan of a dry run
	// hold: nothing is sent before flush (Stage); a transaction that
	// outgrows nftTxnElems is marked over and built no further.
	hold, over bool
	set        *nftables.Set
	deleting   bool
	buf        []nftables.SetElement
	keys       []byte // the arena of addPrefix's keys
	pending    int
	err        error
	// queued says that a message waits on the connection; sent counts
	// the transactions committed, each of which moves the ruleset's
	// generation by one.
	queued bool
	sent   uint32
}

// setup records a change of structure queued on the connection.
func (a *nftApply) setup(line string) {
	a.d.Setup = append(a.d.Setup, line)
	a.tx.queued = true
}

func (t *nftTxn) add(s *nftables.Set, els []nftables.SetElement) { t.queue(s, els, false) }
func (t *nftTxn) del(s *nftables.Set, els []nftables.SetElement) { t.queue(s, els, true) }

// addPrefix queues the elements of p in set s with the timeout: one in a
// hash set (which holds single addresses), a start and an end in an
// interval set. An address's key is carved from an arena that every
// message reuses, and queued without a slice of its own: a large change
// allocates nothing per element.
func (t *nftTxn) addPrefix(s *nftables.Set, p netip.Prefix, timeout time.Duration) {
	if s.Interval {
		t.add(s, setElems(p, timeout))
		return
	}
	t.to(s, false)
	if cap(t.keys)-len(t.keys) < 16 {
		t.keys = make([]byte, 0, 16*(nftChunk+2)) // the keys queued keep the old one
	}
	start := len(t.keys)
	if a := p.Addr(); a.Is4() {
		k := a.As4()
		t.keys = append(t.keys, k[:]...)
	} else {
		k := a.As16()
		t.keys = append(t.keys, k[:]...)
	}
	t.buf = append(t.buf, nftables.SetElement{Key: t.keys[start:len(t.keys):len(t.keys)], Timeout: timeout})
	if len(t.buf) >= nftChunk {
		t.emit()
	}
}

// queue adds the elements of one prefix to the message being built:
// they stay in one message, and so in one transaction.
func (t *nftTxn) queue(s *nftables.Set, els []nftables.SetElement, del bool) {
	t.to(s, del)
	t.buf = append(t.buf, els...)
	if len(t.buf) >= nftChunk {
		t.emit()
	}
}

// to makes the message being built one that adds to (or, del, deletes
// from) s, emitting the one before.
func (t *nftTxn) to(s *nftables.Set, del bool) {
	if t.set != s || t.deleting != del {
		t.emit()
		t.set, t.deleting = s, del
	}
}

// emit turns the buffered elements into one message.
func (t *nftTxn) emit() {
	// The library marshals the elements into the message at once:
	// their slice and the keys' arena serve the next message.
	defer func() { t.buf, t.keys = t.buf[:0], t.keys[:0] }()
	if len(t.buf) == 0 || t.err != nil || t.dry || t.over {
		return
	}
	if t.deleting {
		t.err = t.c.SetDeleteElements(t.set, t.buf)
	} else {
		t.err = t.c.SetAddElements(t.set, t.buf)
	}
	t.pending += len(t.buf)
	t.queued = true
	if t.err == nil && t.pending >= nftTxnElems {
		if t.hold {
			t.over = true
			return
		}
		t.err = t.commit()
		t.pending = 0
	}
}

// commit sends what is queued as one transaction. The library sends
// nothing when nothing is queued; queued only counts what was sent (a
// message queued unseen would make the generation move by more than
// sent, and the Apply leave no mark: never a change lost).
func (t *nftTxn) commit() error {
	queued := t.queued
	t.queued = false
	if err := t.c.Flush(); err != nil {
		return err
	}
	if queued {
		t.sent++
	}
	return nil
}

// flush commits everything queued on the connection.
func (t *nftTxn) flush() error {
	t.emit()
	if t.err != nil || t.dry {
		return t.err
	}
	return t.commit()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (b *nftBackend) Flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	n, err := b.open()
	if err != nil {
		return backendError(b.Kind(), "open", err)
	}
	defer n.close()
	if err := n.read(); err != nil {
		return backendError(b.Kind(), "read", err)
	}
	if n.table == nil {
		return nil
	}
	n.c.DelTable(n.table)
	if err := n.c.Flush(); err != nil {
		return backendError(b.Kind(), "delete table", err)
	}
	return nil
}
