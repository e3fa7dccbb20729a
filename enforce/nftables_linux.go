//go:build linux

package enforce

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// nftBackend keeps everything in table inet logjail: a base chain "input"
// hooked on input at priority -1 (ahead of iptables' filter), per jail
// and family an interval set logjail-<jail>-4 / -6 with per-element
// timeouts, and per set and port range one rule matching protocol, port
// and set, identified by its comment. It talks netlink directly through
// github.com/google/nftables; every Apply is one transaction.
type nftBackend struct {
	opts Options
	t    target
}

const (
	nftTable = "logjail"
	nftChain = "input"
	// nftChunk is how many elements go in one netlink message: a message's
	// element list is one attribute, whose length field has 16 bits.
	nftChunk = 1000
	// nftTxnElems bounds the elements of one transaction: the whole
	// transaction travels in one sendmsg, which must fit the socket's
	// send buffer (nftSendBuf).
	nftTxnElems = 250000
	nftSendBuf  = 64 << 20
)

func (b *nftBackend) Kind() string { return "nftables" }

// nftConn is one Apply's, Actual's or Flush's view of table inet logjail.
type nftConn struct {
	c     *nftables.Conn
	er    *elemReader
	close func()
	table *nftables.Table // nil when missing
	chain *nftables.Chain // nil when missing
	sets  map[string]*nftables.Set
	elems map[string][]nftElem // of logjail's sets, as read
	rules []*nftables.Rule
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
	er, err := dialElemReader(fd)
	if err != nil {
		_ = c.CloseLasting()
		closeNS()
		return nil, err
	}
	return &nftConn{c: c, er: er, close: func() { _ = er.close(); _ = c.CloseLasting(); closeNS() }, sets: map[string]*nftables.Set{}, elems: map[string][]nftElem{}}, nil
}

// tuneSocket gives the netlink socket a send buffer that holds a whole
// transaction, which travels in one sendmsg, as nft arranges too.
func tuneSocket(c *netlink.Conn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, nftSendBuf)
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("set send buffer: %w", serr)
	}
	return nil
}

// read loads the table, chain, sets with the elements of logjail's, and
// rules.
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
		if ch.Table.Name == nftTable && ch.Name == nftChain {
			ch.Table = n.table
			n.chain = ch
		}
	}
	sets, err := n.c.GetSets(n.table)
	if err != nil {
		return fmt.Errorf("list sets: %w", err)
	}
	for _, s := range sets {
		s.Table = n.table
		n.sets[s.Name] = s
		if _, _, _, ok := parseSetName(s.Name); ok {
			if n.elems[s.Name], err = n.er.elements(nftTable, s.Name); err != nil {
				return fmt.Errorf("list elements of set %s: %w", s.Name, err)
			}
		}
	}
	if n.chain != nil {
		if n.rules, err = n.c.GetRules(n.table, n.chain); err != nil {
			return fmt.Errorf("list rules: %w", err)
		}
	}
	return nil
}

// elements reads a set's members. A range that is no single prefix (made
// by hand) is listed as the prefixes covering it, all marked not ok; so
// is every element of a set that is no interval set.
func (n *nftConn) elements(s *nftables.Set, jail string, now time.Time) ([]found[nftRange], error) {
	els, ok := n.elems[s.Name]
	if !ok {
		var err error
		if els, err = n.er.elements(nftTable, s.Name); err != nil {
			return nil, fmt.Errorf("list elements of set %s: %w", s.Name, err)
		}
		n.elems[s.Name] = els
	}
	var out []found[nftRange]
	if !s.Interval {
		// not logjail's shape: every element is one address
		for _, e := range els {
			if a := e.addr(); !e.end {
				p := netip.PrefixFrom(a, a.BitLen())
				out = append(out, found[nftRange]{ban: banOf(jail, p, e.expires, now), raw: nftRange{set: s.Name, start: a, end: a.Next(), left: e.expires}})
			}
		}
		return out, nil
	}
	for r := range intervals(s.Name, els) {
		if p, ok := r.prefix(); ok {
			out = append(out, found[nftRange]{ban: banOf(jail, p, r.left, now), ok: true, raw: r})
			continue
		}
		for _, p := range rangePrefixes(r.start, r.end) {
			out = append(out, found[nftRange]{ban: banOf(jail, p, r.left, now), raw: r})
		}
	}
	return out, nil
}

func keyType(fam family) nftables.SetDatatype {
	if fam == v4 {
		return nftables.TypeIPAddr
	}
	return nftables.TypeIP6Addr
}

// nftRule is one rule logjail wants in its chain: its comment names it.
type nftRule struct {
	id    string
	jail  jail
	fam   family
	ports *portRange
}

