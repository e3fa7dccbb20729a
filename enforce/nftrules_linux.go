//go:build linux

package enforce

import (
	"encoding/binary"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// nftRule is one rule logjail wants in its table. Its comment, id, names
// it: a rule found with a wanted id in the wanted chain, pointing where
// the wanted one points, is kept as it is.
type nftRule struct {
	chain string // nftChain, or the jail's chain
	id    string
	jail  jail
	// A rule of chain input jumps to the jail's chain for the jail's
	// protocol and one port range (nil: every port).
	ports *portRange
	// A rule of the jail's chain blocks the addresses of one shard set.
	set string
	fam family
}

// jailChain names the chain holding a jail's shard rules.
func jailChain(jail string) string { return prefix + jail }

// wantRules lists the rules of every jail: per port range one jump from
// chain input, and in the jail's chain one rule per set of the
// generation gen names.
func (b *nftBackend) wantRules(p *plan, gen map[setKey]byte) []nftRule {
	var out []nftRule
	verdict := "drop"
	for _, j := range p.jails {
		ports := []*portRange{nil}
		if len(j.ports) > 0 {
			ports = nil
			for i := range j.ports {
				ports = append(ports, &j.ports[i])
			}
		}
		for _, r := range ports {
			id := jailChain(j.name) + " " + j.proto
			if r != nil {
				id += " dport " + strings.ReplaceAll(r.String(), ":", "-")
			}
			out = append(out, nftRule{chain: nftChain, id: id, jail: j, ports: r})
		}
		if b.opts.BlockType == "REJECT" {
			verdict = "reject with icmpx port-unreachable"
			if j.proto == "tcp" {
				verdict = "reject with tcp reset"
			}
		}
		for _, fam := range families {
			for _, pl := range nftPlaces {
				set := shardName(j.name, fam, pl, gen[setKey{j.name, fam}])
				out = append(out, nftRule{chain: jailChain(j.name), id: set + " " + verdict, jail: j, set: set, fam: fam})
			}
		}
	}
	return out
}

// matches tells whether a rule found in r.chain with r's id is r: it must
// also jump to r's jail chain, or look up r's set.
func (r nftRule) matches(found *nftables.Rule) bool {
	for _, e := range found.Exprs {
		switch e := e.(type) {
		case *expr.Verdict:
			if r.set == "" && e.Kind == expr.VerdictJump && e.Chain == jailChain(r.jail.name) {
				return true
			}
		case *expr.Lookup:
			if r.set != "" && e.SetName == r.set && !e.Invert {
				return true
			}
		}
	}
	return false
}

// uses tells whether a rule looks up a set named in sets.
func uses(r *nftables.Rule, sets map[string]bool) bool {
	for _, e := range r.Exprs {
		if l, ok := e.(*expr.Lookup); ok && sets[l.SetName] {
			return true
		}
	}
	return false
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

// ruleExprs builds r; set is r's shard set (nil for a jump).
func (b *nftBackend) ruleExprs(r nftRule, set *nftables.Set) []expr.Any {
	if set == nil {
		return jumpExprs(r)
	}
	nfproto, off, size := byte(unix.NFPROTO_IPV4), uint32(12), uint32(4)
	if r.fam == v6 {
		nfproto, off, size = unix.NFPROTO_IPV6, 8, 16
	}
	e := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{nfproto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: size},
		&expr.Lookup{SourceRegister: 1, SetName: set.Name, SetID: set.ID},
		&expr.Counter{},
	}
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

// jumpExprs matches the jail's protocol and port range and jumps to its
// chain.
func jumpExprs(r nftRule) []expr.Any {
	var e []expr.Any
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
	return append(e, &expr.Verdict{Kind: expr.VerdictJump, Chain: jailChain(r.jail.name)})
}

func ruleID(r *nftables.Rule) string {
	s, _ := userdata.GetString(r.UserData, userdata.TypeComment)
	return s
}