func (b *nftBackend) wantRules(p *plan) []nftRule {
	var out []nftRule
	for _, j := range p.jails {
		for _, fam := range families {
			ports := []*portRange{nil}
			if len(j.ports) > 0 {
				ports = nil
				for i := range j.ports {
					ports = append(ports, &j.ports[i])
				}
			}
			for _, r := range ports {
				id := fmt.Sprintf("%s %s", setName(j.name, fam), j.proto)
				if r != nil {
					id += " dport " + strings.ReplaceAll(r.String(), ":", "-")
				}
				id += " " + strings.ToLower(b.opts.BlockType)
				out = append(out, nftRule{id: id, jail: j, fam: fam, ports: r})
			}
		}
	}
	return out
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

func (b *nftBackend) ruleExprs(r nftRule, set *nftables.Set) []expr.Any {
	nfproto, off, size := byte(unix.NFPROTO_IPV4), uint32(12), uint32(4)
	if r.fam == v6 {
		nfproto, off, size = unix.NFPROTO_IPV6, 8, 16
	}
	e := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{nfproto}},
	}
	if r.jail.proto != "all" {
		l4 := byte(unix.IPPROTO_TCP)
		if r.jail.proto == "udp" {
			l4 = unix.IPPROTO_UDP
		}
		e = append(e,
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{l4}})
		if r.ports != nil {
			e = append(e, &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2})
			if r.ports.lo == r.ports.hi {
				e = append(e, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: be16(r.ports.lo)})
			} else {
				e = append(e, &expr.Range{Op: expr.CmpOpEq, Register: 1, FromData: be16(r.ports.lo), ToData: be16(r.ports.hi)})
			}
		}
	}
	e = append(e,
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: size},
		&expr.Lookup{SourceRegister: 1, SetName: set.Name, SetID: set.ID},
		&expr.Counter{})
	switch {
	case b.opts.BlockType != "REJECT":
		e = append(e, &expr.Verdict{Kind: expr.VerdictDrop})
	case r.jail.proto == "tcp":
		e = append(e, &expr.Reject{Type: unix.NFT_REJECT_TCP_RST})
	default:
		e = append(e, &expr.Reject{Type: unix.NFT_REJECT_ICMPX_UNREACH, Code: unix.NFT_REJECT_ICMPX_PORT_UNREACH})
	}
	return e
}

func ruleID(r *nftables.Rule) string {
	s, _ := userdata.GetString(r.UserData, userdata.TypeComment)
	return s
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
		jailName, _, _, ok := parseSetName(name)
		if !ok {
			continue
		}
		els, err := n.elements(s, jailName, now)
		if err != nil {
			return nil, backendError(b.Kind(), "read", err)
		}
		for _, f := range els {
			bans = append(bans, f.ban)
		}
	}
	sortBans(bans)
	return bans, nil
}

func (b *nftBackend) Apply(ctx context.Context, jails []JailSpec, desired []Ban, now time.Time) (Diff, error) {
	// The plan is built while the kernel is read.
	var p *plan
	n, err := b.open()
	if err != nil {
		return Diff{}, backendError(b.Kind(), "open", err)
	}
	defer n.close()
	err = concurrently(
		func() (err error) { p, err = preparePlan(ctx, b.Kind(), b.t, b.opts, jails, desired, now); return err },
		func() error {
			if err := n.read(); err != nil {
				return backendError(b.Kind(), "read", err)
			}
			return nil
		},
	)
	if err != nil {
		return Diff{}, err
	}
	d := Diff{Refused: p.refused}
	c := n.c
	tx := &nftTxn{c: c}

	// The table and chain.
	table := n.table
	if table == nil {
		table = c.AddTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: nftTable})
		d.Setup = append(d.Setup, "create table inet "+nftTable)
	}
	chain := n.chain
	if chain == nil {
		policy := nftables.ChainPolicyAccept
		chain = c.AddChain(&nftables.Chain{
			Name: nftChain, Table: table, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityRef(-1), Policy: &policy,
		})
		d.Setup = append(d.Setup, "create chain inet "+nftTable+" "+nftChain)
	}

	// Which sets stay, which are made anew, which go.
	type setState struct {
		set   *nftables.Set
		fresh bool // created in this transaction
	}
	sets := map[string]*setState{}
	var nextID uint32
	remake := map[string]bool{}
	for _, j := range p.jails {
		for _, fam := range families {
			name := setName(j.name, fam)
			s := n.sets[name]
			if s != nil && (!s.Interval || !s.HasTimeout || s.KeyType.Name != keyType(fam).Name) {
				remake[name] = true
			}
			if s == nil || remake[name] {
				nextID++
				sets[name] = &setState{set: &nftables.Set{Table: table, ID: nextID, Name: name, KeyType: keyType(fam), Interval: true, HasTimeout: true}, fresh: true}
			} else {
				sets[name] = &setState{set: s}
			}
		}
	}

	// Rules: keep the wanted ones, delete the rest (first, so that the
	// sets they use may go).
	want := b.wantRules(p)
	kept := map[string]bool{}
	for _, r := range n.rules {
		id := ruleID(r)
		i := slices.IndexFunc(want, func(w nftRule) bool { return w.id == id })
		if i >= 0 && !kept[id] && !sets[setName(want[i].jail.name, want[i].fam)].fresh {
			kept[id] = true
			continue
		}
		r.Table, r.Chain = table, chain
		if err := c.DelRule(r); err != nil {
			return d, backendError(b.Kind(), "delete rule", err)
		}
		d.Setup = append(d.Setup, fmt.Sprintf("delete rule %q", id))
	}

	// Sets of jails no longer configured, and sets in the wrong shape.
	had := map[string]map[netip.Prefix]bool{} // members of sets made anew
	for _, name := range sortedKeys(n.sets) {
		jailName, _, tmp, ok := parseSetName(name)
		if !ok || tmp {
			continue
		}
		if _, configured := p.byName[jailName]; configured && !remake[name] {
			continue
		}
		old, err := n.elements(n.sets[name], jailName, now)
		if err != nil {
			return d, backendError(b.Kind(), "read", err)
		}
		had[name] = map[netip.Prefix]bool{}
		for _, f := range old {
			had[name][f.ban.Prefix] = true
			if _, desired := p.lookup(f.ban.Jail, f.ban.Prefix); !desired || !remake[name] {
				d.Removed = append(d.Removed, f.ban)
			}
		}
		c.DelSet(n.sets[name])
		d.Setup = append(d.Setup, "delete set inet "+nftTable+" "+name)
	}

	// Members.
	for _, j := range p.jails {
		for _, fam := range families {
			sk := setKey{j.name, fam}
			st := sets[setName(j.name, fam)]
			if st.fresh {
				if err := c.AddSet(st.set, nil); err != nil {
					return d, backendError(b.Kind(), "create set", err)
				}
				d.Setup = append(d.Setup, "create set inet "+nftTable+" "+st.set.Name)
				for _, w := range p.bySet[sk] {
					tx.add(st.set, setElems(w.Prefix, kernelTimeout(w.Until, now)))
					if !had[st.set.Name][w.Prefix] {
						d.Added = append(d.Added, w)
					}
				}
				continue
			}
			have, err := n.elements(st.set, j.name, now)
			if err != nil {
				return d, backendError(b.Kind(), "read", err)
			}
			md := diffMembers(p, have, func(k setKey) bool { return k == sk }, true, now)
			deleted := map[nftRange]bool{}
			for _, f := range md.del {
				if !deleted[f.raw] {
					deleted[f.raw] = true
					tx.del(st.set, rangeElems(f.raw))
				}
				d.Removed = append(d.Removed, f.ban)
			}
			for _, u := range md.upd {
				tx.del(st.set, rangeElems(u.old.raw))
				tx.add(st.set, setElems(u.ban.Prefix, kernelTimeout(u.ban.Until, now)))
				d.Updated = append(d.Updated, u.ban)
			}
			for _, a := range md.add {
				tx.add(st.set, setElems(a.Prefix, kernelTimeout(a.Until, now)))
			}
			d.Added = append(d.Added, md.add...)
		}
	}

	// Missing rules, last: their sets exist by now.
	for _, w := range want {
		if kept[w.id] {
			continue
		}
		c.AddRule(&nftables.Rule{
			Table: table, Chain: chain,
			Exprs:    b.ruleExprs(w, sets[setName(w.jail.name, w.fam)].set),
			UserData: userdata.AppendString(nil, userdata.TypeComment, w.id),
		})
		d.Setup = append(d.Setup, fmt.Sprintf("add rule %q", w.id))
	}
	if err := tx.flush(); err != nil {
		return d, backendError(b.Kind(), "commit", err)
	}
	sortBans(d.Added)
	sortBans(d.Removed)
	sortBans(d.Updated)
	return d, nil
}

// nftTxn gathers element changes into messages of up to nftChunk
// elements, and commits early only when a transaction would grow past
// nftTxnElems, always between two whole prefixes.
type nftTxn struct {
	c        *nftables.Conn
	set      *nftables.Set
	deleting bool
	buf      []nftables.SetElement
	pending  int
	err      error
}

func (t *nftTxn) add(s *nftables.Set, els []nftables.SetElement) { t.queue(s, els, false) }
func (t *nftTxn) del(s *nftables.Set, els []nftables.SetElement) { t.queue(s, els, true) }

func (t *nftTxn) queue(s *nftables.Set, els []nftables.SetElement, del bool) {
	if t.set != s || t.deleting != del {
		t.emit()
		t.set, t.deleting = s, del
	}
	t.buf = append(t.buf, els...)
	if len(t.buf) >= nftChunk {
		t.emit()
	}
}

// emit turns the buffered elements into one message.
func (t *nftTxn) emit() {
	if len(t.buf) == 0 || t.err != nil {
		t.buf = t.buf[:0]
		return
	}
	if t.deleting {
		t.err = t.c.SetDeleteElements(t.set, t.buf)
	} else {
		t.err = t.c.SetAddElements(t.set, t.buf)
	}
	t.pending += len(t.buf)
	t.buf = make([]nftables.SetElement, 0, nftChunk+2)
	if t.err == nil && t.pending >= nftTxnElems {
		t.err = t.c.Flush()
		t.pending = 0
	}
}

// flush commits everything queued on the connection.
func (t *nftTxn) flush() error {
	t.emit()
	if t.err != nil {
		return t.err
	}
	return t.c.Flush()
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
